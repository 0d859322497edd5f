/// A sequential stack of layers, its parameter block, and where in the stack the code is.
final class Network {
    let layers: [Layer]
    let parameters: ParameterBlock
    /// The layer whose output is the code (the features `encode` returns).
    let codeLayerIndex: Int

    /// Inference workspaces kept for the next call: allocating and first-touching megabytes of
    /// activations per call costs more than a small batch's arithmetic. A call takes one out, so
    /// concurrent calls never share one; at most `maximumSpareWorkspaces` are kept.
    private let spareWorkspaces = Locked<[Workspace]>([])
    private static let maximumSpareWorkspaces = 4

    /// Which weights the inference packs kept in spare workspaces belong to (PackedInference):
    /// bumped when a call that may change the weights ends. While such a call runs (a fit, whose
    /// steps change them without a bump), `packsReusable` is false and inference packs afresh.
    /// Written only while the model is used alone (Autoencoder's fit and partial fit), read by
    /// shared calls: the usage gate orders the two.
    private(set) var weightsGeneration = 0
    private(set) var packsReusable = true

    func weightsMayChange() { packsReusable = false }

    func weightsSettled() {
        weightsGeneration += 1
        packsReusable = true
    }

    init(layers: [Layer], codeLayerIndex: Int) {
        self.layers = layers
        self.codeLayerIndex = codeLayerIndex
        parameters = ParameterBlock(layers: layers)
        inferenceChunk = Network.inferenceChunk(layers)
    }

    var inputSize: Int { layers[0].inputSize }
    var outputSize: Int { layers[layers.count - 1].outputSize }
    var codeSize: Int { layers[codeLayerIndex].outputSize }
    /// The decoder reads what the encoder's pass left (max unpooling's switches), so it cannot
    /// run from codes alone.
    var decoderNeedsEncoderPass: Bool { layers[(codeLayerIndex + 1)...].contains { $0.readsScratchOf != nil } }
    static let decoderNeedsEncoderPassMessage =
        "this model's decoder unpools with the switches of the encoder's pass (conv_decoder 'unpool'), so it cannot decode codes alone; reconstruct the inputs instead"

    /// Rows per inference chunk: up to 1024, fewer when a chunk's workspace would exceed 32 MiB
    /// (im2col matrices of convolutions grow with kernel area times channels; packed weights do
    /// not grow with the rows). A layer's scratch is the larger of its training and inference
    /// needs, whose fixed parts differ, so its growth per row is taken over 1024 rows, not one
    /// (W3's LSTM: 0.5k floats from 0 to 1 row, 21k per row beyond; one row's growth gave it
    /// chunks of 1024 and a fit 110 MB larger).
    /// Worked out once: every inference call reads it.
    let inferenceChunk: Int

    private static func inferenceChunk(_ layers: [Layer]) -> Int {
        let most = 1024
        let perRow = layers[0].inputSize + layers.reduce(0) {
            $0 + $1.outputSize + ($1.scratchCount(batch: most) - $1.scratchCount(batch: 0) + most - 1) / most
        }
        return Swift.max(1, Swift.min(most, (32 << 20) / 4 / Swift.max(perRow, 1)))
    }

    func initialize(seed: UInt64) {
        var rng = RandomSource(seed: seed, stream: .initialization)
        for layer in layers { layer.initialize(&rng) }
    }

