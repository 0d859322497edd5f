import Foundation
import XCTest
@testable import AEFeatures

final class ModelFileTests: XCTestCase {
    private func fittedModel() throws -> (Autoencoder, Tensor) {
        let x = structuredData(rows: 300, width: 12, seed: 31)
        let model = try Autoencoder(json: #"{"variant":"sparse","input_shape":[12],"hidden_units":[8],"code_size":3,"batch_norm":true,"scaling":"standard","output_activation":"identity","sparsity":{"type":"l1"},"training":{"epochs":3,"validation_split":0.2}}"#)
        try model.fit(x)
        return (model, x)
    }

    func testRoundTripIsBitIdentical() throws {
        let (model, x) = try fittedModel()
        let copy = try Autoencoder.deserialize(try model.serialized())
        XCTAssertEqual(copy.spec, model.spec)
        XCTAssertEqual(copy.history, model.history)
        XCTAssertEqual(copy.threshold, model.threshold)
        XCTAssertEqual(copy.scaler, model.scaler)
        XCTAssertEqual(copy.network.parameters.snapshot(), model.network.parameters.snapshot())
        XCTAssertTrue(try copy.reconstruct(x) == model.reconstruct(x))
        XCTAssertEqual(try copy.serialized(), try model.serialized())
    }

    func testCRC32MatchesTheBytewiseDefinition() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)  // the standard check value
        // Every length and start offset around the 8-byte steps, against the byte-at-a-time loop.
        var rng = RandomSource(seed: 3)
        let bytes = (0..<300).map { _ in UInt8(rng.uniform() * 255) }
        func bytewise(_ slice: ArraySlice<UInt8>) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in slice {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return c ^ 0xFFFF_FFFF
        }
        for start in 0..<9 {
            for end in start..<(start + 40) {
                XCTAssertEqual(CRC32.checksum(Array(bytes[start..<end])), bytewise(bytes[start..<end]), "\(start)..<\(end)")
            }
        }
        bytes.withUnsafeBytes { raw in
            XCTAssertEqual(CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[3..<299])), bytewise(bytes[3..<299]))
        }
    }

    func testCorruptionIsDetected() throws {
        let (model, _) = try fittedModel()
        let bytes = try model.serialized()
        for cut in [0, 10, 59, bytes.count / 2, bytes.count - 1] {
            XCTAssertThrowsError(try Autoencoder.deserialize(Array(bytes.prefix(cut)))) { error in
                guard case AEError.corruptModel = error else { return XCTFail("\(error)") }
            }
        }
        var flipped = bytes
        flipped[bytes.count / 3] ^= 0x10
        XCTAssertThrowsError(try Autoencoder.deserialize(flipped))
    }

    /// A file whose error weights do not fit its spec (a checksum-valid file written by a buggy
    /// or foreign writer) is refused, not scored with the wrong weights.
    func testMismatchedErrorWeightsAreRefused() throws {
        let x = structuredData(rows: 200, width: 12, seed: 32)
        let standardized = try Autoencoder(json: #"{"input_shape":[12],"code_size":3,"score":"standardized","training":{"epochs":2}}"#)
        let plain = try Autoencoder(json: #"{"input_shape":[12],"code_size":3,"training":{"epochs":2}}"#)
        try standardized.fit(x); try plain.fit(x)
        let weights = try XCTUnwrap(standardized.errorWeights)
        for (model, bad) in [(standardized, nil), (standardized, Array(weights.dropLast())), (standardized, [0] + weights.dropFirst()),
                             (standardized, [-1] + weights.dropFirst()), (plain, weights)] as [(Autoencoder, [Float]?)] {
            try assertRefused(model, \.errorWeights, bad, mentioning: "error weights")
        }
        XCTAssertEqual(try Autoencoder.deserialize(try standardized.serialized()).errorWeights, weights)
    }

    /// Likewise the combined score's code terms: missing, present on another score, or sized for
    /// another code, the file is refused.
    func testMismatchedCodeDistancesAreRefused() throws {
        let x = structuredData(rows: 200, width: 12, seed: 33)
        let combined = try Autoencoder(json: #"{"input_shape":[12],"code_size":3,"score":"combined","training":{"epochs":2}}"#)
        let standardized = try Autoencoder(json: #"{"input_shape":[12],"code_size":3,"score":"standardized","training":{"epochs":2}}"#)
        try combined.fit(x); try standardized.fit(x)
        let terms = try XCTUnwrap(combined.codeDistances)
        var json = String(decoding: try JSONEncoder().encode(terms), as: UTF8.self)
        json = json.replacingOccurrences(of: #""size":3"#, with: #""size":2"#)
        let resized = try JSONDecoder().decode(CodeDistances.self, from: Data(json.utf8))
        for (model, bad) in [(combined, nil), (combined, resized), (standardized, terms)] as [(Autoencoder, CodeDistances?)] {
            try assertRefused(model, \.codeDistances, bad, mentioning: "code distances")
        }
        XCTAssertEqual(try Autoencoder.deserialize(try combined.serialized()).codeDistances, terms)
    }

    /// Saves `model` with the fitted state at `keyPath` set to `bad` (then puts it back) and
    /// checks that loading those bytes is refused as corrupt, with a message naming `what`.
    private func assertRefused<Value>(_ model: Autoencoder, _ keyPath: ReferenceWritableKeyPath<Autoencoder, Value>, _ bad: Value,
                                      mentioning what: String, line: UInt = #line) throws {
        let kept = model[keyPath: keyPath]
        model[keyPath: keyPath] = bad
        let bytes = try model.serialized()
        model[keyPath: keyPath] = kept
        XCTAssertThrowsError(try Autoencoder.deserialize(bytes), line: line) { error in
            guard case AEError.corruptModel(let message) = error else { return XCTFail("\(error)", line: line) }
            XCTAssertTrue(message.contains(what), message, line: line)
        }
    }

    func testAtomicSaveReplacesOrKeepsTheOldFile() throws {
        let (model, x) = try fittedModel()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aef-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.aef"
        try model.save(to: path)
        let other = try Autoencoder(json: #"{"input_shape":[12],"code_size":2}"#)
        try other.save(to: path)  // replaces
        XCTAssertEqual(try Autoencoder.load(from: path).spec, other.spec)
        try model.save(to: path)
        XCTAssertTrue(try Autoencoder.load(from: path).encode(x) == model.encode(x))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["model.aef"], "no temporary left behind")
        // A save that cannot complete (the target is a directory) leaves no partial file.
        try FileManager.default.createDirectory(atPath: directory + "/sub.aef", withIntermediateDirectories: false)
        XCTAssertThrowsError(try model.save(to: directory + "/sub.aef"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), ["model.aef", "sub.aef"])
    }
}
