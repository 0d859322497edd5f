import XCTest
import AEFKernels
@testable import AEFeatures
@testable import AEFReference

/// The last step's hidden states of [batch, steps, units] sequences.
func lastSteps(_ h: [Double], batch: Int, steps: Int, units: Int) -> [Double] {
    var out: [Double] = []
    for n in 0..<batch {
        let start = (n * steps + steps - 1) * units
        out += h[start..<(start + units)]
    }
    return out
}

final class LSTMTests: XCTestCase {
    func testFastLSTMMatchesReferenceAndItsGradients() {
        let (batch, steps, features, units) = (3, 5, 4, 3)
        for peephole in [false, true] { for returnSequences in [true, false] {
            let harness = LayerHarness(LSTM(steps: steps, features: features, units: units, returnSequences: returnSequences,
                                            peephole: peephole))
            XCTAssertEqual(harness.block.parameterCount, 4 * units * (features + units + 1) + (peephole ? 5 : 2) * units)
            var data = TestData(seed: 91)
            harness.parameters = data.uniform(harness.block.parameterCount)
            let x = data.uniform(batch * steps * features)
            // θ ends with h0, c0 (and P), so their gradients are checked too.
            assertMatchesReference(harness, x: x, batch: batch, data: &data,
                                   "LSTM (sequences \(returnSequences), peephole \(peephole))") { x, p in
                let h = Reference.lstm(x: x, parameters: p, batch: batch, steps: steps, features: features, units: units, peephole: peephole)
                return returnSequences ? h : lastSteps(h, batch: batch, steps: steps, units: units)
            }
            harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
        } }
    }

    /// Every instruction set's step kernels this CPU runs, against the reference: 21 units leave
    /// a partial register for every width (all gradients checked), 37 exceed a packed block of 16
    /// (outputs and dx); a batch of 7 takes full register blocks of samples and a remainder in
    /// every build's forward (2 or 4 samples a block) and backward (4 or 6).
    func testEveryKernelBuildMatchesReference() {
        let (batch, steps, features) = (7, 2, 4)
        XCTAssertFalse(Kernels.supported.isEmpty)
        for kernels in Kernels.supported { for units in [21, 37] { for peephole in [false, true] {
            let harness = LayerHarness(LSTM(steps: steps, features: features, units: units, returnSequences: true,
                                            peephole: peephole, kernels: kernels))
            var data = TestData(seed: 93)
            harness.parameters = data.uniform(harness.block.parameterCount)
            let x = data.uniform(batch * steps * features), theta = harness.parameters
            let name = "LSTM \(String(cString: kernels.name)), \(units) units, peephole \(peephole)"
            func reference(_ x: [Double], _ p: [Double]) -> [Double] {
                Reference.lstm(x: x, parameters: p, batch: batch, steps: steps, features: features, units: units, peephole: peephole)
            }
            if units == 21 {
                assertMatchesReference(harness, x: x, batch: batch, data: &data, name, outputs: reference)
            } else {
                let dy = data.uniform(batch * steps * units), fast = harness.run(x, batch: batch, dy: dy)
                assertClose(fast.y, reference(x, theta), absolute: 1e-5, "\(name) output")
                assertClose(fast.dx, numericalGradient(at: x) { dot(dy, reference($0, theta)) }, absolute: 1e-5, relative: 1e-4,
                            "\(name) dx")
            }
        } } }
    }

