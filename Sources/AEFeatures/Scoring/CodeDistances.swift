/// The combined anomaly score's code terms (spec `"score": "combined"`): how far a row's code lies
/// from the training codes, measured two ways, added to the standardized reconstruction score.
///
///   mahalanobis  |(c − mean) · whitening|², whitening = C⁻ᵀ for the Cholesky factor C of the
///                training codes' covariance + a ridge (1e-2 × its mean variance)
///   neighbours   mean squared distance to the 2nd … (k+1)-th nearest of the stored training
///                codes (k = 5): a training row is its own nearest neighbour, so skipping the
///                nearest gives training rows and new rows the same score
///
/// Each of the three terms (reconstruction, mahalanobis, neighbours) is divided by three times
/// its mean over the training rows and the three are summed, so none dominates by its units and
/// the training rows average 1, as with the standardized score. A weighted sum of non-negative
/// terms keeps the score's rounding relative to its size. Chosen on a validation split of
/// Fashion-MNIST's training images (bench/anomaly_scores.py).
struct CodeDistances: Codable, Equatable {
    /// Neighbours averaged (after skipping the nearest).
    static let neighbourCount = 5
    /// Stored training codes: at most this many rows, and at most `storedValueLimit` values.
    static let bankRowLimit = 10_000
    static let storedValueLimit = 1 << 20
    /// The whitening matrix has size² values, so the code size is bounded.
    static let codeSizeLimit = 1024

    let size: Int
    let mean: [Float]
    /// size x size, row-major.
    let whitening: [Float]
    /// Training codes, rows of `size`.
    let bank: [Float]
    /// Per term (reconstruction, mahalanobis, neighbours): 1 / (3 × its training mean).
    private(set) var termWeights: [Float]

    enum CodingKeys: String, CodingKey {
        case size, mean = "code_mean", whitening, bank, termWeights = "term_weights"
    }

    /// |b|² of each stored code and the largest of them: derived from `bank` when it is made or
    /// read, not stored in the file, and kept because every scoring call reads all of them.
    let bankNorms: [Float]
    let largestBankNorm: Float

    var bankRows: Int { bank.count / size }
    /// Neighbours averaged: 5, fewer when few codes are stored (none from a single one).
    var neighbours: Int { Swift.min(Self.neighbourCount, bankRows - 1) }

    /// Fits the terms on the training rows' codes (`rows` x `size`) and their reconstruction
    /// scores, then turns `scores` into the combined scores of the training rows.
    init(codes: [Float], rows: Int, size: Int, scores: UnsafeMutableBufferPointer<Float>, seed: UInt64) {
        self.size = size
        (mean, whitening) = Self.whiteningTransform(codes, rows: rows, size: size)
        let kept = Swift.min(rows, Self.bankRowLimit, Swift.max(2, Self.storedValueLimit / size))
        if kept == rows {
            bank = codes
        } else {
            var rng = RandomSource(seed: seed, stream: .scoring)
            bank = rng.permutation(rows)[..<kept].sorted().flatMap { codes[($0 * size)..<(($0 + 1) * size)] }
        }
        (bankNorms, largestBankNorm) = Self.squaredNorms(bank, size: size)
        termWeights = [1, 1, 1]
        var terms = [Float](repeating: 0, count: 3 * rows)
        codes.withUnsafeBufferPointer { self.rawTerms($0.baseAddress!, rows: rows, scores: UnsafePointer(scores.baseAddress!), into: &terms) }
        termWeights = (0..<3).map { t in
            let average = (0..<rows).reduce(0.0) { $0 + Double(terms[3 * $1 + t]) } / Double(rows)
            // A term that is 0 on every training row (a constant code) keeps weight 1/3.
            return average > 0 && (1 / average).isFinite ? Float(1 / (3 * average)) : 1 / 3
        }
        for r in 0..<rows { scores[r] = combine(terms, row: r) }
    }

