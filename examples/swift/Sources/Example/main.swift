// Fit an anomaly detector, extract features, score, calibrate a threshold, save and load, export
// ONNX: the Swift API end to end on synthetic sensor rows (16 readings driven by 2 hidden
// factors, plus noise); anomalies are rows whose readings break that structure.
import AEFeatures
import Foundation

/// `count` rows of 16 readings; `anomalous` rows get 4 readings shifted by +3, out of step with the others.
func readings(_ count: Int, anomalous: Bool = false, seed: UInt64) throws -> Tensor {
    var rng = RandomSource(seed: seed)  // the library's seedable generator: the same rows every run
    var values: [Float] = []
    for _ in 0..<count {
        let a = Float.random(in: -1...1, using: &rng), b = Float.random(in: -1...1, using: &rng)
        var row = (0..<16).map { j in 20 + 6 * tanh(2 * a * cos(Float(j)) + 2 * b * sin(Float(j))) + Float.random(in: -0.1...0.1, using: &rng) }
        if anomalous { for j in [1, 6, 11, 15] { row[j] += 3 } }
        values += row
    }
    return try Tensor(shape: [count, 16], scalars: values)
}

let training = try readings(4000, seed: 1)
let heldOut = try readings(1000, seed: 2)        // normal rows the model never sees in fitting
let normal = try readings(500, seed: 3), odd = try readings(50, anomalous: true, seed: 4)

// One JSON spec describes the model (docs/spec.md): an autoencoder 16-32-3 with the combined
// anomaly score, inputs scaled to [0, 1] inside the model.
let model = try Autoencoder(json: """
    {"input_shape": [16], "hidden_units": [32], "code_size": 3, "activation": "relu",
     "score": "combined", "training": {"epochs": 100, "batch_size": 64}}
    """)
let history = try model.fit(training)
print("fitted \(history.loss.count) epochs, final loss \(history.loss.last!)")

// Features: the 3-value code of each row, for any downstream model.
let features = try model.encode(normal)
print("features: \(features.shape)")

// Anomaly scores, and a threshold that flags about 1% of normal rows.
let threshold = try model.calibrateThreshold(normal: heldOut, falsePositiveRate: 0.01)
let flaggedNormal = try model.predictAnomalies(normal).reduce(0, +)
let flaggedOdd = try model.predictAnomalies(odd).reduce(0, +)
print("threshold \(threshold): \(flaggedNormal) of 500 normal rows and \(flaggedOdd) of 50 anomalous rows flagged")

// Save, load, and the same scores come back.
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aefeatures-example-\(getpid())").path
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
try model.save(to: directory + "/model.aef")
let loaded = try Autoencoder.load(from: directory + "/model.aef")
let same = try loaded.anomalyScores(odd) == model.anomalyScores(odd)
print("saved and loaded: identical scores \(same)")

// ONNX: the encoder and the scorer, for any ONNX runtime.
try model.exportONNX(.encoder, to: directory + "/encoder.onnx")
try model.exportONNX(.scorer, to: directory + "/scorer.onnx")
print("exported encoder.onnx and scorer.onnx")

guard same, flaggedOdd > 40, flaggedNormal < 25 else {
    print("FAIL: the detector does not separate the rows as it should")
    exit(1)
}
