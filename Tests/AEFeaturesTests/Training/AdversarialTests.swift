import AEFDatasets
import XCTest
@testable import AEFeatures

final class AdversarialTests: XCTestCase {
    private let json = #"{"variant":"adversarial","input_shape":[12],"hidden_units":[16],"code_size":2,"adversarial":{"discriminator_units":[8]},"training":{"epochs":1,"batch_size":4}}"#

    private func adversary(_ model: Autoencoder, batch: Int) -> Adversary {
        Adversary(settings: model.spec.adversarialSettings!, network: model.network, training: model.spec.training,
                  batch: batch, seed: 9)
    }

    func testDiscriminatorLossGradients() throws {
        let model = try Autoencoder(json: json)
        let batch = 4, adversary = adversary(model, batch: batch)
        var data = TestData(seed: 81)
        let codes = data.uniform(batch * 2, scale: 2)
        let targets = FloatBuffer(count: batch)
        for i in 0..<batch { targets.base[i] = Float(i % 2) }
        let block = adversary.discriminator.parameters
        var codeGradient = [Float](repeating: 0, count: codes.count)
        func loss(_ c: [Double]) -> Double {
            block.gradients.zero()
            return adversary.discriminate(c.map(Float.init), batch: batch, target: targets, codeGradient: &codeGradient)
        }
        _ = loss(codes)
        let analyticCodes = codeGradient.map(Double.init), analyticWeights = block.gradientArray.map(Double.init)
        assertClose(analyticCodes, numericalGradient(at: codes, step: 3e-3) { loss($0) }, absolute: 1e-3, relative: 1e-2,
                    "discriminator loss wrt codes")
        let numericWeights = numericalGradient(at: block.valueArray.map(Double.init), step: 3e-3) { p in
            for (i, v) in p.enumerated() { block.values.base[i] = Float(v) }
            return loss(codes)
        }
        assertClose(analyticWeights, numericWeights, absolute: 1e-3, relative: 1e-2, "discriminator loss wrt its weights")
    }

    func testGeneratorLossGradientReachesOnlyTheEncoder() throws {
        let model = try Autoencoder(json: json)
        let batch = 4, network = model.network, adversary = adversary(model, batch: batch)
        let workspace = Workspace(network: network, capacity: batch, training: true)
        var data = TestData(seed: 82)
        let input = data.unit(batch * 12).map(Float.init)
        let block = network.parameters
        func loss() -> Double {
            workspace.activations[0].base.update(from: input, count: input.count)
            var rng = RandomSource(seed: 1)
            network.forward(workspace, batch: batch, layers: 0..<(network.codeLayerIndex + 1), phase: .training, rng: &rng)
            return adversary.generatorGradient(network, workspace, batch: batch)
        }
        _ = loss()
        let analytic = block.gradientArray.map(Double.init)
        let numeric = numericalGradient(at: block.valueArray.map(Double.init), step: 3e-3) { p in
            for (i, v) in p.enumerated() { block.values.base[i] = Float(v) }
            return loss()
        }
        assertClose(analytic, numeric, absolute: 1e-3, relative: 1e-2, "generator loss wrt the autoencoder's weights")
        let encoder = network.layers[0...network.codeLayerIndex].reduce(0) { $0 + $1.parameterCount }
        XCTAssertTrue(analytic[encoder...].allSatisfy { $0 == 0 }, "no gradient on the decoder")
        XCTAssertGreaterThan(analytic[..<encoder].map(abs).max()!, 0)
    }

