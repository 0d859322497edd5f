/// The one configuration language for Swift, C, Python and the command line. Every field, its
/// default and its valid range is documented in docs/spec.md; `validate()` enforces the ranges
/// and names the offending field. Decoding rejects unknown fields. Absent optional fields take
/// their defaults at decoding, so a spec read back from a model shows every value in force.
public struct ModelSpec: Codable, Equatable, Sendable {
    /// The family member. The regularized variants are the dense autoencoder with their
    /// regularizer switched on by default; any variant may also set `noise` or `sparsity`.
    public enum Variant: String, SpecChoice, Sendable {
        case dense, denoising, sparse, contractive, conv1d, conv2d, variational, adversarial, seq2seq, convlstm

        /// Convolutional variants take `conv_blocks`; the others are built from dense layers.
        public var isConvolutional: Bool { self == .conv1d || self == .conv2d }
    }
    /// How a convolutional decoder goes back up: nearest upsampling then a convolution, one
    /// transposed convolution per encoder block, or max unpooling with the encoder pools' switches
    /// then a convolution.
    public enum ConvDecoder: String, SpecChoice, Sendable { case upsample, transpose, unpool }
    /// The recurrent cell of seq2seq models.
    public enum RecurrentCell: String, SpecChoice, Sendable { case lstm, gru }
    /// Where BatchNorm goes: `after` each hidden Dense or convolution (before its activation), or
    /// `before` every Dense and convolution, the input, code and output layers' included (the
    /// reference study's `BN → Dense → activation`, which also normalizes the input). In JSON
    /// `false`, `true` (after), `"after"` or `"before"`; read back as `false`, `true` or `"before"`.
    public enum BatchNormPlacement: Codable, Equatable, Sendable, CustomStringConvertible {
        case none, after, before

        public init(from decoder: Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let on = try? value.decode(Bool.self) {
                self = on ? .after : .none
            } else if let placement = try? value.decode(String.self), placement == "after" || placement == "before" {
                self = placement == "after" ? .after : .before
            } else {
                throw AEError.invalidSpec("field '\(dottedPath(decoder.codingPath))' must be true, false, 'after' or 'before'")
            }
        }

        public func encode(to encoder: Encoder) throws {
            var value = encoder.singleValueContainer()
            switch self {
            case .none: try value.encode(false)
            case .after: try value.encode(true)
            case .before: try value.encode("before")
            }
        }

        public var description: String { self == .none ? "false" : self == .after ? "true" : "'before'" }
    }
    public enum Scaling: String, SpecChoice, Sendable {
        /// per feature to [0, 1] by the training minimum and maximum
        case minmax
        /// per feature to zero mean, unit variance
        case standard
        case none
    }
    /// A row's anomaly score: `reconstruction`, the mean of its per-value errors; `standardized`,
    /// the mean of each error divided by that value's mean error on the training rows, so values
    /// that always reconstruct badly (noisy pixels, a heavy-tailed column) weigh as much as the
    /// others (bench/anomaly_scores.py: validation AUROC 92.39 against 90.95 on Fashion-MNIST);
    /// `combined`, the standardized score plus two distances of the row's code from the training
    /// codes, each divided by three times its training mean (CodeDistances; validation AUROC 94.0).
    public enum AnomalyScore: String, SpecChoice, Sendable { case reconstruction, standardized, combined }

