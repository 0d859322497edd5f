import XCTest
import AEFKernels
@testable import AEFeatures
@testable import AEFReference

/// Convolution, pooling, upsampling and cropping layers: reference vs finite differences
/// (Double), fast vs reference, fast backward vs finite differences — over odd sizes, strides,
/// both paddings, dilation and the 1-D (height 1) case.
final class ConvLayerTests: XCTestCase {
    /// (input H, W, C), kernel, stride, dilation, padding, filters
    typealias Case = (input: (Int, Int, Int), kernel: (Int, Int), stride: (Int, Int), dilation: (Int, Int),
                      padding: ConvGeometry.Padding, filters: Int)

    let cases: [Case] = [
        ((5, 7, 2), (3, 3), (1, 1), (1, 1), .same, 3),
        ((6, 5, 3), (3, 2), (2, 2), (1, 1), .same, 2),
        ((7, 7, 1), (3, 3), (2, 1), (1, 1), .valid, 4),
        ((6, 6, 2), (2, 3), (1, 2), (2, 1), .same, 2),
        ((7, 8, 2), (3, 3), (1, 1), (2, 2), .valid, 3),
        ((1, 11, 3), (1, 4), (1, 3), (1, 1), .same, 2),   // 1-D, stride 3
        ((4, 3, 1), (2, 3), (1, 1), (1, 1), .same, 5),    // the insurance tensor's kernel
    ]

    private func geometry(_ c: Case) throws -> ConvGeometry {
        try ConvGeometry(input: (c.input.0, c.input.1, c.input.2), kernel: c.kernel, stride: c.stride,
                         dilation: c.dilation, padding: c.padding)
    }

    private func reference(_ g: ConvGeometry, batch: Int, filters: Int) -> Reference.Conv {
        Reference.Conv(batch: batch, height: g.inputHeight, width: g.inputWidth, channels: g.channels, filters: filters,
                       kernel: (g.kernelHeight, g.kernelWidth), stride: (g.strideHeight, g.strideWidth),
                       dilation: (g.dilationHeight, g.dilationWidth), pad: (g.padTop, g.padLeft),
                       output: (g.outputHeight, g.outputWidth))
    }

    func testGeometry() throws {
        let same = try ConvGeometry(input: (28, 28, 1), kernel: (3, 3), stride: (1, 1), dilation: (1, 1), padding: .same)
        XCTAssertEqual([same.outputHeight, same.outputWidth, same.padTop, same.padLeft], [28, 28, 1, 1])
        let strided = try ConvGeometry(input: (7, 7, 1), kernel: (3, 3), stride: (2, 2), dilation: (1, 1), padding: .same)
        XCTAssertEqual([strided.outputHeight, strided.padTop], [4, 1])
        let valid = try ConvGeometry(input: (7, 9, 1), kernel: (3, 2), stride: (2, 3), dilation: (2, 1), padding: .valid)
        XCTAssertEqual([valid.outputHeight, valid.outputWidth], [2, 3])
        XCTAssertThrowsError(try ConvGeometry(input: (4, 3, 1), kernel: (5, 1), stride: (1, 1), dilation: (1, 1), padding: .valid))
    }

    func testConvReferenceMatchesFiniteDifferences() throws {
        for c in cases.prefix(4) {
            let s = reference(try geometry(c), batch: 2, filters: c.filters)
            var data = TestData(seed: 41)
            let x = data.uniform(2 * s.height * s.width * s.channels)
            let w = data.uniform(c.filters * s.kernel.0 * s.kernel.1 * s.channels), b = data.uniform(c.filters)
            let r = data.uniform(2 * s.output.0 * s.output.1 * c.filters)
            let g = Reference.convBackward(s, x: x, w: w, dy: r)
            assertClose(g.dx, numericalGradient(at: x) { dot(r, Reference.convForward(s, x: $0, w: w, b: b)) }, absolute: 1e-7, "conv dx")
            assertClose(g.dw, numericalGradient(at: w) { dot(r, Reference.convForward(s, x: x, w: $0, b: b)) }, absolute: 1e-7, "conv dw")
            assertClose(g.db, numericalGradient(at: b) { dot(r, Reference.convForward(s, x: x, w: w, b: $0)) }, absolute: 1e-7, "conv db")
            // The transposed convolution maps r's shape to x's; its bias is per x channel.
            let tb = data.uniform(s.channels)
            let t = Reference.convTransposeBackward(s, x: r, w: w, dy: x)
            assertClose(t.dx, numericalGradient(at: r) { dot(x, Reference.convTransposeForward(s, x: $0, w: w, b: tb)) }, absolute: 1e-7, "tconv dx")
            assertClose(t.dw, numericalGradient(at: w) { dot(x, Reference.convTransposeForward(s, x: r, w: $0, b: tb)) }, absolute: 1e-7, "tconv dw")
            assertClose(t.db, numericalGradient(at: tb) { dot(x, Reference.convTransposeForward(s, x: r, w: w, b: $0)) }, absolute: 1e-7, "tconv db")
        }
    }