    init(from decoder: Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        size = try values.decode(Int.self, forKey: .size)
        mean = try values.decode([Float].self, forKey: .mean)
        whitening = try values.decode([Float].self, forKey: .whitening)
        bank = try values.decode([Float].self, forKey: .bank)
        termWeights = try values.decode([Float].self, forKey: .termWeights)
        (bankNorms, largestBankNorm) = Self.squaredNorms(bank, size: size)  // isValid(codeSize:) judges the values read
    }

    /// |b|² of each `size`-long row of `bank` and the largest (none for a size below 1, which
    /// isValid refuses).
    private static func squaredNorms(_ bank: [Float], size: Int) -> ([Float], Float) {
        guard size > 0 else { return ([], 0) }
        let norms = (0..<(bank.count / size)).map { j in (0..<size).reduce(Float(0)) { $0 + bank[j * size + $1] * bank[j * size + $1] } }
        return (norms, norms.max() ?? 0)
    }

    /// Replaces each of `rows` reconstruction scores by the combined score, given the rows' codes.
    func apply(codes: UnsafePointer<Float>, rows: Int, scores: UnsafeMutablePointer<Float>) {
        var terms = [Float](repeating: 0, count: 3 * rows)
        rawTerms(codes, rows: rows, scores: UnsafePointer(scores), into: &terms)
        for r in 0..<rows { scores[r] = combine(terms, row: r) }
    }

    /// Whether values read from a file are consistent with a code of `codeSize`.
    func isValid(codeSize: Int) -> Bool {
        size == codeSize && mean.count == size && whitening.count == size * size && !bank.isEmpty
            && bank.count % size == 0 && termWeights.count == 3 && termWeights.allSatisfy { $0 > 0 }
            && [mean, whitening, bank, termWeights].allSatisfy { $0.allSatisfy(\.isFinite) }
    }

    private func combine(_ terms: [Float], row r: Int) -> Float {
        (0..<3).reduce(Float(0)) { $0 + terms[3 * r + $1] * termWeights[$1] }
    }

    /// (reconstruction score, mahalanobis, neighbours) of each row, interleaved.
    private func rawTerms(_ codes: UnsafePointer<Float>, rows: Int, scores: UnsafePointer<Float>, into terms: inout [Float]) {
        // Blocks of up to 128 rows, sized to the rows there are: a row scored alone must not
        // allocate and zero 128 rows' distances (1.5 MB for 3,000 stored codes).
        let block = Swift.min(128, rows), stored = bankRows, k = neighbours
        var centred = [Float](repeating: 0, count: block * size), white = centred
        var distances = [Float](repeating: 0, count: block * stored)
        let bankNorms = self.bankNorms
        var nearest = [Float](repeating: 0, count: k + 1)
        var start = 0
        while start < rows {
            let n = Swift.min(block, rows - start), chunk = codes + start * size
            for i in 0..<(n * size) { centred[i] = chunk[i] - mean[i % size] }
            BLAS.gemm(m: n, n: size, k: size, centred, whitening, &white)
            BLAS.gemm(transB: true, m: n, n: stored, k: size, alpha: -2, chunk, bank, &distances)
            for r in 0..<n {
                let row = start + r
                terms[3 * row] = scores[row]
                terms[3 * row + 1] = (0..<size).reduce(Float(0)) { $0 + white[r * size + $1] * white[r * size + $1] }
                guard k > 0 else { continue }
                // Candidates by |c|² − 2 c·b + |b|² (one GEMM for the block). That form rounds by up
                // to ~(size + 4) ulp of |c|² + |b|², not of the distance, and differently in each
                // batch shape, so it only shortlists: every stored code within twice that of the
                // (k + 1)-th smallest is measured again as Σ (c − b)², and the k + 1 nearest by
                // those exact distances count. The term then rounds like the codes do, whatever
                // the batch, even for codes far from 0 relative to their spacing.
                let norm = (0..<size).reduce(Float(0)) { $0 + chunk[r * size + $1] * chunk[r * size + $1] }
                distances.withUnsafeMutableBufferPointer { all in
                    let estimate = all.baseAddress! + r * stored
                    bankNorms.withUnsafeBufferPointer { norms in
                        for j in 0..<stored { estimate[j] += norm + norms[j] }  // one vector pass
                    }
                    // Most estimates lie beyond the (k + 1)-th smallest so far: one comparison each.
                    for p in 0...k { nearest[p] = .infinity }
                    for j in 0..<stored where estimate[j] < nearest[k] { Self.insert(estimate[j], into: &nearest) }
                    let slack = Float(size + 4) * Float.ulpOfOne * (norm + largestBankNorm)
                    let cutoff = nearest[k] + 2 * slack
                    for p in 0...k { nearest[p] = .infinity }
                    for j in 0..<stored where estimate[j] <= cutoff {
                        let exact = (0..<size).reduce(Float(0)) { total, i in
                            let difference = chunk[r * size + i] - bank[j * size + i]
                            return total + difference * difference
                        }
                        Self.insert(exact, into: &nearest)
                    }
                }
                // All but the nearest (a training row's own code).
                let sum = nearest[1...].reduce(Float(0), +)
                terms[3 * row + 2] = sum * (1 / Float(k))
            }
            start += n
        }
    }

