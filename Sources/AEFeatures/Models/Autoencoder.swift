/// A trainable autoencoder of any variant the spec describes: the Swift entry point.
///
/// Data is row-major Float, `rows` samples of `spec.inputSize` values. Raw data goes in and comes
/// out; the fitted scaler (if the spec asks for one) is applied inside.
///
/// Threads: after `fit`, inference (`encode`, `reconstruct`, `decode`, `anomalyScores`,
/// `featureErrors`, `sample`, `latentDistribution`), saving and export may run from many threads at
/// once on one model (each call uses its own workspace). `fit` needs the model alone: called
/// while other calls use the model it throws `AEError.busy`, as do calls made while it runs.
public final class Autoencoder {
    public let spec: ModelSpec
    let network: Network
    let objective: Objective
    /// Fit alone, everything else shared: a call that cannot have the model throws `AEError.busy`.
    let usage = UsageGate()
    /// Input scaling fitted on the training rows; nil when `spec.scaling` is `.none` or unfitted.
    public internal(set) var scaler: Scaler?
    /// Training history of the last fit; nil before the first.
    public internal(set) var history: TrainingHistory?
    /// Scores above this are anomalies: the (1 − contamination) quantile of the training scores.
    public internal(set) var threshold: Float?
    /// The standardized score's per-value weights (1 / mean training error), fitted with the
    /// model when `spec.score` is `.standardized` or `.combined`; nil otherwise.
    public internal(set) var errorWeights: [Float]?
    /// The combined score's code terms, fitted with the model when `spec.score` is `.combined`.
    var codeDistances: CodeDistances?
    /// The training run `partialFit` continues (optimizer moments, random streams, schedule);
    /// nil until its first call, and again after `fit` or a divergence.
    private var session: TrainingSession?

    public var isFitted: Bool { history != nil }
    public var inputSize: Int { spec.inputSize }
    public var codeSize: Int { network.codeSize }
    public var parameterCount: Int { network.parameters.parameterCount }

    /// GEMM FLOPs per sample: a forward pass, and a training step (forward, weight gradients, and
    /// input gradients for every layer but the first, which needs none).
    public var gemmFlopsPerSample: (forward: Int, training: Int) {
        let forward = network.layers.reduce(0) { $0 + $1.gemmFlopsPerSample }
        return (forward, 3 * forward - network.layers[0].gemmFlopsPerSample)
    }

    public convenience init(spec: ModelSpec) throws {
        try self.init(spec: spec, initializeWeights: true)
    }

    /// A model of `spec`; without `initializeWeights` its weights are left for the caller to set
    /// (loading a file sets every one, so drawing them first is wasted work on large models).
    init(spec: ModelSpec, initializeWeights: Bool) throws {
        let (layers, codeLayerIndex) = try spec.validatedLayers()
        self.spec = spec
        let network = Network(layers: layers, codeLayerIndex: codeLayerIndex)
        self.network = network
        let kl = spec.variationalSettings.map { KLDivergence(weight: $0.beta, size: spec.codeSize ?? 0, inputSize: spec.inputSize) }
        objective = Objective(loss: spec.loss,
                              terms: spec.penalties.map { $0.term(in: spec, network: network) } + (kl.map { [$0] } ?? []))
        if spec.score == .combined && network.codeSize > CodeDistances.codeSizeLimit {
            throw AEError.invalidSpec("score \"combined\" keeps a code-size x code-size whitening matrix; " +
                                      "code size \(network.codeSize) exceeds \(CodeDistances.codeSizeLimit)")
        }
        if initializeWeights { network.initialize(seed: spec.seed) }
    }

    /// Parses `json` and validates it while building the network (once).
    public convenience init(json: String) throws {
        try self.init(spec: SpecJSON.decode(ModelSpec.self, from: json))
    }

    // MARK: Fitting

    /// Fits the scaler and the network from freshly initialized weights (a refit starts over),
    /// then sets the anomaly threshold from the training scores. `x` and `validation` are read
    /// in place, a batch at a time, so they must not change until the call returns.
    /// - Parameters:
    ///   - validation: explicit validation rows; otherwise `training.validation_split` of `x` is held out.
    ///   - seed: overrides `spec.seed` for initialization, shuffling, dropout and noise.
    ///   - progress: called after each epoch; return false to stop (the model keeps that epoch's weights).
    /// - Throws: `AEError.invalidInput` for empty, misshapen or non-finite data; `AEError.diverged`
    ///   if the objective becomes non-finite (the model then keeps its last good state).
    @discardableResult
    public func fit(_ x: UnsafeBufferPointer<Float>, rows: Int,
                    validation: (data: UnsafeBufferPointer<Float>, rows: Int)? = nil,
                    seed: UInt64? = nil, progress: ((EpochReport) -> Bool)? = nil) throws -> TrainingHistory {
        try changingWeights { try fitAlone(x, rows: rows, validation: validation, seed: seed, progress: progress) }
    }

