/* api.c - the entry points: the malloc family and the hak_* API.
 *
 * The fast paths are here, small enough to read at once:
 * - malloc of a tiny size: size -> offset of its class's cache by a
 *   table, pop the thread cache's list (TLS).  Mid sizes pop the heap's
 *   cache the same way.
 * - free: the registry byte of the address's 2 MiB unit says whether it
 *   is a SuperSlab and its slab shift; the slab descriptor says whether
 *   this thread owns it and which cache to push onto.  Anything else (a
 *   remote free, a full cache, a double-free mark, a big block, a foreign
 *   pointer, NULL) takes a slow path.
 * Neither takes a lock or an atomic read-modify-write.
 */
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifndef HAKMEM_OVERRIDE
#define HAKMEM_OVERRIDE 1
#endif

#if HAKMEM_OVERRIDE
/* glibc's own allocator, for blocks HAKMEM did not allocate. */
extern void __libc_free(void *);
extern void *__libc_realloc(void *, size_t);
#define foreign_free __libc_free
#define foreign_realloc __libc_realloc
#else
#include <stdlib.h>
#define foreign_free free
#define foreign_realloc realloc
#endif

/* Full validation: always in the debug build; with HAKMEM_CHECK=1 in the
 * release build, where heaps then have no cache, so every free misses the
 * fast path and is validated in hak_cache_free_slow(). */
#ifdef HAKMEM_DEBUG
#define FULL_CHECKS 1
#define FAST_PATH_CHECKS 1
#else
#define FULL_CHECKS hak_opt[HAK_OPT_CHECK]
#define FAST_PATH_CHECKS 0
#endif

static inline void *alloc_mid(unsigned cls)
{
  void *p = hak_cache_pop(&hak_theap->mid[cls - HAK_TINY_CLASSES]);
  return HAK_LIKELY(p != NULL) ? p : hak_cache_alloc_slow(cls);
}

static inline void *alloc_class(unsigned cls)
{
  if (cls >= HAK_TINY_CLASSES)
    return alloc_mid(cls);
  void *p = hak_cache_pop(&hak_tbins[cls]);
  return HAK_LIKELY(p != NULL) ? p : hak_cache_alloc_slow(cls);
}

/* Out of line, so that the tiny fast path keeps nothing but size for it. */
static __attribute__((noinline)) void *alloc_tiny_slow(size_t size)
{
  return hak_cache_alloc_slow(hak_size_class(size));
}

static void *alloc_big(size_t size, size_t align, unsigned flags)
{
  if (HAK_UNLIKELY(size > PTRDIFF_MAX)) {
    errno = ENOMEM;
    return NULL;
  }
  hak_heap_get(); /* initialises; the heap keeps the thread's counts (HAK_COUNT) */
  return hak_big_alloc(size, align, flags);
}

static inline void *alloc(size_t size)
{
  if (HAK_LIKELY(size <= HAK_TINY_MAX)) {
    /* The table gives the cache's offset by size: no arithmetic but one
     * addition. */
    void *p = hak_cache_pop((struct hak_tbin *)((char *)hak_tbins + hak_tiny_bin_offset[size]));
    return HAK_LIKELY(p != NULL) ? p : alloc_tiny_slow(size);
  }
  if (size <= HAK_MID_MAX)
    return alloc_mid(hak_mid_size_class(size));
  return alloc_big(size, 0, 0);
}

static void free_foreign(void *p, unsigned reg, const char *call)
{
  if (hak_reg_is_big(reg)) {
    hak_big_free(p, reg, call);
    return;
  }
  if (!p)
    return;
  hak_init(); /* the options decide, even for a first call that is a free */
  if (FULL_CHECKS)
    hak_report_bad_free(call, p, "invalid pointer (not allocated by HAKMEM)");
  foreign_free(p);
}

/* Frees p, a block of slab s: a push onto this thread's cache when it
 * owns the slab, else the slow path. */
