/// One epoch's figures, passed to the progress callback.
public struct EpochReport: Sendable {
    /// 1-based.
    public let epoch: Int
    public let epochs: Int
    /// Mean training objective (loss plus penalties) over the epoch's batches.
    public let loss: Double
    /// Mean reconstruction loss on the validation rows, in inference mode; nil without validation.
    public let validationLoss: Double?
}

/// What a fit did, epoch by epoch.
public struct TrainingHistory: Codable, Equatable, Sendable {
    public enum StopReason: String, Codable, Sendable {
        case completed, earlyStopping = "early_stopping", cancelled
    }
    public var loss: [Double] = []
    public var validationLoss: [Double] = []
    /// 1-based epoch with the best monitored loss (validation if present, else training).
    public var bestEpoch: Int = 0
    public var stopReason: StopReason = .completed

    /// An empty history (no epochs run).
    public init() {}

    enum CodingKeys: String, CodingKey {
        case loss, validationLoss = "validation_loss", bestEpoch = "best_epoch", stopReason = "stop_reason"
    }
}

/// A non-finite objective; the network already holds the weights of the last completed epoch.
struct Divergence: Error {
    let epoch: Int
    let row: Int
    let value: Double
    /// The epochs completed before it.
    let history: TrainingHistory
}

/// The training loop: shuffled mini-batches, fresh corruption per batch, gradient clipping,
/// an optimizer step per batch, the learning-rate schedule, validation, early stopping and the
/// progress callback. The schedule steers the reconstruction optimizer; an adversarial model's
/// discriminator and generator phases keep their own rates.
/// A non-finite batch objective restores the weights of the last completed epoch and throws.
struct Trainer {
    let settings: TrainingSpec
    var objective: Objective
    let noise: Corruption?
    /// Epochs over which the KL weight of a variational code rises to its full value.
    let warmupEpochs: Int
    /// Copies of each input per batch (a variational model's `samples`); 1 otherwise.
    let monteCarloDraws: Int
    /// The adversarial phases, for an adversarial autoencoder.
    let adversarial: AdversarialSettings?

    /// The state of a run of passes over data (optimizer moments, random streams, schedule),
    /// with room for batches of up to `batchRows` rows.
    func session(_ network: Network, batchRows: Int, seed: UInt64) -> TrainingSession {
        TrainingSession(trainer: self, network: network, batchRows: batchRows, seed: seed)
    }

    /// Fits on the rows of `x`, each batch copied into the workspace and scaled there by
    /// `scaler`; the validation rows are scaled the same way.
    func fit(_ network: Network, data x: Rows, validation: Rows?,
             scaler: Scaler?, seed: UInt64,
             progress: ((EpochReport) -> Bool)?) throws -> TrainingHistory {
        let session = session(network, batchRows: Swift.min(settings.batchSize, x.count), seed: seed)
        let parameters = network.parameters
        var history = TrainingHistory()
        var best = Double.infinity
        var bestWeights: [Float]?
        var epochsWithoutImprovement = 0

        for epoch in 1...settings.epochs {
            let epochLoss: Double
            do {
                epochLoss = try session.pass(x, scaler: scaler)
            } catch let divergence as Divergence {
                throw Divergence(epoch: epoch, row: divergence.row, value: divergence.value, history: history)
            }
            history.loss.append(epochLoss)
            var validationLoss: Double?
            if let validation {
                let loss = Scoring.meanLoss(network, objective.loss, data: validation, scaler: scaler)
                validationLoss = loss
                history.validationLoss.append(loss)
            }

            let monitored = validationLoss ?? epochLoss
            session.scheduler.record(monitoredLoss: monitored)
            if monitored < best - (settings.earlyStopping?.minDelta ?? 0) {
                best = monitored
                history.bestEpoch = epoch
                epochsWithoutImprovement = 0
                if settings.earlyStopping?.restoreBestWeights == true { bestWeights = parameters.snapshot() }
            } else {
                epochsWithoutImprovement += 1
            }
            let report = EpochReport(epoch: epoch, epochs: settings.epochs, loss: epochLoss,
                                     validationLoss: validationLoss)
            if let progress, !progress(report) {
                history.stopReason = .cancelled
                break
            }
            if let early = settings.earlyStopping, epochsWithoutImprovement >= early.patience {
                history.stopReason = .earlyStopping
                if let bestWeights { parameters.restore(bestWeights) }
                break
            }
        }
        return history
    }
}

/// What carries over from one pass over data to the next: the optimizer's moments, the random
/// streams, the schedule and the pass count. `Trainer.fit` makes one per fit;
/// `Autoencoder.partialFit` keeps one across calls, so chunk after chunk trains as one run.
final class TrainingSession {
    private let trainer: Trainer
    private let network: Network
    private var objective: Objective
    private let optimizer: Optimizer
    private let workspace: Workspace
    private let adversary: Adversary?
    private let priorScratch: FloatBuffer
    private var shuffleRNG, dropoutRNG, noiseRNG: RandomSource
    var scheduler: LearningRateScheduler
    /// Passes completed (the epoch number of the last).
    private(set) var passes = 0