    /// The model alone (`usage.exclusive`) for a call that may change the weights: inference
    /// inside it packs weights afresh, and packs kept from before are dropped after it.
    private func changingWeights<Result>(_ body: () throws -> Result) throws -> Result {
        try usage.exclusive {
            network.weightsMayChange()
            defer { network.weightsSettled() }
            return try body()
        }
    }

    private func fitAlone(_ x: UnsafeBufferPointer<Float>, rows: Int, validation: (data: UnsafeBufferPointer<Float>, rows: Int)?,
                          seed: UInt64?, progress: ((EpochReport) -> Bool)?) throws -> TrainingHistory {
        try checkData(x, rows: rows, name: "training data")
        if let validation { try checkData(validation.data, rows: validation.rows, name: "validation data") }
        let width = inputSize
        let seed = seed ?? spec.seed

        // Hold out the validation split: a seeded random subset, so sorted data still splits fairly.
        // The rows stay where the caller keeps them; batches are copied and scaled as they are drawn.
        var training = Rows(x.baseAddress!, count: rows, width: width)
        var heldOut = validation.map { Rows($0.data.baseAddress!, count: $0.rows, width: width) }
        if validation == nil && spec.training.validationSplit > 0 {
            let heldOutRows = Int(Double(rows) * spec.training.validationSplit)
            guard heldOutRows > 0, heldOutRows < rows else {
                throw AEError.invalidInput("validation_split \(spec.training.validationSplit) of \(rows) rows " +
                                           "leaves an empty training or validation set")
            }
            var rng = RandomSource(seed: seed, stream: .split)
            let order = rng.permutation(rows)
            training = Rows(x.baseAddress!, width: width, indices: Array(order[..<(rows - heldOutRows)]))
            heldOut = Rows(x.baseAddress!, width: width, indices: Array(order[(rows - heldOutRows)...]))
        }

        session = nil
        let previous = (network.parameters.snapshot(), scaler, history, threshold, errorWeights, codeDistances)
        let newScaler = Scaler(kind: spec.scaling, data: training)
        network.initialize(seed: seed)
        do {
            let fitted = try trainer.fit(network, data: training, validation: heldOut,
                                         scaler: newScaler, seed: seed, progress: progress)
            finishFit(scaler: newScaler, history: fitted, training: training, seed: seed)
            return fitted
        } catch let divergence as Divergence {
            let what = "objective became \(divergence.value) in epoch \(divergence.epoch) at batch row \(divergence.row)"
            let advice = "try a lower learning_rate or set clip_norm"
            guard divergence.epoch > 1 else {
                // Nothing of this fit is worth keeping: back to the state before the call.
                network.parameters.restore(previous.0)
                (scaler, history, threshold, errorWeights, codeDistances) = (previous.1, previous.2, previous.3, previous.4, previous.5)
                throw AEError.diverged("\(what); the model keeps its state from before this fit; \(advice)")
            }
            finishFit(scaler: newScaler, history: divergence.history, training: training, seed: seed)
            throw AEError.diverged("\(what); the model keeps the weights of epoch \(divergence.epoch - 1); \(advice)")
        }
    }

    private var trainer: Trainer {
        Trainer(settings: spec.training, objective: objective, noise: spec.noise,
                warmupEpochs: spec.variationalSettings?.warmupEpochs ?? 0,
                monteCarloDraws: spec.variationalSettings?.samples ?? 1,
                adversarial: spec.adversarialSettings)
    }

