/* internal.h - HAKMEM's types, constants and the contracts between modules.
 *
 * Map of the library (one job per file):
 *   api.c          entry points: malloc family, hak_* API, the fast paths
 *   front_cache.c  per-thread heaps: thread caches, refill/flush, thread exit
 *   slab.c         one slab: carving, local free list, remote free list
 *   shared_pool.c  the Shared Pool: SuperSlabs and slab states, acquire/release
 *   sizeclass.c    size classes of the tiny and mid tiers
 *   registry.c     "did HAKMEM allocate this address?" in O(1)
 *   large.c        the ACE (Adaptive Cache Engine): caches of freed Large/Huge blocks
 *   pack.c         Large blocks up to 512 KiB packed into shared 2 MiB units
 *   huge.c         Large and Huge blocks: allocation, mappings of their own, realloc
 *   os.c           mmap/munmap/madvise, page size, clock
 *   options.c      the HAKMEM_* table          stats.c   statistics
 *   report.c       write(2)-based messages     init.c    start-up, fork, exit
 */
#ifndef HAKMEM_INTERNAL_H
#define HAKMEM_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hakmem.h"
#include "options.h"
#include "report.h"

#define HAK_LIKELY(x) __builtin_expect(!!(x), 1)
#define HAK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HAK_INTERNAL __attribute__((visibility("hidden")))
#define HAK_API __attribute__((visibility("default")))

/* ------------------------------------------------------------------ */
/* Address space and the registry                                      */

/* User-space virtual addresses are below 2^HAK_VA_BITS. */
#if defined(__x86_64__)
#define HAK_VA_BITS 47
#else
#define HAK_VA_BITS 48
#endif

#define HAK_SS_SHIFT 21                      /* SuperSlab: 2 MiB, naturally aligned */
#define HAK_SS_SIZE ((uintptr_t)1 << HAK_SS_SHIFT)
#define HAK_SS_MASK (HAK_SS_SIZE - 1)
#define HAK_REG_UNITS ((size_t)1 << (HAK_VA_BITS - HAK_SS_SHIFT))

/* One byte per 2 MiB unit of address space: what HAKMEM keeps there.
 * For a SuperSlab the byte is the slab shift itself, so the free path gets
 * the slab index with one shift.  Units never belong to two owners: every
 * HAKMEM mapping covers whole 2 MiB units, and a SuperSlab unmapped but
 * for its header page leaves the registry until it is mapped back. */
enum {
  HAK_REG_NONE = 0,      /* not HAKMEM's */
  HAK_REG_HUGE_HEAD = 1, /* first unit of a Large/Huge mapping (header at its start) */
  HAK_REG_HUGE_CONT = 2, /* later unit of a Large/Huge mapping */
  HAK_REG_LARGE_PACK = 3, /* unit of packed Large blocks (pack.c) */
  HAK_REG_SS_SMALL = 16, /* SuperSlab of 64 KiB slabs (classes to 8 KiB) */
  HAK_REG_SS_MID = 18,   /* SuperSlab of 256 KiB slabs (classes above 8 KiB) */
};
extern HAK_INTERNAL uint8_t hak_registry[HAK_REG_UNITS];

static inline unsigned hak_reg_unit(uintptr_t unit) /* unit < HAK_REG_UNITS */
{
  return __atomic_load_n(&hak_registry[unit], __ATOMIC_RELAXED);
}
static inline unsigned hak_reg_lookup(const void *p)
{
  uintptr_t unit = (uintptr_t)p >> HAK_SS_SHIFT;
  if (HAK_UNLIKELY(unit >= HAK_REG_UNITS))
    return HAK_REG_NONE;
  return hak_reg_unit(unit);
}
/* Whether a unit of this kind holds Large or Huge blocks (huge.c). */
static inline bool hak_reg_is_big(unsigned reg)
{
  return reg >= HAK_REG_HUGE_HEAD && reg <= HAK_REG_LARGE_PACK;
}
void hak_reg_set(uintptr_t start, size_t len, uint8_t head, uint8_t rest);
/* "tiny", "mid", "large", "huge" or NULL: the tier of the HAKMEM memory that
 * holds p (async-signal-safe). */