    public var variant: Variant
    /// Shape of one sample; dense models flatten it.
    public var inputShape: [Int]
    /// Widths of the encoder's hidden layers, input side first.
    public var hiddenUnits: [Int]
    /// Width of the dense code layer. Required for dense variants; for convolutional ones, nil
    /// makes the encoder's last feature map (flattened) the code.
    public var codeSize: Int?
    /// Encoder blocks of the convolutional variants, input side first.
    public var convBlocks: [ConvBlock]
    public var convDecoder: ConvDecoder
    /// seq2seq: every encoder LSTM reads the sequence both ways (outputs of twice the width).
    public var bidirectional: Bool
    /// seq2seq: peephole connections in every LSTM (the gates see the cell state). nil (absent
    /// from the JSON) is false.
    public var peephole: Bool?
    /// seq2seq: LSTM or GRU layers; nil (absent from the JSON) is LSTM.
    public var cell: RecurrentCell?
    public var activation: ActivationFunction
    public var codeActivation: ActivationFunction
    public var outputActivation: ActivationFunction
    /// Decoder hidden widths; defaults to the encoder's, reversed.
    public var decoderUnits: [Int]
    /// Dense family: each decoder Dense uses the weights of the encoder Dense that mirrors it,
    /// transposed (half the weights). nil (absent from the JSON) is false.
    public var tiedWeights: Bool?
    public var batchNorm: BatchNormPlacement
    public var dropout: Float
    /// Inverted dropout on the (scaled) input units in training; nil for none. Absent from the
    /// JSON when nil, so model files written before the field existed save back unchanged.
    public var inputDropout: Float?
    public var loss: LossFunction
    public var scaling: Scaling
    public var noise: Corruption?
    /// The code penalties in force, each under its own field (`CodePenalties.all`).
    var penalties: [any CodePenalty]
    public var sparsity: SparsityPenalty? {
        get { penalty(SparsityPenalty.self) }
        set { setPenalty(newValue) }
    }
    public var contractiveWeight: Float? {
        get { penalty(ContractivePenalty.self)?.weight }
        set { setPenalty(newValue.map(ContractivePenalty.init(weight:))) }
    }
    /// Makes the code variational (mu and log-variance heads, sampling); see docs/spec.md.
    public var variationalSettings: VariationalSettings?
    /// Makes the autoencoder adversarial (a discriminator pushes codes towards a prior).
    public var adversarialSettings: AdversarialSettings?
    /// What a row's anomaly score is; nil (absent from the JSON) is `.reconstruction`, so model
    /// files written before the field existed save back unchanged.
    public var score: AnomalyScore?
    /// Expected fraction of anomalies in the training data; sets the anomaly threshold.
    public var contamination: Float
    public var seed: UInt64
    public var training: TrainingSpec

    /// A dense autoencoder with every other field at its default.
    public init(variant: Variant = .dense, inputShape: [Int], hiddenUnits: [Int] = [], codeSize: Int) throws {
        var json = "{\"variant\":\"\(variant.rawValue)\",\"input_shape\":\(inputShape),"
        json += "\"hidden_units\":\(hiddenUnits),\"code_size\":\(codeSize)}"
        self = try ModelSpec(json: json)
    }

    /// The activation of the code: `code_activation` with a dense code, the blocks' `activation`
    /// when the code is a convolutional feature map.
    public var effectiveCodeActivation: ActivationFunction {
        codeSize == nil ? activation : codeActivation
    }

    /// Parses and validates a JSON spec.
    public init(json: String) throws {
        self = try SpecJSON.decode(ModelSpec.self, from: json)
        try validate()
    }

    /// Pretty-printed JSON with every field.
    public var json: String { SpecJSON.encode(self) }

    public var inputSize: Int { inputShape.reduce(1, *) }

    /// 2^28 parameters (1 GiB of weights, 3 GiB with Adam's state) is the largest model accepted.
    /// The fuzzing build (`make fuzz`) accepts 2^20: a legitimate model of 10^8 parameters takes
    /// over 20 s and 3 GB to create under AddressSanitizer, which libFuzzer reports as a hang,
    /// while the limit's own check is exercised just the same.
    #if AEF_FUZZING
    public static let maximumParameters = 1 << 20
    #else
    public static let maximumParameters = 1 << 28
    #endif

