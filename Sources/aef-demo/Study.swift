import AEFCommandLine
import AEFeatures
import COpenBLAS
import Foundation

/// The reference study's synthetic insurance policies (../shared/reference/insurance.md): a
/// label risk ~ Bernoulli(0.25), then 4 periods of (payment, insured value, premium), row-major
/// [period][type] when flattened to 12 values.
struct InsuranceData {
    static let periods = 4, types = 3
    let rows: [Float]   // policies x 12, raw units
    let labels: [Int]

    init(policies: Int, seed: UInt64) {
        var rng = RandomSource(seed: seed, stream: .sampling)
        func exponential(mean: Float) -> Float { -mean * log(1 - rng.uniform()) }
        var rows: [Float] = [], labels: [Int] = []
        for _ in 0..<policies {
            let risky = rng.uniform() < 0.25
            labels.append(risky ? 1 : 0)
            for _ in 0..<InsuranceData.periods {
                let paid = rng.uniform() < (risky ? 0.5 : 0.25)
                let payment = exponential(mean: 10)
                rows += [paid ? payment : 0, exponential(mean: risky ? 200 : 100), exponential(mean: risky ? 40 : 20)]
            }
        }
        self.rows = rows
        self.labels = labels
    }

    /// The study's handcrafted features: per type over the periods, sum, median, max and sample
    /// variance (n − 1); payments first.
    static func handcrafted(_ rows: [Float]) -> [Float] {
        let width = periods * types
        return stride(from: 0, to: rows.count, by: width).flatMap { start -> [Float] in
            (0..<types).flatMap { type -> [Float] in
                let values = (0..<periods).map { rows[start + $0 * types + type] }.sorted()
                let sum = values.reduce(0, +), mean = sum / Float(periods)
                let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(periods - 1)
                return [sum, (values[1] + values[2]) / 2, values[3], variance]
            }
        }
    }

    /// The exact log-likelihood ratio of risk 1 vs 0 (up to a constant): the number of non-zero
    /// payments and the sums of insured values and premiums are sufficient statistics, so ranking
    /// by it gives the best AUROC any classifier can reach on a draw.
    static func bayesScores(_ rows: [Float]) -> [Double] {
        let width = periods * types
        return stride(from: 0, to: rows.count, by: width).map { start in
            var score = 0.0
            for p in 0..<periods {
                let row = start + p * types
                score += rows[row] > 0 ? log(0.5 / 0.25) : log(0.5 / 0.75)
                score += log(0.5) + Double(rows[row + 1]) / 200   // Exp(200) over Exp(100)
                score += log(0.5) + Double(rows[row + 2]) / 40    // Exp(40) over Exp(20)
            }
            return score
        }
    }
}

/// Area under the ROC curve of `scores` for `labels` (1 = positive), ties counted half
/// (the Mann–Whitney statistic).
func auroc<T: BinaryFloatingPoint>(_ scores: [T], _ labels: [Int]) -> Double {
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var rankSum = 0.0, i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let rank = Double(i + j) / 2 + 1
        for k in i...j where labels[order[k]] == 1 { rankSum += rank }
        i = j + 1
    }
    let positives = Double(labels.filter { $0 == 1 }.count), negatives = Double(labels.count) - positives
    guard positives > 0, negatives > 0 else { return .nan }
    return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
}

/// Principal components of the training rows keeping `variance` of the total variance, from
/// LAPACK's symmetric eigensolver (dsyev, as OpenBLAS ships it) on the covariance matrix.
struct PCA {
    let mean: [Double]
    let components: [[Double]]  // each a unit vector of the input's width

