import AEFeatures
import AEFeaturesCAPI
import CZlib
import Foundation

/// One fuzz input through the C ABI. Its first byte picks what the rest is fed to:
///   0  model bytes to aef_model_load_buffer as they are (the checksum guards the parser);
///   1  the same with the trailing CRC-32 recomputed, so mutations reach the parser behind it;
///   2  spec JSON to aef_spec_defaults and aef_model_create.
/// Whatever loads is then used: queries, inference on a few rows, a save/load round trip and the
/// ONNX export. Failures must be statuses; a trap, an overflow or a memory error is the bug found.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    guard let mode = input.first else { return }
    var rest = Array(input.dropFirst())
    var model: OpaquePointer?
    switch mode % 3 {
    case 0, 1:
        if mode % 3 == 1, rest.count >= 4 {
            let crc = UInt32(rest.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count - 4)) })
            withUnsafeBytes(of: crc.littleEndian) { rest.replaceSubrange((rest.count - 4)..., with: $0) }
        }
        let status = rest.withUnsafeBytes { aef_model_load_buffer($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), $0.count, &model) }
        expect(status == 0 || model == nil, "a failed load left a model behind")
    default:
        rest.append(0)
        var needed = 0
        let (filled, status) = rest.withUnsafeBufferPointer { text in
            let spec = UnsafeRawPointer(text.baseAddress!).assumingMemoryBound(to: CChar.self)
            return (aef_spec_defaults(spec, nil, 0, &needed), aef_model_create(spec, &model))
        }
        expect(status != 0 || filled == 0, "aef_model_create took a spec aef_spec_defaults refused")
        expect(status == 0 || model == nil, "a failed create left a model behind")
    }
    guard let model else { return }
    exercise(model)
    aef_model_free(model)
}

/// Uses a model that loaded: every query, inference on three rows when it is fitted and small,
/// the byte-exact save/load round trip and the four ONNX graphs.
private func exercise(_ model: OpaquePointer) {
    var width = 0, code = 0, fitted: Int32 = 0
    expect(aef_model_sample_size(model, &width) == 0 && aef_model_code_size(model, &code) == 0
           && aef_model_is_fitted(model, &fitted) == 0, "queries of a loaded model failed")
    var needed = 0
    _ = aef_model_spec_json(model, nil, 0, &needed)
    if fitted != 0, width <= 1 << 16 {
        let rows = 3
        let x = (0..<(rows * width)).map { Float($0 % 7) / 7 }
        for output: Int32 in 0...3 {
            var size = 0
            guard aef_model_output_size(model, output, rows, &size) == 0 else { continue }
            var out = [Float](repeating: 0, count: size)
            let call = [aef_model_transform, aef_model_reconstruct, aef_model_score, aef_model_feature_errors][Int(output)]
            _ = call(model, x, rows, width, &out, size)
        }
    }
    var size = 0
    guard aef_model_save_buffer(model, nil, 0, &size) == 0 else { return }
    var bytes = [UInt8](repeating: 0, count: size)
    expect(aef_model_save_buffer(model, &bytes, size, &size) == 0, "save_buffer failed with room")
    var again: OpaquePointer?
    expect(aef_model_load_buffer(bytes, size, &again) == 0, "a saved model did not load: \(String(cString: aef_last_error()))")
    if let again {
        var second = [UInt8](repeating: 0, count: size)
        var secondSize = 0
        expect(aef_model_save_buffer(again, &second, size, &secondSize) == 0 && second == bytes, "a round trip changed the bytes")
        aef_model_free(again)
    }
    if fitted != 0, size < 1 << 22 {
        for graph: Int32 in 0...3 { _ = aef_model_export_onnx_buffer(model, graph, nil, 0, &needed) }
    }
}

/// A broken invariant is a crash, so the fuzzer keeps the input.
private func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

#if AEF_FUZZING
typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

/// libFuzzer's own entry point, for a program that keeps its main.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: FuzzCallback) -> Int32