const char *hak_addr_tier(const void *p);

/* ------------------------------------------------------------------ */
/* Size classes (tiny: to 1 KiB; mid: to 64 KiB)                        */

#define HAK_TINY_MAX 1024
#define HAK_MID_SHIFT 16
#define HAK_MID_MAX (1 << HAK_MID_SHIFT)
#define HAK_TINY_CLASSES 32
#define HAK_CLASSES 80
#define HAK_SMALL_SLAB_MAX 8192 /* classes up to this size live in 64 KiB slabs */

/* The byte offset of the cache of each tiny size's class in hak_tbins, by
 * size (the class times HAK_TBIN_BYTES). */
#define HAK_TBIN_BYTES 24 /* sizeof(struct hak_tbin) */
extern const uint16_t hak_tiny_bin_offset[HAK_TINY_MAX + 1];
extern const uint8_t hak_mid_class[(HAK_MID_MAX - HAK_TINY_MAX) / 128]; /* by (size - 1) / 128 - 8 */
extern const uint32_t hak_class_size[HAK_CLASSES];

/* The slab shift (HAK_REG_SS_SMALL or HAK_REG_SS_MID) of class cls. */
static inline unsigned hak_class_shift(unsigned cls)
{
  return hak_class_size[cls] <= HAK_SMALL_SLAB_MAX ? HAK_REG_SS_SMALL : HAK_REG_SS_MID;
}

static inline unsigned hak_mid_size_class(size_t size) /* HAK_TINY_MAX < size <= HAK_MID_MAX */
{
  return hak_mid_class[((size - 1) >> 7) - HAK_TINY_MAX / 128];
}
static inline unsigned hak_size_class(size_t size) /* size <= HAK_MID_MAX */
{
  if (size <= HAK_TINY_MAX)
    return hak_tiny_bin_offset[size] / HAK_TBIN_BYTES;
  return hak_mid_size_class(size);
}
/* The smallest class >= size whose block size is a multiple of align
 * (align a power of two <= 4096), or HAK_CLASSES if none. */
unsigned hak_size_class_aligned(size_t size, size_t align);

/* ------------------------------------------------------------------ */
/* Slabs and SuperSlabs                                                */

struct hak_heap;
struct hak_tbin;

enum hak_slab_state { HAK_SLAB_UNUSED = 0, HAK_SLAB_ACTIVE = 1, HAK_SLAB_EMPTY = 2 };

/* Remote list word: the head block's address in the low 48 bits and the
 * number of blocks on the list in the top 16 (a slab has fewer than 65536
 * blocks), so the owner takes the list over without walking it; or
 * HAK_REMOTE_FULL alone when the owner has parked the slab as full (see
 * slab.c for the protocol).  Block addresses are user-space addresses,
 * below 2^HAK_VA_BITS (at most 48 bits). */
#define HAK_REMOTE_FULL ((uintptr_t)1)
#define HAK_REMOTE_COUNT_SHIFT 48
_Static_assert(HAK_VA_BITS <= HAK_REMOTE_COUNT_SHIFT, "addresses fit below the count");
static inline void *hak_remote_head(uintptr_t r)
{
  return (void *)(r & ((((uintptr_t)1) << HAK_REMOTE_COUNT_SHIFT) - 1) & ~HAK_REMOTE_FULL);
}
static inline unsigned hak_remote_count(uintptr_t r)
{
  return (unsigned)(r >> HAK_REMOTE_COUNT_SHIFT);
}

