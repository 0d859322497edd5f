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

/// The thread pool under load: many short regions, more parts than workers, nested regions
/// (run on their caller) and several threads starting regions at once (one gets the pool, the
/// others run theirs alone). Every part must run exactly once, and a region's writes must be
/// visible to its caller when it returns.
final class ThreadPoolTests: XCTestCase {
    func testEveryPartRunsOnceUnderConcurrentNestedRegions() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 4
        DispatchQueue.concurrentPerform(iterations: 3) { caller in
            let count = 4 * 4_096
            let hits = UnsafeMutablePointer<Int32>.allocate(capacity: count)
            defer { hits.deallocate() }
            for round in 0..<300 {
                hits.update(repeating: 0, count: count)
                Parallel.forRanges(count, alignment: 8, grain: 1_024) { outer in
                    // A nested region inside a part: its ranges cover the part once, on this thread.
                    Parallel.forRanges(outer.count, grain: 256) { inner in
                        for i in inner { hits[outer.lowerBound + i] += 1 }
                    }
                }
                let wrong = (0..<count).first { hits[$0] != 1 }
                XCTAssertNil(wrong, "caller \(caller), round \(round): index \(wrong ?? -1) ran \(wrong.map { hits[$0] } ?? 0) times")
                if wrong != nil { return }
            }
        }
    }
}
