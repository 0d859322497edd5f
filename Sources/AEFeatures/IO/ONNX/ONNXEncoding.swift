import CONNX
import Glibc

/// Serializes an `ONNXGraph` as an ONNX ModelProto through the protobuf-c code generated from
/// Debian's onnx.proto (Sources/CONNX). protobuf-c messages are C structs holding pointers, so
/// everything they point to is allocated in one arena that lives until the bytes are packed.
enum ONNXEncoding {
    /// IR version 8 with opset 17: what onnxruntime 1.14 and later load, and every operator
    /// the exporter uses exists in that opset.
    static let irVersion = 8
    static let opsetVersion = 17

    static func encode(_ graph: ONNXGraph, producerVersion: String, docString: String) -> [UInt8] {
        let arena = Arena()
        let model: UnsafeMutablePointer<Onnx__ModelProto> = arena.message(onnx__model_proto__init)
        model.pointee.has_ir_version = 1
        model.pointee.ir_version = Int64(irVersion)
        let opset: UnsafeMutablePointer<Onnx__OperatorSetIdProto> = arena.message(onnx__operator_set_id_proto__init)
        opset.pointee.domain = arena.string("")
        opset.pointee.has_version = 1
        opset.pointee.version = Int64(opsetVersion)
        (model.pointee.n_opset_import, model.pointee.opset_import) = arena.pointers([opset])
        model.pointee.producer_name = arena.string("aefeatures")
        model.pointee.producer_version = arena.string(producerVersion)
        model.pointee.doc_string = arena.string(docString)
        model.pointee.graph = encodeGraph(graph, arena)

        let size = onnx__model_proto__get_packed_size(model)
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBufferPointer { onnx__model_proto__pack(model, $0.baseAddress!) }
        precondition(written == size, "protobuf-c packed \(written) of \(size) bytes")
        return bytes
    }

    private static func encodeGraph(_ graph: ONNXGraph, _ arena: Arena) -> UnsafeMutablePointer<Onnx__GraphProto> {
        let proto: UnsafeMutablePointer<Onnx__GraphProto> = arena.message(onnx__graph_proto__init)
        proto.pointee.name = arena.string(graph.name)
        (proto.pointee.n_node, proto.pointee.node) = arena.pointers(graph.nodes.map { encodeNode($0, arena) })
        (proto.pointee.n_initializer, proto.pointee.initializer) = arena.pointers(graph.initializers.map { encodeTensor($0, arena) })
        (proto.pointee.n_input, proto.pointee.input) = arena.pointers(graph.inputs.map { encodePort($0, arena) })
        (proto.pointee.n_output, proto.pointee.output) = arena.pointers(graph.outputs.map { encodePort($0, arena) })
        return proto
    }

    private static func encodeNode(_ node: ONNXGraph.Node, _ arena: Arena) -> UnsafeMutablePointer<Onnx__NodeProto> {
        let proto: UnsafeMutablePointer<Onnx__NodeProto> = arena.message(onnx__node_proto__init)
        proto.pointee.op_type = arena.string(node.op)
        proto.pointee.name = arena.string(node.outputs.first { !$0.isEmpty } ?? node.op)
        (proto.pointee.n_input, proto.pointee.input) = arena.pointers(node.inputs.map(arena.string))
        (proto.pointee.n_output, proto.pointee.output) = arena.pointers(node.outputs.map(arena.string))
        (proto.pointee.n_attribute, proto.pointee.attribute) = arena.pointers(node.attributes.map { name, value in
            let attribute: UnsafeMutablePointer<Onnx__AttributeProto> = arena.message(onnx__attribute_proto__init)
            attribute.pointee.name = arena.string(name)
            attribute.pointee.has_type = 1
            switch value {
            case .int(let i):
                attribute.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
                attribute.pointee.has_i = 1
                attribute.pointee.i = Int64(i)
            case .ints(let values):
                attribute.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
                (attribute.pointee.n_ints, attribute.pointee.ints) = arena.array(values.map(Int64.init))
            case .float(let f):
                attribute.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
                attribute.pointee.has_f = 1
                attribute.pointee.f = f
            case .string(let s):
                attribute.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
                attribute.pointee.has_s = 1
                attribute.pointee.s = arena.bytes(Array(s.utf8))
            }
            return attribute
        })
        return proto
    }