    enum CodingKeys: String, CodingKey, CaseIterable {
        case variant, inputShape = "input_shape", hiddenUnits = "hidden_units", codeSize = "code_size"
        case convBlocks = "conv_blocks", convDecoder = "conv_decoder", bidirectional, peephole, cell
        case activation, codeActivation = "code_activation", outputActivation = "output_activation"
        case decoderUnits = "decoder_units", tiedWeights = "tied_weights", batchNorm = "batch_norm", dropout, inputDropout = "input_dropout", loss, scaling
        case noise, variationalSettings = "variational"
        case adversarialSettings = "adversarial"
        case score, contamination, seed, training
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self, extra: CodePenalties.fields)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        variant = try c.value(.variant, default: .dense)
        inputShape = try c.integers(.inputShape)
        hiddenUnits = try c.integers(.hiddenUnits, default: [])
        codeSize = try c.contains(.codeSize) && !c.decodeNil(forKey: .codeSize) ? c.integer(.codeSize) : nil
        convBlocks = try c.value(.convBlocks, default: [])
        convDecoder = try c.value(.convDecoder, default: .upsample)
        bidirectional = try c.value(.bidirectional, default: false)
        peephole = try c.decodeIfPresent(Bool.self, forKey: .peephole)
        cell = try c.contains(.cell) ? c.value(.cell, default: .lstm) : nil
        activation = try c.value(.activation, default: .elu)
        // An adversarial code must be able to match an unbounded prior.
        codeActivation = try c.value(.codeActivation, default: variant == .adversarial ? .identity : .sigmoid)
        decoderUnits = try c.integers(.decoderUnits, default: hiddenUnits.reversed())
        tiedWeights = try c.decodeIfPresent(Bool.self, forKey: .tiedWeights)
        batchNorm = try c.value(.batchNorm, default: .none)
        dropout = try c.value(.dropout, default: 0)
        inputDropout = try c.decodeIfPresent(Float.self, forKey: .inputDropout)
        loss = try c.value(.loss, default: .mse)
        scaling = try c.value(.scaling, default: .minmax)
        // Sigmoid output matches data scaled into [0, 1] and is required by cross-entropy. Not for
        // seq2seq under MSE: on heavy-tailed columns min-max scaled near 0 (the insurance amounts),
        // the saturated sigmoid starved stacked LSTMs of gradient and two or more collapsed to the
        // mean with a constant code, in PyTorch's same network too (issue 24; docs/spec.md, seq2seq).
        let boundedOutput = loss == .bce || (scaling == .minmax && variant != .seq2seq)
        outputActivation = try c.value(.outputActivation, default: boundedOutput ? .sigmoid : .identity)
        noise = try c.decodeIfPresent(Corruption.self, forKey: .noise)
            ?? (variant == .denoising ? Corruption(kind: .gaussian, level: 0.1) : nil)
        penalties = try CodePenalties.decode(from: decoder, variant: variant)
        variationalSettings = try c.decodeIfPresent(VariationalSettings.self, forKey: .variationalSettings)
            ?? (variant == .variational ? VariationalSettings() : nil)
        adversarialSettings = try c.decodeIfPresent(AdversarialSettings.self, forKey: .adversarialSettings)
            ?? (variant == .adversarial ? AdversarialSettings() : nil)
        score = try c.contains(.score) ? c.value(.score, default: .reconstruction) : nil
        contamination = try c.value(.contamination, default: 0.1)
        seed = try c.value(.seed, default: 42)
        training = try c.value(.training, default: TrainingSpec())
    }

    /// Throws `AEError.invalidSpec` naming the first field out of range.
    public func validate() throws { _ = try validatedLayers() }

    /// Checks every field, then builds the layers (which checks the shapes through every layer
    /// and the size) and returns them: validating and building a model is one build.
    func validatedLayers() throws -> (layers: [Layer], codeLayerIndex: Int) {
        func fail(_ field: String, _ rule: String, _ value: Any) throws -> Never {
            throw AEError.invalidSpec("field '\(field)' \(rule), got \(value)")
        }
        let maxWidth = 1 << 24
        if inputShape.isEmpty || inputShape.contains(where: { $0 < 1 || $0 > maxWidth }) {
            try fail("input_shape", "must be a non-empty list of sizes in 1...\(maxWidth)", inputShape)
        }
        if inputShape.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) > maxWidth {
            try fail("input_shape", "must describe at most \(maxWidth) values per sample", inputShape)
        }
        if let bad = hiddenUnits.first(where: { $0 < 1 || $0 > maxWidth }) {
            try fail("hidden_units", "must hold widths in 1...\(maxWidth)", bad)
        }
        if let bad = decoderUnits.first(where: { $0 < 1 || $0 > maxWidth }) {
            try fail("decoder_units", "must hold widths in 1...\(maxWidth)", bad)
        }
        if let codeSize, codeSize < 1 || codeSize > maxWidth { try fail("code_size", "must be in 1...\(maxWidth)", codeSize) }
        if bidirectional && variant != .seq2seq { try fail("bidirectional", "is only for seq2seq, not \(variant.rawValue)", true) }
        if peephole == true && variant != .seq2seq { try fail("peephole", "is only for seq2seq, not \(variant.rawValue)", true) }
        if let cell, variant != .seq2seq { try fail("cell", "is only for seq2seq, not \(variant.rawValue)", cell.rawValue) }
        if peephole == true && cell == .gru { try fail("peephole", "is only for LSTM cells, not 'gru'", true) }
        if tiedWeights == true {
            if variant.isConvolutional || variant == .seq2seq || variant == .convlstm || variationalSettings != nil {
                let kind = variationalSettings != nil ? "variational" : variant.rawValue
                try fail("tied_weights", "is only for dense autoencoders without a variational code, not \(kind)", true)
            }
            if decoderUnits != Array(hiddenUnits.reversed()) {
                try fail("tied_weights", "needs decoder_units \(Array(hiddenUnits.reversed())) (hidden_units reversed), not \(decoderUnits)", true)
            }
        }
        if variant.isConvolutional {
            let rank = variant == .conv1d ? 1 : 2
            if !(rank...(rank + 1)).contains(inputShape.count) {
                try fail("input_shape", "must be \(rank == 1 ? "[length] or [length, channels]" : "[height, width] or [height, width, channels]") for \(variant.rawValue)", inputShape)
            }
            if convBlocks.isEmpty { try fail("conv_blocks", "must list at least one block for \(variant.rawValue)", "[]") }
            if !hiddenUnits.isEmpty { try fail("hidden_units", "must be empty for \(variant.rawValue) (use conv_blocks)", hiddenUnits) }
            for (i, block) in convBlocks.enumerated() { try block.validate(rank: rank, field: "conv_blocks[\(i)]") }
        } else if variant == .seq2seq || variant == .convlstm {
            let name = variant.rawValue
            if variant == .seq2seq {
                if !(1...2).contains(inputShape.count) { try fail("input_shape", "must be [steps] or [steps, features] for seq2seq", inputShape) }
                if hiddenUnits.isEmpty { try fail("hidden_units", "must list the encoder's LSTM widths for seq2seq", "[]") }
                if decoderUnits.isEmpty { try fail("decoder_units", "must list at least one decoder LSTM width for seq2seq", "[]") }
                if !convBlocks.isEmpty { try fail("conv_blocks", "is only for conv1d, conv2d and convlstm, not seq2seq", convBlocks.count) }
            } else {
                try validateConvLSTMLayout()
            }
            if batchNorm != .none || dropout > 0 {
                try fail(batchNorm != .none ? "batch_norm" : "dropout", "is not supported for \(name) (recurrent layers)", batchNorm != .none ? "\(batchNorm)" : "\(dropout)")
            }
        } else {
            if codeSize == nil { throw AEError.invalidSpec("required field 'code_size' is missing") }
            if !convBlocks.isEmpty { try fail("conv_blocks", "is only for conv1d, conv2d and convlstm, not \(variant.rawValue)", convBlocks.count) }
        }
        if !(dropout >= 0 && dropout < 1) { try fail("dropout", "must be in [0, 1)", dropout) }
        if let inputDropout, !(inputDropout >= 0 && inputDropout < 1) { try fail("input_dropout", "must be in [0, 1)", inputDropout) }
        if loss == .bce && outputActivation != .sigmoid {
            try fail("output_activation", "must be 'sigmoid' when loss is 'bce'", outputActivation.rawValue)
        }
        if let noise, !noise.levelRange.contains(noise.level) {
            try fail("noise.level", noise.levelRange.description, noise.level)
        }
        if let variational = variationalSettings {
            if codeSize == nil { try fail("code_size", "is required for a variational code (the latent size)", "null") }
            if !penalties.isEmpty {
                try fail("variational", "cannot be combined with \(penaltyFields) (its code is a sample, not an activation)", "both")
            }
            if !(variational.beta >= 0 && variational.beta.isFinite) { try fail("variational.beta", "must be finite and >= 0", variational.beta) }
            if variational.warmupEpochs < 0 { try fail("variational.warmup_epochs", "must be >= 0", variational.warmupEpochs) }
            if !(1...64).contains(variational.samples) { try fail("variational.samples", "must be in 1...64", variational.samples) }
        }
        if let adversarial = adversarialSettings {
            if codeSize == nil { try fail("code_size", "is required for an adversarial code", "null") }
            if variationalSettings != nil || !penalties.isEmpty {
                try fail("adversarial", "cannot be combined with \(variationalSettings != nil ? "variational" : penaltyFields)", "both")
            }
            if let bad = adversarial.discriminatorUnits.first(where: { $0 < 1 || $0 > 65_536 }) {
                try fail("adversarial.discriminator_units", "must hold widths in 1...65536", bad)
            }
            if !(adversarial.priorScale > 0 && adversarial.priorScale.isFinite) {
                try fail("adversarial.prior_scale", "must be finite and > 0", adversarial.priorScale)
            }
            if !(adversarial.discriminatorLearningRate > 0 && adversarial.discriminatorLearningRate.isFinite) {
                try fail("adversarial.discriminator_learning_rate", "must be finite and > 0", adversarial.discriminatorLearningRate)
            }
            if let rate = adversarial.generatorLearningRate, !(rate > 0 && rate.isFinite) {
                try fail("adversarial.generator_learning_rate", "must be finite and > 0", rate)
            }
        }
        for penalty in penalties { try penalty.validate(in: self) }
        if !(contamination > 0 && contamination < 0.5) { try fail("contamination", "must be in (0, 0.5)", contamination) }
        try training.validate()
        // Shapes through every layer (kernels that do not fit, pooling that does not tile, a
        // decoder that cannot reach the input) and the total size, before anything is allocated.
        let built = try NetworkBuilder.layers(self)
        let parameters = built.layers.reduce(0) { $0 + $1.parameterCount + $1.stateCount }
        if parameters > ModelSpec.maximumParameters {
            throw AEError.invalidSpec("the model would have \(parameters) parameters; at most \(ModelSpec.maximumParameters) are allowed")
        }
        return built
    }
}

