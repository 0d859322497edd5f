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

/// Whole models: the objective and its gradient, the layers a spec makes, and that each variant,
/// optimizer and schedule learns.
final class ModelTests: XCTestCase {
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
        let frozen = try Autoencoder(spec: validSpec(#"{"input_shape":[24],"code_size":4,"training":{"epochs":4,"batch_size":20,"learning_rate_schedule":{"type":"step","step_epochs":1,"factor":1e-6}}}"#))
        let history = try frozen.fit(x)
        XCTAssertGreaterThan(history.loss[0] - history.loss[1], 100 * abs(history.loss[2] - history.loss[3]), "\(history.loss)")
    }

    // MARK: Learning

    func testTrainingReducesErrorFarBelowMeanPredictor() throws {
        let x = structuredData(rows: 2000)
        let model = try Autoencoder(spec: validSpec(
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
            let model = try Autoencoder(spec: validSpec(json))
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
        let plain = try Autoencoder(spec: validSpec(base + "}"))
        let noisy = try Autoencoder(spec: validSpec(base + #","noise":{"type":"gaussian","level":0.3}}"#))
        try plain.fit(x); try noisy.fit(x)
        XCTAssertNotEqual(plain.network.parameters.valueArray, noisy.network.parameters.valueArray)
        // Same clean validation target for both, so the noisy model's training loss is the larger.
        XCTAssertGreaterThan(noisy.history!.loss.last!, plain.history!.loss.last!)
    }
}