    /// The backward step kernel's dh_{t−1} = dGates · R over 1-13 rows, every build: whole row
    /// blocks (4 or 6) and every remainder after them, with 37 units (two-register blocks, one
    /// register, scalar units past them). Each row gets the bits it gets alone, and the products
    /// equal a Double sum of the kernel's own gate gradients times R.
    func testRecurrentGradientOfEveryRowBlockMatchesRowByRow() {
        let units = 37, g4 = 4 * units
        for kernels in Kernels.supported { for rows in 1...13 {
            var data = TestData(seed: UInt64(rows))
            func values(_ count: Int, _ low: Double, _ high: Double) -> [Float] {
                data.uniform(count).map { Float(low + ($0 + 1) / 2 * (high - low)) }
            }
            let r = values(g4 * units, -0.5, 0.5), gates = values(rows * g4, 0.05, 0.95), cells = values(rows * units, -1, 1)
            let previous = values(rows * units, -1, 1), dHidden = values(rows * units, -1, 1)
            let dhStart = values(rows * units, -1, 1), dcStart = values(rows * units, -1, 1)
            func run(_ first: Int, _ count: Int) -> (dh: [Float], dGates: [Float]) {
                var dh = Array(dhStart[(first * units)..<((first + count) * units)]), dc = Array(dcStart[(first * units)..<((first + count) * units)])
                var dGates = [Float](repeating: 0, count: count * g4)
                let a = Array(gates[(first * g4)..<((first + count) * g4)]), c = Array(cells[(first * units)..<((first + count) * units)])
                let p = Array(previous[(first * units)..<((first + count) * units)]), d = Array(dHidden[(first * units)..<((first + count) * units)])
                kernels.lstm_step_backward(count, units, r, nil, a, c, p, d, &dh, &dc, &dGates)
                return (dh, dGates)
            }
            let name = "\(String(cString: kernels.name)), \(rows) rows"
            let all = run(0, rows)
            for q in 0..<rows {
                XCTAssertEqual(Array(all.dh[(q * units)..<((q + 1) * units)]), run(q, 1).dh, "\(name): row \(q) alone")
                for j in 0..<units {
                    var sum = 0.0, size = 0.0
                    for m in 0..<g4 {
                        let term = Double(all.dGates[q * g4 + m]) * Double(r[m * units + j])
                        sum += term
                        size += abs(term)
                    }
                    XCTAssertEqual(Double(all.dh[q * units + j]), sum, accuracy: 1e-5 * Swift.max(1, size), "\(name): dh[\(q), \(j)]")
                }
            }
        } }
    }

