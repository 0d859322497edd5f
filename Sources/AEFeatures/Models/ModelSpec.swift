/// The one configuration language for Swift, C, Python and the command line. Every field, its
/// default and its valid range is documented in docs/spec.md; `validate()` enforces the ranges
/// and names the offending field. Decoding rejects unknown fields. Absent optional fields take
/// their defaults at decoding, so a spec read back from a model shows every value in force.
public struct ModelSpec: Codable, Equatable, Sendable {
    /// The family member. The regularised variants are the dense autoencoder with their
    /// regulariser switched on by default; any variant may also set `noise` or `sparsity`.
    public enum Variant: String, SpecChoice, Sendable {
        case dense, denoising, sparse, contractive, conv1d, conv2d, variational, adversarial, seq2seq

        /// Convolutional variants take `conv_blocks`; the others are built from dense layers.
        public var isConvolutional: Bool { self == .conv1d || self == .conv2d }
    }
    /// How a convolutional decoder goes back up: nearest upsampling then a convolution, or one
    /// transposed convolution per encoder block.
    public enum ConvDecoder: String, SpecChoice, Sendable { case upsample, transpose }
    /// The recurrent cell of seq2seq models.
    public enum RecurrentCell: String, SpecChoice, Sendable { case lstm, gru }
    /// Where BatchNorm goes: `after` each hidden Dense or convolution (before its activation), or
    /// `before` every Dense and convolution, the input, code and output layers' included (the
    /// reference study's `BN → Dense → activation`, which also normalises the input). In JSON
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
    public var sparsity: SparsityPenalty?
    public var contractiveWeight: Float?
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
        case noise, sparsity, contractiveWeight = "contractive_weight", variationalSettings = "variational"
        case adversarialSettings = "adversarial"
        case score, contamination, seed, training
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
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
        sparsity = try c.decodeIfPresent(SparsityPenalty.self, forKey: .sparsity)
            ?? (variant == .sparse ? SparsityPenalty(kind: .kl) : nil)
        contractiveWeight = try c.decodeIfPresent(Float.self, forKey: .contractiveWeight)
            ?? (variant == .contractive ? 1e-4 : nil)
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
    public func validate() throws {
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
            if variant.isConvolutional || variant == .seq2seq || variationalSettings != nil {
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
            if contractiveWeight != nil && codeSize == nil {
                try fail("contractive_weight", "needs a dense code: set code_size for \(variant.rawValue)", contractiveWeight!)
            }
        } else if variant == .seq2seq {
            if !(1...2).contains(inputShape.count) { try fail("input_shape", "must be [steps] or [steps, features] for seq2seq", inputShape) }
            if hiddenUnits.isEmpty { try fail("hidden_units", "must list the encoder's LSTM widths for seq2seq", "[]") }
            if decoderUnits.isEmpty { try fail("decoder_units", "must list at least one decoder LSTM width for seq2seq", "[]") }
            if batchNorm != .none || dropout > 0 {
                try fail(batchNorm != .none ? "batch_norm" : "dropout", "is not supported for seq2seq (LSTM layers)", batchNorm != .none ? "\(batchNorm)" : "\(dropout)")
            }
            if !convBlocks.isEmpty { try fail("conv_blocks", "is only for conv1d and conv2d, not seq2seq", convBlocks.count) }
            if contractiveWeight != nil && codeSize == nil {
                try fail("contractive_weight", "needs a dense code: set code_size for seq2seq", contractiveWeight!)
            }
            if sparsity?.kind == .kl && codeSize == nil {
                try fail("sparsity", "of type 'kl' needs a dense sigmoid code for seq2seq (the LSTM state lies in (-1, 1)): set code_size", "kl")
            }
        } else {
            if codeSize == nil { throw AEError.invalidSpec("required field 'code_size' is missing") }
            if !convBlocks.isEmpty { try fail("conv_blocks", "is only for conv1d and conv2d, not \(variant.rawValue)", convBlocks.count) }
        }
        if !(dropout >= 0 && dropout < 1) { try fail("dropout", "must be in [0, 1)", dropout) }
        if let inputDropout, !(inputDropout >= 0 && inputDropout < 1) { try fail("input_dropout", "must be in [0, 1)", inputDropout) }
        if loss == .bce && outputActivation != .sigmoid {
            try fail("output_activation", "must be 'sigmoid' when loss is 'bce'", outputActivation.rawValue)
        }
        if let noise, !noise.levelRange.contains(noise.level) {
            try fail("noise.level", noise.levelRange.description, noise.level)
        }
        if let sparsity {
            if !(sparsity.weight >= 0 && sparsity.weight.isFinite) {
                try fail("sparsity.weight", "must be finite and >= 0", sparsity.weight)
            }
            if sparsity.kind == .kl {
                if !(sparsity.target > 0 && sparsity.target < 1) {
                    try fail("sparsity.target", "must be in (0, 1)", sparsity.target)
                }
                if effectiveCodeActivation != .sigmoid {
                    try fail(codeSize == nil ? "activation" : "code_activation",
                             "must be 'sigmoid' for KL sparsity (code activations are rates in (0, 1))",
                             effectiveCodeActivation.rawValue)
                }
            }
        }
        if let variational = variationalSettings {
            if codeSize == nil { try fail("code_size", "is required for a variational code (the latent size)", "null") }
            if sparsity != nil || contractiveWeight != nil {
                try fail("variational", "cannot be combined with sparsity or contractive_weight (its code is a sample, not an activation)", "both")
            }
            if !(variational.beta >= 0 && variational.beta.isFinite) { try fail("variational.beta", "must be finite and >= 0", variational.beta) }
            if variational.warmupEpochs < 0 { try fail("variational.warmup_epochs", "must be >= 0", variational.warmupEpochs) }
            if !(1...64).contains(variational.samples) { try fail("variational.samples", "must be in 1...64", variational.samples) }
        }
        if let adversarial = adversarialSettings {
            if codeSize == nil { try fail("code_size", "is required for an adversarial code", "null") }
            if variationalSettings != nil || sparsity != nil || contractiveWeight != nil {
                try fail("adversarial", "cannot be combined with variational, sparsity or contractive_weight", "both")
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
        if let contractiveWeight, !(contractiveWeight >= 0 && contractiveWeight.isFinite) {
            try fail("contractive_weight", "must be finite and >= 0", contractiveWeight)
        }
        if !(contamination > 0 && contamination < 0.5) { try fail("contamination", "must be in (0, 0.5)", contamination) }
        try training.validate()
        // Shapes through every layer (kernels that do not fit, pooling that does not tile, a
        // decoder that cannot reach the input) and the total size, before anything is allocated.
        let parameters = try NetworkBuilder.layers(self).layers.reduce(0) { $0 + $1.parameterCount + $1.stateCount }
        if parameters > ModelSpec.maximumParameters {
            throw AEError.invalidSpec("the model would have \(parameters) parameters; at most \(ModelSpec.maximumParameters) are allowed")
        }
    }
}

/// How `fit` trains. See docs/spec.md for every field.
public struct TrainingSpec: Codable, Equatable, Sendable {
    public enum OptimizerKind: String, SpecChoice, Sendable { case adam, sgd, rmsprop }

    public struct EarlyStopping: Codable, Equatable, Sendable {
        /// Epochs without an improvement larger than `minDelta` before stopping.
        public var patience: Int
        public var minDelta: Double
        public var restoreBestWeights: Bool

        public init(patience: Int = 5, minDelta: Double = 0, restoreBestWeights: Bool = true) {
            self.patience = patience
            self.minDelta = minDelta
            self.restoreBestWeights = restoreBestWeights
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case patience, minDelta = "min_delta", restoreBestWeights = "restore_best_weights"
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownFields(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = EarlyStopping()
            patience = try c.integer(.patience, default: defaults.patience)
            minDelta = try c.value(.minDelta, default: defaults.minDelta)
            restoreBestWeights = try c.value(.restoreBestWeights, default: defaults.restoreBestWeights)
        }
    }

    public var optimizer: OptimizerKind = .adam
    public var learningRate: Float = 1e-3
    public var epochs: Int = 10
    public var batchSize: Int = 256
    public var shuffle: Bool = true
    /// Fraction of the training rows (a seeded random subset) held out for validation when no
    /// explicit validation data is passed to fit.
    public var validationSplit: Double = 0
    public var earlyStopping: EarlyStopping?
    /// How the learning rate changes from epoch to epoch; nil keeps it constant.
    public var learningRateSchedule: LearningRateSchedule?
    /// Rescale the whole gradient when its global L2 norm exceeds this.
    public var clipNorm: Float?
    public var momentum: Float = 0.9
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var rho: Float = 0.9
    public var epsilon: Float = 1e-8

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case optimizer, learningRate = "learning_rate", epochs, batchSize = "batch_size", shuffle
        case validationSplit = "validation_split", earlyStopping = "early_stopping", clipNorm = "clip_norm"
        case learningRateSchedule = "learning_rate_schedule"
        case momentum, beta1, beta2, rho, epsilon
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingSpec()
        optimizer = try c.value(.optimizer, default: d.optimizer)
        learningRate = try c.value(.learningRate, default: d.learningRate)
        epochs = try c.integer(.epochs, default: d.epochs)
        batchSize = try c.integer(.batchSize, default: d.batchSize)
        shuffle = try c.value(.shuffle, default: d.shuffle)
        validationSplit = try c.value(.validationSplit, default: d.validationSplit)
        earlyStopping = try c.decodeIfPresent(EarlyStopping.self, forKey: .earlyStopping)
        learningRateSchedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .learningRateSchedule)
        clipNorm = try c.decodeIfPresent(Float.self, forKey: .clipNorm)
        momentum = try c.value(.momentum, default: d.momentum)
        beta1 = try c.value(.beta1, default: d.beta1)
        beta2 = try c.value(.beta2, default: d.beta2)
        rho = try c.value(.rho, default: d.rho)
        epsilon = try c.value(.epsilon, default: d.epsilon)
    }

    public func validate() throws {
        func fail(_ field: String, _ rule: String, _ value: Any) throws -> Never {
            throw AEError.invalidSpec("field 'training.\(field)' \(rule), got \(value)")
        }
        if !(learningRate > 0 && learningRate.isFinite) { try fail("learning_rate", "must be finite and > 0", learningRate) }
        if epochs < 1 || epochs > 1_000_000 { try fail("epochs", "must be in 1...1000000", epochs) }
        if batchSize < 1 || batchSize > 1 << 20 { try fail("batch_size", "must be in 1...1048576", batchSize) }
        if !(validationSplit >= 0 && validationSplit < 1) { try fail("validation_split", "must be in [0, 1)", validationSplit) }
        if let e = earlyStopping {
            if e.patience < 1 { try fail("early_stopping.patience", "must be >= 1", e.patience) }
            if !(e.minDelta >= 0 && e.minDelta.isFinite) { try fail("early_stopping.min_delta", "must be finite and >= 0", e.minDelta) }
        }
        try learningRateSchedule?.validate(learningRate: learningRate)
        if let clipNorm, !(clipNorm > 0 && clipNorm.isFinite) { try fail("clip_norm", "must be finite and > 0", clipNorm) }
        if !(momentum >= 0 && momentum < 1) { try fail("momentum", "must be in [0, 1)", momentum) }
        if !(beta1 >= 0 && beta1 < 1) { try fail("beta1", "must be in [0, 1)", beta1) }
        if !(beta2 >= 0 && beta2 < 1) { try fail("beta2", "must be in [0, 1)", beta2) }
        if !(rho >= 0 && rho < 1) { try fail("rho", "must be in [0, 1)", rho) }
        if !(epsilon > 0 && epsilon.isFinite) { try fail("epsilon", "must be finite and > 0", epsilon) }
    }
}

/// One encoder block of a convolutional variant: a convolution, then optional BatchNorm, the
/// activation, optional Dropout, and optional pooling. Sizes are one number (a square kernel in
/// 2-D) or one per spatial axis ([height, width] in 2-D).
public struct ConvBlock: Codable, Equatable, Sendable {
    public var filters: Int
    public var kernel: [Int]
    public var stride: [Int]
    public var dilation: [Int]
    public var padding: ConvPadding
    /// Pooling window; nil for none.
    public var pool: [Int]?
    /// Pooling stride; defaults to the window.
    public var poolStride: [Int]?
    public var poolType: PoolType
    public var poolPadding: ConvPadding

