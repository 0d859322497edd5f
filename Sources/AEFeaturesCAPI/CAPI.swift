// The C ABI: every `aef_` entry point of include/aefeatures.h, and the only code that knows C.
// This file: the library's functions and a model's life (create, fit, free); Inference.swift,
// ModelFiles.swift: the rest; Boundary.swift: the checks and the error wrapper they all use.
import AEFeatures

#if canImport(Glibc)
import Glibc
#endif

// MARK: Library

let versionString: UnsafePointer<CChar> = UnsafePointer(strdup(AEFeaturesVersion.string)!)
let statusNames: [UnsafePointer<CChar>] = Status.allCases.map { UnsafePointer(strdup($0.name)!) }
let unknownStatus: UnsafePointer<CChar> = UnsafePointer(strdup("unknown status")!)

@_cdecl("aef_version")
public func aef_version() -> UnsafePointer<CChar> { versionString }

@_cdecl("aef_abi_version")
public func aef_abi_version() -> UInt32 { AEFeaturesVersion.abi }

let blasInfoString: UnsafePointer<CChar> = UnsafePointer(strdup(BLASInfo.description)!)

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
        Threading.threadCount = threads == 0 ? Swift.max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) : Int(threads)
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