    /// The forward step kernel over 1-9 rows, every build, 37 and 64 units, both orders of the
    /// h·Rᵀ sums, with and without peepholes: starting from a bias (one for all rows, or one per
    /// row) with no gates kept gives the bits that starting from gates holding it gives; each row
    /// gets the bits it gets alone; and the states match a Double step within 1e-5, also with no
    /// h_prev and the h·Rᵀ terms in the start instead (inference's first step).
    func testStepKernelStartsFromABiasAsFromGates() {
        for kernels in Kernels.supported { for units in [37, 64] { for rows in 1...9 { for descending in [0, 1] { for peephole in [false, true] {
            let g4 = 4 * units
            var data = TestData(seed: UInt64(100 * units + 10 * rows + descending))
            func values(_ count: Int) -> [Float] { data.uniform(count).map(Float.init) }
            let r = values(g4 * units), hPrevious = values(rows * units), cPrevious = values(rows * units)
            let bias = values(g4), rowBiases = values(rows * g4), p = peephole ? values(3 * units) : []
            func buffer(_ values: [Float]) -> FloatBuffer {
                let b = FloatBuffer(count: values.count)
                _ = b.buffer.update(fromContentsOf: values)
                return b
            }
            let packedR = FloatBuffer(count: aefk_lstm_packed_count(units, units)), peepholes = buffer(p), natural = buffer(r)
            withExtendedLifetime(natural) { aefk_lstm_pack(natural.base, units, units, packedR.base) }
            // (h, c) of rows first..<first+count, from `start` (stride 0 or 4H) or from gates holding it.
            func step(_ first: Int, _ count: Int, start: [Float], stride: Int, fromGates: Bool,
                      withoutHidden: Bool = false) -> (h: [Float], c: [Float]) {
                let startRows = buffer(stride == 0 ? start : Array(start[(first * g4)..<((first + count) * g4)]))
                let gates = buffer((0..<(count * g4)).map { startRows.base[stride == 0 ? $0 % g4 : $0] })
                let hp = buffer(Array(hPrevious[(first * units)..<((first + count) * units)]))
                let cp = buffer(Array(cPrevious[(first * units)..<((first + count) * units)]))
                let h = FloatBuffer(count: count * units), c = FloatBuffer(count: count * units)
                var s = aefk_lstm_step(rows: count, units: units, x: nil, x_stride: 0, features: 0, packed_input: nil,
                                       h_prev: withoutHidden ? nil : hp.base, packed_recurrent: packedR.base, peephole: peephole ? peepholes.base : nil,
                                       c_prev: cp.base, gates: fromGates ? gates.base : nil, cells: c.base, hidden: h.base,
                                       input_products: nil, input_products_stride: 0,
                                       bias: fromGates ? nil : startRows.base, bias_stride: stride, descending: Int32(descending))
                withExtendedLifetime((startRows, gates, hp, cp, packedR, peepholes)) { kernels.lstm_step_forward(&s) }
                return (h.array, c.array)
            }
            let name = "\(String(cString: kernels.name)), \(units) units, \(rows) rows, descending \(descending), peephole \(peephole)"
            for (start, stride) in [(bias, 0), (rowBiases, g4)] {
                let fromBias = step(0, rows, start: start, stride: stride, fromGates: false)
                let fromGates = step(0, rows, start: start, stride: stride, fromGates: true)
                XCTAssertEqual(fromBias.h, fromGates.h, "\(name), bias stride \(stride): h")
                XCTAssertEqual(fromBias.c, fromGates.c, "\(name), bias stride \(stride): c")
                let withH = (0..<(rows * g4)).map { i in  // each row's start + h_prev·Rᵀ
                    let (q, gate) = (i / g4, i % g4)
                    return Float((0..<units).reduce(Double(start[stride == 0 ? gate : i])) {
                        $0 + Double(hPrevious[q * units + $1]) * Double(r[gate * units + $1]) })
                }
                let withoutHidden = step(0, rows, start: withH, stride: g4, fromGates: false, withoutHidden: true)
                for q in 0..<rows {
                    let alone = step(q, 1, start: start, stride: stride, fromGates: false)
                    XCTAssertEqual(Array(fromBias.h[(q * units)..<((q + 1) * units)]), alone.h, "\(name): row \(q) alone")
                    for j in 0..<units {
                        func z(_ gate: Int) -> Double {
                            var sum = Double(start[(stride == 0 ? 0 : q * g4) + gate * units + j])
                            for k in 0..<units { sum += Double(hPrevious[q * units + k]) * Double(r[(gate * units + j) * units + k]) }
                            return sum
                        }
                        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
                        let previous = Double(cPrevious[q * units + j]), peep = { (i: Int) in peephole ? Double(p[i * units + j]) : 0 }
                        let cell = sigmoid(z(2) + peep(2) * previous) * previous + sigmoid(z(0) + peep(0) * previous) * tanh(z(3))
                        let hidden = sigmoid(z(1) + peep(1) * cell) * tanh(cell)
                        XCTAssertEqual(Double(fromBias.c[q * units + j]), cell, accuracy: 1e-5, "\(name): c[\(q), \(j)]")
                        XCTAssertEqual(Double(fromBias.h[q * units + j]), hidden, accuracy: 1e-5, "\(name): h[\(q), \(j)]")
                        XCTAssertEqual(Double(withoutHidden.c[q * units + j]), cell, accuracy: 1e-5, "\(name), no h_prev: c[\(q), \(j)]")
                        XCTAssertEqual(Double(withoutHidden.h[q * units + j]), hidden, accuracy: 1e-5, "\(name), no h_prev: h[\(q), \(j)]")
                    }
                }
            }
        } } } } }
    }

