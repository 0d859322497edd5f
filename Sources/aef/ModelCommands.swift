import AEFCommandLine
import AEFeatures
import ArgumentParser
import Foundation

/// Reads `path` and checks its rows fit `model`.
private func readData(_ path: String, for model: Autoencoder, modelPath: String) throws -> Table {
    let table = try DataFiles.read(path)
    guard table.columns == model.inputSize else {
        throw CommandError("\(modelPath) expects rows of \(model.inputSize) values (input_shape \(model.spec.inputShape)); \(path) has \(table.columns) columns")
    }
    return table
}

private func parseList(_ text: String, _ option: String) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
        throw CommandError("\(option) must be comma-separated integers such as 256,64; got '\(text)'")
    }
    return values.map { $0! }
}

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit an autoencoder on a data file (.npy or CSV, one sample per row) and save the model.",
        discussion: "The spec comes from --spec (a JSON file, docs/spec.md) and/or the flags, which override it. Without input_shape the sample is the row.")

    @Argument(help: "Training data: .npy or CSV, one sample per row.") var data: String
    @Option(name: .shortAndLong, help: "Where to write the model file.") var output: String
    @Option(help: "Spec JSON file.") var spec: String?
    @Option(help: "Variant: dense, denoising, sparse, contractive, conv1d, conv2d, seq2seq, variational, adversarial.") var variant: String?
    @Option(help: "Shape of one sample, e.g. 28,28 (default: the row's width).") var inputShape: String?
    @Option(help: "Encoder hidden widths, e.g. 256,64.") var hidden: String?
    @Option(help: "Code size (features per sample).") var code: Int?
    @Option(help: "Training epochs.") var epochs: Int?
    @Option(help: "Mini-batch size.") var batchSize: Int?
    @Option(help: "Learning rate.") var learningRate: Double?
    @Option(help: "Fraction of rows held out for validation.") var validationSplit: Double?
    @Option(help: "Seed for initialization, shuffling and noise.") var seed: UInt64?
    @Flag(help: "No progress bar.") var quiet = false

    func run() throws {
        try runReportingErrors {
            let table = try DataFiles.read(data)
            let model = try Autoencoder(spec: try modelSpec(columns: table.columns))
            guard model.inputSize == table.columns else {
                throw CommandError("the spec's input_shape \(model.spec.inputShape) holds \(model.inputSize) values; \(data) has \(table.columns) columns")
            }
            let started = Date()
            let history = try table.values.withUnsafeBufferPointer { rows in
                try model.fit(rows, rows: table.rows) { report in
                    if !quiet { progress(report, since: started) }
                    return true
                }
            }
            if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
            try model.save(to: output)
            print(String(format: "fitted %@ (%d parameters) on %d rows in %.1f s: %d epochs, final loss %.5g (%@); wrote %@",
                         model.spec.variant.rawValue, model.parameterCount, table.rows, Date().timeIntervalSince(started),
                         history.loss.count, history.loss.last ?? .nan, history.stopReason.rawValue, output))
        }
    }

    /// The spec file (if any) as a JSON object, with the flags written over it.
    private func modelSpec(columns: Int) throws -> ModelSpec {
        var object: [String: Any] = [:]
        if let spec {
            guard let data = FileManager.default.contents(atPath: spec) else { throw CommandError("cannot read spec file \(spec)") }
            guard let parsed = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CommandError("\(spec) is not a JSON object")
            }
            object = parsed
        }
        if let variant { object["variant"] = variant }
        if let inputShape { object["input_shape"] = try parseList(inputShape, "--input-shape") }
        if object["input_shape"] == nil { object["input_shape"] = [columns] }
        if let hidden { object["hidden_units"] = try parseList(hidden, "--hidden") }
        if let code { object["code_size"] = code }
        if let seed { object["seed"] = seed }
        var training = object["training"] as? [String: Any] ?? [:]
        if let epochs { training["epochs"] = epochs }
        if let batchSize { training["batch_size"] = batchSize }
        if let learningRate { training["learning_rate"] = learningRate }
        if let validationSplit { training["validation_split"] = validationSplit }
        if !training.isEmpty { object["training"] = training }
        let json = try JSONSerialization.data(withJSONObject: object)
        return try ModelSpec(json: String(decoding: json, as: UTF8.self))
    }

    private func progress(_ report: EpochReport, since start: Date) {
        let width = 24, done = width * report.epoch / max(report.epochs, 1)
        let bar = String(repeating: "#", count: done) + String(repeating: "-", count: width - done)
        let validation = report.validationLoss.map { String(format: "  validation %.5g", $0) } ?? ""
        let line = String(format: "\repoch %d/%d [%@] loss %.5g%@  %.1f s", report.epoch, report.epochs, bar,
                          report.loss, validation, Date().timeIntervalSince(start))
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// transform, reconstruct and score: a model and a data file in, a data file out.
struct InferenceOptions: ParsableArguments {
    @Argument(help: "Model file written by 'aef fit'.") var model: String
    @Argument(help: "Input data: .npy or CSV, one sample per row.") var data: String
    @Option(name: .shortAndLong, help: "Output file (.npy or CSV by extension).") var output: String

    func run(_ kernel: (Autoencoder, Tensor) throws -> Table) throws {
        try runReportingErrors {
            let autoencoder = try Autoencoder.load(from: model)
            let table = try readData(data, for: autoencoder, modelPath: model)
            let result = try kernel(autoencoder, try Tensor(shape: [table.rows, table.columns], scalars: table.values))
            try DataFiles.write(result, to: output)
            print("wrote \(result.rows) rows of \(result.columns) values to \(output)")
        }
    }
}

struct Transform: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write each sample's features (the code; a VAE's mean).")
    @OptionGroup var options: InferenceOptions
    func run() throws {
        try options.run { model, x in Table(rows: x.sampleCount, columns: model.codeSize, values: try model.encode(x).scalars) }
    }
}

struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write each sample's reconstruction, in the input's units.")
    @OptionGroup var options: InferenceOptions
    func run() throws {
        try options.run { model, x in Table(rows: x.sampleCount, columns: model.inputSize, values: try model.reconstruct(x).scalars) }
    }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write each sample's anomaly score (mean reconstruction error), or with --labels 1 for scores above the fitted threshold.")
    @OptionGroup var options: InferenceOptions
    @Flag(help: "Write 0/1 anomaly labels instead of scores.") var labels = false
    func run() throws {
        try options.run { model, x in
            let scores = try model.anomalyScores(x)
            let threshold = model.threshold ?? .infinity
            let anomalous = try scores.map { try model.isAnomaly(score: $0) }
            print(String(format: "%d of %d rows score above the threshold %.5g", anomalous.filter { $0 }.count, scores.count, threshold))
            return Table(rows: scores.count, columns: 1, values: labels ? anomalous.map { $0 ? 1 : 0 } : scores)
        }
    }
}

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set a model's anomaly threshold from held-out normal rows and a target false-positive rate, and save it.",
        discussion: "The threshold becomes the k-th smallest of the rows' n scores, k = ceil((n + 1)(1 - rate)), so normal rows like them score above it with probability at most the rate (at least 1/rate - 1 rows are needed: 99 for 1%). Use rows the model was not fitted on. The model file is rewritten atomically (--output writes a copy instead); on any error it is left as it was.")
    @Argument(help: "Model file written by 'aef fit'.") var model: String
    @Argument(help: "Held-out normal rows: .npy or CSV, one sample per row.") var data: String
    @Option(help: "Target fraction of normal rows flagged, in (0, 1): 0.01 for 1%.") var falsePositiveRate: Double
    @Option(name: .shortAndLong, help: "Where to write the calibrated model (default: over the model file).") var output: String?

    func run() throws {
        try runReportingErrors {
            let autoencoder = try Autoencoder.load(from: model)
            let table = try readData(data, for: autoencoder, modelPath: model)
            let normal = try Tensor(shape: [table.rows, table.columns], scalars: table.values)
            let previous = autoencoder.threshold ?? .nan
            let threshold = try autoencoder.calibrateThreshold(normal: normal, falsePositiveRate: Float(falsePositiveRate))
            try autoencoder.save(to: output ?? model)
            print(String(format: "threshold %.5g (was %.5g): a fraction %.3g of these %d rows score above it; ",
                         threshold, previous, falsePositiveRate, table.rows) + "wrote \(output ?? model)")
        }
    }
}

