// The C ABI's inference entry points: outputs into caller buffers, sized by aef_model_output_size.
import AEFeatures

#if canImport(Glibc)
import Glibc
#endif

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
func infer(_ function: String, _ kind: OutputKind, _ handle: OpaquePointer?, _ x: UnsafePointer<Float>?, _ count: Int,
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
        try model.latentDistribution(data, rows: count, mean: means, logVariance: logVariances)
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
