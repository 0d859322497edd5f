import XCTest
@testable import AEFeatures

/// Structured synthetic data: `rows` samples of `width` features generated from `latent` hidden
/// factors through a fixed random map and a sigmoid, plus a little noise.
func structuredData(rows: Int, width: Int = 24, latent: Int = 3, seed: UInt64 = 1) -> Tensor {
    var rng = RandomSource(seed: seed)
    let mixing = (0..<(latent * width)).map { _ in 2 * rng.normal() }
    var values = [Float]()
    values.reserveCapacity(rows * width)
    for _ in 0..<rows {
        let z = (0..<latent).map { _ in rng.normal() }
        for j in 0..<width {
            var s: Float = 0
            for k in 0..<latent { s += z[k] * mixing[k * width + j] }
            values.append(10 * stableSigmoid(s) + 0.05 * rng.normal())
        }
    }
    return try! Tensor(shape: [rows, width], scalars: values)
}

/// 1 / (1 + e^−x) without overflow for large |x|.
func stableSigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}

/// Mean squared error of predicting every feature by its mean, in min-max scaled units.
func meanPredictorError(_ x: Tensor) -> Double {
    let rows = x.sampleCount, width = x.sampleSize
    var total = 0.0
    for j in 0..<width {
        let column = (0..<rows).map { Double(x.scalars[$0 * width + j]) }
        let lo = column.min()!, hi = column.max()!, range = hi > lo ? hi - lo : 1
        let scaled = column.map { ($0 - lo) / range }
        let mean = scaled.reduce(0, +) / Double(rows)
        total += scaled.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
    }
    return total / Double(rows * width)
}

final class ModelTests: XCTestCase {
    private func spec(_ json: String) -> ModelSpec {
        do { return try ModelSpec(json: json) } catch { XCTFail("\(error)"); fatalError() }
    }

    // MARK: The whole objective against finite differences

    /// Every trainable parameter of a small network, objective = loss + penalties, through
    /// BatchNorm, Dropout (fixed mask) and the code hooks, on the fast Float path.
    func testObjectiveGradientMatchesFiniteDifferences() throws {
        let cases = [
            #"{"input_shape":[6],"hidden_units":[5],"code_size":3,"batch_norm":true,"dropout":0.2,"code_activation":"tanh"}"#,
            #"{"variant":"sparse","input_shape":[6],"hidden_units":[5],"code_size":3,"sparsity":{"type":"kl","target":0.2,"weight":0.5}}"#,
            #"{"input_shape":[6],"code_size":4,"sparsity":{"type":"l1","weight":0.1},"activation":"tanh"}"#,
            #"{"variant":"contractive","input_shape":[6],"hidden_units":[5],"code_size":3,"contractive_weight":0.3}"#,
            #"{"variant":"contractive","input_shape":[6],"code_size":3,"code_activation":"tanh","contractive_weight":0.5,"loss":"bce"}"#,
            // The study's placement (BatchNorm before every Dense) with input dropout, and a contractive code behind it.
            #"{"input_shape":[6],"hidden_units":[5],"code_size":3,"batch_norm":"before","dropout":0.2,"input_dropout":0.3}"#,
            #"{"variant":"contractive","input_shape":[6],"hidden_units":[5],"code_size":3,"batch_norm":"before","contractive_weight":0.3}"#,
            #"{"variant":"variational","input_shape":[6],"hidden_units":[5],"code_size":2,"batch_norm":"before"}"#,
            // Tied weights: each encoder weight gets the gradients of both its uses.
            #"{"input_shape":[6],"hidden_units":[5],"code_size":3,"tied_weights":true,"batch_norm":true}"#,
        ]
        for json in cases { try assertObjectiveGradientMatchesFiniteDifferences(json, batch: 4) }
    }

