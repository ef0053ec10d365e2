/* test_fork.c - fork() while other threads are allocating.
 *
 * Four threads allocate, hand blocks to each other and free them in every
 * tier without pause.  The main thread forks repeatedly; each child frees
 * blocks the parent's threads allocated, allocates and frees in every tier,
 * starts threads of its own that do the same, now and then forks a
 * grandchild, and exits 0 when every block checked out.  A child stuck on
 * a lock that a parent thread held at fork time would hang: the parent
 * waits at most CHILD_TIMEOUT seconds, then kills it and reports a
 * deadlock.  The parent's threads must keep allocating after the forks.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

#define WORKERS 4
#define FORKS 60
#define CHILD_TIMEOUT 20.0
#define SHARED_SLOTS 256

/* Blocks shared between the workers; a block starts with its size. */
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t *shared_blk[SHARED_SLOTS];
static atomic_int stop_workers;
static atomic_ulong progress[WORKERS];
static atomic_ulong parent_bad; /* damaged blocks and failed mallocs of the parent's threads */

static size_t pick_size(uint64_t *rs)
{
  uint64_t r = rng_next(rs);
  unsigned k = (unsigned)(r % 1000);
  r >>= 10;
  if (k < 850)
    return 16 + r % 1009;
  if (k < 985)
    return 1025 + r % (63 * 1024);
  if (k < 999)
    return 64 * 1024 + 1 + r % (192 * 1024);
  return 3 * 1024 * 1024 + r % (1024 * 1024);
}

static unsigned char tag(const void *p)
{
  return (unsigned char)(((uintptr_t)p >> 4) * 57 + 1);
}

static size_t *make_block(uint64_t *rs)
{
  size_t n = pick_size(rs);
  size_t *b = malloc(n);
  if (!b)
    return NULL;
  b[0] = n;
  memset(b + 1, tag(b), n - sizeof(size_t));
  return b;
}

/* Returns 0 when the block is intact; frees it in any case. */
static int check_free(size_t *b)
{
  if (!b)
    return 0;
  size_t n = b[0];
  int bad = n < sizeof(size_t) || n > 8 * 1024 * 1024;
  if (!bad) {
    const unsigned char *p = (const unsigned char *)(b + 1);
    size_t len = n - sizeof(size_t), i = 0;
    uint64_t want = 0x0101010101010101ULL * tag(b);
    for (; !bad && i + 8 <= len; i += 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      bad = w != want;
    }
    for (; !bad && i < len; i++)
      bad = p[i] != tag(b);
  }
  free(b);
  return bad;
}

static void *worker(void *arg)
{
  int id = (int)(uintptr_t)arg;
  uint64_t rs = rng_seed((uint64_t)id + 77);
  size_t *mine[16] = {0};
  while (!atomic_load(&stop_workers)) {
    unsigned i = (unsigned)(rng_next(&rs) % 16);
    if (check_free(mine[i])) {
      atomic_fetch_add(&parent_bad, 1);
      fprintf(stderr, "test_fork: worker %d found a changed block\n", id);
    }
    mine[i] = make_block(&rs);
    if (!mine[i]) {
      atomic_fetch_add(&parent_bad, 1);
      fprintf(stderr, "test_fork: worker %d: malloc failed\n", id);
      continue;
    }
    if (rng_next(&rs) % 4 == 0) {
      unsigned s = (unsigned)(rng_next(&rs) % SHARED_SLOTS);
      pthread_mutex_lock(&shared_mu);
      size_t *t = shared_blk[s];
      shared_blk[s] = mine[i];
      pthread_mutex_unlock(&shared_mu);
      mine[i] = t;
    }
    atomic_fetch_add(&progress[id], 1);
  }
  for (int i = 0; i < 16; i++)
    atomic_fetch_add(&parent_bad, (unsigned long)check_free(mine[i]));
  return NULL;
}

/* Allocation work in a child: returns the number of damaged blocks. */
static void *child_thread(void *arg)
{
  uint64_t rs = rng_seed((uint64_t)(uintptr_t)arg);
  uintptr_t bad = 0;
  size_t *v[64] = {0};
  for (int round = 0; round < 1000; round++) {
    unsigned i = (unsigned)(rng_next(&rs) % 64);
    bad += (uintptr_t)check_free(v[i]);
    v[i] = make_block(&rs);
    if (!v[i])
      bad++;
  }
  for (int i = 0; i < 64; i++)
    bad += (uintptr_t)check_free(v[i]);
  return (void *)bad;
}