/* A slab's descriptor: 64 bytes, at the head of its SuperSlab.
 *
 * Invariants:
 * - owner: the owning heap (tagged, see hak_owner_tag), or NULL (EMPTY or
 *   UNUSED: nobody's), HAK_OWNER_ABANDONED (its thread left with blocks
 *   out) or HAK_OWNER_QUEUED (on its class's ownerless stack).  Only the
 *   owner writes a heap or NULL; ABANDONED -> QUEUED is one CAS, so an
 *   abandoned slab is pushed once however many threads see it; the thread
 *   that pops a QUEUED slab makes it its own.
 * - bin: written only by the owner; the owner's cache for this class.  The
 *   free fast path reads owner and bin only.
 * - free, used, bump: owner only.  used counts blocks outside the
 *   slab (in a thread cache, held by the program, or on the remote list
 *   until drained), so used == 0 with no remote blocks means the slab is
 *   EMPTY, and bump - used is the length of the free list.
 * - remote: any thread (atomic).  Blocks freed by other threads.
 * - link: the Shared Pool stacks (EMPTY, ownerless) or the owner's lists,
 *   never both at once. */
struct hak_slab {
  struct hak_heap *_Atomic owner;
  struct hak_tbin *bin;
  _Atomic uintptr_t remote;
  void *free;
  struct hak_slab *_Atomic next; /* atomic: lock-free stacks read it racily */
  struct hak_slab *prev;
  uint16_t used, bump, cap;     /* blocks out, blocks carved, blocks in all */
  uint8_t cls, kind, index;     /* class; slab shift; number in its SuperSlab */
  _Atomic uint8_t state;        /* enum hak_slab_state */
  uint8_t list;                 /* owner's list: HAK_LIST_* */
  uint32_t empty_since;         /* ms clock when it became EMPTY */
};
enum { HAK_LIST_NONE = 0, HAK_LIST_PARTIAL = 1, HAK_LIST_FULL = 2 };
_Static_assert(sizeof(struct hak_slab) == 64, "slab descriptor is one cache line");

#define HAK_SS_MAX_SLABS 32
#define HAK_SS_HEADER 4096 /* first page: descriptors and header, never purged */

struct hak_superslab {
  struct hak_slab slabs[HAK_SS_MAX_SLABS]; /* first: slab i is at index i */
  uint64_t magic;
  uint8_t nslabs;
  _Atomic uint32_t unused_mask;    /* UNUSED slabs, claimable */
  uint8_t state;                   /* HAK_SS_*, under the growth lock */
  struct hak_superslab *next_all;  /* all SuperSlabs of the kind */
};
/* A SuperSlab whose slabs are all UNUSED may be unmapped but for its
 * header page (descriptors stay readable for the lock-free stacks); it is
 * mapped again in place when needed, or DEAD if its range was taken. */
enum { HAK_SS_MAPPED = 0, HAK_SS_UNMAPPED = 1, HAK_SS_DEAD = 2 };
#define HAK_SS_RESERVE 2 /* fully unused SuperSlabs kept mapped per kind */
#define HAK_SS_MAGIC 0x48414b4d53534c42ull /* "HAKMSSLB" */

static inline struct hak_superslab *hak_ss_of(const void *p)
{
  return (struct hak_superslab *)((uintptr_t)p & ~HAK_SS_MASK);
}
static inline struct hak_slab *hak_slab_of(const void *p, unsigned shift)
{
  uintptr_t a = (uintptr_t)p;
  return (struct hak_slab *)(a & ~HAK_SS_MASK) + ((a & HAK_SS_MASK) >> shift);
}
static inline char *hak_slab_base(const struct hak_slab *s)
{
  uintptr_t ss = (uintptr_t)s & ~HAK_SS_MASK;
  uintptr_t base = ss + ((uintptr_t)s->index << s->kind);
  return (char *)(s->index == 0 ? base + HAK_SS_HEADER : base);
}
static inline size_t hak_slab_bytes(const struct hak_slab *s)
{
  return ((size_t)1 << s->kind) - (s->index == 0 ? HAK_SS_HEADER : 0);
}

