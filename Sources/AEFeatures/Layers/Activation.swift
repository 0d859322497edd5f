import AEFKernels

/// Elementwise nonlinearities. Every derivative is written in terms of the output y = f(x), so a
/// backward pass needs only the activation's output (ELU's alpha is 1, LeakyReLU's slope 0.01).
public enum ActivationFunction: String, Codable, CaseIterable, Sendable {
    case identity, relu, leakyRelu = "leaky_relu", elu, sigmoid, tanh

    static let leakySlope: Float = 0.01

    /// f'(x) from y = f(x).
    @inline(__always)
    func derivative(output y: Float) -> Float {
        switch self {
        case .identity: return 1
        case .relu: return y > 0 ? 1 : 0
        case .leakyRelu: return y > 0 ? 1 : ActivationFunction.leakySlope
        case .elu: return y > 0 ? 1 : y + 1
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        }
    }

    /// f''(x) from y = f(x); the contractive penalty's gradient needs it.
    @inline(__always)
    func secondDerivative(output y: Float) -> Float {
        switch self {
        case .identity, .relu, .leakyRelu: return 0
        case .elu: return y > 0 ? 0 : y + 1
        case .sigmoid: return y * (1 - y) * (1 - 2 * y)
        case .tanh: return -2 * y * (1 - y * y)
        }
    }

    /// The vector kernels' name for the function.
    var kernelCode: aefk_activation {
        switch self {
        case .identity: return AEFK_ACTIVATION_IDENTITY
        case .relu: return AEFK_ACTIVATION_RELU
        case .leakyRelu: return AEFK_ACTIVATION_LEAKY_RELU
        case .elu: return AEFK_ACTIVATION_ELU
        case .sigmoid: return AEFK_ACTIVATION_SIGMOID
        case .tanh: return AEFK_ACTIVATION_TANH
        }
    }

    /// Glorot suits saturating and linear functions, He the rectifier family.
    var preferredInitialization: WeightInitialization {
        switch self {
        case .relu, .leakyRelu, .elu: return .he
        case .identity, .sigmoid, .tanh: return .glorot
        }
    }
}

/// y = f(x) elementwise, by the vector kernels; backward uses only y.
final class Activation: Layer {
    let size: Int
    let function: ActivationFunction
    let kernels: aefk_table

    init(size: Int, function: ActivationFunction, kernels: aefk_table = Kernels.active) {
        self.size = size
        self.function = function
        self.kernels = kernels
    }

    var inputSize: Int { size }
    var outputSize: Int { size }
    var backwardReadsOutput: Bool { true }
    var worksInPlace: Bool { true }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        Parallel.forRanges(batch * size) { range in
            kernels.activation_forward(function.kernelCode, range.count, x + range.lowerBound, y + range.lowerBound)
        }
    }

    // dx = dy · f′(x), with f′ from the output y.
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        Parallel.forRanges(batch * size) { range in
            let start = range.lowerBound
            kernels.activation_backward(function.kernelCode, range.count, y + start, dy + start, dx + start)
        }
    }

    // ONNX: the operator of the same name, in whatever layout the value has.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let op: String
        var attributes: [(String, ONNXGraph.Attribute)] = []
        switch function {
        case .identity: return x
        case .relu: op = "Relu"
        case .leakyRelu: op = "LeakyRelu"; attributes = [("alpha", .float(ActivationFunction.leakySlope))]
        case .elu: op = "Elu"; attributes = [("alpha", .float(1))]
        case .sigmoid: op = "Sigmoid"
        case .tanh: op = "Tanh"
        }
        return .init(name: graph.node(op, [x.name], attributes), layout: x.layout)
    }
}
