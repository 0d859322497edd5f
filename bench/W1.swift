// Benchmark W1 (issue 2): one epoch of the dense autoencoder on the 60,000 Fashion-MNIST
// training images, batch 256, Adam, timed per epoch, next to OpenBLAS's own sgemm rate for the
// reference shape measured in the same run.
//
//   swift run -c release aef-bench [--epochs N] [--rows N] [--threads N]
import AEFDatasets
import AEFeatures
import COpenBLAS
import Foundation

func argument(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return value }
    return v
}

let timedEpochs = argument("--epochs", default: 3)
let rows = argument("--rows", default: 60_000)
let threads = argument("--threads", default: ProcessInfo.processInfo.activeProcessorCount)
openblas_set_num_threads(Int32(threads))

/// GFLOP/s of OpenBLAS sgemm on W1's first-layer forward shape (256x784 · 784x256), median of 5.
func sgemmRate() -> Double {
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

let spec = try ModelSpec(json: """
    {"input_shape":[784],"hidden_units":[256],"code_size":64,"code_activation":"elu","batch_norm":true,
     "scaling":"none","output_activation":"sigmoid","loss":"mse",
     "training":{"optimizer":"adam","learning_rate":0.001,"batch_size":256,"epochs":\(timedEpochs + 1)}}
    """)

// GEMM work per sample: forward 2·in·out per dense layer, training adds the weight gradient and
// (except for the first layer) the input gradient.
let widths = [spec.inputSize] + spec.hiddenUnits + [spec.codeSize] + spec.decoderUnits + [spec.inputSize]
var trainingFlopsPerSample = 0.0
for (i, (a, b)) in zip(widths, widths.dropFirst()).enumerated() {
    trainingFlopsPerSample += Double(2 * a * b) * (i == 0 ? 2 : 3)
}

// The ceiling is the best of two measurements, before loading the data and after training:
// on a shared machine a single measurement can land in a slow moment.
let peakBefore = sgemmRate()
let data = try FashionMNIST(split: .train, limit: rows)
let model = try Autoencoder(spec: spec)
var stamps: [UInt64] = [DispatchTime.now().uptimeNanoseconds]
try model.fit(data.images) { report in
    stamps.append(DispatchTime.now().uptimeNanoseconds)
    print(String(format: "epoch %d  loss %.5f  %.3f s", report.epoch, report.loss,
                 Double(stamps[stamps.count - 1] - stamps[stamps.count - 2]) / 1e9))
    return true
}
let peak = max(peakBefore, sgemmRate())
// The first epoch also pays for first-touch page faults and warm-up; it is not timed.
let times = zip(stamps.dropFirst(2), stamps.dropFirst()).map { Double($0 - $1) / 1e9 }.sorted()
let median = times[times.count / 2]
let gflop = trainingFlopsPerSample * Double(data.images.sampleCount) / 1e9
let achieved = gflop / median
print("W1 dense 784-256-64-256-784, \(data.images.sampleCount) images, batch 256, Adam, \(threads) threads")
print(String(format: "epoch time     min %.3f s  median %.3f s  (%d timed epochs)", times[0], median, times.count))
print(String(format: "GEMM work      %.1f GFLOP per epoch -> %.1f GFLOP/s", gflop, achieved))
print(String(format: "sgemm ceiling  %.1f GFLOP/s (256x784 . 784x256, same run) -> sgemm-bound epoch %.3f s", peak, gflop / peak))
print(String(format: "fraction of sgemm rate %.2f; epoch / sgemm-bound time %.2fx", achieved / peak, median / (gflop / peak)))
print(String(format: "{\"workload\":\"W1\",\"epoch_s_min\":%.4f,\"epoch_s_median\":%.4f,\"gflop_per_epoch\":%.2f,\"gflops\":%.2f,\"sgemm_gflops\":%.2f,\"fraction_of_sgemm\":%.3f}",
             times[0], median, gflop, achieved, peak, achieved / peak))
