import XCTest
@testable import AEFeatures

/// Images of `size` x `size` with a bright bar at a random row and column: structure a
/// convolutional autoencoder can learn.
func barImages(count: Int, size: Int = 8, seed: UInt64 = 1) -> Tensor {
    var rng = RandomSource(seed: seed)
    var values = [Float](repeating: 0, count: count * size * size)
    for n in 0..<count {
        let row = Int(rng.next() % UInt64(size)), column = Int(rng.next() % UInt64(size))
        for i in 0..<size {
            values[n * size * size + row * size + i] = 0.8
            values[n * size * size + i * size + column] = 0.6
        }
    }
    return try! Tensor(shape: [count, size, size, 1], scalars: values)
}

final class ConvModelTests: XCTestCase {
    private func layerNames(_ json: String) throws -> [String] {
        try NetworkBuilder.layers(ModelSpec(json: json)).layers.map { "\(type(of: $0))" }
    }

    func testW2ArchitectureAndShapes() throws {
        let json = #"{"variant":"conv2d","input_shape":[28,28,1],"activation":"elu","scaling":"none","conv_blocks":[{"filters":16,"kernel":3,"pool":2},{"filters":8,"kernel":3,"pool":2}]}"#
        XCTAssertEqual(try layerNames(json), ["Conv2D", "Activation", "Pool2D", "Conv2D", "Activation", "Pool2D",
                                              "Upsample2D", "Conv2D", "Activation", "Upsample2D", "Conv2D", "Activation"])
        let model = try Autoencoder(json: json)
        XCTAssertEqual(model.codeSize, 7 * 7 * 8)
        XCTAssertEqual(model.parameterCount, (9 * 16 + 16) + (144 * 8 + 8) + (72 * 16 + 16) + (144 + 1))
        let transposed = try layerNames(json.replacingOccurrences(of: #""scaling""#, with: #""conv_decoder":"transpose","scaling""#))
        XCTAssertEqual(transposed.filter { $0 == "ConvTranspose2D" }.count, 2)
        let unpooled = try layerNames(json.replacingOccurrences(of: #""scaling""#, with: #""conv_decoder":"unpool","scaling""#))
        XCTAssertEqual(unpooled, ["Conv2D", "Activation", "Pool2D", "Conv2D", "Activation", "Pool2D",
                                  "MaxUnpool2D", "Conv2D", "Activation", "MaxUnpool2D", "Conv2D", "Activation"])
    }

    /// The unpooling decoder reads the switches of the encoder's pass over the same rows, so a
    /// model refuses to decode codes alone, through the Swift API and as an ONNX decoder graph,
    /// while every call that runs the encoder works.
    func testUnpoolingDecoderNeedsTheEncodersPass() throws {
        let images = barImages(count: 64)
        let model = try Autoencoder(json: #"{"variant":"conv2d","input_shape":[8,8,1],"code_size":3,"conv_decoder":"unpool","conv_blocks":[{"filters":4,"kernel":3,"pool":2}],"training":{"epochs":1}}"#)
        try model.fit(images)
        XCTAssertEqual(try model.reconstruct(images).shape, [64, 8, 8, 1])
        XCTAssertEqual(try model.anomalyScores(images).count, 64)
        for kind in ONNXGraphKind.allCases where kind != .decoder { XCTAssertFalse(try model.onnxModel(kind).isEmpty) }
        let codes = try model.encode(images)
        for call in [{ _ = try model.decode(codes) }, { _ = try model.onnxModel(.decoder) }] {
            XCTAssertThrowsError(try call()) { error in
                guard case AEError.invalidInput(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("cannot decode codes alone"), message)
            }
        }
    }

    func testReferenceStudyArchitecturesAreExpressible() throws {
        // 1-D MNIST rows: three blocks of 100 filters, kernel 8, pool 4 ('same' pooling), crop back to 28.
        let oneD = #"{"variant":"conv1d","input_shape":[28,28],"conv_blocks":[{"filters":100,"kernel":8,"pool":4,"pool_padding":"same"},{"filters":100,"kernel":8,"pool":4,"pool_padding":"same"},{"filters":100,"kernel":8,"pool":4,"pool_padding":"same"}]}"#
        XCTAssertEqual(try layerNames(oneD).last, "Crop2D")
        XCTAssertEqual(try Autoencoder(json: oneD).codeSize, 100)
        // The insurance tensor, 4 periods x 3 types: kernel (2,3), pool (2,1), with a dense code.
        let insurance = #"{"variant":"conv2d","input_shape":[4,3],"code_size":4,"batch_norm":true,"conv_blocks":[{"filters":8,"kernel":[2,3],"pool":[2,1]},{"filters":8,"kernel":[2,3],"pool":[2,1]}]}"#
        let model = try Autoencoder(json: insurance)
        XCTAssertEqual(model.codeSize, 4)
        XCTAssertFalse(try layerNames(insurance).contains("Crop2D"))
    }

    func testShapeErrorsNameTheBlock() {
        let cases: [(String, String)] = [
            (#"{"variant":"conv2d","input_shape":[4,3],"conv_blocks":[{"filters":2,"kernel":5,"padding":"valid"}]}"#, "conv_blocks[0]: kernel spans 5"),
            (#"{"variant":"conv2d","input_shape":[7,7],"conv_blocks":[{"filters":2,"kernel":3,"pool":2}]}"#, "conv_blocks[0]: pooling window (2, 2) with stride (2, 2) does not tile"),
            (#"{"variant":"conv1d","input_shape":[10],"conv_blocks":[{"filters":2,"kernel":3,"padding":"valid"}]}"#, "the decoder ends at 1x8, smaller than the input 1x10"),
            (#"{"variant":"conv2d","input_shape":[8,8],"conv_blocks":[]}"#, "conv_blocks"),
            (#"{"variant":"conv2d","input_shape":[8],"conv_blocks":[{"filters":2,"kernel":3}]}"#, "input_shape"),
            (#"{"variant":"conv1d","input_shape":[8,1],"conv_blocks":[{"filters":2,"kernel":[3,3]}]}"#, "conv_blocks[0].kernel"),
            (#"{"variant":"conv2d","input_shape":[8,8],"conv_blocks":[{"filters":0,"kernel":3}]}"#, "conv_blocks[0].filters"),
            (#"{"variant":"conv2d","input_shape":[8,8],"conv_blocks":[{"filters":2,"kernel":3,"colour":1}]}"#, "conv_blocks[0].colour"),
            (#"{"variant":"conv2d","input_shape":[8,8],"hidden_units":[4],"conv_blocks":[{"filters":2,"kernel":3}]}"#, "hidden_units"),
            (#"{"variant":"conv2d","input_shape":[8,8],"contractive_weight":0.1,"conv_blocks":[{"filters":2,"kernel":3}]}"#, "contractive_weight"),
            (#"{"variant":"conv2d","input_shape":[8,8],"sparsity":{"type":"kl"},"conv_blocks":[{"filters":2,"kernel":3}]}"#, "'activation' must be 'sigmoid'"),
            (#"{"variant":"dense","input_shape":[8],"code_size":2,"conv_blocks":[{"filters":2,"kernel":3}]}"#, "conv_blocks"),
            (#"{"input_shape":[16777216],"hidden_units":[16777216],"code_size":2}"#, "parameters"),
            (#"{"variant":"conv2d","input_shape":[8,8],"conv_decoder":"unpool","conv_blocks":[{"filters":2,"kernel":3,"pool":2,"pool_type":"average"}]}"#, "conv_blocks[0]: conv_decoder 'unpool' needs max pooling"),
            (#"{"variant":"conv2d","input_shape":[7,7],"conv_decoder":"unpool","conv_blocks":[{"filters":2,"kernel":3,"pool":3,"pool_stride":2}]}"#, "pool_stride equal to the window"),
            (#"{"variant":"conv1d","input_shape":[8],"conv_decoder":"unpool","conv_blocks":[{"filters":2,"kernel":3,"padding":"valid","pool":2}]}"#, "conv_decoder 'unpool' needs convolutions that keep"),
        ]
        assertSpecErrors(cases)
    }

    func testConvSpecRoundTrips() throws {
        let spec = try ModelSpec(json: #"{"variant":"conv1d","input_shape":[12,2],"code_size":3,"conv_decoder":"transpose","conv_blocks":[{"filters":4,"kernel":3,"stride":2,"dilation":1,"padding":"valid","pool":2,"pool_type":"average","pool_padding":"same"}]}"#)
        XCTAssertEqual(try ModelSpec(json: spec.json), spec)
        XCTAssertEqual(spec.convBlocks[0].poolType, .average)
    }

    /// The whole objective of small conv models, through every new layer and BatchNorm over channels.
    func testConvObjectiveGradientMatchesFiniteDifferences() throws {
        let cases = [
            #"{"variant":"conv2d","input_shape":[6,5,2],"batch_norm":true,"activation":"tanh","conv_blocks":[{"filters":3,"kernel":3,"pool":[2,1],"pool_padding":"same","pool_type":"average"}]}"#,
            #"{"variant":"conv1d","input_shape":[7,2],"code_size":2,"conv_decoder":"transpose","activation":"elu","conv_blocks":[{"filters":3,"kernel":3,"stride":2},{"filters":2,"kernel":2,"dilation":1,"pool":2,"pool_padding":"same"}]}"#,
            // The study's placement: BatchNorm over channels before every convolution and Dense.
            #"{"variant":"conv2d","input_shape":[4,3,1],"code_size":2,"batch_norm":"before","input_dropout":0.2,"conv_blocks":[{"filters":3,"kernel":[2,3],"pool":[2,1],"pool_stride":[2,1]}]}"#,
            #"{"variant":"conv1d","input_shape":[6,2],"batch_norm":"before","conv_decoder":"transpose","conv_blocks":[{"filters":3,"kernel":2,"pool":2}]}"#,
        ]
        for json in cases { try assertObjectiveGradientMatchesFiniteDifferences(json, batch: 3) }
        // Unpooling with the encoder's switches, through a dense code and 'same' pooling: a step
        // of 3e-3 moves a winner here (the reconstruction jumps), 1e-3 does not.
        let unpool = #"{"variant":"conv2d","input_shape":[5,4,2],"code_size":2,"batch_norm":true,"conv_decoder":"unpool","conv_blocks":[{"filters":3,"kernel":3,"pool":2,"pool_padding":"same"},{"filters":2,"kernel":[1,2],"pool":[1,2]}]}"#
        try assertObjectiveGradientMatchesFiniteDifferences(unpool, batch: 3, step: 1e-3)
    }

    func testConvolutionalAutoencodersLearnImagesAndSequences() throws {
        let images = barImages(count: 600)
        let baseline = meanPredictorError(try Tensor(shape: [600, 64], scalars: images.scalars))
        for decoder in ["upsample", "transpose", "unpool"] {
            let model = try Autoencoder(json: #"{"variant":"conv2d","input_shape":[8,8,1],"scaling":"none","conv_decoder":"\#(decoder)","conv_blocks":[{"filters":8,"kernel":3,"pool":2},{"filters":8,"kernel":3,"pool":2}],"training":{"epochs":25,"batch_size":32,"learning_rate":0.005}}"#)
            try model.fit(images)
            let error = Double(try model.anomalyScores(images).reduce(0, +)) / 600
            XCTAssertLessThan(error, 0.3 * baseline, "\(decoder): reconstruction \(error) vs mean predictor \(baseline)")
            XCTAssertEqual(try model.encode(images).shape, [600, 2 * 2 * 8])
            XCTAssertEqual(try model.reconstruct(images).shape, [600, 8, 8, 1])
        }
        // Sequences: 16 steps x 2 channels of phase-shifted sinusoids, denoising, with a dense code.
        var rng = RandomSource(seed: 3)
        var values: [Float] = []
        for _ in 0..<500 {
            let phase = 6.283 * rng.uniform(), amplitude = 0.5 + rng.uniform()
            for t in 0..<16 { values += [amplitude * sin(Float(t) * 0.6 + phase), amplitude * cos(Float(t) * 0.6 + phase)] }
        }
        let sequences = try Tensor(shape: [500, 16, 2], scalars: values)
        let sequenceModel = try Autoencoder(json: #"{"variant":"conv1d","input_shape":[16,2],"code_size":4,"code_activation":"identity","noise":{"type":"gaussian","level":0.02},"conv_blocks":[{"filters":8,"kernel":3,"pool":2},{"filters":8,"kernel":3,"pool":2}],"training":{"epochs":40,"batch_size":32,"learning_rate":0.003}}"#)
        try sequenceModel.fit(sequences)
        let flat = try Tensor(shape: [500, 32], scalars: values)
        let error = Double(try sequenceModel.anomalyScores(sequences).reduce(0, +)) / 500
        XCTAssertLessThan(error, 0.3 * meanPredictorError(flat))
    }
}
