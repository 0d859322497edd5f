import XCTest
@testable import AEFeatures

final class GRUTests: XCTestCase {
    /// The fast GRU against the Double reference (outputs), and its backpropagation through time
    /// against central differences of the reference and of itself; sequences and last states.
    func testFastGRUMatchesReferenceAndItsGradients() {
        let (batch, steps, features, units) = (3, 5, 4, 3)
        for returnSequences in [true, false] {
            let harness = LayerHarness(GRU(steps: steps, features: features, units: units, returnSequences: returnSequences))
            XCTAssertEqual(harness.block.parameterCount, 3 * units * (features + units + 1) + 2 * units)
            var data = TestData(seed: 81)
            harness.parameters = data.uniform(harness.block.parameterCount)
            let theta = harness.parameters
            let x = data.uniform(batch * steps * features)
            func outputs(_ x: [Double], _ p: [Double]) -> [Double] {
                let h = Reference.gru(x: x, parameters: p, batch: batch, steps: steps, features: features, units: units)
                return returnSequences ? h : lastSteps(h, batch: batch, steps: steps, units: units)
            }
            let expected = outputs(x, theta), dy = data.uniform(expected.count)
            let fast = harness.run(x, batch: batch, dy: dy)
            assertClose(fast.y, expected, absolute: 1e-5, "GRU output, sequences \(returnSequences)")
            assertClose(fast.dx, numericalGradient(at: x) { dot(dy, outputs($0, theta)) }, absolute: 1e-5, relative: 1e-4, "GRU dx")
            // theta ends with b_Rn and h0, so this checks their gradients too.
            assertClose(fast.dparameters, numericalGradient(at: theta) { dot(dy, outputs(x, $0)) }, absolute: 1e-5, relative: 1e-4,
                        "GRU dW dR db db_Rn dh0")
            harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
        }
    }

    /// The decoder's GRU reading one vector at every step, against the reference on the copies.
    func testRepeatedInputMatchesReferenceOnTheRepeatedSequence() {
        let (batch, steps, features, units) = (3, 4, 5, 3)
        let harness = LayerHarness(GRU(steps: steps, features: features, units: units, returnSequences: true, repeatsInput: true))
        var data = TestData(seed: 83)
        harness.parameters = data.uniform(harness.block.parameterCount)
        let theta = harness.parameters
        let x = data.uniform(batch * features)
        func outputs(_ x: [Double], _ p: [Double]) -> [Double] {
            let repeated = (0..<batch).flatMap { n in (0..<steps).flatMap { _ in x[(n * features)..<((n + 1) * features)] } }
            return Reference.gru(x: repeated, parameters: p, batch: batch, steps: steps, features: features, units: units)
        }
        let expected = outputs(x, theta), dy = data.uniform(expected.count)
        let fast = harness.run(x, batch: batch, dy: dy)
        assertClose(fast.y, expected, absolute: 1e-5, "repeated-input GRU output")
        assertClose(fast.dx, numericalGradient(at: x) { dot(dy, outputs($0, theta)) }, absolute: 1e-5, relative: 1e-4, "repeated-input dx")
        assertClose(fast.dparameters, numericalGradient(at: theta) { dot(dy, outputs(x, $0)) }, absolute: 1e-5, relative: 1e-4,
                    "repeated-input GRU parameters")
    }

    /// 40 samples in chunks on several threads give each sample what a batch of one gives it.
    func testChunkedRecurrenceMatchesSampleBySample() {
        let (batch, steps, features, units) = (40, 3, 5, 64)
        let harness = LayerHarness(GRU(steps: steps, features: features, units: units, returnSequences: true))
        var data = TestData(seed: 85)
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

    func testBidirectionalGRUMatchesTwoReferenceGRUs() {
        let (batch, steps, features, units) = (2, 4, 3, 2)
        let harness = LayerHarness(Bidirectional<GRU>(steps: steps, features: features, units: units, returnSequences: true))
        var data = TestData(seed: 87)
        harness.parameters = data.uniform(harness.block.parameterCount)
        let theta = harness.parameters, half = theta.count / 2
        let x = data.uniform(batch * steps * features)
        var reversed = x
        for n in 0..<batch { for t in 0..<steps { for k in 0..<features {
            reversed[(n * steps + t) * features + k] = x[(n * steps + steps - 1 - t) * features + k]
        } } }
        let forward = Reference.gru(x: x, parameters: Array(theta[..<half]), batch: batch, steps: steps, features: features, units: units)
        let backward = Reference.gru(x: reversed, parameters: Array(theta[half...]), batch: batch, steps: steps, features: features, units: units)
        var expected: [Double] = []
        for n in 0..<batch {
            for t in 0..<steps {
                let ahead: Int = (n * steps + t) * units, behind: Int = (n * steps + steps - 1 - t) * units
                expected += forward[ahead..<(ahead + units)]
                expected += backward[behind..<(behind + units)]
            }
        }
        assertClose(harness.run(x, batch: batch).y, expected, absolute: 1e-5, "bidirectional GRU output")
        harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
    }
}
