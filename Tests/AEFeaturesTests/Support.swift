import XCTest
@testable import AEFeatures

/// Deterministic test data.
struct TestData {
    var rng: RandomSource
    init(seed: UInt64) { rng = RandomSource(seed: seed) }

    /// Uniform in [-scale, scale].
    mutating func uniform(_ count: Int, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in Double(2 * rng.uniform() - 1) * scale }
    }

    /// Values with |v| in [0.1, 1.5], so ReLU-style kinks are never within a finite-difference step.
    mutating func awayFromZero(_ count: Int) -> [Double] {
        (0..<count).map { _ in
            let magnitude = 0.1 + 1.4 * Double(rng.uniform())
            return rng.uniform() < 0.5 ? -magnitude : magnitude
        }
    }

    mutating func unit(_ count: Int) -> [Double] {
        (0..<count).map { _ in 0.05 + 0.9 * Double(rng.uniform()) }
    }
}

/// Central differences of `f` at `x` in Double.
func numericalGradient(at x: [Double], step h: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var probe = x
    return (0..<x.count).map { i in
        probe[i] = x[i] + h; let up = f(probe)
        probe[i] = x[i] - h; let down = f(probe)
        probe[i] = x[i]
        return (up - down) / (2 * h)
    }
}

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { $0 * $1 }.reduce(0, +) }

/// Elementwise |a − b| <= absolute + relative · |b|.
func assertClose(_ a: [Double], _ b: [Double], absolute: Double, relative: Double = 0, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): lengths differ", file: file, line: line)
    XCTAssertFalse(a.isEmpty, "\(what): nothing compared", file: file, line: line)
    var worst = 0.0, worstIndex = -1
    for (i, (x, y)) in zip(a, b).enumerated() {
        let excess = abs(x - y) - (absolute + relative * abs(y))
        if !(excess <= worst) { worst = excess.isNaN ? .infinity : excess; worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(what): element \(worstIndex) is \(a[worstIndex]), expected \(b[worstIndex])", file: file, line: line)
    }
}

/// Runs one layer's fast Float kernels on Double data: its own parameter block and scratch.
final class LayerHarness {
    let layer: Layer
    let block: ParameterBlock

    /// `layer` runs; `owners` are layers whose parameters it uses (a tied Dense's encoder layer),
    /// laid out first in the block and initialized with it.
    init(_ layer: Layer, using owners: [Layer] = [], seed: UInt64 = 7) {
        self.layer = layer
        block = ParameterBlock(layers: owners + [layer])
        var rng = RandomSource(seed: seed)
        for owner in owners + [layer] { owner.initialize(&rng) }
    }

    var parameters: [Double] {
        get { block.valueArray.map(Double.init) }
        set { for (i, v) in newValue.enumerated() { block.values.base[i] = Float(v) } }
    }

