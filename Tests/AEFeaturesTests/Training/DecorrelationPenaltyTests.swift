import XCTest
@testable import AEFeatures

/// The decorrelation (DeCov) code penalty: added as one file, its registry entry, its docs
/// section and these tests.
final class DecorrelationPenaltyTests: XCTestCase {
    /// weight · ½ Σ_{j≠k} C_jk², C the batch covariance, straight from the definition in Double.
    private func reference(_ h: [Double], batch: Int, size: Int, weight: Double) -> Double {
        let means = (0..<size).map { j in (0..<batch).map { h[$0 * size + j] }.reduce(0, +) / Double(batch) }
        var penalty = 0.0
        for j in 0..<size {
            for k in 0..<size where k != j {
                let c = (0..<batch).map { (h[$0 * size + j] - means[j]) * (h[$0 * size + k] - means[k]) }.reduce(0, +) / Double(batch)
                penalty += c * c
            }
        }
        return weight * 0.5 * penalty
    }

    func testFastPenaltyMatchesTheReferenceAndItsCentralDifferences() {
        let (batch, size, weight) = (7, 4, 0.3)
        var data = TestData(seed: 161)
        let h = data.uniform(batch * size)
        var gradient = [Float](repeating: 0, count: h.count)
        let value = h.map(Float.init).withUnsafeBufferPointer { hp in
            gradient.withUnsafeMutableBufferPointer {
                DecorrelationPenalty(weight: Float(weight)).apply(code: hp.baseAddress!, batch: batch, size: size, gradient: $0.baseAddress!)
            }
        }
        let expected = reference(h, batch: batch, size: size, weight: weight)
        XCTAssertEqual(value, expected, accuracy: 1e-5 * expected)
        let numeric = numericalGradient(at: h) { reference($0, batch: batch, size: size, weight: weight) }
        assertClose(gradient.map(Double.init), numeric, absolute: 1e-6, relative: 1e-4, "decorrelation gradient")
    }

    func testObjectiveGradientMatchesFiniteDifferences() throws {
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"input_shape":[6],"hidden_units":[5],"code_size":3,"code_activation":"tanh","batch_norm":true,"decorrelation":{"weight":0.5}}"#, batch: 5)
        try assertObjectiveGradientMatchesFiniteDifferences(
            #"{"variant":"seq2seq","input_shape":[3,2],"hidden_units":[3],"decorrelation":{"weight":2}}"#, batch: 4)
    }

    func testSpecFieldDefaultsAndErrors() throws {
        let spec = try ModelSpec(json: #"{"input_shape":[6],"code_size":3,"decorrelation":{}}"#)
        XCTAssertEqual(spec.penalty(DecorrelationPenalty.self), DecorrelationPenalty(weight: 0.01))
        XCTAssertTrue(spec.json.contains("\"decorrelation\""))
        XCTAssertEqual(try ModelSpec(json: spec.json), spec)
        XCTAssertNil(try ModelSpec(json: #"{"input_shape":[6],"code_size":3}"#).penalty(DecorrelationPenalty.self))
        assertSpecErrors([
            (#"{"input_shape":[6],"code_size":3,"decorrelation":{"weight":-1}}"#, "'decorrelation.weight' must be finite and >= 0"),
            (#"{"input_shape":[6],"code_size":3,"decorrelation":{"scale":1}}"#, "unknown field 'decorrelation.scale'"),
            (#"{"variant":"variational","input_shape":[6],"code_size":3,"decorrelation":{}}"#, "cannot be combined with decorrelation"),
        ])
    }

    /// What it is for: trained with it, the code units covary far less.
    func testTrainingDecorrelatesTheCode() throws {
        let x = structuredData(rows: 600, seed: 5)
        func covariancePenalty(_ json: String) throws -> Double {
            let model = try Autoencoder(json: json)
            try model.fit(x)
            let codes = try model.encode(x).scalars.map(Double.init), size = model.codeSize
            return reference(codes, batch: 600, size: size, weight: 1)
        }
        let base = #"{"input_shape":[24],"hidden_units":[16],"code_size":4,"code_activation":"identity","training":{"epochs":15,"batch_size":32}"#
        let plain = try covariancePenalty(base + "}"), decorrelated = try covariancePenalty(base + #","decorrelation":{"weight":1}}"#)
        XCTAssertLessThan(decorrelated, 0.2 * plain, "½ Σ cov² of the codes: \(decorrelated) with the penalty, \(plain) without")
    }
}