    /// One pass over `x` in mini-batches, continuing from the current weights and, after an
    /// earlier `partialFit`, its optimizer state, random streams and schedule (each call counts
    /// as one epoch of them): for data larger than memory, or arriving over time, call it once per
    /// chunk and repeat the chunks for more epochs. On an unfitted model the first call starts
    /// from freshly initialized weights (`seed`, else `spec.seed`) and fits the scaler on its
    /// rows; later calls keep that scaler, so the first chunk should represent the data's range.
    /// After `fit`, or after loading a file, the weights carry on but the optimizer starts anew.
    /// Each call appends one epoch to `history` and refits the score's statistics (error
    /// weights, code distances) and the contamination threshold on its own rows.
    /// `validation_split` and early stopping do not apply (a caller has the chunks to judge).
    /// - Throws: as `fit`, before touching the model for bad data; `AEError.diverged` if the
    ///   objective becomes non-finite (the weights are those from before the call and the next
    ///   call starts a new optimizer state).
    @discardableResult
    public func partialFit(_ x: UnsafeBufferPointer<Float>, rows: Int, seed: UInt64? = nil) throws -> TrainingHistory {
        try changingWeights {
            try checkData(x, rows: rows, name: "training data")
            let chunk = Rows(x.baseAddress!, count: rows, width: inputSize)
            let seed = seed ?? spec.seed
            let previousScaler = scaler
            if !isFitted {
                network.initialize(seed: seed)
                scaler = Scaler(kind: spec.scaling, data: chunk)
            }
            let current = session ?? trainer.session(network, batchRows: spec.training.batchSize, seed: seed)
            let loss: Double
            do {
                loss = try current.pass(chunk, scaler: scaler)
            } catch let divergence as Divergence {
                // The pass has put back the weights from before it.
                scaler = previousScaler
                session = nil
                throw AEError.diverged("objective became \(divergence.value) at batch row \(divergence.row) of this partial fit; " +
                                       "the model keeps its state from before the call; try a lower learning_rate or set clip_norm")
            }
            current.scheduler.record(monitoredLoss: loss)
            session = current
            var updated = history ?? TrainingHistory()
            updated.loss.append(loss)
            updated.bestEpoch = updated.loss.count
            finishFit(scaler: scaler, history: updated, training: chunk, seed: seed)
            return updated
        }
    }

    @discardableResult
    public func partialFit(_ x: Tensor, seed: UInt64? = nil) throws -> TrainingHistory {
        try checkShape(x, name: "training data")
        return try x.scalars.withUnsafeBufferPointer { try partialFit($0, rows: x.sampleCount, seed: seed) }
    }

    private func finishFit(scaler newScaler: Scaler?, history fitted: TrainingHistory, training: Rows, seed: UInt64) {
        scaler = newScaler
        history = fitted
        let score = spec.score ?? .reconstruction
        errorWeights = score == .reconstruction
            ? nil : Scoring.standardizingWeights(network, spec.loss, data: training, scaler: scaler)
        codeDistances = nil
        var scores = [Float](repeating: 0, count: training.count)
        if score == .combined {
            var codes = [Float](repeating: 0, count: training.count * codeSize)
            scores.withUnsafeMutableBufferPointer { out in
                codes.withUnsafeMutableBufferPointer { rowScores(training, codes: $0.baseAddress, into: out) }
                codeDistances = CodeDistances(codes: codes, rows: training.count, size: codeSize, scores: out, seed: seed)
            }
        } else {
            scores.withUnsafeMutableBufferPointer { rowScores(training, into: $0) }
        }
        threshold = Scoring.threshold(scores: scores, contamination: spec.contamination)
    }

    // MARK: Inference (thread-safe on a fitted model)

    /// The code of each row: `rows` x `codeSize` values into `output`.
    public func encode(_ x: UnsafeBufferPointer<Float>, rows: Int, into output: UnsafeMutableBufferPointer<Float>) throws {
        try usage.shared {
            try checkInference(x, rows: rows, output: output, width: codeSize)
            let size = codeSize, layerCount = network.codeLayerIndex + 1
            network.infer(Rows(x.baseAddress!, count: rows, width: inputSize), layers: 0..<layerCount, scaler: scaler,
                          keepsHead: false) { start, n, ws in
                (output.baseAddress! + start * size).update(from: ws.activations[layerCount].base, count: n * size)
            }
        }
    }

    /// The reconstruction of each row, in the units of the input (`rows` x `inputSize`).
    public func reconstruct(_ x: UnsafeBufferPointer<Float>, rows: Int, into output: UnsafeMutableBufferPointer<Float>) throws {
        try usage.shared {
            try checkInference(x, rows: rows, output: output, width: inputSize)
            try reconstruct(x, rows: rows, from: 0, into: output)
        }
    }

    /// Reconstructions from codes (`rows` x `codeSize`, e.g. from `encode`): the decoder alone,
    /// in the units of the input (`rows` x `inputSize`).
    public func decode(_ codes: UnsafeBufferPointer<Float>, rows: Int, into output: UnsafeMutableBufferPointer<Float>) throws {
        try usage.shared {
            guard isFitted else { throw AEError.notFitted }
            guard !network.decoderNeedsEncoderPass else { throw AEError.invalidInput(Network.decoderNeedsEncoderPassMessage) }
            try checkData(codes, rows: rows, width: codeSize, name: "codes")
            try checkOutput(output, rows: rows, width: inputSize)
            try reconstruct(codes, rows: rows, from: network.codeLayerIndex + 1, into: output)
        }
    }

