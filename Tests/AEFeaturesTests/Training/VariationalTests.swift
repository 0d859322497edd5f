import XCTest
@testable import AEFeatures
@testable import AEFReference

final class VariationalTests: XCTestCase {
    func testReparameterisationWithFixedNoise() {
        let (batch, size) = (3, 4)
        var data = TestData(seed: 71)
        let head = data.uniform(batch * 2 * size)
        let harness = LayerHarness(Reparameterize(size: size))
        // The harness draws from RandomSource(seed: 3): regenerate the same eps.
        var rng = RandomSource(seed: 3)
        let eps = (0..<(batch * size)).map { _ in Double(rng.normal()) }
        var expected: [Double] = []
        for r in 0..<batch { for j in 0..<size {
            expected.append(head[r * 2 * size + j] + exp(0.5 * head[r * 2 * size + size + j]) * eps[r * size + j])
        } }
        assertClose(harness.run(head, batch: batch).y, expected, absolute: 1e-6, "z = mu + exp(logvar/2) eps")
        harness.assertGradientsMatchFiniteDifferences(head, batch: batch)
        let mu = (0..<batch).flatMap { r in head[(r * 2 * size)..<(r * 2 * size + size)] }
        assertClose(harness.run(head, batch: batch, phase: .inference).y, mu, absolute: 1e-7, "inference outputs mu")
    }

