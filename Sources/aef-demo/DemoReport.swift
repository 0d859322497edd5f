import AEFCommandLine
import Foundation

/// What `aef demo --report` plots, collected from the first seed: per dataset the test codes,
/// reconstructions, anomaly scores and training curves of every variant. Written as .npy files
/// under `DIR/data` with an `index.json`, so the plots can be redrawn (or drawn differently)
/// from the files alone.
struct DemoReport {
    struct Dataset: Codable {
        var classes: [String]
        var imageShape: [Int]?
        var variants: [Variant] = []
    }
    struct Variant: Codable {
        var name: String
        var file: String
    }

    private(set) var datasets: [String: Dataset] = [:]
    private var arrays: [String: Table] = [:]

    /// Starts a dataset; `labels` are the test labels the codes are coloured by.
    mutating func begin(_ dataset: String, classes: [String], labels: [Int], anomalous: [Int], imageShape: [Int]? = nil) {
        datasets[dataset] = Dataset(classes: classes, imageShape: imageShape)
        arrays["\(dataset).labels"] = Table(rows: labels.count, columns: 1, values: labels.map(Float.init))
        arrays["\(dataset).anomalous"] = Table(rows: anomalous.count, columns: 1, values: anomalous.map(Float.init))
    }

    mutating func add(_ dataset: String, _ kind: String, _ values: [Float], width: Int) {
        arrays["\(dataset).\(kind)"] = Table(rows: values.count / width, columns: width, values: values)
    }

    /// One variant's results: codes of the test rows, training loss per epoch, anomaly scores of
    /// the test rows and (for images) reconstructions of the rows `add(_, "originals", ...)` holds.
    mutating func add(_ dataset: String, variant: String, codes: [Float], codeSize: Int, loss: [Double], scores: [Float], reconstructions: [Float]? = nil) {
        let file = variant.lowercased().filter { $0.isLetter || $0.isNumber }
        datasets[dataset]?.variants.append(Variant(name: variant, file: file))
        add(dataset, "\(file).codes", codes, width: codeSize)
        add(dataset, "\(file).loss", loss.map(Float.init), width: 1)
        add(dataset, "\(file).scores", scores, width: 1)
        if let reconstructions, let width = datasets[dataset]?.imageShape?.reduce(1, *) {
            add(dataset, "\(file).reconstructions", reconstructions, width: width)
        }
    }

    /// Writes the data and the plotting script into `directory`, then runs the script with
    /// python3; a missing python3 or matplotlib only skips the plots, with a line saying how to
    /// draw them later.
    func write(to directory: String) throws {
        let dataDirectory = directory + "/data"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        for (name, table) in arrays { try DataFiles.write(table, to: "\(dataDirectory)/\(name).npy") }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(datasets).write(to: URL(fileURLWithPath: dataDirectory + "/index.json"))
        let script = directory + "/plots.py"
        guard let source = Bundle.module.url(forResource: "plots", withExtension: "py"),
              let text = try? String(contentsOf: source, encoding: .utf8) else {
            throw CommandError("the plotting script plots.py is missing from aef-demo's resources")
        }
        try text.write(toFile: script, atomically: true, encoding: .utf8)

        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", script, directory]
        let errors = Pipe()
        python.standardError = errors
        do {
            try python.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            python.waitUntilExit()
            if python.terminationStatus == 0 {
                say("wrote the plots into \(directory) (\(script))")
            } else {
                let reason = message.split(separator: "\n").last.map(String.init) ?? "exit status \(python.terminationStatus)"
                say("plots not drawn (\(reason)); with numpy and matplotlib installed, run: python3 \(script) \(directory)")
            }
        } catch {
            say("plots not drawn (cannot start python3: \(error.localizedDescription)); run later: python3 \(script) \(directory)")
        }
    }
}
