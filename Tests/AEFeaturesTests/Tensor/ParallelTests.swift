import XCTest
@testable import AEFeatures

final class ParallelTests: XCTestCase {
    func testRangesCoverEveryIndexOnceAndRespectAlignment() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2, 3, 8] {
            Parallel.threadCount = threads
            for (count, alignment) in [(0, 1), (10, 1), (Parallel.grain * 2, 1), (Parallel.grain * 5 + 3, 4), (1_000_003, 16)] {
                let lock = NSLock()
                var ranges: [Range<Int>] = []
                Parallel.forRanges(count, alignment: alignment) { r in lock.lock(); ranges.append(r); lock.unlock() }
                ranges.sort { $0.lowerBound < $1.lowerBound }
                XCTAssertEqual(ranges.first?.lowerBound ?? 0, 0)
                XCTAssertEqual(ranges.last?.upperBound ?? 0, count)
                for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
                for r in ranges.dropLast() { XCTAssertEqual(r.lowerBound % alignment, 0); XCTAssertEqual(r.count % alignment, 0) }
                XCTAssertLessThanOrEqual(ranges.count, max(threads, 1))
            }
        }
    }
}