    /// Inserts distance `d` into the ascending list of the nearest so far, dropping the farthest.
    private static func insert(_ d: Float, into nearest: inout [Float]) {
        var p = nearest.count - 1
        guard d < nearest[p] else { return }
        while p > 0 && nearest[p - 1] > d { nearest[p] = nearest[p - 1]; p -= 1 }
        nearest[p] = d
    }

    /// The training codes' mean and the matrix W with |(c − mean) · W|² = (c − mean)ᵀ Σ⁻¹ (c − mean),
    /// Σ their covariance + a ridge (so a constant or collinear unit, or fewer rows than units,
    /// still gives a finite distance). W = C⁻ᵀ for the Cholesky factor C of Σ; in double precision.
    private static func whiteningTransform(_ codes: [Float], rows: Int, size: Int) -> (mean: [Float], whitening: [Float]) {
        var mean = [Double](repeating: 0, count: size)
        for r in 0..<rows { for j in 0..<size { mean[j] += Double(codes[r * size + j]) } }
        for j in 0..<size { mean[j] /= Double(rows) }
        var centred = [Float](repeating: 0, count: rows * size)
        for r in 0..<rows { for j in 0..<size { centred[r * size + j] = Float(Double(codes[r * size + j]) - mean[j]) } }
        var product = [Float](repeating: 0, count: size * size)
        BLAS.gemm(transA: true, m: size, n: size, k: rows, alpha: 1 / Float(rows), centred, centred, &product)
        var c = product.map(Double.init)
        let ridge = 1e-2 * (0..<size).reduce(0) { $0 + c[$1 * size + $1] } / Double(size) + 1e-12
        for j in 0..<size { c[j * size + j] += ridge }
        // Cholesky, lower triangle in place: Σ = C Cᵀ.
        for j in 0..<size {
            var d = c[j * size + j]
            for p in 0..<j { d -= c[j * size + p] * c[j * size + p] }
            let pivot = Swift.max(d, ridge).squareRoot()
            c[j * size + j] = pivot
            for i in (j + 1)..<size {
                var v = c[i * size + j]
                for p in 0..<j { v -= c[i * size + p] * c[j * size + p] }
                c[i * size + j] = v / pivot
            }
        }
        // Columns of C⁻¹ by forward substitution; W[i][j] = C⁻¹[j][i].
        var whitening = [Float](repeating: 0, count: size * size)
        var column = [Double](repeating: 0, count: size)
        for e in 0..<size {
            for i in e..<size {
                var v = i == e ? 1.0 : 0.0
                for p in e..<i { v -= c[i * size + p] * column[p] }
                column[i] = v / c[i * size + i]
            }
            for i in e..<size { whitening[e * size + i] = Float(column[i]) }
        }
        return (mean.map(Float.init), whitening)
    }
}