    /// Both the im2col + GEMM and the direct kernels (every instruction set's build this CPU runs),
    /// over the cases above plus shapes that take each direct loop form: vector blocks with tails
    /// (5 → 9, 12 → 2, 3 → 37: two-register, one-register and single-filter blocks along the
    /// filters, and spans with a tail), 1 → 16 and 16 → 1 (the autoencoder's first and last
    /// layers), and a batch spanning two gradient groups.
    func testConvFastMatchesReferenceAndFiniteDifferences() throws {
        let shapes: [Case] = [
            ((5, 4, 5), (3, 3), (1, 1), (1, 1), .same, 9), ((4, 5, 12), (3, 2), (2, 1), (1, 1), .same, 2),
            ((6, 6, 1), (3, 3), (1, 1), (1, 1), .same, 16), ((6, 6, 16), (3, 3), (1, 1), (1, 1), .same, 1),
            ((5, 5, 3), (3, 3), (1, 1), (1, 1), .same, 37),
        ]
        try assertConvFastMatchesReference(cases + shapes, direct: false, batch: 3)
        XCTAssertFalse(Kernels.supported.isEmpty)
        for kernels in Kernels.supported {
            try assertConvFastMatchesReference(cases + shapes, direct: true, batch: 3, kernels: kernels)
            try assertConvFastMatchesReference([shapes[2], shapes[3]], direct: true, batch: ConvGeometry.directGroup + 3,
                                               kernels: kernels)
        }
    }

    private func assertConvFastMatchesReference(_ cases: [Case], direct: Bool, batch: Int,
                                                kernels: aefk_table = Kernels.active) throws {
        for (n, c) in cases.enumerated() {
            let g = try geometry(c)
            let layer = Conv2D(geometry: g, filters: c.filters, initialization: .glorot, direct: direct, kernels: kernels)
            let harness = LayerHarness(layer, seed: UInt64(n))
            var data = TestData(seed: UInt64(50 + n))
            harness.parameters = data.uniform(harness.block.parameterCount)
            let theta = harness.parameters
            let weightCount = c.filters * g.patchSize
            let w = Array(theta[0..<weightCount]), b = Array(theta[weightCount...])
            let x = data.uniform(batch * g.inputSize), dy = data.uniform(batch * g.outputPositions * c.filters)
            let s = reference(g, batch: batch, filters: c.filters)
            let fast = harness.run(x, batch: batch, dy: dy)
            let ref = Reference.convBackward(s, x: x, w: w, dy: dy)
            let label = "case \(n), \(direct ? "direct \(String(cString: kernels.name))" : "im2col"), batch \(batch)"
            assertClose(fast.y, Reference.convForward(s, x: x, w: w, b: b), absolute: 1e-5, relative: 1e-5, "conv y, \(label)")
            assertClose(fast.dx, ref.dx, absolute: 1e-5, relative: 1e-5, "conv dx, \(label)")
            assertClose(fast.dparameters, ref.dw + ref.db, absolute: 1e-4, "conv dW db, \(label)")
            if n < 3 { harness.assertGradientsMatchFiniteDifferences(data.uniform(2 * g.inputSize), batch: 2) }
        }
    }

