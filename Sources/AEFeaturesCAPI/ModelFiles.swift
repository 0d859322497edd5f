// The C ABI's queries, persistence (files and buffers) and ONNX export.
import AEFeatures

#if canImport(Glibc)
import Glibc
#endif

// MARK: Queries

/// Writes one value read off a model into a caller's pointer.
func report<T>(_ function: String, _ handle: OpaquePointer?, _ out: UnsafeMutablePointer<T>?, _ name: String,
                       _ value: (Autoencoder) throws -> T) -> Int32 {
    guarded(function) {
        let model = try model(handle)
        try required(out, name).pointee = try value(model)
        return .ok
    }
}

@_cdecl("aef_model_sample_size")
public func aef_model_sample_size(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    report("aef_model_sample_size", handle, out, "out_size") { $0.inputSize }
}

@_cdecl("aef_model_code_size")
public func aef_model_code_size(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    report("aef_model_code_size", handle, out, "out_size") { $0.codeSize }
}

@_cdecl("aef_model_is_fitted")
public func aef_model_is_fitted(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    report("aef_model_is_fitted", handle, out, "out_fitted") { try $0.fittedState().history != nil ? 1 : 0 }
}

@_cdecl("aef_model_threshold")
public func aef_model_threshold(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    report("aef_model_threshold", handle, out, "out_threshold") { model in
        guard let threshold = try model.fittedState().threshold else { throw AEError.notFitted }
        return threshold
    }
}

@_cdecl("aef_model_calibrate_threshold")
public func aef_model_calibrate_threshold(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                                          _ falsePositiveRate: Double, _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    guarded("aef_model_calibrate_threshold") {
        let model = try model(handle)
        let data = try samples(x, count, sampleSize, of: model, name: "normal rows")
        let threshold = try model.calibrateThreshold(normal: data, rows: count, falsePositiveRate: Float(falsePositiveRate))
        out?.pointee = threshold
        return .ok
    }
}

@_cdecl("aef_model_spec_json")
public func aef_model_spec_json(_ handle: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                                _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("aef_model_spec_json") {
        try fill(Array(try model(handle).spec.json.utf8) + [0], into: buffer.map(UnsafeMutableRawPointer.init),
                 capacity: capacity, needed: needed)
    }
}

@_cdecl("aef_model_history")
public func aef_model_history(_ handle: OpaquePointer?, _ loss: UnsafeMutablePointer<Double>?,
                              _ validationLoss: UnsafeMutablePointer<Double>?, _ capacity: Int,
                              _ epochs: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("aef_model_history") {
        let history = try model(handle).fittedState().history ?? TrainingHistory()
        let epochs = try required(epochs, "out_epochs")
        epochs.pointee = history.loss.count
        if loss == nil && validationLoss == nil { return .ok }
        let losses = try output(try required(loss, "loss"), capacity: capacity, needed: history.loss.count)
        let validations = try output(try required(validationLoss, "validation_loss"), capacity: capacity, needed: history.loss.count)
        for i in 0..<history.loss.count {
            losses[i] = history.loss[i]
            validations[i] = i < history.validationLoss.count ? history.validationLoss[i] : .nan
        }
        return .ok
    }
}

// MARK: Persistence

@_cdecl("aef_model_save")
public func aef_model_save(_ handle: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("aef_model_save") {
        let model = try model(handle)
        try model.save(to: try string(path, "path"))
        return .ok
    }
}

@_cdecl("aef_model_load")
public func aef_model_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("aef_model_load") {
        let out = try required(out, "out_model")
        out.pointee = nil
        out.pointee = newHandle(try Autoencoder.load(from: try string(path, "path")))
        return .ok
    }
}

@_cdecl("aef_model_save_buffer")
public func aef_model_save_buffer(_ handle: OpaquePointer?, _ buffer: UnsafeMutableRawPointer?, _ capacity: Int,
                                  _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("aef_model_save_buffer") {
        try fill(try model(handle).serialized(), into: buffer, capacity: capacity, needed: needed)
    }
}

@_cdecl("aef_model_load_buffer")
public func aef_model_load_buffer(_ data: UnsafeRawPointer?, _ size: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("aef_model_load_buffer") {
        let out = try required(out, "out_model")
        out.pointee = nil
        let start: UnsafeRawPointer = try required(data, "data")
        let bytes = UnsafeRawBufferPointer(start: start, count: try checkedSize(size, "size"))
        out.pointee = newHandle(try Autoencoder.deserialize(bytes))
        return .ok
    }
}

// MARK: ONNX export

func onnxGraph(_ id: Int32) throws -> ONNXGraphKind {
    guard let graph = ONNXGraphID(rawValue: id) else {
        throw BoundaryError(status: .invalidArgument, message: "unknown ONNX graph \(id); expected one of " +
                            ONNXGraphID.allCases.map(\.name).joined(separator: ", "))
    }
    return graph.kind
}

@_cdecl("aef_model_export_onnx")
public func aef_model_export_onnx(_ handle: OpaquePointer?, _ graph: Int32, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("aef_model_export_onnx") {
        let model = try model(handle)
        let kind = try onnxGraph(graph)
        try model.exportONNX(kind, to: try string(path, "path"))
        return .ok
    }
}

@_cdecl("aef_model_export_onnx_buffer")
public func aef_model_export_onnx_buffer(_ handle: OpaquePointer?, _ graph: Int32, _ buffer: UnsafeMutableRawPointer?,
                                         _ capacity: Int, _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("aef_model_export_onnx_buffer") {
        let model = try model(handle)
        let kind = try onnxGraph(graph)
        return try fill(try model.onnxModel(kind), into: buffer, capacity: capacity, needed: needed)
    }
}
