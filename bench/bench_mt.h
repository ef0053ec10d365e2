/* bench_mt.h - the multi-threaded random-replacement loop shared by
 * bench_mid_mt_gap and bench_mid_large_mt.
 *
 * THREADS threads each own WS slots and run CYCLES operations: pick a random
 * slot, free its block (if any), allocate MIN..MAX bytes there and touch
 * both ends.  Every free is local to the thread, so the figure measures the
 * per-thread paths of the size range and whatever the threads share inside
 * the allocator.  Threads start together behind a barrier; the time is the
 * span from the first thread's start to the last thread's end.
 */
#ifndef HAKMEM_BENCH_MT_H
#define HAKMEM_BENCH_MT_H

#include <pthread.h>

#include "bench.h"

typedef struct mt_worker {
  bench_thread_t th; /* first */
  uint64_t cycles, ws, seed;
  size_t min, max;
  const char *name;
} mt_worker_t;

static void *mt_worker_run(void *arg) {
  mt_worker_t *w = arg;
  void **slot = bench_check_alloc(calloc(w->ws, sizeof *slot), w->ws * sizeof *slot);
  uint32_t *size = bench_check_alloc(calloc(w->ws, sizeof *size), w->ws * sizeof *size);
  uint64_t range = w->max - w->min + 1;
  bench_rng_t rng;
  bench_rng_init(&rng, w->seed);

  pthread_barrier_wait(w->th.start);
  w->th.span.start = bench_now();
  for (uint64_t i = 0; i < w->cycles; i++) {
    uint64_t r = bench_rng_next(&rng);
    uint64_t s = r % w->ws;
    size_t n = w->min + (size_t)((r >> 32) % range);
    if (slot[s] != NULL) {
      bench_verify(slot[s], size[s], bench_tag(s, size[s]), w->name);
      free(slot[s]);
    }
    slot[s] = bench_check_alloc(malloc(n), n);
    size[s] = (uint32_t)n;
    bench_fill(slot[s], n, bench_tag(s, n));
  }
  w->th.span.end = bench_now();
  for (uint64_t s = 0; s < w->ws; s++)
    free(slot[s]);
  free(slot);
  free(size);
  return NULL;
}

/* The whole program: parses THREADS CYCLES WS SEED, runs, reports. */
static int mt_replace_main(int argc, char **argv, const char *name, const char *usage,
                           size_t min, size_t max) {
  if (argc != 5)
    bench_usage_exit(usage);
  uint64_t nthreads = bench_arg_u64(argv[1], 1, 1024, "THREADS", usage);
  uint64_t cycles = bench_arg_u64(argv[2], 1, UINT64_MAX / 1024, "CYCLES", usage);
  uint64_t ws = bench_arg_u64(argv[3], 1, 1u << 24, "WS", usage);
  uint64_t seed = bench_arg_u64(argv[4], 0, UINT64_MAX, "SEED", usage);

  mt_worker_t *w = bench_check_alloc(calloc(nthreads, sizeof *w), nthreads * sizeof *w);
  for (uint64_t t = 0; t < nthreads; t++)
    w[t] = (mt_worker_t){.cycles = cycles, .ws = ws, .seed = seed + t * 7919u,
                         .min = min, .max = max, .name = name};
  double seconds = bench_run_workers(w, sizeof *w, nthreads, mt_worker_run, name);
  free(w);

  char human[128];
  snprintf(human, sizeof human, "%llu threads x %llu slots, %zu..%zu B",
           (unsigned long long)nthreads, (unsigned long long)ws, min, max);
  bench_report(name, nthreads * cycles, seconds, NULL, human);
  return 0;
}

#endif
