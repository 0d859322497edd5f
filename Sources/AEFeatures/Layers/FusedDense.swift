import AEFKernels

/// Inference through a Dense layer together with the BatchNorm and/or activation right after it:
/// the GEMM writes the Dense output, then one pass per row adds the bias (folded with the
/// normalization's running statistics) and applies the activation into the group's output —
/// instead of a bias broadcast, a GEMM that re-reads it, a normalization pass and an activation
/// pass. Training keeps the layers separate (backward needs each output).
struct FusedDense {
    let dense: Dense
    let normalization: BatchNorm?
    let activation: ActivationFunction
    /// The activation layer's vector kernels (the active ones when there is no activation).
    let kernels: aefk_table
    /// Layers the group covers, the Dense first.
    let count: Int

    /// The group starting at layers[start] when it is a per-row Dense followed by a BatchNorm
    /// over its units, an Activation, or both, all before `end`; otherwise nil.
    init?(_ layers: [Layer], at start: Int, end: Int) {
        guard let dense = layers[start] as? Dense, dense.steps == 1 else { return nil }
        var next = start + 1
        var normalization: BatchNorm?
        if next < end, let norm = layers[next] as? BatchNorm, norm.positions == 1 {
            normalization = norm
            next += 1
        }
        var activation = ActivationFunction.identity, kernels = Kernels.active
        if next < end, let layer = layers[next] as? Activation {
            (activation, kernels) = (layer.function, layer.kernels)
            next += 1
        }
        guard next - start > 1 else { return nil }
        (self.dense, self.normalization, self.activation, self.kernels, count) =
            (dense, normalization, activation, kernels, next - start)
    }

    /// y = f((x·Wᵀ + b)·scale + shift). `product` receives x·Wᵀ ([batch, units]) and then the
    /// pre-activations; `folded` holds 2 · units floats for the folded scale and shift.
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 product: UnsafeMutablePointer<Float>, folded: UnsafeMutablePointer<Float>) {
        let units = dense.units, inputs = dense.inputs, bias = UnsafePointer(dense.bias!)
        var scale: UnsafePointer<Float>?, shift = bias
        if let normalization {
            normalization.foldRunningStatistics(scale: folded, shift: folded + units, bias: bias)
            (scale, shift) = (UnsafePointer(folded), UnsafePointer(folded + units))
        }
        let function = activation.kernelCode
        func finish(_ rows: Range<Int>) {
            for r in rows {
                let row = product + r * units
                if let scale { for j in 0..<units { row[j] = row[j] * scale[j] + shift[j] } } else { for j in 0..<units { row[j] += shift[j] } }
                kernels.activation_forward(function, units, row, y + r * units)
            }
        }
        // With more rows than units the GEMM would split by rows anyway: each thread then runs
        // the GEMM of its rows (on itself: a region inside a region runs serially) and finishes
        // them while they are still in its cache — one hand-off per group instead of two.
        if batch > units {
            Parallel.forRanges(batch, alignment: 16, grain: Swift.max(16, BLAS.splitWork / Swift.max(1, units * inputs))) { rows in
                BLAS.gemm(transB: dense.weightIsTransposed, m: rows.count, n: units, k: inputs,
                          x + rows.lowerBound * inputs, dense.weight, product + rows.lowerBound * units)
                finish(rows)
            }
        } else {
            BLAS.gemm(transB: dense.weightIsTransposed, m: batch, n: units, k: inputs, x, dense.weight, product)
            Parallel.forRanges(batch, grain: Swift.max(1, Parallel.grain / units), finish)
        }
    }
}
