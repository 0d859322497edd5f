import AEFKernels

/// Splits the engine's loops and its large products (BLAS.gemm) across threads. The split
/// depends only on the element count and the thread count, so results are reproducible for a
/// given thread count.
enum Parallel {
    /// Threads for the engine's loops and products (`Threading.threadCount`); at first the count
    /// OpenBLAS loaded with.
    nonisolated(unsafe) static var threadCount = BLAS.loadedThreadCount

    /// Below this many elements per part, a loop runs on the calling thread alone.
    static let grain = 16_384

    /// A region of fewer grains of work than this does not wake sleeping workers (aefk_parallel):
    /// half of it takes less time than a worker woken from sleep may take to arrive.
    static let wakeGrains = 4

    /// Calls body on up to `threadCount` contiguous ranges covering 0..<count, each a multiple of
    /// `alignment` long except the last.
    /// `grain` is the least work worth a thread, in units of `count` (elements by default).
    static func forRanges(_ count: Int, alignment: Int = 1, grain: Int = Parallel.grain, _ body: (Range<Int>) -> Void) {
        let grains = count / Swift.max(grain, 1), parts = Swift.min(threadCount, grains)
        guard parts > 1 else { return body(0..<count) }
        let blocks = (count + alignment - 1) / alignment
        withoutActuallyEscaping(body) { body in
            var region = Region { k in
                let start = Swift.min(count, blocks * k / parts * alignment)
                let end = k == parts - 1 ? count : Swift.min(count, blocks * (k + 1) / parts * alignment)
                body(start..<end)
            }
            let wakeSleepers: Int32 = grains >= wakeGrains ? 1 : 0
            withUnsafeMutablePointer(to: &region) { aefk_parallel(parts, { context, k in
                context!.assumingMemoryBound(to: Region.self).pointee.part(k)
            }, $0, wakeSleepers) }
        }
    }

    /// Runs `consume(ready)` while another thread runs `produce(work, k)` for k in 0..<blocks, in
    /// order, each once (aefk_pipeline_run). consume calls `ready(k)` for k = 0, 1, … in turn
    /// before it reads block k; that returns once block k is produced, producing blocks itself
    /// rather than waiting for a thread that is not there (on one thread, or with more than
    /// AEFK_PIPELINE_BLOCKS blocks, each block as asked). `produce` is a C function of plain
    /// values rather than a closure: calling a closure retains and releases its context, and
    /// with both threads producing, that count went from core to core at every block.
    static func pipeline(blocks: Int, produce: aefk_task, work: UnsafeMutableRawPointer,
                         consume: (_ ready: (Int) -> Void) -> Void) {
        withoutActuallyEscaping(consume) { consume in
            guard threadCount > 1, blocks > 1 else { return consume { produce(work, $0) } }
            var stages = Pipeline(produce: produce, work: work, consume: consume)
            withUnsafeMutablePointer(to: &stages) {
                aefk_pipeline_run(blocks, { context, k in
                    let stages = context!.assumingMemoryBound(to: Pipeline.self)
                    stages.pointee.produce(stages.pointee.work, k)
                }, { context, pipeline in
                    context!.assumingMemoryBound(to: Pipeline.self).pointee.consume { aefk_pipeline_ready(pipeline, $0) }
                }, $0)
            }
        }
    }

    /// What aefk_parallel (Sources/AEFKernels/pool.c, the engine's thread pool) calls per part.
    private struct Region { let part: (Int) -> Void }
    private struct Pipeline {
        let produce: aefk_task
        let work: UnsafeMutableRawPointer
        let consume: ((Int) -> Void) -> Void
    }
}