    /// Forward in `phase`, then (in training) backward with output gradient `dy`.
    /// Dropout draws from a generator seeded with `seed`, so repeated runs use the same mask.
    func run(_ x: [Double], batch: Int, dy: [Double]? = nil, phase: Phase = .training, seed: UInt64 = 3)
        -> (y: [Double], dx: [Double], dparameters: [Double]) {
        let input = x.map(Float.init)
        var output = [Float](repeating: 0, count: batch * layer.outputSize)
        var dx = [Float](repeating: 0, count: batch * layer.inputSize)
        let scratch = FloatBuffer(count: layer.scratchCount(batch: batch))
        var rng = RandomSource(seed: seed)
        block.gradients.zero()
        input.withUnsafeBufferPointer { xp in
            output.withUnsafeMutableBufferPointer { yp in
                layer.forward(xp.baseAddress!, yp.baseAddress!, batch: batch, scratch: scratch.base, phase: phase, rng: &rng)
                guard let dy else { return }
                let gradient = dy.map(Float.init)
                gradient.withUnsafeBufferPointer { gp in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        layer.backward(xp.baseAddress!, UnsafePointer(yp.baseAddress!), gp.baseAddress!, dxp.baseAddress!,
                                       batch: batch, scratch: scratch.base)
                    }
                }
            }
        }
        return (output.map(Double.init), dx.map(Double.init), block.gradientArray.map(Double.init))
    }

    /// Central differences of Σ r·y on the fast Float path, for inputs and parameters, against
    /// the layer's own backward. The step is large enough for Float rounding to stay small.
    func assertGradientsMatchFiniteDifferences(_ x: [Double], batch: Int, phase: Phase = .training,
                                               step h: Double = 4e-3, tolerance: Double = 3e-3,
                                               file: StaticString = #filePath, line: UInt = #line) {
        var data = TestData(seed: 99)
        let r = data.uniform(batch * layer.outputSize)
        let analytic = run(x, batch: batch, dy: r, phase: phase)
        let inputGradient = numericalGradient(at: x, step: h) { dot(r, run($0, batch: batch, phase: phase).y) }
        assertClose(analytic.dx, inputGradient, absolute: tolerance, relative: 1e-2, "\(type(of: layer)) dx vs finite differences",
                    file: file, line: line)
        let theta = parameters
        guard !theta.isEmpty else { return }
        let parameterGradient = numericalGradient(at: theta, step: h) { p in
            parameters = p
            return dot(r, run(x, batch: batch, phase: phase).y)
        }
        parameters = theta
        assertClose(analytic.dparameters, parameterGradient, absolute: tolerance, relative: 1e-2,
                    "\(type(of: layer)) dparameters vs finite differences", file: file, line: line)
    }
}

/// Central differences of the whole training objective (loss plus penalties) over every trainable
/// parameter of the model `json` describes, on the fast Float path, against the analytic
/// gradient. Dropout masks and noise are drawn from a fixed seed, so every evaluation is the same
/// function. A step that moves a max pool's winner breaks the comparison where the winner's
/// position matters (unpooling), so such models take a smaller one.
func assertObjectiveGradientMatchesFiniteDifferences(_ json: String, batch: Int, step: Double = 3e-3,
                                                     file: StaticString = #filePath, line: UInt = #line) throws {
    let model = try Autoencoder(json: json)
    let network = model.network, block = network.parameters
    let workspace = Workspace(network: network, capacity: batch, training: true)
    var data = TestData(seed: 21)
    let input = data.unit(batch * network.inputSize).map(Float.init)
    func objective() -> Double {
        workspace.activations[0].base.update(from: input, count: input.count)
        block.gradients.zero()
        var rng = RandomSource(seed: 5)
        return model.objective.evaluate(network, workspace, target: input, batch: batch, rng: &rng)
    }
    _ = objective()
    let analytic = block.gradientArray.map(Double.init)
    let numeric = numericalGradient(at: block.valueArray.map(Double.init), step: step) { p in
        for (i, v) in p.enumerated() { block.values.base[i] = Float(v) }
        return objective()
    }
    assertClose(analytic, numeric, absolute: 2e-3, relative: 2e-2, "objective gradient for \(json)", file: file, line: line)
}

/// A layer's fast forward and backward against a Double reference `outputs(x, θ)` on random
/// parameters (drawn from `data`): the outputs, and dx and dθ (θ in the layer's layout) against
/// central differences of the reference.
func assertMatchesReference(_ harness: LayerHarness, x: [Double], batch: Int, data: inout TestData, _ name: String,
                            file: StaticString = #filePath, line: UInt = #line,
                            outputs: ([Double], [Double]) -> [Double]) {
    let theta = harness.parameters
    let expected = outputs(x, theta), dy = data.uniform(expected.count)
    let fast = harness.run(x, batch: batch, dy: dy)
    assertClose(fast.y, expected, absolute: 1e-5, "\(name) output", file: file, line: line)
    assertClose(fast.dx, numericalGradient(at: x) { dot(dy, outputs($0, theta)) }, absolute: 1e-5, relative: 1e-4,
                "\(name) dx", file: file, line: line)
    assertClose(fast.dparameters, numericalGradient(at: theta) { dot(dy, outputs(x, $0)) }, absolute: 1e-5, relative: 1e-4,
                "\(name) parameters", file: file, line: line)
}

