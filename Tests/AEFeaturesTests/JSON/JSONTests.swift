import Foundation
import XCTest
@testable import AEFeatures

/// The library's own JSON against Foundation's, which wrote the model files of earlier versions:
/// the same bytes out for the same values, the same values in, and clear errors on bad text.
final class JSONTests: XCTestCase {
    private struct Sample: Codable, Equatable {
        var floats: [Float]
        var doubles: [Double]
        var optional: Float?
        var empty: [Int]
        var nested: [String: [UInt64]]
        var text: String
        var flag: Bool
        var integer: Int
    }

    private func foundation<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func randomSample(_ rng: inout RandomSource) -> Sample {
        let floats = (0..<40).map { i -> Float in
            let scale = Float(pow(10, Double(Int(rng.next() % 20)) - 10))
            return i % 7 == 0 ? Float(Int(rng.next() % 1000)) : (rng.uniform() - 0.5) * scale
        }
        let doubles = (0..<20).map { _ in (Double(rng.uniform()) - 0.3) * pow(10, Double(Int(rng.next() % 30)) - 15) }
        return Sample(floats: floats, doubles: doubles, optional: rng.uniform() > 0.5 ? rng.uniform() : nil, empty: [],
                      nested: ["b": [UInt64.max, 0], "a": []], text: "a/b \"q\" \\ \n\t\u{01} é 🙂", flag: true, integer: -12)
    }

    func testWritesWhatFoundationWrites() throws {
        var rng = RandomSource(seed: 170)
        for _ in 0..<50 {
            let sample = randomSample(&rng)
            XCTAssertEqual(JSONWriter.write(try JSONEncoding.encode(sample)), try foundation(sample))
        }
        for json in [#"{"input_shape":[28,28,1],"code_size":4,"variant":"conv2d","conv_blocks":[{"filters":3,"kernel":[3,2],"pool":2}],"training":{"learning_rate_schedule":{"type":"cosine"}},"noise":{"type":"poisson"},"sparsity":{"type":"l1"},"score":"combined"}"#,
                     #"{"variant":"variational","input_shape":[12],"hidden_units":[8],"code_size":2,"variational":{"beta":0.5}}"#,
                     #"{"variant":"adversarial","input_shape":[12],"code_size":2,"adversarial":{"prior":"uniform"}}"#,
                     #"{"variant":"contractive","input_shape":[12],"code_size":2,"contractive_weight":0.001,"decorrelation":{},"tied_weights":true}"#] {
            let spec = try ModelSpec(json: json)
            XCTAssertEqual(spec.json, try foundation(spec), json)
        }
    }

    func testReadsWhatFoundationReadsAndFloatsRoundTripExactly() throws {
        var rng = RandomSource(seed: 171)
        for _ in 0..<50 {
            let sample = randomSample(&rng)
            let text = try foundation(sample)
            let ours = try JSONDecoding.decode(Sample.self, from: text)
            XCTAssertEqual(ours, try JSONDecoder().decode(Sample.self, from: Data(text.utf8)))
            XCTAssertEqual(ours.floats.map(\.bitPattern), sample.floats.map(\.bitPattern))
            XCTAssertEqual(ours.doubles.map(\.bitPattern), sample.doubles.map(\.bitPattern))
        }
        let escaped = try JSONDecoding.decode([String].self, from: #"["\u00e9\ud83d\ude42", "\/\b\f\r\t", " x "]"#)
        XCTAssertEqual(escaped, ["é🙂", "/\u{08}\u{0C}\r\t", " x "])
        XCTAssertEqual(try JSONDecoding.decode([Int].self, from: " [1, 2,] "), [1, 2])  // a trailing comma, as Foundation
        struct Pair: Decodable { var a: Int }
        XCTAssertEqual(try JSONDecoding.decode(Pair.self, from: #"{"a":1,"a":2}"#).a, 1)  // the first of a repeated key
    }

    func testBadTextIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        for bad in ["", "{", "[1 2]", "{\"a\" 1}", "{\"a\":}", "01", "1.", "-", "1e", "tru", "\"abc", "\"\\x\"", "\"\\ud83d\"",
                    "\"\u{01}\"", "{} x", "[,]", deep] {
            XCTAssertThrowsError(try JSONDecoding.decode([Int].self, from: bad), bad.prefix(20).description) { error in
                guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(context.codingPath.isEmpty)
            }
        }
        XCTAssertThrowsError(try JSONDecoding.decode(Int8.self, from: "300")) { error in
            guard case DecodingError.dataCorrupted = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try JSONDecoding.decode([Float].self, from: "[1e50]"))
        XCTAssertThrowsError(try JSONEncoding.encode([Float.nan]))
    }
}
