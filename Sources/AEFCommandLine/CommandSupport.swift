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