    /// The generator phase steps the encoder at generator_learning_rate, or a tenth of the
    /// training rate when absent (plain SGD: the step is exactly rate x gradient).
    func testGeneratorStepsAtItsOwnRate() throws {
        for (field, rate) in [("", Float(0.005)), (#","generator_learning_rate":0.02"#, 0.02)] {
            let spec = #"{"variant":"adversarial","input_shape":[12],"hidden_units":[16],"code_size":2,"adversarial":{"discriminator_units":[8]\#(field)},"training":{"optimizer":"sgd","momentum":0,"learning_rate":0.05}}"#
            let model = try Autoencoder(json: spec)
            let batch = 4, network = model.network, adversary = adversary(model, batch: batch)
            let workspace = Workspace(network: network, capacity: batch, training: true)
            var data = TestData(seed: 83)
            workspace.activations[0].base.update(from: data.unit(batch * 12).map(Float.init), count: batch * 12)
            var rng = RandomSource(seed: 1)
            network.forward(workspace, batch: batch, layers: 0..<(network.codeLayerIndex + 1), phase: .training, rng: &rng)
            let before = network.parameters.valueArray
            adversary.trainGenerator(network, workspace, batch: batch)
            let gradient = network.parameters.gradientArray, after = network.parameters.valueArray
            let expected = zip(before, gradient).map { Double($0 - rate * $1) }
            assertClose(after.map(Double.init), expected, absolute: 1e-6, relative: 1e-5, "generator step at rate \(rate)")
            XCTAssertGreaterThan(gradient.map(abs).max()!, 0)
        }
    }

    func testCodesMoveTowardsThePrior() throws {
        let x = structuredData(rows: 2000, width: 12, latent: 2, seed: 12)
        let body = #""input_shape":[12],"hidden_units":[32],"code_size":2,"code_activation":"identity","training":{"epochs":30,"batch_size":64,"learning_rate":0.002}"#
        let plain = try Autoencoder(json: "{\(body)}")
        // The generator at the reconstruction's rate: this checks that the adversary moves the
        // codes in 30 epochs; the default (a tenth) trades that speed for reconstruction.
        let adversarial = try Autoencoder(json: #"{"variant":"adversarial","adversarial":{"generator_learning_rate":0.002},\#(body)}"#)
        try plain.fit(x)
        // Before: the untrained encoder's codes. After: the trained adversarial encoder's.
        let before = CodeStatistics.distanceFromStandardNormal(try adversarial.encodeUnfitted(x))
        try adversarial.fit(x)
        let after = CodeStatistics.distanceFromStandardNormal(try adversarial.encode(x))
        let withoutAdversary = CodeStatistics.distanceFromStandardNormal(try plain.encode(x))
        print("code distance from N(0, I): untrained \(before), plain AE \(withoutAdversary), AAE \(after)")
        XCTAssertLessThan(after, 0.5 * withoutAdversary, "AAE \(after) vs plain \(withoutAdversary) (untrained \(before))")
        XCTAssertLessThan(after, 0.6)
        let recon = Double(try adversarial.anomalyScores(x).reduce(0, +)) / 2000
        XCTAssertLessThan(recon, 0.5 * meanPredictorError(x))
        let samples = try adversarial.sample(count: 100, seed: 1)
        XCTAssertTrue(samples.scalars.allSatisfy(\.isFinite))
    }

    func testAdversarialSpec() throws {
        let spec = try ModelSpec(json: #"{"variant":"adversarial","input_shape":[8],"code_size":2,"adversarial":{"prior":"uniform","prior_scale":2}}"#)
        XCTAssertEqual(spec.codeActivation, .identity)
        XCTAssertEqual(spec.adversarialSettings?.prior, .uniform)
        XCTAssertEqual(try ModelSpec(json: spec.json), spec)
        for (json, fragment) in [
            (#"{"variant":"adversarial","input_shape":[8],"code_size":2,"adversarial":{"prior_scale":0}}"#, "adversarial.prior_scale"),
            (#"{"variant":"adversarial","input_shape":[8],"code_size":2,"adversarial":{"prior":"laplace"}}"#, "'adversarial.prior' is 'laplace'"),
            (#"{"variant":"adversarial","input_shape":[8],"code_size":2,"variational":{}}"#, "adversarial"),
            (#"{"variant":"adversarial","input_shape":[8],"code_size":2,"adversarial":{"discriminator_units":[0]}}"#, "discriminator_units"),
            (#"{"variant":"adversarial","input_shape":[8],"code_size":2,"adversarial":{"generator_learning_rate":0}}"#, "adversarial.generator_learning_rate"),
            (#"{"variant":"adversarial","input_shape":[8],"code_size":2,"adversarial":{"generator_learning_rate":"fast"}}"#, "adversarial.generator_learning_rate"),
        ] {
            XCTAssertThrowsError(try ModelSpec(json: json)) { error in
                guard case AEError.invalidSpec(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'")
            }
        }
    }
}

extension Autoencoder {
    /// The codes of the freshly initialized network, for "before training" statistics.
    func encodeUnfitted(_ x: Tensor) throws -> Tensor {
        var codes = [Float](repeating: 0, count: x.sampleCount * codeSize)
        let size = codeSize
        x.scalars.withUnsafeBufferPointer { data in
            network.infer(Rows(data.baseAddress!, count: x.sampleCount, width: inputSize), layers: 0..<(network.codeLayerIndex + 1),
                          scaler: nil) { start, n, ws in
                for i in 0..<(n * size) { codes[start * size + i] = ws.activations[self.network.codeLayerIndex + 1].base[i] }
            }
        }
        return try Tensor(shape: [x.sampleCount, size], scalars: codes)
    }
}
