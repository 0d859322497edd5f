import Foundation
import XCTest
@testable import AEFeatures
@testable import AEFeaturesCAPI

/// include/aefeatures.h is the single source of the ABI's facts: every enum constant, the version
/// and the ABI number in Swift must equal the header's, read here, in both directions.
final class CAPIConstantsTests: XCTestCase {
    /// The repository: this file is Tests/AEFeaturesTests/CAPI/CAPIConstantsTests.swift.
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func header() throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent("include/aefeatures.h"), encoding: .utf8)
    }

    /// The constants and values of `typedef enum name { ... } name;`, comments removed.
    private func constants(of name: String) throws -> [String: Int32] {
        let text = try header()
        let start = try XCTUnwrap(text.range(of: "typedef enum \(name) {"), "no enum \(name)")
        let end = try XCTUnwrap(text.range(of: "} \(name);", range: start.upperBound..<text.endIndex))
        var body = String(text[start.upperBound..<end.lowerBound])
        while let open = body.range(of: "/*"), let close = body.range(of: "*/", range: open.upperBound..<body.endIndex) {
            body.removeSubrange(open.lowerBound..<close.upperBound)
        }
        var result: [String: Int32] = [:]
        for entry in body.split(separator: ",") {
            let parts = entry.split(separator: "=").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            XCTAssertEqual(parts.count, 2, "\(name): every constant needs an explicit value: \(entry)")
            if parts.count == 2 { result[parts[0]] = Int32(parts[1]) }
        }
        return result
    }

    private func define(_ name: String) throws -> String {
        let line = try XCTUnwrap(try header().split(separator: "\n").first { $0.hasPrefix("#define \(name) ") })
        return line.dropFirst("#define \(name) ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
    }

    func testEnumsMatchTheHeader() throws {
        XCTAssertEqual(try constants(of: "aef_status"),
                       Dictionary(uniqueKeysWithValues: Status.allCases.map { ($0.name, $0.rawValue) }))
        XCTAssertEqual(try constants(of: "aef_output"),
                       Dictionary(uniqueKeysWithValues: OutputKind.allCases.map { ($0.name, $0.rawValue) }))
        XCTAssertEqual(try constants(of: "aef_onnx_graph"),
                       Dictionary(uniqueKeysWithValues: ONNXGraphID.allCases.map { ($0.name, $0.rawValue) }))
        XCTAssertEqual(ONNXGraphID.allCases.map(\.kind), ONNXGraphKind.allCases, "every graph the engine exports has an id")
        for status in Status.allCases {
            XCTAssertEqual(String(cString: aef_status_string(status.rawValue)), status.name)
        }
    }

    func testVersionsMatchTheHeader() throws {
        let version = try define("AEF_VERSION_STRING")
        XCTAssertEqual(version, try ["MAJOR", "MINOR", "PATCH"].map { try define("AEF_VERSION_\($0)") }.joined(separator: "."))
        XCTAssertEqual(AEFeaturesVersion.string, version)
        XCTAssertEqual(String(cString: aef_version()), version)
        let abi = try XCTUnwrap(UInt32(try define("AEF_ABI_VERSION")))
        XCTAssertEqual(AEFeaturesVersion.abi, abi)
        XCTAssertEqual(aef_abi_version(), abi)
        let exports = try String(contentsOf: Self.root.appendingPathComponent("Sources/AEFeaturesCAPI/exports.map"), encoding: .utf8)
        XCTAssertTrue(exports.contains("\nAEFEATURES_\(abi) {"), "the symbol-version node names the ABI")
    }
}
