/// Turns a spec into layers.
///
/// `input_dropout` puts a Dropout first. `batch_norm: "before"` puts a BatchNorm before every
/// Dense and convolution (input, code and output layers included) instead of the one after each
/// hidden Dense or convolution shown below.
///
/// Dense family:
///   encoder: [Dense → BatchNorm? → activation → Dropout?] per hidden width
///   code:    Dense → code_activation            (the code is this activation's output), or for
///            a variational code Dense → [mu | logvar] → Reparameterize (features are mu)
///   decoder: [Dense → BatchNorm? → activation → Dropout?] per decoder width
///   output:  Dense → output_activation
///   tied_weights: decoder Dense k (the output's included) uses the weights of the encoder Dense
///            that mirrors it (the code layer's counting), transposed; it keeps its own bias
///
/// Sequence to sequence ([steps, features] samples):
///   encoder: LSTM (or GRU with `cell: "gru"`; Bidirectional pairs) per hidden width (all return
///            sequences but the last, which returns its final state); with `peephole`, every
///            LSTM has peephole connections
///   code:    that final state, or with code_size Dense → code_activation (or a variational code)
///   decoder: LSTM (GRU) per decoder width, the first reading the code at every step → per-step Dense
///   to the features → output_activation
///
/// Sequences of maps, `convlstm` ([steps, height, width, channels] samples):
///   encoder: ConvLSTM per conv block (all return sequences but the last, which returns its final
///            state map)
///   code:    that final state map, or with code_size Dense → code_activation (or a variational
///            code), then Dense → activation back to the map's size
///   decoder: ConvLSTM per block in reverse, the first reading the code map at every step → a
///            per-step 1x1 Conv to the input's channels → output_activation
///
/// Convolutional family (channels-last; 1-D is height 1):
///   encoder: per block, Conv → BatchNorm? → activation → Dropout? → Pool?
///   code:    the last feature map, or with code_size: Dense → code_activation, then Dense →
///            activation back to the feature map's size
///   decoder: per encoder block in reverse, either Upsample(stride · pool stride) → Conv (stride 1,
///            same padding), or one ConvTranspose with that stride, or (`unpool`) MaxUnpool with
///            the block's pool switches → Conv (stride 1, same padding), to the block's input
///            channels; BatchNorm?/activation/Dropout? as in the encoder, output_activation after
///            the last; a final crop when the upsampling overshoots the input.
enum NetworkBuilder {
    /// The layers and the index of the code layer; throws `invalidSpec` naming the block whose
    /// shapes do not work. Allocates no weights.
    static func layers(_ spec: ModelSpec) throws -> (layers: [Layer], codeLayerIndex: Int) {
        var stack = LayerStack(spec: spec)
        if let rate = spec.inputDropout, rate > 0 { stack.layers.append(Dropout(size: spec.inputSize, rate: rate)) }
        if spec.variant.isConvolutional {
            try stack.convolutional()
        } else if spec.variant == .seq2seq {
            stack.sequenceToSequence()
        } else if spec.variant == .convlstm {
            try stack.spatioTemporal()
        } else {
            stack.dense()
        }
        return (stack.layers, stack.codeLayerIndex)
    }
}

private struct LayerStack {
    let spec: ModelSpec
    var layers: [Layer] = []
    var codeLayerIndex = 0

    init(spec: ModelSpec) { self.spec = spec }

    /// Activation, then the optional BatchNorm before it and Dropout after it for hidden blocks.
    mutating func finishBlock(size: Int, channels: Int, activation: ActivationFunction, hidden: Bool) {
        if hidden && spec.batchNorm == .after { layers.append(BatchNorm(channels: channels, positions: size / channels)) }
        layers.append(Activation(size: size, function: activation))
        if hidden && spec.dropout > 0 { layers.append(Dropout(size: size, rate: spec.dropout)) }
    }

    /// The BatchNorm that `batch_norm: "before"` puts in front of a weight layer reading `size`
    /// values of `channels` channels.
    mutating func normalizeInput(size: Int, channels: Int) {
        if spec.batchNorm == .before { layers.append(BatchNorm(channels: channels, positions: size / channels)) }
    }

