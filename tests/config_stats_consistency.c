/* config_stats_consistency - hak_stats_get() against a known workload, and
 * hak_stats_print().
 *
 * In one thread: N blocks of each of several tiny, mid, large and huge
 * sizes, M of them freed; the figures of each size's class (allocs - frees,
 * summed over threads) must move by exactly N - M.  Across threads: blocks
 * allocated by a worker and freed by the main thread while the worker
 * lives count as remote frees, and still balance after the worker exits.
 * Large blocks allocated by two workers that exit, and freed partly by
 * them and partly by a thread that never allocated (it has no heap and
 * counts globally): the Large counters and the live bytes balance.
 * Nothing else allocates between the readings: TAP output is printed
 * before the first reading and after the last.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"
#include "tap.h"
#include "testutil.h"

#define N 500
#define M 200

static const size_t sizes[] = {24, 100, 700, 3000, 20000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static hak_stats_t before, after;
static void *blocks[NSIZES][N];

static int64_t live_in(const hak_stats_t *st, unsigned cls)
{
  return (int64_t)(st->classes[cls].allocs - st->classes[cls].frees);
}

/* The class whose blocks have size bytes, or -1. */
static int class_of_size(const hak_stats_t *st, size_t size)
{
  for (unsigned i = 0; i < st->nclasses; i++)
    if (st->classes[i].block_size == size)
      return (int)i;
  return -1;
}

#define XN 300
#define XM 100
static void *cross[XN];

static pthread_barrier_t allocated, freed;

/* Allocates the blocks and stays alive (owning their slabs) until the main
 * thread has freed some of them. */
static void *worker(void *arg)
{
  (void)arg;
  for (int i = 0; i < XN; i++)
    cross[i] = hak_malloc(48);
  pthread_barrier_wait(&allocated);
  pthread_barrier_wait(&freed);
  return NULL;
}

#define LW 2   /* workers */
#define LN 8   /* Large blocks each */
#define LSIZE (100 << 10)
static void *lblocks[LW][LN];

/* Allocates its Large blocks, frees the first half, exits. */
static void *large_worker(void *arg)
{
  void **b = arg;
  for (int i = 0; i < LN; i++)
    b[i] = hak_malloc(LSIZE);
  for (int i = 0; i < LN / 2; i++)
    hak_free(b[i]);
  return NULL;
}

/* Frees the rest, having allocated nothing. */
static void *large_freer(void *arg)
{
  (void)arg;
  for (int w = 0; w < LW; w++)
    for (int i = LN / 2; i < LN; i++)
      hak_free(lblocks[w][i]);
  return NULL;
}

