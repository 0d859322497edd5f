import XCTest
@testable import AEFeatures
@testable import AEFReference

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
            let x = data.uniform(batch * steps * features)
            // θ ends with b_Rn and h0, so their gradients are checked too.
            assertMatchesReference(harness, x: x, batch: batch, data: &data, "GRU, sequences \(returnSequences)") { x, p in
                let h = Reference.gru(x: x, parameters: p, batch: batch, steps: steps, features: features, units: units)
                return returnSequences ? h : lastSteps(h, batch: batch, steps: steps, units: units)
            }
            harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
        }
    }

    /// The decoder's GRU reading one vector at every step, against the reference on the copies.
    func testRepeatedInputMatchesReferenceOnTheRepeatedSequence() {
        let (batch, steps, features, units) = (3, 4, 5, 3)
        let harness = LayerHarness(GRU(steps: steps, features: features, units: units, returnSequences: true, repeatsInput: true))
        var data = TestData(seed: 83)
        harness.parameters = data.uniform(harness.block.parameterCount)
        assertMatchesReference(harness, x: data.uniform(batch * features), batch: batch, data: &data, "repeated-input GRU") { x, p in
            let repeated = (0..<batch).flatMap { n in (0..<steps).flatMap { _ in x[(n * features)..<((n + 1) * features)] } }
            return Reference.gru(x: repeated, parameters: p, batch: batch, steps: steps, features: features, units: units)
        }
    }

    /// With 64 units the recurrence runs in chunks on several threads.
    func testChunkedRecurrenceMatchesSampleBySample() {
        assertBatchMatchesSampleBySample(LayerHarness(GRU(steps: 3, features: 5, units: 64, returnSequences: true)), batch: 40, seed: 85)
    }

    func testBidirectionalGRUMatchesTwoReferenceGRUs() {
        let (batch, steps, features, units) = (2, 4, 3, 2)
        let harness = LayerHarness(Bidirectional<GRU>(steps: steps, features: features, units: units, returnSequences: true))
        var data = TestData(seed: 87)
        harness.parameters = data.uniform(harness.block.parameterCount)
        let x = data.uniform(batch * steps * features)
        let expected = bidirectionalReference(x: x, theta: harness.parameters, batch: batch, steps: steps, features: features,
                                              units: units, returnSequences: true) { x, p in
            Reference.gru(x: x, parameters: p, batch: batch, steps: steps, features: features, units: units)
        }
        assertClose(harness.run(x, batch: batch).y, expected, absolute: 1e-5, "bidirectional GRU output")
        harness.assertGradientsMatchFiniteDifferences(x, batch: batch)
    }
}