static inline __attribute__((always_inline)) void dealloc_slab(void *p, struct hak_slab *s,
                                                               const char *call)
{
  if (HAK_LIKELY(atomic_load_explicit(&s->owner, memory_order_relaxed) == hak_theap)) {
    uintptr_t *w = p, key = hak_free_key;
    if (HAK_LIKELY(w[1] != key) && !(FAST_PATH_CHECKS && !hak_slab_block_valid(s, p))) {
      struct hak_tbin *b = s->bin;
      w[0] = (uintptr_t)b->head;
      b->head = p;
      w[1] = key;
      b->frees++;
      if (HAK_UNLIKELY(--b->room == 0))
        hak_cache_overflow(b, s->cls);
      return;
    }
  }
  hak_cache_free_slow(p, s, call);
}

static __attribute__((noinline)) void dealloc_other(void *p, unsigned reg, const char *call)
{
  if (reg == HAK_REG_SS_MID)
    dealloc_slab(p, hak_slab_of(p, HAK_REG_SS_MID), call);
  else
    free_foreign(p, reg, call);
}

/* The slab shift is a constant for the common SuperSlab kind (64 KiB
 * slabs), which saves the variable shift on the fast path.  The SuperSlab
 * is the registry's unit number shifted back; the empty asm keeps gcc from
 * turning that shift into a mask of p, one instruction more. */
static inline void dealloc(void *p, const char *call)
{
  uintptr_t a = (uintptr_t)p, unit = a >> HAK_SS_SHIFT;
  unsigned reg = HAK_UNLIKELY(unit >= HAK_REG_UNITS) ? HAK_REG_NONE : hak_reg_unit(unit);
  if (HAK_LIKELY(reg == HAK_REG_SS_SMALL)) {
    __asm__("" : "+r"(unit));
    struct hak_slab *ss = (struct hak_slab *)(unit << HAK_SS_SHIFT);
    dealloc_slab(p, ss + ((a & HAK_SS_MASK) >> HAK_REG_SS_SMALL), call);
  } else
    dealloc_other(p, reg, call);
}

static size_t usable_size(const void *p, const char *call)
{
  unsigned reg = hak_reg_lookup(p);
  if (reg >= HAK_REG_SS_SMALL) {
    struct hak_slab *s = hak_slab_of(p, reg);
    if (FULL_CHECKS && !hak_slab_block_valid(s, p))
      hak_report_bad_free(call, p, "invalid pointer (not the start of a HAKMEM block)");
    return hak_class_size[s->cls];
  }
  if (hak_reg_is_big(reg))
    return hak_big_usable(p, reg);
  return 0;
}

static bool is_pow2(size_t x) { return x && !(x & (x - 1)); }

static void *alloc_aligned(size_t align, size_t size)
{
  if (align <= 16)
    return alloc(size);
  if (HAK_UNLIKELY(size > PTRDIFF_MAX)) {
    errno = ENOMEM;
    return NULL;
  }
  if (align <= 4096 && size <= HAK_MID_MAX) {
    unsigned cls = hak_size_class_aligned(size, align);
    if (cls < HAK_CLASSES)
      return alloc_class(cls);
  }
  return alloc_big(size, align, 0);
}

/* ------------------------------------------------------------------ */

HAK_API void *hak_malloc(size_t size) { return alloc(size); }

HAK_API void hak_free(void *p) { dealloc(p, "free"); }

HAK_API void *hak_calloc(size_t n, size_t size)
{
  size_t total;
  if (HAK_UNLIKELY(__builtin_mul_overflow(n, size, &total) || total > PTRDIFF_MAX)) {
    errno = ENOMEM;
    return NULL;
  }
  if (total > HAK_MID_MAX)
    return alloc_big(total, 0, HAK_BIG_ZERO);
  void *p = alloc(total);
  if (HAK_LIKELY(p))
    memset(p, 0, total);
  return p;
}

HAK_API void *hak_realloc(void *p, size_t size)
{
  if (!p)
    return alloc(size);
  if (size == 0) {
    dealloc(p, "realloc");
    return NULL;
  }
  if (HAK_UNLIKELY(size > PTRDIFF_MAX)) {
    errno = ENOMEM;
    return NULL;
  }
  unsigned reg = hak_reg_lookup(p);
  if (hak_reg_is_big(reg))
    return hak_big_realloc(p, reg, size);
  if (reg < HAK_REG_SS_SMALL) {
    if (FULL_CHECKS)
      hak_report_bad_free("realloc", p, "invalid pointer (not allocated by HAKMEM)");
    return foreign_realloc(p, size);
  }
  struct hak_slab *s = hak_slab_of(p, reg);
  const char *bad = hak_slab_check_free(s, p);
  if (HAK_UNLIKELY(bad))
    hak_report_bad_free("realloc", p, bad);
  size_t old = hak_class_size[s->cls];
  if (size <= old && size >= old / 2)
    return p;
  /* A block that grows past half the mid tier's largest size is likely to
   * grow again: it gets a Large mapping of its own, which grows in place,
   * instead of a copy at every step up to it. */
  void *q = size > old && size > HAK_MID_MAX / 2
                ? alloc_big(size > HAK_MID_MAX ? size : HAK_MID_MAX + 1, 0, HAK_BIG_GROW)
                : alloc(size);
  if (!q)
    return NULL;
  memcpy(q, p, size < old ? size : old);
  dealloc(p, "realloc");
  return q;
}

