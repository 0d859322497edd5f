// The C ABI: every `aef_` entry point of include/aefeatures.h, and the only code that knows C.
// Each entry point runs its body inside `guarded`, which turns any thrown error into a status
// code and a thread-local message; bodies validate every pointer and size before the engine
// sees them, so nothing traps on bad input.
import AEFeatures
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A failure found at the boundary itself.
struct BoundaryError: Error {
    let status: Status
    let message: String
}

// MARK: Thread-local error message

/// Each thread's last message, a malloc'd C string freed when replaced or when the thread exits.
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

private let emptyString: UnsafePointer<CChar> = UnsafePointer(strdup("")!)

private func setLastError(_ message: String) {
    free(pthread_getspecific(errorKey))
    pthread_setspecific(errorKey, strdup(message))
}

/// Runs `body`, mapping every error to a status and recording its message for this thread.
private func guarded(_ function: String, _ body: () throws -> Status) -> Int32 {
    do {
        return try body().rawValue
    } catch let error as BoundaryError {
        setLastError("\(function): \(error.message)")
        return error.status.rawValue
    } catch let error as AEError {
        setLastError("\(function): \(error)")
        switch error {
        case .invalidSpec: return Status.invalidSpec.rawValue
        case .invalidInput: return Status.invalidArgument.rawValue
        case .notFitted: return Status.notFitted.rawValue
        case .diverged: return Status.diverged.rawValue
        case .io: return Status.io.rawValue
        case .corruptModel: return Status.corruptModel.rawValue
        case .busy: return Status.busy.rawValue
        }
    } catch {
        setLastError("\(function): internal error: \(error)")
        return Status.internalError.rawValue
    }
}

// MARK: Argument checks

private func required<T>(_ pointer: T?, _ name: String) throws -> T {
    guard let pointer else { throw BoundaryError(status: .nullArgument, message: "\(name) is NULL") }
    return pointer
}

private func model(_ handle: OpaquePointer?) throws -> Autoencoder {
    Unmanaged<Autoencoder>.fromOpaque(UnsafeRawPointer(try required(handle, "model"))).takeUnretainedValue()
}

private func newHandle(_ model: Autoencoder) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(model).toOpaque())
}

/// size_t arrives as Int: a value above Int.max reads as negative and is refused here.
private func checkedSize(_ value: Int, _ name: String) throws -> Int {
    guard value >= 0 else { throw BoundaryError(status: .invalidArgument, message: "\(name) is larger than any buffer can be") }
    return value
}

/// A capacity above Int.max (say SIZE_MAX, "plenty") is as good as Int.max.
private func effectiveCapacity(_ value: Int) -> Int { value < 0 ? Int.max : value }

/// x as a buffer of n_samples x sample_size values, after checking the pointer and the sizes.
private func samples(_ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int, of model: Autoencoder,
                     name: String = "x", width: Int? = nil, widthName: String = "sample_size") throws -> UnsafeBufferPointer<Float> {
    let expected = width ?? model.inputSize
    guard sampleSize == expected else {
        throw BoundaryError(status: .invalidArgument,
                            message: "\(widthName) is \(sampleSize); this model takes \(expected) values per sample")
    }
    guard try checkedSize(count, "n_samples") > 0 else {
        throw BoundaryError(status: .invalidArgument, message: "\(name) is empty (0 samples)")
    }
    let (total, overflow) = count.multipliedReportingOverflow(by: sampleSize)
    guard !overflow, total <= Int.max / 4 else {
        throw BoundaryError(status: .invalidArgument, message: "\(count) samples of \(sampleSize) values overflow the address space")
    }
    return UnsafeBufferPointer(start: try required(x, name), count: total)
}

/// Elements an output kind needs for `rows` samples.
private func outputCount(_ kind: OutputKind, rows: Int, of model: Autoencoder) throws -> Int {
    _ = try checkedSize(rows, "n_samples")
    let width = kind.width(of: model)
    let (total, overflow) = rows.multipliedReportingOverflow(by: width)
    guard !overflow else { throw BoundaryError(status: .invalidArgument, message: "\(rows) samples overflow the output size") }
    return total
}

private func output<T>(_ out: UnsafeMutablePointer<T>?, capacity rawCapacity: Int, needed: Int) throws -> UnsafeMutableBufferPointer<T> {
    let out = try required(out, "out")
    let capacity = effectiveCapacity(rawCapacity)
    guard capacity >= needed else {
        throw BoundaryError(status: .bufferTooSmall, message: "out has room for \(capacity) elements; \(needed) needed")
    }
    return UnsafeMutableBufferPointer(start: out, count: needed)
}

/// Copies bytes (plus a NUL for text) into a caller buffer, or only reports the size.
private func fill(_ bytes: [UInt8], into buffer: UnsafeMutableRawPointer?, capacity rawCapacity: Int,
                  needed: UnsafeMutablePointer<Int>?) throws -> Status {
    let needed = try required(needed, "out_needed")
    needed.pointee = bytes.count
    guard let buffer else { return .ok }
    guard effectiveCapacity(rawCapacity) >= bytes.count else {
        throw BoundaryError(status: .bufferTooSmall, message: "buffer has \(rawCapacity) bytes; \(bytes.count) needed")
    }
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    return .ok
}

