/// The four ONNX graphs of a fitted model. Each computes what the library computes for
/// inference (dropout and noise are absent, batch normalization uses its running statistics, a
/// variational code is its mean); all but the decoder take raw rows "input" [N, inputSize], the
/// fitted scaling inside the graph.
public enum ONNXGraphKind: String, CaseIterable, Sendable {
    /// "input" → "features" [N, codeSize]: `encode`.
    case encoder
    /// "input" → "reconstruction" [N, inputSize], in the input's units: `reconstruct`.
    case autoencoder
    /// "input" → "score" [N]: `anomalyScores` (mean reconstruction error, plus the weighted KL
    /// per value for a variational model; with the combined score, the code's distances too).
    case scorer
    /// "codes" [N, codeSize] → "reconstruction" [N, inputSize], in the input's units: `decode`
    /// (a variational or adversarial model's generator; edited codes back to data).
    case decoder
}

extension Autoencoder {
    /// The serialized ONNX model (IR version 8, opset 17, batch dimension "N") of one graph.
    /// - Throws: `AEError.notFitted` before the first fit, `AEError.busy` while another thread fits it,
    ///   `AEError.invalidInput` for the decoder graph of a model whose decoder unpools and for
    ///   any graph of a convlstm model (ONNX has no ConvLSTM operator).
    public func onnxModel(_ kind: ONNXGraphKind) throws -> [UInt8] {
        try usage.shared {
            guard isFitted else { throw AEError.notFitted }
            if kind == .decoder && network.decoderNeedsEncoderPass { throw AEError.invalidInput(Network.decoderNeedsEncoderPassMessage) }
            if network.layers.contains(where: { $0 is ConvLSTM }) {
                throw AEError.invalidInput("ONNX has no ConvLSTM operator, so convlstm models do not export")
            }
            let graph = onnxGraph(kind)
            let input = kind == .decoder ? "codes [N, \(codeSize)]" : "input [N, \(inputSize)] raw rows"
            let description = "aefeatures \(spec.variant.rawValue) autoencoder, \(kind.rawValue) graph: \(input)"
            return ONNXEncoding.encode(graph, producerVersion: AEFeaturesVersion.string, docString: description)
        }
    }

    /// Writes one graph to `path` atomically (a temporary file renamed into place), so an existing
    /// file there is replaced whole or not at all.
    public func exportONNX(_ kind: ONNXGraphKind, to path: String) throws {
        let bytes = try onnxModel(kind)
        try AtomicFile.write(bytes, to: path)
    }

    func onnxGraph(_ kind: ONNXGraphKind) -> ONNXGraph {
        var graph = ONNXGraph(name: "aefeatures_\(kind.rawValue)")
        let layers = network.layers
        // Raw rows in, scaled inside the graph as the library scales them.
        func scaledInput() -> ONNXGraph.Value {
            let raw = graph.input("input", size: inputSize)
            return scaler.map { graph.scale(raw, $0) } ?? raw
        }
        switch kind {
        case .encoder:
            let scaled = scaledInput()
            let outputs = exportLayers(&graph, scaled, 0...network.codeLayerIndex)
            graph.output(outputs.last!, as: "features")
        case .autoencoder:
            let scaled = scaledInput()
            let output = exportLayers(&graph, scaled, 0..<layers.count).last!
            let reconstruction = scaler.map { graph.unscale(output, $0) } ?? output
            graph.output(reconstruction, as: "reconstruction")
        case .scorer:
            // As Scoring.rowScores: BCE is computed from the logits, before the final sigmoid.
            let top = spec.loss.layersBeforeLoss(network)
            let scaled = scaledInput()
            let outputs = exportLayers(&graph, scaled, 0..<top)
            let output = graph.flat(outputs.last!)
            var errors = graph.elementErrors(spec.loss, output: output, target: scaled.name)
            if let errorWeights {
                errors = graph.node("Mul", [errors, graph.constant("error_weights", dims: [errorWeights.count], errorWeights)])
            }
            let axes = [("axes", ONNXGraph.Attribute.ints([1])), ("keepdims", .int(0))]
            var score = graph.node("ReduceMean", [errors], axes)
            for term in objective.terms {
                if let value = term.onnxScoreTerm(&graph, outputs: outputs, network: network) { score = graph.node("Add", [score, value]) }
            }
            if let codeDistances {
                score = graph.combinedScore(score, codes: graph.flat(outputs[network.codeLayerIndex]), codeDistances)
            }
            graph.scalarOutput(score, as: "score")
        case .decoder:
            let codes = graph.input("codes", size: codeSize)
            let output = exportLayers(&graph, codes, (network.codeLayerIndex + 1)..<layers.count).last!
            let reconstruction = scaler.map { graph.unscale(output, $0) } ?? output
            graph.output(reconstruction, as: "reconstruction")
        }
        return graph
    }