/// A recurrent layer over `batch` samples (chunked across threads) gives every sample what a
/// batch of one gives it, and parameter gradients that sum the samples'.
func assertBatchMatchesSampleBySample(_ harness: LayerHarness, batch: Int, seed: UInt64,
                                      file: StaticString = #filePath, line: UInt = #line) {
    var data = TestData(seed: seed)
    harness.parameters = data.uniform(harness.block.parameterCount, scale: 0.3)
    let inputs = harness.layer.inputSize, outputs = harness.layer.outputSize
    let x = data.uniform(batch * inputs), dy = data.uniform(batch * outputs)
    let whole = harness.run(x, batch: batch, dy: dy)
    var summed = [Double](repeating: 0, count: whole.dparameters.count)
    for n in 0..<batch {
        let xs = (n * inputs)..<((n + 1) * inputs), ys = (n * outputs)..<((n + 1) * outputs)
        let one = harness.run(Array(x[xs]), batch: 1, dy: Array(dy[ys]))
        assertClose(Array(whole.y[ys]), one.y, absolute: 1e-6, "sample \(n) output", file: file, line: line)
        assertClose(Array(whole.dx[xs]), one.dx, absolute: 1e-6, "sample \(n) dx", file: file, line: line)
        for i in summed.indices { summed[i] += one.dparameters[i] }
    }
    assertClose(whole.dparameters, summed, absolute: 1e-5, relative: 1e-5, "parameter gradients summed over samples",
                file: file, line: line)
}

/// What a bidirectional pair outputs for x, from a reference recurrent layer `reference(x, θ)`
/// (all steps' hidden states): the first half of θ reads x forwards, the second half the
/// time-reversed x; per step [forward | backward] with the backward states in the input's time
/// order, or (not `returnSequences`) both directions' last states.
func bidirectionalReference(x: [Double], theta: [Double], batch: Int, steps: Int, features: Int, units: Int,
                            returnSequences: Bool, _ reference: ([Double], [Double]) -> [Double]) -> [Double] {
    var reversed = x
    for n in 0..<batch { for t in 0..<steps { for k in 0..<features {
        reversed[(n * steps + t) * features + k] = x[(n * steps + steps - 1 - t) * features + k]
    } } }
    let half = theta.count / 2
    let forward = reference(x, Array(theta[..<half])), backward = reference(reversed, Array(theta[half...]))
    var expected: [Double] = []
    for n in 0..<batch {
        for t in (returnSequences ? 0 : steps - 1)..<steps {
            let ahead = (n * steps + t) * units, behind = (n * steps + (returnSequences ? steps - 1 - t : steps - 1)) * units
            expected += forward[ahead..<(ahead + units)]
            expected += backward[behind..<(behind + units)]
        }
    }
    return expected
}

/// Each spec is rejected with `invalidSpec` whose message contains its fragment.
func assertSpecErrors(_ cases: [(json: String, fragment: String)], file: StaticString = #filePath, line: UInt = #line) {
    for (json, fragment) in cases {
        XCTAssertThrowsError(try ModelSpec(json: json), json, file: file, line: line) { error in
            guard case AEError.invalidSpec(let message) = error else { return XCTFail("\(json): \(error)", file: file, line: line) }
            XCTAssertTrue(message.contains(fragment), "\(json): '\(message)' lacks '\(fragment)'", file: file, line: line)
        }
    }
}

/// A spec that must parse (the test fails at once otherwise).
func validSpec(_ json: String) -> ModelSpec {
    do { return try ModelSpec(json: json) } catch { XCTFail("\(error)"); fatalError() }
}