/* Blocks on the local free list (owner only): every carved block is
 * either there or counted in used (remotely freed ones until drained). */
static inline unsigned hak_slab_free_count(const struct hak_slab *s)
{
  return (unsigned)(s->bump - s->used);
}

/* slab.c */
void hak_slab_init(struct hak_slab *s, unsigned cls);
unsigned hak_slab_take(struct hak_slab *s, void **head, unsigned want);
unsigned hak_slab_carve(struct hak_slab *s, void **head, unsigned want);
unsigned hak_slab_drain(struct hak_slab *s);
void hak_slab_put(struct hak_slab *s, void *p);
void hak_slab_remote_free(struct hak_slab *s, void *p);
bool hak_slab_remote_push(struct hak_slab *s, void *p);
void hak_slab_unpark(struct hak_slab *s);
bool hak_slab_park_full(struct hak_slab *s);
void hak_slab_abandon(struct hak_slab *s);
bool hak_slab_block_valid(const struct hak_slab *s, const void *p);
const char *hak_slab_check_free(const struct hak_slab *s, const void *p);
bool hak_slab_is_free_block(const struct hak_slab *s, const void *p);
bool hak_slab_has_free(const struct hak_slab *s);

/* shared_pool.c */
struct hak_slab *hak_pool_acquire(struct hak_heap *h, unsigned cls);
void hak_pool_release(struct hak_heap *h, struct hak_slab *s);
void hak_pool_publish(struct hak_slab *s);
struct hak_slab *hak_pool_adopt(struct hak_heap *h, unsigned cls);
bool hak_pool_purge(bool force, bool *released);
void hak_pool_foreach_slab(void (*fn)(const struct hak_slab *, void *), void *arg);
void hak_pool_atfork_prepare(void);
void hak_pool_atfork_parent(void);
void hak_pool_atfork_child(void);

/* ------------------------------------------------------------------ */
/* Threads: caches and heaps                                           */

/* A thread cache holds at most HAK_TCACHE_BYTES of one class, but room for
 * HAK_TCACHE_MIN_BLOCKS blocks at least, never more than
 * HAK_TCACHE_MAX_BYTES (16 blocks of 64 KiB) and never more than
 * HAKMEM_TCACHE_MAX blocks.  With fewer than 32 blocks of 8 to 32 KiB a
 * program that frees and allocates such blocks at random overflows and
 * refills its caches so often that the slab traffic costs about 10% of
 * its time (bench_mid_large_mt). */
#define HAK_TCACHE_BYTES (256 * 1024)
#define HAK_TCACHE_MIN_BLOCKS 32
#define HAK_TCACHE_MAX_BYTES (1024 * 1024)
/* A refill carves at most this many bytes of never-used blocks (one block
 * at least): carving writes each block, making its page resident, so a
 * cache is filled from fresh memory only as fast as the program uses it.
 * With the whole batch carved at once, bench_mid_mt_gap peaked at 13.5
 * MiB instead of 11.4; 8 KiB rather than 16 took bench_random_mixed
 * (256 slots) from 2.2 to 2.1 MiB.  Instruction counts do not change. */
#define HAK_CARVE_BYTES (8 * 1024)

/* A thread cache of one class: a LIFO list of free blocks.  room is how
 * many more blocks it may take; frees counts frees pushed here (stats). */
struct hak_tbin {
  void *head;
  uint32_t room;
  uint32_t cap;
  uint64_t frees;
};
_Static_assert(sizeof(struct hak_tbin) == HAK_TBIN_BYTES, "hak_tiny_bin_offset's unit");

/* The head of cache b, popped (its double-free mark cleared), or NULL
 * when b is empty. */