    func testConvTransposeFastMatchesReferenceAndFiniteDifferences() throws {
        for (n, c) in cases.enumerated() {
            // The transposed layer maps the convolution's output shape back to its input shape.
            let g = try geometry(c), batch = 2, inputChannels = c.filters
            let layer = ConvTranspose2D(geometry: g, inputChannels: inputChannels, initialization: .he)
            XCTAssertEqual(layer.outputSize, g.inputSize)
            let harness = LayerHarness(layer, seed: UInt64(n))
            var data = TestData(seed: UInt64(70 + n))
            harness.parameters = data.uniform(harness.block.parameterCount)
            let theta = harness.parameters
            let weightCount = inputChannels * g.patchSize
            let w = Array(theta[0..<weightCount]), b = Array(theta[weightCount...])
            let x = data.uniform(batch * layer.inputSize), dy = data.uniform(batch * layer.outputSize)
            let s = reference(g, batch: batch, filters: inputChannels)
            let fast = harness.run(x, batch: batch, dy: dy)
            let ref = Reference.convTransposeBackward(s, x: x, w: w, dy: dy)
            assertClose(fast.y, Reference.convTransposeForward(s, x: x, w: w, b: b), absolute: 1e-5, "tconv y, case \(n)")
            assertClose(fast.dx, ref.dx, absolute: 1e-5, "tconv dx, case \(n)")
            assertClose(fast.dparameters, ref.dw + ref.db, absolute: 1e-4, "tconv dW db, case \(n)")
            if n < 3 { harness.assertGradientsMatchFiniteDifferences(data.uniform(batch * layer.inputSize), batch: batch) }
        }
    }

    func testPoolingMatchesReferenceAndFiniteDifferences() throws {
        let pools: [((Int, Int, Int), (Int, Int), (Int, Int), ConvGeometry.Padding)] = [
            ((4, 6, 2), (2, 2), (2, 2), .valid), ((5, 7, 3), (2, 3), (2, 2), .same), ((4, 3, 1), (2, 1), (2, 1), .valid),
            ((1, 7, 2), (1, 4), (1, 4), .same), ((6, 6, 1), (3, 3), (1, 1), .valid),
            ((4, 5, 19), (2, 2), (2, 2), .same),  // whole registers of channels and a tail, for every width
        ]
        for (n, (input, window, stride, padding)) in pools.enumerated() {
            let g = try ConvGeometry(input: input, kernel: window, stride: stride, dilation: (1, 1), padding: padding)
            let s = reference(g, batch: 2, filters: input.2)
            // Max pooling runs the vector kernels: every instruction set's build this CPU runs.
            for kind in Pool2D.Kind.allCases { for kernels in kind == .max ? Kernels.supported : [Kernels.active] {
                let harness = LayerHarness(Pool2D(kind: kind, geometry: g, kernels: kernels))
                // Distinct values far apart, so a finite-difference step never changes a max.
                var data = TestData(seed: UInt64(90 + n))
                let x = data.rng.permutation(2 * g.inputSize).map { Double($0) * 0.05 - 0.4 }
                assertClose(harness.run(x, batch: 2).y, Reference.pool(s, max: kind == .max, x: x), absolute: 1e-6, relative: 1e-6,
                            "\(kind) pool case \(n), \(String(cString: kernels.name))")
                harness.assertGradientsMatchFiniteDifferences(x, batch: 2, step: 1e-3)
            } }
        }
    }