/// SwiftPM links an executable's main under this name; here it hands over to libFuzzer.
@_cdecl("aef_fuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzOne(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
        return 0
    }
}
#else
/// Without libFuzzer (a normal build): `aef-fuzz seeds DIR` writes the seed corpus, a valid model
/// and a spec of every variant; `aef-fuzz replay PATH...` runs files (or every file of
/// directories) through the same checks, as the regression tests do.
@main
struct FuzzTool {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        switch arguments.first {
        case "seeds" where arguments.count == 2: try writeSeeds(to: arguments.last!)
        case "replay" where arguments.count >= 2: try replay(Array(arguments.dropFirst()))
        default:
            FileHandle.standardError.write(Data("usage: aef-fuzz seeds DIR | aef-fuzz replay PATH...\n".utf8))
            exit(2)
        }
    }

    static func replay(_ paths: [String]) throws {
        var files: [String] = []
        for path in paths {
            var directory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else { throw CocoaError(.fileNoSuchFile) }
            files += directory.boolValue ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 } : [path]
        }
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            bytes.withUnsafeBytes { fuzzOne($0) }
        }
        print("aef-fuzz replay: \(files.count) inputs, none crashed")
    }

    /// Specs small enough to keep the fuzzer fast, one per variant and layer kind.
    static let seedSpecs = [
        #"{"input_shape":[12],"hidden_units":[8],"code_size":3,"batch_norm":true,"dropout":0.1,"scaling":"standard"}"#,
        #"{"variant":"denoising","input_shape":[12],"hidden_units":[8],"code_size":3,"loss":"bce","activation":"elu"}"#,
        #"{"variant":"sparse","input_shape":[12],"hidden_units":[8],"code_size":4}"#,
        #"{"variant":"contractive","input_shape":[12],"hidden_units":[6],"code_size":2,"activation":"tanh"}"#,
        #"{"variant":"conv1d","input_shape":[12,2],"code_size":3,"conv_blocks":[{"filters":4,"kernel":3,"pool":2}]}"#,
        #"{"variant":"conv2d","input_shape":[6,6,1],"code_size":3,"conv_blocks":[{"filters":3,"kernel":3,"pool":2}],"conv_decoder":"transpose"}"#,
        #"{"variant":"seq2seq","input_shape":[5,2],"hidden_units":[4],"code_size":3,"bidirectional":true}"#,
        #"{"variant":"variational","input_shape":[12],"hidden_units":[8],"code_size":2}"#,
        #"{"variant":"adversarial","input_shape":[12],"hidden_units":[8],"code_size":2,"score":"combined"}"#,
        // The remaining fields of docs/spec.md, so mutations start from each of them.
        #"{"input_shape":[12],"hidden_units":[6,4],"decoder_units":[5],"code_size":2,"code_activation":"tanh","output_activation":"identity","activation":"leaky_relu","scaling":"none","contamination":0.2,"score":"standardized"}"#,
        #"{"variant":"denoising","input_shape":[12],"hidden_units":[8],"code_size":3,"noise":{"type":"salt_and_pepper","level":0.3},"training":{"optimizer":"sgd","momentum":0.5,"learning_rate":0.01,"shuffle":false}}"#,
        #"{"variant":"denoising","input_shape":[12],"hidden_units":[8],"code_size":3,"noise":{"type":"gaussian","level":0.2},"training":{"optimizer":"rmsprop","rho":0.8,"epsilon":1e-6,"clip_norm":1}}"#,
        #"{"variant":"sparse","input_shape":[12],"hidden_units":[8],"code_size":4,"sparsity":{"type":"l1","weight":0.01},"training":{"validation_split":0.25,"early_stopping":{"patience":2,"min_delta":0.001,"restore_best_weights":false}}}"#,
        #"{"variant":"sparse","input_shape":[12],"hidden_units":[8],"code_size":4,"sparsity":{"type":"kl","target":0.1,"weight":0.5},"training":{"beta1":0.8,"beta2":0.99}}"#,
        #"{"variant":"contractive","input_shape":[12],"hidden_units":[],"code_size":3,"contractive_weight":0.01}"#,
        #"{"variant":"conv1d","input_shape":[16],"conv_decoder":"transpose","conv_blocks":[{"filters":3,"kernel":3,"stride":2,"pool":2,"pool_type":"average"},{"filters":2,"kernel":3,"dilation":2,"pool":2,"pool_padding":"same"}]}"#,
        #"{"variant":"conv2d","input_shape":[8,8],"code_size":2,"batch_norm":true,"conv_blocks":[{"filters":2,"kernel":[1,3],"stride":2,"dilation":[1,2]}]}"#,
        #"{"variant":"seq2seq","input_shape":[4,3],"hidden_units":[4,3],"decoder_units":[3,4],"training":{"clip_norm":1}}"#,
        #"{"variant":"variational","input_shape":[12],"hidden_units":[8],"code_size":2,"loss":"bce","variational":{"beta":0.5,"warmup_epochs":2,"samples":3}}"#,
        #"{"variant":"conv2d","input_shape":[6,6,1],"code_size":2,"variational":{},"conv_blocks":[{"filters":2,"kernel":3,"pool":3}]}"#,
        #"{"variant":"adversarial","input_shape":[12],"hidden_units":[8],"code_size":2,"adversarial":{"prior":"uniform","prior_scale":2,"discriminator_units":[4],"discriminator_learning_rate":0.01,"generator_learning_rate":0.002}}"#,
        #"{"variant":"denoising","input_shape":[12],"hidden_units":[8],"code_size":3,"batch_norm":"before","input_dropout":0.1,"noise":{"type":"uniform","level":0.1},"training":{"learning_rate_schedule":{"type":"plateau","factor":0.5,"patience":1,"step_epochs":2,"min_delta":0.001,"min_learning_rate":0.0001}}}"#,
        #"{"variant":"denoising","input_shape":[12],"hidden_units":[8],"code_size":3,"tied_weights":true,"noise":{"type":"poisson","level":20},"training":{"epochs":2}}"#,
        #"{"variant":"seq2seq","input_shape":[4,3],"hidden_units":[5],"code_size":2,"peephole":true,"bidirectional":true}"#,
        #"{"variant":"seq2seq","input_shape":[4,3],"hidden_units":[5,4],"decoder_units":[3],"cell":"gru","bidirectional":true}"#,
        #"{"variant":"conv2d","input_shape":[6,5,1],"code_size":2,"conv_decoder":"unpool","conv_blocks":[{"filters":2,"kernel":3,"pool":2,"pool_padding":"same"}]}"#,
        #"{"variant":"convlstm","input_shape":[3,4,4,1],"code_size":2,"conv_blocks":[{"filters":2,"kernel":3},{"filters":1,"kernel":[1,3]}]}"#,
    ]

    static func writeSeeds(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (i, json) in seedSpecs.enumerated() {
            var object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            // One short epoch, the spec's other training fields kept so mutations start from them.
            object["training"] = (object["training"] as? [String: Any] ?? [:]).merging(["epochs": 1, "batch_size": 8]) { $1 }
            object["seed"] = i + 1
            let spec = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            let model = try Autoencoder(json: spec)
            let width = model.inputSize
            try model.fit(Tensor(shape: [16, width], scalars: (0..<(16 * width)).map { Float(($0 * 7919) % 101) / 101 }))
            try Data([2] + Array(spec.utf8)).write(to: URL(fileURLWithPath: "\(directory)/spec-\(i)"))
            let bytes = try model.serialized()
            try Data([1] + bytes).write(to: URL(fileURLWithPath: "\(directory)/model-\(i)"))
        }
        print("aef-fuzz seeds: \(2 * seedSpecs.count) inputs in \(directory)")
    }
}
#endif