extension ModelSpec {
    /// convlstm: sequences of maps, and blocks that are one ConvLSTM each (filters and kernel).
    func validateConvLSTMLayout() throws {
        if !(3...4).contains(inputShape.count) {
            throw AEError.invalidSpec("field 'input_shape' must be [steps, height, width] or [steps, height, width, channels] for convlstm, got \(inputShape)")
        }
        if convBlocks.isEmpty { throw AEError.invalidSpec("field 'conv_blocks' must list at least one ConvLSTM block for convlstm, got []") }
        if !hiddenUnits.isEmpty || !decoderUnits.isEmpty {
            throw AEError.invalidSpec("field '\(hiddenUnits.isEmpty ? "decoder_units" : "hidden_units")' must be empty for convlstm (use conv_blocks), got \(hiddenUnits.isEmpty ? decoderUnits : hiddenUnits)")
        }
        for (i, block) in convBlocks.enumerated() {
            try block.validate(rank: 2, field: "conv_blocks[\(i)]")
            let one = [1], plain = (block.stride == one || block.stride == [1, 1]) && (block.dilation == one || block.dilation == [1, 1])
            if !plain || block.padding != .same || block.pool != nil {
                throw AEError.invalidSpec("field 'conv_blocks[\(i)]' of convlstm takes filters and kernel only (stride 1, dilation 1, padding 'same', no pool)")
            }
        }
    }
}