int main(void)
{
  plan(29);

  /* --- one thread ---------------------------------------------------- */
  void *large[10], *huge[3];
  hak_stats_get(&before);
  for (unsigned s = 0; s < NSIZES; s++)
    for (int i = 0; i < N; i++)
      blocks[s][i] = hak_malloc(sizes[s]);
  for (int i = 0; i < 10; i++)
    large[i] = hak_malloc(100 << 10);
  for (int i = 0; i < 3; i++)
    huge[i] = hak_malloc(4 << 20);
  for (unsigned s = 0; s < NSIZES; s++)
    for (int i = 0; i < M; i++)
      hak_free(blocks[s][i]);
  for (int i = 0; i < 4; i++)
    hak_free(large[i]);
  hak_free(huge[0]);
  hak_stats_get(&after);

  is_int(after.version, HAKMEM_VERSION, "version is HAKMEM_VERSION");
  ok(after.nclasses > 0 && after.nclasses <= HAK_STATS_MAX_CLASSES, "nclasses %u in 1..%d",
     after.nclasses, HAK_STATS_MAX_CLASSES);
  int increasing = 1;
  for (unsigned i = 1; i < after.nclasses; i++)
    increasing &= after.classes[i].block_size > after.classes[i - 1].block_size;
  ok(increasing && after.classes[0].block_size >= 16, "block sizes increase from 16 bytes up");

  for (unsigned s = 0; s < NSIZES; s++) {
    size_t usable = hak_malloc_usable_size(blocks[s][M]);
    int cls = class_of_size(&after, usable);
    if (!ok(cls >= 0, "%zu bytes: a class of %zu-byte blocks exists", sizes[s], usable)) {
      skip(1, "no class");
      continue;
    }
    is_int(live_in(&after, (unsigned)cls) - live_in(&before, (unsigned)cls), N - M,
           "%zu bytes: allocs - frees of class %d grew by N - M", sizes[s], cls);
  }
  is_int((int64_t)(after.large_allocs - after.large_frees) -
             (int64_t)(before.large_allocs - before.large_frees), 6,
         "large tier: allocs - frees grew by 10 - 4");
  is_int((int64_t)(after.huge_allocs - after.huge_frees) -
             (int64_t)(before.huge_allocs - before.huge_frees), 2,
         "huge tier: allocs - frees grew by 3 - 1");
  ok(after.mapped_peak >= after.mapped && after.mapped >= (uint64_t)2 * (4 << 20),
     "mapped (%llu) covers the live huge blocks and is at most the peak (%llu)",
     (unsigned long long)after.mapped, (unsigned long long)after.mapped_peak);
  ok(after.resident <= after.mapped, "resident (%llu) <= mapped",
     (unsigned long long)after.resident);

  /* --- across threads ------------------------------------------------ */
  pthread_t t;
  pthread_barrier_init(&allocated, NULL, 2);
  pthread_barrier_init(&freed, NULL, 2);
  hak_stats_get(&before);
  if (pthread_create(&t, NULL, worker, NULL) != 0)
    bail_out("pthread_create failed");
  pthread_barrier_wait(&allocated);
  for (int i = 0; i < XM; i++)
    hak_free(cross[i]);
  pthread_barrier_wait(&freed);
  pthread_join(t, NULL);
  hak_stats_get(&after);
  int cls = class_of_size(&after, hak_malloc_usable_size(cross[XM]));
  if (ok(cls >= 0, "48 bytes: class found")) {
    is_int(live_in(&after, (unsigned)cls) - live_in(&before, (unsigned)cls), XN - XM,
           "a worker's blocks, some freed by another thread, the worker gone: allocs - frees grew by %d",
           XN - XM);
    ok(after.classes[cls].remote_frees - before.classes[cls].remote_frees >= XM,
       "frees of a live thread's blocks by another thread count as remote frees (%llu)",
       (unsigned long long)(after.classes[cls].remote_frees - before.classes[cls].remote_frees));
  } else {
    skip(2, "no class");
  }
  ok(after.threads >= before.threads + 1, "the worker is counted among the threads");

  /* --- Large blocks across threads ----------------------------------- */
  hak_stats_get(&before);
  for (int w = 0; w < LW; w++)
    run_thread(large_worker, lblocks[w]);
  hak_stats_t mid;
  hak_stats_get(&mid);
  run_thread(large_freer, NULL);
  hak_stats_get(&after);
  ok(after.threads == mid.threads && after.large_frees - mid.large_frees == LW * (LN - LN / 2),
     "the freeing thread made no heap (threads %llu -> %llu) and its frees count (%llu)",
     (unsigned long long)mid.threads, (unsigned long long)after.threads,
     (unsigned long long)(after.large_frees - mid.large_frees));
  int ok_blocks = 1;
  for (int w = 0; w < LW; w++)
    for (int i = 0; i < LN; i++)
      ok_blocks &= lblocks[w][i] != NULL;
  ok(ok_blocks && after.large_allocs - before.large_allocs == LW * LN &&
         after.large_frees - before.large_frees == LW * LN,
     "Large blocks of exited workers, freed by them and by a thread without a heap: "
     "%llu allocs, %llu frees (%d each)",
     (unsigned long long)(after.large_allocs - before.large_allocs),
     (unsigned long long)(after.large_frees - before.large_frees), LW * LN);
  int64_t dlive = (int64_t)(after.live_bytes - before.live_bytes);
  ok(dlive > -(int64_t)LSIZE / 2 && dlive < (int64_t)LSIZE / 2,
     "live bytes back where they were (moved by %lld)", (long long)dlive);
  ok(after.lock_acquisitions - before.lock_acquisitions >= 2 * LW * LN,
     "every Large allocation and free took a lock (%llu acquisitions)",
     (unsigned long long)(after.lock_acquisitions - before.lock_acquisitions));

  /* --- hak_stats_print ----------------------------------------------- */
  char path[] = "/tmp/hakmem-stats-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    bail_out("mkstemp: %s", strerror(errno));
  unlink(path);
  is_int(hak_stats_print(fd), 0, "hak_stats_print(fd) returns 0");
  static char text[1 << 16];
  ssize_t len = pread(fd, text, sizeof text - 1, 0);
  close(fd);
  text[len > 0 ? len : 0] = '\0';
  char head[64];
  snprintf(head, sizeof head, "HAKMEM %s statistics\n", HAKMEM_VERSION_STRING);
  ok(strncmp(text, head, strlen(head)) == 0 && strstr(text, "\nShared Pool") &&
         strstr(text, "ACE failures: Threshold") && strstr(text, "ACE failures: Exhaustion") &&
         strstr(text, "ACE failures: MapFail") && strstr(text, "\nHuge tier\n") &&
         strstr(text, "\nLocks\n"),
     "the report has its header and every section");
  if (!ok(strstr(text, "\n  class    size") != NULL, "the report has the class table"))
    diag("report:\n%s", text);
  errno = 0;
  int rc = hak_stats_print(-1);
  ok(rc == -1 && errno == EBADF, "hak_stats_print(-1) fails with EBADF (rc %d, errno %d)", rc,
     errno);

  for (unsigned s = 0; s < NSIZES; s++)
    for (int i = M; i < N; i++)
      hak_free(blocks[s][i]);
  for (int i = 4; i < 10; i++)
    hak_free(large[i]);
  hak_free(huge[1]);
  hak_free(huge[2]);
  for (int i = XM; i < XN; i++)
    hak_free(cross[i]);
  return done_testing();
}