    private static func encodeTensor(_ tensor: ONNXGraph.Initializer, _ arena: Arena) -> UnsafeMutablePointer<Onnx__TensorProto> {
        let proto: UnsafeMutablePointer<Onnx__TensorProto> = arena.message(onnx__tensor_proto__init)
        proto.pointee.name = arena.string(tensor.name)
        (proto.pointee.n_dims, proto.pointee.dims) = arena.array(tensor.dims.map(Int64.init))
        proto.pointee.has_data_type = 1
        switch tensor.values {
        case .float(let values):
            proto.pointee.data_type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue)
            // raw_data is little-endian IEEE 754, the in-memory layout on every platform Swift targets here.
            proto.pointee.has_raw_data = 1
            proto.pointee.raw_data = values.withUnsafeBytes { arena.bytes(Array($0)) }
        case .int64(let values):
            proto.pointee.data_type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT64.rawValue)
            (proto.pointee.n_int64_data, proto.pointee.int64_data) = arena.array(values.map(Int64.init))
        }
        return proto
    }

    /// A float tensor value with shape [N] + sampleShape, N symbolic.
    private static func encodePort(_ port: ONNXGraph.Port, _ arena: Arena) -> UnsafeMutablePointer<Onnx__ValueInfoProto> {
        let dimensions: [UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension>] =
            ([nil] + port.sampleShape.map { Optional($0) }).map { size in
                let dimension: UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension> = arena.message(onnx__tensor_shape_proto__dimension__init)
                if let size {
                    dimension.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                    dimension.pointee.dim_value = Int64(size)
                } else {
                    dimension.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                    dimension.pointee.dim_param = arena.string(ONNXGraph.symbolicBatch)
                }
                return dimension
            }
        let shape: UnsafeMutablePointer<Onnx__TensorShapeProto> = arena.message(onnx__tensor_shape_proto__init)
        (shape.pointee.n_dim, shape.pointee.dim) = arena.pointers(dimensions)
        let tensorType: UnsafeMutablePointer<Onnx__TypeProto__Tensor> = arena.message(onnx__type_proto__tensor__init)
        tensorType.pointee.has_elem_type = 1
        tensorType.pointee.elem_type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue)
        tensorType.pointee.shape = shape
        let type: UnsafeMutablePointer<Onnx__TypeProto> = arena.message(onnx__type_proto__init)
        type.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
        type.pointee.tensor_type = tensorType
        let info: UnsafeMutablePointer<Onnx__ValueInfoProto> = arena.message(onnx__value_info_proto__init)
        info.pointee.name = arena.string(port.name)
        info.pointee.type = type
        return info
    }
}

/// malloc'd storage for protobuf-c messages and what they point to, freed together. Everything
/// stored is a trivial C value (structs of pointers and numbers), so no deinitialization is needed.
private final class Arena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { for block in blocks { free(block) } }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = malloc(Swift.max(1, count) * MemoryLayout<T>.stride)!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: Swift.max(1, count))
    }

    /// A message initialized by its generated `__init` function (descriptor and defaults).
    func message<T>(_ initialize: (UnsafeMutablePointer<T>) -> Void) -> UnsafeMutablePointer<T> {
        let pointer = allocate(T.self, count: 1)
        initialize(pointer)
        return pointer
    }

    func string(_ s: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(s.utf8CString)
        let pointer = allocate(CChar.self, count: utf8.count)
        pointer.initialize(from: utf8, count: utf8.count)
        return pointer
    }

    /// (count, pointer) for a repeated field; nil for an empty one.
    func array<T>(_ values: [T]) -> (Int, UnsafeMutablePointer<T>?) {
        guard !values.isEmpty else { return (0, nil) }
        let pointer = allocate(T.self, count: values.count)
        pointer.initialize(from: values, count: values.count)
        return (values.count, pointer)
    }

    /// (count, pointer) for a repeated message or string field (an array of pointers).
    func pointers<T>(_ values: [UnsafeMutablePointer<T>]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<T>?>?) {
        array(values.map { Optional($0) })
    }

    func bytes(_ values: [UInt8]) -> ProtobufCBinaryData {
        let (count, pointer) = array(values)
        return ProtobufCBinaryData(len: count, data: pointer)
    }
}
