import AEFeatures

/// Summaries of code distributions, for reports on variational and adversarial models.
public enum CodeStatistics {
    /// Per-dimension means and the covariance matrix of rows [n, d].
    public static func moments(_ codes: Tensor) -> (mean: [Double], covariance: [Double]) {
        let n = codes.sampleCount, d = codes.sampleSize
        let values = codes.scalars.map(Double.init)
        let mean = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + values[$1 * d + j] } / Double(n) }
        var covariance = [Double](repeating: 0, count: d * d)
        for r in 0..<n {
            for a in 0..<d {
                let da = values[r * d + a] - mean[a]
                for b in 0..<d { covariance[a * d + b] += da * (values[r * d + b] - mean[b]) / Double(n) }
            }
        }
        return (mean, covariance)
    }

    /// |mean|² + ‖covariance − I‖_F: how far codes are from N(0, I) in their first two moments.
    public static func distanceFromStandardNormal(_ codes: Tensor) -> Double {
        let d = codes.sampleSize
        let (mean, covariance) = moments(codes)
        var frobenius = 0.0
        for a in 0..<d { for b in 0..<d { let e = covariance[a * d + b] - (a == b ? 1 : 0); frobenius += e * e } }
        return mean.map { $0 * $0 }.reduce(0, +) + frobenius.squareRoot()
    }
}