    /// Runs layers[first...] and unscales; `x` is the input of layer `first`.
    private func reconstruct(_ x: UnsafeBufferPointer<Float>, rows: Int, from first: Int,
                             into output: UnsafeMutableBufferPointer<Float>) throws {
        let width = inputSize, layerCount = network.layers.count
        network.infer(Rows(x.baseAddress!, count: rows, width: network.layers[first].inputSize), layers: first..<layerCount, scaler: first == 0 ? scaler : nil,
                      keepsHead: false) { start, n, ws in
            let out = output.baseAddress! + start * width
            out.update(from: ws.activations[layerCount].base, count: n * width)
            scaler?.invert(out, rows: n)
        }
    }

    /// Per-row anomaly score: the mean reconstruction error over the row's values (higher = more
    /// anomalous); for a variational code plus beta · KL / values, the negative ELBO per value.
    public func anomalyScores(_ x: UnsafeBufferPointer<Float>, rows: Int, into output: UnsafeMutableBufferPointer<Float>) throws {
        try usage.shared {
            try checkInference(x, rows: rows, output: output, width: 1)
            rowScores(Rows(x.baseAddress!, count: rows, width: inputSize), into: output)
        }
    }

    /// Per-value reconstruction errors (`rows` x `inputSize`), to explain a score.
    public func featureErrors(_ x: UnsafeBufferPointer<Float>, rows: Int, into output: UnsafeMutableBufferPointer<Float>) throws {
        try usage.shared {
            try checkInference(x, rows: rows, output: output, width: inputSize)
            let width = inputSize
            Scoring.elementErrors(network, spec.loss, data: Rows(x.baseAddress!, count: rows, width: width), scaler: scaler) { start, n, errors, _ in
                (output.baseAddress! + start * width).update(from: errors, count: n * width)
            }
        }
    }

    // MARK: Helpers

    /// The model's anomaly score of each row (its loss, scaler and score kind), into `output`.
    func rowScores(_ rows: Rows, codes: UnsafeMutablePointer<Float>? = nil, into output: UnsafeMutableBufferPointer<Float>) {
        Scoring.rowScores(network, objective, data: rows, scaler: scaler, errorWeights: errorWeights,
                          codeDistances: codeDistances, codes: codes, into: output)
    }

    typealias Kernel = (UnsafeBufferPointer<Float>, Int, UnsafeMutableBufferPointer<Float>) throws -> Void

    func map(_ x: Tensor, outputShape: [Int], _ kernel: Kernel) throws -> Tensor {
        try checkShape(x, name: "input")
        let rows = x.sampleCount
        var output = [Float](repeating: 0, count: rows * outputShape.reduce(1, *))
        try x.scalars.withUnsafeBufferPointer { input in
            try output.withUnsafeMutableBufferPointer { try kernel(input, rows, $0) }
        }
        return try Tensor(shape: [rows] + outputShape, scalars: output)
    }

    func checkShape(_ x: Tensor, name: String) throws {
        guard Array(x.shape.dropFirst()) == spec.inputShape || (x.shape.count == 2 && x.shape[1] == inputSize) else {
            throw AEError.invalidInput("\(name) has shape \(x.shape); expected [n] + \(spec.inputShape) or [n, \(inputSize)]")
        }
    }

    func checkData(_ x: UnsafeBufferPointer<Float>, rows: Int, width: Int? = nil, name: String) throws {
        let width = width ?? inputSize
        guard rows > 0 else { throw AEError.invalidInput("\(name) is empty (\(rows) rows)") }
        let (count, overflow) = rows.multipliedReportingOverflow(by: width)
        guard !overflow, x.count == count, x.baseAddress != nil else {
            throw AEError.invalidInput("\(name) has \(x.count) values; \(rows) rows of \(width) need \(overflow ? "more than Int.max" : String(count))")
        }
        if !Vector.allFinite(x.count, x.baseAddress!), let bad = x.firstIndex(where: { !$0.isFinite }) {
            throw AEError.invalidInput("\(name) holds \(x[bad]) at row \(bad / width), column \(bad % width)")
        }
    }

    func checkOutput(_ output: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int) throws {
        guard output.count == rows * width, output.baseAddress != nil else {
            throw AEError.invalidInput("output has room for \(output.count) values; \(rows) rows need \(rows * width)")
        }
    }

    func checkInference(_ x: UnsafeBufferPointer<Float>, rows: Int, output: UnsafeMutableBufferPointer<Float>,
                                width: Int) throws {
        guard isFitted else { throw AEError.notFitted }
        try checkData(x, rows: rows, name: "input")
        try checkOutput(output, rows: rows, width: width)
    }
}
