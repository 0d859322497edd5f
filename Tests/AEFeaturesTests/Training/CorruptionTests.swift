import XCTest
@testable import AEFeatures

/// Training/Corruption.swift and the Poisson draws it uses.
final class CorruptionTests: XCTestCase {
    /// Mean and variance of many draws equal the Poisson mean within 5 standard errors, on both
    /// sides of the switch from Knuth's method to PTRS at 10, and P(0) = exp(-mean) for small means.
    func testPoissonDrawsHaveThePoissonMoments() {
        var rng = RandomSource(seed: 7)
        let draws = 200_000
        for mean in [0.3, 2.0, 9.9, 10.0, 25.0, 400.0] {
            var sum = 0.0, squares = 0.0, zeros = 0, integral = true
            for _ in 0..<draws {
                let k = rng.poisson(mean: mean)
                sum += k; squares += k * k
                if k == 0 { zeros += 1 }
                integral = integral && k == k.rounded() && k >= 0
            }
            let sampleMean = sum / Double(draws), variance = squares / Double(draws) - sampleMean * sampleMean
            XCTAssertTrue(integral, "mean \(mean): counts are non-negative integers")
            XCTAssertEqual(sampleMean, mean, accuracy: 5 * (mean / Double(draws)).squareRoot(), "mean \(mean)")
            // The sample variance's standard error is about mean * sqrt(2 / draws) (+ the 4th cumulant).
            XCTAssertEqual(variance, mean, accuracy: 5 * mean * (2.0 / Double(draws)).squareRoot() + 5 * (mean / Double(draws)).squareRoot(),
                           "variance at mean \(mean)")
            if mean < 10 {
                let p0 = exp(-mean)
                XCTAssertEqual(Double(zeros) / Double(draws), p0, accuracy: 5 * (p0 * (1 - p0) / Double(draws)).squareRoot())
            }
        }
        XCTAssertEqual(rng.poisson(mean: 0), 0)
        XCTAssertEqual(rng.poisson(mean: -3), 0)
    }

    /// Poisson corruption resamples counts: values are multiples of 1 / level, unbiased, with
    /// variance x / level; negative inputs count as zero intensity.
    func testPoissonCorruptionIsCountNoise() {
        let level: Float = 40, count = 100_000
        let noise = Corruption(kind: .poisson, level: level)
        var values = [Float](repeating: 0.5, count: count)
        values[0] = -1
        var rng = RandomSource(seed: 3, stream: .noise)
        values.withUnsafeMutableBufferPointer { noise.apply($0.baseAddress!, count: count, rng: &rng) }
        XCTAssertEqual(values[0], 0, "a negative intensity gives no counts")
        let rest = values[1...].map(Double.init)
        XCTAssertTrue(rest.allSatisfy { abs(($0 * Double(level)).rounded() - $0 * Double(level)) < 1e-4 }, "whole counts / level")
        let mean = rest.reduce(0, +) / Double(rest.count)
        let variance = rest.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rest.count)
        XCTAssertEqual(mean, 0.5, accuracy: 5 * (0.5 / 40 / Double(rest.count)).squareRoot())
        XCTAssertEqual(variance, 0.5 / 40, accuracy: 0.0005)
        XCTAssertEqual(Corruption.Kind.poisson.defaultLevel, 50)
    }
}
