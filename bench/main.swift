// Training benchmarks on the 60,000 Fashion-MNIST training images (batch 256, Adam), timed per
// epoch next to OpenBLAS's own sgemm rate measured in the same run, plus encoder inference
// throughput on the 10,000 test images at batch 1024 and batch 1.
//
//   swift run -c release aef-bench [--workload W1|W2|W3|W4|AAE] [--epochs N] [--rows N] [--threads N]
//                                  [--save-model PATH]   (the fitted model, for bench/onnx_encoder.py)
//                                  [--fit-only]          (load the training images, fit, exit: a
//                                                         process whose peak RSS is the fit's)
//
// W1 dense: 784 → 256 BN ELU → 64 ELU → 256 BN ELU → 784 sigmoid, MSE.
// W2 conv2d: conv 1→16 3x3 ELU, maxpool 2 → conv 16→8 3x3 ELU, maxpool 2 (code 7x7x8) →
//    upsample 2, conv 8→16 ELU → upsample 2, conv 16→1 sigmoid, MSE.
// W3 seq2seq: each image as 28 steps of 28; LSTM 28→64, its last state the code, repeated 28
//    times into LSTM 64→64, Dense 64→28 per step, MSE.
// AAE adversarial: 784 → 256 ELU → 8 (identity) → 256 ELU → 784 sigmoid, BCE, gaussian prior; the
//    report compares its test codes' distance from N(0, I) with a plain autoencoder's.
// W4 variational: 784 → 256 ELU → mu(32), logvar(32); 32 → 256 ELU → 784 sigmoid; BCE + KL
//    (PyTorch's peer sums both over the batch; ours averages them per value: the same gradient
//    directions, which Adam's updates do not depend on the scale of).
import AEFCommandLine
import AEFDatasets
import AEFeatures
import COpenBLAS
import Foundation

func argument(_ name: String, default value: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return value }
    return args[i + 1]
}

restartWithOpenBLASCoreForThisCPU()  // as the command-line tools do (README, Performance)
let workload = argument("--workload", default: "W1")
let timedEpochs = Int(argument("--epochs", default: "3")) ?? 3
let rows = Int(argument("--rows", default: "60000")) ?? 60_000
let threads = Int(argument("--threads", default: "\(ProcessInfo.processInfo.activeProcessorCount)")) ?? 2
Threading.threadCount = threads

