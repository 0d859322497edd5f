import Glibc

/// The update rules, applied to the whole parameter block as one flat array.
/// Formulas follow PyTorch's: Adam with bias correction, SGD with (heavy-ball) momentum,
/// RMSProp without centring.
final class Optimizer {
    private let settings: TrainingSpec
    private let first: FloatBuffer   // Adam m, SGD velocity, RMSProp mean square
    private let second: FloatBuffer  // Adam v
    private var step = 0

    init(settings: TrainingSpec, parameterCount: Int) {
        self.settings = settings
        first = FloatBuffer(count: parameterCount)
        second = FloatBuffer(count: settings.optimizer == .adam ? parameterCount : 0)
    }

    func update(_ p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, count: Int) {
        step += 1
        let lr = settings.learningRate
        let m = first.base
        switch settings.optimizer {
        case .adam:
            let b1 = settings.beta1, b2 = settings.beta2, eps = settings.epsilon
            let v = second.base
            let correction1 = 1 - Float(pow(Double(b1), Double(step)))
            let correction2 = (1 - Float(pow(Double(b2), Double(step)))).squareRoot()
            let stepSize = lr / correction1
            for i in 0..<count {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                p[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2 + eps)
            }
        case .sgd:
            let mu = settings.momentum
            for i in 0..<count {
                m[i] = mu * m[i] + g[i]
                p[i] -= lr * m[i]
            }
        case .rmsprop:
            let rho = settings.rho, eps = settings.epsilon
            for i in 0..<count {
                m[i] = rho * m[i] + (1 - rho) * g[i] * g[i]
                p[i] -= lr * g[i] / (m[i].squareRoot() + eps)
            }
        }
    }
}
