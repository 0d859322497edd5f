import XCTest
@testable import AEFeatures

/// `tied_weights`: the network builder ties each decoder Dense to its mirror in the encoder.
final class TiedWeightsTests: XCTestCase {
    private let untied = #"{"input_shape":[24],"hidden_units":[16],"code_size":4,"training":{"epochs":20,"batch_size":16}}"#

    private func tied(_ json: String) -> String { json.replacingOccurrences(of: #""code_size":4,"#, with: #""code_size":4,"tied_weights":true,"#) }

    func testHalfTheWeightsLearnAndSurviveAFile() throws {
        let x = structuredData(rows: 600, seed: 4)
        let plain = try Autoencoder(json: untied), model = try Autoencoder(json: tied(untied))
        // Untied: 24·16 + 16 + 16·4 + 4 + 4·16 + 16 + 16·24 + 24; tied: the decoder keeps its biases only.
        XCTAssertEqual(plain.parameterCount, 956)
        XCTAssertEqual(model.parameterCount, 956 - 16 * 4 - 24 * 16)
        try model.fit(x)
        let error = Double(try model.anomalyScores(x).reduce(0, +)) / Double(x.sampleCount)
        XCTAssertLessThan(error, 0.5 * meanPredictorError(x))
        let copy = try Autoencoder.deserialize(try model.serialized())
        XCTAssertEqual(copy.spec.tiedWeights, true)
        XCTAssertEqual(try copy.reconstruct(x).scalars, try model.reconstruct(x).scalars)
        XCTAssertFalse(plain.spec.json.contains("tied_weights"), "absent when unset: old files save back unchanged")
    }

    func testDecoderLayersUseTheirMirrorsWeights() throws {
        let model = try Autoencoder(json: tied(#"{"input_shape":[10],"hidden_units":[8,6],"code_size":4,"batch_norm":"before"}"#))
        let dense = model.network.layers.compactMap { $0 as? Dense }
        XCTAssertEqual(dense.map(\.tied).map { $0.map { ObjectIdentifier($0) } },
                       [nil, nil, nil, ObjectIdentifier(dense[2]), ObjectIdentifier(dense[1]), ObjectIdentifier(dense[0])])
    }
}
