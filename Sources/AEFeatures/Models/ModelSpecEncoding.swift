/// The spec's JSON form field by field (absent optionals stay absent, so model files written
/// before a field existed save back unchanged), its code penalties each under its own field, and
/// equality as the same JSON.
extension ModelSpec {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(variant, forKey: .variant)
        try c.encode(inputShape, forKey: .inputShape)
        try c.encode(hiddenUnits, forKey: .hiddenUnits)
        try c.encodeIfPresent(codeSize, forKey: .codeSize)
        try c.encode(convBlocks, forKey: .convBlocks)
        try c.encode(convDecoder, forKey: .convDecoder)
        try c.encode(bidirectional, forKey: .bidirectional)
        try c.encodeIfPresent(peephole, forKey: .peephole)
        try c.encodeIfPresent(cell, forKey: .cell)
        try c.encode(activation, forKey: .activation)
        try c.encode(codeActivation, forKey: .codeActivation)
        try c.encode(outputActivation, forKey: .outputActivation)
        try c.encode(decoderUnits, forKey: .decoderUnits)
        try c.encodeIfPresent(tiedWeights, forKey: .tiedWeights)
        try c.encode(batchNorm, forKey: .batchNorm)
        try c.encode(dropout, forKey: .dropout)
        try c.encodeIfPresent(inputDropout, forKey: .inputDropout)
        try c.encode(loss, forKey: .loss)
        try c.encode(scaling, forKey: .scaling)
        try c.encodeIfPresent(noise, forKey: .noise)
        try c.encodeIfPresent(variationalSettings, forKey: .variationalSettings)
        try c.encodeIfPresent(adversarialSettings, forKey: .adversarialSettings)
        try c.encodeIfPresent(score, forKey: .score)
        try c.encode(contamination, forKey: .contamination)
        try c.encode(seed, forKey: .seed)
        try c.encode(training, forKey: .training)
        try CodePenalties.encode(penalties, to: encoder)
    }

    public static func == (a: ModelSpec, b: ModelSpec) -> Bool { a.json == b.json }

    /// The penalty of type `kind` in force, if any.
    func penalty<P: CodePenalty>(_ kind: P.Type) -> P? { penalties.lazy.compactMap { $0 as? P }.first }

    /// Puts `penalty` in force (replacing one of its type), or with nil removes its type's, keeping
    /// `CodePenalties.all`'s order.
    mutating func setPenalty<P: CodePenalty>(_ penalty: P?) {
        var byField = Dictionary(uniqueKeysWithValues: penalties.map { (type(of: $0).field, $0) })
        byField[P.field] = penalty
        penalties = CodePenalties.fields.compactMap { byField[$0] }
    }

    /// The code penalty fields in force, for messages: "sparsity" or "sparsity and contractive_weight".
    var penaltyFields: String { penalties.map { type(of: $0).field }.joined(separator: " and ") }
}
