/// One evaluation of the objective on a batch, as a term on the code sees it.
struct ObjectivePass {
    let network: Network
    let workspace: Workspace
    let batch: Int
    /// The KL warm-up factor of the current epoch, in (0, 1].
    let warmup: Float
}

/// A term of the training objective besides the reconstruction loss (sparsity, the contractive
/// penalty, a variational code's KL), and what it adds to a row's anomaly score. The objective
/// calls every term around each layer's backward pass; a term acts at the layer it needs, adds
/// its gradient where the backward pass will carry it, and returns its value there (0 elsewhere).
protocol ObjectiveTerm: Sendable {
    /// Before layer `layer`'s backward, when `gradients[layer + 1]` is complete.
    func beforeBackward(ofLayer layer: Int, _ pass: ObjectivePass) -> Double
    /// After layer `layer`'s backward, when `gradients[layer]` holds its input gradient.
    func afterBackward(ofLayer layer: Int, _ pass: ObjectivePass) -> Double
    /// What it adds to the anomaly score of row `row` of an inference pass in `workspace`.
    func scoreTerm(_ workspace: Workspace, row: Int, network: Network) -> Float
    /// The same as ONNX nodes, from `outputs[i]` (layer i's output in the graph): the name of a
    /// [N] value, or nil when it adds nothing to the score.
    func onnxScoreTerm(_ graph: inout ONNXGraph, outputs: [ONNXGraph.Value], network: Network) -> String?
}

extension ObjectiveTerm {
    func beforeBackward(ofLayer layer: Int, _ pass: ObjectivePass) -> Double { 0 }
    func afterBackward(ofLayer layer: Int, _ pass: ObjectivePass) -> Double { 0 }
    func scoreTerm(_ workspace: Workspace, row: Int, network: Network) -> Float { 0 }
    func onnxScoreTerm(_ graph: inout ONNXGraph, outputs: [ONNXGraph.Value], network: Network) -> String? { nil }
}

/// A regularizer of the code that the spec switches on with a field of its own: decoded from that
/// field, checked against the rest of the spec, and turned into its objective term. Adding one
/// is a type conforming to this in its own file, its entry in `CodePenalties.all`, its section
/// in docs/spec.md and its tests; the spec, the objective, scoring and export need no change.
/// (The variational and adversarial codes change the network and the training loop as well, so
/// they keep spec sections and code of their own; the variational KL is an `ObjectiveTerm`.)
protocol CodePenalty: Codable, Sendable {
    /// Its spec field.
    static var field: String { get }
    /// The penalty a variant switches on when the field is absent (the `sparse` variant's KL sparsity).
    static func implied(by variant: ModelSpec.Variant) -> Self?
    /// Throws `invalidSpec` naming the field when the rest of `spec` does not suit it.
    func validate(in spec: ModelSpec) throws
    /// Its objective term for `network`, built from `spec` (validated).
    func term(in spec: ModelSpec, network: Network) -> any ObjectiveTerm
}

/// Every code penalty the spec knows, in the order their terms enter the objective.
enum CodePenalties {
    static let all: [any CodePenalty.Type] = [SparsityPenalty.self, ContractivePenalty.self, DecorrelationPenalty.self]

    static var fields: [String] { all.map { $0.field } }

    /// The penalties a spec's JSON object sets, or its variant implies.
    static func decode(from decoder: Decoder, variant: ModelSpec.Variant) throws -> [any CodePenalty] {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        return try all.compactMap { kind in try kind.decode(from: container, variant: variant) }
    }

    /// Writes each penalty under its field.
    static func encode(_ penalties: [any CodePenalty], to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        for penalty in penalties { try penalty.encode(into: &container) }
    }
}

extension CodePenalty {
    static func decode(from container: KeyedDecodingContainer<AnyCodingKey>, variant: ModelSpec.Variant) throws -> Self? {
        let key = AnyCodingKey(stringValue: field)
        return try container.decodeIfPresent(Self.self, forKey: key) ?? implied(by: variant)
    }

    func encode(into container: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        try container.encode(self, forKey: AnyCodingKey(stringValue: Self.field))
    }
}
