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