    /// Inference has its own path (two states per sample, x·Wᵀ summed in the step kernel, or
    /// computed ahead for fewer than LSTM.fewRows samples): every build against the reference, for
    /// last states and sequences, a repeated input and peepholes, with 21 and 37 units and batches
    /// of 7 (full register blocks and a remainder), 1 and 3 (x·Wᵀ ahead).
    func testInferencePathOfEveryKernelBuildMatchesReference() {
        let (steps, features) = (3, 5)
        for batch in [7, 1, 3] { for kernels in Kernels.supported { for units in [21, 37] { for peephole in [false, true] {
            for returnSequences in [false, true] { for repeated in [false, true] {
                let layer = LSTM(steps: steps, features: features, units: units, returnSequences: returnSequences,
                                 repeatsInput: repeated, peephole: peephole, kernels: kernels)
                let harness = LayerHarness(layer)
                var data = TestData(seed: 99)
                harness.parameters = data.uniform(harness.block.parameterCount)
                let x = data.uniform(batch * layer.inputSize)
                let sequences = repeated ? (0..<batch).flatMap { n in (0..<steps).flatMap { _ in x[(n * features)..<((n + 1) * features)] } } : x
                let h = Reference.lstm(x: sequences, parameters: harness.parameters, batch: batch, steps: steps, features: features,
                                       units: units, peephole: peephole)
                assertClose(harness.run(x, batch: batch, phase: .inference).y,
                            returnSequences ? h : lastSteps(h, batch: batch, steps: steps, units: units), absolute: 1e-5,
                            "LSTM inference \(String(cString: kernels.name)), batch \(batch), \(units) units, peephole \(peephole), sequences \(returnSequences), repeated \(repeated)")
            } }
        } } } }
    }

    /// In inference each sample's sums run in the kernel's order for the step whatever the batch,
    /// and x·Wᵀ computed ahead is the same sum, so a batch of 34 (chunks of 16 on several threads,
    /// the last of 2, computed ahead) gives every sample exactly what a batch of one gives it, on
    /// every kernel build; with 64 units, and 37 (a single row's blocks of units leave one
    /// register over, taken after them in one order and before them in the other).
    func testInferenceDoesNotDependOnTheBatch() {
        let (steps, features, batch) = (4, 6, 34)
        for kernels in Kernels.supported { for units in [64, 37] {
            let harness = LayerHarness(LSTM(steps: steps, features: features, units: units, returnSequences: false, peephole: true,
                                            kernels: kernels))
            var data = TestData(seed: 101)
            harness.parameters = data.uniform(harness.block.parameterCount, scale: 0.3)
            let x = data.uniform(batch * steps * features), whole = harness.run(x, batch: batch, phase: .inference).y
            for n in 0..<batch {
                let one = harness.run(Array(x[(n * steps * features)..<((n + 1) * steps * features)]), batch: 1, phase: .inference).y
                XCTAssertEqual(Array(whole[(n * units)..<((n + 1) * units)]), one, "\(String(cString: kernels.name)), \(units) units, sample \(n)")
            }
        } }
    }

