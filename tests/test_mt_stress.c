/* test_mt_stress.c - many threads allocating, handing blocks to each other
 * and freeing them there, with every byte of every block checked.
 *
 * Usage: test_mt_stress [THREADS[,THREADS...] [SECONDS]]
 * (default "4,16,64" and 1.5 seconds per thread count).
 *
 * Each thread keeps a few dozen blocks of its own and swaps blocks with a
 * shared exchange, so most blocks are freed (or reallocated) by a thread
 * that did not allocate them.  Sizes are mostly tiny (up to 1 KiB), some
 * mid (up to 64 KiB), a few large and rarely huge.  Every block is filled
 * with a pattern derived from its address and checked completely before it
 * is freed or reallocated, so overlapping blocks, a block handed out twice
 * or a realloc that loses data are all seen.  Threads run in rounds: all of
 * a round's threads exit (leaving blocks in the exchange for threads that
 * do not exist yet) and new ones replace them.  Meanwhile one more thread
 * reads HAKMEM's statistics again and again, as a monitoring thread would.
 *
 * Built with -DSTRESS_PREFIXED the program uses only the hak_* names, so it
 * can run under ThreadSanitizer with the sanitizer's own malloc in place.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "tap.h"
#include "testutil.h"

#ifdef STRESS_PREFIXED
#define T_MALLOC hak_malloc
#define T_FREE hak_free
#define T_REALLOC hak_realloc
#define T_USABLE hak_malloc_usable_size
#define API_NAME "hak_* API"
#else
#define T_MALLOC malloc
#define T_FREE free
#define T_REALLOC realloc
#define T_USABLE malloc_usable_size
#define API_NAME "standard API"
#endif

#define XCHG_SLOTS 1024
#define LOCAL_SLOTS 48
#define MAX_THREADS 1024

typedef struct blk {
  unsigned char *p;
  size_t n;
} blk_t;

/* The exchange: each slot under its own lock. */
static struct {
  pthread_mutex_t mu;
  blk_t b;
} xchg[XCHG_SLOTS];

static atomic_ulong n_ops, n_handoffs, n_errors, n_null;
static double round_deadline;
static atomic_int stats_stop;

/* The pattern of a block first allocated at `base`: one 64-bit word per
 * 8 bytes, from the address and the word's index (the last partial word
 * takes the low bytes of its value). */
static inline uint64_t pat_word(const unsigned char *base, size_t j)
{
  uint64_t a = (uint64_t)(uintptr_t)base * 0xff51afd7ed558ccdULL;
  return (a ^ (a >> 29)) + j * 0x9E3779B97F4A7C15ULL;
}

static void fill(unsigned char *p, size_t n)
{
  size_t j = 0;
  for (; (j + 1) * 8 <= n; j++) {
    uint64_t w = pat_word(p, j);
    memcpy(p + j * 8, &w, 8);
  }
  uint64_t w = pat_word(p, j);
  memcpy(p + j * 8, &w, n - j * 8);
}

/* Counts a failed allocation; the first few are described on stderr. */
static void report_null(const char *call, size_t n)
{
  int e = errno;
  if (atomic_fetch_add(&n_null, 1) < 5)
    fprintf(stderr, "test_mt_stress: %s of %zu bytes failed: %s\n", call, n, strerror(e));
}

static void report_error(const char *what, const void *p, size_t n, size_t at)
{
  if (atomic_fetch_add(&n_errors, 1) < 5)
    fprintf(stderr, "test_mt_stress: %s: block %p of %zu bytes, offset %zu\n", what, p, n, at);
}

/* Checks bytes [0, n) of p against the pattern of address `orig`. */
static void verify(const unsigned char *p, const unsigned char *orig, size_t n)
{
  size_t j = 0;
  for (; (j + 1) * 8 <= n; j++) {
    uint64_t v, w = pat_word(orig, j);
    memcpy(&v, p + j * 8, 8);
    if (v != w) {
      report_error("contents changed", p, n, j * 8);
      return;
    }
  }
  uint64_t w = pat_word(orig, j);
  if (memcmp(p + j * 8, &w, n - j * 8) != 0)
    report_error("contents changed", p, n, j * 8);
}

