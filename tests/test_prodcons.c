/* test_prodcons.c - producers allocate, one consumer only frees.
 *
 * Eight producer threads allocate blocks and pass them through one
 * single-producer ring each to a consumer thread that checks and frees
 * them, so every free is a free by a thread that does not own the block.
 * This is the load that made mimalloc grow to 1.8 GiB (its issue 1364): if
 * remotely freed blocks are not reused, every producer keeps taking fresh
 * memory.  The live set is bounded by the rings; RSS is sampled every
 * couple of milliseconds and must stay within a bound computed from the
 * largest live set seen.  In the second phase the producers are replaced
 * every few thousand blocks, so blocks are also freed into slabs whose
 * owner has exited.  At the end, with everything freed and after
 * malloc_trim, RSS must come back near where it started.
 */
#include "config.h"

#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "testutil.h"

#define PRODUCERS 8
#define RING 4096                   /* blocks in flight per producer, at most */
#define PHASE1_BLOCKS 400000        /* per long-lived producer */
#define PHASE2_GENERATIONS 40       /* producers replaced this many times */
#define PHASE2_BLOCKS 10000         /* per short-lived producer */
#define TIME_LIMIT 20.0             /* seconds for both phases together */

typedef struct ring {
  _Alignas(64) atomic_size_t head; /* written by the producer */
  _Alignas(64) atomic_size_t tail; /* written by the consumer */
  struct item {
    unsigned char *p;
    size_t n;
  } slot[RING];
} ring_t;

static ring_t rings[PRODUCERS];
static atomic_int producers_running;
static atomic_int stop_all;
static atomic_ulong n_bad, n_null, n_freed;
static atomic_long live_bytes, peak_live_bytes;
static atomic_long peak_rss;
static double deadline;

static unsigned char tag(const unsigned char *p)
{
  return (unsigned char)((uintptr_t)p >> 4) ^ 0x5c;
}

static void note_live(long delta)
{
  long v = atomic_fetch_add(&live_bytes, delta) + delta;
  long peak = atomic_load(&peak_live_bytes);
  while (v > peak && !atomic_compare_exchange_weak(&peak_live_bytes, &peak, v))
    ;
}

typedef struct prod_arg {
  int lane;
  long blocks;
  uint64_t seed;
} prod_arg_t;

static void *producer(void *argp)
{
  prod_arg_t *arg = argp;
  ring_t *r = &rings[arg->lane];
  uint64_t rs = rng_seed(arg->seed);
  for (long i = 0; i < arg->blocks && !atomic_load(&stop_all); i++) {
    uint64_t x = rng_next(&rs);
    /* 95% tiny (16 B..1 KiB), 5% mid (1..8 KiB). */
    size_t n = x % 100 < 95 ? 16 + (x >> 8) % 1009 : 1024 + (x >> 8) % 7169;
    unsigned char *p = malloc(n);
    if (!p) {
      atomic_fetch_add(&n_null, 1);
      continue;
    }
    /* The first and last 16 bytes carry a tag of the address. */
    memset(p, tag(p), 16);
    memset(p + n - 16, tag(p), 16);
    note_live((long)n);
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    int full = 0;
    while (!full && h - atomic_load_explicit(&r->tail, memory_order_acquire) == RING) {
      full = atomic_load(&stop_all);
      sched_yield();
    }
    if (full) {
      free(p);
      note_live(-(long)n);
      break;
    }
    r->slot[h % RING] = (struct item){p, n};
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    if ((i & 1023) == 0 && now_sec() > deadline)
      atomic_store(&stop_all, 1);
  }
  atomic_fetch_sub(&producers_running, 1);
  return NULL;
}

static void *consumer(void *unused)
{
  (void)unused;
  for (;;) {
    int running = atomic_load(&producers_running);
    size_t got = 0;
    for (int l = 0; l < PRODUCERS; l++) {
      ring_t *r = &rings[l];
      size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
      size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
      for (; t != h; t++, got++) {
        struct item it = r->slot[t % RING];
        unsigned char c = tag(it.p);
        for (int k = 0; k < 16; k++)
          if (it.p[k] != c || it.p[it.n - 16 + k] != c) {
            if (atomic_fetch_add(&n_bad, 1) < 5)
              fprintf(stderr, "test_prodcons: block %p of %zu bytes changed\n",
                      (void *)it.p, it.n);
            break;
          }
        free(it.p);
        note_live(-(long)it.n);
      }
      atomic_store_explicit(&r->tail, t, memory_order_release);
    }
    atomic_fetch_add(&n_freed, got);
    /* Producers that finished have published everything before leaving. */
    if (got == 0 && running == 0)
      break;
    if (got == 0)
      sched_yield();
  }
  return NULL;
}