static inline __attribute__((always_inline)) void *hak_cache_pop(struct hak_tbin *b)
{
  void **p = b->head;
  if (HAK_UNLIKELY(p == NULL))
    return NULL;
  b->head = p[0];
  p[1] = NULL;
  b->room++;
  return p;
}

/* Statistics a heap counts for one class (owner thread only). */
struct hak_class_counters {
  uint64_t refill_blocks, flush_blocks, direct_allocs, slow_frees;
  uint64_t refills, flushes, remote_frees, drains;
};

/* Statistics a heap counts outside the classes, with HAK_COUNT() (each
 * thread in its own heap).  Only uint64_t fields: the statistics sum them
 * as an array of HAK_CTR_WORDS words. */
struct hak_heap_counters {
  uint64_t pool_hit_empty, pool_hit_adopt, pool_hit_unused, pool_new_superslab, pool_releases;
  uint64_t locks;
  uint64_t large_allocs, large_frees, huge_allocs, huge_frees;
  uint64_t big_alloc_bytes, big_free_bytes; /* usable bytes of Large and Huge blocks */
  uint64_t hollowed, filled; /* mapped bytes known to hold no page, and back in use (hak_stats_add_hollow) */
  uint64_t ace_hits, ace_misses, ace_fail_threshold, ace_fail_exhaustion, ace_fail_mapfail,
      huge_cache_hits;
};
#define HAK_CTR_WORDS (sizeof(struct hak_heap_counters) / sizeof(uint64_t))
_Static_assert(sizeof(struct hak_heap_counters) % sizeof(uint64_t) == 0, "counters are words");

/* One per thread that has allocated. */
struct hak_heap {
  struct hak_tbin mid[HAK_CLASSES - HAK_TINY_CLASSES];
  struct hak_slab *partial[HAK_CLASSES]; /* owned slabs that may have free blocks */
  struct hak_slab *full[HAK_CLASSES];    /* owned slabs parked as full */
  _Atomic uint8_t remote_hint[HAK_CLASSES]; /* a parked slab got a remote free */
  struct hak_tbin *tiny;                 /* this thread's TLS bins */
  struct hak_class_counters cls[HAK_CLASSES];
  struct hak_heap_counters ctr;
  struct hak_heap *next_all;
  struct hak_heap *next_free;
  bool live;
  bool nocache;  /* no thread cache (HAKMEM_TCACHE_MAX=0 or HAKMEM_CHECK) */
};

/* Owner values that are no heap: addresses nothing is ever mapped at. */
#define HAK_OWNER_ABANDONED ((struct hak_heap *)(uintptr_t)2)
#define HAK_OWNER_QUEUED ((struct hak_heap *)(uintptr_t)4)
static inline bool hak_owner_is_heap(const struct hak_heap *o)
{
  return (uintptr_t)o > (uintptr_t)HAK_OWNER_QUEUED;
}

/* The owner value a heap writes into its slabs: the heap itself, or the
 * heap with bit 0 set when it has no thread cache, so the fast path (which
 * compares owner with hak_theap) never matches and every free is checked. */
static inline struct hak_heap *hak_owner_tag(struct hak_heap *h)
{
  return (struct hak_heap *)((uintptr_t)h | (uintptr_t)h->nocache);
}
static inline struct hak_heap *hak_owner_untag(struct hak_heap *o)
{
  return (struct hak_heap *)((uintptr_t)o & ~(uintptr_t)1);
}

extern __thread struct hak_tbin hak_tbins[HAK_TINY_CLASSES];
extern __thread struct hak_heap *hak_theap; /* &hak_no_heap until first use */

/* The cache of class cls in heap h: tiny caches in TLS, mid in the heap. */
static inline struct hak_tbin *hak_bin_of(const struct hak_heap *h, unsigned cls)
{
  return cls < HAK_TINY_CLASSES ? &h->tiny[cls] : (struct hak_tbin *)&h->mid[cls - HAK_TINY_CLASSES];
}
extern struct hak_heap hak_no_heap;
extern HAK_INTERNAL uintptr_t hak_free_key; /* marks freed blocks (word 1) to catch double frees */

