import XCTest
import AEFKernels
@testable import AEFeatures
@testable import AEFReference

/// Losses and penalties: reference vs finite differences (Double), fast vs reference.
final class LossAndPenaltyTests: XCTestCase {
    /// The loss, its gradient and the per-element errors from one kernel build.
    private func fastLoss(_ loss: LossFunction, _ y: [Double], _ t: [Double], kernels: aefk_table = Kernels.active)
        -> (loss: Double, gradient: [Double], errors: [Double]) {
        let yf = y.map(Float.init)
        var g = [Float](repeating: 0, count: y.count), errors = t.map(Float.init)
        let value = loss.lossAndGradient(output: yf, target: errors, count: y.count, gradient: &g, kernels: kernels)
        loss.overwriteWithErrors(&errors, output: yf, count: y.count, kernels: kernels)
        return (value, g.map(Double.init), errors.map(Double.init))
    }

    func testLossReferencesMatchFiniteDifferences() {
        var data = TestData(seed: 11)
        let y = data.uniform(24, scale: 3), t = data.unit(24)
        for reference in [Reference.mse, Reference.bceFromLogits] {
            assertClose(reference(y, t).gradient, numericalGradient(at: y) { reference($0, t).loss }, absolute: 1e-8, "loss gradient")
        }
    }

    /// Every kernel build, on 3000 values (blocks of 1024 summed apart, a partial register at the end).
    func testFastLossesMatchReference() {
        var data = TestData(seed: 12)
        let y = data.uniform(3000, scale: 4), t = data.unit(3000)
        for kernels in Kernels.supported {
            for (loss, reference) in [(LossFunction.mse, Reference.mse), (.bce, Reference.bceFromLogits)] {
                let fast = fastLoss(loss, y, t, kernels: kernels), ref = reference(y, t), name = "\(loss) (\(String(cString: kernels.name)))"
                XCTAssertEqual(fast.loss, ref.loss, accuracy: 1e-5 * ref.loss, "\(name) value")
                assertClose(fast.gradient, ref.gradient, absolute: 1e-9, relative: 1e-5, "\(name) gradient")
                // The errors average to the loss: each is the reference's per-element term.
                let perElement = (0..<y.count).map { reference([y[$0]], [t[$0]]).loss }
                assertClose(fast.errors, perElement, absolute: 1e-7, relative: 1e-5, "\(name) errors")
            }
        }
    }

