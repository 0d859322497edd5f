import AEFKernels
import Glibc

/// The update rules, applied to the whole parameter block as one flat array.
/// Formulas follow PyTorch's: Adam with bias correction, SGD with (heavy-ball) momentum,
/// RMSProp without centring.
///
/// Adam's step is a vector kernel (Sources/AEFKernels, the CPU's widest build); SGD's and
/// RMSProp's loops run over SIMD4 vectors (the baseline x86-64 vector width), on the parameter
/// block's padded length: the plain scalar loops were not vectorised by the compiler.
final class Optimizer {
    static let vectorWidth = FloatBuffer.vectorWidth
    typealias Vector = SIMD4<Float>

    /// The vector kernels of Adam's step (tests pass each instruction set's).
    let kernels: aefk_table
    private let settings: TrainingSpec
    private let first: FloatBuffer   // Adam m, SGD velocity, RMSProp mean square
    private let second: FloatBuffer  // Adam v
    private var step = 0
    /// The step size of the next updates; the trainer sets it per epoch under a schedule.
    var learningRate: Float

    init(settings: TrainingSpec, parameterCount: Int, kernels: aefk_table = Kernels.active) {
        self.kernels = kernels
        self.settings = settings
        learningRate = settings.learningRate
        first = FloatBuffer(count: parameterCount)
        second = FloatBuffer(count: settings.optimizer == .adam ? parameterCount : 0)
    }

    /// One step for `count` values; `count` must be a multiple of `vectorWidth` (the parameter
    /// block's padded length).
    func update(_ p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, count: Int) {
        step += 1
        let lr = learningRate
        let b1 = settings.beta1, b2 = settings.beta2
        let adam = aefk_adam(beta1: b1, beta2: b2, epsilon: settings.epsilon,
                             step_size: lr / (1 - Float(pow(Double(b1), Double(step)))),
                             correction2: (1 - Float(pow(Double(b2), Double(step)))).squareRoot())
        let m = UnsafeMutableRawPointer(first.base), v = UnsafeMutableRawPointer(second.base)
        let p = UnsafeMutableRawPointer(p), g = UnsafeRawPointer(g)
        let stride = MemoryLayout<Vector>.stride
        func load(_ base: UnsafeRawPointer, _ i: Int) -> Vector { base.loadUnaligned(fromByteOffset: i * stride, as: Vector.self) }
        func store(_ value: Vector, _ base: UnsafeMutableRawPointer, _ i: Int) { base.storeBytes(of: value, toByteOffset: i * stride, as: Vector.self) }
        Parallel.forRanges(count / Optimizer.vectorWidth) { vectors in
            switch settings.optimizer {
            case .adam:
                let start = vectors.lowerBound * Optimizer.vectorWidth
                func at(_ base: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Float> { base.assumingMemoryBound(to: Float.self) + start }
                withUnsafePointer(to: adam) {
                    kernels.adam_step($0, vectors.count * Optimizer.vectorWidth, at(p), g.assumingMemoryBound(to: Float.self) + start,
                                      at(m), at(v))
                }
            case .sgd:
                let mu = settings.momentum
                for i in vectors {
                    let mi = mu * load(m, i) + load(g, i)
                    store(mi, m, i)
                    store(load(p, i) - lr * mi, p, i)
                }
            case .rmsprop:
                let rho = settings.rho, eps = settings.epsilon
                for i in vectors {
                    let gi = load(g, i)
                    let mi = rho * load(m, i) + (1 - rho) * gi * gi
                    store(mi, m, i)
                    store(load(p, i) - lr * gi / (mi.squareRoot() + eps), p, i)
                }
            }
        }
    }
}
