/* test_thread_churn.c - 100,000 short-lived threads must not grow memory.
 *
 * Threads are created in batches of 64; each allocates a few tiny and mid
 * blocks (now and then a large one), frees most of them, and leaves two in
 * a shared hand-off table where a later thread checks and frees them after
 * the allocating thread has exited.  Every exiting thread has to give its
 * caches and slabs back; leaking as little as a few hundred bytes per thread
 * would show here.  RSS and HAKMEM's mapped bytes are compared between a
 * point after a warm-up and the end.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "tap.h"
#include "testutil.h"

#define TOTAL_THREADS 100000
#define WARMUP_THREADS 2000
#define BATCH 64
#define HANDOFF_SLOTS 1024
#define BLOCKS_PER_THREAD 8
#define TIME_LIMIT 90.0

/* A block starts with its size and its bitwise complement. */
typedef struct hdr {
  size_t n, check;
} hdr_t;

static _Atomic(hdr_t *) handoff[HANDOFF_SLOTS];
static atomic_ulong n_bad, n_null;

static unsigned char tag(const void *p)
{
  return (unsigned char)(((uintptr_t)p >> 4) * 29 + 3);
}

static void check_and_free(hdr_t *h)
{
  if (!h)
    return;
  const unsigned char *body = (const unsigned char *)(h + 1);
  size_t len = h->n - sizeof *h;
  int good = h->check == ~h->n;
  for (size_t i = 0; good && i < len; i++)
    good = body[i] == tag(h);
  if (!good && atomic_fetch_add(&n_bad, 1) < 5)
    fprintf(stderr, "test_thread_churn: handed-off block %p changed\n", (void *)h);
  free(h);
}

static void *thread_main(void *arg)
{
  uint64_t idx = (uint64_t)(uintptr_t)arg;
  uint64_t rs = rng_seed(idx);
  hdr_t *b[BLOCKS_PER_THREAD];
  for (int i = 0; i < BLOCKS_PER_THREAD; i++) {
    uint64_t r = rng_next(&rs);
    size_t n;
    if (i < 5)
      n = sizeof(hdr_t) + r % 512;
    else if (i < 7)
      n = 1024 + r % (16 * 1024);
    else
      n = idx % 64 == 0 ? 64 * 1024 + r % (64 * 1024) : 100;
    b[i] = malloc(n);
    if (!b[i]) {
      atomic_fetch_add(&n_null, 1);
      continue;
    }
    b[i]->n = n;
    b[i]->check = ~n;
    memset(b[i] + 1, tag(b[i]), n - sizeof(hdr_t));
  }
  /* Two blocks go to the hand-off table; what was there is freed here. */
  for (int i = 0; i < 2; i++) {
    unsigned slot = (unsigned)(rng_next(&rs) % HANDOFF_SLOTS);
    check_and_free(atomic_exchange(&handoff[slot], b[i * 4]));
    b[i * 4] = NULL;
  }
  for (int i = 0; i < BLOCKS_PER_THREAD; i++)
    check_and_free(b[i]);
  return NULL;
}

/* Runs threads [from, to) in batches; returns the number that started. */
static long run_threads(long from, long to, double deadline)
{
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  long started = 0;
  pthread_t t[BATCH];
  for (long i = from; i < to && now_sec() < deadline; i += BATCH) {
    int n = 0;
    for (long k = i; k < to && n < BATCH; k++, n++)
      if (pthread_create(&t[n], &attr, thread_main, (void *)(uintptr_t)k) != 0) {
        diag("pthread_create failed at thread %ld", k);
        break;
      }
    for (int k = 0; k < n; k++)
      pthread_join(t[k], NULL);
    started += n;
    if (n < BATCH && i + n < to)
      break;
  }
  pthread_attr_destroy(&attr);
  return started;
}

int main(void)
{
  alarm(120); /* a hang inside the allocator fails the test: SIGALRM kills */
  plan(5);
  double t0 = now_sec(), deadline = t0 + TIME_LIMIT;
  long done = run_threads(0, WARMUP_THREADS, deadline);
  long rss0 = rss_kib();
  if (rss0 < 0)
    skip_all("cannot read VmRSS from /proc/self/status");
  hak_stats_t s0, s1;
  hak_stats_get(&s0);

  done += run_threads(WARMUP_THREADS, TOTAL_THREADS, deadline);
  long rss1 = rss_kib();
  hak_stats_get(&s1);
  double took = now_sec() - t0;
  diag("%ld threads in %.1f s; RSS %ld -> %ld KiB; HAKMEM mapped %llu -> %llu KiB", done, took,
       rss0, rss1, (unsigned long long)s0.mapped / 1024, (unsigned long long)s1.mapped / 1024);

  is_int(done, TOTAL_THREADS, "%d threads ran within %.0f s", TOTAL_THREADS, TIME_LIMIT);
  for (unsigned i = 0; i < HANDOFF_SLOTS; i++)
    check_and_free(atomic_exchange(&handoff[i], NULL));
  if (!ok(atomic_load(&n_bad) == 0 && atomic_load(&n_null) == 0,
          "every block handed to a later thread arrived intact"))
    diag("%lu changed blocks, %lu failed allocations", atomic_load(&n_bad), atomic_load(&n_null));
  long growth = rss1 - rss0;
  ok(growth <= 24 * 1024, "RSS growth over %d threads after warm-up: %ld KiB <= 24 MiB",
     TOTAL_THREADS - WARMUP_THREADS, growth);
  long long mgrowth = ((long long)s1.mapped - (long long)s0.mapped) / 1024;
  ok(mgrowth <= 64 * 1024, "HAKMEM mapped growth: %lld KiB <= 64 MiB", mgrowth);
  if (!ok(s1.threads >= (uint64_t)done, "hak_stats_get counted every thread"))
    diag("threads = %llu, expected at least %ld", (unsigned long long)s1.threads, done);
  return done_testing();
}
