import XCTest
@testable import AEFeatures

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
            let theta = harness.parameters
            let x = data.uniform(batch * steps * features)
            let all = Reference.lstm(x: x, parameters: theta, batch: batch, steps: steps, features: features, units: units, peephole: peephole)
            let expected = returnSequences ? all : lastSteps(all, batch: batch, steps: steps, units: units)
            let dy = data.uniform(expected.count)
            let fast = harness.run(x, batch: batch, dy: dy)
            let name = "LSTM (sequences \(returnSequences), peephole \(peephole))"
            assertClose(fast.y, expected, absolute: 1e-5, "\(name) output")
            // Backpropagation through time against central differences of the Double reference.
            func loss(_ x: [Double], _ p: [Double]) -> Double {
                let h = Reference.lstm(x: x, parameters: p, batch: batch, steps: steps, features: features, units: units, peephole: peephole)
                let y = returnSequences ? h : lastSteps(h, batch: batch, steps: steps, units: units)
                return dot(dy, y)
            }
            assertClose(fast.dx, numericalGradient(at: x) { loss($0, theta) }, absolute: 1e-5, relative: 1e-4, "\(name) dx")
            // theta ends with h0, c0 (and P), so this also checks the initial states' (and peepholes') gradients.
            assertClose(fast.dparameters, numericalGradient(at: theta) { loss(x, $0) }, absolute: 1e-5, relative: 1e-4,
                        "\(name) dW dR db dh0 dc0 dP")
            harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
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
        let theta = harness.parameters
        let x = data.uniform(batch * features)
        func repeated(_ x: [Double]) -> [Double] {
            (0..<batch).flatMap { n in (0..<steps).flatMap { _ in x[(n * features)..<((n + 1) * features)] } }
        }
        func outputs(_ x: [Double], _ p: [Double]) -> [Double] {
            Reference.lstm(x: repeated(x), parameters: p, batch: batch, steps: steps, features: features, units: units, peephole: true)
        }
        let expected = outputs(x, theta), dy = data.uniform(expected.count)
        let fast = harness.run(x, batch: batch, dy: dy)
        assertClose(fast.y, expected, absolute: 1e-5, "repeated-input LSTM output")
        assertClose(fast.dx, numericalGradient(at: x) { dot(dy, outputs($0, theta)) }, absolute: 1e-5, relative: 1e-4, "repeated-input dx")
        assertClose(fast.dparameters, numericalGradient(at: theta) { dot(dy, outputs(x, $0)) }, absolute: 1e-5, relative: 1e-4,
                    "repeated-input dW dR db dh0 dc0 dP")
        harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
    }

    /// With 64 units the recurrence runs in chunks of 16 samples, on several threads; a batch of
    /// 40 (three chunks, the last short) must give every sample what a batch of one gives it.
    func testChunkedRecurrenceMatchesSampleBySample() {
        let (batch, steps, features, units) = (40, 3, 5, 64)
        let harness = LayerHarness(LSTM(steps: steps, features: features, units: units, returnSequences: true))
        var data = TestData(seed: 95)
        harness.parameters = data.uniform(harness.block.parameterCount, scale: 0.3)
        let x = data.uniform(batch * steps * features), dy = data.uniform(batch * steps * units)
        let whole = harness.run(x, batch: batch, dy: dy)
        var summed = [Double](repeating: 0, count: whole.dparameters.count)
        for n in 0..<batch {
            let xs = (n * steps * features)..<((n + 1) * steps * features), ys = (n * steps * units)..<((n + 1) * steps * units)
            let one = harness.run(Array(x[xs]), batch: 1, dy: Array(dy[ys]))
            assertClose(Array(whole.y[ys]), one.y, absolute: 1e-6, "sample \(n) output")
            assertClose(Array(whole.dx[xs]), one.dx, absolute: 1e-6, "sample \(n) dx")
            for i in summed.indices { summed[i] += one.dparameters[i] }
        }
        assertClose(whole.dparameters, summed, absolute: 1e-5, relative: 1e-5, "parameter gradients summed over samples")
    }

    func testBidirectionalMatchesTwoReferenceLSTMs() {
        let (batch, steps, features, units) = (2, 4, 3, 2)
        for returnSequences in [true, false] {
            let peephole = !returnSequences  // both kinds of cell, in both modes between the two runs
            let harness = LayerHarness(Bidirectional(steps: steps, features: features, units: units, returnSequences: returnSequences,
                                                     peephole: peephole))
            var data = TestData(seed: 93)
            harness.parameters = data.uniform(harness.block.parameterCount)
            let theta = harness.parameters, half = theta.count / 2
            let x = data.uniform(batch * steps * features)
            var reversed = x
            for n in 0..<batch { for t in 0..<steps { for k in 0..<features {
                reversed[(n * steps + t) * features + k] = x[(n * steps + steps - 1 - t) * features + k]
            } } }
            let forward = Reference.lstm(x: x, parameters: Array(theta[..<half]), batch: batch, steps: steps, features: features,
                                         units: units, peephole: peephole)
            let backward = Reference.lstm(x: reversed, parameters: Array(theta[half...]), batch: batch, steps: steps, features: features,
                                          units: units, peephole: peephole)
            var expected: [Double] = []
            for n in 0..<batch {
                for t in (returnSequences ? 0 : steps - 1)..<steps {
                    let back = returnSequences ? steps - 1 - t : steps - 1
                    expected += forward[((n * steps + t) * units)..<((n * steps + t + 1) * units)]
                    expected += backward[((n * steps + back) * units)..<((n * steps + back + 1) * units)]
                }
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
        let timeDistributed = LayerHarness(Dense(inputSize: 3, outputSize: 2, steps: 4, initialisation: .glorot))
        var data = TestData(seed: 92)
        timeDistributed.assertGradientsMatchFiniteDifferences(data.uniform(2 * 12), batch: 2)
    }
}