/* front_cache.c */
struct hak_heap *hak_heap_get(void);
void *hak_cache_alloc_slow(unsigned cls);
void hak_cache_free_slow(void *p, struct hak_slab *s, const char *call);
void hak_cache_flush(struct hak_heap *h, struct hak_tbin *b, unsigned cls, unsigned keep);
void hak_cache_flush_all(struct hak_heap *h);
void hak_cache_overflow(struct hak_tbin *b, unsigned cls);
void hak_heap_thread_exit(void *arg);
void hak_heaps_foreach(void (*fn)(struct hak_heap *, void *), void *arg);
void hak_heaps_lock(void);
void hak_heaps_unlock(void);

/* ------------------------------------------------------------------ */
/* Large and Huge tiers (sizes above HAK_MID_MAX)                      */

/* A Large or Huge mapping: whole 2 MiB units, or a slot of a packed unit
 * (pack.c); this header at the start (its first page is never purged
 * while the block is live or cached), the block `offset` bytes in. */
struct hak_big {
  uint64_t magic;
  size_t span;            /* reserved bytes (a packed block: its slot) */
  size_t used;            /* bytes from the start in use (the rest is purged) */
  size_t offset;          /* block start - mapping start */
  struct hak_big *next;   /* ACE cache list */
  uint64_t cached_ms;     /* when it entered the cache */
  int16_t bin;            /* ACE bin, or -1 */
  uint8_t state;          /* HAK_BIG_LIVE or HAK_BIG_CACHED */
  bool purged;            /* cached and given back to the OS */
  bool packed;            /* in a slot of a packed unit */
};
enum { HAK_BIG_LIVE = 1, HAK_BIG_CACHED = 2 };
#define HAK_BIG_MAGIC 0x48414b4d42494721ull /* "HAKMBIG!" */
#define HAK_BIG_MIN_OFFSET 64

/* A Huge block: above the ACE's bins (Large blocks of the top bin are a
 * little over 2 MiB usable, and stay Large). */
static inline bool hak_big_is_huge(const struct hak_big *b)
{
  return b->bin < 0 && b->used - b->offset > HAK_SS_SIZE;
}

/* huge.c: the mappings */
/* The bytes of b's span (or slot) that may hold pages: its extent, or
 * only its header page once the ACE purged it. */
size_t hak_big_touched(const struct hak_big *b);
void hak_big_set_purged(struct hak_big *b, bool purged); /* counting the change */
enum {
  HAK_BIG_ZERO = 1, /* zero the block */
  HAK_BIG_GROW = 2, /* a mapping of its own, with room to grow (realloc) */
};
void *hak_big_alloc(size_t size, size_t align, unsigned flags);
void hak_big_free(void *p, unsigned reg, const char *call);
size_t hak_big_usable(const void *p, unsigned reg);
const char *hak_big_tier(const void *p, unsigned reg);
void *hak_big_realloc(void *p, unsigned reg, size_t size);
void hak_big_unmap(struct hak_big *b);
void hak_big_resize(struct hak_big *b, size_t used);

/* pack.c: Large blocks of the first HAK_PACK_BINS ACE bins (to 512 KiB)
 * share 2 MiB units. */
#define HAK_PACK_MAX (512 * 1024)
#define HAK_PACK_BINS 12
struct hak_big *hak_pack_take(int bin);      /* NULL when the OS refuses */
struct hak_big *hak_pack_hdr(const void *p); /* the slot p is in, or NULL */
void hak_pack_release(struct hak_big *b);    /* purges and frees the slot */
void hak_pack_atfork_prepare(void);
void hak_pack_atfork_parent(void);

