/* unit.h - helpers shared by the unit tests of HAKMEM's modules.
 *
 * The unit tests link the library's sources built with HAKMEM_OVERRIDE=0
 * (tests/unit/libhakcore.la): they call hak_* and the modules directly
 * while stdio and the TAP harness stay on the C library's malloc. */
#ifndef HAKMEM_TESTS_UNIT_H
#define HAKMEM_TESTS_UNIT_H

#include <pthread.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"
#include "testutil.h"

/* A hang (a lost wake-up, a spinning lock) must end the test as a failure
 * rather than stall `make check`: SIGALRM's default action kills us. */
static inline void unit_watchdog(unsigned seconds)
{
  alarm(seconds);
}

/* Runs fn(arg) in a new thread whose heap's caches are limited to max
 * blocks per class (HAKMEM_TCACHE_MAX, which a thread reads when it sets
 * its heap up; 0: no cache, every call takes the slow path). */
static inline void run_thread_tcache(long max, void *(*fn)(void *), void *arg)
{
  long saved = hak_opt[HAK_OPT_TCACHE_MAX];
  hak_opt[HAK_OPT_TCACHE_MAX] = max;
  run_thread(fn, arg);
  hak_opt[HAK_OPT_TCACHE_MAX] = saved;
}

/* The slab descriptor of a SuperSlab block (NULL for other memory). */
static inline struct hak_slab *slab_of(const void *p)
{
  unsigned reg = hak_reg_lookup(p);
  return reg >= HAK_REG_SS_SMALL ? hak_slab_of(p, reg) : NULL;
}

/* The calling thread's cache of class cls (its heap must exist). */
static inline struct hak_tbin *tbin_of(unsigned cls)
{
  return hak_bin_of(hak_theap, cls);
}

/* Allocates n blocks of size into held[]; returns their slab, or NULL
 * when they are not all in one.  Reports nothing, so threads may call it. */
static inline struct hak_slab *alloc_in_one_slab(size_t size, unsigned n, void **held)
{
  for (unsigned i = 0; i < n; i++)
    held[i] = hak_malloc(size);
  struct hak_slab *s = slab_of(held[0]);
  for (unsigned i = 1; i < n; i++)
    if (slab_of(held[i]) != s)
      return NULL;
  return s;
}

/* Blocks on a list linked through word 0, counted up to max + 1. */
static inline unsigned list_len(void *const *b, unsigned max)
{
  unsigned n = 0;
  for (; b && n <= max; b = b[0])
    n++;
  return n;
}

/* Blocks held in a thread cache. */
static inline unsigned tbin_count(const struct hak_tbin *b)
{
  return b->cap - b->room;
}

static inline enum hak_slab_state slab_state(const struct hak_slab *s)
{
  return (enum hak_slab_state)atomic_load(&s->state);
}

static inline hak_stats_t stats_now(void)
{
  hak_stats_t st;
  hak_stats_get(&st);
  return st;
}

#endif
