/* purge.c - the background purger: gives memory back while the program
 * is idle.
 *
 * EMPTY slabs and cached Large/Huge mappings are purged only after
 * HAKMEM_PURGE_DELAY_MS, so a program that frees and allocates again does
 * not fault its pages back in.  A program that frees and then goes idle
 * makes no call that could purge, so a thread does it: started when there
 * is something to purge, it wakes twice per delay and ends as soon as
 * nothing waits.  It blocks all signals, so it never takes a signal meant
 * for the program.  With HAKMEM_PURGE_DELAY_MS=0, memory is given back at
 * once and no thread is ever started.
 */
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

static _Atomic int wanted;
static _Atomic int running;
static _Atomic int exiting;

static void sleep_ms(uint64_t ms)
{
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

static bool purge_pass(void)
{
  bool released = false;
  bool pending = hak_pool_purge(false, &released);
  pending |= hak_ace_purge(false, &released);
  hak_slow_tick();
  return pending;
}

static void *purger(void *arg)
{
  (void)arg;
  prctl(PR_SET_NAME, (unsigned long)"hakmem-purge", 0, 0, 0);
  uint64_t period = (uint64_t)hak_opt[HAK_OPT_PURGE_DELAY_MS] / 2;
  if (period < 10)
    period = 10;
  for (;;) {
    sleep_ms(period);
    if (purge_pass())
      continue;
    atomic_store(&running, 0);
    /* Work queued after the pass by a thread that saw `running` still set. */
    if (!purge_pass() || atomic_exchange(&running, 1))
      return NULL;
  }
}

void hak_purge_want(void)
{
  if (!atomic_load_explicit(&wanted, memory_order_relaxed))
    atomic_store_explicit(&wanted, 1, memory_order_relaxed);
}

void hak_purge_poll(void)
{
  if (!atomic_load_explicit(&wanted, memory_order_relaxed) ||
      atomic_load_explicit(&running, memory_order_relaxed) ||
      atomic_load_explicit(&exiting, memory_order_relaxed) ||
      atomic_exchange(&running, 1))
    return;
  atomic_store_explicit(&wanted, 0, memory_order_relaxed);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  if (pthread_create(&t, &attr, purger, NULL) != 0) { /* a later call tries again */
    atomic_store_explicit(&wanted, 1, memory_order_relaxed);
    atomic_store(&running, 0);
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void hak_purge_atfork_child(void) { atomic_store(&running, 0); }

void hak_purge_at_exit(void) { atomic_store(&exiting, 1); }
