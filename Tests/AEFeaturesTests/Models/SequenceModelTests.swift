import XCTest
@testable import AEFeatures

/// Sums of two sinusoids with random phases and amplitudes: [count, steps, 2].
func sinusoids(count: Int, steps: Int, seed: UInt64) -> Tensor {
    var rng = RandomSource(seed: seed)
    var values: [Float] = []
    for _ in 0..<count {
        let phase = 6.283 * rng.uniform(), amplitude = 0.5 + rng.uniform(), phase2 = 6.283 * rng.uniform()
        for t in 0..<steps {
            let s = amplitude * sin(Float(t) * 0.5 + phase) + 0.3 * sin(Float(t) * 1.3 + phase2)
            values += [s, amplitude * cos(Float(t) * 0.5 + phase)]
        }
    }
    return try! Tensor(shape: [count, steps, 2], scalars: values)
}

final class SequenceModelTests: XCTestCase {
    func testSeq2SeqArchitecture() throws {
        let layers = try NetworkBuilder.layers(ModelSpec(json: #"{"variant":"seq2seq","input_shape":[28,28],"hidden_units":[64]}"#)).layers
        XCTAssertEqual(layers.map { "\(type(of: $0))" }, ["LSTM", "LSTM", "Dense", "Activation"])
        // The decoder reads the code at every step itself.
        XCTAssertEqual((layers[1] as? LSTM)?.repeatsInput, true)
        XCTAssertEqual(layers[1].inputSize, 64)
        let model = try Autoencoder(json: #"{"variant":"seq2seq","input_shape":[28,28],"hidden_units":[64],"scaling":"none","output_activation":"identity"}"#)
        XCTAssertEqual(model.codeSize, 64)
        XCTAssertEqual(try Autoencoder(json: #"{"variant":"seq2seq","input_shape":[5,2],"hidden_units":[4],"bidirectional":true}"#).codeSize, 8)
        XCTAssertEqual(model.parameterCount, 4 * 64 * (28 + 64 + 1) + 2 * 64 + 4 * 64 * (64 + 64 + 1) + 2 * 64 + 64 * 28 + 28)
    }

    func testGRUCellsReplaceEveryLSTM() throws {
        let spec = try ModelSpec(json: #"{"variant":"seq2seq","input_shape":[28,28],"hidden_units":[64,32],"cell":"gru"}"#)
        let layers = try NetworkBuilder.layers(spec).layers
        XCTAssertEqual(layers.map { "\(type(of: $0))" }, ["GRU", "GRU", "GRU", "GRU", "Dense", "Activation"])
        XCTAssertEqual((layers[2] as? GRU)?.repeatsInput, true)
        let pair = try NetworkBuilder.layers(ModelSpec(json: #"{"variant":"seq2seq","input_shape":[5,2],"hidden_units":[4],"cell":"gru","bidirectional":true}"#)).layers
        XCTAssertTrue(pair[0] is Bidirectional<GRU>)
        XCTAssertTrue(spec.json.contains(#""cell" : "gru""#))
        XCTAssertFalse(try ModelSpec(json: #"{"variant":"seq2seq","input_shape":[5,2],"hidden_units":[4]}"#).json.contains("cell"),
                       "absent when unset: old files save back unchanged")
    }

    func testSeq2SeqObjectiveGradient() throws {
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"seq2seq","input_shape":[4,2],"hidden_units":[3,2],"decoder_units":[3],"activation":"tanh"}"#, batch: 3)
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"seq2seq","input_shape":[3,2],"hidden_units":[3],"code_size":2,"noise":{"type":"gaussian","level":0.1}}"#, batch: 2)
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"seq2seq","input_shape":[3,2],"hidden_units":[2,2],"decoder_units":[2],"bidirectional":true}"#, batch: 2)
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"seq2seq","input_shape":[3,2],"hidden_units":[3,2],"decoder_units":[2],"cell":"gru","bidirectional":true}"#, batch: 2)
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"seq2seq","input_shape":[3,2],"hidden_units":[3],"code_size":2,"peephole":true}"#, batch: 2)
    }

    func testSeq2SeqLearnsSinusoids() throws {
        let x = sinusoids(count: 600, steps: 12, seed: 4)
        for cell in ["lstm", "gru"] {
            let model = try Autoencoder(json: #"{"variant":"seq2seq","input_shape":[12,2],"hidden_units":[24],"scaling":"standard","cell":"\#(cell)","training":{"epochs":40,"batch_size":32,"learning_rate":0.01,"clip_norm":5}}"#)
            try model.fit(x)
            let error = Double(try model.anomalyScores(x).reduce(0, +)) / 600
            // Standardised units: predicting the mean gives 1 per value.
            XCTAssertLessThan(error, 0.25, "\(cell): reconstruction \(error) vs 1 for the mean predictor")
            XCTAssertEqual(try model.encode(x).shape, [600, 24])
        }
    }

    func testSeq2SeqSpecErrors() {
        for (json, fragment) in [
            (#"{"variant":"seq2seq","input_shape":[4,2,1],"hidden_units":[3]}"#, "input_shape"),
            (#"{"variant":"seq2seq","input_shape":[4,2]}"#, "hidden_units"),
            (#"{"variant":"seq2seq","input_shape":[4,2],"hidden_units":[3],"batch_norm":true}"#, "batch_norm"),
            (#"{"input_shape":[4],"code_size":2,"bidirectional":true}"#, "bidirectional"),
            (#"{"input_shape":[4],"code_size":2,"cell":"gru"}"#, "'cell' is only for seq2seq"),
            (#"{"variant":"seq2seq","input_shape":[4,2],"hidden_units":[3],"cell":"rnn"}"#, "'cell'"),
            (#"{"variant":"seq2seq","input_shape":[4,2],"hidden_units":[3],"cell":"gru","peephole":true}"#, "'peephole' is only for LSTM cells"),
            (#"{"variant":"seq2seq","input_shape":[4,2],"hidden_units":[3],"activation":"sigmoid","sparsity":{"type":"kl"}}"#, "set code_size"),
        ] {
            XCTAssertThrowsError(try ModelSpec(json: json)) { error in
                guard case AEError.invalidSpec(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'")
            }
        }
    }
}
