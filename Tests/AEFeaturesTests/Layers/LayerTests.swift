import XCTest
import AEFKernels
@testable import AEFeatures
@testable import AEFReference

/// For every layer: (1) the Double reference's backward equals central differences of its
/// forward (tight), (2) the fast Float kernels equal the reference, and (3) the fast backward
/// equals central differences of the fast forward (looser, Float rounding).
final class LayerTests: XCTestCase {
    // MARK: Dense

    func testDenseReferenceMatchesFiniteDifferences() {
        var data = TestData(seed: 1)
        let (batch, inputs, outputs) = (3, 5, 4)
        let x = data.uniform(batch * inputs), w = data.uniform(outputs * inputs), b = data.uniform(outputs)
        let r = data.uniform(batch * outputs)
        let analytic = Reference.denseBackward(x: x, w: w, dy: r, batch: batch, inputs: inputs, outputs: outputs)
        let loss = { (x: [Double], w: [Double], b: [Double]) in
            dot(r, Reference.denseForward(x: x, w: w, b: b, batch: batch, inputs: inputs, outputs: outputs))
        }
        assertClose(analytic.dx, numericalGradient(at: x) { loss($0, w, b) }, absolute: 1e-7, "dx")
        assertClose(analytic.dw, numericalGradient(at: w) { loss(x, $0, b) }, absolute: 1e-7, "dw")
        assertClose(analytic.db, numericalGradient(at: b) { loss(x, w, $0) }, absolute: 1e-7, "db")
    }

    func testDenseFastMatchesReference() {
        for (batch, inputs, outputs) in [(1, 1, 1), (7, 13, 5), (33, 17, 29)] {
            var data = TestData(seed: UInt64(batch))
            let harness = LayerHarness(Dense(inputSize: inputs, outputSize: outputs, initialization: .glorot))
            let theta = harness.parameters
            let w = Array(theta[0..<(outputs * inputs)]), b = Array(theta[(outputs * inputs)...])
            let x = data.uniform(batch * inputs), dy = data.uniform(batch * outputs)
            let fast = harness.run(x, batch: batch, dy: dy)
            let y = Reference.denseForward(x: x, w: w, b: b, batch: batch, inputs: inputs, outputs: outputs)
            let g = Reference.denseBackward(x: x, w: w, dy: dy, batch: batch, inputs: inputs, outputs: outputs)
            assertClose(fast.y, y, absolute: 1e-5, "dense y \(batch)x\(inputs)->\(outputs)")
            assertClose(fast.dx, g.dx, absolute: 1e-5, "dense dx")
            assertClose(fast.dparameters, g.dw + g.db, absolute: 1e-5, "dense dW, db")
        }
    }

    func testDenseFastMatchesFiniteDifferences() {
        var data = TestData(seed: 2)
        LayerHarness(Dense(inputSize: 6, outputSize: 4, initialization: .he))
            .assertGradientsMatchFiniteDifferences(data.uniform(3 * 6), batch: 3)
    }

