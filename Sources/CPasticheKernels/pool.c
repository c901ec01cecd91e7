#include "pastiche_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/*
 * A fork-join pool whose workers spin for a while before they sleep. GCD's concurrentPerform
 * wakes a parked thread for every call, which costs as much as a short layer's work, and the
 * predictor makes some 40 such calls per image (docs/performance-log.md). A worker here spins
 * for up to SPIN_NS after its last item, so back-to-back layers find it awake.
 *
 * One job at a time (`submit`); a call made while a job runs - from inside a task, or from a
 * second thread - runs its items inline. The job fields are guarded by a sequence number:
 * odd while the caller rewrites them, even when published; a worker counts itself `busy`
 * before it re-reads the sequence, and the caller rewrites only when no worker is busy.
 */

#define MAX_WORKERS 63
#define SPIN_NS 2000000L /* 2 ms */

static struct {
    pthread_mutex_t submit;
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    pthread_once_t once;
    int workers;
    _Atomic unsigned long sequence;
    _Atomic int busy;
    _Atomic long next, done;
    long count;
    pk_task task;
    void *context;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_ONCE_INIT};

static _Thread_local int inside_task;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void run_items(void) {
    long count = pool.count;
    pk_task task = pool.task;
    void *context = pool.context;
    for (long i; (i = atomic_fetch_add(&pool.next, 1)) < count;) {
        task(context, i);
        atomic_fetch_add(&pool.done, 1);
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    inside_task = 1;
    unsigned long seen = 0;
    for (;;) {
        long idle_since = now_ns();
        unsigned long s;
        for (int spins = 0;; spins++) {
            s = atomic_load(&pool.sequence);
            if (s != seen && !(s & 1)) break;
            if (spins < 4096) cpu_relax();
            else sched_yield(); /* let a thread that shares this core run */
            if ((spins & 1023) == 1023 && now_ns() - idle_since > SPIN_NS) {
                pthread_mutex_lock(&pool.sleep_lock);
                while ((s = atomic_load(&pool.sequence)) == seen || (s & 1))
                    pthread_cond_wait(&pool.wake, &pool.sleep_lock);
                pthread_mutex_unlock(&pool.sleep_lock);
                break;
            }
        }
        atomic_fetch_add(&pool.busy, 1);
        if (atomic_load(&pool.sequence) == s) {
            run_items();
            seen = s;
        }
        atomic_fetch_sub(&pool.busy, 1);
    }
    return 0;
}

/* A forked child has none of the parent's threads: it runs every job inline. */
static void forget_workers(void) { pool.workers = 0; }

static void start_workers(void) {
    pthread_atfork(0, 0, forget_workers);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int wanted = cores > 1 ? (int)(cores - 1) : 0;
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    for (int i = 0; i < wanted; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker_main, 0) == 0) pool.workers++;
        pthread_attr_destroy(&attr);
    }
}

void pk_parallel_for(long count, pk_task task, void *context) {
    if (count <= 0) return;
    pthread_once(&pool.once, start_workers);
    if (count == 1 || pool.workers == 0 || inside_task || pthread_mutex_trylock(&pool.submit) != 0) {
        for (long i = 0; i < count; i++) task(context, i);
        return;
    }
    unsigned long s = atomic_load(&pool.sequence);
    atomic_store(&pool.sequence, s + 1); /* odd: being rewritten */
    while (atomic_load(&pool.busy) != 0) cpu_relax();
    pool.count = count;
    pool.task = task;
    pool.context = context;
    atomic_store(&pool.done, 0);
    atomic_store(&pool.next, 0);
    pthread_mutex_lock(&pool.sleep_lock);
    atomic_store(&pool.sequence, s + 2); /* even: published */
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.sleep_lock);
    inside_task = 1;
    run_items();
    inside_task = 0;
    /* A worker still busy may share this core with us (a busy host, another process): after a
     * short spin, yield it the core rather than burn the slice waiting. */
    for (int spins = 0; atomic_load(&pool.done) != count; spins++) {
        if (spins < 4096) cpu_relax();
        else sched_yield();
    }
    pthread_mutex_unlock(&pool.submit);
}

long pk_next_item(long *counter) { return atomic_fetch_add_explicit((_Atomic long *)counter, 1, memory_order_relaxed); }