    /// Runs layers[range] on `input` (by default `workspace.activations[range.lowerBound]`),
    /// leaving layer i's output in `activations[i + 1]`. In inference a Dense with the BatchNorm
    /// and activation after it runs fused (FusedDense), as does a direct Conv2D with the
    /// activation after it (FusedConvolution), leaving only the group's last output. Callers read
    /// the code, so a group never has it inside. The other output they may read is the
    /// variational head's [mu | logvar] (scoring's KL term; latentDistribution stops there): with
    /// `keepsHead` false the head computes mu alone (VariationalMean) and leaves no [mu | logvar].
    /// In inference a PackedInference layer (a Dense heading a group too) reads its weights packed
    /// in its scratch, packed there only when `workspace.packed[i]` says they are not already
    /// for this generation.
    func forward(_ workspace: Workspace, batch: Int, layers range: Range<Int>, phase: Phase,
                 rng: inout RandomSource, input: UnsafePointer<Float>? = nil, keepsHead: Bool = true) {
        var i = range.lowerBound
        while i < range.upperBound {
            let x = i == range.lowerBound ? input ?? UnsafePointer(workspace.activations[i].base) : UnsafePointer(workspace.activations[i].base)
            if phase == .inference, let group = FusedDense(layers, at: i, end: range.upperBound),
               !(i + 1..<i + group.count).contains(codeLayerIndex + 1) {
                // The folded normalization lives in the BatchNorm's scratch, kept like packs.
                let folded = workspace.scratch[i + 1].base
                if !holdsCurrentWeights(workspace, i + 1) {
                    group.fold(into: folded)
                    markCurrentWeights(workspace, i + 1)
                }
                group.forward(x, workspace.activations[i + group.count].base, batch: batch,
                              packed: packs(of: group.dense, at: i, in: workspace), folded: folded)
                i += group.count
                continue
            }
            if phase == .inference, !keepsHead, let group = VariationalMean(layers, at: i, end: range.upperBound) {
                group.forward(x, workspace.activations[i + group.count].base, batch: batch, packed: packs(of: group.dense, at: i, in: workspace))
                i += group.count
                continue
            }
            if phase == .inference, let group = FusedConvolution(layers, at: i, end: range.upperBound), codeLayerIndex != i {
                group.forward(x, workspace.activations[i + group.count].base, batch: batch,
                              packed: packs(of: group.convolution, at: i, in: workspace))
                i += group.count
                continue
            }
            if phase == .inference, let layer = layers[i] as? PackedInference {
                layer.inferPacked(x, workspace.activations[i + 1].base, batch: batch, scratch: packs(of: layer, at: i, in: workspace))
                i += 1
                continue
            }
            workspace.packed[i] = nil  // the layer may use its scratch for anything
            layers[i].forward(x, workspace.activations[i + 1].base, batch: batch,
                              scratch: workspace.scratch[i].base, phase: phase, rng: &rng)
            i += 1
        }
    }

    /// Layer i's scratch with its packed weights, packed now unless they are there already.
    private func packs(of layer: PackedInference, at i: Int, in workspace: Workspace) -> UnsafeMutablePointer<Float> {
        let scratch = workspace.scratch[i].base
        if !holdsCurrentWeights(workspace, i) {
            layer.packWeights(into: scratch)
            markCurrentWeights(workspace, i)
        }
        return scratch
    }

    /// Whether layer i's scratch holds what inference derives from the current weights.
    private func holdsCurrentWeights(_ workspace: Workspace, _ i: Int) -> Bool {
        packsReusable && workspace.packed[i] == weightsGeneration
    }

    private func markCurrentWeights(_ workspace: Workspace, _ i: Int) {
        workspace.packed[i] = packsReusable ? weightsGeneration : nil
    }

    /// Backward through layers[range] in reverse, starting from the gradient already in
    /// `workspace.gradients[range.upperBound]`. The first layer of the network gets no input gradient.
    /// `beforeLayer(i)` runs just before layer i's backward, when `gradients[i + 1]` is complete,
    /// so a penalty can add its own term there; `afterLayer(i)` runs after.
    func backward(_ workspace: Workspace, batch: Int, layers range: Range<Int>,
                  beforeLayer: (Int) -> Void = { _ in }, afterLayer: (Int) -> Void = { _ in }) {
        for i in range.reversed() {
            beforeLayer(i)
            layers[i].backward(workspace.activations[i].base, workspace.activations[i + 1].base,
                               workspace.gradients[i + 1].base, i == 0 ? nil : workspace.gradients[i].base,
                               batch: batch, scratch: workspace.scratch[i].base)
            afterLayer(i)
        }
    }

