import XCTest
@testable import AEFeatures

/// The fit loop: refusing calls during a fit, determinism, the workspace's shared buffers, early
/// stopping, validation splits, cancellation, divergence and partial fits.
final class TrainingTests: XCTestCase {
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
        let a = try Autoencoder(spec: validSpec(json)), b = try Autoencoder(spec: validSpec(json))
        try a.fit(x, seed: 9); try b.fit(x, seed: 9)
        XCTAssertEqual(a.network.parameters.snapshot(), b.network.parameters.snapshot())
        XCTAssertEqual(a.history, b.history)
        try b.fit(x, seed: 9)  // a refit starts over
        XCTAssertEqual(a.network.parameters.snapshot(), b.network.parameters.snapshot())
        try b.fit(x, seed: 10)
        XCTAssertNotEqual(a.network.parameters.snapshot(), b.network.parameters.snapshot())
    }

    /// A fit's workspace shares buffers (an activation writes over its input, the gradients take
    /// turns in two buffers); its parameter gradients must be the bits of a pass that gives every
    /// output and gradient a buffer of its own. The networks have what the sharing must respect:
    /// an activation after an activation (whose backward reads the first one's output), one after
    /// BatchNorm, dropout, pooling and upsampling, a sigmoid output left out by BCE.
    func testSharedTrainingBuffersGiveTheGradientsOfSeparateOnes() throws {
        let conv = try Autoencoder(json: #"{"variant":"conv2d","input_shape":[8,8,1],"activation":"elu","scaling":"none","output_activation":"sigmoid","conv_blocks":[{"filters":4,"kernel":3,"pool":2},{"filters":2,"kernel":3,"pool":2}],"loss":"mse"}"#).network
        let chain = Network(layers: [Dense(inputSize: 6, outputSize: 5, initialization: .he), Activation(size: 5, function: .tanh),
                                     Activation(size: 5, function: .elu), Dropout(size: 5, rate: 0.3), BatchNorm(channels: 5),
                                     Activation(size: 5, function: .relu), Dense(inputSize: 5, outputSize: 6, initialization: .glorot),
                                     Activation(size: 6, function: .sigmoid)], codeLayerIndex: 5)
        chain.initialize(seed: 3)
        for (network, loss) in [(conv, LossFunction.mse), (chain, .mse), (chain, .bce)] {
            let batch = 7
            var data = TestData(seed: 8)
            let input = data.unit(batch * network.inputSize).map(Float.init)

            let workspace = Workspace(network: network, capacity: batch, training: true)
            XCTAssertLessThan(Set(workspace.activations.map(ObjectIdentifier.init)).count, workspace.activations.count)
            XCTAssertEqual(Set(workspace.gradients.map(ObjectIdentifier.init)).count, 2)
            workspace.activations[0].base.update(from: input, count: input.count)
            network.parameters.gradients.zero()
            var rng = RandomSource(seed: 5)
            let sharedLoss = Objective(loss: loss, terms: []).evaluate(network, workspace, target: workspace.activations[0].base,
                                                                       batch: batch, rng: &rng)
            let shared = network.parameters.gradientArray

            let top = loss.layersBeforeLoss(network), layers = network.layers
            let sizes = [network.inputSize] + layers.map(\.outputSize)
            let outputs = sizes.map { FloatBuffer(count: batch * $0) }, gradients = sizes.map { FloatBuffer(count: batch * $0) }
            let scratch = layers.map { FloatBuffer(count: $0.scratchCount(batch: batch)) }
            outputs[0].base.update(from: input, count: input.count)
            network.parameters.gradients.zero()
            rng = RandomSource(seed: 5)
            for i in 0..<top {
                layers[i].forward(outputs[i].base, outputs[i + 1].base, batch: batch, scratch: scratch[i].base, phase: .training, rng: &rng)
            }
            let separateLoss = loss.lossAndGradient(output: outputs[top].base, target: outputs[0].base, count: batch * sizes[top],
                                                    gradient: gradients[top].base)
            for i in (0..<top).reversed() {
                layers[i].backward(outputs[i].base, outputs[i + 1].base, gradients[i + 1].base, i == 0 ? nil : gradients[i].base,
                                   batch: batch, scratch: scratch[i].base)
            }
            XCTAssertEqual(sharedLoss, separateLoss)
            XCTAssertEqual(shared, network.parameters.gradientArray, "\(loss) through \(layers.map { type(of: $0) })")
            XCTAssertTrue(shared.contains { $0 != 0 })
        }
    }

    // MARK: Trainer controls

    func testEarlyStoppingRestoresTheBestWeights() throws {
        let x = structuredData(rows: 400, seed: 5)
        let validation = structuredData(rows: 100, seed: 6)
        let model = try Autoencoder(spec: validSpec(
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
        let model = try Autoencoder(spec: validSpec(#"{"input_shape":[24],"code_size":4,"training":{"epochs":10,"validation_split":0.25}}"#))
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
        let viewed = try Autoencoder(spec: validSpec(json))
        let viewedHistory = try viewed.fit(x, seed: 5)

        var rng = RandomSource(seed: 5, stream: .split)
        let order = rng.permutation(203), heldOut = Int(203 * 0.3)
        func gather(_ picked: ArraySlice<Int>) throws -> Tensor {
            try Tensor(shape: [picked.count, width], scalars: picked.flatMap { x.scalars[($0 * width)..<(($0 + 1) * width)] })
        }
        let copied = try Autoencoder(spec: validSpec(json.replacingOccurrences(of: #","validation_split":0.3"#, with: "")))
        let copiedHistory = try copied.fit(gather(order[..<(203 - heldOut)]), validation: gather(order[(203 - heldOut)...]), seed: 5)

        XCTAssertEqual(viewedHistory, copiedHistory)
        XCTAssertEqual(viewed.network.parameters.snapshot(), copied.network.parameters.snapshot())
        XCTAssertEqual(viewed.scaler, copied.scaler)
        XCTAssertEqual(viewed.threshold, copied.threshold)
    }

    func testDivergenceInALaterEpochKeepsTheLastGoodEpoch() throws {
        let x = structuredData(rows: 200, seed: 8)
        let unstable = #"{"input_shape":[24],"code_size":4,"scaling":"standard","activation":"relu","code_activation":"identity","training":{"epochs":8,"optimizer":"sgd","learning_rate":1000,"momentum":0}}"#
        let model = try Autoencoder(spec: validSpec(unstable))
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

        let fresh = try Autoencoder(spec: validSpec(json))
        XCTAssertThrowsError(try fresh.fit(overflowing)) { error in
            guard case AEError.diverged(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("epoch 1") && message.contains("state from before this fit"), message)
        }
        XCTAssertFalse(fresh.isFitted)

        let fitted = try Autoencoder(spec: validSpec(json))
        try fitted.fit(x)
        let before = try fitted.encode(x), history = fitted.history, threshold = fitted.threshold
        XCTAssertThrowsError(try fitted.fit(overflowing))
        XCTAssertTrue(try fitted.encode(x) == before, "weights are those of the earlier fit")
        XCTAssertEqual(fitted.history, history)
        XCTAssertEqual(fitted.threshold, threshold)
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
}