    /// Dense → BatchNorm? → activation → Dropout?; with `tiedTo`, the Dense uses that encoder
    /// layer's weights transposed. Returns the Dense.
    @discardableResult
    mutating func dense(_ inputs: Int, _ units: Int, _ activation: ActivationFunction, hidden: Bool,
                        tiedTo encoder: Dense? = nil) -> Dense {
        normalizeInput(size: inputs, channels: inputs)
        let dense = Dense(inputSize: inputs, outputSize: units, initialization: activation.preferredInitialization, tiedTo: encoder)
        layers.append(dense)
        finishBlock(size: units, channels: units, activation: activation, hidden: hidden)
        return dense
    }

    /// The code layer from `width` inputs: Dense → code_activation, or for a variational code
    /// Dense → [mu | logvar] → Reparameterize. Returns the Dense.
    @discardableResult
    mutating func code(from width: Int, size: Int) -> Dense {
        let dense: Dense
        if spec.variationalSettings != nil {
            normalizeInput(size: width, channels: width)
            dense = Dense(inputSize: width, outputSize: 2 * size, initialization: .glorot)
            layers.append(dense)
            layers.append(Reparameterize(size: size))
        } else {
            dense = self.dense(width, size, spec.codeActivation, hidden: false)
        }
        codeLayerIndex = layers.count - 1
        return dense
    }

    /// With `tied_weights` (validated: decoder widths mirror the encoder's, no variational code),
    /// decoder layer k uses the weights of encoder layer n - 1 - k, counting the code layer.
    mutating func dense() {
        var width = spec.inputSize
        var encoder: [Dense] = []
        for units in spec.hiddenUnits { encoder.append(dense(width, units, spec.activation, hidden: true)); width = units }
        let code = spec.codeSize ?? 1  // validated: dense variants have one
        encoder.append(self.code(from: width, size: code))
        var partners = spec.tiedWeights == true ? Array(encoder.reversed()) : []
        func partner() -> Dense? { partners.isEmpty ? nil : partners.removeFirst() }
        width = code
        for units in spec.decoderUnits { dense(width, units, spec.activation, hidden: true, tiedTo: partner()); width = units }
        dense(width, spec.inputSize, spec.outputActivation, hidden: false, tiedTo: partner())
    }

    mutating func sequenceToSequence() {
        let steps = spec.inputShape[0], features = spec.inputShape.count > 1 ? spec.inputShape[1] : 1
        let peephole = spec.peephole == true, gru = spec.cell == .gru
        var width = features
        for (k, units) in spec.hiddenUnits.enumerated() {
            let sequences = k < spec.hiddenUnits.count - 1
            switch (spec.bidirectional, gru) {
            case (true, false): layers.append(Bidirectional<LSTM>(steps: steps, features: width, units: units, returnSequences: sequences,
                                                                  peephole: peephole))
            case (true, true): layers.append(Bidirectional<GRU>(steps: steps, features: width, units: units, returnSequences: sequences))
            case (false, false): layers.append(LSTM(steps: steps, features: width, units: units, returnSequences: sequences,
                                                    peephole: peephole))
            case (false, true): layers.append(GRU(steps: steps, features: width, units: units, returnSequences: sequences))
            }
            width = spec.bidirectional ? 2 * units : units
        }
        codeLayerIndex = layers.count - 1
        if let code = spec.codeSize {
            self.code(from: width, size: code)
            width = code
        }
        // The first decoder LSTM reads the code at every step itself (computing its projection
        // once); validation requires at least one.
        for (k, units) in spec.decoderUnits.enumerated() {
            layers.append(gru ? GRU(steps: steps, features: width, units: units, returnSequences: true, repeatsInput: k == 0)
                              : LSTM(steps: steps, features: width, units: units, returnSequences: true, repeatsInput: k == 0,
                                     peephole: peephole))
            width = units
        }
        layers.append(Dense(inputSize: width, outputSize: features, steps: steps,
                            initialization: spec.outputActivation.preferredInitialization))
        layers.append(Activation(size: steps * features, function: spec.outputActivation))
    }