    /// Feeds the rows of `x` through `layers` (a range starting at the network's input or inside
    /// it) in chunks, calling `body(firstRow, chunkRows, workspace)` with each chunk's activations
    /// in place. A chunk is copied into `activations[range.lowerBound]` and scaled there; rows
    /// that need no scaling are read where they lie (when contiguous) unless `inputInWorkspace`
    /// asks for the copy because `body` reads it; `keepsHead` as forward's. Allocates its own
    /// workspace, so concurrent calls on one network are safe.
    func infer(_ x: Rows, layers range: Range<Int>, scaler: Scaler?, inputInWorkspace: Bool = false, keepsHead: Bool = true,
               body: (Int, Int, Workspace) -> Void) {
        let rows = x.count
        let capacity = Swift.min(inferenceChunk, Swift.max(rows, 1))
        let reused = spareWorkspaces.withLock { spare -> Workspace? in
            guard let i = spare.firstIndex(where: { $0.capacity >= capacity }) else { return nil }
            return spare.remove(at: i)
        }
        let workspace = reused ?? Workspace(network: self, capacity: capacity, training: false)
        defer {
            spareWorkspaces.withLock { spare in
                if spare.count < Network.maximumSpareWorkspaces { spare.append(workspace) }
            }
        }
        var rng = RandomSource(seed: 0)  // inference draws no random numbers
        var start = 0
        while start < rows {
            let n = Swift.min(workspace.capacity, rows - start)
            if scaler == nil && !inputInWorkspace && x.indices == nil {
                forward(workspace, batch: n, layers: range, phase: .inference, rng: &rng, input: x.row(start), keepsHead: keepsHead)
            } else {
                let input = workspace.activations[range.lowerBound].base
                x.copy(start..<(start + n), to: input)
                scaler?.apply(input, rows: n)
                forward(workspace, batch: n, layers: range, phase: .inference, rng: &rng, keepsHead: keepsHead)
            }
            body(start, n, workspace)
            start += n
        }
    }
}

/// Everything one pass over a batch of up to `capacity` samples writes: each layer's output
/// (activations[0] is the input), the matching gradients when training, each layer's scratch,
/// and the training target. Sized once; reused for every batch of a fit. In training some
/// entries share a buffer (`trainingBuffers`), so a buffer is read only while it is live.
final class Workspace {
    let capacity: Int
    let activations: [FloatBuffer]
    let gradients: [FloatBuffer]
    let scratch: [FloatBuffer]
    let target: FloatBuffer
    /// Per-code-unit scratch for the penalties.
    let penaltyScratch: FloatBuffer
    /// Per layer, the weights generation whose inference packs (or folded normalization) its
    /// scratch holds (Network.forward); nil when it holds anything else.
    var packed: [Int?]

    init(network: Network, capacity: Int, training: Bool) {
        self.capacity = capacity
        let sizes = [network.inputSize] + network.layers.map(\.outputSize)
        if training {
            (activations, gradients) = Workspace.trainingBuffers(network.layers, sizes: sizes, capacity: capacity)
        } else {
            activations = sizes.map { FloatBuffer(count: capacity * $0) }
            gradients = []
        }
        var scratch: [FloatBuffer] = []
        for layer in network.layers {
            let owner = layer.readsScratchOf.flatMap { owner in network.layers.firstIndex { $0 === owner } }
            scratch.append(owner.map { scratch[$0] } ?? FloatBuffer(count: layer.scratchCount(batch: capacity)))
        }
        self.scratch = scratch
        target = FloatBuffer(count: training ? capacity * network.inputSize : 0)
        penaltyScratch = FloatBuffer(count: 2 * network.codeSize)
        packed = Array(repeating: nil, count: network.layers.count)
    }

    /// A fit's activations and gradients, in shared buffers where the backward pass allows (a fit
    /// holds one batch's activations and gradients; W2's at batch 256 took 112 MB, 53 MB now):
    /// - a layer that works in place (an activation) writes its output over its input, unless it
    ///   is the first layer (its input is the batch, often the loss's target) or the layer before
    ///   it reads its own output in backward;
    /// - the gradients take turns in two buffers: layer i's backward reads gradients[i + 1] and
    ///   writes gradients[i] (an in-place layer over gradients[i + 1]), and nothing reads a
    ///   gradient after the layer below it has (the objective's terms add theirs just before or
    ///   after the layer whose gradient they join).
    private static func trainingBuffers(_ layers: [Layer], sizes: [Int], capacity: Int) -> ([FloatBuffer], [FloatBuffer]) {
        let inPlace = layers.indices.map { i in layers[i].worksInPlace && i > 0 && !layers[i - 1].backwardReadsOutput }
        var activations = [FloatBuffer(count: capacity * sizes[0])]
        for i in layers.indices {
            activations.append(inPlace[i] ? activations[i] : FloatBuffer(count: capacity * sizes[i + 1]))
        }
        var turn = Array(repeating: 0, count: sizes.count)
        for i in layers.indices.reversed() { turn[i] = inPlace[i] ? turn[i + 1] : 1 - turn[i + 1] }
        let buffers = (0..<2).map { t in
            FloatBuffer(count: capacity * (sizes.indices.filter { turn[$0] == t }.map { sizes[$0] }.max() ?? 0))
        }
        return (activations, turn.map { buffers[$0] })
    }
}
