import Foundation
import XCTest
@testable import AEFeatures

final class FastMathTests: XCTestCase {
    /// The vectorizable exp the activations and recurrent layers use, against glibc, over the range
    /// where it does not saturate. (The losses' log lives in the vector kernels, checked by
    /// LossAndPenaltyTests element by element.)
    func testFastExpMatchesLibm() {
        var worst = 0.0
        for i in 0...20_000 {
            let x = Float(-87 + 175 * Double(i) / 20_000)
            worst = max(worst, abs(Double(FastMath.exp(x)) / Foundation.exp(Double(x)) - 1))
        }
        XCTAssertLessThan(worst, 3e-7)
    }
}
