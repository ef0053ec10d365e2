/* larson SECONDS MIN MAX CHUNKS ROUNDS SEED THREADS
 *
 * The Larson & Krishnan server simulation.  Each of THREADS "lineages" owns
 * an array of CHUNKS blocks.  A thread of a lineage performs ROUNDS*CHUNKS
 * operations, each replacing a random slot of the array with a new block
 * of MIN..MAX bytes, then starts its successor and exits; the successor
 * inherits the array, so most blocks are freed by a thread other than the
 * one that allocated them, and threads (with their caches) come and go all
 * the time.  The main thread fills the arrays before the clock starts, runs
 * for SECONDS, then stops every lineage.  One operation = one free plus one
 * malloc.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

#define USAGE "larson SECONDS MIN MAX CHUNKS ROUNDS SEED THREADS"

typedef struct lineage {
  void **slot;
  uint32_t *size;
  uint64_t chunks;
  uint64_t per_thread; /* operations of one thread before it hands over */
  size_t min, max;
  bench_rng_t rng;
  uint64_t ops;         /* written only by the lineage's current thread */
  uint64_t generations; /* threads this lineage has run */
  /* The current thread, its state guarded by lock: the thread that sees
   * the stop flag sets done instead of starting a successor. */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_t tid;
  pthread_t pred; /* the thread to join before starting, 0 for none */
  int has_pred;
  int done;
} lineage_t;

static atomic_int stop_flag;

static void *lineage_thread(void *arg);

static void start_thread(lineage_t *l) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  /* Small stacks: the threads only run a loop, and many are created. */
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = pthread_create(&l->tid, &attr, lineage_thread, l);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    fprintf(stderr, "larson: pthread_create: %s\n", strerror(rc));
    exit(1);
  }
}

static void *lineage_thread(void *arg) {
  lineage_t *l = arg;
  pthread_mutex_lock(&l->lock);
  int has_pred = l->has_pred;
  pthread_t pred = l->pred;
  pthread_mutex_unlock(&l->lock);
  /* The predecessor must have finished its exit (and its allocator's
   * thread-exit work) before it is joined; joining here also bounds the
   * number of live threads to two per lineage. */
  if (has_pred)
    pthread_join(pred, NULL);

  uint64_t range = l->max - l->min + 1;
  uint64_t done_ops = 0;
  for (uint64_t i = 0; i < l->per_thread; i++) {
    uint64_t r = bench_rng_next(&l->rng);
    uint64_t s = r % l->chunks;
    size_t n = l->min + (size_t)((r >> 32) % range);
    bench_verify(l->slot[s], l->size[s], bench_tag(s, l->size[s]), "larson");
    free(l->slot[s]);
    l->slot[s] = bench_check_alloc(malloc(n), n);
    l->size[s] = (uint32_t)n;
    bench_fill(l->slot[s], n, bench_tag(s, n));
    done_ops++;
    if ((i & 63) == 63 && atomic_load_explicit(&stop_flag, memory_order_relaxed))
      break;
  }
  l->ops += done_ops;
  l->generations++;

  pthread_mutex_lock(&l->lock);
  if (atomic_load(&stop_flag)) {
    l->done = 1;
    pthread_cond_signal(&l->cond);
  } else {
    l->pred = pthread_self();
    l->has_pred = 1;
    start_thread(l);
  }
  pthread_mutex_unlock(&l->lock);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 8)
    bench_usage_exit(USAGE);
  double seconds = bench_arg_double(argv[1], 0.001, 3600, "SECONDS", USAGE);
  uint64_t min = bench_arg_u64(argv[2], 2, 1u << 30, "MIN", USAGE);
  uint64_t max = bench_arg_u64(argv[3], min, 1u << 30, "MAX", USAGE);
  uint64_t chunks = bench_arg_u64(argv[4], 1, 1u << 24, "CHUNKS", USAGE);
  uint64_t rounds = bench_arg_u64(argv[5], 1, 1u << 20, "ROUNDS", USAGE);
  uint64_t seed = bench_arg_u64(argv[6], 0, UINT64_MAX, "SEED", USAGE);
  uint64_t nthreads = bench_arg_u64(argv[7], 1, 1024, "THREADS", USAGE);

  lineage_t *lin = bench_check_alloc(calloc(nthreads, sizeof *lin), nthreads * sizeof *lin);
  for (uint64_t t = 0; t < nthreads; t++) {
    lineage_t *l = &lin[t];
    l->chunks = chunks;
    l->per_thread = rounds * chunks;
    l->min = min;
    l->max = max;
    bench_rng_init(&l->rng, seed + t * 1000003u);
    l->slot = bench_check_alloc(calloc(chunks, sizeof *l->slot), chunks * sizeof *l->slot);
    l->size = bench_check_alloc(calloc(chunks, sizeof *l->size), chunks * sizeof *l->size);
    for (uint64_t s = 0; s < chunks; s++) {
      size_t n = bench_rng_range(&l->rng, min, max);
      l->slot[s] = bench_check_alloc(malloc(n), n);
      l->size[s] = (uint32_t)n;
      bench_fill(l->slot[s], n, bench_tag(s, n));
    }
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
  }

  double t0 = bench_now();
  for (uint64_t t = 0; t < nthreads; t++) {
    pthread_mutex_lock(&lin[t].lock);
    start_thread(&lin[t]);
    pthread_mutex_unlock(&lin[t].lock);
  }
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  atomic_store(&stop_flag, 1);

  uint64_t ops = 0, generations = 0;
  for (uint64_t t = 0; t < nthreads; t++) {
    lineage_t *l = &lin[t];
    pthread_mutex_lock(&l->lock);
    while (!l->done)
      pthread_cond_wait(&l->cond, &l->lock);
    pthread_t last = l->tid;
    pthread_mutex_unlock(&l->lock);
    pthread_join(last, NULL);
    ops += l->ops;
    generations += l->generations;
  }
  double t1 = bench_now();

  for (uint64_t t = 0; t < nthreads; t++) {
    for (uint64_t s = 0; s < chunks; s++)
      free(lin[t].slot[s]);
    free(lin[t].slot);
    free(lin[t].size);
    pthread_mutex_destroy(&lin[t].lock);
    pthread_cond_destroy(&lin[t].cond);
  }
  free(lin);

  char kv[64], human[128];
  snprintf(kv, sizeof kv, "threads_created=%llu", (unsigned long long)generations);
  snprintf(human, sizeof human, "%llu threads, %llu..%llu B, %llu threads created",
           (unsigned long long)nthreads, (unsigned long long)min, (unsigned long long)max,
           (unsigned long long)generations);
  bench_report("larson", ops, t1 - t0, kv, human);
  return 0;
}
