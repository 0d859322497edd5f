/// The VAE's KL(q(z|x) ‖ N(0, I)) = −½ Σ_j (1 + logvar_j − mu_j² − e^logvar_j) per sample, on the
/// head [mu | logvar] (2·size values per sample). Training minimises the mean over values of the
/// reconstruction loss, so the KL enters divided by the values per sample, `inputSize`: the
/// objective is then the ELBO per value, recon + weight · KL, averaged over the batch.
struct KLDivergence: ObjectiveTerm {
    let weight: Float
    let size: Int
    let inputSize: Int

    /// Per-sample KL (not yet weighted).
    @inline(__always)
    func sampleKL(_ head: UnsafePointer<Float>) -> Float {
        var kl: Float = 0
        for j in 0..<size {
            let mu = head[j], logvar = head[size + j]
            kl += -0.5 * (1 + logvar - mu * mu - FastMath.exp(logvar))
        }
        return kl
    }

    /// weight / inputSize times each sample's KL, i.e. the term the score adds per sample.
    func scoreTerm(_ head: UnsafePointer<Float>) -> Float { weight * sampleKL(head) / Float(inputSize) }

    /// Adds the gradient into `gradient` (same layout as `head`); returns the batch-mean penalty.
    func apply(head: UnsafePointer<Float>, batch: Int, factor: Float, gradient: UnsafeMutablePointer<Float>) -> Double {
        let scale = factor * weight / Float(batch * inputSize), size = size
        // Rows over the threads, each sample's KL kept and the batch's added in row order.
        let total = withUnsafeTemporaryAllocation(of: Float.self, capacity: batch) { kl in
            Parallel.forRanges(batch, grain: Reparameterize.grainRows(size)) { rows in
                for r in rows {
                    let h = head + r * 2 * size, g = gradient + r * 2 * size
                    kl[r] = sampleKL(h)
                    for j in 0..<size {
                        g[j] += scale * h[j]
                        g[size + j] += scale * 0.5 * (FastMath.exp(h[size + j]) - 1)
                    }
                }
            }
            return kl.reduce(0.0) { $0 + Double($1) }
        }
        return Double(scale) * total
    }

    /// The reparameterization's backward has written ∂/∂[mu | logvar] (the code layer's input);
    /// the KL adds its share, weighted by the epoch's warm-up factor.
    func afterBackward(ofLayer layer: Int, _ pass: ObjectivePass) -> Double {
        let code = pass.network.codeLayerIndex, workspace = pass.workspace
        guard layer == code else { return 0 }
        return apply(head: workspace.activations[code].base, batch: pass.batch, factor: pass.warmup,
                     gradient: workspace.gradients[code].base)
    }

    func scoreTerm(_ workspace: Workspace, row: Int, network: Network) -> Float {
        scoreTerm(workspace.activations[network.codeLayerIndex].base + row * 2 * size)
    }

    /// weight / inputSize · KL(N(mu, e^logvar) ‖ N(0, I)) per sample, as `scoreTerm`:
    /// −½ Σ (1 + logvar − mu² − e^logvar), on the head [mu | logvar] (the code layer's input).
    func onnxScoreTerm(_ graph: inout ONNXGraph, outputs: [ONNXGraph.Value], network: Network) -> String? {
        let head = graph.flat(outputs[network.codeLayerIndex - 1])
        let mu = graph.slice(head, columns: 0..<size), logVariance = graph.slice(head, columns: size..<(2 * size))
        let one = graph.constant("one", dims: [], [1])
        let shifted = graph.node("Add", [logVariance, one])
        let square = graph.node("Mul", [mu, mu])
        let exponential = graph.node("Exp", [logVariance])
        let partial = graph.node("Sub", [shifted, square])
        let terms = graph.node("Sub", [partial, exponential])
        let axes = graph.constant("axes", int64: [1])
        let sum = graph.node("ReduceSum", [terms, axes], [("keepdims", .int(0))])
        let factor = graph.constant("kl_factor", dims: [], [-0.5 * weight / Float(inputSize)])
        return graph.node("Mul", [sum, factor])
    }
}