let specs = [
    "W1": """
        {"input_shape":[784],"hidden_units":[256],"code_size":64,"code_activation":"elu","batch_norm":true,
         "scaling":"none","output_activation":"sigmoid","loss":"mse"
        """,
    "W2": """
        {"variant":"conv2d","input_shape":[28,28,1],"activation":"elu","scaling":"none","output_activation":"sigmoid",
         "conv_blocks":[{"filters":16,"kernel":3,"pool":2},{"filters":8,"kernel":3,"pool":2}],"loss":"mse"
        """,
    "W3": """
        {"variant":"seq2seq","input_shape":[28,28],"hidden_units":[64],"decoder_units":[64],"scaling":"none",
         "output_activation":"identity","loss":"mse"
        """,
    "AAE": """
        {"variant":"adversarial","input_shape":[784],"hidden_units":[256],"code_size":8,"activation":"elu",
         "scaling":"none","loss":"bce"
        """,
    "W4": """
        {"variant":"variational","input_shape":[784],"hidden_units":[256],"code_size":32,"activation":"elu",
         "scaling":"none","loss":"bce"
        """,
]
guard let body = specs[workload] else {
    print("unknown workload \(workload); choose one of \(specs.keys.sorted())")
    exit(2)
}
let spec = try ModelSpec(json: body + #","training":{"optimizer":"adam","learning_rate":0.001,"batch_size":256,"epochs":\#(timedEpochs + 1)}}"#)

/// GFLOP/s of OpenBLAS sgemm on W1's first-layer forward shape (256x784 · 784x256), median of 5,
/// on OpenBLAS's own `threads` threads (the engine runs it single-threaded on its own pool).
func sgemmRate() -> Double {
    openblas_set_num_threads(Int32(threads))
    defer { openblas_set_num_threads(1) }
    let (m, k, n) = (256, 784, 256)
    let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    var rates: [Double] = []
    for _ in 0..<5 {
        var calls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        repeat {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
            calls += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < 0.2
        rates.append(2 * Double(m * n * k * calls) / elapsed / 1e9)
    }
    return rates.sorted()[2]
}

func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

// The ceiling is the better of a measurement before loading the data and one after training:
// on a shared machine a single measurement can land in a slow moment.
let fitOnly = CommandLine.arguments.contains("--fit-only")
let peakBefore = fitOnly ? 0 : sgemmRate()
let data = try FashionMNIST(split: .train, limit: rows)
let model = try Autoencoder(spec: spec)
var stamps: [UInt64] = [DispatchTime.now().uptimeNanoseconds]
try model.fit(data.images) { report in
    stamps.append(DispatchTime.now().uptimeNanoseconds)
    print(String(format: "epoch %d  loss %.5f  %.3f s", report.epoch, report.loss,
                 Double(stamps[stamps.count - 1] - stamps[stamps.count - 2]) / 1e9))
    return true
}
if fitOnly { exit(0) }
let test = try FashionMNIST(split: .test)
let peak = max(peakBefore, sgemmRate())
let savePath = argument("--save-model", default: "")
if !savePath.isEmpty { try model.save(to: savePath) }

/// Encoder throughput over the test images at a batch size, samples per second (median of 3).
func encoderRate(batch: Int) throws -> Double {
    let images = test.images.scalars, width = model.inputSize
    let count = batch == 1 ? 2000 : test.images.sampleCount
    var codes = [Float](repeating: 0, count: batch * model.codeSize)
    var rates: [Double] = []
    for _ in 0..<3 {
        let start = DispatchTime.now().uptimeNanoseconds
        try images.withUnsafeBufferPointer { all in
            try codes.withUnsafeMutableBufferPointer { out in
                for first in stride(from: 0, to: count - batch + 1, by: batch) {
                    try model.encode(UnsafeBufferPointer(rebasing: all[(first * width)..<((first + batch) * width)]), rows: batch, into: out)
                }
            }
        }
        rates.append(Double(count / batch * batch) / seconds(since: start))
    }
    return rates.sorted()[1]
}
let inference1024 = try encoderRate(batch: 1024), inference1 = try encoderRate(batch: 1)

// The first epoch also pays for first-touch page faults and warm-up; it is not timed.
let times = zip(stamps.dropFirst(2), stamps.dropFirst()).map { Double($0 - $1) / 1e9 }.sorted()
let median = times[times.count / 2]
let gflop = Double(model.gemmFlopsPerSample.training) * Double(data.images.sampleCount) / 1e9
let achieved = gflop / median
print("\(workload), \(data.images.sampleCount) images, batch 256, Adam, \(threads) threads, \(model.parameterCount) parameters")
print(BLASInfo.description)  // the OpenBLAS core and the vector-kernel build (AEF_FORCE_ISA picks another)
print(String(format: "epoch time     min %.3f s  median %.3f s  (%d timed epochs)", times[0], median, times.count))
print(String(format: "GEMM work      %.1f GFLOP per epoch -> %.1f GFLOP/s", gflop, achieved))
print(String(format: "sgemm ceiling  %.1f GFLOP/s (256x784 . 784x256, same run) -> sgemm-bound epoch %.3f s", peak, gflop / peak))
print(String(format: "fraction of sgemm rate %.2f; epoch / sgemm-bound time %.2fx", achieved / peak, median / (gflop / peak)))
print(String(format: "encoder inference  batch 1024: %.0f samples/s   batch 1: %.0f samples/s", inference1024, inference1))
print(String(format: "{\"workload\":\"%@\",\"epoch_s_min\":%.4f,\"epoch_s_median\":%.4f,\"gflop_per_epoch\":%.2f,\"gflops\":%.2f,\"sgemm_gflops\":%.2f,\"fraction_of_sgemm\":%.3f,\"infer_b1024_per_s\":%.0f,\"infer_b1_per_s\":%.0f}",
             workload, times[0], median, gflop, achieved, peak, achieved / peak, inference1024, inference1))

// What the latent space looks like on the test images.
if spec.variationalSettings != nil {
    let (mu, logVariance) = try model.latentDistribution(test.images)
    let (mean, covariance) = CodeStatistics.moments(mu)
    let d = model.codeSize
    let averageVariance = (0..<d).map { j in
        covariance[j * d + j] + (0..<logVariance.sampleCount).reduce(0.0) { $0 + exp(Double(logVariance.scalars[$1 * d + j])) } / Double(logVariance.sampleCount)
    }.reduce(0, +) / Double(d)
    let samples = try model.sample(count: 1000, seed: 1)
    print(String(format: "aggregate posterior on the test images: mean of mu %.3f (largest |mean| %.3f), average variance %.3f",
                 mean.reduce(0, +) / Double(d), mean.map(abs).max() ?? 0, averageVariance))
    print(String(format: "1000 samples from N(0, I) decode to pixels in [%.3f, %.3f]", samples.scalars.min()!, samples.scalars.max()!))
}
if spec.adversarialSettings != nil {
    var plainSpec = spec
    plainSpec.adversarialSettings = nil
    let plain = try Autoencoder(spec: plainSpec)
    try plain.fit(data.images)
    print(String(format: "test codes' distance from N(0, I) (|mean|² + ‖cov − I‖_F): plain autoencoder %.3f, adversarial %.3f",
                 CodeStatistics.distanceFromStandardNormal(try plain.encode(test.images)),
                 CodeStatistics.distanceFromStandardNormal(try model.encode(test.images))))
}
