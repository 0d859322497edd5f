import AEFDatasets
import AEFeatures
import ArgumentParser
import Foundation

/// The main job: the reference study reproduced on its synthetic insurance data and on
/// Fashion-MNIST, every variant's features judged by a downstream logistic regression next to raw
/// inputs and PCA, and every variant's reconstruction error as an anomaly score.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce the reference study: features from every autoencoder variant vs raw inputs and PCA, and anomaly detection, over several seeds.")

    @Option(help: "Seeds (each draws new data splits, initialisations and noise).") var seeds = 3
    @Option(help: "Insurance policies to simulate.") var policies = 1000
    @Option(help: "Training epochs on the insurance data.") var insuranceEpochs = 60
    @Option(help: "Fashion-MNIST training images (of 60,000).") var train = 5000
    @Option(help: "Fashion-MNIST test images (of 10,000).") var test = 2000
    @Flag(help: "Use all 60,000 training and 10,000 test images.") var full = false
    @Option(help: "Training epochs on Fashion-MNIST.") var epochs = 8
    @Option(help: "Fashion-MNIST class treated as normal in the anomaly table (0-9).") var normalClass = 0
    @Option(help: "Directory holding the Fashion-MNIST IDX files.") var data = FashionMNIST.defaultDirectory
    @Option(help: "Write the tables (Markdown, CSV) and plots (PNG, drawn by python3 with matplotlib) into this directory.") var report: String?

    func run() throws {
        try runReportingErrors {
            guard seeds >= 1, policies >= 20, (0..<10).contains(normalClass) else {
                throw CommandError("--seeds must be ≥ 1, --policies ≥ 20 and --normal-class 0-9")
            }
            let started = Date()
            var plots = DemoReport()
            var tables = try insuranceTables(&plots)
            if FileManager.default.fileExists(atPath: data + "/train-images-idx3-ubyte.gz") {
                tables += try fashionTables(&plots)
            } else {
                say("Fashion-MNIST not found under \(data) (Debian package dataset-fashion-mnist): its tables are skipped.")
            }
            if let report {
                try write(tables, to: report)
                try plots.write(to: report)
            }
            say(String(format: "Done in %.0f s.", Date().timeIntervalSince(started)))
        }
    }

    // MARK: The variants

    /// Every variant's spec for samples of `shape`, without seed and training settings.
    private func variants(shape: [Int], hidden: Int, code: Int, conv: (filters: Int, kernel: Int, pool: Int?)) -> [(name: String, spec: String)] {
        let flat = "\"input_shape\":[\(shape.reduce(1, *))],\"hidden_units\":[\(hidden)],\"code_size\":\(code)"
        let pool = conv.pool.map { ",\"pool\":\($0)" } ?? ""
        let block = "{\"filters\":\(conv.filters),\"kernel\":\(conv.kernel)\(pool)}"
        let seq = shape.count == 1 ? [shape[0], 1] : [shape[0], shape.dropFirst().reduce(1, *)]
        return [
            ("dense", "{\(flat)}"),
            ("denoising", "{\"variant\":\"denoising\",\(flat)}"),
            ("sparse (KL)", "{\"variant\":\"sparse\",\(flat)}"),
            ("contractive", "{\"variant\":\"contractive\",\(flat)}"),
            ("conv1d", "{\"variant\":\"conv1d\",\"input_shape\":[\(seq[0]),\(seq[1])],\"code_size\":\(code),\"conv_blocks\":[\(block)]}"),
            ("conv2d", "{\"variant\":\"conv2d\",\"input_shape\":[\(seq[0]),\(seq[1]),1],\"code_size\":\(code),\"conv_blocks\":[\(block)]}"),
            ("seq2seq (LSTM)", "{\"variant\":\"seq2seq\",\"input_shape\":[\(seq[0]),\(seq[1])],\"hidden_units\":[\(hidden)],\"code_size\":\(code),\"training\":{\"clip_norm\":1}}"),
            ("variational", "{\"variant\":\"variational\",\(flat)}"),
            ("adversarial", "{\"variant\":\"adversarial\",\(flat)}"),
        ]
    }

    /// A fitted model of `spec` with the demo's training settings.
    private func fitted(_ spec: String, seed: UInt64, epochs: Int, batch: Int, rows: [Float], count: Int) throws -> Autoencoder {
        var object = try JSONSerialization.jsonObject(with: Data(spec.utf8)) as! [String: Any]
        var training = object["training"] as? [String: Any] ?? [:]
        training["epochs"] = epochs
        training["batch_size"] = batch
        object["training"] = training
        object["seed"] = seed
        let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        let model = try Autoencoder(json: json)
        try model.fit(Tensor(shape: [count, rows.count / count], scalars: rows))
        return model
    }

    // MARK: Insurance

    /// The insurance tables; the first seed's codes, scores and curves go into `plots`.
    private func insuranceTables(_ plots: inout DemoReport) throws -> [Table] {
        say("Insurance (simulated, \(policies) policies, 70/30 split, \(seeds) seed\(seeds == 1 ? "" : "s")): AUROC of a logistic regression on each feature set")
        let specs = variants(shape: [4, 3], hidden: 16, code: 8, conv: (8, 2, nil))
        var features: [String: [Double]] = [:], anomalies: [String: [Double]] = [:]
        var ceiling: [Double] = []
        for seed in 1...UInt64(seeds) {
            let data = InsuranceData(policies: policies, seed: seed)
            var rng = RandomSource(seed: seed, stream: .split)
            let order = rng.permutation(policies), trainCount = policies * 7 / 10
            let pick = { (indices: ArraySlice<Int>) in indices.flatMap { data.rows[($0 * 12)..<($0 * 12 + 12)] } }
            let (trainRows, testRows) = (pick(order[..<trainCount]), pick(order[trainCount...]))
            let (trainLabels, testLabels) = (order[..<trainCount].map { data.labels[$0] }, order[trainCount...].map { data.labels[$0] })
            func score(_ name: String, _ train: [Float], _ test: [Float]) {
                let model = SoftmaxRegression(features: train, labels: trainLabels, classes: 2, seed: seed)
                features[name, default: []].append(auroc(model.decisionScores(features: test), testLabels))
            }
            ceiling.append(auroc(InsuranceData.bayesScores(testRows), testLabels))
            let (lo, hi) = columnRange(trainRows, width: 12)
            let scaled = { (x: [Float]) in x.enumerated().map { ($0.element - lo[$0.offset % 12]) / max(hi[$0.offset % 12] - lo[$0.offset % 12], 1e-12) } }
            score("raw inputs", scaled(trainRows), scaled(testRows))
            let pca = try PCA(rows: scaled(trainRows), width: 12, variance: 0.99)
            score("PCA (99% variance)", pca.project(scaled(trainRows)), pca.project(scaled(testRows)))
            score("handcrafted", InsuranceData.handcrafted(trainRows), InsuranceData.handcrafted(testRows))
            let normalRows = zip(trainLabels.indices, trainLabels).filter { $0.1 == 0 }.flatMap { trainRows[($0.0 * 12)..<($0.0 * 12 + 12)] }
            if seed == 1 { plots.begin("insurance", classes: ["low risk", "high risk"], labels: testLabels, anomalous: testLabels) }
            for (name, spec) in specs {
                let model = try fitted(spec, seed: seed, epochs: insuranceEpochs, batch: 32, rows: trainRows, count: trainCount)
                let test = try Tensor.rows(testRows, width: 12), codes = try model.encode(test).scalars
                score(name, try model.encode(try Tensor.rows(trainRows, width: 12)).scalars, codes)
                let detector = try fitted(spec, seed: seed, epochs: insuranceEpochs, batch: 32, rows: normalRows, count: normalRows.count / 12)
                let scores = try detector.anomalyScores(test)
                anomalies[name, default: []].append(auroc(scores, testLabels))
                if seed == 1 {
                    plots.add("insurance", variant: name, codes: codes, codeSize: model.codeSize, loss: model.history?.loss ?? [], scores: scores)
                }
            }
        }
        let bound = meanAndSpread(ceiling)
        let order = ["raw inputs", "PCA (99% variance)", "handcrafted"] + specs.map(\.name)
        let featureTable = Table(title: "Insurance: downstream AUROC (%)", metric: "AUROC %",
                                 rows: order.map { ($0, features[$0]!.map { 100 * $0 }) }, reference: ("raw inputs", 100 * meanAndSpread(features["raw inputs"]!).mean),
                                 note: String(format: "Bayes-optimal ceiling (exact likelihood ratio on the same test rows): %.1f ± %.1f", 100 * bound.mean, 100 * bound.spread))
        let anomalyTable = Table(title: "Insurance: high-risk policies as anomalies, AUROC (%) of reconstruction-error scores (trained on low-risk policies)",
                                 metric: "AUROC %", rows: specs.map { ($0.name, anomalies[$0.name]!.map { 100 * $0 }) }, reference: nil,
                                 note: String(format: "The ceiling above (%.1f) bounds any score of these policies.", 100 * bound.mean))
        featureTable.print()
        anomalyTable.print()
        return [featureTable, anomalyTable]
    }

    // MARK: Fashion-MNIST

    /// The Fashion-MNIST tables; the first seed's codes, scores, curves and reconstructions go into `plots`.
    private func fashionTables(_ plots: inout DemoReport) throws -> [Table] {
        let (trainLimit, testLimit) = full ? (60_000, 10_000) : (train, test)
        let trainSet = try FashionMNIST(split: .train, limit: trainLimit, directory: data)
        let testSet = try FashionMNIST(split: .test, limit: testLimit, directory: data)
        say("Fashion-MNIST (\(trainSet.labels.count) training, \(testSet.labels.count) test images, \(epochs) epochs, \(seeds) seed\(seeds == 1 ? "" : "s")): test accuracy of a logistic regression on each feature set")
        let specs = variants(shape: [28, 28], hidden: 256, code: 32, conv: (16, 3, 4))
        var accuracy: [String: [Double]] = [:], anomalies: [String: [Double]] = [:]
        let x = trainSet.images.scalars, xt = testSet.images.scalars
        let normal = (0..<trainSet.labels.count).filter { trainSet.labels[$0] == normalClass }
        let normalRows = normal.flatMap { x[($0 * 784)..<($0 * 784 + 784)] }
        let anomalous = testSet.labels.map { $0 == normalClass ? 0 : 1 }
        plots.begin("fashion-mnist", classes: FashionMNIST.classNames, labels: testSet.labels, anomalous: anomalous, imageShape: [28, 28])
        let shown = (0..<10).compactMap { testSet.labels.firstIndex(of: $0) }
        let originals = try Tensor.rows(shown.flatMap { xt[($0 * 784)..<($0 * 784 + 784)] }, width: 784)
        plots.add("fashion-mnist", "originals", originals.scalars, width: 784)
        for seed in 1...UInt64(seeds) {
            func score(_ name: String, _ train: [Float], _ test: [Float]) {
                let model = SoftmaxRegression(features: train, labels: trainSet.labels, classes: 10, seed: seed)
                accuracy[name, default: []].append(100 * model.accuracy(features: test, labels: testSet.labels))
            }
            score("raw inputs", x, xt)
            let pca = try PCA(rows: x, width: 784, variance: 0.99)
            score("PCA (99% variance, \(pca.components.count) components)", pca.project(x), pca.project(xt))
            for (name, spec) in specs {
                say("  seed \(seed): \(name)")
                let model = try fitted(spec, seed: seed, epochs: epochs, batch: 128, rows: x, count: trainSet.labels.count)
                let codes = try model.encode(testSet.images).scalars
                score(name, try model.encode(trainSet.images).scalars, codes)
                let detector = try fitted(spec, seed: seed, epochs: epochs, batch: 128, rows: normalRows, count: normal.count)
                let scores = try detector.anomalyScores(testSet.images)
                anomalies[name, default: []].append(100 * auroc(scores, anomalous))
                if seed == 1 {
                    plots.add("fashion-mnist", variant: name, codes: codes, codeSize: model.codeSize, loss: model.history?.loss ?? [],
                              scores: scores, reconstructions: try model.reconstruct(originals).scalars)
                }
            }
        }
        let baselines = accuracy.keys.filter { $0.hasPrefix("raw") || $0.hasPrefix("PCA") }.sorted { $0.hasPrefix("raw") && !$1.hasPrefix("raw") }
        let featureTable = Table(title: "Fashion-MNIST: downstream test accuracy (%)", metric: "accuracy %",
                                 rows: (baselines + specs.map(\.name)).map { ($0, accuracy[$0]!) }, reference: ("raw inputs", meanAndSpread(accuracy["raw inputs"]!).mean),
                                 note: "Logistic regression (softmax, L2 1e-4, Adam, 30 epochs, standardised features) trained on the same training images.")
        let anomalyTable = Table(title: "Fashion-MNIST: '\(FashionMNIST.classNames[normalClass])' as normal, other classes as anomalies, AUROC (%) of reconstruction-error scores",
                                 metric: "AUROC %", rows: specs.map { ($0.name, anomalies[$0.name]!) }, reference: nil,
                                 note: "Each autoencoder trained on the \(normal.count) training images of the normal class only.")
        featureTable.print()
        anomalyTable.print()
        return [featureTable, anomalyTable]
    }

    private func columnRange(_ x: [Float], width: Int) -> (low: [Float], high: [Float]) {
        var low = [Float](repeating: .infinity, count: width), high = [Float](repeating: -.infinity, count: width)
        for (i, v) in x.enumerated() { low[i % width] = min(low[i % width], v); high[i % width] = max(high[i % width], v) }
        return (low, high)
    }

    // MARK: Tables

    /// One result table: a value per seed per row, printed as mean ± spread.
    struct Table {
        let title: String
        let metric: String
        let rows: [(name: String, values: [Double])]
        /// A row to compare against: rows below its mean say so.
        let reference: (name: String, mean: Double)?
        let note: String

        func cells(_ row: (name: String, values: [Double])) -> [String] {
            let (mean, spread) = meanAndSpread(row.values)
            var remark = ""
            if let reference, row.name != reference.name, mean < reference.mean {
                remark = "below \(reference.name)"
            }
            return [row.name, String(format: "%.1f ± %.1f", mean, spread), remark]
        }

        func print() {
            say("")
            say(title)
            let width = rows.map(\.name.count).max() ?? 10
            for row in rows {
                let c = cells(row)
                say("  " + c[0].padding(toLength: width + 2, withPad: " ", startingAt: 0) + c[1].padding(toLength: 14, withPad: " ", startingAt: 0) + c[2])
            }
            say("  " + note)
        }

        var markdown: String {
            var out = "## \(title)\n\n| features | \(metric) (mean ± sd over seeds) | |\n|---|---|---|\n"
            for row in rows { out += "| " + cells(row).joined(separator: " | ") + " |\n" }
            return out + "\n\(note)\n"
        }

        var csv: String {
            rows.map { row in "\"\(title)\",\"\(row.name)\"," + row.values.map { String(format: "%.4f", $0) }.joined(separator: ",") }
                .joined(separator: "\n") + "\n"
        }
    }

    private func write(_ tables: [Table], to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let markdown = "# aef demo\n\nSeeds: \(seeds). Numbers as measured by `aef demo` with these settings.\n\n" + tables.map(\.markdown).joined(separator: "\n")
        try markdown.write(toFile: directory + "/tables.md", atomically: true, encoding: .utf8)
        try ("table,features," + (1...seeds).map { "seed\($0)" }.joined(separator: ",") + "\n" + tables.map(\.csv).joined())
            .write(toFile: directory + "/tables.csv", atomically: true, encoding: .utf8)
        say("wrote \(directory)/tables.md and \(directory)/tables.csv")
    }
}

extension Tensor {
    static func rows(_ values: [Float], width: Int) throws -> Tensor {
        try Tensor(shape: [values.count / width, width], scalars: values)
    }
}
