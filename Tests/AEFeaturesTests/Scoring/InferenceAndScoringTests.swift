import XCTest
@testable import AEFeatures

/// Inference and anomaly scores: fused inference, raw units, thresholds and their calibration,
/// the standardized and combined scores, concurrent calls and input errors.
final class InferenceAndScoringTests: XCTestCase {
    /// Inference fuses Dense → BatchNorm → activation groups (FusedDense) and direct Conv2D →
    /// activation groups (FusedConvolution), and computes a variational head's mu alone when the
    /// caller does not keep [mu | logvar] (VariationalMean); the code and the reconstruction must
    /// match running the layers one by one (a convolution's group and the variational code bit
    /// for bit: nothing is folded there).
    func testFusedInferenceMatchesLayerByLayer() throws {
        let x = structuredData(rows: 300, seed: 10)
        let specs = [
            #"{"input_shape":[24],"hidden_units":[16,8],"code_size":4,"batch_norm":true,"activation":"elu","output_activation":"sigmoid"}"#,
            #"{"input_shape":[24],"hidden_units":[12],"code_size":5,"batch_norm":true,"code_activation":"identity","activation":"tanh"}"#,
            #"{"variant":"variational","input_shape":[24],"hidden_units":[12],"code_size":3,"activation":"relu","loss":"bce"}"#,
            #"{"variant":"conv2d","input_shape":[6,4,1],"code_size":4,"activation":"elu","conv_blocks":[{"filters":4,"kernel":3,"pool":2}]}"#,
        ]
        for json in specs {
            let model = try Autoencoder(spec: validSpec(json.dropLast() + #","scaling":"none","training":{"epochs":2}}"#))
            try model.fit(x)
            let network = model.network, rows = x.sampleCount, last = network.layers.count
            func run(fused: Bool) -> Workspace {
                let workspace = Workspace(network: network, capacity: rows, training: false)
                x.scalars.withUnsafeBufferPointer { workspace.activations[0].base.update(from: $0.baseAddress!, count: $0.count) }
                var rng = RandomSource(seed: 0)
                if fused { network.forward(workspace, batch: rows, layers: 0..<last, phase: .inference, rng: &rng, keepsHead: false) }
                for i in 0..<last where !fused {
                    network.layers[i].forward(workspace.activations[i].base, workspace.activations[i + 1].base, batch: rows,
                                              scratch: workspace.scratch[i].base, phase: .inference, rng: &rng)
                }
                return workspace
            }
            let fused = run(fused: true), separate = run(fused: false)
            let convolutional = json.contains("conv2d"), variational = json.contains("variational")
            XCTAssertTrue(network.layers.indices.contains {
                convolutional ? FusedConvolution(network.layers, at: $0, end: last) != nil : FusedDense(network.layers, at: $0, end: last) != nil
            }, json)
            XCTAssertEqual(network.layers.indices.contains { VariationalMean(network.layers, at: $0, end: last) != nil }, variational, json)
            for index in [network.codeLayerIndex + 1, last] {
                let a = fused.activations[index].array.map(Double.init), b = separate.activations[index].array.map(Double.init)
                if convolutional || (variational && index == network.codeLayerIndex + 1) {
                    XCTAssertTrue(a == b, "activations[\(index)] of \(json): not bit for bit")
                }
                assertClose(a, b, absolute: 1e-6, relative: 1e-5, "activations[\(index)] of \(json)")
            }
        }
    }

    /// Inference keeps the packed weights of LSTMs, direct convolutions and dense layers (with the
    /// BatchNorm folded into a dense layer's scale and shift) in the workspaces it reuses across calls. They must follow the weights: after a fit or a partial fit every
    /// answer equals that of a fresh copy of the model (loaded from its bytes, nothing kept), and
    /// a call that reuses the packs equals the call that made them, bit for bit.
    func testKeptInferencePacksFollowTheWeights() throws {
        let x = structuredData(rows: 200, seed: 12)
        // More rows than the fit scores: their workspace is not the one the fit's own scoring
        // takes (and repacks), so only the weights generation can tell its packs are stale.
        let more = structuredData(rows: 300, seed: 13)
        let specs = [
            #"{"variant":"seq2seq","input_shape":[6,4],"hidden_units":[8],"code_size":5}"#,
            #"{"variant":"conv2d","input_shape":[6,4,1],"code_size":4,"conv_blocks":[{"filters":4,"kernel":3,"pool":2}]}"#,
            #"{"input_shape":[24],"hidden_units":[16],"code_size":4,"batch_norm":true,"activation":"elu"}"#,
        ]
        for json in specs {
            let model = try Autoencoder(json: json.dropLast() + #","training":{"epochs":2,"batch_size":32}}"#)
            func fresh() throws -> Autoencoder { try Autoencoder.deserialize(model.serialized()) }
            try model.fit(x)
            let codes = try model.encode(more), reconstruction = try model.reconstruct(more)
            XCTAssertTrue(try model.encode(more).scalars == codes.scalars, "\(json): codes from kept packs")
            XCTAssertTrue(try model.reconstruct(more).scalars == reconstruction.scalars, "\(json): reconstruction from kept packs")
            XCTAssertTrue(try model.decode(codes).scalars == fresh().decode(codes).scalars, "\(json): decoder alone")
            _ = try x.scalars.withUnsafeBufferPointer { try model.partialFit($0, rows: x.sampleCount, seed: 3) }
            let codesAfter = try model.encode(more)
            XCTAssertFalse(codesAfter.scalars == codes.scalars, "\(json): the partial fit changed nothing")
            XCTAssertTrue(codesAfter.scalars == (try fresh().encode(more).scalars), "\(json): codes after a partial fit")
            XCTAssertTrue(try model.reconstruct(more).scalars == fresh().reconstruct(more).scalars, "\(json): reconstruction after a partial fit")
            try model.fit(x, seed: 9)
            XCTAssertTrue(try model.encode(more).scalars == fresh().encode(more).scalars, "\(json): codes after a second fit")
        }
    }

    // MARK: Scaling, outputs, threshold

    func testRawUnitsInAndOutAndThreshold() throws {
        var x = structuredData(rows: 1000, seed: 9)
        x.scalars = x.scalars.map { 1000 + 50 * $0 }
        for scaling in ["minmax", "standard"] {
            let model = try Autoencoder(spec: validSpec(
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
        let more = try rows(1000..<1098)  // 98 rows: one short of what a 1% bound needs
        XCTAssertThrowsError(try model.calibrateThreshold(normal: more, falsePositiveRate: 0.01)) {
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

    /// The neighbour term picks the truly nearest training codes even where codes lie far from 0
    /// relative to their spacing (here |c|² ≈ 3e6, neighbours ≈ 1e-3 apart): the GEMM form
    /// |c|² − 2c·b + |b|² rounds by ~0.2 there, which must not decide the choice (it also rounds
    /// differently in each batch shape, which moved combined scores past the batch bound).
    func testCodeNeighboursAreTheExactNearestFarFromTheOrigin() {
        let (rows, size, freshRows) = (300, 3, 40)
        var data = TestData(seed: 31)
        let spread = data.uniform((rows + freshRows) * size, scale: 0.05).map { Float(1000 + $0) }
        let codes = Array(spread[..<(rows * size)]), fresh = Array(spread[(rows * size)...])
        var trainingScores = [Float](repeating: 0, count: rows)
        let distances = trainingScores.withUnsafeMutableBufferPointer {
            CodeDistances(codes: codes, rows: rows, size: size, scores: $0, seed: 1)
        }
        XCTAssertEqual(distances.bankRows, rows)
        func expected(_ code: ArraySlice<Float>) -> Double {
            let c = code.map(Double.init)
            let white = (0..<size).map { j in (0..<size).reduce(0.0) { $0 + (c[$1] - Double(distances.mean[$1])) * Double(distances.whitening[$1 * size + j]) } }
            let mahalanobis = white.reduce(0) { $0 + $1 * $1 }
            let sorted = (0..<rows).map { r in (0..<size).reduce(0.0) { $0 + (c[$1] - Double(codes[r * size + $1])) * (c[$1] - Double(codes[r * size + $1])) } }.sorted()
            let neighbours = sorted[1...5].reduce(0, +) / 5
            return mahalanobis * Double(distances.termWeights[1]) + neighbours * Double(distances.termWeights[2])
        }
        for r in 0..<rows {
            let want = expected(codes[(r * size)..<((r + 1) * size)])
            XCTAssertEqual(Double(trainingScores[r]), want, accuracy: 1e-5 * want, "training row \(r)")
        }
        var freshScores = [Float](repeating: 0, count: freshRows)
        fresh.withUnsafeBufferPointer { distances.apply(codes: $0.baseAddress!, rows: freshRows, scores: &freshScores) }
        for r in 0..<freshRows {
            let want = expected(fresh[(r * size)..<((r + 1) * size)])
            XCTAssertEqual(Double(freshScores[r]), want, accuracy: 1e-5 * want, "new row \(r)")
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

    func testConcurrentInferenceMatchesSerial() throws {
        let x = structuredData(rows: 3000, seed: 10)
        let model = try Autoencoder(spec: validSpec(#"{"input_shape":[24],"hidden_units":[16],"code_size":4,"batch_norm":true,"training":{"epochs":2}}"#))
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
        let model = try Autoencoder(spec: validSpec(#"{"input_shape":[3],"code_size":2,"training":{"epochs":1}}"#))
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
        let split = try Autoencoder(spec: validSpec(#"{"input_shape":[3],"code_size":2,"training":{"validation_split":0.3}}"#))
        expect(try split.fit(good), "validation_split")
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