    public enum ConvPadding: String, SpecChoice, Sendable { case valid, same }
    public enum PoolType: String, SpecChoice, Sendable { case max, average }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case filters, kernel, stride, dilation, padding, pool, poolStride = "pool_stride", poolType = "pool_type"
        case poolPadding = "pool_padding"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        filters = try c.integer(.filters)
        kernel = try c.sizes(.kernel)
        stride = try c.contains(.stride) ? c.sizes(.stride) : [1]
        dilation = try c.contains(.dilation) ? c.sizes(.dilation) : [1]
        padding = try c.value(.padding, default: .same)
        pool = try c.contains(.pool) && !c.decodeNil(forKey: .pool) ? c.sizes(.pool) : nil
        poolStride = try c.contains(.poolStride) && !c.decodeNil(forKey: .poolStride) ? c.sizes(.poolStride) : nil
        poolType = try c.value(.poolType, default: .max)
        poolPadding = try c.value(.poolPadding, default: .valid)
    }

    func validate(rank: Int, field: String) throws {
        func check(_ name: String, _ values: [Int]?, range: ClosedRange<Int>) throws {
            guard let values else { return }
            guard values.count == 1 || (rank == 2 && values.count == 2), values.allSatisfy(range.contains) else {
                throw AEError.invalidSpec("field '\(field).\(name)' must be \(rank == 2 ? "one or two sizes" : "one size") in \(range), got \(values)")
            }
        }
        if !(1...65_536).contains(filters) { throw AEError.invalidSpec("field '\(field).filters' must be in 1...65536, got \(filters)") }
        try check("kernel", kernel, range: 1...1024)
        try check("stride", stride, range: 1...1024)
        try check("dilation", dilation, range: 1...1024)
        try check("pool", pool, range: 1...1024)
        try check("pool_stride", poolStride, range: 1...1024)
    }

