/// What the command-line tools (`aef`, `aef-demo`) share: one-line errors and prompt progress lines.
import AEFeatures
import ArgumentParser
import Foundation

/// Runs a command body, turning any failure into one line on stderr and exit status 1.
public func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CommandError {
        fail(error.description)
    } catch let error as AEError {
        fail(error.description)
    } catch let error as CleanExit {
        throw error
    } catch {
        fail("\(error)")
    }
}

/// The message on stderr after the tool's name, then exit status 1.
func fail(_ message: String) -> Never {
    let tool = CommandLine.arguments.first?.split(separator: "/").last.map(String.init) ?? "aef"
    FileHandle.standardError.write(Data("\(tool): \(message)\n".utf8))
    exit(1)
}

/// Prints a line at once, so progress shows while the next step runs.
public func say(_ line: String) {
    print(line)
    fflush(stdout)
}

/// Runs this program again with OPENBLAS_CORETYPE set to the core whose kernels use this CPU's
/// widest vector unit (`BLASInfo.coreForThisCPU`), when the variable is unset and OpenBLAS picked
/// another core: an OpenBLAS older than the CPU runs Prescott's SSE3 kernels there, and it reads
/// the variable only while it loads, before any of our code runs. A user's own setting is kept.
/// Returns when there is nothing to do, or when exec fails (the program goes on, slower).
public func restartWithOpenBLASCoreForThisCPU() {
    guard getenv("OPENBLAS_CORETYPE") == nil, let core = BLASInfo.coreForThisCPU,
          core.lowercased() != BLASInfo.core.lowercased() else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
}
