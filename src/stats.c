/* stats.c - statistics: per-thread counters summed on demand.
 *
 * Threads count in their own heap without atomics (at refill and flush
 * granularity, plus one increment per free on the fast path; Large and
 * Huge blocks and lock acquisitions one by one, see HAK_COUNT); counters
 * of exited threads are folded into `dead` under the heaps lock.  A class's
 * allocations are derived: blocks that entered the thread cache (refills
 * and frees) minus blocks that left it other than to the program
 * (flushes) minus blocks still in it, plus direct allocations. */
#include "internal.h"

#include <string.h>

struct hak_global_stats hak_gstats;

struct class_totals {
  uint64_t allocs, frees, refills, flushes, remote_frees, drains, slabs;
};
static struct class_totals dead[HAK_CLASSES]; /* under the heaps lock */
static struct hak_heap_counters dead_ctr;

void hak_stats_add_mapped(int64_t delta)
{
  uint64_t now = atomic_fetch_add_explicit(&hak_gstats.mapped, (uint64_t)delta, memory_order_relaxed) +
                 (uint64_t)delta;
  uint64_t peak = atomic_load_explicit(&hak_gstats.mapped_peak, memory_order_relaxed);
  while (delta > 0 && now > peak &&
         !atomic_compare_exchange_weak_explicit(&hak_gstats.mapped_peak, &peak, now,
                                                memory_order_relaxed, memory_order_relaxed))
    ;
}

void hak_stats_add_hollow(int64_t bytes)
{
  if (bytes > 0)
    HAK_COUNT(hollowed, (uint64_t)bytes);
  else if (bytes < 0)
    HAK_COUNT(filled, (uint64_t)-bytes);
}

/* add_heap and count_slab read what running threads write with plain
 * stores: counters that only their owner updates, and a slab's class.
 * Each is an aligned word or byte, so a read sees an old or a new value,
 * and the figures are documented as a few operations apart.  Atomic
 * updates would cost the fast path, so ThreadSanitizer does not instrument
 * these two readers. */
#define RACY_READER __attribute__((no_sanitize("thread")))

RACY_READER static void add_heap(struct class_totals *t, struct hak_heap_counters *ctr, const struct hak_heap *h)
{
  for (unsigned c = 0; c < HAK_CLASSES; c++) {
    const struct hak_class_counters *k = &h->cls[c];
    const struct hak_tbin *b = hak_bin_of(h, c);
    uint64_t frees = __atomic_load_n(&b->frees, __ATOMIC_RELAXED);
    /* cap and room change together; one may be read before and the other
     * after a change, hence the clamps. */
    uint32_t cap = __atomic_load_n(&b->cap, __ATOMIC_RELAXED), room = __atomic_load_n(&b->room, __ATOMIC_RELAXED);
    uint64_t cached = room < cap ? cap - room : 0;
    uint64_t in = k->refill_blocks + frees + k->direct_allocs, out = k->flush_blocks + cached;
    t[c].allocs += in > out ? in - out : 0;
    t[c].frees += frees + k->slow_frees;
    t[c].refills += k->refills;
    t[c].flushes += k->flushes;
    t[c].remote_frees += k->remote_frees;
    t[c].drains += k->drains;
  }
  const uint64_t *from = (const uint64_t *)&h->ctr;
  uint64_t *to = (uint64_t *)ctr;
  for (size_t i = 0; i < HAK_CTR_WORDS; i++)
    to[i] += from[i];
}

void hak_stats_fold_heap(struct hak_heap *h)
{
  add_heap(dead, &dead_ctr, h);
}

struct sum_arg {
  struct class_totals *t;
  struct hak_heap_counters *ctr;
};

static void sum_heap(struct hak_heap *h, void *arg)
{
  struct sum_arg *a = arg;
  add_heap(a->t, a->ctr, h);
}

RACY_READER static void count_slab(const struct hak_slab *s, void *arg)
{
  struct class_totals *t = arg;
  if (atomic_load_explicit(&s->state, memory_order_relaxed) == HAK_SLAB_ACTIVE)
    t[s->cls].slabs++;
}

#define LOAD(x) atomic_load_explicit(&hak_gstats.x, memory_order_relaxed)

HAK_API int hak_stats_get(hak_stats_t *st)
{
  struct class_totals t[HAK_CLASSES];
  struct hak_heap_counters ctr;
  hak_init();
  hak_heaps_lock();
  memcpy(t, dead, sizeof t);
  ctr = dead_ctr;
  struct sum_arg arg = {t, &ctr};
  hak_heaps_foreach(sum_heap, &arg);
  hak_heaps_unlock();
  uint64_t *words = (uint64_t *)&ctr; /* plus the counts of threads without a heap */
  for (size_t i = 0; i < HAK_CTR_WORDS; i++)
    words[i] += atomic_load_explicit(&hak_gstats.heapless[i], memory_order_relaxed);
  hak_pool_foreach_slab(count_slab, t);

  memset(st, 0, sizeof *st);
  st->version = HAKMEM_VERSION;
  _Static_assert(HAK_CLASSES <= HAK_STATS_MAX_CLASSES, "hak_stats_t has an entry per class");
  st->nclasses = HAK_CLASSES;
  st->threads = LOAD(threads);
  st->mapped = LOAD(mapped);
  st->mapped_peak = LOAD(mapped_peak);
  /* Counted by different threads, filled bytes may be read before the
   * hollowing they undo. */
  uint64_t hollow = ctr.hollowed > ctr.filled ? ctr.hollowed - ctr.filled : 0;
  st->resident = st->mapped > hollow ? st->mapped - hollow : 0;
  st->purged = LOAD(purged);
  st->pool_hit_empty = ctr.pool_hit_empty;
  st->pool_hit_adopt = ctr.pool_hit_adopt;
  st->pool_hit_unused = ctr.pool_hit_unused;
  st->pool_new_superslab = ctr.pool_new_superslab;
  st->pool_releases = ctr.pool_releases;
  st->superslabs = LOAD(superslabs);
  st->lock_acquisitions = ctr.locks;
  st->large_allocs = ctr.large_allocs;
  st->large_frees = ctr.large_frees;
  st->ace_hits = ctr.ace_hits;
  st->ace_misses = ctr.ace_misses;
  st->ace_fail_threshold = ctr.ace_fail_threshold;
  st->ace_fail_exhaustion = ctr.ace_fail_exhaustion;
  st->ace_fail_mapfail = ctr.ace_fail_mapfail;
  st->ace_cached_bytes = LOAD(ace_cached_bytes);
  st->huge_allocs = ctr.huge_allocs;
  st->huge_frees = ctr.huge_frees;
  st->huge_cache_hits = ctr.huge_cache_hits;
  /* A block freed by one thread may be counted before its allocation by
   * another is. */
  uint64_t big_in = ctr.big_alloc_bytes, big_out = ctr.big_free_bytes;
  st->live_bytes = big_in > big_out ? big_in - big_out : 0;
  for (unsigned c = 0; c < HAK_CLASSES; c++) {
    hak_class_stats_t *o = &st->classes[c];
    o->block_size = hak_class_size[c];
    o->allocs = t[c].allocs;
    o->frees = t[c].frees;
    o->refills = t[c].refills;
    o->flushes = t[c].flushes;
    o->remote_frees = t[c].remote_frees;
    o->drains = t[c].drains;
    o->slabs = t[c].slabs;
    if (o->allocs > o->frees)
      st->live_bytes += (o->allocs - o->frees) * o->block_size;
  }
  return 0;
}
