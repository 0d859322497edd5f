/* The engine's thread pool (aefk_pool.h).
 *
 * A region is published as one atomic word, (generation << 16) | workers wanted, after its task,
 * context and part counter; workers claim parts from the counter and then acknowledge the
 * generation, and the caller returns only when every wanted worker has acknowledged, so no
 * worker can still be reading a region's state when the next one is written. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include "aefk_pool.h"

enum { MAX_WORKERS = 255 };
static const long SPIN_NANOSECONDS = 200000; /* a worker's spin after a region before it sleeps */

typedef struct { _Alignas(64) _Atomic uint64_t acknowledged; } worker_slot;

static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER; /* one region at a time */
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
static _Atomic long sleepers;
static long started;          /* workers running; written under region_lock */
static uint64_t generation;   /* the last region's; written under region_lock */
static worker_slot slots[MAX_WORKERS];
static _Atomic uint64_t region;
static aefk_task region_task;
static void *region_context;
static long region_parts;
static _Atomic long next_part;

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_parts(void) {
    long part;
    while ((part = atomic_fetch_add_explicit(&next_part, 1, memory_order_relaxed)) < region_parts)
        region_task(region_context, part);
}

static long nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The region word once its generation differs from `seen`: spinning first, then asleep. */
static uint64_t next_region(uint64_t seen) {
    long deadline = nanoseconds() + SPIN_NANOSECONDS;
    for (int spin = 1;; spin++) {
        uint64_t current = atomic_load_explicit(&region, memory_order_acquire);
        if (current >> 16 != seen) return current;
        relax();
        if (spin % 64 == 0 && nanoseconds() > deadline) break;
    }
    pthread_mutex_lock(&sleep_lock);
    atomic_fetch_add(&sleepers, 1); /* sequentially consistent with the publisher's store, then load */
    uint64_t current;
    while ((current = atomic_load(&region)) >> 16 == seen) pthread_cond_wait(&wake, &sleep_lock);
    atomic_fetch_sub(&sleepers, 1);
    pthread_mutex_unlock(&sleep_lock);
    return current;
}

static void *worker_main(void *argument) {
    long index = (long)(intptr_t)argument;
    uint64_t seen = atomic_load_explicit(&slots[index].acknowledged, memory_order_relaxed);
    for (;;) {
        uint64_t current = next_region(seen);
        if (index < (long)(current & 0xffff)) run_parts();
        seen = current >> 16;
        atomic_store_explicit(&slots[index].acknowledged, seen, memory_order_release);
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

void aefk_parallel(long parts, aefk_task task, void *context) {
    if (parts <= 1 || pthread_mutex_trylock(&region_lock) != 0) {
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
        atomic_store_explicit(&slots[started].acknowledged, generation, memory_order_relaxed);
        int failed = pthread_create(&thread, &attributes, worker_main, (void *)(intptr_t)started);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        started++;
    }
    if (wanted > started) wanted = started;
    if (wanted == 0) {
        pthread_mutex_unlock(&region_lock);
        run_serially(parts, task, context);
        return;
    }
    region_task = task;
    region_context = context;
    region_parts = parts;
    atomic_store_explicit(&next_part, 0, memory_order_relaxed);
    generation++;
    atomic_store(&region, generation << 16 | (uint64_t)wanted); /* publishes the state above */
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    run_parts();
    for (long w = 0; w < wanted; w++) {
        for (int spin = 1; atomic_load_explicit(&slots[w].acknowledged, memory_order_acquire) != generation; spin++) {
            /* yield now and then: under valgrind, or on a busy machine, the worker needs this core */
            if (spin % 1024 == 0) sched_yield(); else relax();
        }
    }
    pthread_mutex_unlock(&region_lock);
}