    /// Inference's dense kernel, every instruction set this CPU runs, own and tied weights: against
    /// the reference, with a folded scale, shift and each activation; and every row alone gives
    /// the bits it gets in the whole batch. The shapes reach each register block: full row blocks
    /// and the rows past them (one row across 12, 4, 2 and 1 panels), whole panel pairs and the
    /// panel left over, units past a panel's last full register. Every third row has two thirds
    /// of its inputs 0 (some -0) and the row after it all of them, so the rows alone, which skip
    /// zero inputs, are compared with the row blocks, which do not.
    func testDensePackedInferenceMatchesReference() {
        for kernels in Kernels.supported { for (batch, inputs, units) in [(1, 9, 250), (7, 13, 37), (53, 30, 5), (50, 3, 100)] {
            for tiedLayer in [false, true] {
                let name = "\(String(cString: kernels.name)) \(batch)x\(inputs)->\(units)\(tiedLayer ? " tied" : "")"
                var data = TestData(seed: UInt64(batch * 100 + units))
                let encoder = Dense(inputSize: units, outputSize: inputs, initialization: .glorot)
                let dense = Dense(inputSize: inputs, outputSize: units, initialization: .glorot,
                                  tiedTo: tiedLayer ? encoder : nil, kernels: kernels)
                let harness = tiedLayer ? LayerHarness(dense, using: [encoder]) : LayerHarness(dense)
                harness.parameters = data.uniform(harness.block.parameterCount)
                let theta = harness.parameters, weights = inputs * units
                var w = Array(theta[0..<weights]), bias = Array(theta[(tiedLayer ? weights + inputs : weights)...])
                if tiedLayer {  // the encoder's [inputs, units] transposed
                    w = (0..<weights).map { theta[($0 % inputs) * units + $0 / inputs] }
                }
                let x = data.uniform(batch * inputs).enumerated().map { i, value -> Double in
                    let (row, k) = i.quotientAndRemainder(dividingBy: inputs)
                    switch row % 3 {
                    case 0 where k % 3 != 0: return k % 2 == 0 ? 0 : -0.0
                    case 2: return 0
                    default: return value
                    }
                }
                let sums = Reference.denseForward(x: x, w: w, b: [Double](repeating: 0, count: units), batch: batch,
                                                  inputs: inputs, outputs: units)
                let y = harness.run(x, batch: batch, phase: .inference).y
                assertClose(y, (0..<sums.count).map { sums[$0] + bias[$0 % units] }, absolute: 1e-5, "\(name) y")
                for row in [0, batch / 2, batch - 1] {
                    let alone = harness.run(Array(x[row * inputs..<(row + 1) * inputs]), batch: 1, phase: .inference).y
                    XCTAssertEqual(alone, Array(y[row * units..<(row + 1) * units]), "\(name) row \(row) alone")
                }
                let scale = data.uniform(units).map(Float.init), shift = data.uniform(units).map(Float.init)
                let packed = FloatBuffer(count: dense.scratchCount(batch: batch))
                dense.packWeights(into: packed.base)
                for f in ActivationFunction.allCases {
                    var out = [Float](repeating: .nan, count: batch * units)
                    x.map(Float.init).withUnsafeBufferPointer { xp in
                        dense.infer(xp.baseAddress!, &out, rows: batch, packed: packed.base, scale: scale, shift: shift, activation: f)
                    }
                    let expected = (0..<sums.count).map { Reference.activation(f, sums[$0] * Double(scale[$0 % units]) + Double(shift[$0 % units])) }
                    assertClose(out.map(Double.init), expected, absolute: 1e-5, relative: 1e-5, "\(name) \(f)")
                }
            }
        } }
    }