    mutating func spatioTemporal() throws {
        let shape = spec.inputShape, blocks = spec.convBlocks
        let (steps, height, width, channels) = (shape[0], shape[1], shape[2], shape.count > 3 ? shape[3] : 1)
        func convLSTM(_ block: ConvBlock, reading inputChannels: Int, sequences: Bool, repeated: Bool = false) throws -> ConvLSTM {
            try ConvLSTM(steps: steps, height: height, width: width, channels: inputChannels, filters: block.filters,
                         kernel: ConvBlock.pair(block.kernel, rank: 2), returnSequences: sequences, repeatsInput: repeated)
        }
        var c = channels
        for (k, block) in blocks.enumerated() {
            layers.append(try convLSTM(block, reading: c, sequences: k < blocks.count - 1))
            c = block.filters
        }
        codeLayerIndex = layers.count - 1
        if let code = spec.codeSize {
            let map = height * width * c
            self.code(from: map, size: code)
            layers.append(Dense(inputSize: code, outputSize: map, initialization: spec.activation.preferredInitialization))
            finishBlock(size: map, channels: c, activation: spec.activation, hidden: true)
        }
        for (k, block) in blocks.enumerated().reversed() {
            layers.append(try convLSTM(block, reading: c, sequences: true, repeated: k == blocks.count - 1))
            c = block.filters
        }
        // A 1x1 kernel sees one pixel of one step, so the steps stacked as one tall map are one convolution.
        let perStep = try ConvGeometry(input: (steps * height, width, c), kernel: (1, 1), stride: (1, 1), dilation: (1, 1), padding: .same)
        layers.append(Conv2D(geometry: perStep, filters: channels, initialization: spec.outputActivation.preferredInitialization))
        layers.append(Activation(size: spec.inputSize, function: spec.outputActivation))
    }

