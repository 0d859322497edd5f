import Glibc

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

    /// y[i] = f(input(i)) for i in 0..<count. `input` is inlined into each loop (a load, or a
    /// load with the affine step a fused layer adds), so each loop vectorises.
    @inline(__always)
    func apply(count: Int, into y: UnsafeMutablePointer<Float>, _ input: (Int) -> Float) {
        let slope = ActivationFunction.leakySlope
        switch self {
        case .identity: for i in 0..<count { y[i] = input(i) }
        case .relu: for i in 0..<count { let v = input(i); y[i] = v > 0 ? v : 0 }
        case .leakyRelu: for i in 0..<count { let v = input(i); y[i] = v > 0 ? v : slope * v }
        case .elu: for i in 0..<count { let v = input(i); y[i] = v > 0 ? v : FastMath.exp(v) - 1 }
        case .sigmoid: for i in 0..<count { y[i] = FastMath.sigmoid(input(i)) }
        case .tanh: for i in 0..<count { y[i] = Glibc.tanh(input(i)) }
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

/// y = f(x) elementwise; backward uses only y.
final class Activation: Layer {
    let size: Int
    let function: ActivationFunction

    init(size: Int, function: ActivationFunction) {
        self.size = size
        self.function = function
    }

    var inputSize: Int { size }
    var outputSize: Int { size }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        Parallel.forRanges(batch * size) { range in
            let start = range.lowerBound, input = x + start
            function.apply(count: range.count, into: y + start) { input[$0] }
        }
    }

    // dx = dy · f′(x), with f′ from the output y.
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        let slope = ActivationFunction.leakySlope
        Parallel.forRanges(batch * size) { range in
            switch function {
            case .identity: for i in range { dx[i] = dy[i] }
            case .relu: for i in range { dx[i] = y[i] > 0 ? dy[i] : 0 }
            case .leakyRelu: for i in range { dx[i] = y[i] > 0 ? dy[i] : slope * dy[i] }
            case .elu: for i in range { dx[i] = y[i] > 0 ? dy[i] : dy[i] * (y[i] + 1) }
            case .sigmoid: for i in range { dx[i] = dy[i] * y[i] * (1 - y[i]) }
            case .tanh: for i in range { dx[i] = dy[i] * (1 - y[i] * y[i]) }
            }
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