    init(trainer: Trainer, network: Network, batchRows: Int, seed: UInt64) {
        let settings = trainer.settings
        (self.trainer, self.network, objective) = (trainer, network, trainer.objective)
        optimizer = Optimizer(settings: settings, parameterCount: network.parameters.values.count)
        // Each input appears `draws` times in a row of the batch: a variational model's Monte Carlo
        // draws (the mean loss over the copies averages the reconstruction over draws).
        let workspace = Workspace(network: network, capacity: batchRows * trainer.monteCarloDraws, training: true)
        self.workspace = workspace
        shuffleRNG = RandomSource(seed: seed, stream: .shuffle)
        dropoutRNG = RandomSource(seed: seed, stream: .dropout)
        noiseRNG = RandomSource(seed: seed, stream: .noise)
        let adversary = trainer.adversarial.map {
            Adversary(settings: $0, network: network, training: settings, batch: workspace.capacity, seed: seed)
        }
        self.adversary = adversary
        priorScratch = FloatBuffer(count: adversary == nil ? 0 : workspace.capacity * network.codeSize)
        scheduler = LearningRateScheduler(schedule: settings.learningRateSchedule, learningRate: settings.learningRate,
                                          epochs: settings.epochs)
    }

    /// One pass over the rows of `x` in shuffled mini-batches; returns the mean objective per
    /// row. A non-finite batch objective restores the weights from before the pass and throws
    /// `Divergence` (its history empty: the caller knows the epochs).
    func pass(_ x: Rows, scaler: Scaler?) throws -> Double {
        let settings = trainer.settings, width = network.inputSize, rows = x.count
        let parameters = network.parameters, draws = trainer.monteCarloDraws
        let batchRows = workspace.capacity / draws
        passes += 1
        optimizer.learningRate = scheduler.rate(forEpoch: passes)
        let warmup = trainer.warmupEpochs
        objective.warmup = warmup > 0 ? Swift.min(1, Float(passes) / Float(warmup)) : 1
        let lastGood = parameters.snapshot()
        let order = settings.shuffle ? shuffleRNG.permutation(rows) : Array(0..<rows)
        var total: Double = 0
        var start = 0
        while start < rows {
            let inputs = Swift.min(batchRows, rows - start), n = inputs * draws
            let input = workspace.activations[0].base, first = start
            // The gather is a copy of the batch (800 KB for W1), worth the engine's threads.
            Parallel.forRanges(inputs, grain: Swift.max(1, Parallel.grain / Swift.max(1, width * draws))) { part in
                for k in part {
                    let row = order[first + k]
                    for copy in 0..<draws { (input + (k * draws + copy) * width).update(from: x.row(row), count: width) }
                }
            }
            scaler?.apply(input, rows: n)
            // Only corrupted inputs need a separate clean copy as the target.
            if let noise = trainer.noise {
                workspace.target.base.update(from: input, count: n * width)
                noise.apply(input, count: n * width, rng: &noiseRNG)
            }

            parameters.gradients.zero()
            let batchObjective = objective.evaluate(network, workspace, target: trainer.noise == nil ? input : workspace.target.base,
                                                    batch: n, rng: &dropoutRNG)
            guard batchObjective.isFinite else {
                parameters.restore(lastGood)
                throw Divergence(epoch: passes, row: start, value: batchObjective, history: TrainingHistory())
            }
            clipGradients(parameters)
            optimizer.update(parameters.values.base, gradients: parameters.gradients.base,
                             count: parameters.values.count)
            if let adversary {
                // Fresh codes from the updated encoder, for both adversarial phases.
                network.forward(workspace, batch: n, layers: 0..<(network.codeLayerIndex + 1), phase: .training, rng: &dropoutRNG)
                adversary.trainDiscriminator(codes: workspace.activations[network.codeLayerIndex + 1].base, batch: n,
                                             priorScratch: priorScratch.base)
                adversary.trainGenerator(network, workspace, batch: n)
            }
            total += batchObjective * Double(inputs)
            start += inputs
        }
        return total / Double(rows)
    }

    /// Rescales the whole gradient when its global norm exceeds clip_norm.
    private func clipGradients(_ parameters: ParameterBlock) {
        guard let limit = trainer.settings.clipNorm else { return }
        let norm = BLAS.norm(parameters.gradients.base, count: parameters.parameterCount)
        if norm > limit { BLAS.scale(parameters.gradients.base, count: parameters.parameterCount, by: limit / norm) }
    }
}