    /// `batch_norm: "before"` puts a BatchNorm in front of every Dense, the input's, the code's
    /// and the output's included; `input_dropout` a Dropout first; `true` keeps the old layout.
    func testBatchNormPlacementAndInputDropoutLayers() throws {
        func kinds(_ json: String) throws -> [String] {
            try Autoencoder(json: json).network.layers.map { "\(type(of: $0))" }
        }
        let base = #"{"input_shape":[6],"hidden_units":[5],"code_size":3,"dropout":0.5"#
        XCTAssertEqual(try kinds(base + #","batch_norm":"before","input_dropout":0.1}"#),
                       ["Dropout", "BatchNorm", "Dense", "Activation", "Dropout", "BatchNorm", "Dense", "Activation",
                        "BatchNorm", "Dense", "Activation", "Dropout", "BatchNorm", "Dense", "Activation"])
        XCTAssertEqual(try kinds(base + #","batch_norm":true}"#),
                       ["Dense", "BatchNorm", "Activation", "Dropout", "Dense", "Activation",
                        "Dense", "BatchNorm", "Activation", "Dropout", "Dense", "Activation"])
        XCTAssertEqual(try kinds(base + #","batch_norm":"after"}"#), try kinds(base + #","batch_norm":true}"#))
        let before = try ModelSpec(json: base + #","batch_norm":"before"}"#)
        XCTAssertTrue(before.json.contains(#""batch_norm" : "before""#), before.json)
        XCTAssertTrue(try ModelSpec(json: base + "}").json.contains(#""batch_norm" : false"#))
        XCTAssertFalse(try ModelSpec(json: base + "}").json.contains("input_dropout"), "absent stays absent, so old files save unchanged")
    }

    /// The schedules' learning rates epoch by epoch, and a plateau schedule's reductions in a fit.
    func testLearningRateSchedules() throws {
        func rates(_ json: String, epochs: Int, losses: [Double] = []) throws -> [Float] {
            let schedule = try SpecJSON.decode(LearningRateSchedule.self, from: json)
            var scheduler = LearningRateScheduler(schedule: schedule, learningRate: 0.1, epochs: epochs)
            return (1...epochs).map { epoch in
                defer { if epoch <= losses.count { scheduler.record(monitoredLoss: losses[epoch - 1]) } }
                return scheduler.rate(forEpoch: epoch)
            }
        }
        assertClose(try rates(#"{"type":"step","step_epochs":2,"factor":0.5}"#, epochs: 5).map(Double.init),
                    [0.1, 0.1, 0.05, 0.05, 0.025], absolute: 1e-7, relative: 1e-6, "step")
        assertClose(try rates(#"{"type":"cosine","min_learning_rate":0.02}"#, epochs: 4).map(Double.init),
                    [0.1, 0.02 + 0.08 * (1 + cos(Double.pi / 4)) / 2, 0.06, 0.02 + 0.08 * (1 + cos(3 * Double.pi / 4)) / 2],
                    absolute: 1e-7, relative: 1e-6, "cosine")
        // Improves twice, then stalls: after 2 stalled epochs the rate drops, never below the floor.
        assertClose(try rates(#"{"type":"plateau","patience":2,"factor":0.1,"min_learning_rate":0.005}"#, epochs: 8,
                              losses: [5, 4, 4, 4.5, 4, 4, 4, 4]).map(Double.init),
                    [0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.005, 0.005], absolute: 1e-7, relative: 1e-6, "plateau")

        // In a fit: a schedule that drops the rate to almost nothing after epoch 1 freezes the weights.
        let x = structuredData(rows: 200, seed: 4)
        let frozen = try Autoencoder(spec: spec(#"{"input_shape":[24],"code_size":4,"training":{"epochs":4,"batch_size":20,"learning_rate_schedule":{"type":"step","step_epochs":1,"factor":1e-6}}}"#))
        let history = try frozen.fit(x)
        XCTAssertGreaterThan(history.loss[0] - history.loss[1], 100 * abs(history.loss[2] - history.loss[3]), "\(history.loss)")
    }

    // MARK: Learning

    func testTrainingReducesErrorFarBelowMeanPredictor() throws {
        let x = structuredData(rows: 2000)
        let model = try Autoencoder(spec: spec(
            #"{"input_shape":[24],"hidden_units":[32],"code_size":3,"code_activation":"identity","training":{"epochs":40,"batch_size":32,"learning_rate":0.003}}"#))
        let history = try model.fit(x)
        let error = Double(try model.anomalyScores(x).reduce(0, +)) / Double(x.sampleCount)
        let baseline = meanPredictorError(x)
        XCTAssertLessThan(error, 0.05 * baseline, "reconstruction MSE \(error) vs mean predictor \(baseline)")
        XCTAssertLessThan(history.loss.last!, history.loss.first!)
        XCTAssertEqual(history.loss.count, 40)
        XCTAssertEqual(history.stopReason, .completed)
    }

    func testEveryOptimizerAndVariantLearns() throws {
        let x = structuredData(rows: 600, seed: 2)
        let variants = [
            #""optimizer":"sgd","learning_rate":0.1,"momentum":0.9"#,
            #""optimizer":"rmsprop","learning_rate":0.001"#,
            #""optimizer":"adam","clip_norm":0.5"#,
        ].map { #"{"input_shape":[24],"hidden_units":[16],"code_size":4,"training":{"epochs":15,"batch_size":16,\#($0)}}"# } + [
            #"{"variant":"denoising","input_shape":[24],"hidden_units":[16],"code_size":4,"noise":{"type":"masking","level":0.2},"training":{"epochs":15,"batch_size":16}}"#,
            #"{"variant":"denoising","input_shape":[24],"code_size":4,"noise":{"type":"salt_and_pepper","level":0.1},"training":{"epochs":15,"batch_size":16}}"#,
            #"{"variant":"denoising","input_shape":[24],"code_size":4,"noise":{"type":"poisson","level":30},"training":{"epochs":15,"batch_size":16}}"#,
            #"{"variant":"sparse","input_shape":[24],"hidden_units":[16],"code_size":8,"training":{"epochs":15,"batch_size":16}}"#,
            #"{"variant":"contractive","input_shape":[24],"code_size":4,"training":{"epochs":15,"batch_size":16}}"#,
            #"{"variant":"contractive","input_shape":[24],"hidden_units":[16],"code_size":4,"tied_weights":true,"training":{"epochs":15,"batch_size":16}}"#,
            #"{"input_shape":[24],"hidden_units":[16],"code_size":4,"loss":"bce","batch_norm":true,"dropout":0.1,"training":{"epochs":15,"batch_size":16}}"#,
            #"{"variant":"denoising","input_shape":[24],"hidden_units":[16],"code_size":4,"batch_norm":"before","input_dropout":0.1,"noise":{"type":"uniform","level":0.1},"training":{"epochs":15,"batch_size":16,"learning_rate_schedule":{"type":"plateau","patience":2}}}"#,
        ]
        let baseline = meanPredictorError(x)
        for json in variants {
            let model = try Autoencoder(spec: spec(json))
            let history = try model.fit(x)
            XCTAssertLessThan(history.loss.last!, 0.8 * history.loss.first!, json)
            if model.spec.loss == .mse {
                let error = Double(try model.anomalyScores(x).reduce(0, +)) / Double(x.sampleCount)
                XCTAssertLessThan(error, 0.9 * baseline, json)
            }
        }
    }

    /// The default KL weight makes a wide code sparse: its mean activation moves most of the way
    /// from the plain autoencoder's towards the target, while it still reconstructs.
    func testDefaultKLSparsityMakesAWideCodeSparse() throws {
        let x = structuredData(rows: 600, seed: 4)
        let body = #""input_shape":[24],"hidden_units":[32],"code_size":32,"training":{"epochs":30,"batch_size":16}"#
        let plain = try Autoencoder(json: "{\(body)}"), sparse = try Autoencoder(json: #"{"variant":"sparse",\#(body)}"#)
        try plain.fit(x); try sparse.fit(x)
        let plainMean = try plain.encode(x).scalars.reduce(0, +) / Float(600 * 32)
        let sparseMean = try sparse.encode(x).scalars.reduce(0, +) / Float(600 * 32)
        print("mean code activation: plain \(plainMean), sparse \(sparseMean) (target 0.05)")
        XCTAssertLessThan(sparseMean - 0.05, 0.5 * (plainMean - 0.05))
        let error = Double(try sparse.anomalyScores(x).reduce(0, +)) / 600
        XCTAssertLessThan(error, 0.9 * meanPredictorError(x))
    }

    func testDenoisingTrainsOnCorruptedInputAgainstCleanTarget() throws {
        let x = structuredData(rows: 300, seed: 3)
        let base = #"{"input_shape":[24],"code_size":4,"training":{"epochs":3,"batch_size":32}"#
        let plain = try Autoencoder(spec: spec(base + "}"))
        let noisy = try Autoencoder(spec: spec(base + #","noise":{"type":"gaussian","level":0.3}}"#))
        try plain.fit(x); try noisy.fit(x)
        XCTAssertNotEqual(plain.network.parameters.valueArray, noisy.network.parameters.valueArray)
        // Same clean validation target for both, so the noisy model's training loss is the larger.
        XCTAssertGreaterThan(noisy.history!.loss.last!, plain.history!.loss.last!)
    }

    func testCallsDuringFitAreRefusedNotRaced() throws {
        let model = try Autoencoder(json: #"{"input_shape":[24],"hidden_units":[8],"code_size":2,"training":{"epochs":2}}"#)
        let x = structuredData(rows: 64)
        var refusals: [AEError] = []
        let calls: [() throws -> Void] = [{ _ = try model.encode(x) }, { _ = try model.serialized() },
                                          { _ = try model.fittedState() }, { try model.fit(x) }]
        try model.fit(x) { _ in
            for call in calls {
                do { try call(); XCTFail("a call during fit went through") } catch { refusals.append(error as! AEError) }
            }
            return true
        }
        XCTAssertEqual(refusals.count, 8)
        XCTAssertTrue(refusals.allSatisfy { if case .busy = $0 { return true } else { return false } }, "\(refusals)")
        XCTAssertEqual(try model.encode(x).shape, [64, 2])  // the gate opens when fit returns
    }

    func testSameSeedGivesBitIdenticalWeights() throws {
        let x = structuredData(rows: 500, seed: 4)
        let json = #"{"variant":"denoising","input_shape":[24],"hidden_units":[12],"code_size":3,"batch_norm":true,"dropout":0.2,"training":{"epochs":3,"batch_size":50,"validation_split":0.2}}"#
        let a = try Autoencoder(spec: spec(json)), b = try Autoencoder(spec: spec(json))
        try a.fit(x, seed: 9); try b.fit(x, seed: 9)
        XCTAssertEqual(a.network.parameters.snapshot(), b.network.parameters.snapshot())
        XCTAssertEqual(a.history, b.history)
        try b.fit(x, seed: 9)  // a refit starts over
        XCTAssertEqual(a.network.parameters.snapshot(), b.network.parameters.snapshot())
        try b.fit(x, seed: 10)
        XCTAssertNotEqual(a.network.parameters.snapshot(), b.network.parameters.snapshot())
    }

    // MARK: Trainer controls

    func testEarlyStoppingRestoresTheBestWeights() throws {
        let x = structuredData(rows: 400, seed: 5)
        let validation = structuredData(rows: 100, seed: 6)
        let model = try Autoencoder(spec: spec(
            #"{"input_shape":[24],"hidden_units":[64],"code_size":16,"scaling":"none","output_activation":"identity","training":{"epochs":200,"batch_size":8,"learning_rate":0.01,"early_stopping":{"patience":2,"min_delta":0.001}}}"#))
        let history = try model.fit(x, validation: validation)
        XCTAssertEqual(history.stopReason, .earlyStopping)
        XCTAssertLessThan(history.loss.count, 200)
        XCTAssertEqual(history.loss.count, history.bestEpoch + 2, "stops after `patience` epochs without improvement")
        let restored = Double(try model.anomalyScores(validation).reduce(0, +)) / 100
        XCTAssertEqual(restored, history.validationLoss[history.bestEpoch - 1], accuracy: 1e-5 * restored)
    }

    func testValidationSplitAndCancellation() throws {
        let x = structuredData(rows: 200, seed: 7)
        let model = try Autoencoder(spec: spec(#"{"input_shape":[24],"code_size":4,"training":{"epochs":10,"validation_split":0.25}}"#))
        var seen: [Int] = []
        let history = try model.fit(x) { report in
            seen.append(report.epoch)
            XCTAssertNotNil(report.validationLoss)
            return report.epoch < 3
        }
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertEqual(history.stopReason, .cancelled)
        XCTAssertEqual(history.loss.count, 3)
        XCTAssertEqual(history.validationLoss.count, 3)
        XCTAssertTrue(model.isFitted)
    }

    /// A validation split reads the caller's rows through an index view instead of copying them;
    /// it must train exactly as the same rows handed over as two separate arrays.
    func testValidationSplitViewTrainsLikeExplicitlySplitCopies() throws {
        let x = structuredData(rows: 203, seed: 9), width = x.sampleSize
        let json = #"{"input_shape":[24],"hidden_units":[10],"code_size":4,"scaling":"standard","batch_norm":true,"training":{"epochs":3,"batch_size":32,"validation_split":0.3}}"#
        let viewed = try Autoencoder(spec: spec(json))
        let viewedHistory = try viewed.fit(x, seed: 5)

        var rng = RandomSource(seed: 5, stream: .split)
        let order = rng.permutation(203), heldOut = Int(203 * 0.3)
        func gather(_ picked: ArraySlice<Int>) throws -> Tensor {
            try Tensor(shape: [picked.count, width], scalars: picked.flatMap { x.scalars[($0 * width)..<(($0 + 1) * width)] })
        }
        let copied = try Autoencoder(spec: spec(json.replacingOccurrences(of: #","validation_split":0.3"#, with: "")))
        let copiedHistory = try copied.fit(gather(order[..<(203 - heldOut)]), validation: gather(order[(203 - heldOut)...]), seed: 5)

        XCTAssertEqual(viewedHistory, copiedHistory)
        XCTAssertEqual(viewed.network.parameters.snapshot(), copied.network.parameters.snapshot())
        XCTAssertEqual(viewed.scaler, copied.scaler)
        XCTAssertEqual(viewed.threshold, copied.threshold)
    }

    /// Inference fuses Dense → BatchNorm → activation groups (FusedDense); the code and the
    /// reconstruction must match running the layers one by one.
    func testFusedInferenceMatchesLayerByLayer() throws {
        let x = structuredData(rows: 300, seed: 10)
        let specs = [
            #"{"input_shape":[24],"hidden_units":[16,8],"code_size":4,"batch_norm":true,"activation":"elu","output_activation":"sigmoid"}"#,
            #"{"input_shape":[24],"hidden_units":[12],"code_size":5,"batch_norm":true,"code_activation":"identity","activation":"tanh"}"#,
            #"{"variant":"variational","input_shape":[24],"hidden_units":[12],"code_size":3,"activation":"relu","loss":"bce"}"#,
        ]
        for json in specs {
            let model = try Autoencoder(spec: spec(json.dropLast() + #","scaling":"none","training":{"epochs":2}}"#))
            try model.fit(x)
            let network = model.network, rows = x.sampleCount, last = network.layers.count
            func run(fused: Bool) -> Workspace {
                let workspace = Workspace(network: network, capacity: rows, training: false)
                x.scalars.withUnsafeBufferPointer { workspace.activations[0].base.update(from: $0.baseAddress!, count: $0.count) }
                var rng = RandomSource(seed: 0)
                if fused { network.forward(workspace, batch: rows, layers: 0..<last, phase: .inference, rng: &rng) }
                for i in 0..<last where !fused {
                    network.layers[i].forward(workspace.activations[i].base, workspace.activations[i + 1].base, batch: rows,
                                              scratch: workspace.scratch[i].base, phase: .inference, rng: &rng)
                }
                return workspace
            }
            let fused = run(fused: true), separate = run(fused: false)
            XCTAssertTrue(network.layers.indices.contains { FusedDense(network.layers, at: $0, end: last) != nil }, json)
            for index in [network.codeLayerIndex + 1, last] {
                let a = fused.activations[index].array.map(Double.init), b = separate.activations[index].array.map(Double.init)
                assertClose(a, b, absolute: 1e-6, relative: 1e-5, "activations[\(index)] of \(json)")
            }
        }
    }

    func testDivergenceInALaterEpochKeepsTheLastGoodEpoch() throws {
        let x = structuredData(rows: 200, seed: 8)
        let unstable = #"{"input_shape":[24],"code_size":4,"scaling":"standard","activation":"relu","code_activation":"identity","training":{"epochs":8,"optimizer":"sgd","learning_rate":1000,"momentum":0}}"#
        let model = try Autoencoder(spec: spec(unstable))
        XCTAssertThrowsError(try model.fit(x)) { error in
            guard case AEError.diverged(let message) = error,
                  let range = message.range(of: #"keeps the weights of epoch \d+"#, options: .regularExpression),
                  let epoch = Int(message[range].split(separator: " ").last!) else { return XCTFail("\(error)") }
            XCTAssertEqual(self.historyLength(model), epoch, message)
        }
        XCTAssertTrue(model.isFitted)
        XCTAssertTrue(try model.encode(x).scalars.allSatisfy(\.isFinite), "the kept weights are the finite ones")
    }

    private func historyLength(_ model: Autoencoder) -> Int { model.history?.loss.count ?? -1 }

    func testDivergenceInTheFirstEpochKeepsTheStateBeforeTheFit() throws {
        let x = structuredData(rows: 200, seed: 8)
        var overflowing = x
        overflowing.scalars[5] = 3e38  // finite, but its square is not
        let json = #"{"input_shape":[24],"code_size":4,"scaling":"none","output_activation":"identity","training":{"epochs":2}}"#

        let fresh = try Autoencoder(spec: spec(json))
        XCTAssertThrowsError(try fresh.fit(overflowing)) { error in
            guard case AEError.diverged(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("epoch 1") && message.contains("state from before this fit"), message)
        }
        XCTAssertFalse(fresh.isFitted)

        let fitted = try Autoencoder(spec: spec(json))
        try fitted.fit(x)
        let before = try fitted.encode(x), history = fitted.history, threshold = fitted.threshold
        XCTAssertThrowsError(try fitted.fit(overflowing))
        XCTAssertTrue(try fitted.encode(x) == before, "weights are those of the earlier fit")
        XCTAssertEqual(fitted.history, history)
        XCTAssertEqual(fitted.threshold, threshold)
    }

    // MARK: Scaling, outputs, threshold

    func testRawUnitsInAndOutAndThreshold() throws {
        var x = structuredData(rows: 1000, seed: 9)
        x.scalars = x.scalars.map { 1000 + 50 * $0 }
        for scaling in ["minmax", "standard"] {
            let model = try Autoencoder(spec: spec(
                #"{"input_shape":[4,6],"hidden_units":[32],"code_size":3,"scaling":"\#(scaling)","contamination":0.05,"training":{"epochs":30,"batch_size":32,"learning_rate":0.003}}"#))
            try model.fit(x)
            let reconstruction = try model.reconstruct(x)
            XCTAssertEqual(reconstruction.shape, [1000, 4, 6])
            let meanAbs = zip(reconstruction.scalars, x.scalars).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(x.scalars.count)
            XCTAssertLessThan(meanAbs, 50, "\(scaling): reconstruction in raw units (feature range ~500)")
            // Scores are the MSE in scaled units: ((x̂ − x) · factor)² averaged over a row.
            let factor = try XCTUnwrap(model.scaler).factor
            let scores = try model.anomalyScores(x)
            for r in [0, 321, 999] {
                var mse: Float = 0
                for j in 0..<24 { let d = (reconstruction.scalars[r * 24 + j] - x.scalars[r * 24 + j]) * factor[j]; mse += d * d }
                XCTAssertEqual(mse / 24, scores[r], accuracy: 1e-3 * scores[r] + 1e-6, "\(scaling) row \(r)")
            }

            let code = try model.encode(x)
            XCTAssertEqual(code.shape, [1000, 3])
            XCTAssertTrue(code.scalars.allSatisfy { $0 > 0 && $0 < 1 }, "sigmoid code")

            XCTAssertTrue(try model.decode(code) == model.reconstruct(x), "decode(encode(x)) is the reconstruction")
            XCTAssertThrowsError(try model.decode(x))

            let flagged = try model.predictAnomalies(x).reduce(0, +)
            XCTAssertEqual(Double(flagged) / 1000, 0.05, accuracy: 0.002)
            let errors = try model.featureErrors(x)
            for r in [0, 500, 999] {
                let mean = errors.scalars[(r * 24)..<((r + 1) * 24)].reduce(0, +) / 24
                XCTAssertEqual(mean, scores[r], accuracy: 1e-6 * max(1, scores[r]))
            }
        }
    }

    /// A threshold calibrated on held-out normal rows flags about the target fraction of new
    /// normal rows, replaces the fit's, survives a file round trip, and bad calls leave it alone.
    func testThresholdCalibratedToAFalsePositiveRate() throws {
        let all = structuredData(rows: 6000, seed: 11)
        let rows = { (range: Range<Int>) in try Tensor(shape: [range.count, 24], scalars: Array(all.scalars[(range.lowerBound * 24)..<(range.upperBound * 24)])) }
        let (training, heldOut, fresh) = (try rows(0..<1000), try rows(1000..<3000), try rows(3000..<6000))
        let model = try Autoencoder(json: #"{"input_shape":[24],"hidden_units":[16],"code_size":4,"training":{"epochs":5}}"#)
        XCTAssertThrowsError(try model.calibrateThreshold(normal: heldOut, falsePositiveRate: 0.01)) {
            XCTAssertEqual($0 as? AEError, .notFitted)
        }
        try model.fit(training)
        let fitted = try XCTUnwrap(model.threshold)
        let threshold = try model.calibrateThreshold(normal: heldOut, falsePositiveRate: 0.01)
        // The k-th smallest of the 2,000 scores, k = ceil(2001 x 0.99) = 1981: 19 rows score above it.
        XCTAssertEqual(threshold, try model.anomalyScores(heldOut).sorted()[1980])
        XCTAssertEqual(model.threshold, threshold)
        XCTAssertNotEqual(threshold, fitted)
        // New rows from the same distribution: the realised rate is near the target.
        let flagged = Double(try model.predictAnomalies(fresh).reduce(0, +)) / 3000
        XCTAssertEqual(flagged, 0.01, accuracy: 0.006, "false-positive rate on new normal rows")
        XCTAssertEqual(try Autoencoder.deserialize(try model.serialized()).threshold, threshold)
        var poisoned = heldOut
        poisoned.scalars[5] = .nan
        let few = try rows(1000..<1098)  // 98 rows: one short of what a 1% bound needs
        XCTAssertThrowsError(try model.calibrateThreshold(normal: few, falsePositiveRate: 0.01)) {
            XCTAssertEqual($0 as? AEError, .invalidInput("98 normal rows cannot calibrate a false-positive rate of 0.01: at least 99 are needed"))
        }
        XCTAssertNoThrow(try model.calibrateThreshold(normal: try rows(1000..<1099), falsePositiveRate: 0.01))
        try model.calibrateThreshold(normal: heldOut, falsePositiveRate: 0.01)
        for (data, rate) in [(heldOut, Float(0)), (heldOut, 1), (heldOut, .nan), (heldOut, -0.1), (poisoned, 0.01)] {
            XCTAssertThrowsError(try model.calibrateThreshold(normal: data, falsePositiveRate: rate)) {
                guard case AEError.invalidInput = $0 else { return XCTFail("\($0)") }
            }
            XCTAssertEqual(model.threshold, threshold)
        }
    }

    /// The standardized score divides each value's error by its mean over the training rows:
    /// weights fitted with the model, kept by its file, and the threshold set on those scores.
    func testStandardizedScore() throws {
        let x = structuredData(rows: 800, seed: 12)
        let body = #""input_shape":[24],"hidden_units":[16],"code_size":4,"training":{"epochs":8}"#
        let plain = try Autoencoder(json: "{\(body)}")
        let model = try Autoencoder(json: #"{"score":"standardized",\#(body)}"#)
        try plain.fit(x); try model.fit(x)
        XCTAssertNil(plain.errorWeights)
        let weights = try XCTUnwrap(model.errorWeights)
        XCTAssertEqual(weights.count, 24)
        let errors = try model.featureErrors(x).scalars, scores = try model.anomalyScores(x)
        for j in [0, 5, 23] {
            let mean = (0..<800).map { Double(errors[$0 * 24 + j]) }.reduce(0, +) / 800
            XCTAssertEqual(Double(weights[j]), 1 / mean, accuracy: 2e-3 / mean, "weight \(j) is 1 / its mean training error")
        }
        XCTAssertGreaterThan(weights.max()! / weights.min()!, 1.5, "values reconstruct unequally well")
        for r in [0, 400, 799] {
            let expected = (0..<24).map { errors[r * 24 + $0] * weights[$0] }.reduce(0, +) / 24
            XCTAssertEqual(scores[r], expected, accuracy: 1e-5 * expected)
        }
        // The training scores average about 1, and the threshold is their contamination quantile.
        XCTAssertEqual(Double(scores.reduce(0, +)) / 800, 1, accuracy: 0.01)
        XCTAssertEqual(model.threshold, Scoring.threshold(scores: scores, contamination: 0.1))
        let loaded = try Autoencoder.deserialize(try model.serialized())
        XCTAssertEqual(loaded.errorWeights, weights)
        XCTAssertEqual(try loaded.anomalyScores(x), scores)
        XCTAssertFalse(String(decoding: try plain.serialized(), as: UTF8.self).contains("error_weights"))
    }

    /// The combined score against a reference written out here in double precision: the
    /// standardized score, the code's Mahalanobis distance (covariance + 1e-2 x its mean variance)
    /// and the mean squared distance to its 2nd-6th nearest training codes, each divided by three
    /// times its training mean, summed. Training and new rows, the threshold, and the file.
    func testCombinedScore() throws {
        let x = structuredData(rows: 600, seed: 14), fresh = structuredData(rows: 50, seed: 15)
        let body = #""input_shape":[24],"hidden_units":[16],"code_size":4,"training":{"epochs":8}"#
        let model = try Autoencoder(json: #"{"score":"combined",\#(body)}"#)
        let standardized = try Autoencoder(json: #"{"score":"standardized",\#(body)}"#)
        try model.fit(x); try standardized.fit(x)
        XCTAssertEqual(model.errorWeights, standardized.errorWeights, "same seed, same network, same weights")
        let (n, k) = (600, 4)
        let codes = try model.encode(x).scalars.map(Double.init)
        let base = try standardized.anomalyScores(x).map(Double.init)
        var mean = [Double](repeating: 0, count: k)
        for r in 0..<n { for j in 0..<k { mean[j] += codes[r * k + j] / Double(n) } }
        var covariance = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        for r in 0..<n { for i in 0..<k { for j in 0..<k { covariance[i][j] += (codes[r * k + i] - mean[i]) * (codes[r * k + j] - mean[j]) / Double(n) } } }
        let ridge = 1e-2 * (0..<k).reduce(0) { $0 + covariance[$1][$1] } / Double(k)
        for j in 0..<k { covariance[j][j] += ridge }
        let inverse = invert(covariance)
        func terms(_ code: [Double], _ score: Double) -> [Double] {
            let d = (0..<k).map { code[$0] - mean[$0] }
            let mahalanobis = (0..<k).reduce(0.0) { sum, i in sum + (0..<k).reduce(0.0) { $0 + d[i] * inverse[i][$1] * d[$1] } }
            let distances = (0..<n).map { r in (0..<k).reduce(0.0) { $0 + (code[$1] - codes[r * k + $1]) * (code[$1] - codes[r * k + $1]) } }.sorted()
            return [score, mahalanobis, distances[1...5].reduce(0, +) / 5]
        }
        let training = (0..<n).map { terms(Array(codes[($0 * k)..<(($0 + 1) * k)]), base[$0]) }
        let means = (0..<3).map { t in training.reduce(0) { $0 + $1[t] } / Double(n) }
        func combined(_ values: [Double]) -> Double { (0..<3).reduce(0) { $0 + values[$1] / (3 * means[$1]) } }
        let scores = try model.anomalyScores(x)
        for r in 0..<n { XCTAssertEqual(Double(scores[r]), combined(training[r]), accuracy: 1e-4 * (1 + combined(training[r])), "training row \(r)") }
        XCTAssertEqual(scores.reduce(0, +) / Float(n), 1, accuracy: 1e-4, "the training rows average 1")
        let freshCodes = try model.encode(fresh).scalars.map(Double.init), freshBase = try standardized.anomalyScores(fresh)
        let freshScores = try model.anomalyScores(fresh)
        for r in 0..<50 {
            let expected = combined(terms(Array(freshCodes[(r * k)..<((r + 1) * k)]), Double(freshBase[r])))
            XCTAssertEqual(Double(freshScores[r]), expected, accuracy: 1e-4 * (1 + expected), "new row \(r)")
        }
        XCTAssertEqual(model.threshold, Scoring.threshold(scores: scores, contamination: 0.1))
        let loaded = try Autoencoder.deserialize(try model.serialized())
        XCTAssertEqual(try loaded.anomalyScores(fresh), freshScores)
        // The whitening matrix has code size² values: a bound, checked when the model is made.
        XCTAssertThrowsError(try Autoencoder(json: #"{"input_shape":[8],"code_size":1025,"score":"combined"}"#)) { error in
            guard case AEError.invalidSpec(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("code size 1025 exceeds 1024"), message)
        }
    }

    /// Gauss-Jordan inverse of a small symmetric positive-definite matrix (a test reference).
    private func invert(_ m: [[Double]]) -> [[Double]] {
        let n = m.count
        var a = m.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for c in 0..<n {
            let pivot = a[c][c]
            a[c] = a[c].map { $0 / pivot }
            for r in 0..<n where r != c {
                let factor = a[r][c]
                a[r] = zip(a[r], a[c]).map { $0 - factor * $1 }
            }
        }
        return a.map { Array($0[n...]) }
    }

    /// partialFit continues one training run across calls: two calls over all rows are the
    /// two epochs of `fit`, bit for bit; ten chunks per epoch come close to it; bad input is
    /// refused before anything changes.
    func testPartialFitContinuesOneRun() throws {
        let x = structuredData(rows: 2000, seed: 16), test = structuredData(rows: 500, seed: 17)
        let json = #"{"variant":"denoising","input_shape":[24],"hidden_units":[16],"code_size":4,"dropout":0.1,"training":{"epochs":2,"batch_size":50}}"#
        let whole = try Autoencoder(json: json), passes = try Autoencoder(json: json)
        try whole.fit(x)
        try passes.partialFit(x)
        XCTAssertEqual(try passes.fittedState().history?.loss.count, 1)
        try passes.partialFit(x)
        XCTAssertEqual(try passes.serialized(), try whole.serialized(), "two passes are fit's two epochs")

        // Ten chunks per epoch, eight epochs, against one fit of eight epochs.
        let eight = json.replacingOccurrences(of: #""epochs":2"#, with: #""epochs":8"#)
        let reference = try Autoencoder(json: eight), chunked = try Autoencoder(json: eight)
        try reference.fit(x)
        for _ in 0..<8 {
            for c in 0..<10 {
                let rows = Array(x.scalars[(c * 200 * 24)..<((c + 1) * 200 * 24)])
                try chunked.partialFit(try Tensor(shape: [200, 24], scalars: rows))
            }
        }
        let error = { (m: Autoencoder) in try m.anomalyScores(test).reduce(0, +) / 500 }
        XCTAssertEqual(try chunked.fittedState().history?.loss.count, 80)
        XCTAssertLessThan(try error(chunked), 1.05 * (try error(reference)), "chunks reach the reconstruction error of one fit")

        // Bad input changes nothing.
        let before = try chunked.serialized()
        var poisoned = test
        poisoned.scalars[7] = .nan
        for bad in [poisoned, try Tensor(shape: [10, 12], scalars: [Float](repeating: 0, count: 120))] {
            XCTAssertThrowsError(try chunked.partialFit(bad)) { error in
                guard case AEError.invalidInput = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertEqual(try chunked.serialized(), before)
    }

    func testConcurrentInferenceMatchesSerial() throws {
        let x = structuredData(rows: 3000, seed: 10)
        let model = try Autoencoder(spec: spec(#"{"input_shape":[24],"hidden_units":[16],"code_size":4,"batch_norm":true,"training":{"epochs":2}}"#))
        try model.fit(x)
        let expected = try model.encode(x), expectedScores = try model.anomalyScores(x)
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                let same = i % 2 == 0 ? (try model.encode(x) == expected) : (try model.anomalyScores(x) == expectedScores)
                if !same { failures.increment() }
            } catch { failures.increment() }
        }
        XCTAssertEqual(failures.value, 0)
    }

    // MARK: Bad input

    func testBadInputThrowsDescriptiveErrors() throws {
        let model = try Autoencoder(spec: spec(#"{"input_shape":[3],"code_size":2,"training":{"epochs":1}}"#))
        let good = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertThrowsError(try model.encode(good)) { XCTAssertEqual($0 as? AEError, .notFitted) }
        func expect(_ body: @autoclosure () throws -> Any, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard case AEError.invalidInput(let message) = error else { return XCTFail("\(error)", line: line) }
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", line: line)
            }
        }
        expect(try model.fit(Tensor(zeros: [0, 3])), "empty")
        expect(try model.fit(Tensor(zeros: [2, 4])), "shape [2, 4]")
        expect(try model.fit(Tensor(shape: [2, 3], scalars: [1, .nan, 3, 4, 5, 6])), "nan at row 0, column 1")
        expect(try model.fit(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, -.infinity])), "-inf at row 1, column 2")
        expect(try model.fit(good, validation: Tensor(zeros: [1, 2])), "validation data")
        expect(try Tensor(shape: [2, 2], scalars: [1]), "needs 4 values")
        try model.fit(good)
        expect(try model.encode(Tensor(shape: [1, 3], scalars: [.infinity, 0, 0])), "inf")
        XCTAssertEqual(try model.encode(good).shape, [2, 2])
        try good.scalars.withUnsafeBufferPointer { x in
            var small = [Float](repeating: 0, count: 3)
            try small.withUnsafeMutableBufferPointer { out in
                expect(try model.encode(x, rows: 2, into: out), "room for 3 values")
                expect(try model.encode(x, rows: 3, into: out), "has 6 values")
            }
        }
        let split = try Autoencoder(spec: spec(#"{"input_shape":[3],"code_size":2,"training":{"validation_split":0.3}}"#))
        expect(try split.fit(good), "validation_split")
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
