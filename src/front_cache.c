/* front_cache.c - per-thread heaps: the thread caches of the tiny and mid
 * tiers, their refill and flush, and what a thread leaves behind at exit.
 *
 * Each thread owns a heap.  The tiny tier's caches (one LIFO list per
 * class) live in initial-exec TLS (hak_tbins, 768 bytes), so a tiny
 * malloc or free touches TLS and, for free, one slab descriptor; the mid
 * tier's caches live in the heap, one pointer away.  A thread starts with
 * empty caches: its first malloc falls into the refill path, which sets the
 * heap up.
 *
 * Refill takes up to half a cache's capacity at once from the heap's
 * slabs: freed blocks first, never-used blocks only when there are none,
 * a few KiB at a time (a further slab only while the cache is still
 * empty, so a cache never spreads over slabs it does not need); a cache
 * that overflows gives half back (flush), slab by slab, and a slab whose
 * last block comes back returns to the Shared Pool at once.
 * Capacity is adaptive: it starts small (see first_cap) and doubles at
 * every refill up to the limit, so classes a thread uses rarely hold
 * little memory.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

__thread struct hak_tbin hak_tbins[HAK_TINY_CLASSES];
struct hak_heap hak_no_heap;
__thread struct hak_heap *hak_theap = &hak_no_heap;

/* Set once the thread's heap went at its exit.  A heap set up after that
 * (a later thread-exit destructor allocates) may never be torn down: it
 * has no cache, and its tiny caches are exit_bins (empty, never written),
 * not the thread's TLS, which goes with the thread while the statistics
 * still read the heap. */
static __thread bool exited;
static struct hak_tbin exit_bins[HAK_TINY_CLASSES];

static hak_lock_t heaps_lock;
static struct hak_heap *heaps_all;   /* every heap ever made (under heaps_lock) */
static struct hak_heap *heaps_free;  /* heaps of exited threads, for reuse */
static char *meta_chunk;             /* carving area for new heaps */
static size_t meta_left;
pthread_key_t hak_heap_key;

static uint32_t cap_limit(unsigned cls)
{
  uint32_t lim = (uint32_t)hak_opt[HAK_OPT_TCACHE_MAX];
  uint32_t by_bytes = HAK_TCACHE_BYTES / hak_class_size[cls];
  if (by_bytes < HAK_TCACHE_MIN_BLOCKS)
    by_bytes = HAK_TCACHE_MIN_BLOCKS;
  if (by_bytes > HAK_TCACHE_MAX_BYTES / hak_class_size[cls])
    by_bytes = HAK_TCACHE_MAX_BYTES / hak_class_size[cls];
  return lim < by_bytes ? lim : by_bytes;
}

/* A cache starts with room for 8 KiB of blocks (2 at least, and an eighth
 * of its limit at most), so a class used a little holds a few pages, not
 * its whole limit. */
static uint32_t first_cap(unsigned cls)
{
  uint32_t cap = 8192 / hak_class_size[cls], max = (cap_limit(cls) + 7) / 8;
  if (cap < 2)
    cap = 2;
  return cap < max ? cap : max;
}

/* Empty caches for heap h of the calling thread (the tiny ones in its
 * TLS, unless the thread exited), sized to start. */
static void init_caches(struct hak_heap *h)
{
  h->nocache = hak_opt[HAK_OPT_TCACHE_MAX] == 0 || exited;
  h->tiny = exited ? exit_bins : hak_tbins;
  for (unsigned c = exited ? HAK_TINY_CLASSES : 0; c < HAK_CLASSES; c++) {
    struct hak_tbin *b = hak_bin_of(h, c);
    b->head = NULL;
    b->frees = 0;
    b->cap = h->nocache ? 0 : first_cap(c);
    b->room = b->cap;
  }
}

/* A heap for the calling thread, its caches ready, on the live list. */
static struct hak_heap *heap_new(void)
{
  struct hak_heap *h;
  hak_lock(&heaps_lock);
  if ((h = heaps_free)) {
    heaps_free = h->next_free;
    struct hak_heap *next_all = h->next_all;
    memset(h, 0, sizeof *h);
    h->next_all = next_all;
  } else {
    size_t sz = (sizeof *h + 63) & ~(size_t)63;
    if (meta_left < sz) {
      size_t chunk = 64 * sz;
      meta_chunk = hak_os_map(chunk, 0, "hakmem heaps");
      meta_left = meta_chunk ? chunk : 0;
    }
    if (meta_left >= sz) {
      h = (struct hak_heap *)meta_chunk;
      meta_chunk += sz;
      meta_left -= sz;
      h->next_all = heaps_all;
      heaps_all = h;
    }
  }
  if (h) {
    init_caches(h);
    h->live = true; /* the statistics read it from now on */
  }
  hak_unlock(&heaps_lock);
  return h;
}

