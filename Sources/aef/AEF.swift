import AEFCommandLine
import ArgumentParser

@main
struct AEF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aef",
        abstract: "Autoencoder features and anomaly scores. (The reference study's demo is its own tool: aef-demo.)",
        subcommands: [Fit.self, Transform.self, Reconstruct.self, Score.self, Calibrate.self, ExportONNX.self, Info.self, Sample.self])

    static func main() {
        restartWithOpenBLASCoreForThisCPU()
        main(nil)
    }
}
