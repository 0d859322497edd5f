/* The engine's thread pool (aefk_pool.h).
 *
 * A region is one atomic word, (generation << 32) | next part, published after the region's
 * task, context and part count. Any thread claims a part by a compare-and-swap of that word, so a
 * worker that wakes late can claim only parts of the region still running, and the caller waits
 * only for the parts claimed, never for a worker that claimed nothing (a sleeping worker takes
 * hundreds of microseconds to wake on a busy machine). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include "aefk_pool.h"

enum { MAX_WORKERS = 255 };
static const long SPIN_NANOSECONDS = 200000; /* a worker's spin after a region before it sleeps */

static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER; /* one region at a time */
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
static _Atomic long sleepers;
static long started;          /* workers running; written under region_lock */
static uint32_t generation;   /* the last region's; written under region_lock */
static long last_region_end;  /* nanoseconds(); written under region_lock */
static _Atomic uint64_t region;
/* Atomic only so that a late worker's read of a newer region's values is not a data race: the
 * compare-and-swap on `region` decides whether it may use them. */
static _Atomic(aefk_task) region_task;
static _Atomic(void *) region_context;
static _Atomic long region_parts;
static _Atomic long finished;

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs parts of the region of `word`'s generation until none is left or a newer
 * region has been published. */
static void run_parts(uint64_t word) {
    for (;;) {
        aefk_task task = atomic_load_explicit(&region_task, memory_order_relaxed);
        void *context = atomic_load_explicit(&region_context, memory_order_relaxed);
        long parts = atomic_load_explicit(&region_parts, memory_order_relaxed);
        long part = (long)(word & 0xffffffffu);
        if (part >= parts) return;
        if (atomic_compare_exchange_weak_explicit(&region, &word, word + 1, memory_order_acquire, memory_order_acquire)) {
            task(context, part);
            atomic_fetch_add_explicit(&finished, 1, memory_order_release);
            word = atomic_load_explicit(&region, memory_order_acquire);
        }
        /* on failure `word` holds the current value: another part was claimed, or a new region */
    }
}

static long nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The region word once its generation differs from `seen`: spinning first, then asleep. */
static uint64_t next_region(uint32_t seen) {
    long deadline = nanoseconds() + SPIN_NANOSECONDS;
    for (int spin = 1;; spin++) {
        uint64_t current = atomic_load_explicit(&region, memory_order_acquire);
        if ((uint32_t)(current >> 32) != seen) return current;
        relax();
        if (spin % 64 == 0 && nanoseconds() > deadline) break;
        if (spin % 256 == 0) sched_yield(); /* a caller sharing this core needs it more */
    }
    pthread_mutex_lock(&sleep_lock);
    atomic_fetch_add(&sleepers, 1); /* sequentially consistent with the publisher's store, then load */
    uint64_t current;
    while ((uint32_t)((current = atomic_load(&region)) >> 32) == seen) pthread_cond_wait(&wake, &sleep_lock);
    atomic_fetch_sub(&sleepers, 1);
    pthread_mutex_unlock(&sleep_lock);
    return current;
}

static void *worker_main(void *argument) {
    uint32_t seen = (uint32_t)(uintptr_t)argument;
    for (;;) {
        uint64_t current = next_region(seen);
        seen = (uint32_t)(current >> 32);
        run_parts(current);
    }
    return NULL;
}

/* The child of a fork has only the forking thread: it starts its own workers. */
static void reset_in_child(void) {
    pthread_mutex_init(&region_lock, NULL);
    pthread_mutex_init(&sleep_lock, NULL);
    pthread_cond_init(&wake, NULL);
    atomic_store(&sleepers, 0);
    started = 0;
}

static void install_fork_handler(void) { pthread_atfork(NULL, NULL, reset_in_child); }

static void run_serially(long parts, aefk_task task, void *context) {
    for (long part = 0; part < parts; part++) task(context, part);
}

