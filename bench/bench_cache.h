/* bench_cache.h - allocator-induced false sharing (the two classic tests
 * of the Hoard paper, cache-thrash and cache-scratch), shared loop.
 *
 * THREADS threads each run ITERATIONS times: allocate OBJSIZE bytes, write
 * every byte of the block REPETITIONS times, free it.  If the allocator
 * hands blocks that share a cache line to different threads, the writes of
 * one core keep invalidating the line in the other core's cache and the
 * loop slows down by an order of magnitude.
 *
 * cache_thrash ("active" false sharing): each thread allocates its own
 * blocks, so sharing comes only from the allocator placing blocks of
 * different threads side by side.
 * cache_scratch ("passive" false sharing): the main thread first allocates
 * one block per thread, consecutively (so likely on one cache line), and
 * hands one to each thread, which frees it before its loop: an allocator
 * that gives the freed block back to the freeing thread then serves that
 * thread from a line it shares with the others.
 *
 * Thread t runs on the t-th CPU the process may use (bench_cpu), so the
 * threads really run side by side.
 *
 * One operation = one malloc, OBJSIZE*REPETITIONS byte writes, one free.
 */
#ifndef HAKMEM_BENCH_CACHE_H
#define HAKMEM_BENCH_CACHE_H

#include "bench.h"

typedef struct cache_worker {
  bench_thread_t th; /* first */
  int cpu;         /* bench_cpu(index): threads on different CPUs */
  void *inherited; /* cache_scratch: the main thread's block to free first */
  uint64_t iterations, repetitions;
  size_t objsize;
} cache_worker_t;

static void *cache_worker_run(void *arg) {
  cache_worker_t *w = arg;
  bench_pin_to(w->cpu);
  pthread_barrier_wait(w->th.start);
  w->th.span.start = bench_now();
  free(w->inherited);
  for (uint64_t i = 0; i < w->iterations; i++) {
    volatile unsigned char *p = bench_check_alloc(malloc(w->objsize), w->objsize);
    for (uint64_t r = 0; r < w->repetitions; r++)
      for (size_t k = 0; k < w->objsize; k++)
        p[k] = (unsigned char)(p[k] + 1);
    free((void *)p);
  }
  w->th.span.end = bench_now();
  return NULL;
}

static int cache_main(int argc, char **argv, const char *name, int scratch) {
  char usage[96];
  snprintf(usage, sizeof usage, "%s THREADS ITERATIONS OBJSIZE REPETITIONS", name);
  if (argc != 5)
    bench_usage_exit(usage);
  uint64_t nthreads = bench_arg_u64(argv[1], 1, 1024, "THREADS", usage);
  uint64_t iterations = bench_arg_u64(argv[2], 1, UINT64_MAX / 1024, "ITERATIONS", usage);
  uint64_t objsize = bench_arg_u64(argv[3], 1, 1u << 20, "OBJSIZE", usage);
  uint64_t repetitions = bench_arg_u64(argv[4], 1, 1u << 30, "REPETITIONS", usage);

  cache_worker_t *w = bench_check_alloc(calloc(nthreads, sizeof *w), nthreads * sizeof *w);
  for (uint64_t t = 0; t < nthreads; t++) {
    w[t] = (cache_worker_t){.cpu = bench_cpu(t), .iterations = iterations,
                            .repetitions = repetitions, .objsize = objsize};
    if (scratch)
      w[t].inherited = bench_check_alloc(malloc(objsize), objsize);
  }
  double seconds = bench_run_workers(w, sizeof *w, nthreads, cache_worker_run, name);
  free(w);

  char human[128];
  snprintf(human, sizeof human, "%llu threads, %llu-byte objects written %llu times",
           (unsigned long long)nthreads, (unsigned long long)objsize,
           (unsigned long long)repetitions);
  bench_report(name, nthreads * iterations, seconds, NULL, human);
  return 0;
}

#endif