struct hak_heap *hak_heap_get(void)
{
  struct hak_heap *h = hak_theap;
  if (HAK_LIKELY(h != &hak_no_heap))
    return h;
  hak_init();
  if (hak_theap != &hak_no_heap) /* an allocation during hak_init() set it up */
    return hak_theap;
  h = heap_new();
  if (!h)
    return NULL;
  hak_theap = h;
  pthread_setspecific(hak_heap_key, h);
  atomic_fetch_add_explicit(&hak_gstats.threads, 1, memory_order_relaxed);
  return h;
}

static void list_push(struct hak_slab **list, struct hak_slab *s, uint8_t which)
{
  s->prev = NULL;
  atomic_store_explicit(&s->next, *list, memory_order_relaxed);
  if (*list)
    (*list)->prev = s;
  *list = s;
  s->list = which;
}

static void list_unlink(struct hak_heap *h, struct hak_slab *s)
{
  struct hak_slab **list = s->list == HAK_LIST_FULL ? &h->full[s->cls] : &h->partial[s->cls];
  struct hak_slab *next = atomic_load_explicit(&s->next, memory_order_relaxed);
  if (s->prev)
    atomic_store_explicit(&s->prev->next, next, memory_order_relaxed);
  else
    *list = next;
  if (next)
    next->prev = s->prev;
  s->list = HAK_LIST_NONE;
}

/* Brings parked slabs that received remote frees back to the partial list. */
static void unpark_hinted(struct hak_heap *h, unsigned cls)
{
  /* A plain load first keeps the common case from writing a line other
   * threads write; one exchange then takes the hint, so a hint set while
   * the list is scanned stays set. */
  if (!atomic_load_explicit(&h->remote_hint[cls], memory_order_relaxed) ||
      !atomic_exchange_explicit(&h->remote_hint[cls], 0, memory_order_acq_rel))
    return;
  for (struct hak_slab *s = h->full[cls], *next; s; s = next) {
    next = atomic_load_explicit(&s->next, memory_order_relaxed);
    if (atomic_load_explicit(&s->remote, memory_order_acquire) != HAK_REMOTE_FULL) {
      list_unlink(h, s);
      list_push(&h->partial[cls], s, HAK_LIST_PARTIAL);
    }
  }
}

/* A slab for class cls with free blocks, linked first on the partial list. */
static struct hak_slab *next_slab(struct hak_heap *h, unsigned cls)
{
  unpark_hinted(h, cls);
  if (h->partial[cls])
    return h->partial[cls];
  struct hak_slab *s = hak_pool_adopt(h, cls);
  if (!s) {
    s = hak_pool_acquire(h, cls);
    if (!s)
      return NULL;
    atomic_store_explicit(&s->owner, hak_owner_tag(h), memory_order_release);
  }
  s->bin = hak_bin_of(h, cls);
  list_push(&h->partial[cls], s, HAK_LIST_PARTIAL);
  return s;
}

/* Prepends up to want blocks of class cls to *head; returns how many.
 * The heap's slabs serve first, the slab at the head of the partial list
 * first: its freed blocks, then its never-used blocks, carved only when
 * the refill has found no freed block (a producer whose blocks come back
 * from another thread reuses them rather than carving ahead of the
 * frees).  A further slab (adopted, recycled or new) is taken only for a
 * refill still empty. */
static unsigned refill(struct hak_heap *h, unsigned cls, void **head, unsigned want)
{
  unsigned got = 0;
  while (got < want && (got == 0 || h->partial[cls])) {
    struct hak_slab *s = next_slab(h, cls);
    if (!s)
      break;
    if (!s->free && atomic_load_explicit(&s->remote, memory_order_relaxed) > HAK_REMOTE_FULL &&
        hak_slab_drain(s))
      h->cls[cls].drains++;
    unsigned n = hak_slab_take(s, head, want - got);
    if (n == 0 && got == 0 && s->bump < s->cap)
      n = hak_slab_carve(s, head, want);
    got += n;
    if (!hak_slab_has_free(s) && hak_slab_park_full(s)) {
      list_unlink(h, s);
      list_push(&h->full[cls], s, HAK_LIST_FULL);
    } else if (n == 0 && got > 0) {
      break; /* s has only never-used blocks left */
    }
  }
  HAK_ASSERT(got <= want);
  return got;
}

/* Gives one block back to its slab (owner only). */
static void give_back(struct hak_heap *h, struct hak_slab *s, void *p)
{
  hak_slab_put(s, p);
  if (s->list == HAK_LIST_FULL) {
    uintptr_t full = HAK_REMOTE_FULL;
    atomic_compare_exchange_strong_explicit(&s->remote, &full, 0, memory_order_acq_rel,
                                            memory_order_relaxed);
    list_unlink(h, s);
    list_push(&h->partial[s->cls], s, HAK_LIST_PARTIAL);
  }
  if (s->used == 0 && atomic_load_explicit(&s->remote, memory_order_acquire) == 0) {
    list_unlink(h, s);
    hak_pool_release(h, s);
  }
}

