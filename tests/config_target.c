/* config_target - a program on HAKMEM with a known workload, for
 * config_stats.sh.
 *
 *   config_target wait   run the workload; wait until the published snapshot
 *                        (HAKMEM_STATS_PUBLISH=1) holds figures taken after it;
 *                        print "ready PID CLASS ALLOCS FREES" (the figures of
 *                        the workload's size class in that snapshot); then
 *                        wait, without allocating, for SIGTERM and exit 0
 *   config_target exit   run the workload; print "done PID CLASS ALLOCS FREES"
 *                        from hak_stats_get(); exit 0
 *
 * The workload: 1000 blocks of 40 bytes, 400 of them freed.  Lines are
 * written with write(2) so that printing does not allocate.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"
#include "publish.h"

#define BLOCKS 1000
#define FREED 400
#define SIZE 40

#define CHURN 4096

static void *blocks[BLOCKS], *churn[CHURN];
static hak_stats_t stats;
static struct hak_publish_snapshot snap;

static void say(const char *what, unsigned cls, const hak_class_stats_t *c)
{
  char line[128];
  int n = snprintf(line, sizeof line, "%s %d %u %llu %llu\n", what, (int)getpid(), cls,
                   (unsigned long long)c->allocs, (unsigned long long)c->frees);
  if (write(1, line, (size_t)n) != n)
    exit(3);
}

static unsigned class_of(const hak_stats_t *st, size_t block_size)
{
  for (unsigned i = 0; i < st->nclasses; i++)
    if (st->classes[i].block_size == block_size)
      return i;
  fprintf(stderr, "config_target: no class of %zu bytes\n", block_size);
  exit(3);
}

static uint64_t realtime_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Polls this process's own snapshot until a refresh later than after_ms
 * is in it.  Each round goes through slow paths of the allocator (thread
 * cache refills and flushes of another class, a huge block, malloc_trim)
 * so that the library has a chance to refresh. */
static void await_refresh(uint64_t after_ms)
{
  char path[128];
  snprintf(path, sizeof path, HAK_PUBLISH_DIR "/" HAK_PUBLISH_PREFIX "%u-%d", (unsigned)getuid(),
           (int)getpid());
  for (int round = 0; round < 500; round++) {
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    for (int i = 0; i < CHURN; i++)
      churn[i] = malloc(200);
    for (int i = 0; i < CHURN; i++)
      free(churn[i]);
    free(malloc(8 << 20));
    malloc_trim(0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    const struct hak_publish_snapshot *m = mmap(NULL, sizeof snap, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
      continue;
    int got = hak_publish_copy_in(&snap, m, 1000);
    munmap((void *)m, sizeof snap);
    if (got == 0 && snap.h.refreshes && snap.h.refresh_ms > after_ms)
      return;
  }
  fprintf(stderr, "config_target: no refresh of %s in 10 s\n", path);
  exit(3);
}

static volatile sig_atomic_t terminate;

static void on_term(int sig)
{
  (void)sig;
  terminate = 1;
}

int main(int argc, char **argv)
{
  if (argc != 2 || (strcmp(argv[1], "wait") != 0 && strcmp(argv[1], "exit") != 0)) {
    fprintf(stderr, "usage: config_target wait|exit\n");
    return 2;
  }
  for (int i = 0; i < BLOCKS; i++)
    if (!(blocks[i] = malloc(SIZE)))
      return 3;
  for (int i = 0; i < FREED; i++)
    free(blocks[i]);
  size_t block_size = malloc_usable_size(blocks[FREED]);

  if (strcmp(argv[1], "exit") == 0) {
    hak_stats_get(&stats);
    unsigned cls = class_of(&stats, block_size);
    say("done", cls, &stats.classes[cls]);
    return 0;
  }

  /* SIGTERM is blocked except while waiting below, so that it cannot be
   * missed between the check and the wait. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction sa = {.sa_handler = on_term};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);

  hak_stats_get(&stats);
  unsigned cls = class_of(&stats, block_size);
  await_refresh(realtime_ms());
  say("ready", cls, &snap.stats.classes[cls]);
  alarm(60); /* never outlive a broken test */
  while (!terminate)
    sigsuspend(&old);
  return 0;
}