static size_t random_size(uint64_t *rs)
{
  uint64_t r = rng_next(rs);
  unsigned pick = (unsigned)(r % 10000);
  r >>= 16;
  if (pick < 9200)
    return 1 + r % 1024;
  if (pick < 9950)
    return 1025 + r % (64 * 1024 - 1024);
  if (pick < 9995)
    return 64 * 1024 + 1 + r % (1024 * 1024);
  return 2 * 1024 * 1024 + r % (2 * 1024 * 1024);
}

static blk_t new_block(uint64_t *rs)
{
  size_t n = random_size(rs);
  unsigned char *p = T_MALLOC(n);
  if (!p) {
    report_null("malloc", n);
    return (blk_t){NULL, 0};
  }
  if ((uintptr_t)p & 15)
    report_error("not 16-byte aligned", p, n, 0);
  if (T_USABLE(p) < n)
    report_error("usable size too small", p, n, T_USABLE(p));
  fill(p, n);
  return (blk_t){p, n};
}

static void drop(blk_t *b)
{
  if (!b->p)
    return;
  verify(b->p, b->p, b->n);
  T_FREE(b->p);
  b->p = NULL;
  b->n = 0;
}

static void swap_with_exchange(blk_t *b, unsigned slot)
{
  pthread_mutex_lock(&xchg[slot].mu);
  blk_t t = xchg[slot].b;
  xchg[slot].b = *b;
  pthread_mutex_unlock(&xchg[slot].mu);
  *b = t;
  if (t.p)
    atomic_fetch_add(&n_handoffs, 1);
}

static void *worker(void *arg)
{
  uint64_t rs = rng_seed((uint64_t)(uintptr_t)arg);
  blk_t mine[LOCAL_SLOTS];
  memset(mine, 0, sizeof mine);
  unsigned long ops = 0;
  for (;;) {
    if ((ops & 63) == 0 && now_sec() >= round_deadline)
      break;
    uint64_t r = rng_next(&rs);
    blk_t *b = &mine[r % LOCAL_SLOTS];
    unsigned op = (unsigned)((r >> 8) % 100);
    if (op < 45) {
      drop(b);
      *b = new_block(&rs);
    } else if (op < 75) {
      swap_with_exchange(b, (unsigned)((r >> 20) % XCHG_SLOTS));
    } else if (op < 88) {
      if (b->p) {
        size_t n = random_size(&rs);
        verify(b->p, b->p, b->n);
        unsigned char *q = T_REALLOC(b->p, n);
        if (!q) {
          report_null("realloc", n);
        } else {
          verify(q, b->p, b->n < n ? b->n : n);
          fill(q, n);
          b->p = q;
          b->n = n;
        }
      }
    } else {
      drop(b);
    }
    ops++;
  }
  /* Exit with half of the blocks freed here and half left in the exchange
   * for threads of a later round. */
  for (unsigned i = 0; i < LOCAL_SLOTS; i++) {
    if (i & 1)
      swap_with_exchange(&mine[i], (unsigned)(rng_next(&rs) % XCHG_SLOTS));
    drop(&mine[i]);
  }
  atomic_fetch_add(&n_ops, ops);
  return NULL;
}

/* Whether a figure read while threads run is plausible: a count that
 * went below zero and wrapped is not. */
static int sane(uint64_t v) { return v < (uint64_t)1 << 48; }

/* The monitoring thread: reads the statistics until told to stop;
 * returns how many reads it made.  The figures of threads running
 * meanwhile may be a few operations apart, so only the call's result, the
 * table's shape and the absence of wrapped counts are checked. */
