/* The engine's thread pool: the threads of Parallel.forRanges and of the split GEMMs (BLAS.swift).
 *
 * Workers spin for a short while (200 µs) after a parallel region before they sleep, so the
 * closely spaced regions of a training step hand work over without a wake-up; OpenBLAS runs
 * single-threaded on them, so no second pool spins beside this one. */
#ifndef AEFK_POOL_H
#define AEFK_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

/* task(context, part) for one part of a region. */
typedef void (*aefk_task)(void *context, long part);

/* Runs task(context, k) for every k in 0..<parts, on the calling thread and up to parts − 1
 * workers (started on first use, kept for the process; part 0 on the caller, the others taken in
 * order by whichever thread is free), and returns when all have returned. Parts must not depend
 * on which thread runs them. The caller waits for the parts other threads claimed, never for a
 * worker that claimed none. Runs every part on the caller, in order, when parts ≤ 1, when called
 * from inside a task (nested), while another thread's region is running, or when a worker cannot
 * be started. Thread-safe; a child process after fork() starts its own workers.
 * Workers asleep (no region for 200 µs) are woken only when `wake_sleepers` is nonzero or the
 * last region ended less than 200 µs ago: a sleeping worker can take tens of microseconds to
 * arrive (on a virtual machine), after a short region's caller has claimed every part, so for
 * such a region the wake-up is pure cost; a region close after another (a burst of calls)
 * wakes them for the ones that follow. */
void aefk_parallel(long parts, aefk_task task, void *context, int wake_sleepers);

/* A producer-consumer region: consume(context, pipeline) runs on one thread while the others
 * produce blocks 0..<blocks (produce(context, k)) in order, each once. Before it reads block k,
 * consume calls aefk_pipeline_ready(pipeline, k), which returns once block k is produced,
 * producing unclaimed blocks itself meanwhile, so it never waits for a worker that did not come
 * (alone, nested, or with the workers asleep, consume produces every block as it needs it; with
 * more than AEFK_PIPELINE_BLOCKS blocks consume always runs alone so). Returns when consume has
 * returned and every block is produced. A block's result must not depend on which thread
 * produces it. Thread-safe as aefk_parallel. */
enum { AEFK_PIPELINE_BLOCKS = 256 }; /* blocks whose flags a pipeline keeps on the stack */
typedef struct aefk_pipeline aefk_pipeline;
void aefk_pipeline_run(long blocks, aefk_task produce, void (*consume)(void *context, aefk_pipeline *pipeline), void *context);
void aefk_pipeline_ready(aefk_pipeline *pipeline, long block);

#ifdef __cplusplus
}
#endif

#endif