void hak_cache_flush(struct hak_heap *h, struct hak_tbin *b, unsigned cls, unsigned keep)
{
  unsigned count = b->cap - b->room;
  if (count <= keep)
    return;
  unsigned n = count - keep;
  unsigned shift = hak_class_shift(cls);
  /* Detach the n blocks first: the cache stays consistent whatever
   * giving them back leads to. */
  void **chain = b->head, **last = chain;
  for (unsigned i = 1; i < n; i++)
    last = last[0];
  b->head = last[0];
  b->room += n;
  last[0] = NULL;
  for (void **p = chain, **next; p; p = next) {
    next = p[0];
    give_back(h, hak_slab_of(p, shift), p);
  }
  h->cls[cls].flushes++;
  h->cls[cls].flush_blocks += n;
}

/* The free fast path found the cache of class cls full. */
void hak_cache_overflow(struct hak_tbin *b, unsigned cls)
{
  hak_cache_flush(hak_theap, b, cls, b->cap / 2);
  hak_purge_poll();
}

/* Gives every cached block of h back to its slab. */
void hak_cache_flush_all(struct hak_heap *h)
{
  for (unsigned c = 0; c < HAK_CLASSES; c++)
    hak_cache_flush(h, hak_bin_of(h, c), c, 0);
}

void *hak_cache_alloc_slow(unsigned cls)
{
  struct hak_heap *h = hak_heap_get();
  if (HAK_UNLIKELY(!h)) {
    errno = ENOMEM;
    return NULL;
  }
  struct hak_tbin *b = hak_bin_of(h, cls);
  if (b->head)
    return hak_cache_pop(b);
  if (h->nocache) {
    void *p = NULL;
    if (!refill(h, cls, &p, 1)) {
      errno = ENOMEM;
      return NULL;
    }
    ((void **)p)[1] = NULL;
    h->cls[cls].direct_allocs++;
    return p;
  }
  uint32_t lim = cap_limit(cls);
  if (b->cap < lim) {
    uint32_t grow = b->cap < lim / 2 ? b->cap : lim - b->cap;
    b->cap += grow;
    b->room += grow;
  }
  unsigned want = b->cap / 2 ? b->cap / 2 : 1;
  unsigned got = refill(h, cls, &b->head, want);
  if (!got) {
    errno = ENOMEM;
    return NULL;
  }
  h->cls[cls].refills++;
  h->cls[cls].refill_blocks += got;
  b->room -= got;
  hak_slow_tick();
  return hak_cache_pop(b);
}

/* Frees that the fast path did not take: another thread's slab, a heap
 * without cache, or a block the checks refuse (the double-free mark, and in
 * the debug build its position). */
void hak_cache_free_slow(void *p, struct hak_slab *s, const char *call)
{
  HAK_ASSERT(hak_ss_of(p)->magic == HAK_SS_MAGIC);
  const char *bad = hak_slab_check_free(s, p);
  if (HAK_UNLIKELY(bad))
    hak_report_bad_free(call, p, bad);
  struct hak_heap *h = hak_heap_get();
  struct hak_heap *o = atomic_load_explicit(&s->owner, memory_order_acquire);
  unsigned cls = s->cls;
  if (h && hak_owner_untag(o) == h) {
    /* A heap with a cache writes its owner untagged, so the fast path took
     * every free of its own blocks that hak_slab_check_free() accepts. */
    HAK_ASSERT(h->nocache);
    if (hak_slab_is_free_block(s, p))
      hak_report_bad_free(call, p, "double free");
    h->cls[cls].slow_frees++;
    give_back(h, s, p);
    hak_purge_poll();
    return;
  }
  if (h) {
    h->cls[cls].slow_frees++;
    h->cls[cls].remote_frees++;
  }
  hak_slab_remote_free(s, p);
}

/* Thread exit (pthread key destructor): caches go back to their slabs,
 * EMPTY slabs to the pool, the others are left for adoption. */
void hak_heap_thread_exit(void *arg)
{
  struct hak_heap *h = arg;
  if (!h || h == &hak_no_heap)
    return;
  hak_cache_flush_all(h);
  for (unsigned c = 0; c < HAK_CLASSES; c++) {
    struct hak_slab **lists[2] = {&h->partial[c], &h->full[c]};
    for (int l = 0; l < 2; l++) {
      while (*lists[l]) {
        struct hak_slab *s = *lists[l];
        list_unlink(h, s);
        if (s->used == 0 && atomic_load_explicit(&s->remote, memory_order_acquire) == 0)
          hak_pool_release(h, s);
        else
          hak_slab_abandon(s);
      }
    }
  }
  hak_lock(&heaps_lock);
  hak_stats_fold_heap(h);
  h->live = false;
  h->next_free = heaps_free;
  heaps_free = h;
  hak_unlock(&heaps_lock);
  memset(hak_tbins, 0, sizeof hak_tbins);
  hak_theap = &hak_no_heap;
  exited = true;
  hak_purge_poll();
}

void hak_heaps_foreach(void (*fn)(struct hak_heap *, void *), void *arg)
{
  for (struct hak_heap *h = heaps_all; h; h = h->next_all)
    if (h->live)
      fn(h, arg);
}

void hak_heaps_lock(void) { hak_lock(&heaps_lock); }
void hak_heaps_unlock(void) { hak_unlock(&heaps_lock); }