    /// The bias broadcast, add and gradient of a large batch split over the threads (by rows,
    /// and by blocks of 16 columns for the sums): the same bits with 1, 2 and 3 threads as the
    /// plain loops; with too few columns to split, by blocks of rows.
    func testBiasLoopsSplitOverThreadsGiveTheSameBits() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let rows = 300, columns = 200
        var data = TestData(seed: 22)
        let b = data.uniform(columns).map(Float.init), dy = data.uniform(rows * columns).map(Float.init)
        let start = data.uniform(rows * columns).map(Float.init), gradientStart = data.uniform(columns).map(Float.init)
        // The gradient: each column's rows summed in order from zero (the column-sum kernel,
        // plain adds: the same bits on every instruction set), then added to the start value.
        var broadcast = [Float](repeating: 0, count: rows * columns), added = start, columnSums = [Float](repeating: 0, count: columns)
        for r in 0..<rows { for j in 0..<columns {
            broadcast[r * columns + j] = b[j]
            added[r * columns + j] += b[j]
            columnSums[j] += dy[r * columns + j]
        } }
        let gradient = zip(gradientStart, columnSums).map { $0 + $1 }
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            var y = [Float](repeating: 0, count: rows * columns), sum = start
            Bias.broadcast(b, into: &y, rows: rows, columns: columns)
            Bias.add(b, to: &sum, rows: rows, columns: columns)
            XCTAssertEqual(y, broadcast, "broadcast, \(threads) threads")
            XCTAssertEqual(sum, added, "add, \(threads) threads")
            for kernels in Kernels.supported {
                var g = gradientStart
                Bias.accumulateGradient(dy, rows: rows, columns: columns, into: &g, kernels: kernels)
                XCTAssertEqual(g, gradient, "gradient, \(String(cString: kernels.name)), \(threads) threads")
            }
        }
        // A convolution's few filters over many positions: the gradient sums fixed blocks of
        // rows apart, then adds the block sums in order.
        let positions = 5000, filters = 10
        let convolutionDy = data.uniform(positions * filters).map(Float.init)
        var sums: [[Float]] = []
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            var g = [Float](repeating: 0.5, count: filters)
            Bias.accumulateGradient(convolutionDy, rows: positions, columns: filters, into: &g)
            sums.append(g)
        }
        XCTAssertEqual(sums[1], sums[0], "few columns, 2 threads")
        XCTAssertEqual(sums[2], sums[0], "few columns, 3 threads")
        for j in 0..<filters {
            let exact = (0..<positions).map { Double(convolutionDy[$0 * filters + j]) }.reduce(0.5, +)
            XCTAssertEqual(Double(sums[0][j]), exact, accuracy: 1e-4, "few columns, column \(j)")
        }
    }

    func testDenseInitializationScale() {
        let harness = LayerHarness(Dense(inputSize: 400, outputSize: 100, initialization: .glorot))
        let weights = harness.parameters.prefix(40_000)
        let limit = (6.0 / 500).squareRoot()
        XCTAssertLessThanOrEqual(weights.map(abs).max()!, limit)
        // Uniform(−l, l) has variance l²/3.
        let variance = weights.map { $0 * $0 }.reduce(0, +) / Double(weights.count)
        XCTAssertEqual(variance, limit * limit / 3, accuracy: 0.05 * limit * limit / 3)
        XCTAssertEqual(harness.parameters.suffix(100), Array(repeating: 0, count: 100))
    }

    /// A tied decoder layer equals the reference Dense with its encoder's weights transposed; its
    /// weight gradient lands, transposed, in the encoder's gradient; it owns only its bias.
    func testTiedDenseMatchesReferenceWithTransposedWeights() {
        for (batch, inputs, outputs) in [(1, 1, 1), (7, 13, 5), (33, 17, 29)] {
            var data = TestData(seed: UInt64(batch) + 40)
            let encoder = Dense(inputSize: outputs, outputSize: inputs, initialization: .glorot)
            let tied = Dense(inputSize: inputs, outputSize: outputs, initialization: .glorot, tiedTo: encoder)
            XCTAssertEqual(tied.parameterCount, outputs)
            let harness = LayerHarness(tied, using: [encoder])
            let theta = harness.parameters, weights = inputs * outputs
            let encoderWeight = Array(theta[0..<weights])  // [inputs, outputs]
            let bias = Array(theta[(weights + inputs)...])
            var w = [Double](repeating: 0, count: weights)  // [outputs, inputs]
            for o in 0..<outputs { for i in 0..<inputs { w[o * inputs + i] = encoderWeight[i * outputs + o] } }
            let x = data.uniform(batch * inputs), dy = data.uniform(batch * outputs)
            let fast = harness.run(x, batch: batch, dy: dy)
            let y = Reference.denseForward(x: x, w: w, b: bias, batch: batch, inputs: inputs, outputs: outputs)
            let g = Reference.denseBackward(x: x, w: w, dy: dy, batch: batch, inputs: inputs, outputs: outputs)
            var encoderGradient = [Double](repeating: 0, count: weights)
            for o in 0..<outputs { for i in 0..<inputs { encoderGradient[i * outputs + o] = g.dw[o * inputs + i] } }
            assertClose(fast.y, y, absolute: 1e-5, "tied y \(batch)x\(inputs)->\(outputs)")
            assertClose(fast.dx, g.dx, absolute: 1e-5, "tied dx")
            assertClose(fast.dparameters, encoderGradient + [Double](repeating: 0, count: inputs) + g.db, absolute: 1e-5,
                        "tied: dW into the encoder's gradient, none into its bias, db its own")
        }
    }

    func testTiedDenseMatchesFiniteDifferences() {
        var data = TestData(seed: 5)
        let encoder = Dense(inputSize: 4, outputSize: 6, initialization: .he)
        LayerHarness(Dense(inputSize: 6, outputSize: 4, initialization: .he, tiedTo: encoder), using: [encoder])
            .assertGradientsMatchFiniteDifferences(data.uniform(3 * 6), batch: 3)
    }

    // MARK: BatchNorm

    func testBatchNormReferenceMatchesFiniteDifferences() {
        var data = TestData(seed: 3)
        let (rows, channels) = (6, 3)
        let x = data.uniform(rows * channels), gamma = data.uniform(channels), beta = data.uniform(channels)
        let r = data.uniform(rows * channels)
        let analytic = Reference.batchNormBackward(x: x, gamma: gamma, dy: r, rows: rows, channels: channels)
        let loss = { (x: [Double], g: [Double], b: [Double]) in
            dot(r, Reference.batchNormForward(x: x, gamma: g, beta: b, rows: rows, channels: channels))
        }
        assertClose(analytic.dx, numericalGradient(at: x) { loss($0, gamma, beta) }, absolute: 1e-6, "dx")
        assertClose(analytic.dgamma, numericalGradient(at: gamma) { loss(x, $0, beta) }, absolute: 1e-6, "dgamma")
        assertClose(analytic.dbeta, numericalGradient(at: beta) { loss(x, gamma, $0) }, absolute: 1e-6, "dbeta")
    }

    /// Every instruction set's kernels this CPU runs. positions > 1 is the channels-last
    /// feature-map case (rows = batch · positions); 30 to 133 channels take whole blocks of four
    /// registers and one to four partial ones for every width.
    func testBatchNormFastMatchesReference() {
        for kernels in Kernels.supported { for (batch, channels, positions) in [(2, 1, 1), (9, 5, 1), (4, 3, 7), (6, 70, 1), (3, 133, 2), (5, 60, 1), (3, 30, 2)] {
            var data = TestData(seed: UInt64(batch * 10 + channels))
            let harness = LayerHarness(BatchNorm(channels: channels, positions: positions, kernels: kernels))
            let theta = data.uniform(2 * channels)
            harness.parameters = theta
            let gamma = Array(theta[0..<channels]), beta = Array(theta[channels...])
            let rows = batch * positions
            let x = data.uniform(rows * channels, scale: 3), dy = data.uniform(rows * channels)
            let fast = harness.run(x, batch: batch, dy: dy)
            let y = Reference.batchNormForward(x: x, gamma: gamma, beta: beta, rows: rows, channels: channels)
            let g = Reference.batchNormBackward(x: x, gamma: gamma, dy: dy, rows: rows, channels: channels)
            let name = "\(String(cString: kernels.name)) \(batch)x\(channels)x\(positions)"
            assertClose(fast.y, y, absolute: 2e-5, "\(name) y")
            assertClose(fast.dx, g.dx, absolute: 5e-5, "\(name) dx")
            assertClose(fast.dparameters, g.dgamma + g.dbeta, absolute: 5e-5, "\(name) dgamma, dbeta")
        } }
    }

    /// A large batch splits its channels over the threads in blocks of 16 (a batch of 256 dense
    /// rows of 256 does): every thread count gives the same bits, and they match the reference.
    func testBatchNormSplitOverThreadsGivesTheSameBits() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let batch = 256, channels = 200
        var data = TestData(seed: 21)
        let x = data.uniform(batch * channels, scale: 3), dy = data.uniform(batch * channels), theta = data.uniform(2 * channels)
        var results: [(y: [Double], dx: [Double], dparameters: [Double])] = []
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            let harness = LayerHarness(BatchNorm(channels: channels))
            harness.parameters = theta
            results.append(harness.run(x, batch: batch, dy: dy))
        }
        for (threads, result) in zip([2, 3], results.dropFirst()) {
            XCTAssertEqual(result.y, results[0].y, "y, \(threads) threads")
            XCTAssertEqual(result.dx, results[0].dx, "dx, \(threads) threads")
            XCTAssertEqual(result.dparameters, results[0].dparameters, "dgamma, dbeta, \(threads) threads")
        }
        let gamma = Array(theta[0..<channels]), beta = Array(theta[channels...])
        let g = Reference.batchNormBackward(x: x, gamma: gamma, dy: dy, rows: batch, channels: channels)
        assertClose(results[1].y, Reference.batchNormForward(x: x, gamma: gamma, beta: beta, rows: batch, channels: channels),
                    absolute: 2e-5, "batchnorm y")
        assertClose(results[1].dx, g.dx, absolute: 5e-4, "batchnorm dx")
        assertClose(results[1].dparameters, g.dgamma + g.dbeta, absolute: 5e-3, "batchnorm dgamma, dbeta")
    }

    func testBatchNormFastMatchesFiniteDifferences() {
        var data = TestData(seed: 4)
        let harness = LayerHarness(BatchNorm(channels: 3, positions: 2))
        harness.parameters = data.uniform(6)
        harness.assertGradientsMatchFiniteDifferences(data.uniform(5 * 6), batch: 5)
    }

    func testBatchNormRunningStatisticsDriveInference() {
        var data = TestData(seed: 5)
        let channels = 4, batch = 64
        let harness = LayerHarness(BatchNorm(channels: channels))
        let x = data.uniform(batch * channels, scale: 2).map { $0 + 3 }
        for _ in 0..<200 { _ = harness.run(x, batch: batch) }  // running stats converge to the batch's
        let state = harness.block.state.array.map(Double.init)
        for j in 0..<channels {
            let column = (0..<batch).map { x[$0 * channels + j] }
            let mean = column.reduce(0, +) / Double(batch)
            let unbiased = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(batch - 1)
            XCTAssertEqual(state[j], mean, accuracy: 1e-4)
            XCTAssertEqual(state[channels + j], unbiased, accuracy: 1e-3)
        }
        // Inference normalises with the running statistics: (x − mean)/sqrt(var + eps)·γ + β, γ = 1, β = 0.
        let y = harness.run(x, batch: batch, phase: .inference).y
        for i in 0..<x.count {
            let j = i % channels
            XCTAssertEqual(y[i], (x[i] - state[j]) / (state[channels + j] + 1e-5).squareRoot(), accuracy: 1e-4)
        }
    }

    // MARK: Activations

    func testActivationReferenceMatchesFiniteDifferences() {
        var data = TestData(seed: 6)
        let x = data.awayFromZero(40)
        for f in ActivationFunction.allCases {
            let first = numericalGradient(at: x) { v in v.map { Reference.activation(f, $0) }.reduce(0, +) }
            assertClose(x.map { Reference.activationDerivative(f, $0) }, first, absolute: 1e-7, "\(f) f'")
            let second = numericalGradient(at: x) { v in v.map { Reference.activationDerivative(f, $0) }.reduce(0, +) }
            assertClose(x.map { Reference.activationSecondDerivative(f, $0) }, second, absolute: 1e-6, "\(f) f''")
        }
    }

    /// Every instruction set's build of the kernels this CPU runs; 150 values are blocks of four
    /// registers (the exp-based functions' interleaved loop), single registers and a tail for
    /// every width.
    func testActivationFastMatchesReference() {
        var data = TestData(seed: 7)
        let x = data.awayFromZero(150).map { $0 * 4 }, dy = data.uniform(150)
        for kernels in Kernels.supported { for f in ActivationFunction.allCases {
            let name = "\(f) \(String(cString: kernels.name))"
            let fast = LayerHarness(Activation(size: 6, function: f, kernels: kernels)).run(x, batch: 25, dy: dy)
            assertClose(fast.y, x.map { Reference.activation(f, $0) }, absolute: 1e-6, relative: 1e-6, "\(name) y")
            assertClose(fast.dx, zip(x, dy).map { Reference.activationDerivative(f, $0) * $1 }, absolute: 1e-6,
                        relative: 1e-5, "\(name) dx")
            // The output-based derivatives the contractive penalty uses.
            let y = fast.y.map(Float.init)
            assertClose(y.map { Double(f.derivative(output: $0)) }, x.map { Reference.activationDerivative(f, $0) },
                        absolute: 1e-6, relative: 1e-5, "\(f) f'(y)")
            assertClose(y.map { Double(f.secondDerivative(output: $0)) }, x.map { Reference.activationSecondDerivative(f, $0) },
                        absolute: 1e-6, relative: 1e-5, "\(name) f''(y)")
        } }
    }

    func testActivationFastMatchesFiniteDifferences() {
        var data = TestData(seed: 8)
        for f in ActivationFunction.allCases {
            LayerHarness(Activation(size: 5, function: f)).assertGradientsMatchFiniteDifferences(data.awayFromZero(15), batch: 3)
        }
    }

    /// Saturated, never past the range: the sigmoid's reciprocal may leave 1 − 6e-8 for 1.
    func testSaturatingActivationsStayFiniteForLargeInputs() {
        for kernels in Kernels.supported {
            let y = LayerHarness(Activation(size: 4, function: .sigmoid, kernels: kernels)).run([-1e4, -90, 90, 1e4], batch: 1).y
            XCTAssertTrue(y[0] >= 0 && y[0] < 1e-30 && y[1] >= 0 && y[1] < 1e-30, "\(y)")
            XCTAssertTrue(y[2...].allSatisfy { $0 <= 1 && $0 > 1 - 1e-7 }, "\(y)")
            let elu = LayerHarness(Activation(size: 2, function: .elu, kernels: kernels)).run([-1e4, -100], batch: 1).y
            XCTAssertEqual(elu, [-1, -1])
        }
    }

    // MARK: Dropout

    func testDropoutIsInvertedAndBackwardUsesTheSameMask() {
        let size = 1000, rate: Float = 0.3
        let harness = LayerHarness(Dropout(size: size, rate: rate))
        let small = LayerHarness(Dropout(size: 10, rate: rate))
        let x = [Double](repeating: 1, count: size), dy = (0..<size).map { Double($0) }
        let out = harness.run(x, batch: 1, dy: dy)
        let kept = out.y.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.7) < 1e-6 }, "kept values are scaled by 1/(1-rate)")
        XCTAssertEqual(Double(kept.count) / Double(size), 0.7, accuracy: 0.05)
        for i in 0..<size { XCTAssertEqual(out.dx[i], dy[i] * out.y[i], accuracy: 1e-4) }
        XCTAssertEqual(harness.run(x, batch: 1, phase: .inference).y, x, "inference is the identity")
        small.assertGradientsMatchFiniteDifferences(TestData(seed: 9).uniformCopy(20), batch: 2)
    }
}

extension TestData {
    func uniformCopy(_ n: Int) -> [Double] { var copy = self; return copy.uniform(n) }
}
