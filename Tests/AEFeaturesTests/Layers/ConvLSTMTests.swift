import XCTest
@testable import AEFeatures
@testable import AEFReference

/// Sequences of `steps` frames of `size` x `size` pixels with a 2x2 bright square moving one pixel
/// a step in a fixed direction, bouncing off the edges.
func movingSquares(count: Int, steps: Int, size: Int, seed: UInt64) -> Tensor {
    var rng = RandomSource(seed: seed)
    func random(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    var values = [Float](repeating: 0, count: count * steps * size * size)
    for n in 0..<count {
        var (row, column, dr, dc) = (random(size - 1), random(size - 1), random(2) * 2 - 1, random(2) * 2 - 1)
        for t in 0..<steps {
            for (r, c) in [(row, column), (row + 1, column), (row, column + 1), (row + 1, column + 1)] {
                values[((n * steps + t) * size + r) * size + c] = 1
            }
            if !(0...(size - 2)).contains(row + dr) { dr = -dr }
            if !(0...(size - 2)).contains(column + dc) { dc = -dc }
            (row, column) = (row + dr, column + dc)
        }
    }
    return try! Tensor(shape: [count, steps, size, size, 1], scalars: values)
}

final class ConvLSTMTests: XCTestCase {
    /// The fast ConvLSTM against the Double reference (outputs) and its backpropagation through
    /// time against central differences of the reference: sequences and last states, a repeated
    /// input, square and one-sided kernels, and both of Conv2D's kernels (direct and im2col + GEMM).
    func testFastConvLSTMMatchesReferenceAndItsGradients() throws {
        let (batch, steps, height, width) = (2, 3, 3, 4)
        let cases: [(channels: Int, filters: Int, kernel: (Int, Int), sequences: Bool, repeated: Bool, direct: Bool)] = [
            (2, 2, (3, 3), true, false, true), (2, 2, (3, 3), false, false, false), (1, 3, (1, 3), true, true, true),
            (3, 2, (3, 1), true, true, false),
        ]
        for (n, c) in cases.enumerated() {
            let layer = try ConvLSTM(steps: steps, height: height, width: width, channels: c.channels, filters: c.filters,
                                     kernel: c.kernel, returnSequences: c.sequences, repeatsInput: c.repeated, direct: c.direct)
            let area = c.kernel.0 * c.kernel.1
            XCTAssertEqual(layer.parameterCount, 4 * c.filters * (area * (c.channels + c.filters) + 2))
            let harness = LayerHarness(layer)
            var data = TestData(seed: UInt64(140 + n))
            harness.parameters = data.uniform(harness.block.parameterCount, scale: 0.5)
            let x = data.uniform(batch * layer.inputSize)
            assertMatchesReference(harness, x: x, batch: batch, data: &data, "ConvLSTM case \(n)") { x, p in
                let h = Reference.convLSTM(x: x, parameters: p, batch: batch, steps: steps, height: height, width: width,
                                           channels: c.channels, filters: c.filters, kernel: c.kernel, repeatsInput: c.repeated)
                return c.sequences ? h : lastSteps(h, batch: batch, steps: steps, units: height * width * c.filters)
            }
        }
    }

    /// The forget gate's input bias starts at 1, the others at 0; the fast path's own gradients
    /// agree with its finite differences from that initialization.
    func testInitializationAndOwnFiniteDifferences() throws {
        let layer = try ConvLSTM(steps: 4, height: 3, width: 3, channels: 1, filters: 2, kernel: (3, 3), returnSequences: true)
        let harness = LayerHarness(layer)
        let theta = harness.parameters, weights = 4 * 2 * 9 * 1
        XCTAssertEqual(Array(theta[weights..<(weights + 8)]), [0, 0, 0, 0, 1, 1, 0, 0])
        var data = TestData(seed: 150)
        harness.assertGradientsMatchFiniteDifferences(data.uniform(3 * layer.inputSize), batch: 3)
    }

    func testBatchMatchesSampleBySample() throws {
        let layer = try ConvLSTM(steps: 3, height: 4, width: 4, channels: 2, filters: 3, kernel: (3, 3), returnSequences: false)
        assertBatchMatchesSampleBySample(LayerHarness(layer), batch: 5, seed: 152)
    }

    func testSpatioTemporalArchitectureAndSpecErrors() throws {
        let json = #"{"variant":"convlstm","input_shape":[5,6,6],"code_size":4,"conv_blocks":[{"filters":4,"kernel":3},{"filters":2,"kernel":[1,3]}]}"#
        let names = try NetworkBuilder.layers(ModelSpec(json: json)).layers.map { "\(type(of: $0))" }
        XCTAssertEqual(names, ["ConvLSTM", "ConvLSTM", "Dense", "Activation", "Dense", "Activation", "ConvLSTM", "ConvLSTM",
                               "Conv2D", "Activation"])
        let model = try Autoencoder(json: json)
        XCTAssertEqual(model.codeSize, 4)
        XCTAssertEqual(try Autoencoder(json: json.replacingOccurrences(of: #""code_size":4,"#, with: "")).codeSize, 6 * 6 * 2)
        let cases: [(String, String)] = [
            (#"{"variant":"convlstm","input_shape":[5,6],"conv_blocks":[{"filters":2,"kernel":3}]}"#, "[steps, height, width]"),
            (#"{"variant":"convlstm","input_shape":[5,6,6],"conv_blocks":[]}"#, "at least one ConvLSTM block"),
            (#"{"variant":"convlstm","input_shape":[5,6,6],"conv_blocks":[{"filters":2,"kernel":3,"pool":2}]}"#, "filters and kernel only"),
            (#"{"variant":"convlstm","input_shape":[5,6,6],"conv_blocks":[{"filters":2,"kernel":3,"stride":2}]}"#, "filters and kernel only"),
            (#"{"variant":"convlstm","input_shape":[5,6,6],"hidden_units":[3],"conv_blocks":[{"filters":2,"kernel":3}]}"#, "'hidden_units' must be empty"),
            (#"{"variant":"convlstm","input_shape":[5,6,6],"batch_norm":true,"conv_blocks":[{"filters":2,"kernel":3}]}"#, "not supported for convlstm"),
            (#"{"variant":"convlstm","input_shape":[5,6,6],"contractive_weight":0.1,"conv_blocks":[{"filters":2,"kernel":3}]}"#, "needs a dense code"),
            (#"{"variant":"convlstm","input_shape":[5,6,6],"tied_weights":true,"conv_blocks":[{"filters":2,"kernel":3}]}"#, "tied_weights"),
            (#"{"variant":"seq2seq","input_shape":[5,6],"hidden_units":[3],"conv_blocks":[{"filters":2,"kernel":3}]}"#, "conv_blocks"),
        ]
        assertSpecErrors(cases)
    }

    /// The whole objective through ConvLSTM encoders and decoders, a dense code and the per-step output convolution.
    func testObjectiveGradientMatchesFiniteDifferences() throws {
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"convlstm","input_shape":[3,3,4,2],"code_size":2,"conv_blocks":[{"filters":2,"kernel":3}]}"#, batch: 2)
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"convlstm","input_shape":[3,4,3],"loss":"bce","conv_blocks":[{"filters":2,"kernel":[3,1]},{"filters":1,"kernel":2}]}"#, batch: 2)
    }

    /// ONNX has no ConvLSTM operator: every graph is refused with a clear error. (That the
    /// variant learns motion is tested on the release build: bindings/python/tests/test_convlstm.py.)
    func testExportIsRefused() throws {
        let model = try Autoencoder(json: #"{"variant":"convlstm","input_shape":[3,4,4,1],"code_size":2,"conv_blocks":[{"filters":2,"kernel":3}],"training":{"epochs":1}}"#)
        try model.fit(movingSquares(count: 8, steps: 3, size: 4, seed: 1))
        for kind in ONNXGraphKind.allCases {
            XCTAssertThrowsError(try model.onnxModel(kind)) { error in
                guard case AEError.invalidInput(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("no ConvLSTM operator"), message)
            }
        }
    }
}
