import Foundation
import XCTest
@testable import AEFeatures

final class FastMathTests: XCTestCase {
    /// The vectorizable exp and log that the losses and activations use, against glibc, over the
    /// ranges they see (log: 1 + e^−|z| in [1, 2], and a wide range beside it).
    func testFastExpAndLogMatchLibm() {
        var worstExp = 0.0, worstLog = 0.0
        for i in 0...20_000 {
            let x = Float(-87 + 175 * Double(i) / 20_000)
            worstExp = max(worstExp, abs(Double(FastMath.exp(x)) / Foundation.exp(Double(x)) - 1))
            let u = Float(1 + Double(i) / 20_000), w = Float(pow(10, -30 + 60 * Double(i) / 20_000))
            for v in [u, w] where abs(Foundation.log(Double(v))) > 1e-3 {
                worstLog = max(worstLog, abs(Double(FastMath.log(v)) / Foundation.log(Double(v)) - 1))
            }
            XCTAssertLessThan(abs(Double(FastMath.log(u)) - Foundation.log(Double(u))), 1e-7, "log \(u)")
        }
        XCTAssertLessThan(worstExp, 3e-7)
        XCTAssertLessThan(worstLog, 3e-7)
    }
}
