/// An ONNX graph under construction, in plain Swift values (ONNXEncoding turns it into protobuf).
/// Nodes are kept in the order they are added; a node can only name values that already exist,
/// so that order is topological.
///
/// The library keeps samples row-major and channels-last; ONNX operators want NCHW images and
/// time-major sequences. Each value carries its layout, and a layer asks for the layout it needs
/// (`flat`, `image`, `sequence`), which inserts the Reshape/Transpose to get there.
struct ONNXGraph {
    enum Attribute {
        case int(Int), ints([Int]), float(Float), string(String)
    }

    struct Node {
        let op: String
        let inputs: [String]
        let outputs: [String]
        let attributes: [(name: String, value: Attribute)]
    }

    /// A constant tensor: float or int64 values.
    struct Initializer {
        enum Values { case float([Float]), int64([Int]) }
        let name: String
        let dims: [Int]
        let values: Values
    }

    /// A graph input or output: float, batch dimension symbolic ("N"), then fixed sizes.
    struct Port {
        let name: String
        let sampleShape: [Int]
    }

    /// How a value's memory is laid out, batch included.
    enum Layout: Equatable {
        /// [N, size]: the library's own row layout (channels-last images, batch-major sequences).
        case flat(Int)
        /// [N, C, H, W].
        case image(channels: Int, height: Int, width: Int)
        /// [T, N, F]: time-major, what ONNX's LSTM reads and writes.
        case sequence(steps: Int, features: Int)

        var size: Int {
            switch self {
            case .flat(let n): return n
            case .image(let c, let h, let w): return c * h * w
            case .sequence(let t, let f): return t * f
            }
        }
    }

    struct Value {
        let name: String
        let layout: Layout
    }

    static let symbolicBatch = "N"

    let name: String
    private(set) var nodes: [Node] = []
    private(set) var initializers: [Initializer] = []
    private(set) var inputs: [Port] = []
    private(set) var outputs: [Port] = []
    private var counter = 0
    /// The Indices output of each unpooled MaxPool, for its MaxUnpool.
    var poolIndices: [ObjectIdentifier: String] = [:]

    init(name: String) { self.name = name }

    /// A name no other value in the graph has.
    mutating func fresh(_ hint: String) -> String {
        counter += 1
        return "\(hint)_\(counter)"
    }

    mutating func input(_ name: String, size: Int) -> Value {
        inputs.append(Port(name: name, sampleShape: [size]))
        return Value(name: name, layout: .flat(size))
    }

    /// Makes `value` (flat, or brought to flat) a graph output of that name via Identity.
    mutating func output(_ value: Value, as name: String) {
        let flatName = flat(value)
        nodes.append(Node(op: "Identity", inputs: [flatName], outputs: [name], attributes: []))
        outputs.append(Port(name: name, sampleShape: [value.layout.size]))
    }

    /// A graph output of shape [N] (one value per sample).
    mutating func scalarOutput(_ valueName: String, as name: String) {
        nodes.append(Node(op: "Identity", inputs: [valueName], outputs: [name], attributes: []))
        outputs.append(Port(name: name, sampleShape: []))
    }

    mutating func constant(_ hint: String, dims: [Int], _ values: [Float]) -> String {
        precondition(dims.reduce(1, *) == values.count, "\(hint): \(values.count) values for dims \(dims)")
        let name = fresh(hint)
        initializers.append(Initializer(name: name, dims: dims, values: .float(values)))
        return name
    }

    /// A float constant copied from the model's parameters.
    mutating func constant(_ hint: String, dims: [Int], copying source: UnsafePointer<Float>) -> String {
        constant(hint, dims: dims, ONNXGraph.values(source, dims.reduce(1, *)))
    }

    static func values(_ source: UnsafePointer<Float>, _ count: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: source, count: count))
    }

    /// An int64 vector (shapes, axes, slice bounds).
    mutating func constant(_ hint: String, int64 values: [Int]) -> String {
        let name = fresh(hint)
        initializers.append(Initializer(name: name, dims: [values.count], values: .int64(values)))
        return name
    }

    /// Adds one node with a single output and returns that output's name.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ attributes: [(String, Attribute)] = [],
                       hint: String? = nil) -> String {
        let output = fresh(hint ?? op.lowercased())
        nodes.append(Node(op: op, inputs: inputs, outputs: [output], attributes: attributes.map { (name: $0.0, value: $0.1) }))
        return output
    }

    /// Adds a node with several outputs ("" for an optional output that is not wanted).
    mutating func node(_ op: String, _ inputs: [String], outputs: [String], _ attributes: [(String, Attribute)]) {
        nodes.append(Node(op: op, inputs: inputs, outputs: outputs, attributes: attributes.map { (name: $0.0, value: $0.1) }))
    }

    // MARK: Layout conversions

    mutating func reshape(_ name: String, _ shape: [Int]) -> String {
        node("Reshape", [name, constant("shape", int64: shape)])
    }

    mutating func transpose(_ name: String, _ permutation: [Int]) -> String {
        node("Transpose", [name], [("perm", .ints(permutation))])
    }

    /// [N, size] in the library's row layout.
    mutating func flat(_ value: Value) -> String {
        switch value.layout {
        case .flat:
            return value.name
        case .image:
            return reshape(transpose(value.name, [0, 2, 3, 1]), [-1, value.layout.size])
        case .sequence:
            return reshape(transpose(value.name, [1, 0, 2]), [-1, value.layout.size])
        }
    }

    /// [N, C, H, W]. A flat value is read as channels-last [H, W, C]; an image with the same
    /// channels and pixel count is reshaped (NCHW memory does not depend on how H·W splits).
    mutating func image(_ value: Value, channels: Int, height: Int, width: Int) -> String {
        let target = Layout.image(channels: channels, height: height, width: width)
        precondition(value.layout.size == target.size, "image of \(target) from \(value.layout)")
        switch value.layout {
        case target:
            return value.name
        case .image(let c, _, _) where c == channels:
            return reshape(value.name, [-1, channels, height, width])
        default:
            return transpose(reshape(flat(value), [-1, height, width, channels]), [0, 3, 1, 2])
        }
    }

    /// [T, N, F]. A flat value is read as batch-major [T, F] rows.
    mutating func sequence(_ value: Value, steps: Int, features: Int) -> String {
        let target = Layout.sequence(steps: steps, features: features)
        precondition(value.layout.size == target.size, "sequence of \(target) from \(value.layout)")
        if value.layout == target { return value.name }
        return transpose(reshape(flat(value), [-1, steps, features]), [1, 0, 2])
    }

    /// Columns `range` of a [N, width] value.
    mutating func slice(_ name: String, columns range: Range<Int>) -> String {
        let starts = constant("starts", int64: [range.lowerBound]), ends = constant("ends", int64: [range.upperBound])
        let axes = constant("axes", int64: [1])
        return node("Slice", [name, starts, ends, axes])
    }

    /// The batch size N of a time-major sequence, as a 1-element int64 tensor.
    mutating func batchSize(ofSequence name: String) -> String {
        node("Shape", [name], [("start", .int(1)), ("end", .int(2))])
    }
}