struct ExportONNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Export a fitted model as ONNX (IR 8, opset 17): encoder, autoencoder or scorer graph (raw rows in), or decoder (codes in).")
    @Argument(help: "Model file written by 'aef fit'.") var model: String
    @Option(name: .shortAndLong, help: "The .onnx file to write.") var output: String
    @Option(help: "encoder (→ features), autoencoder (→ reconstruction), scorer (→ anomaly score) or decoder (codes → reconstruction).") var graph = "encoder"

    func run() throws {
        try runReportingErrors {
            guard let kind = ONNXGraphKind(rawValue: graph) else {
                throw CommandError("--graph must be encoder, autoencoder, scorer or decoder; got '\(graph)'")
            }
            let autoencoder = try Autoencoder.load(from: model)
            try autoencoder.exportONNX(kind, to: output)
            let input = kind == .decoder ? "\"codes\" [N, \(autoencoder.codeSize)]" : "\"input\" [N, \(autoencoder.inputSize)]"
            print("wrote the \(graph) graph of \(model) to \(output): input \(input)")
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model file: spec, sizes, training history, threshold; and the math this machine runs it with.")
    @Argument(help: "Model file.") var model: String

    func run() throws {
        try runReportingErrors {
            let autoencoder = try Autoencoder.load(from: model)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
            print("\(model): \(autoencoder.spec.variant.rawValue) autoencoder, \(bytes) bytes")
            print("  sample \(autoencoder.spec.inputShape) (\(autoencoder.inputSize) values) -> code \(autoencoder.codeSize); \(autoencoder.parameterCount) parameters")
            if let history = autoencoder.history {
                let validation = history.validationLoss.last.map { String(format: ", validation %.5g", $0) } ?? ""
                print(String(format: "  fitted: %d epochs (%@), final loss %.5g%@, best epoch %d", history.loss.count,
                             history.stopReason.rawValue, history.loss.last ?? .nan, validation, history.bestEpoch))
                print("  loss by epoch: " + history.loss.map { String(format: "%.5g", $0) }.joined(separator: " "))
            } else {
                print("  not fitted")
            }
            if let threshold = autoencoder.threshold {
                print(String(format: "  anomaly threshold %.5g (contamination %.3g)", threshold, autoencoder.spec.contamination))
            }
            print("  spec: \(autoencoder.spec.json)")
            // What bit-for-bit results depend on besides the model (README, Numerical contract).
            print("  math here: \(BLASInfo.description)")
        }
    }
}

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode draws from the prior of a variational or adversarial model.")
    @Argument(help: "Model file.") var model: String
    @Option(name: .shortAndLong, help: "Output file (.npy or CSV).") var output: String
    @Option(name: .shortAndLong, help: "Number of samples.") var count = 10
    @Option(help: "Seed of the draws.") var seed: UInt64 = 1

    func run() throws {
        try runReportingErrors {
            let autoencoder = try Autoencoder.load(from: model)
            let samples = try autoencoder.sample(count: count, seed: seed)
            try DataFiles.write(Table(rows: count, columns: autoencoder.inputSize, values: samples.scalars), to: output)
            print("wrote \(count) samples to \(output)")
        }
    }
}