    /// fillNormal (a variational batch's draws, their transforms over the threads) gives the
    /// values of as many normal() calls, in order, and leaves the stream and the cached spare as
    /// they would: odd and even counts, with and without a spare waiting, 1 to 3 threads.
    func testFilledNormalsAreThoseOfSuccessiveDraws() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            for (before, count) in [(0, 0), (0, 1), (1, 1), (0, 8192), (1, 8192), (0, 4097), (1, 4097)] {
                var one = RandomSource(seed: 5), many = RandomSource(seed: 5)
                for _ in 0..<before { _ = one.normal(); _ = many.normal() }
                let expected = (0..<count).map { _ in one.normal() }
                var filled = [Float](repeating: .nan, count: count)
                many.fillNormal(&filled, count: count)
                XCTAssertEqual(filled, expected, "\(count) after \(before), \(threads) threads")
                XCTAssertEqual((0..<3).map { _ in many.normal() }, (0..<3).map { _ in one.normal() }, "the stream after")
            }
        }
    }

    /// A batch large enough to split over the threads: the reparameterization and the KL term
    /// give the same bits with 1, 2 and 3 threads.
    func testReparameterizationAndKLSplitOverThreadsGiveTheSameBits() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let (batch, size) = (256, 32)
        var data = TestData(seed: 73)
        let head = data.uniform(batch * 2 * size, scale: 2), dz = data.uniform(batch * size)
        var results: [[Double]] = []
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            let run = LayerHarness(Reparameterize(size: size)).run(head, batch: batch, dy: dz)
            let term = KLDivergence(weight: 0.7, size: size, inputSize: 784)
            var gradient = [Float](repeating: 0.25, count: head.count)
            let penalty = term.apply(head: head.map(Float.init), batch: batch, factor: 0.5, gradient: &gradient)
            results.append(run.y + run.dx + gradient.map(Double.init) + [penalty])
        }
        XCTAssertEqual(results[1], results[0], "2 threads")
        XCTAssertEqual(results[2], results[0], "3 threads")
    }

    func testKLDivergence() {
        let (batch, size, inputs) = (5, 3, 7)
        var data = TestData(seed: 72)
        let head = data.uniform(batch * 2 * size, scale: 2)
        let ref = Reference.kl(head, batch: batch, size: size, weight: 0.7, inputSize: inputs)
        assertClose(ref.gradient, numericalGradient(at: head) { Reference.kl($0, batch: batch, size: size, weight: 0.7, inputSize: inputs).penalty },
                    absolute: 1e-8, "KL reference gradient")
        var gradient = [Float](repeating: 0, count: head.count)
        let value = KLDivergence(weight: 0.7, size: size, inputSize: inputs)
            .apply(head: head.map(Float.init), batch: batch, factor: 1, gradient: &gradient)
        XCTAssertEqual(value, ref.penalty, accuracy: 1e-5 * ref.penalty)
        assertClose(gradient.map(Double.init), ref.gradient, absolute: 1e-7, relative: 1e-5, "KL fast gradient")
        // KL of the prior itself is 0.
        XCTAssertEqual(KLDivergence(weight: 1, size: 2, inputSize: 1).sampleKL([0, 0, 0, 0]), 0)
    }

    func testVariationalObjectiveGradient() throws {
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"variational","input_shape":[6],"hidden_units":[5],"code_size":2,"variational":{"beta":0.8}}"#, batch: 4)
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"conv1d","input_shape":[6,2],"code_size":2,"loss":"bce","variational":{},"conv_blocks":[{"filters":3,"kernel":3,"pool":2}]}"#, batch: 3)
    }

    func testVAELearnsARegularLatentSpaceAndSamples() throws {
        let x = structuredData(rows: 2000, width: 24, latent: 2, seed: 11)
        let model = try Autoencoder(json: #"{"variant":"variational","input_shape":[24],"hidden_units":[32],"code_size":2,"variational":{"warmup_epochs":5},"training":{"epochs":40,"batch_size":64,"learning_rate":0.003}}"#)
        let history = try model.fit(x)
        XCTAssertLessThan(history.loss.last!, history.loss[5])
        let recon = Double(try model.featureErrors(x).scalars.reduce(0, +)) / Double(x.scalars.count)
        XCTAssertLessThan(recon, 0.5 * meanPredictorError(x), "reconstruction")
        // Aggregate posterior close to N(0, I): mean of mu near 0, total variance per dimension
        // (variance of mu plus mean of exp(logvar)) near 1.
        let (mu, logvar) = try model.latentDistribution(x)
        XCTAssertTrue(try model.encode(x) == mu, "features are mu")
        for j in 0..<2 {
            let m = (0..<2000).map { Double(mu.scalars[$0 * 2 + j]) }, v = (0..<2000).map { exp(Double(logvar.scalars[$0 * 2 + j])) }
            let mean = m.reduce(0, +) / 2000
            let total = m.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2000 + v.reduce(0, +) / 2000
            XCTAssertEqual(mean, 0, accuracy: 0.25, "dimension \(j) mean")
            XCTAssertEqual(total, 1, accuracy: 0.35, "dimension \(j) variance")
        }
        // Scores are the negative ELBO per value: reconstruction plus KL / 24.
        let scores = try model.anomalyScores(x), errors = try model.featureErrors(x)
        for r in [0, 999] {
            let reconstruction = errors.scalars[(r * 24)..<((r + 1) * 24)].reduce(0, +) / 24
            var kl: Float = 0
            for j in 0..<2 {
                let m = mu.scalars[r * 2 + j], lv = logvar.scalars[r * 2 + j]
                kl += -0.5 * (1 + lv - m * m - exp(lv))
            }
            XCTAssertEqual(scores[r], reconstruction + kl / 24, accuracy: 1e-5)
        }
        let samples = try model.sample(count: 500, seed: 3)
        XCTAssertEqual(samples.shape, [500, 24])
        let (lo, hi) = (x.scalars.min()!, x.scalars.max()!)
        XCTAssertTrue(samples.scalars.allSatisfy { $0 >= lo - 1e-3 && $0 <= hi + 1e-3 }, "sigmoid outputs map back into the data's range")
        // The same seed draws the same latent points (GEMM blocking may differ with the row count).
        assertClose(try model.sample(count: 5, seed: 3).scalars.map(Double.init), samples.scalars.prefix(5 * 24).map(Double.init),
                    absolute: 1e-4, "same seed, same samples")
        let copy = try Autoencoder.deserialize(try model.serialized())
        XCTAssertEqual(try copy.anomalyScores(x), scores)
        XCTAssertThrowsError(try Autoencoder(json: #"{"input_shape":[4],"code_size":2}"#).sample(count: 2, seed: 1))
    }

    func testMonteCarloDrawsAverageTheReconstruction() throws {
        let x = structuredData(rows: 300, width: 12, latent: 2, seed: 13)
        let base = #""input_shape":[12],"hidden_units":[16],"code_size":2,"training":{"epochs":3,"batch_size":30}"#
        let one = try Autoencoder(json: #"{"variant":"variational",\#(base)}"#)
        let four = try Autoencoder(json: #"{"variant":"variational","variational":{"samples":4},\#(base)}"#)
        let h1 = try one.fit(x), h4 = try four.fit(x)
        XCTAssertEqual(h4.loss.count, 3)
        XCTAssertNotEqual(h1.loss, h4.loss, "four draws per input train differently")
        XCTAssertTrue(h4.loss.allSatisfy(\.isFinite))
        XCTAssertThrowsError(try ModelSpec(json: #"{"variant":"variational","variational":{"samples":0},\#(base)}"#))
    }

    func testVariationalSpec() throws {
        let spec = try ModelSpec(json: #"{"variant":"variational","input_shape":[8],"code_size":2}"#)
        XCTAssertEqual(spec.variationalSettings, VariationalSettings())
        XCTAssertEqual(try ModelSpec(json: spec.json), spec)
        for (json, fragment) in [
            (#"{"variant":"variational","input_shape":[8],"code_size":2,"variational":{"beta":-1}}"#, "variational.beta"),
            (#"{"variant":"variational","input_shape":[8],"code_size":2,"variational":{"warmup":3}}"#, "unknown field 'variational.warmup'"),
            (#"{"variant":"variational","input_shape":[8],"code_size":2,"contractive_weight":0.1}"#, "variational"),
            (#"{"variant":"conv1d","input_shape":[8],"variational":{},"conv_blocks":[{"filters":2,"kernel":3}]}"#, "code_size"),
        ] {
            XCTAssertThrowsError(try ModelSpec(json: json)) { error in
                guard case AEError.invalidSpec(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'")
            }
        }
    }
}
