import CONNX
import XCTest
@testable import AEFeatures

/// The exported bytes decode as an ONNX ModelProto with the promised structure. Numerical
/// agreement with onnxruntime is checked by bindings/python/tests/test_onnx.py.
final class ONNXExportTests: XCTestCase {
    private let specs = [
        #"{"input_shape":[12],"hidden_units":[8],"code_size":3,"batch_norm":true,"dropout":0.2,"scaling":"standard","training":{"epochs":1}}"#,
        #"{"variant":"variational","input_shape":[12],"hidden_units":[8],"code_size":2,"loss":"bce","training":{"epochs":1}}"#,
        #"{"variant":"seq2seq","input_shape":[4,3],"hidden_units":[5],"code_size":2,"bidirectional":true,"training":{"epochs":1}}"#,
        #"{"variant":"conv2d","input_shape":[4,3],"conv_blocks":[{"filters":2,"kernel":3,"pool":2,"pool_padding":"same"}],"conv_decoder":"transpose","training":{"epochs":1}}"#,
    ]

    func testGraphsDecodeWithTheirContract() throws {
        for json in specs {
            let model = try Autoencoder(json: json)
            try model.fit(structuredData(rows: 64, width: 12, seed: 5))
            for kind in ONNXGraphKind.allCases {
                let bytes = try model.onnxModel(kind)
                let proto = bytes.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
                guard let proto else { return XCTFail("\(json) \(kind): protobuf-c cannot decode the bytes") }
                defer { onnx__model_proto__free_unpacked(proto, nil) }
                let model = proto.pointee
                XCTAssertEqual(model.ir_version, 8)
                XCTAssertEqual(model.n_opset_import, 1)
                XCTAssertEqual(model.opset_import[0]!.pointee.version, 17)
                let graph = model.graph.pointee
                func names(_ count: Int, _ values: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__ValueInfoProto>?>?) -> [String] {
                    (0..<count).map { String(cString: values![$0]!.pointee.name) }
                }
                let input = kind == .decoder ? "codes" : "input"
                XCTAssertEqual(names(graph.n_input, graph.input), [input])
                let expectedOutput = ["encoder": "features", "autoencoder": "reconstruction", "scorer": "score",
                                      "decoder": "reconstruction"][kind.rawValue]!
                XCTAssertEqual(names(graph.n_output, graph.output), [expectedOutput])
                let batch = graph.input[0]!.pointee.type.pointee.tensor_type.pointee.shape.pointee.dim[0]!.pointee
                XCTAssertEqual(String(cString: batch.dim_param), "N")

                // Topological order: every node input is the graph input, an initializer or an
                // earlier node's output ("" marks an omitted optional input).
                let initializers = Set((0..<graph.n_initializer).map { String(cString: graph.initializer[$0]!.pointee.name) })
                XCTAssertFalse(initializers.contains(input), "an initializer is listed as the graph input")
                var defined = initializers.union([input, ""])
                for n in 0..<graph.n_node {
                    let node = graph.node[n]!.pointee
                    let op = String(cString: node.op_type)
                    XCTAssertFalse(["Dropout", "RandomNormalLike", "Upsample"].contains(op), "\(json): \(op) exported")
                    for k in 0..<node.n_input {
                        let name = String(cString: node.input[k]!)
                        XCTAssertTrue(defined.contains(name), "\(json) \(kind): \(op) reads \(name) before it exists")
                    }
                    for k in 0..<node.n_output { defined.insert(String(cString: node.output[k]!)) }
                }
                XCTAssertTrue(defined.contains(expectedOutput))
            }
        }
    }

    func testUnfittedModelsAreRefused() throws {
        let model = try Autoencoder(json: specs[0])
        XCTAssertThrowsError(try model.onnxModel(.encoder)) { error in
            guard case AEError.notFitted = error else { return XCTFail("\(error)") }
        }
    }
}
