import Dispatch

/// Splits the engine's own elementwise loops across threads (OpenBLAS parallelises the GEMMs).
/// The split depends only on the element count and the thread count, so results are
/// reproducible for a given thread count.
enum Parallel {
    /// Threads for the engine's loops; `Threading.threadCount` sets it together with OpenBLAS's.
    nonisolated(unsafe) static var threadCount = BLAS.threadCount

    /// Below this many elements per part, a loop runs on the calling thread alone.
    static let grain = 16_384

    /// Calls body on up to `threadCount` contiguous ranges covering 0..<count, each a multiple of
    /// `alignment` long except the last.
    /// `grain` is the least work worth a thread, in units of `count` (elements by default).
    static func forRanges(_ count: Int, alignment: Int = 1, grain: Int = Parallel.grain, _ body: (Range<Int>) -> Void) {
        let parts = Swift.min(threadCount, count / Swift.max(grain, 1))
        guard parts > 1 else { return body(0..<count) }
        let blocks = (count + alignment - 1) / alignment
        DispatchQueue.concurrentPerform(iterations: parts) { k in
            let start = Swift.min(count, blocks * k / parts * alignment)
            let end = k == parts - 1 ? count : Swift.min(count, blocks * (k + 1) / parts * alignment)
            body(start..<end)
        }
    }
}
