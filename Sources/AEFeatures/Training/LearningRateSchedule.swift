import Glibc

/// How the learning rate changes over a fit (`training.learning_rate_schedule`; docs/spec.md):
/// `plateau` multiplies it by `factor` after `patience` epochs in which the monitored loss
/// (validation if any, else training, as early stopping) did not improve by more than
/// `min_delta`; `step` multiplies it by `factor` every `step_epochs` epochs; `cosine` anneals it
/// from `learning_rate` towards `min_learning_rate` over `training.epochs` (PyTorch's
/// CosineAnnealingLR with T_max = epochs). None goes below `min_learning_rate`.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public enum Kind: String, SpecChoice, Sendable { case plateau, step, cosine }

    public var kind: Kind
    public var factor: Float = 0.1
    public var patience: Int = 10
    public var stepEpochs: Int = 10
    public var minDelta: Double = 0
    public var minimumLearningRate: Float = 0

    public init(kind: Kind) { self.kind = kind }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind = "type", factor, patience, stepEpochs = "step_epochs", minDelta = "min_delta"
        case minimumLearningRate = "min_learning_rate"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decode(Kind.self, forKey: .kind))
        factor = try c.value(.factor, default: factor)
        patience = try c.integer(.patience, default: patience)
        stepEpochs = try c.integer(.stepEpochs, default: stepEpochs)
        minDelta = try c.value(.minDelta, default: minDelta)
        minimumLearningRate = try c.value(.minimumLearningRate, default: minimumLearningRate)
    }

    func validate(learningRate: Float) throws {
        func fail(_ field: String, _ rule: String, _ value: Any) throws -> Never {
            throw AEError.invalidSpec("field 'training.learning_rate_schedule.\(field)' \(rule), got \(value)")
        }
        if !(factor > 0 && factor < 1) { try fail("factor", "must be in (0, 1)", factor) }
        if patience < 1 { try fail("patience", "must be >= 1", patience) }
        if stepEpochs < 1 { try fail("step_epochs", "must be >= 1", stepEpochs) }
        if !(minDelta >= 0 && minDelta.isFinite) { try fail("min_delta", "must be finite and >= 0", minDelta) }
        if !(minimumLearningRate >= 0 && minimumLearningRate < learningRate) {
            try fail("min_learning_rate", "must be >= 0 and below training.learning_rate (\(learningRate))", minimumLearningRate)
        }
    }
}

/// The learning rate epoch by epoch under a schedule: `rate(forEpoch:)` before an epoch runs,
/// `record(monitoredLoss:)` after it.
struct LearningRateScheduler {
    let schedule: LearningRateSchedule?
    let initial: Float
    let epochs: Int
    private(set) var plateauRate: Float
    private var best = Double.infinity
    private var epochsWithoutImprovement = 0

    init(schedule: LearningRateSchedule?, learningRate: Float, epochs: Int) {
        (self.schedule, initial, self.epochs, plateauRate) = (schedule, learningRate, epochs, learningRate)
    }

    /// The rate for 1-based `epoch`.
    func rate(forEpoch epoch: Int) -> Float {
        guard let schedule else { return initial }
        let floor = schedule.minimumLearningRate
        switch schedule.kind {
        case .plateau:
            return plateauRate
        case .step:
            return Swift.max(floor, initial * Float(pow(Double(schedule.factor), Double((epoch - 1) / schedule.stepEpochs))))
        case .cosine:
            let progress = Double(epoch - 1) / Double(epochs)
            return floor + (initial - floor) * Float((1 + cos(Double.pi * progress)) / 2)
        }
    }

    /// After an epoch: a plateau schedule lowers the rate once the loss has stalled `patience` epochs.
    mutating func record(monitoredLoss loss: Double) {
        guard let schedule, schedule.kind == .plateau else { return }
        if loss < best - schedule.minDelta {
            best = loss
            epochsWithoutImprovement = 0
        } else {
            epochsWithoutImprovement += 1
            if epochsWithoutImprovement >= schedule.patience {
                plateauRate = Swift.max(schedule.minimumLearningRate, plateauRate * schedule.factor)
                epochsWithoutImprovement = 0
            }
        }
    }
}