    /// Unpooling with the switches a max pool left in the shared scratch, against the reference
    /// that finds each window's maximum itself; dx against central differences of the reference
    /// and of the fast layer (it is linear in x for fixed switches).
    func testMaxUnpoolingMatchesReferenceAndFiniteDifferences() throws {
        let pools: [((Int, Int, Int), (Int, Int), ConvGeometry.Padding)] = [
            ((4, 6, 2), (2, 2), .valid), ((5, 7, 3), (2, 3), .same), ((1, 7, 2), (1, 4), .same), ((3, 3, 1), (3, 3), .valid),
        ]
        for (n, (input, window, padding)) in pools.enumerated() {
            let g = try ConvGeometry(input: input, kernel: window, stride: window, dilation: (1, 1), padding: padding)
            let batch = 2, s = reference(g, batch: batch, filters: input.2)
            let pool = Pool2D(kind: .max, geometry: g), unpool = MaxUnpool2D(pool: pool)
            XCTAssertEqual(unpool.inputSize, pool.outputSize)
            XCTAssertEqual(unpool.outputSize, pool.inputSize)
            var data = TestData(seed: UInt64(130 + n))
            let encoderInput = data.uniform(batch * g.inputSize)
            let x = data.uniform(batch * unpool.inputSize), dy = data.uniform(batch * unpool.outputSize)
            let switches = FloatBuffer(count: pool.scratchCount(batch: batch))
            var rng = RandomSource(seed: 1)
            let pooled = [Float](repeating: 0, count: batch * pool.outputSize)
            encoderInput.map(Float.init).withUnsafeBufferPointer { e in
                pooled.withUnsafeBufferPointer {
                    pool.forward(e.baseAddress!, UnsafeMutablePointer(mutating: $0.baseAddress!), batch: batch,
                                 scratch: switches.base, phase: .inference, rng: &rng)
                }
            }
            func fast(_ x: [Double], dy: [Double]? = nil) -> (y: [Double], dx: [Double]) {
                let input = x.map(Float.init)
                var y = [Float](repeating: 0, count: batch * unpool.outputSize), dx = [Float](repeating: 0, count: x.count)
                input.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                    unpool.forward(xp.baseAddress!, yp.baseAddress!, batch: batch, scratch: switches.base, phase: .training, rng: &rng)
                    guard let dy else { return }
                    dy.map(Float.init).withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer {
                        unpool.backward(xp.baseAddress!, UnsafePointer(yp.baseAddress!), gp.baseAddress!, $0.baseAddress!,
                                        batch: batch, scratch: switches.base)
                    } }
                } }
                return (y.map(Double.init), dx.map(Double.init))
            }
            let result = fast(x, dy: dy)
            assertClose(result.y, Reference.unpool(s, encoderInput: encoderInput, x: x), absolute: 1e-7, "unpool y, case \(n)")
            XCTAssertEqual(result.y.filter { $0 != 0 }.count, x.count, "case \(n): every value lands on its own position")
            let referenceGradient = numericalGradient(at: x) { dot(dy, Reference.unpool(s, encoderInput: encoderInput, x: $0)) }
            assertClose(result.dx, referenceGradient, absolute: 1e-6, "unpool dx vs the reference's differences, case \(n)")
            let fastGradient = numericalGradient(at: x, step: 1e-2) { dot(dy, fast($0).y) }
            assertClose(result.dx, fastGradient, absolute: 1e-4, "unpool dx vs its own differences, case \(n)")
        }
    }

    /// Max pooling keeps each winner's offset for backward; past 2^24 values (here a batch of
    /// them) an offset held as a Float value would round and route gradients to a neighbour.
    func testMaxPoolGradientRoutesExactlyPastTwoToTheTwentyFourValues() throws {
        let g = try ConvGeometry(input: (1, 8, 32_768), kernel: (1, 2), stride: (1, 2), dilation: (1, 1), padding: .valid)
        let batch = 65  // 65 · 262,144 values > 2^24
        let layer = Pool2D(kind: .max, geometry: g)
        let x = (0..<(batch * g.inputSize)).map { Float(($0 / g.channels) % 2) }  // odd pixels win
        let y = [Float](repeating: 0, count: batch * layer.outputSize)
        let scratch = [Float](repeating: 0, count: layer.scratchCount(batch: batch))
        var dx = [Float](repeating: 0, count: batch * g.inputSize), rng = RandomSource(seed: 1)
        let dy = (0..<(batch * layer.outputSize)).map { Float($0 % 7) }
        x.withUnsafeBufferPointer { x in y.withUnsafeBufferPointer { y in scratch.withUnsafeBufferPointer { s in
            let (yp, sp) = (UnsafeMutablePointer(mutating: y.baseAddress!), UnsafeMutablePointer(mutating: s.baseAddress!))
            layer.forward(x.baseAddress!, yp, batch: batch, scratch: sp, phase: .training, rng: &rng)
            dx.withUnsafeMutableBufferPointer { layer.backward(x.baseAddress!, y.baseAddress!, dy, $0.baseAddress!, batch: batch, scratch: sp) }
        } } }
        let sample = batch - 1, inputs = dx[(sample * g.inputSize)...], grads = dy[(sample * layer.outputSize)...]
        for (i, value) in inputs.enumerated() where i % 997 == 0 {
            let pixel = i / g.channels, channel = i % g.channels
            let expected = pixel % 2 == 1 ? grads[grads.startIndex + (pixel / 2) * g.channels + channel] : 0
            XCTAssertEqual(value, expected, "input value \(i) of the last sample")
        }
    }

    /// Pooling and upsampling split large batches by samples (forward and backward): 1, 2 and 3
    /// threads give the same bits; upsampling's dx is each block of dy summed in raster order.
    func testPoolingAndUpsamplingSplitOverThreadsGiveTheSameBits() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let batch = 1200  // several parts of Parallel.grain values for each layer below
        let g = try ConvGeometry(input: (4, 6, 2), kernel: (2, 2), stride: (2, 2), dilation: (1, 1), padding: .valid)
        let (height, width, channels, factors) = (3, 2, 2, (2, 3))
        let layers: [(String, () -> Layer)] = [
            ("max pool", { Pool2D(kind: .max, geometry: g) }), ("average pool", { Pool2D(kind: .average, geometry: g) }),
            ("upsample", { Upsample2D(height: height, width: width, channels: channels, factors: factors) }),
        ]
        for (name, make) in layers {
            var data = TestData(seed: 140)
            let probe = make()
            let x = data.uniform(batch * probe.inputSize), dy = data.uniform(batch * probe.outputSize)
            var results: [(y: [Double], dx: [Double], dparameters: [Double])] = []
            for threads in [1, 2, 3] {
                Parallel.threadCount = threads
                results.append(LayerHarness(make()).run(x, batch: batch, dy: dy))
            }
            for (threads, result) in zip([2, 3], results.dropFirst()) {
                XCTAssertEqual(result.y, results[0].y, "\(name) y, \(threads) threads")
                XCTAssertEqual(result.dx, results[0].dx, "\(name) dx, \(threads) threads")
            }
            if name == "upsample" {
                XCTAssertEqual(results[1].y.map(Float.init), Reference.upsample(x, batch: batch, height: height, width: width,
                                                                                 channels: channels, factors: factors).map(Float.init))
                let gradient = dy.map(Float.init)
                var dx = [Float](repeating: 0, count: x.count)
                for b in 0..<batch { for i in 0..<height { for j in 0..<width { for c in 0..<channels {
                    for r in 0..<factors.0 { for k in 0..<factors.1 {
                        dx[((b * height + i) * width + j) * channels + c] +=
                            gradient[((b * height * factors.0 + i * factors.0 + r) * width * factors.1 + j * factors.1 + k) * channels + c]
                    } }
                } } } }
                XCTAssertEqual(results[1].dx.map(Float.init), dx, "upsample dx: each block of dy summed in order")
            } else {
                let s = reference(g, batch: batch, filters: g.channels)
                assertClose(results[1].y, Reference.pool(s, max: name == "max pool", x: x), absolute: 1e-6, relative: 1e-6, name)
                // Every output's gradient lands in its window: the totals agree.
                XCTAssertEqual(results[1].dx.reduce(0, +), dy.map { Double(Float($0)) }.reduce(0, +), accuracy: 1e-3, name)
            }
        }
    }

    /// A batch of one splits over its output rows (direct convolution, max pooling): 1, 2 and 3
    /// threads give the same bits for every instruction set's kernels; the convolution with its
    /// activation fused (inference) equals the convolution followed by the Activation layer, and
    /// inference's max pooling (no winners kept) the training pass's maxima, bit for bit. The
    /// convolutions take 16 filters (whole registers) and 8 (half an AVX-512 register).
    func testBatchOfOneSplitsOverRowsWithTheSameBits() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        // 28x28 'same' convolutions: several of ConvGeometry.splitWork each.
        let convolutions = [(channels: 4, filters: 16), (channels: 16, filters: 8)]
        // 64x64x16 windows of 2: 65k values, several Parallel.grains.
        let pool = try ConvGeometry(input: (64, 64, 16), kernel: (2, 2), stride: (2, 2), dilation: (1, 1), padding: .valid)
        XCTAssertGreaterThanOrEqual(pool.outputPositions * 4 * 16 / Parallel.grain, 3)
        for kernels in Kernels.supported {
            let name = String(cString: kernels.name)
            var data = TestData(seed: 150)
            let poolInput = data.uniform(pool.inputSize).map(Float.init)
            let maxPool = Pool2D(kind: .max, geometry: pool, kernels: kernels)
            let winners = FloatBuffer(count: maxPool.scratchCount(batch: 1))
            var rng = RandomSource(seed: 0)
            func outputs(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
                var y = [Float](repeating: .nan, count: count)
                y.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
                return y
            }
            for (channels, filters) in convolutions {
                let conv = try ConvGeometry(input: (28, 28, channels), kernel: (3, 3), stride: (1, 1), dilation: (1, 1), padding: .same)
                XCTAssertGreaterThanOrEqual(conv.outputPositions * conv.patchSize * filters / ConvGeometry.splitWork, 3)
                let x = data.uniform(conv.inputSize).map(Float.init)
                let layer = Conv2D(geometry: conv, filters: filters, initialization: .glorot, direct: true, kernels: kernels)
                let harness = LayerHarness(layer, seed: 4)
                let packed = FloatBuffer(count: layer.scratchCount(batch: 1))
                layer.packWeights(into: packed.base)
                let elu = Activation(size: layer.outputSize, function: .elu, kernels: kernels)
                let label = "\(name), \(channels) -> \(filters)"
                var results: [[[Float]]] = []
                for threads in [1, 2, 3] {
                    Parallel.threadCount = threads
                    let plain = outputs(layer.outputSize) { layer.inferPacked(x, $0, batch: 1, scratch: packed.base) }
                    let fused = outputs(layer.outputSize) { layer.inferPacked(x, $0, batch: 1, scratch: packed.base, activation: .elu) }
                    let separate = outputs(layer.outputSize) { elu.forward(plain, $0, batch: 1, scratch: packed.base, phase: .inference, rng: &rng) }
                    XCTAssertTrue(fused == separate, "\(label), \(threads) threads: fused ELU")
                    results.append([plain, fused])
                }
                XCTAssertTrue(results[1] == results[0] && results[2] == results[0], "\(label): 2 and 3 threads")
                let s = reference(conv, batch: 1, filters: filters)
                let theta = harness.parameters, weights = filters * conv.patchSize
                assertClose(results[0][0].map(Double.init), Reference.convForward(s, x: x.map(Double.init), w: Array(theta[..<weights]),
                                                                                  b: Array(theta[weights...])),
                            absolute: 1e-5, relative: 1e-5, "\(label): conv")
            }
            var pooled: [[Float]] = []
            for threads in [1, 2, 3] {
                Parallel.threadCount = threads
                let inferred = outputs(maxPool.outputSize) {
                    maxPool.forward(poolInput, $0, batch: 1, scratch: winners.base, phase: .inference, rng: &rng)
                }
                let trained = outputs(maxPool.outputSize) {
                    maxPool.forward(poolInput, $0, batch: 1, scratch: winners.base, phase: .training, rng: &rng)
                }
                XCTAssertTrue(inferred == trained, "\(name), \(threads) threads: max pool without winners")
                pooled.append(inferred)
            }
            XCTAssertTrue(pooled[1] == pooled[0] && pooled[2] == pooled[0], "\(name): max pool, 2 and 3 threads")
            assertClose(pooled[0].map(Double.init), Reference.pool(reference(pool, batch: 1, filters: 16), max: true,
                                                                   x: poolInput.map(Double.init)),
                        absolute: 0, relative: 0, "\(name): max pool")
        }
    }

    func testUpsampleAndCrop() {
        var data = TestData(seed: 99)
        let x = data.uniform(2 * 3 * 2 * 2)
        let up = LayerHarness(Upsample2D(height: 3, width: 2, channels: 2, factors: (2, 3)))
        XCTAssertEqual(up.run(x, batch: 2).y.map { Float($0) },
                       Reference.upsample(x, batch: 2, height: 3, width: 2, channels: 2, factors: (2, 3)).map { Float($0) })
        up.assertGradientsMatchFiniteDifferences(x, batch: 2)
        let crop = LayerHarness(Crop2D(input: (5, 4, 2), to: (3, 2)))
        let image = (0..<40).map(Double.init)
        XCTAssertEqual(crop.run(image, batch: 1).y, [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19])
        crop.assertGradientsMatchFiniteDifferences(data.uniform(80), batch: 2)
    }
}
