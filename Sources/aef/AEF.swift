import AEFDatasets
import AEFeatures
import ArgumentParser
import Foundation

@main
struct AEF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aef",
        abstract: "Autoencoder features and anomaly scores.",
        subcommands: [Demo.self, Fit.self, Transform.self, Reconstruct.self, Score.self, Calibrate.self, ExportONNX.self, Info.self, Sample.self])
}

/// Prints a line at once, so progress shows while the next step runs.
func say(_ line: String) {
    print(line)
    fflush(stdout)
}
