/* init.c - start-up, fork and exit.
 *
 * The first call into HAKMEM initialises it: options from the environment
 * (read directly, no getenv, no malloc, no stdio, no dlsym), the
 * double-free key, the thread-exit key and the fork handlers.  It can run
 * under LD_PRELOAD before libc has finished its own start-up. */
#include "internal.h"
#include "crash.h"
#include "publish.h"

#include <pthread.h>
#include <sys/auxv.h>
#include <sched.h>
#include <unistd.h>

extern char **environ;
extern pthread_key_t hak_heap_key;

_Atomic int hak_initialized;
static _Atomic int init_started;
uintptr_t hak_free_key;

/* Fork: every lock, in one order, so the child gets consistent state. */
static void fork_prepare(void)
{
  hak_heaps_lock();
  hak_pool_atfork_prepare();
  hak_ace_atfork_prepare();
  hak_pack_atfork_prepare();
}

static void fork_parent(void)
{
  hak_pack_atfork_parent();
  hak_ace_atfork_parent();
  hak_pool_atfork_parent();
  hak_heaps_unlock();
}

/* The child has only the forking thread: the locks are released as in the
 * parent, and what other threads were doing (a purge pass, the purger
 * thread itself) is forgotten. */
static void fork_child(void)
{
  fork_parent();
  hak_pool_atfork_child();
  hak_purge_atfork_child();
}

static uintptr_t make_key(void)
{
  uintptr_t k = 0;
  const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
  if (r)
    for (unsigned i = 0; i < sizeof k; i++)
      k = k << 8 | r[8 + i % 8];
  k ^= (uintptr_t)&k ^ 0x9e3779b97f4a7c15ull;
  /* Odd, so it is never a block address or NULL. */
  return k | 1;
}

void hak_init_slow(void)
{
  if (atomic_exchange(&init_started, 1)) {
    while (!atomic_load_explicit(&hak_initialized, memory_order_acquire))
      sched_yield();
    return;
  }
  hak_options_init(environ);
  hak_free_key = make_key();
  pthread_key_create(&hak_heap_key, hak_heap_thread_exit);
  atomic_store_explicit(&hak_initialized, 1, memory_order_release);
  /* From here on HAKMEM can serve allocations; the calls below may make some. */
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  if (hak_opt[HAK_OPT_CRASH_REPORT])
    hak_crash_install();
  if (hak_opt[HAK_OPT_STATS_PUBLISH])
    hak_publish_start();
}

/* Slow paths call this: refreshes the published statistics when due. */
void hak_slow_tick(void)
{
  if (HAK_UNLIKELY(hak_opt[HAK_OPT_STATS_PUBLISH]))
    hak_publish_tick(hak_now_ms());
}

__attribute__((destructor)) static void hak_at_exit(void)
{
  if (!atomic_load_explicit(&hak_initialized, memory_order_acquire))
    return;
  hak_purge_at_exit();
  if (hak_opt[HAK_OPT_STATS])
    hak_stats_report_at_exit();
  if (hak_opt[HAK_OPT_STATS_PUBLISH])
    hak_publish_stop();
}