    /// A batch of 200,000 values goes to the threads in whole blocks of 1024: the gradient is
    /// the same bits with any thread count, the loss the same up to the order its threads' totals
    /// (in double) are added, and both match the reference.
    func testLossSplitOverThreads() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var data = TestData(seed: 13)
        let y = data.uniform(200_000, scale: 4), t = data.unit(200_000)
        for (loss, reference) in [(LossFunction.mse, Reference.mse), (.bce, Reference.bceFromLogits)] {
            var results: [(loss: Double, gradient: [Double], errors: [Double])] = []
            for threads in [1, 2, 3] {
                Parallel.threadCount = threads
                results.append(fastLoss(loss, y, t))
            }
            let ref = reference(y, t)
            XCTAssertEqual(results[0].loss, ref.loss, accuracy: 1e-5 * ref.loss, "\(loss) value")
            for (threads, result) in zip([2, 3], results.dropFirst()) {
                XCTAssertEqual(result.gradient, results[0].gradient, "\(loss) gradient, \(threads) threads")
                XCTAssertEqual(result.loss, results[0].loss, accuracy: 1e-12 * results[0].loss, "\(loss) value, \(threads) threads")
            }
        }
    }

    func testBinaryCrossEntropyIsFiniteForSaturatedLogits() {
        for kernels in Kernels.supported {
            let fast = fastLoss(.bce, [-200, 200, -200, 200], [1, 0, 0, 1], kernels: kernels)
            XCTAssertEqual(fast.loss, (200 + 200) / 4, accuracy: 1e-3)
            // exp saturates at e^−87.3, so σ(−200) comes out as about 1e-38 instead of 0.
            for (value, expected) in zip(fast.gradient, [-0.25, 0.25, 0, 0]) { XCTAssertEqual(value, expected, accuracy: 1e-30) }
        }
    }

    private func fastSparsity(_ penalty: SparsityPenalty, _ h: [Double], batch: Int, size: Int) -> (Double, [Double]) {
        let hf = h.map(Float.init)
        var g = [Float](repeating: 0, count: h.count), means = [Float](repeating: 0, count: size)
        let value = penalty.apply(code: hf, batch: batch, size: size, gradient: &g, means: &means)
        return (value, g.map(Double.init))
    }

    func testKLSparsity() {
        var data = TestData(seed: 13)
        let (batch, size) = (6, 4)
        let h = data.unit(batch * size)
        let ref = Reference.klSparsity(h, batch: batch, size: size, rho: 0.05, beta: 0.7)
        assertClose(ref.gradient, numericalGradient(at: h) { Reference.klSparsity($0, batch: batch, size: size, rho: 0.05, beta: 0.7).penalty },
                    absolute: 1e-7, "KL reference gradient")
        let fast = fastSparsity(SparsityPenalty(kind: .kl, target: 0.05, weight: 0.7), h, batch: batch, size: size)
        XCTAssertEqual(fast.0, ref.penalty, accuracy: 1e-5 * ref.penalty)
        assertClose(fast.1, ref.gradient, absolute: 1e-6, relative: 1e-5, "KL fast gradient")
    }

    func testL1Sparsity() {
        var data = TestData(seed: 14)
        let h = data.awayFromZero(20)
        let ref = Reference.l1Sparsity(h, batch: 5, weight: 0.3)
        assertClose(ref.gradient, numericalGradient(at: h) { Reference.l1Sparsity($0, batch: 5, weight: 0.3).penalty },
                    absolute: 1e-8, "L1 reference gradient")
        let fast = fastSparsity(SparsityPenalty(kind: .l1, weight: 0.3), h, batch: 5, size: 4)
        XCTAssertEqual(fast.0, ref.penalty, accuracy: 1e-5)
        assertClose(fast.1, ref.gradient, absolute: 1e-7, "L1 fast gradient")
    }

    func testContractivePenalty() {
        let (batch, inputs, outputs, weight) = (4, 5, 3, 0.8)
        for f in [ActivationFunction.sigmoid, .tanh, .elu, .identity] {
            var data = TestData(seed: 15)
            let x = data.uniform(batch * inputs), w = data.uniform(outputs * inputs), b = data.uniform(outputs)
            let ref = Reference.contractive(x: x, w: w, b: b, f: f, batch: batch, inputs: inputs, outputs: outputs, weight: weight)
            let p = { (x: [Double], w: [Double], b: [Double]) in
                Reference.contractive(x: x, w: w, b: b, f: f, batch: batch, inputs: inputs, outputs: outputs, weight: weight).penalty
            }
            assertClose(ref.dx, numericalGradient(at: x) { p($0, w, b) }, absolute: 1e-7, "\(f) contractive dx")
            assertClose(ref.dw, numericalGradient(at: w) { p(x, $0, b) }, absolute: 1e-7, "\(f) contractive dw")
            assertClose(ref.db, numericalGradient(at: b) { p(x, w, $0) }, absolute: 1e-7, "\(f) contractive db")

            // Fast path: dense forward, activation forward, penalty adds ∂P/∂a and the direct W term,
            // then the dense backward carries ∂P/∂a to x, W and b.
            let dense = Dense(inputSize: inputs, outputSize: outputs, initialization: .glorot)
            let harness = LayerHarness(dense)
            harness.parameters = w + b
            let a = harness.run(x, batch: batch).y
            let h = a.map { Float(Reference.activation(f, $0)) }
            var da = [Float](repeating: 0, count: a.count), scratch = [Float](repeating: 0, count: 2 * outputs)
            harness.block.gradients.zero()
            let value = ContractivePenalty(weight: Float(weight)).apply(
                code: h, function: f, dense: dense, batch: batch, preactivationGradient: &da, scratch: &scratch)
            let direct = harness.block.gradientArray.map(Double.init)
            let through = harness.run(x, batch: batch, dy: da.map(Double.init))
            XCTAssertEqual(value, ref.penalty, accuracy: 1e-5 * max(1, ref.penalty), "\(f) contractive value")
            assertClose(through.dx, ref.dx, absolute: 1e-5, relative: 1e-4, "\(f) fast contractive dx")
            assertClose(zip(through.dparameters, direct).map { $0 + $1 }, ref.dw + ref.db, absolute: 1e-5, relative: 1e-4,
                        "\(f) fast contractive dW, db")
        }
    }
}