static int child_work(int depth, uint64_t seed)
{
  uintptr_t bad = 0;
  /* Free what the parent's threads left in the table, if the table's lock
   * was free at fork time (a held lock stays held in the child). */
  if (pthread_mutex_trylock(&shared_mu) == 0) {
    for (int s = 0; s < SHARED_SLOTS; s++) {
      bad += (uintptr_t)check_free(shared_blk[s]);
      shared_blk[s] = NULL;
    }
    pthread_mutex_unlock(&shared_mu);
  }
  bad += (uintptr_t)child_thread((void *)(uintptr_t)seed);
  pthread_t t[2];
  int nt = 0;
  for (int i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, child_thread, (void *)(uintptr_t)(seed + 1 + (uint64_t)i)) == 0)
      nt++;
    else
      bad++;
  for (int i = 0; i < nt; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (uintptr_t)r;
  }
  if (depth == 0 && (seed / 1000) % 4 == 0) {
    pid_t g = fork();
    if (g == 0)
      _exit(child_work(1, seed * 31) ? 2 : 0);
    int st;
    if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
      bad++;
  }
  return bad != 0;
}

/* Waits for pid at most `timeout` seconds.  Returns 1 with *status set, or
 * 0 after killing a child that did not finish. */
static int wait_child(pid_t pid, double timeout, int *status)
{
  double end = now_sec() + timeout;
  struct timespec ts = {0, 1000 * 1000};
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid)
      return 1;
    if (r < 0 && errno != EINTR)
      bail_out("waitpid: %s", strerror(errno));
    if (now_sec() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, status, 0);
      return 0;
    }
    nanosleep(&ts, NULL);
  }
}

static void on_alarm(int sig)
{
  (void)sig;
  static const char msg[] = "Bail out! the parent process hung (deadlock after fork?)\n";
  if (write(1, msg, sizeof msg - 1) < 0)
    _exit(1);
  _exit(1);
}

int main(void)
{
  plan(5);
  signal(SIGALRM, on_alarm);
  alarm(240);
  pthread_t w[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    if (pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)i) != 0)
      bail_out("pthread_create failed");

  int exited_ok = 0, hung = 0, failed = 0;
  struct timespec gap = {0, 3 * 1000 * 1000};
  for (int f = 0; f < FORKS; f++) {
    nanosleep(&gap, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
      bail_out("fork: %s", strerror(errno));
    if (pid == 0) {
      alarm(0);
      _exit(child_work(0, (uint64_t)f * 1000 + 1) ? 2 : 0);
    }
    int st = 0;
    if (!wait_child(pid, CHILD_TIMEOUT, &st)) {
      hung++;
      diag("fork %d: child %d did not finish within %.0f s (deadlock)", f, (int)pid,
           CHILD_TIMEOUT);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
      exited_ok++;
    } else {
      failed++;
      if (WIFSIGNALED(st))
        diag("fork %d: child killed by signal %d", f, WTERMSIG(st));
      else
        diag("fork %d: child exited with status %d (damaged block or failed allocation)", f,
             WEXITSTATUS(st));
    }
  }
  is_int(hung, 0, "no child of %d deadlocked after fork()", FORKS);
  is_int(failed, 0, "no child crashed or found a damaged block");
  is_int(exited_ok, FORKS, "every child allocated, freed and exited 0 (grandchildren too)");

  /* The parent's threads are still allocating after all those forks: each
   * must move within 5 s (a thread stuck on a lock never does; on a busy
   * machine one may wait a while for the CPU). */
  unsigned long before[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    before[i] = atomic_load(&progress[i]);
  struct timespec pause = {0, 50 * 1000 * 1000};
  int moving = 0;
  for (int waited = 0; waited < 100 && moving < WORKERS; waited++) {
    nanosleep(&pause, NULL);
    moving = 0;
    for (int i = 0; i < WORKERS; i++)
      moving += atomic_load(&progress[i]) > before[i];
  }
  atomic_store(&stop_workers, 1);
  for (int i = 0; i < WORKERS; i++)
    pthread_join(w[i], NULL);
  for (int s = 0; s < SHARED_SLOTS; s++)
    atomic_fetch_add(&parent_bad, (unsigned long)check_free(shared_blk[s]));
  is_int(moving, WORKERS, "all %d parent threads kept allocating after the forks", WORKERS);
  is_int((long)atomic_load(&parent_bad), 0, "and every malloc of theirs succeeded, every block intact");
  return done_testing();
}