private func string(_ text: UnsafePointer<CChar>?, _ name: String) throws -> String {
    let text = try required(text, name)
    guard let value = String(validatingCString: text) else {
        throw BoundaryError(status: .invalidArgument, message: "\(name) is not valid UTF-8")
    }
    return value
}

// MARK: Library

private let versionString: UnsafePointer<CChar> = UnsafePointer(strdup(AEFeaturesVersion.string)!)
private let statusNames: [UnsafePointer<CChar>] = Status.allCases.map { UnsafePointer(strdup($0.name)!) }
private let unknownStatus: UnsafePointer<CChar> = UnsafePointer(strdup("unknown status")!)

@_cdecl("aef_version")
public func aef_version() -> UnsafePointer<CChar> { versionString }

@_cdecl("aef_abi_version")
public func aef_abi_version() -> UInt32 { AEFeaturesVersion.abi }

private let blasInfoString: UnsafePointer<CChar> = UnsafePointer(strdup(BLASInfo.description)!)

@_cdecl("aef_blas_info")
public func aef_blas_info() -> UnsafePointer<CChar> { blasInfoString }

@_cdecl("aef_last_error")
public func aef_last_error() -> UnsafePointer<CChar> {
    pthread_getspecific(errorKey).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) } ?? emptyString
}

@_cdecl("aef_status_string")
public func aef_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    statusNames.indices.contains(Int(status)) ? statusNames[Int(status)] : unknownStatus
}

@_cdecl("aef_set_num_threads")
public func aef_set_num_threads(_ threads: Int32) -> Int32 {
    guarded("aef_set_num_threads") {
        guard threads >= 0, threads <= 1024 else {
            throw BoundaryError(status: .invalidArgument, message: "n_threads is \(threads); use 0 (all cores) or 1...1024")
        }
        Threading.threadCount = threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : Int(threads)
        return .ok
    }
}

@_cdecl("aef_get_num_threads")
public func aef_get_num_threads(_ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded("aef_get_num_threads") {
        try required(out, "out_threads").pointee = Int32(Threading.threadCount)
        return .ok
    }
}

// MARK: Models

@_cdecl("aef_model_create")
public func aef_model_create(_ spec: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("aef_model_create") {
        let out = try required(out, "out_model")
        out.pointee = nil
        out.pointee = newHandle(try Autoencoder(json: try string(spec, "spec_json")))
        return .ok
    }
}

@_cdecl("aef_spec_defaults")
public func aef_spec_defaults(_ spec: UnsafePointer<CChar>?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                              _ needed: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("aef_spec_defaults") {
        let filled = try ModelSpec(json: try string(spec, "spec_json")).json
        return try fill(Array(filled.utf8) + [0], into: buffer.map(UnsafeMutableRawPointer.init), capacity: capacity, needed: needed)
    }
}

@_cdecl("aef_model_free")
public func aef_model_free(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<Autoencoder>.fromOpaque(UnsafeRawPointer(handle)).release()
}

public typealias ProgressFunction = @convention(c) (UnsafeMutableRawPointer?, Int32, Int32, Double, Double) -> Int32

@_cdecl("aef_model_fit")
public func aef_model_fit(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                          _ validation: UnsafePointer<Float>?, _ validationCount: Int, _ seed: UnsafePointer<UInt64>?,
                          _ progress: ProgressFunction?, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guarded("aef_model_fit") {
        let model = try model(handle)
        let data = try samples(x, count, sampleSize, of: model)
        var held: (data: UnsafeBufferPointer<Float>, rows: Int)?
        if validation != nil || validationCount != 0 {
            held = (try samples(validation, validationCount, sampleSize, of: model, name: "validation"), validationCount)
        }
        let callback = progress.map { function in
            { (report: EpochReport) -> Bool in
                function(userData, Int32(report.epoch), Int32(report.epochs), report.loss, report.validationLoss ?? .nan) == 0
            }
        }
        let history = try model.fit(data, rows: count, validation: held, seed: seed?.pointee, progress: callback)
        return history.stopReason == .cancelled ? .cancelled : .ok
    }
}

@_cdecl("aef_model_partial_fit")
public func aef_model_partial_fit(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                                  _ seed: UnsafePointer<UInt64>?) -> Int32 {
    guarded("aef_model_partial_fit") {
        let model = try model(handle)
        try model.partialFit(try samples(x, count, sampleSize, of: model), rows: count, seed: seed?.pointee)
        return .ok
    }
}

