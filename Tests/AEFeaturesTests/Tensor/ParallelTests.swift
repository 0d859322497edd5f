import XCTest
import AEFKernels
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

    /// A pipeline produces every block exactly once, and `ready(k)` returns only once block k is
    /// written: on one thread and several, with more blocks than AEFK_PIPELINE_BLOCKS (300: the
    /// consumer alone), with a consumer that is at times slower than the producer and at times
    /// faster, and inside another region's parts (nested: run on their caller alone).
    func testPipelineProducesEveryBlockOnceBeforeItIsRead() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            for blocks in [0, 1, 2, 7, Int(AEFK_PIPELINE_BLOCKS) + 44] {
                for round in 0..<20 { assertPipelineProducesEveryBlockOnce(blocks, round: round, "\(threads) threads") }
                Parallel.forRanges(2 * Parallel.grain, grain: Parallel.grain) { part in
                    assertPipelineProducesEveryBlockOnce(blocks, round: part.lowerBound, "\(threads) threads, nested")
                }
            }
        }
    }

    private func assertPipelineProducesEveryBlockOnce(_ blocks: Int, round: Int, _ label: String) {
        let produced = UnsafeMutablePointer<Int32>.allocate(capacity: max(blocks, 1))
        defer { produced.deallocate() }
        produced.update(repeating: 0, count: max(blocks, 1))
        var unready = 0
        let lock = NSLock()
        var work = PipelineWork(produced: produced, round: round, lock: lock)
        Parallel.pipeline(blocks: blocks, produce: { work, k in
            let work = work!.assumingMemoryBound(to: PipelineWork.self).pointee
            if (k + work.round) % 5 == 0 { usleep(20) }
            work.lock.lock(); work.produced[k] += 1; work.lock.unlock()
        }, work: &work) { ready in
            for k in 0..<blocks {
                ready(k)
                lock.lock(); if produced[k] != 1 { unready += 1 }; lock.unlock()
                if (k + round) % 7 == 0 { usleep(10) }
            }
        }
        XCTAssertEqual(unready, 0, "\(label), \(blocks) blocks: a block read before it was produced")
        XCTAssertEqual((0..<blocks).filter { produced[$0] != 1 }, [], "\(label), \(blocks) blocks")
    }

    private struct PipelineWork {
        let produced: UnsafeMutablePointer<Int32>
        let round: Int
        let lock: NSLock
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

    /// A region that does not ask to wake sleeping workers, after an idle spell (the workers
    /// asleep), runs on its caller; the region right after it (a burst) wakes them, and so does
    /// one that asks. A part the caller runs waits (up to a bound) for a part to start on another
    /// thread. A worker still spinning on a loaded machine could come anyway, or the test thread
    /// be held past the burst window, so the first checks get a few tries.
    func testSleepingWorkersAreWokenOnlyWhenAsked() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 2
        Parallel.forRanges(2, grain: 1) { _ in }  // the worker exists
        final class Probe { var caller = pthread_self(); var otherStarted = false; let lock = NSLock(); var waitLimit = 0.0 }
        func run(wake: Int32, probe: Probe) -> Bool {
            probe.caller = pthread_self()
            probe.lock.withLock { probe.otherStarted = false }
            withExtendedLifetime(probe) {
                aefk_parallel(2, { context, _ in
                    let probe = Unmanaged<Probe>.fromOpaque(context!).takeUnretainedValue()
                    // A woken worker can claim part 0 before the caller does: any part run off
                    // the caller counts, and a part the caller runs waits for one.
                    if pthread_equal(pthread_self(), probe.caller) == 0 {
                        probe.lock.withLock { probe.otherStarted = true }
                        return
                    }
                    let deadline = Date().addingTimeInterval(probe.waitLimit)
                    while Date() < deadline && !probe.lock.withLock({ probe.otherStarted }) { usleep(100) }
                }, Unmanaged.passUnretained(probe).toOpaque(), wake)
            }
            return probe.lock.withLock { probe.otherStarted }
        }
        let probe = Probe()
        var stayedAsleep = false, burstWoke = false
        for _ in 0..<5 where !(stayedAsleep && burstWoke) {
            usleep(20_000)  // workers spin 200 µs after a region, then sleep
            probe.waitLimit = 0.05
            let asleep = !run(wake: 0, probe: probe)
            probe.waitLimit = 1
            let woke = run(wake: 0, probe: probe)  // starts within 200 µs of the last region's end
            stayedAsleep = stayedAsleep || asleep
            burstWoke = burstWoke || (asleep && woke)
        }
        XCTAssertTrue(stayedAsleep, "a worker ran part of an unasked-for region after every idle spell")
        XCTAssertTrue(burstWoke, "a region right after another did not wake the sleeping worker")
        usleep(20_000)
        probe.waitLimit = 10
        XCTAssertTrue(run(wake: 1, probe: probe), "no worker came to a region that asked to wake them")
    }
}