void aefk_parallel(long parts, aefk_task task, void *context, int wake_sleepers) {
    if (parts <= 1 || parts > 0x7fffffff || pthread_mutex_trylock(&region_lock) != 0) {
        run_serially(parts, task, context);
        return;
    }
    pthread_once(&fork_handler_once, install_fork_handler);
    long wanted = parts - 1 < MAX_WORKERS ? parts - 1 : MAX_WORKERS;
    while (started < wanted) {
        pthread_attr_t attributes;
        pthread_t thread;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, (void *)(uintptr_t)generation);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        started++;
    }
    if (started == 0) {
        pthread_mutex_unlock(&region_lock);
        run_serially(parts, task, context);
        return;
    }
    atomic_store_explicit(&region_task, task, memory_order_relaxed);
    atomic_store_explicit(&region_context, context, memory_order_relaxed);
    atomic_store_explicit(&region_parts, parts, memory_order_relaxed);
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    generation++;
    /* Part 0 is the caller's, the others are claimed from 1: a region's parts then tend to run on
     * the same threads from call to call (a batch-of-one dense layer's half of the weights stays
     * in its core's L2), where whichever thread came first used to take part 0. */
    uint64_t word = ((uint64_t)generation << 32) | 1;
    atomic_store(&region, word); /* publishes the values above */
    if (atomic_load(&sleepers) > 0 && (wake_sleepers || nanoseconds() - last_region_end < SPIN_NANOSECONDS)) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    task(context, 0);
    atomic_fetch_add_explicit(&finished, 1, memory_order_release);
    run_parts(atomic_load_explicit(&region, memory_order_acquire));
    /* Every part is claimed now; wait for the ones other threads run. */
    for (int spin = 1; atomic_load_explicit(&finished, memory_order_acquire) < parts; spin++) {
        /* yield now and then: under valgrind, or on a busy machine, a worker needs this core */
        if (spin % 1024 == 0) sched_yield(); else relax();
    }
    last_region_end = nanoseconds();
    pthread_mutex_unlock(&region_lock);
}

struct aefk_pipeline {
    long blocks;
    aefk_task produce;
    void (*consume)(void *context, aefk_pipeline *pipeline);
    void *context;
    _Atomic long next;           /* the next block to claim */
    _Atomic unsigned char *done; /* per block: produced; NULL: consume runs alone, producing as it asks */
};

/* Claims the next block and produces it; 0 when every block is claimed. */
static int produce_next(aefk_pipeline *p) {
    long k = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    if (k >= p->blocks) return 0;
    p->produce(p->context, k);
    if (p->done) atomic_store_explicit(&p->done[k], 1, memory_order_release);
    return 1;
}

void aefk_pipeline_ready(aefk_pipeline *p, long block) {
    if (!p->done) {
        while (atomic_load_explicit(&p->next, memory_order_relaxed) <= block && produce_next(p)) {}
        return;
    }
    for (int spin = 1; !atomic_load_explicit(&p->done[block], memory_order_acquire); spin++) {
        if (produce_next(p)) continue;
        /* another thread is producing it; yield now and then, as aefk_parallel's wait does */
        if (spin % 1024 == 0) sched_yield(); else relax();
    }
}

/* Part 0 (the caller's) consumes, part 1 produces. */
static void pipeline_part(void *context, long part) {
    aefk_pipeline *p = context;
    if (part == 0) p->consume(p->context, p);
    else while (produce_next(p)) {}
}

void aefk_pipeline_run(long blocks, aefk_task produce, void (*consume)(void *context, aefk_pipeline *pipeline), void *context) {
    _Atomic unsigned char flags[AEFK_PIPELINE_BLOCKS];
    aefk_pipeline p = {blocks, produce, consume, context, 0, blocks <= AEFK_PIPELINE_BLOCKS ? flags : NULL};
    if (p.done) {
        for (long k = 0; k < blocks; k++) atomic_init(&flags[k], 0);
        aefk_parallel(2, pipeline_part, &p, 0);
    } else {
        pipeline_part(&p, 0);
    }
    while (produce_next(&p)) {} /* blocks consume did not ask for */
}