    /// (height, width) of a size list for a 1-D (height 1) or 2-D layer.
    static func pair(_ values: [Int], rank: Int, one: Int = 1) -> (Int, Int) {
        rank == 1 ? (one, values[0]) : (values[0], values.count == 2 ? values[1] : values[0])
    }
}

/// The variational code: KL weight beta (the ELBO is beta = 1) and a linear KL warm-up.
public struct VariationalSettings: Codable, Equatable, Sendable {
    public var beta: Float = 1
    /// The KL weight rises linearly from beta/warmup_epochs in epoch 1 to beta at this epoch; 0: no warm-up.
    public var warmupEpochs: Int = 0
    /// Monte Carlo draws of z per input and training step.
    public var samples: Int = 1

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case beta, warmupEpochs = "warmup_epochs", samples }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        beta = try c.value(.beta, default: 1)
        warmupEpochs = try c.integer(.warmupEpochs, default: 0)
        samples = try c.integer(.samples, default: 1)
    }
}

/// The adversarial autoencoder's discriminator and prior.
public struct AdversarialSettings: Codable, Equatable, Sendable {
    public enum Prior: String, SpecChoice, Sendable { case gaussian, uniform }

    /// Hidden widths of the discriminator (LeakyReLU); its output is one logit.
    public var discriminatorUnits: [Int] = [64, 64]
    public var prior: Prior = .gaussian
    /// Standard deviation of the gaussian prior, or half-width of the uniform one.
    public var priorScale: Float = 1
    public var discriminatorLearningRate: Float = 1e-3
    /// The generator phase's step; nil (absent from the JSON) means a tenth of the training
    /// learning rate. Its own Adam steps every encoder weight by about the rate whatever the
    /// size of the adversarial gradient, so at the reconstruction's rate the generator phase
    /// outweighs it: the study's 784-1000x3-500 network then reconstructed speckled noise and
    /// its codes gave 62.5% downstream on Fashion-MNIST, against 81.5% at a tenth.
    public var generatorLearningRate: Float?

    public init() {}

    /// The generator phase's step for a training learning rate of `learningRate`.
    func generatorRate(trainingRate learningRate: Float) -> Float { generatorLearningRate ?? learningRate / 10 }

    /// One value from the prior.
    func draw(_ rng: inout RandomSource) -> Float {
        priorScale * (prior == .gaussian ? rng.normal() : 2 * rng.uniform() - 1)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case discriminatorUnits = "discriminator_units", prior, priorScale = "prior_scale"
        case discriminatorLearningRate = "discriminator_learning_rate"
        case generatorLearningRate = "generator_learning_rate"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AdversarialSettings()
        discriminatorUnits = try c.integers(.discriminatorUnits, default: d.discriminatorUnits)
        prior = try c.value(.prior, default: d.prior)
        priorScale = try c.value(.priorScale, default: d.priorScale)
        discriminatorLearningRate = try c.value(.discriminatorLearningRate, default: d.discriminatorLearningRate)
        generatorLearningRate = try c.decodeIfPresent(Float.self, forKey: .generatorLearningRate)
    }
}
