/* tier_ace.c - the ACE (Adaptive Cache Engine) keeps Large spans warm,
 * then lets them go when the program stops asking (real library).
 *
 * - After a short warm-up, a loop of 10,000 malloc/free of 100 KiB is
 *   served from the ACE: hits, not misses, and no new address space.
 * - Mixed Large sizes (and a Huge one, with its own small cache) are
 *   served from their bins the same way.
 * - Once the loop stops, the cache empties by itself (the bin limit halves
 *   at each idle purge pass): ace_cached_bytes reaches 0 within a few
 *   purge periods (HAKMEM_PURGE_DELAY_MS is 250 by default; up to 5 s).
 *
 * With `--loop N` the program only runs the warm-up and N iterations and
 * prints nothing: tier_ace_strace.sh counts its mmap/munmap calls. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "hakmem.h"
#include "tap.h"
#include "testutil.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define WARMUP 100
#define ITER 10000

static void cycle(size_t size, long n)
{
  for (long i = 0; i < n; i++) {
    char *p = malloc(size);
    if (!p) {
      diag("malloc(%zu) failed", size);
      exit(1);
    }
    memset(p, (int)i, size);
    free(p);
  }
}

static void sleep_ms(long ms)
{
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static unsigned long long d(uint64_t a, uint64_t b) { return (unsigned long long)(a - b); }

/* Whether HAKMEM's background purger thread is alive.  Reads
 * /proc/self/task with getdents64 into a stack buffer: opendir would
 * allocate a Large block and keep the ACE busy while the test waits for it
 * to go idle. */
static int purger_alive(void)
{
  int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return -1;
  _Alignas(8) char buf[4096];
  int found = 0;
  long n;
  while (!found && (n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n && !found;) {
      struct dirent64 *e = (struct dirent64 *)(buf + off);
      off += e->d_reclen;
      if (e->d_name[0] == '.')
        continue;
      char path[300], comm[32] = "";
      snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      ssize_t len = read(fd, comm, sizeof comm - 1);
      close(fd);
      comm[len > 0 ? len : 0] = '\0';
      found = strncmp(comm, "hakmem-purge", 12) == 0;
    }
  }
  close(dir);
  return found;
}

/* Waits up to 5 s for the caches to empty and the purger to end. */
static void check_idle(const char *what)
{
  hak_stats_t s1, s2;
  hak_stats_get(&s1);
  ok(s1.ace_cached_bytes > 0, "%s: right after the loop the ACE holds %llu bytes", what,
     (unsigned long long)s1.ace_cached_bytes);
  double t0 = now_sec(), waited = 0;
  int alive = 1;
  do {
    sleep_ms(50);
    hak_stats_get(&s2);
    alive = purger_alive();
    waited = now_sec() - t0;
  } while ((s2.ace_cached_bytes != 0 || alive) && waited < 5.0);
  if (!ok(s2.ace_cached_bytes == 0, "%s: idle, the cache empties within 5 s (%.2f s)", what, waited))
    diag("  %llu bytes still cached", (unsigned long long)s2.ace_cached_bytes);
  ok(alive == 0, "%s: and the background purger thread has ended", what);
}

int main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "--loop") == 0) {
    cycle(100 * KiB, WARMUP);
    cycle(100 * KiB, atol(argv[2]));
    return 0;
  }
  alarm(60);
  plan(3 + 3 + 2 + 3);
  hak_stats_t s0, s1, s2;

  cycle(100 * KiB, WARMUP);
  hak_stats_get(&s0);
  cycle(100 * KiB, ITER);
  hak_stats_get(&s1);
  ok(s1.large_allocs - s0.large_allocs == ITER && s1.large_frees - s0.large_frees == ITER,
     "%d malloc/free of 100 KiB went to the Large tier", ITER);
  ok(s1.ace_hits - s0.ace_hits >= ITER - 10 && s1.ace_misses - s0.ace_misses <= 10,
     "after warm-up the ACE served them: %llu hits, %llu misses", d(s1.ace_hits, s0.ace_hits),
     d(s1.ace_misses, s0.ace_misses));
  ok(s1.mapped_peak == s0.mapped_peak, "no new address space was mapped (peak %llu, then %llu)",
     (unsigned long long)s0.mapped_peak, (unsigned long long)s1.mapped_peak);
  check_idle("100 KiB loop");

  /* Several bins at once, and the Huge tier's cache. */
  static const size_t mixed[] = {80 * KiB, 300 * KiB, 1 * MiB, 2 * MiB};
  for (int round = 0; round < 2 * WARMUP + 1000; round++) {
    if (round == 2 * WARMUP)
      hak_stats_get(&s1);
    char *p[4];
    for (int i = 0; i < 4; i++)
      p[i] = malloc(mixed[i]);
    for (int i = 0; i < 4; i++) {
      if (!p[i])
        bail_out("malloc(%zu) failed", mixed[i]);
      p[i][0] = p[i][mixed[i] - 1] = 1;
      free(p[i]);
    }
  }
  hak_stats_get(&s2);
  ok(d(s2.ace_hits, s1.ace_hits) >= 4000 - 40, "four Large sizes in turn: %llu hits, %llu misses in 4000",
     d(s2.ace_hits, s1.ace_hits), d(s2.ace_misses, s1.ace_misses));
  hak_stats_get(&s1);
  cycle(3 * MiB, 100);
  hak_stats_get(&s2);
  /* The cache starts closed and opens at the first miss. */
  ok(d(s2.huge_cache_hits, s1.huge_cache_hits) >= 98 &&
         d(s2.huge_cache_hits, s1.huge_cache_hits) == d(s2.ace_hits, s1.ace_hits) &&
         d(s2.ace_hits, s1.ace_hits) + d(s2.ace_misses, s1.ace_misses) == 100,
     "100 malloc/free of 3 MiB: %llu Huge cache hits, %llu ACE hits, %llu misses",
     d(s2.huge_cache_hits, s1.huge_cache_hits), d(s2.ace_hits, s1.ace_hits),
     d(s2.ace_misses, s1.ace_misses));
  check_idle("Large and Huge loops");
  return done_testing();
}