/* large.c: the ACE (Adaptive Cache Engine) */
#define HAK_ACE_BINS 20 /* four per doubling above HAK_MID_MAX, to 2 MiB */
int hak_ace_bin(size_t size, size_t align);       /* -1: outside the ACE classes */
size_t hak_ace_bin_size(int bin);
/* A cached block of bin (hak_ace_bin(size, align)), packed or not; or a
 * Huge one for bin -1; NULL when none. */
struct hak_big *hak_ace_take(int bin, size_t size, size_t align, bool packed);
bool hak_ace_put(struct hak_big *b);
bool hak_ace_purge(bool force, bool *released);
void hak_ace_atfork_prepare(void);
void hak_ace_atfork_parent(void);

/* purge.c: the background purger.  hak_purge_want() notes that something
 * waits to be purged (callable anywhere); hak_purge_poll() starts the
 * purger if so, and is called only where the caller's state is consistent
 * and no lock is held: starting a thread allocates. */
void hak_purge_want(void);
void hak_purge_poll(void);
void hak_purge_atfork_child(void);
void hak_purge_at_exit(void);

/* ------------------------------------------------------------------ */
/* OS, locks, init, stats                                              */

void *hak_os_map(size_t size, size_t align, const char *name);
void *hak_os_map_at(void *p, size_t size);
void hak_os_unmap(void *p, size_t size);
uintptr_t hak_os_mark_move_target(void *p);
void hak_os_unmap_move_target(void *p, size_t size, uintptr_t mark);
void hak_os_purge(void *p, size_t size);
size_t hak_os_page_size(void);
uint64_t hak_now_ms(void);

/* A tiny spinlock for the few slow paths that need one; every acquisition
 * is counted in the statistics (in the thread's heap). */
typedef struct { _Atomic int v; } hak_lock_t;
void hak_lock(hak_lock_t *l);
static inline void hak_unlock(hak_lock_t *l) { atomic_store_explicit(&l->v, 0, memory_order_release); }

extern _Atomic int hak_initialized;
void hak_init_slow(void);
void hak_slow_tick(void);
static inline void hak_init(void)
{
  if (HAK_UNLIKELY(!atomic_load_explicit(&hak_initialized, memory_order_acquire)))
    hak_init_slow();
}

/* Global counters, updated on slow paths only: those of mappings, then
 * the bytes the ACE holds (every Large free and reuse changes it: a line
 * of its own), then the heap counters of threads without a heap. */
struct hak_global_stats {
  _Atomic uint64_t mapped, mapped_peak, purged, threads, superslabs;
  _Alignas(64) _Atomic uint64_t ace_cached_bytes;
  _Alignas(64) _Atomic uint64_t heapless[HAK_CTR_WORDS]; /* as struct hak_heap_counters */
};
extern struct hak_global_stats hak_gstats;

/* Adds n to counter `field' of the calling thread's heap, without an
 * atomic and on a line no other thread writes, so that threads allocating
 * Large blocks at once do not contend on a shared counter; a thread
 * without a heap adds to the same word of hak_gstats.heapless. */
#define HAK_COUNT(field, n)                                                                       \
  do {                                                                                            \
    struct hak_heap *hak_count_h = hak_theap;                                                     \
    if (HAK_LIKELY(hak_count_h != &hak_no_heap))                                                  \
      hak_count_h->ctr.field += (n);                                                              \
    else                                                                                          \
      atomic_fetch_add_explicit(                                                                  \
          &hak_gstats.heapless[offsetof(struct hak_heap_counters, field) / sizeof(uint64_t)],   \
          (n), memory_order_relaxed);                                                            \
  } while (0)
void hak_stats_add_mapped(int64_t delta);
/* Counts mapped bytes that became hollow (> 0: purged, or not to be
 * touched until they are handed out) or may hold pages again (< 0): the
 * resident figure is the mapped bytes less the hollow ones. */
void hak_stats_add_hollow(int64_t bytes);
void hak_stats_fold_heap(struct hak_heap *h);

#endif