static void *stats_reader(void *arg)
{
  (void)arg;
  static hak_stats_t st;
  unsigned long reads = 0;
  while (!atomic_load(&stats_stop)) {
    int good = hak_stats_get(&st) == 0 && st.nclasses > 0 && st.nclasses <= HAK_STATS_MAX_CLASSES &&
               sane(st.live_bytes) && sane(st.resident);
    for (unsigned c = 0; good && c < st.nclasses; c++)
      good = sane(st.classes[c].allocs) && sane(st.classes[c].frees);
    if (!good) {
      report_error("statistics", NULL, 0, 0);
      break;
    }
    reads++;
  }
  return (void *)(uintptr_t)reads;
}

static int run(int nthreads, double seconds)
{
  static pthread_t tid[MAX_THREADS];
  atomic_store(&n_ops, 0);
  atomic_store(&n_handoffs, 0);
  atomic_store(&n_errors, 0);
  atomic_store(&n_null, 0);
  double start = now_sec(), end = start + seconds;
  int rounds = 0, no_thread = 0;
  pthread_t reader;
  atomic_store(&stats_stop, 0);
  if (pthread_create(&reader, NULL, stats_reader, NULL) != 0)
    bail_out("pthread_create failed for the statistics reader");
  unsigned long seed = (unsigned long)nthreads * 1000003UL;
  /* At least four rounds, each a quarter of the time or less. */
  while (rounds < 4 || now_sec() < end) {
    round_deadline = now_sec() + seconds / 4;
    if (round_deadline > end)
      round_deadline = end;
    int started = 0;
    for (int i = 0; i < nthreads; i++) {
      if (pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)seed++) != 0) {
        diag("pthread_create failed after %d threads", i);
        break;
      }
      started++;
    }
    for (int i = 0; i < started; i++)
      pthread_join(tid[i], NULL);
    rounds++;
    if (started == 0) {
      no_thread = 1;
      break;
    }
  }
  void *reads;
  atomic_store(&stats_stop, 1);
  pthread_join(reader, &reads);
  unsigned long nreads = (unsigned long)(uintptr_t)reads;
  if (no_thread)
    return 0;
  /* The main thread frees whatever the last round left in the exchange. */
  unsigned long left = 0;
  for (unsigned i = 0; i < XCHG_SLOTS; i++) {
    if (xchg[i].b.p)
      left++;
    drop(&xchg[i].b);
  }
  double took = now_sec() - start;
  unsigned long ops = atomic_load(&n_ops), handoffs = atomic_load(&n_handoffs);
  unsigned long errors = atomic_load(&n_errors), nulls = atomic_load(&n_null);
  int good = errors == 0 && nulls == 0 && ops > 0 && handoffs > 0 && nreads > 0;
  ok(good, "%s, %d threads x %d rounds: %lu operations, %lu blocks handed between threads,"
     " %lu freed at the end, every block intact; statistics read %lu times meanwhile",
     API_NAME, nthreads, rounds, ops, handoffs, left, nreads);
  if (!good)
    diag("%lu corrupted blocks, %lu failed allocations", errors, nulls);
  diag("%.2f s, %.0f operations/s", took, (double)ops / took);
  return good;
}

int main(int argc, char **argv)
{
  const char *list = argc > 1 ? argv[1] : "4,16,64";
  double seconds = argc > 2 ? atof(argv[2]) : 1.5;
  alarm(300); /* a hang inside the allocator fails the test: SIGALRM kills */
  int counts[32], n = 0;
  for (const char *s = list; *s && n < 32;) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 1 || v > MAX_THREADS)
      bail_out("bad thread count list '%s' (numbers from 1 to %d, comma separated)", list,
               MAX_THREADS);
    counts[n++] = (int)v;
    s = *end == ',' ? end + 1 : end;
  }
  if (seconds <= 0)
    bail_out("bad duration '%s'", argv[2]);
  for (unsigned i = 0; i < XCHG_SLOTS; i++)
    pthread_mutex_init(&xchg[i].mu, NULL);
  plan(n);
  for (int i = 0; i < n; i++)
    run(counts[i], seconds);
  return done_testing();
}