    /// Each layer's output value for layers `range`, the first reading `input`.
    private func exportLayers<R: Sequence>(_ graph: inout ONNXGraph, _ input: ONNXGraph.Value, _ range: R) -> [ONNXGraph.Value]
        where R.Element == Int {
        var outputs: [ONNXGraph.Value] = []
        var x = input
        for i in range {
            x = network.layers[i].exportONNX(&graph, x)
            outputs.append(x)
        }
        return outputs
    }
}

extension ONNXGraph {
    /// (x − offset) · factor, as Scaler.apply.
    mutating func scale(_ x: Value, _ scaler: Scaler) -> Value {
        let offset = constant("offset", dims: [scaler.offset.count], scaler.offset)
        let factor = constant("factor", dims: [scaler.factor.count], scaler.factor)
        let centred = node("Sub", [x.name, offset])
        return Value(name: node("Mul", [centred, factor]), layout: x.layout)
    }

    /// x / factor + offset, as Scaler.invert.
    mutating func unscale(_ x: Value, _ scaler: Scaler) -> Value {
        let input = flat(x)
        let offset = constant("offset", dims: [scaler.offset.count], scaler.offset)
        let factor = constant("factor", dims: [scaler.factor.count], scaler.factor)
        let divided = node("Div", [input, factor])
        return Value(name: node("Add", [divided, offset]), layout: .flat(x.layout.size))
    }

    /// LossFunction's per-value error: (y − t)² for MSE; for BCE from logits z,
    /// max(z, 0) − z·t + log(1 + e^−|z|).
    mutating func elementErrors(_ loss: LossFunction, output: String, target: String) -> String {
        switch loss {
        case .mse:
            let difference = node("Sub", [output, target])
            return node("Mul", [difference, difference])
        case .bce:
            let positive = node("Relu", [output])
            let product = node("Mul", [output, target])
            let magnitude = node("Abs", [output])
            let negated = node("Neg", [magnitude])
            let softplus = node("Softplus", [negated])
            let linear = node("Sub", [positive, product])
            return node("Add", [linear, softplus])
        }
    }

    /// CodeDistances.apply: the reconstruction score and the code's Mahalanobis and neighbour
    /// distances, each times its weight, summed.
    mutating func combinedScore(_ reconstruction: String, codes: String, _ terms: CodeDistances) -> String {
        let size = terms.size, stored = terms.bankRows, k = terms.neighbours
        let rowAxis = [("axes", Attribute.ints([1])), ("keepdims", .int(0))]
        let centred = node("Sub", [codes, constant("code_mean", dims: [size], terms.mean)])
        let white = node("MatMul", [centred, constant("whitening", dims: [size, size], terms.whitening)])
        var values = [reconstruction, node("ReduceSumSquare", [white], rowAxis)]
        if k > 0 {
            // The k + 1 nearest stored codes by |c|² − 2 c·b + |b|², their distances again as
            // Σ (c − b)², then the mean of all but the smallest.
            let transposed = (0..<(size * stored)).map { terms.bank[($0 % stored) * size + $0 / stored] }
            let cross = node("MatMul", [codes, constant("bank_transposed", dims: [size, stored], transposed)])
            let scaled = node("Mul", [cross, constant("minus_two", dims: [], [-2])])
            let norms = node("ReduceSumSquare", [codes], [("axes", .ints([1])), ("keepdims", .int(1))])
            let distances = node("Add", [node("Add", [norms, scaled]), constant("bank_norms", dims: [stored], terms.bankNorms)])
            let unused = fresh("nearest_distances"), indices = fresh("nearest")
            node("TopK", [distances, constant("count", int64: [k + 1])], outputs: [unused, indices],
                 [("axis", .int(1)), ("largest", .int(0)), ("sorted", .int(1))])
            let neighbours = node("Gather", [constant("bank", dims: [stored, size], terms.bank), indices], [("axis", .int(0))])
            let expanded = node("Unsqueeze", [codes, constant("axes", int64: [1])])
            let exact = node("ReduceSumSquare", [node("Sub", [expanded, neighbours])], [("axes", .ints([2])), ("keepdims", .int(0))])
            let others = node("Sub", [node("ReduceSum", [exact, constant("axes", int64: [1])], [("keepdims", .int(0))]),
                                      node("ReduceMin", [exact], rowAxis)])
            values.append(node("Mul", [others, constant("one_over_k", dims: [], [1 / Float(k)])]))
        }
        let weighted = values.enumerated().map { t, value in
            node("Mul", [value, constant("term_weight", dims: [], [terms.termWeights[t]])])
        }
        return weighted.dropFirst().reduce(weighted[0]) { node("Add", [$0, $1]) }
    }
}
