import AEFDatasets
import AEFeatures
import ArgumentParser
import Foundation

@main
struct AEF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aef",
        abstract: "Autoencoder features and anomaly scores.",
        subcommands: [Demo.self, Fit.self, Transform.self, Reconstruct.self, Score.self, ExportONNX.self, Info.self, Sample.self])
}

/// Prints a line at once, so progress shows while the next step runs.
func say(_ line: String) {
    print(line)
    fflush(stdout)
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a dense autoencoder on Fashion-MNIST; report reconstruction and how much its features help a classifier.")

    @Option(help: "Training images (of 60,000).") var train = 10_000
    @Option(help: "Test images (of 10,000).") var test = 2_000
    @Option(help: "Training epochs.") var epochs = 15
    @Option(help: "Code size (features per image).") var code = 32
    @Option(help: "Seed for the autoencoder and the classifier.") var seed: UInt64 = 42
    @Option(help: "Directory holding the Fashion-MNIST IDX files.") var data = FashionMNIST.defaultDirectory

    func run() throws {
        let started = Date()
        let trainSet = try FashionMNIST(split: .train, limit: train, directory: data)
        let testSet = try FashionMNIST(split: .test, limit: test, directory: data)
        say("Fashion-MNIST: \(trainSet.labels.count) training and \(testSet.labels.count) test images of 28x28")

        let spec = try ModelSpec(json: """
            {"variant":"dense","input_shape":[28,28],"hidden_units":[256],"code_size":\(code),"batch_norm":true,
             "code_activation":"sigmoid","scaling":"none","loss":"mse","seed":\(seed),
             "training":{"epochs":\(epochs),"batch_size":128,"validation_split":0.1,
                         "early_stopping":{"patience":3,"min_delta":0.00005}}}
            """)
        let model = try Autoencoder(spec: spec)
        say("Autoencoder 784-256-\(code)-256-784 (BatchNorm, ELU, sigmoid code), \(model.parameterCount) parameters")
        let fitStart = Date()
        let history = try model.fit(trainSet.images) { report in
            say(String(format: "  epoch %2d/%d  loss %.5f  validation %.5f", report.epoch, report.epochs,
                       report.loss, report.validationLoss ?? .nan))
            return true
        }
        say(String(format: "  %d epochs in %.1f s (%@; best epoch %d)", history.loss.count,
                   Date().timeIntervalSince(fitStart), history.stopReason.rawValue, history.bestEpoch))

        let scores = try model.anomalyScores(testSet.images)
        let testError = scores.reduce(0, +) / Float(scores.count)
        say(String(format: "Test reconstruction MSE %.5f; predicting the mean image gives %.5f",
                   testError, meanImageError(train: trainSet.images, test: testSet.images)))

        let trainCodes = try model.encode(trainSet.images), testCodes = try model.encode(testSet.images)
        let raw = SoftmaxRegression(features: trainSet.images.scalars, labels: trainSet.labels, classes: 10, seed: seed)
        let learned = SoftmaxRegression(features: trainCodes.scalars, labels: trainSet.labels, classes: 10, seed: seed)
        say("Logistic regression test accuracy (trained on the \(trainSet.labels.count) training images):")
        say(String(format: "  raw pixels (784 features)        %.1f%%", 100 * raw.accuracy(features: testSet.images.scalars, labels: testSet.labels)))
        say(String(format: "  autoencoder code (%3d features)  %.1f%%", code, 100 * learned.accuracy(features: testCodes.scalars, labels: testSet.labels)))

        let flagged = try model.predictAnomalies(testSet.images)
        let worst = scores.indices.max { scores[$0] < scores[$1] }!
        say(String(format: "Anomaly threshold %.5f (%.0f%% contamination): %d of %d test images flagged; highest score %.5f (a %@)",
                   model.threshold ?? .nan, 100 * spec.contamination, flagged.reduce(0, +), flagged.count,
                   scores[worst], FashionMNIST.classNames[testSet.labels[worst]]))
        say(String(format: "Done in %.1f s.", Date().timeIntervalSince(started)))
    }

    /// MSE of predicting every test image by the mean training image.
    private func meanImageError(train: Tensor, test: Tensor) -> Float {
        let d = train.sampleSize
        var mean = [Float](repeating: 0, count: d)
        for i in 0..<train.scalars.count { mean[i % d] += train.scalars[i] }
        for j in 0..<d { mean[j] /= Float(train.sampleCount) }
        var total: Float = 0
        for i in 0..<test.scalars.count { let e = test.scalars[i] - mean[i % d]; total += e * e }
        return total / Float(test.scalars.count)
    }
}
