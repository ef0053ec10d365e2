/* large.c - the ACE (Adaptive Cache Engine): warm caches of freed Large
 * and Huge blocks.
 *
 * Large blocks (64 KiB .. 2 MiB) are rounded up to one of 20 bins, four
 * per doubling, and every block of a bin (in a mapping of its own or in a
 * packed slot, pack.c) has the same size, so a cached one serves the next
 * request of its bin and kind as it is: no mmap or munmap.
 * Each bin's cache limit adapts: a cache opens at its first miss, a run
 * of misses doubles its limit, a purge pass (or a trim) with no hit since
 * the last one halves it and unmaps (or frees the slot of) what no longer
 * fits.  Cached blocks are purged (MADV_DONTNEED, header page kept) after
 * HAKMEM_PURGE_DELAY_MS; the whole cache is bounded by HAKMEM_CACHE_MB.
 * Huge mappings (above 2 MiB) have a small cache of their own (at most 8,
 * with the same adaptive limit), served best-fit.
 *
 * An allocation the ACE cannot serve is counted by cause, as users of
 * HAKMEM know them: Threshold (size or alignment outside the bins),
 * Exhaustion (the bin's cache is empty), MapFail (the OS refused; counted
 * in huge.c).
 */
#include "internal.h"

#define BIN_LIMIT_MAX 64
#define HUGE_CACHE_MAX 8

struct ace_bin {
  hak_lock_t lock;
  struct hak_big *head;   /* most recently cached first */
  uint32_t count, limit;
  uint32_t miss_run;      /* misses since the last hit */
  uint32_t hits_since_purge;
};

static struct ace_bin bins[HAK_ACE_BINS + 1]; /* the last one: Huge mappings */
#define HUGE_BIN HAK_ACE_BINS

static void trace_fail(const char *cause, size_t size)
{
  (void)cause;
  (void)size;
  HAK_TRACE(HAK_OPT_ACE_TRACE, "ACE failure %s: %zu bytes", cause, size);
}

int hak_ace_bin(size_t size, size_t align)
{
  if (size <= HAK_MID_MAX || size > HAK_SS_SIZE || align > HAK_BIG_MIN_OFFSET)
    return -1;
  unsigned b = 63u - (unsigned)__builtin_clzl(size - 1); /* 2^b < size <= 2^(b+1) */
  return (int)((b - HAK_MID_SHIFT) * 4 + (unsigned)((size - 1) >> (b - 2)) - 4);
}

size_t hak_ace_bin_size(int bin)
{
  unsigned b = HAK_MID_SHIFT + (unsigned)bin / 4u;
  return (size_t)((unsigned)bin % 4u + 5u) << (b - 2);
}

static uint64_t cache_cap(void) { return (uint64_t)hak_opt[HAK_OPT_CACHE_MB] << 20; }

/* Counts bytes as cached, unless that would exceed the cap (then the
 * count is left alone: a refused block never shows in it). */
static bool over_cap(size_t bytes)
{
  uint64_t cap = cache_cap();
  uint64_t now = atomic_load_explicit(&hak_gstats.ace_cached_bytes, memory_order_relaxed);
  do {
    if (now + bytes > cap)
      return true;
  } while (!atomic_compare_exchange_weak_explicit(&hak_gstats.ace_cached_bytes, &now, now + bytes,
                                                  memory_order_relaxed, memory_order_relaxed));
  return false;
}

static void uncount_cached(const struct hak_big *b)
{
  atomic_fetch_sub_explicit(&hak_gstats.ace_cached_bytes, b->used, memory_order_relaxed);
}

/* A closed cache opens at its first miss; after that, a run of two misses
 * doubles its limit (under the bin's lock). */
static void miss(struct ace_bin *c, uint32_t max)
{
  if (++c->miss_run < 2 && c->limit)
    return;
  c->limit = c->limit ? (c->limit * 2 < max ? c->limit * 2 : max) : 1;
  c->miss_run = 0;
}

static struct hak_big *take_huge(size_t size, size_t align)
{
  struct ace_bin *c = &bins[HUGE_BIN];
  size_t page = hak_os_page_size();
  size_t used = (HAK_BIG_MIN_OFFSET + size + page - 1) & ~(page - 1);
  if (align > HAK_BIG_MIN_OFFSET)
    return NULL;
  hak_lock(&c->lock);
  struct hak_big **best = NULL;
  for (struct hak_big **pp = &c->head; *pp; pp = &(*pp)->next) {
    size_t span = (*pp)->span;
    if (span >= used && span / 2 <= used && (!best || span < (*best)->span))
      best = pp;
  }
  struct hak_big *b = NULL;
  if (best) {
    b = *best;
    *best = b->next;
    c->count--;
    c->hits_since_purge++;
    c->miss_run = 0;
  } else {
    miss(c, HUGE_CACHE_MAX);
  }
  hak_unlock(&c->lock);
  if (b) {
    uncount_cached(b);
    hak_big_resize(b, used);
    HAK_COUNT(huge_cache_hits, 1);
    HAK_COUNT(ace_hits, 1);
  }
  return b;
}