    mutating func convolutional() throws {
        let rank = spec.variant == .conv1d ? 1 : 2
        let shape = spec.inputShape
        let input = rank == 1 ? (1, shape[0], shape.count > 1 ? shape[1] : 1)
                              : (shape[0], shape[1], shape.count > 2 ? shape[2] : 1)
        var (h, w, c) = input
        // What each encoder block's mirror in the decoder needs: its input channels and the
        // total downsampling factor.
        var mirrors: [(channels: Int, factors: (Int, Int), block: ConvBlock, pool: Pool2D?)] = []

        for (i, block) in spec.convBlocks.enumerated() {
            let field = "conv_blocks[\(i)]"
            let stride = ConvBlock.pair(block.stride, rank: rank)
            let conv = try geometry(field, (h, w, c), ConvBlock.pair(block.kernel, rank: rank), stride,
                                    ConvBlock.pair(block.dilation, rank: rank), block.padding)
            normalizeInput(size: h * w * c, channels: c)
            layers.append(Conv2D(geometry: conv, filters: block.filters, initialization: spec.activation.preferredInitialization))
            let channelsIn = c
            (h, w, c) = (conv.outputHeight, conv.outputWidth, block.filters)
            finishBlock(size: h * w * c, channels: c, activation: spec.activation, hidden: true)
            var factors = stride, encoderPool: Pool2D? = nil
            if spec.convDecoder == .unpool { try checkUnpoolable(block, field, rank: rank, sizeKept: (conv.outputHeight, conv.outputWidth) == (conv.inputHeight, conv.inputWidth)) }
            if let pool = block.pool {
                let window = ConvBlock.pair(pool, rank: rank)
                let poolStride = ConvBlock.pair(block.poolStride ?? pool, rank: rank)
                if block.poolPadding == .valid && ((h - window.0) % poolStride.0 != 0 || (w - window.1) % poolStride.1 != 0) {
                    throw AEError.invalidSpec("\(field): pooling window \(window) with stride \(poolStride) does not tile the \(h)x\(w) feature map; change the sizes or use pool_padding 'same'")
                }
                let pooling = try geometry(field + ".pool", (h, w, c), window, poolStride, (1, 1), block.poolPadding)
                encoderPool = Pool2D(kind: block.poolType, geometry: pooling)
                layers.append(encoderPool!)
                (h, w) = (pooling.outputHeight, pooling.outputWidth)
                factors = (factors.0 * poolStride.0, factors.1 * poolStride.1)
            }
            mirrors.append((channelsIn, factors, block, encoderPool))
        }

        codeLayerIndex = layers.count - 1
        if let code = spec.codeSize {
            let flat = h * w * c
            self.code(from: flat, size: code)
            normalizeInput(size: code, channels: code)
            layers.append(Dense(inputSize: code, outputSize: flat, initialization: spec.activation.preferredInitialization))
            finishBlock(size: flat, channels: c, activation: spec.activation, hidden: true)
        }

        for (i, mirror) in mirrors.enumerated().reversed() {
            let field = "conv_blocks[\(i)] (decoder)"
            let last = i == 0
            let kernel = ConvBlock.pair(mirror.block.kernel, rank: rank)
            let dilation = ConvBlock.pair(mirror.block.dilation, rank: rank)
            let (fh, fw) = mirror.factors
            let activation = last ? spec.outputActivation : spec.activation
            switch spec.convDecoder {
            case .upsample, .unpool:
                if let pool = mirror.pool, spec.convDecoder == .unpool {
                    layers.append(MaxUnpool2D(pool: pool))
                    (h, w) = (pool.geometry.inputHeight, pool.geometry.inputWidth)
                } else if fh * fw > 1 {
                    layers.append(Upsample2D(height: h, width: w, channels: c, factors: (fh, fw)))
                    (h, w) = (h * fh, w * fw)
                }
                let conv = try geometry(field, (h, w, c), kernel, (1, 1), dilation, .same)
                normalizeInput(size: h * w * c, channels: c)
                layers.append(Conv2D(geometry: conv, filters: mirror.channels, initialization: activation.preferredInitialization))
            case .transpose:
                // The geometry of the convolution this layer inverts: from (h·fh, w·fw) back to (h, w).
                let inverse = try geometry(field, (h * fh, w * fw, mirror.channels), kernel, (fh, fw), dilation, .same)
                normalizeInput(size: h * w * c, channels: c)
                layers.append(ConvTranspose2D(geometry: inverse, inputChannels: c, initialization: activation.preferredInitialization))
                (h, w) = (h * fh, w * fw)
            }
            c = mirror.channels
            finishBlock(size: h * w * c, channels: c, activation: activation, hidden: !last)
        }

        if (h, w) != (input.0, input.1) {
            guard h >= input.0 && w >= input.1 else {
                throw AEError.invalidSpec("the decoder ends at \(h)x\(w), smaller than the input \(input.0)x\(input.1), so it cannot reconstruct it; use pool_padding 'same' or sizes that divide the input")
            }
            layers.append(Crop2D(input: (h, w, c), to: (input.0, input.1)))
        }
    }

    /// Unpooling puts values back where the encoder's maxima were, so each block must keep its
    /// feature map's size through the convolution and pool with non-overlapping max windows
    /// (every position the winner of at most one window).
    private func checkUnpoolable(_ block: ConvBlock, _ field: String, rank: Int, sizeKept: Bool) throws {
        guard sizeKept else {
            throw AEError.invalidSpec("\(field): conv_decoder 'unpool' needs convolutions that keep the feature map's size (stride 1, padding 'same')")
        }
        guard let pool = block.pool else { return }
        let window = ConvBlock.pair(pool, rank: rank), stride = ConvBlock.pair(block.poolStride ?? pool, rank: rank)
        guard block.poolType == .max, window == stride else {
            throw AEError.invalidSpec("\(field): conv_decoder 'unpool' needs max pooling with pool_stride equal to the window (pool_type \(block.poolType.rawValue), pool \(pool), pool_stride \(block.poolStride ?? pool))")
        }
    }

    private func geometry(_ field: String, _ input: (Int, Int, Int), _ kernel: (Int, Int), _ stride: (Int, Int),
                          _ dilation: (Int, Int), _ padding: ConvBlock.ConvPadding) throws -> ConvGeometry {
        do {
            return try ConvGeometry(input: input, kernel: kernel, stride: stride, dilation: dilation, padding: padding)
        } catch AEError.invalidSpec(let message) {
            throw AEError.invalidSpec("\(field): \(message)")
        }
    }
}