    init(rows x: [Float], width d: Int, variance: Double) throws {
        let n = x.count / d
        let mean = (0..<d).map { j in stride(from: j, to: x.count, by: d).reduce(0.0) { $0 + Double(x[$1]) } / Double(n) }
        self.mean = mean
        var centred = x.enumerated().map { Double($0.element) - mean[$0.offset % d] }
        var covariance = [Double](repeating: 0, count: d * d)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(n), 1 / Double(max(n - 1, 1)),
                    &centred, Int32(d), 0, &covariance, Int32(d))
        // Row-major upper = column-major lower: ask LAPACK for "L".
        var eigenvalues = [Double](repeating: 0, count: d)
        var size = Int32(d), lwork = Int32(-1), info = Int32(0), optimal = 0.0
        dsyev_("V", "L", &size, &covariance, &size, &eigenvalues, &optimal, &lwork, &info)
        var work = [Double](repeating: 0, count: Int(optimal))
        lwork = Int32(work.count)
        dsyev_("V", "L", &size, &covariance, &size, &eigenvalues, &work, &lwork, &info)
        guard info == 0 else { throw CommandError("LAPACK dsyev failed with info \(info)") }
        // Eigenvalues ascend; column-major eigenvectors are the rows of `covariance` here.
        let total = eigenvalues.reduce(0) { $0 + max($1, 0) }
        var kept: [[Double]] = [], explained = 0.0
        for k in stride(from: d - 1, through: 0, by: -1) where explained < variance * total || kept.isEmpty {
            kept.append(Array(covariance[(k * d)..<((k + 1) * d)]))
            explained += max(eigenvalues[k], 0)
        }
        components = kept
    }

    private init(mean: [Double], components: [[Double]]) {
        (self.mean, self.components) = (mean, components)
    }

    /// The first `count` components alone (the largest variances first).
    func leading(_ count: Int) -> PCA { PCA(mean: mean, components: Array(components.prefix(count))) }

    /// Rows of x (n x width) → their coordinates on the kept components (n x components), one sgemm.
    func project(_ x: [Float]) -> [Float] {
        let d = mean.count, n = x.count / d, k = components.count
        var centred = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count { centred[i] = Float(Double(x[i]) - mean[i % d]) }
        let basis = components.flatMap { $0.map(Float.init) }  // k x d
        var out = [Float](repeating: 0, count: n * k)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(k), Int32(d), 1, centred, Int32(d),
                    basis, Int32(d), 0, &out, Int32(k))
        return out
    }
}

/// Mean and sample standard deviation, for "mean ± spread over seeds".
func meanAndSpread(_ values: [Double]) -> (mean: Double, spread: Double) {
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    return (mean, (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot())
}

/// Per-column min-max scaling to [0, 1] with the statistics of the rows it was made from
/// (constant columns map to 0).
struct MinMax {
    let low: [Float], range: [Float]

    init(_ x: [Float], width: Int) {
        var low = [Float](repeating: .infinity, count: width), high = [Float](repeating: -.infinity, count: width)
        for (i, v) in x.enumerated() { low[i % width] = min(low[i % width], v); high[i % width] = max(high[i % width], v) }
        self.low = low
        range = zip(low, high).map { $1 > $0 ? $1 - $0 : 1 }
    }

    func callAsFunction(_ x: [Float]) -> [Float] {
        x.enumerated().map { ($0.element - low[$0.offset % low.count]) / range[$0.offset % low.count] }
    }
}

/// `aef demo --save-features DIR`: every feature set of the first seed as DIR/<dataset>.<n>.train.npy
/// and .test.npy with the labels, and DIR/index.csv naming each row and the metric the demo
/// measured on it, so another implementation (scikit-learn's) can be checked on the same numbers.
struct FeatureDump {
    let directory: String
    private var index = "dataset,row,file,metric\n"
    private var count = 0
    private var labelsWritten: Set<String> = []

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    mutating func save(dataset: String, row: String, train: [Float], test: [Float], width: Int,
                       trainLabels: [Int], testLabels: [Int], metric: Double) throws {
        if labelsWritten.insert(dataset).inserted {
            for (split, labels) in [("train", trainLabels), ("test", testLabels)] {
                try DataFiles.write(Table(rows: labels.count, columns: 1, values: labels.map(Float.init)),
                                    to: "\(directory)/\(dataset).labels.\(split).npy")
            }
        }
        let file = "\(dataset).\(count)"
        count += 1
        try DataFiles.write(Table(rows: train.count / width, columns: width, values: train), to: "\(directory)/\(file).train.npy")
        try DataFiles.write(Table(rows: test.count / width, columns: width, values: test), to: "\(directory)/\(file).test.npy")
        index += "\(dataset),\"\(row)\",\(file),\(String(format: "%.6f", metric))\n"
    }

    func finish() throws {
        try index.write(toFile: directory + "/index.csv", atomically: true, encoding: .utf8)
        say("wrote \(count) feature sets into \(directory) (index.csv)")
    }
}