    /// A batch of fewer than LSTM.fewRows samples has its x·Wᵀ produced in blocks of steps by
    /// another thread while the steps run (Parallel.pipeline): on 1, 2 and 3 threads, batches of 1
    /// and 3 over 13 steps (blocks of 1, 1, 2, 4 and 4 steps, then the last of 1) give every
    /// sample exactly what a batch of 7 (no products ahead) gives it, on every kernel build.
    func testPipelinedInputProductsGiveTheSameBitsOnAnyThreadCount() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let (steps, features, units, batch) = (13, 6, 64, 7)
        for kernels in Kernels.supported { for returnSequences in [false, true] {
            let harness = LayerHarness(LSTM(steps: steps, features: features, units: units, returnSequences: returnSequences,
                                            kernels: kernels))
            let width = returnSequences ? steps * units : units
            var data = TestData(seed: 103)
            harness.parameters = data.uniform(harness.block.parameterCount, scale: 0.3)
            let x = data.uniform(batch * steps * features)
            Parallel.threadCount = 1
            let whole = harness.run(x, batch: batch, phase: .inference).y
            for threads in [1, 2, 3] {
                Parallel.threadCount = threads
                for (first, count) in [(0, 1), (4, 3), (6, 1)] {
                    let part = harness.run(Array(x[(first * steps * features)..<((first + count) * steps * features)]), batch: count,
                                           phase: .inference).y
                    XCTAssertTrue(part == Array(whole[(first * width)..<((first + count) * width)]),
                                  "\(String(cString: kernels.name)), \(threads) threads, samples \(first)..<\(first + count), sequences \(returnSequences)")
                }
            }
        } }
    }

    /// A repeated input (the decoder reading the code; with peepholes) against the reference run
    /// on the input copied to every step, and against central differences of it.
    func testRepeatedInputMatchesReferenceOnTheRepeatedSequence() {
        let (batch, steps, features, units) = (3, 4, 5, 3)
        let harness = LayerHarness(LSTM(steps: steps, features: features, units: units, returnSequences: true, repeatsInput: true,
                                        peephole: true))
        var data = TestData(seed: 97)
        harness.parameters = data.uniform(harness.block.parameterCount)
        let x = data.uniform(batch * features)
        assertMatchesReference(harness, x: x, batch: batch, data: &data, "repeated-input LSTM") { x, p in
            let repeated = (0..<batch).flatMap { n in (0..<steps).flatMap { _ in x[(n * features)..<((n + 1) * features)] } }
            return Reference.lstm(x: repeated, parameters: p, batch: batch, steps: steps, features: features, units: units, peephole: true)
        }
        harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
    }

    /// With 64 units the recurrence runs in chunks of 16 samples, on several threads; a batch of
    /// 40 (three chunks, the last short) must give every sample what a batch of one gives it.
    func testChunkedRecurrenceMatchesSampleBySample() {
        assertBatchMatchesSampleBySample(LayerHarness(LSTM(steps: 3, features: 5, units: 64, returnSequences: true)), batch: 40, seed: 95)
    }

    func testBidirectionalMatchesTwoReferenceLSTMs() {
        let (batch, steps, features, units) = (2, 4, 3, 2)
        for returnSequences in [true, false] {
            let peephole = !returnSequences  // both kinds of cell, in both modes between the two runs
            let harness = LayerHarness(Bidirectional(steps: steps, features: features, units: units, returnSequences: returnSequences,
                                                     peephole: peephole))
            var data = TestData(seed: 93)
            harness.parameters = data.uniform(harness.block.parameterCount)
            let x = data.uniform(batch * steps * features)
            let expected = bidirectionalReference(x: x, theta: harness.parameters, batch: batch, steps: steps, features: features,
                                                  units: units, returnSequences: returnSequences) { x, p in
                Reference.lstm(x: x, parameters: p, batch: batch, steps: steps, features: features, units: units, peephole: peephole)
            }
            assertClose(harness.run(x, batch: batch).y, expected, absolute: 1e-5, "bidirectional output, sequences \(returnSequences)")
            harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
        }
    }

    func testForgetBiasStartsAtOneAndRepeatVector() {
        let harness = LayerHarness(LSTM(steps: 2, features: 3, units: 4, returnSequences: true))
        let p = harness.parameters, biasStart = 4 * 4 * 3 + 4 * 4 * 4
        XCTAssertEqual(Array(p[biasStart..<(biasStart + 16)]), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0])
        XCTAssertEqual(Array(p[(biasStart + 16)...]), Array(repeating: 0, count: 8), "h0 and c0 start at zero")
        let repeatLayer = LayerHarness(RepeatVector(steps: 3, units: 2))
        XCTAssertEqual(repeatLayer.run([1, 2, 3, 4], batch: 2).y, [1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4])
        repeatLayer.assertGradientsMatchFiniteDifferences([0.1, -0.2, 0.3, 0.4], batch: 2)
        let timeDistributed = LayerHarness(Dense(inputSize: 3, outputSize: 2, steps: 4, initialization: .glorot))
        var data = TestData(seed: 92)
        timeDistributed.assertGradientsMatchFiniteDifferences(data.uniform(2 * 12), batch: 2)
    }
}
