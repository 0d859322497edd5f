import XCTest
import AEFKernels
@testable import AEFeatures

final class OptimizerTests: XCTestCase {
    /// Every optimizer (Adam in every build of its vector kernel) against its formula in Double,
    /// over five steps with changing gradients, on 44 values (a whole register of every width
    /// plus a remainder, and a vector the SIMD4 loops of SGD and RMSProp cover whole).
    func testEveryOptimizerAndAdamKernelBuildMatchesItsFormula() {
        let count = 44, steps = 5
        var data = TestData(seed: 71)
        let start = data.uniform(count), gradients = (0..<steps).map { _ in data.uniform(count) }
        var settings = TrainingSpec()
        settings.learningRate = 0.01
        let cases: [(TrainingSpec.OptimizerKind, aefk_table)] = Kernels.supported.map { (.adam, $0) } + [(.sgd, Kernels.active), (.rmsprop, Kernels.active)]
        for (kind, kernels) in cases {
            settings.optimizer = kind
            let optimizer = Optimizer(settings: settings, parameterCount: count, kernels: kernels)
            var p = start.map(Float.init), expected = start
            var first = [Double](repeating: 0, count: count), second = first
            let (lr, b1, b2) = (Double(settings.learningRate), Double(settings.beta1), Double(settings.beta2))
            let (eps, mu, rho) = (Double(settings.epsilon), Double(settings.momentum), Double(settings.rho))
            for (t, g) in gradients.enumerated() {
                let gf = g.map(Float.init)
                gf.withUnsafeBufferPointer { optimizer.update(&p, gradients: $0.baseAddress!, count: count) }
                for i in 0..<count {
                    let gi = Double(gf[i])
                    switch kind {
                    case .adam:
                        first[i] = b1 * first[i] + (1 - b1) * gi
                        second[i] = b2 * second[i] + (1 - b2) * gi * gi
                        let mHat = first[i] / (1 - pow(b1, Double(t + 1))), vHat = second[i] / (1 - pow(b2, Double(t + 1)))
                        expected[i] -= lr * mHat / (vHat.squareRoot() + eps)
                    case .sgd:
                        first[i] = mu * first[i] + gi
                        expected[i] -= lr * first[i]
                    case .rmsprop:
                        first[i] = rho * first[i] + (1 - rho) * gi * gi
                        expected[i] -= lr * gi / (first[i].squareRoot() + eps)
                    }
                }
            }
            assertClose(p.map(Double.init), expected, absolute: 1e-6, relative: 1e-5, "\(kind) (\(String(cString: kernels.name)))")
        }
    }
}
