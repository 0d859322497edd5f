import AEFCommandLine
import AEFDatasets
import AEFeatures
import ArgumentParser
import Foundation

/// The main job: the reference study reproduced on its synthetic insurance data and on
/// Fashion-MNIST, every variant's features judged by a downstream logistic regression next to raw
/// inputs and PCA, and every variant's reconstruction error as an anomaly score.
@main
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aef-demo",
        abstract: "Reproduce the reference study: features from every autoencoder variant vs raw inputs and PCA, and anomaly detection, over several seeds.")

    static func main() {
        restartWithOpenBLASCoreForThisCPU()
        main(nil)
    }

    @Option(help: "Seeds for the insurance tables (each draws new policies, split, initializations and noise).") var seeds = 5
    @Option(help: "Seeds for the Fashion-MNIST tables.") var fashionSeeds = 1
    @Option(help: "Insurance policies to simulate.") var policies = 1000
    @Option(help: "Training epochs on the insurance data (the study's: 100, batch 50).") var insuranceEpochs = 100
    @Option(help: "Fashion-MNIST training images (of 60,000).") var train = 5000
    @Option(help: "Fashion-MNIST test images (of 10,000).") var test = 2000
    @Flag(help: "Use all 60,000 training and 10,000 test images.") var full = false
    @Option(help: "Training epochs on Fashion-MNIST (the study's: 50, conv2d 5; batch 100).") var epochs = 5
    @Option(help: "Fashion-MNIST class treated as normal in the anomaly table (0-9).") var normalClass = 0
    @Option(help: "Directory holding the Fashion-MNIST IDX files.") var data = FashionMNIST.defaultDirectory
    @Option(help: "Write the tables (Markdown, CSV) and plots (PNG, drawn by python3 with matplotlib) into this directory.") var report: String?
    @Option(help: "Only the rows whose names contain one of these comma-separated words (baselines always run).") var rows: String?
    @Option(help: "Write the first seed's feature sets (.npy), labels and the metric of each into this directory.") var saveFeatures: String?

    func run() throws {
        try runReportingErrors {
            guard seeds >= 1, fashionSeeds >= 1, policies >= 20, (0..<10).contains(normalClass) else {
                throw CommandError("--seeds and --fashion-seeds must be >= 1, --policies >= 20 and --normal-class 0-9")
            }
            let started = Date()
            var plots = DemoReport()
            var dump = try saveFeatures.map { try FeatureDump(directory: $0) }
            var tables = try insuranceTables(&plots, &dump)
            if FileManager.default.fileExists(atPath: data + "/train-images-idx3-ubyte.gz") {
                tables += try fashionTables(&plots, &dump)
            } else {
                say("Fashion-MNIST not found under \(data) (Debian package dataset-fashion-mnist): its tables are skipped.")
            }
            try dump?.finish()
            if let report {
                try write(tables, to: report)
                try plots.write(to: report)
            }
            say(String(format: "Done in %.0f s.", Date().timeIntervalSince(started)))
        }
    }

    /// Whether `--rows` selects a row.
    func selected(_ name: String) -> Bool {
        guard let rows else { return true }
        return rows.split(separator: ",").contains { name.localizedCaseInsensitiveContains($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// A fitted model of `spec` with the demo's seed, epochs and batch size.
    func fitted(_ spec: String, seed: UInt64, epochs: Int, batch: Int, rows: [Float], width: Int) throws -> Autoencoder {
        var object = try JSONSerialization.jsonObject(with: Data(spec.utf8)) as! [String: Any]
        var training = object["training"] as? [String: Any] ?? [:]
        training["epochs"] = epochs
        training["batch_size"] = batch
        object["training"] = training
        object["seed"] = seed
        let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        let model = try Autoencoder(json: json)
        try model.fit(Tensor.rows(rows, width: width))
        return model
    }

    /// The downstream judge of one data set: the study's min-max scaling and L2 logistic regression
    /// (C = 1, to convergence) on each feature set, its metric collected per row and seed.
    private struct Judge {
        let dataset: String
        let classes: Int
        let trainLabels: [Int], testLabels: [Int]
        let seed: UInt64

        /// AUROC % (two classes) or accuracy % of the features, saved by `dump` for the first seed.
        func score(_ name: String, _ train: [Float], _ test: [Float], into results: inout Results, dump: inout FeatureDump?) throws {
            let model = LogisticRegression(features: train, labels: trainLabels, classes: classes)
            if !model.converged {
                say("  warning: the logistic regression on \(name) stopped after \(model.iterations) iterations before converging")
            }
            let value = 100 * (classes == 2 ? auroc(model.decisionScores(features: test), testLabels)
                                             : model.accuracy(features: test, labels: testLabels))
            results.add(name, value)
            if seed == 1 {
                try dump?.save(dataset: dataset, row: name, train: train, test: test, width: model.features,
                               trainLabels: trainLabels, testLabels: testLabels, metric: value)
            }
        }
    }

    /// A metric per row and seed, rows in first-seen order.
    struct Results {
        private(set) var order: [String] = []
        private(set) var values: [String: [Double]] = [:]

        mutating func add(_ name: String, _ value: Double) {
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(value)
        }

        func rows(_ reported: [String: Double]) -> [Table.Row] {
            order.map { Table.Row(name: $0, values: values[$0]!, reported: reported[$0]) }
        }
    }

    // MARK: Insurance

    /// The insurance tables; the first seed's codes, scores and curves go into `plots`.
    private func insuranceTables(_ plots: inout DemoReport, _ dump: inout FeatureDump?) throws -> [Table] {
        say("Insurance (simulated, \(policies) policies, 70/30 split, \(seeds) seed\(seeds == 1 ? "" : "s"), \(insuranceEpochs) epochs of batch 50): AUROC of the study's logistic regression on each feature set")
        let networks = (StudyNetworks.insurance() + StudyNetworks.oursInsurance()).filter { selected($0.name) }
        let onHandcrafted = StudyNetworks.insuranceOnHandcrafted().filter { selected($0.name) }
        var features = Results(), anomalies = Results()
        var ceiling: [Double] = []
        let width = 12
        for seed in 1...UInt64(seeds) {
            let seedStarted = Date()
            let data = InsuranceData(policies: policies, seed: seed)
            var rng = RandomSource(seed: seed, stream: .split)
            let order = rng.permutation(policies), trainCount = policies * 7 / 10
            let pick = { (indices: ArraySlice<Int>) in indices.flatMap { data.rows[($0 * width)..<($0 * width + width)] } }
            let (trainRows, testRows) = (pick(order[..<trainCount]), pick(order[trainCount...]))
            let (trainLabels, testLabels) = (order[..<trainCount].map { data.labels[$0] }, order[trainCount...].map { data.labels[$0] })
            let judge = Judge(dataset: "insurance", classes: 2, trainLabels: trainLabels, testLabels: testLabels, seed: seed)
            func score(_ name: String, _ train: [Float], _ test: [Float]) throws {
                try judge.score(name, train, test, into: &features, dump: &dump)
            }
            ceiling.append(100 * auroc(InsuranceData.bayesScores(testRows), testLabels))
            try score("raw inputs", trainRows, testRows)
            let scale = MinMax(trainRows, width: width)
            let pca = try PCA(rows: scale(trainRows), width: width, variance: 0.99)
            try score("PCA (99% variance)", pca.project(scale(trainRows)), pca.project(scale(testRows)))
            let (handTrain, handTest) = (InsuranceData.handcrafted(trainRows), InsuranceData.handcrafted(testRows))
            try score("handcrafted", handTrain, handTest)
            let handScale = MinMax(handTrain, width: width)
            let handPCA = try PCA(rows: handScale(handTrain), width: width, variance: 0.99)
            try score("handcrafted + PCA (99%)", handPCA.project(handScale(handTrain)), handPCA.project(handScale(handTest)))

            let normal = trainLabels.indices.filter { trainLabels[$0] == 0 }
            let normalRows = normal.flatMap { trainRows[($0 * width)..<($0 * width + width)] }
            if seed == 1 { plots.begin("insurance", classes: ["low risk", "high risk"], labels: testLabels, anomalous: testLabels) }
            for network in networks {
                let epochs = insuranceEpochs * network.epochFactor
                let model = try fitted(network.spec, seed: seed, epochs: epochs, batch: 50, rows: trainRows, width: width)
                let codes = try model.encode(Tensor.rows(testRows, width: width)).scalars
                let trainCodes = try model.encode(Tensor.rows(trainRows, width: width)).scalars
                try score(network.name, trainCodes, codes)
                if network.name == "dense" {
                    try score("raw inputs + dense code", concatenate(trainRows, width, trainCodes, model.codeSize),
                              concatenate(testRows, width, codes, model.codeSize))
                }
                let detector = try fitted(network.spec, seed: seed, epochs: epochs, batch: 50, rows: normalRows, width: width)
                let scores = try detector.anomalyScores(Tensor.rows(testRows, width: width))
                anomalies.add(network.name, 100 * auroc(scores, testLabels))
                if seed == 1 {
                    plots.add("insurance", variant: network.name, codes: codes, codeSize: model.codeSize,
                              loss: model.history?.loss ?? [], scores: scores)
                }
            }
            for network in onHandcrafted {
                let model = try fitted(network.spec, seed: seed, epochs: insuranceEpochs, batch: 50, rows: handTrain, width: width)
                try score(network.name, try model.encode(Tensor.rows(handTrain, width: width)).scalars,
                          try model.encode(Tensor.rows(handTest, width: width)).scalars)
            }
            say("  seed \(seed) " + String(format: "(%.0f s)", Date().timeIntervalSince(seedStarted)))
        }
        // The study's numbers for the baselines; every other row comes from an autoencoder.
        let baselines = ["raw inputs": 92.21, "PCA (99% variance)": 91.13, "handcrafted": 93.61, "handcrafted + PCA (99%)": 93.16]
        var reported = baselines
        for network in networks + onHandcrafted { reported[network.name] = network.reported }
        let bound = meanAndSpread(ceiling)
        // The autoencoder row closest to the ceiling, with its gap seed by seed.
        let best = features.order.filter { baselines[$0] == nil }.max {
            meanAndSpread(features.values[$0]!).mean < meanAndSpread(features.values[$1]!).mean
        }
        let gap = best.map { meanAndSpread(zip(ceiling, features.values[$0]!).map { $0 - $1 }) }
        let featureTable = Table(
            title: "Insurance: downstream AUROC (%)", metric: "AUROC %", rows: features.rows(reported), reference: "raw inputs",
            note: String(format: "Bayes-optimal ceiling (exact likelihood ratio on the same test rows): %.1f ± %.1f. ", bound.mean, bound.spread)
                + (best.map { "The best autoencoder row, \($0), is " + String(format: "%.1f ± %.1f points below it (paired, same seeds). ", gap!.mean, gap!.spread) } ?? "")
                + "The study's numbers are from one unseeded split (standard error about 1.9 points); its dense and denoising "
                + "rows came from networks trained on the handcrafted features.")
        let anomalyTable = Table(
            title: "Insurance: high-risk policies as anomalies, AUROC (%) of reconstruction-error scores (trained on low-risk policies)",
            metric: "AUROC %", rows: anomalies.rows([:]), reference: nil,
            note: String(format: "The ceiling above (%.1f) bounds any score of these policies.", bound.mean))
        featureTable.print()
        anomalyTable.print()
        return [featureTable, anomalyTable]
    }

    // MARK: Fashion-MNIST

    /// The Fashion-MNIST tables; the first seed's codes, scores, curves and reconstructions go into `plots`.
    private func fashionTables(_ plots: inout DemoReport, _ dump: inout FeatureDump?) throws -> [Table] {
        let (trainLimit, testLimit) = full ? (60_000, 10_000) : (train, test)
        let trainSet = try FashionMNIST(split: .train, limit: trainLimit, directory: data)
        let testSet = try FashionMNIST(split: .test, limit: testLimit, directory: data)
        say("Fashion-MNIST (\(trainSet.labels.count) training, \(testSet.labels.count) test images, \(epochs) epochs of batch 100, \(fashionSeeds) seed\(fashionSeeds == 1 ? "" : "s")): test accuracy of the study's logistic regression on each feature set")
        let networks = (StudyNetworks.images() + StudyNetworks.oursImages()).filter { selected($0.name) }
        var accuracy = Results(), anomalies = Results(), planar = Results()
        let x = trainSet.images.scalars, xt = testSet.images.scalars
        let normal = (0..<trainSet.labels.count).filter { trainSet.labels[$0] == normalClass }
        let normalRows = normal.flatMap { x[($0 * 784)..<($0 * 784 + 784)] }
        let anomalous = testSet.labels.map { $0 == normalClass ? 0 : 1 }
        plots.begin("fashion-mnist", classes: FashionMNIST.classNames, labels: testSet.labels, anomalous: anomalous, imageShape: [28, 28])
        let shown = (0..<10).compactMap { testSet.labels.firstIndex(of: $0) }
        let originals = try Tensor.rows(shown.flatMap { xt[($0 * 784)..<($0 * 784 + 784)] }, width: 784)
        plots.add("fashion-mnist", "originals", originals.scalars, width: 784)
        var pcaName = "PCA (99% variance)"
        for seed in 1...UInt64(fashionSeeds) {
            let judge = Judge(dataset: "fashion-mnist", classes: 10, trainLabels: trainSet.labels, testLabels: testSet.labels, seed: seed)
            func score(_ name: String, _ train: [Float], _ test: [Float]) throws {
                try judge.score(name, train, test, into: &accuracy, dump: &dump)
            }
            try score("raw inputs", x, xt)
            let pca = try PCA(rows: x, width: 784, variance: 0.99)
            pcaName = "PCA (99% variance, \(pca.components.count) components)"
            try score(pcaName, pca.project(x), pca.project(xt))
            if selected("2-D") {
                try twoDimensional(pca: pca.leading(2), seed: seed, train: x, test: xt, trainLabels: trainSet.labels,
                                   testLabels: testSet.labels, into: &planar, plots: &plots)
            }
            for network in networks {
                let rowStarted = Date()
                let model = try fitted(network.spec, seed: seed, epochs: epochs, batch: 100, rows: x, width: 784)
                let codes = try model.encode(testSet.images).scalars, trainCodes = try model.encode(trainSet.images).scalars
                try score(network.name, trainCodes, codes)
                if network.name.hasPrefix("conv2d (ours") {
                    try score("raw pixels + " + network.name, concatenate(x, 784, trainCodes, model.codeSize),
                              concatenate(xt, 784, codes, model.codeSize))
                }
                let detector = try fitted(network.spec, seed: seed, epochs: epochs, batch: 100, rows: normalRows, width: 784)
                let scores = try detector.anomalyScores(testSet.images)
                anomalies.add(network.name, 100 * auroc(scores, anomalous))
                if seed == 1 {
                    plots.add("fashion-mnist", variant: network.name, codes: codes, codeSize: model.codeSize, loss: model.history?.loss ?? [],
                              scores: scores, reconstructions: try model.reconstruct(originals).scalars)
                }
                say("  seed \(seed): \(network.name) " + String(format: "(%.0f s: features, downstream model, detector)", Date().timeIntervalSince(rowStarted)))
            }
        }
        var reported = ["raw inputs": 92.00, pcaName: 91.43]
        for network in networks { reported[network.name] = network.reported }
        let featureTable = Table(
            title: "Fashion-MNIST: downstream test accuracy (%)", metric: "accuracy %", rows: accuracy.rows(reported), reference: "raw inputs",
            note: "The study's numbers are on MNIST digits (same shapes, easier classes): compare rows with each other, not with them. "
                + "Its PCA row (91.43) refit the raw baseline.")
        let anomalyTable = Table(
            title: "Fashion-MNIST: '\(FashionMNIST.classNames[normalClass])' as normal, other classes as anomalies, AUROC (%) of reconstruction-error scores",
            metric: "AUROC %", rows: anomalies.rows([:]), reference: nil,
            note: "Each autoencoder trained on the \(normal.count) training images of the normal class only.")
        featureTable.print()
        anomalyTable.print()
        guard !planar.order.isEmpty else { return [featureTable, anomalyTable] }
        let planarTable = twoDimensionalTable(planar)
        planarTable.print()
        return [featureTable, anomalyTable, planarTable]
    }

    /// Rows of a (n x aWidth) and b (n x bWidth) side by side.
    private func concatenate(_ a: [Float], _ aWidth: Int, _ b: [Float], _ bWidth: Int) -> [Float] {
        let n = a.count / aWidth
        var out: [Float] = []
        out.reserveCapacity(n * (aWidth + bWidth))
        for r in 0..<n { out += a[(r * aWidth)..<((r + 1) * aWidth)]; out += b[(r * bWidth)..<((r + 1) * bWidth)] }
        return out
    }

    // MARK: Tables

    /// One result table: a value per seed per row, printed as mean ± sd, the study's number
    /// beside it, and each row's paired difference from the reference row (same seeds).
    struct Table {
        struct Row {
            let name: String
            let values: [Double]
            let reported: Double?
        }
        let title: String
        let metric: String
        let rows: [Row]
        /// The row the others are compared with, seed by seed.
        let reference: String?
        let note: String

        func cells(_ row: Row) -> [String] {
            let (mean, spread) = meanAndSpread(row.values)
            var cells = [row.name, String(format: "%.1f ± %.1f", mean, spread), row.reported.map { String(format: "%.1f", $0) } ?? ""]
            guard let reference, let base = rows.first(where: { $0.name == reference }) else { return cells }
            if row.name == reference { return cells + ["", ""] }
            let differences = zip(row.values, base.values).map { $0 - $1 }
            let (gain, gainSpread) = meanAndSpread(differences)
            // With one seed there is no spread: differences under 0.05 points count as equal.
            let margin = max(gainSpread, 0.05)
            let verdict = gain > margin ? "above \(reference)" : gain < -margin ? "below \(reference)" : "within the spread of \(reference)"
            cells += [String(format: "%+.1f ± %.1f", gain, gainSpread), verdict]
            return cells
        }

        var header: [String] {
            ["features", "\(metric) (mean ± sd over seeds)", "study"] + (reference.map { ["vs \($0) (paired, same seeds)", ""] } ?? [])
        }

        func print() {
            say("")
            say(title)
            let table = [header] + rows.map(cells)
            let widths = header.indices.map { column in table.map { $0[column].count }.max()! }
            for line in table {
                say("  " + line.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 2, withPad: " ", startingAt: 0) }.joined())
            }
            say("  " + note)
        }

        var markdown: String {
            var out = "## \(title)\n\n| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
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
        let markdown = "# aef demo\n\nSeeds: \(seeds) (insurance), \(fashionSeeds) (Fashion-MNIST). Numbers as measured by `aef demo` with these settings.\n\n" + tables.map(\.markdown).joined(separator: "\n")
        try markdown.write(toFile: directory + "/tables.md", atomically: true, encoding: .utf8)
        try ("table,features," + (1...max(seeds, fashionSeeds)).map { "seed\($0)" }.joined(separator: ",") + "\n" + tables.map(\.csv).joined())
            .write(toFile: directory + "/tables.csv", atomically: true, encoding: .utf8)
        say("wrote \(directory)/tables.md and \(directory)/tables.csv")
    }
}

extension Tensor {
    static func rows(_ values: [Float], width: Int) throws -> Tensor {
        try Tensor(shape: [values.count / width, width], scalars: values)
    }
}