static void *sampler(void *unused)
{
  (void)unused;
  struct timespec ts = {0, 2 * 1000 * 1000};
  while (!atomic_load(&stop_all)) {
    long v = rss_kib();
    if (v > atomic_load(&peak_rss))
      atomic_store(&peak_rss, v);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
  if (pthread_create(t, NULL, fn, arg) != 0)
    bail_out("pthread_create failed");
}

int main(void)
{
  alarm(120); /* a hang inside the allocator fails the test: SIGALRM kills */
  plan(5);
  /* Touch the rings so their pages are part of the baseline. */
  memset(rings, 0, sizeof rings);
  void *warm = malloc(100);
  free(warm);
  long base = rss_kib();
  if (base < 0)
    skip_all("cannot read VmRSS from /proc/self/status");
  atomic_store(&peak_rss, base);
  deadline = now_sec() + TIME_LIMIT;
  double t0 = now_sec();

  pthread_t samp, cons, prod[PRODUCERS];
  prod_arg_t args[PRODUCERS];
  start(&samp, sampler, NULL);

  /* Phase 1: long-lived producers. */
  atomic_store(&producers_running, PRODUCERS);
  for (int l = 0; l < PRODUCERS; l++) {
    args[l] = (prod_arg_t){l, PHASE1_BLOCKS, (uint64_t)l + 1};
    start(&prod[l], producer, &args[l]);
  }
  start(&cons, consumer, NULL);
  for (int l = 0; l < PRODUCERS; l++)
    pthread_join(prod[l], NULL);
  pthread_join(cons, NULL);
  unsigned long phase1 = atomic_load(&n_freed);
  long peak1 = atomic_load(&peak_rss);

  /* Phase 2: producers replaced generation after generation while the
   * consumer keeps freeing what the previous ones made. */
  for (int g = 0; g < PHASE2_GENERATIONS && !atomic_load(&stop_all); g++) {
    atomic_store(&producers_running, PRODUCERS);
    for (int l = 0; l < PRODUCERS; l++) {
      args[l] = (prod_arg_t){l, PHASE2_BLOCKS, (uint64_t)(g + 2) * 100 + (uint64_t)l};
      start(&prod[l], producer, &args[l]);
    }
    start(&cons, consumer, NULL);
    for (int l = 0; l < PRODUCERS; l++)
      pthread_join(prod[l], NULL);
    pthread_join(cons, NULL);
  }
  int timed_out = atomic_load(&stop_all);
  atomic_store(&stop_all, 1);
  pthread_join(samp, NULL);
  double took = now_sec() - t0;

  unsigned long freed = atomic_load(&n_freed);
  long peak_live_kib = atomic_load(&peak_live_bytes) / 1024;
  long peak = atomic_load(&peak_rss);
  diag("%lu blocks in %.2f s (%lu in phase 1); largest live set %ld KiB; RSS %ld KiB at start,"
       " peak %ld KiB in phase 1, %ld KiB overall", freed, took, phase1, peak_live_kib, base,
       peak1, peak);

  ok(!timed_out, "all %d producer blocks made within %.0f s",
     PRODUCERS * (PHASE1_BLOCKS + PHASE2_GENERATIONS * PHASE2_BLOCKS), TIME_LIMIT);
  if (!ok(atomic_load(&n_bad) == 0 && atomic_load(&n_null) == 0 && atomic_load(&live_bytes) == 0,
          "every block arrived intact and was freed"))
    diag("%lu changed blocks, %lu failed allocations, %ld bytes still live",
         atomic_load(&n_bad), atomic_load(&n_null), atomic_load(&live_bytes));

  /* Allocator overhead allowed on top of the live set: size-class rounding
   * and partly used slabs (2x the live set), plus per-thread caches and
   * metadata (48 MiB).  Reusing nothing would need gigabytes. */
  long bound = 2 * peak_live_kib + 48 * 1024;
  if (!ok(peak1 - base <= bound, "phase 1 (long-lived producers): RSS growth %ld KiB <= %ld KiB",
          peak1 - base, bound))
    diag("RSS grew without bound: remotely freed blocks are not reused");
  ok(peak - base <= bound, "phase 2 (producers replaced %d times): RSS growth %ld KiB <= %ld KiB",
     PHASE2_GENERATIONS, peak - base, bound);

  /* Everything is freed: after the purge delay and a trim, RSS falls back. */
  struct timespec ts = {0, 600 * 1000 * 1000};
  nanosleep(&ts, NULL);
  malloc_trim(0);
  long after = rss_kib();
  long back = 16 * 1024;
  ok(after - base <= back, "all freed and trimmed: RSS %ld KiB, within %ld KiB of the start"
     " (peak was %ld KiB)", after, back, peak);
  return done_testing();
}