@_cdecl("aef_model_output_size")
public func aef_model_output_size(_ handle: OpaquePointer?, _ kind: Int32, _ count: Int, _ out: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("aef_model_output_size") {
        let model = try model(handle)
        guard let outputKind = OutputKind(rawValue: kind) else {
            throw BoundaryError(status: .invalidArgument, message: "unknown output kind \(kind); expected one of " +
                                OutputKind.allCases.map(\.name).joined(separator: ", "))
        }
        try required(out, "out_count").pointee = try outputCount(outputKind, rows: count, of: model)
        return .ok
    }
}

/// The shared body of the float-output inference calls.
private func infer(_ function: String, _ kind: OutputKind, _ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int,
                   _ sampleSize: Int, _ out: UnsafeMutablePointer<Float>?, _ capacity: Int,
                   _ kernel: (Autoencoder) -> (UnsafeBufferPointer<Float>, Int, UnsafeMutableBufferPointer<Float>) throws -> Void) -> Int32 {
    guarded(function) {
        let model = try model(handle)
        let data = try samples(x, count, sampleSize, of: model)
        let buffer = try output(out, capacity: capacity, needed: try outputCount(kind, rows: count, of: model))
        try kernel(model)(data, count, buffer)
        return .ok
    }
}

@_cdecl("aef_model_transform")
public func aef_model_transform(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                                _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    infer("aef_model_transform", .features, handle, x, count, sampleSize, out, capacity) { $0.encode }
}

@_cdecl("aef_model_reconstruct")
public func aef_model_reconstruct(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                                  _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    infer("aef_model_reconstruct", .reconstruction, handle, x, count, sampleSize, out, capacity) { $0.reconstruct }
}

@_cdecl("aef_model_score")
public func aef_model_score(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                            _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    infer("aef_model_score", .scores, handle, x, count, sampleSize, out, capacity) { $0.anomalyScores }
}

@_cdecl("aef_model_feature_errors")
public func aef_model_feature_errors(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                                     _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    infer("aef_model_feature_errors", .featureErrors, handle, x, count, sampleSize, out, capacity) { $0.featureErrors }
}

@_cdecl("aef_model_decode")
public func aef_model_decode(_ handle: OpaquePointer?, _ codes: UnsafePointer<Float>?, _ count: Int, _ codeSize: Int,
                             _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    guarded("aef_model_decode") {
        let model = try model(handle)
        let data = try samples(codes, count, codeSize, of: model, name: "codes", width: model.codeSize, widthName: "code_size")
        let buffer = try output(out, capacity: capacity, needed: try outputCount(.reconstruction, rows: count, of: model))
        try model.decode(data, rows: count, into: buffer)
        return .ok
    }
}

@_cdecl("aef_model_sample")
public func aef_model_sample(_ handle: OpaquePointer?, _ count: Int, _ seed: UInt64,
                             _ out: UnsafeMutablePointer<Float>?, _ capacity: Int) -> Int32 {
    guarded("aef_model_sample") {
        let model = try model(handle)
        guard try checkedSize(count, "n_samples") > 0 else {
            throw BoundaryError(status: .invalidArgument, message: "n_samples must be positive")
        }
        guard try model.fittedState().history != nil else { throw AEError.notFitted }
        let buffer = try output(out, capacity: capacity, needed: try outputCount(.reconstruction, rows: count, of: model))
        try model.sample(count: count, seed: seed, into: buffer)
        return .ok
    }
}

@_cdecl("aef_model_latent_distribution")
public func aef_model_latent_distribution(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                                          _ mean: UnsafeMutablePointer<Float>?, _ logVariance: UnsafeMutablePointer<Float>?,
                                          _ capacity: Int) -> Int32 {
    guarded("aef_model_latent_distribution") {
        let model = try model(handle)
        let data = try samples(x, count, sampleSize, of: model)
        let needed = try outputCount(.features, rows: count, of: model)
        let means = try output(mean, capacity: capacity, needed: needed)
        let logVariances = try output(logVariance, capacity: capacity, needed: needed)
        let distribution = try model.latentDistribution(Tensor(shape: [count, sampleSize], scalars: Array(data)))
        _ = means.update(from: distribution.mean.scalars)
        _ = logVariances.update(from: distribution.logVariance.scalars)
        return .ok
    }
}

@_cdecl("aef_model_predict")
public func aef_model_predict(_ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int, _ sampleSize: Int,
                              _ out: UnsafeMutablePointer<Int32>?, _ capacity: Int) -> Int32 {
    guarded("aef_model_predict") {
        let model = try model(handle)
        let data = try samples(x, count, sampleSize, of: model)
        let labels = try output(out, capacity: capacity, needed: try outputCount(.labels, rows: count, of: model))
        try model.predictAnomalies(data, rows: count, into: labels)
        return .ok
    }
}

// MARK: Queries

/// Writes one value read off a model into a caller's pointer.
private func report<T>(_ function: String, _ handle: OpaquePointer?, _ out: UnsafeMutablePointer<T>?, _ name: String,
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

private func onnxGraph(_ id: Int32) throws -> ONNXGraphKind {
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