HAK_API void *hak_reallocarray(void *p, size_t n, size_t size)
{
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return hak_realloc(p, total);
}

HAK_API int hak_posix_memalign(void **out, size_t align, size_t size)
{
  if (!is_pow2(align) || align % sizeof(void *))
    return EINVAL;
  int saved = errno;
  void *p = alloc_aligned(align, size);
  if (!p) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}

HAK_API void *hak_aligned_alloc(size_t align, size_t size)
{
  if (!is_pow2(align)) {
    errno = EINVAL;
    return NULL;
  }
  return alloc_aligned(align, size);
}

HAK_API void *hak_memalign(size_t align, size_t size)
{
  /* glibc: an alignment that is not a power of two is rounded up to one. */
  if (align > (SIZE_MAX >> 1) + 1) {
    errno = EINVAL;
    return NULL;
  }
  if (!is_pow2(align))
    align = align ? (size_t)1 << (64 - __builtin_clzl(align)) : 1;
  return alloc_aligned(align, size);
}

HAK_API void *hak_valloc(size_t size) { return alloc_aligned(hak_os_page_size(), size); }

HAK_API void *hak_pvalloc(size_t size)
{
  size_t page = hak_os_page_size();
  if (size > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  size = size ? (size + page - 1) & ~(page - 1) : page;
  return alloc_aligned(page, size);
}

HAK_API size_t hak_malloc_usable_size(void *p) { return usable_size(p, "malloc_usable_size"); }

HAK_API void hak_free_sized(void *p, size_t size)
{
  if (FULL_CHECKS && p && usable_size(p, "free_sized") < size)
    hak_report_bad_free("free_sized", p, "size larger than the block");
  dealloc(p, "free_sized");
}

HAK_API void hak_free_aligned_sized(void *p, size_t align, size_t size)
{
  if (FULL_CHECKS && p && ((uintptr_t)p & (align - 1)))
    hak_report_bad_free("free_aligned_sized", p, "pointer not aligned as stated");
  hak_free_sized(p, size);
}

HAK_API int hak_malloc_trim(size_t pad)
{
  (void)pad;
  if (hak_theap != &hak_no_heap)
    hak_cache_flush_all(hak_theap);
  bool released = false;
  hak_pool_purge(true, &released);
  hak_ace_purge(true, &released);
  return released;
}

HAK_API const char *hak_version(void) { return HAKMEM_VERSION_STRING; }

#if HAKMEM_OVERRIDE
/* The standard names are aliases of the hak_* functions. */
#define HAK_ALIAS(name, target) \
  extern __typeof(target) name __attribute__((alias(#target), copy(target), visibility("default")))
HAK_ALIAS(malloc, hak_malloc);
HAK_ALIAS(free, hak_free);
HAK_ALIAS(calloc, hak_calloc);
HAK_ALIAS(realloc, hak_realloc);
HAK_ALIAS(reallocarray, hak_reallocarray);
HAK_ALIAS(posix_memalign, hak_posix_memalign);
HAK_ALIAS(aligned_alloc, hak_aligned_alloc);
HAK_ALIAS(memalign, hak_memalign);
HAK_ALIAS(valloc, hak_valloc);
HAK_ALIAS(pvalloc, hak_pvalloc);
HAK_ALIAS(malloc_usable_size, hak_malloc_usable_size);
HAK_ALIAS(free_sized, hak_free_sized);
HAK_ALIAS(free_aligned_sized, hak_free_aligned_sized);
HAK_ALIAS(malloc_trim, hak_malloc_trim);
#endif