struct hak_big *hak_ace_take(int bin, size_t size, size_t align, bool packed)
{
  if (bin < 0) {
    struct hak_big *b = size > HAK_SS_SIZE ? take_huge(size, align) : NULL;
    if (!b) {
      HAK_COUNT(ace_misses, 1);
      HAK_COUNT(ace_fail_threshold, 1);
      trace_fail("Threshold", size);
    }
    return b;
  }
  struct ace_bin *c = &bins[bin];
  hak_lock(&c->lock);
  /* The most recent of the kind asked for: a packed slot never serves a
   * block that must grow in place, nor a mapping of its own a block that
   * fits a slot. */
  struct hak_big **pp = &c->head;
  while (*pp && (*pp)->packed != packed)
    pp = &(*pp)->next;
  struct hak_big *b = *pp;
  if (b) {
    *pp = b->next;
    c->count--;
    c->miss_run = 0;
    c->hits_since_purge++;
  } else {
    miss(c, BIN_LIMIT_MAX);
  }
  hak_unlock(&c->lock);
  if (b) {
    uncount_cached(b);
    HAK_COUNT(ace_hits, 1);
  } else {
    HAK_COUNT(ace_misses, 1);
    HAK_COUNT(ace_fail_exhaustion, 1);
    trace_fail("Exhaustion", size);
  }
  return b;
}

bool hak_ace_put(struct hak_big *b)
{
  struct ace_bin *c;
  if (b->bin >= 0)
    c = &bins[b->bin];
  else if (hak_big_is_huge(b) && b->offset == HAK_BIG_MIN_OFFSET) /* not aligned */
    c = &bins[HUGE_BIN];
  else
    return false;
  if (hak_opt[HAK_OPT_PURGE_DELAY_MS] == 0)
    return false;
  bool cached = false;
  hak_lock(&c->lock);
  /* The bytes are counted before the block is linked, so the count covers
   * every cached block at all times and puts to different bins cannot
   * overshoot the cap together. */
  if (c->count < c->limit && !over_cap(b->used)) {
    b->state = HAK_BIG_CACHED;
    b->cached_ms = hak_now_ms();
    b->next = c->head;
    c->head = b;
    c->count++;
    cached = true;
  }
  hak_unlock(&c->lock);
  if (cached)
    hak_purge_want();
  return cached;
}

/* One purge pass over every bin: purges mappings cached longer than the
 * delay (all with force), shrinks the limits of idle bins and unmaps what
 * exceeds them.  Returns whether anything is still cached; *released says
 * whether memory was given back. */
bool hak_ace_purge(bool force, bool *released)
{
  uint64_t now = hak_now_ms();
  uint64_t delay = (uint64_t)hak_opt[HAK_OPT_PURGE_DELAY_MS];
  size_t page = hak_os_page_size();
  bool pending = false;
  for (unsigned i = 0; i <= HUGE_BIN; i++) {
    struct ace_bin *c = &bins[i];
    struct hak_big *drop = NULL;
    hak_lock(&c->lock);
    if (c->hits_since_purge == 0)
      c->limit /= 2;
    c->hits_since_purge = 0;
    uint32_t keep = force ? 0 : c->limit;
    uint32_t n = 0;
    for (struct hak_big **pp = &c->head; *pp;) {
      struct hak_big *b = *pp;
      if (++n > keep) {
        *pp = b->next;
        c->count--;
        b->next = drop;
        drop = b;
        continue;
      }
      if (!b->purged && now >= b->cached_ms + delay) { /* cached before now was read */
        hak_os_purge((char *)b + page, b->used - page);
        hak_big_set_purged(b, true);
        *released = true;
      }
      pp = &b->next;
    }
    pending |= c->head != NULL;
    hak_unlock(&c->lock);
    while (drop) {
      struct hak_big *b = drop;
      drop = b->next;
      uncount_cached(b);
      hak_big_unmap(b);
      *released = true;
    }
  }
  return pending;
}

void hak_ace_atfork_prepare(void)
{
  for (unsigned i = 0; i <= HUGE_BIN; i++)
    hak_lock(&bins[i].lock);
}

void hak_ace_atfork_parent(void)
{
  for (unsigned i = 0; i <= HUGE_BIN; i++)
    hak_unlock(&bins[i].lock);
}
