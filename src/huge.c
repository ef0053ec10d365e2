/* huge.c - mappings for blocks above the mid tier (Large and Huge tiers).
 *
 * A Large block malloc asks for, up to HAK_PACK_MAX, takes a slot of a
 * unit shared with blocks of its size (pack.c).  Any other block (Huge,
 * aligned beyond 64 bytes, or grown by realloc) lives in a mapping of its
 * own that covers whole 2 MiB units of address space (MAP_NORESERVE: the
 * pages beyond those in use cost no memory), so the registry can say a
 * unit is HAKMEM's without sharing it.  Either way the block's first page
 * holds its header (struct hak_big); the block starts 64 bytes in, or
 * `align` bytes in when it must be aligned further, and its header is then
 * found by walking the registry back to the first unit.
 *
 * Freed blocks go to the ACE (large.c), which keeps them warm for the next
 * request of their size; realloc grows or shrinks a mapping in place
 * inside its reservation, or moves the pages with mremap, without copying
 * (a packed block moves to a mapping of its own, with one copy, as does
 * a block whose move the kernel refuses).
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static size_t round_up(size_t x, size_t to) { return (x + to - 1) & ~(to - 1); }

/* The header of the block at p, or NULL when p is in no slot of a
 * packed unit. */
static struct hak_big *hdr_of(const void *p, unsigned reg)
{
  if (reg == HAK_REG_LARGE_PACK)
    return hak_pack_hdr(p);
  uintptr_t u = (uintptr_t)p >> HAK_SS_SHIFT;
  while (reg == HAK_REG_HUGE_CONT)
    reg = __atomic_load_n(&hak_registry[--u], __ATOMIC_RELAXED);
  return (struct hak_big *)(u << HAK_SS_SHIFT);
}

const char *hak_big_tier(const void *p, unsigned reg)
{
  return reg != HAK_REG_LARGE_PACK && hak_big_is_huge(hdr_of(p, reg)) ? "huge" : "large";
}

/* The hollow bytes of a Large or Huge block's mapping (or slot), for the
 * statistics, are its span minus hak_big_touched(); a packed unit's free
 * slots are hollow too (pack.c). */
size_t hak_big_touched(const struct hak_big *b)
{
  return b->purged ? hak_os_page_size() : b->used;
}

void hak_big_set_purged(struct hak_big *b, bool purged)
{
  size_t was = hak_big_touched(b);
  b->purged = purged;
  hak_stats_add_hollow((int64_t)was - (int64_t)hak_big_touched(b));
}

static void count_live(const struct hak_big *b, int dir)
{
  size_t usable = b->used - b->offset;
  bool huge = hak_big_is_huge(b);
  if (dir > 0) {
    if (huge)
      HAK_COUNT(huge_allocs, 1);
    else
      HAK_COUNT(large_allocs, 1);
    HAK_COUNT(big_alloc_bytes, usable);
  } else {
    if (huge)
      HAK_COUNT(huge_frees, 1);
    else
      HAK_COUNT(large_frees, 1);
    HAK_COUNT(big_free_bytes, usable);
  }
}

/* Sets the extent of a mapping in use to used bytes (page multiple,
 * within the span); pages beyond it are given back. */
void hak_big_resize(struct hak_big *b, size_t used)
{
  size_t was = hak_big_touched(b);
  if (used < b->used && !b->purged)
    hak_os_purge((char *)b + used, b->used - used);
  b->used = used;
  hak_stats_add_hollow((int64_t)was - (int64_t)hak_big_touched(b));
}

static void count_mapfail(size_t bytes)
{
  (void)bytes;
  HAK_COUNT(ace_fail_mapfail, 1);
  HAK_TRACE(HAK_OPT_ACE_TRACE, "ACE failure MapFail: the OS refused %zu bytes", bytes);
}

static struct hak_big *map_new(size_t used, size_t offset, size_t align)
{
  size_t span = round_up(used, HAK_SS_SIZE);
  char *base = hak_os_map(span, align > HAK_SS_SIZE ? align : HAK_SS_SIZE, "hakmem large");
  if (!base) {
    count_mapfail(span);
    return NULL;
  }
  struct hak_big *b = (struct hak_big *)base;
  b->magic = HAK_BIG_MAGIC;
  b->span = span;
  b->used = used;
  b->offset = offset;
  hak_stats_add_hollow((int64_t)(span - used));
  hak_reg_set((uintptr_t)base, span, HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT);
  return b;
}

void *hak_big_alloc(size_t size, size_t align, unsigned flags)
{
  size_t page = hak_os_page_size();
  size_t offset = align > HAK_BIG_MIN_OFFSET ? align : HAK_BIG_MIN_OFFSET;
  if (offset > PTRDIFF_MAX / 2 || size > PTRDIFF_MAX - offset - 2 * HAK_SS_SIZE) {
    errno = ENOMEM;
    return NULL;
  }
  if (size == 0)
    size = 1; /* the block must lie inside its extent, even for a large alignment */
  int bin = hak_ace_bin(size, align);
  bool packed = bin >= 0 && bin < HAK_PACK_BINS && !(flags & HAK_BIG_GROW);
  struct hak_big *b = hak_ace_take(bin, size, align, packed);
  if (b) {
    /* A purged mapping reads as zero except in its header page. */
    if (flags & HAK_BIG_ZERO) {
      size_t dirty = b->purged ? (b->offset < page ? page - b->offset : 0) : size;
      memset((char *)b + b->offset, 0, dirty < size ? dirty : size);
    }
  } else {
    if (packed) {
      b = hak_pack_take(bin); /* a fresh or purged slot: zero */
      if (!b)
        count_mapfail(HAK_SS_SIZE);
    } else {
      size_t usable = bin >= 0 ? hak_ace_bin_size(bin) : size;
      b = map_new(round_up(offset + usable, page), offset, align);
    }
    if (!b) {
      errno = ENOMEM;
      return NULL;
    }
    b->bin = (int16_t)bin;
  }
  b->state = HAK_BIG_LIVE;
  if (b->purged) /* a cached block the ACE purged */
    hak_big_set_purged(b, false);
  count_live(b, +1);
  return (char *)b + b->offset;
}

static struct hak_big *checked_hdr(const void *p, unsigned reg, const char *call)
{
  struct hak_big *b = hdr_of(p, reg);
  if (!b || b->magic != HAK_BIG_MAGIC || (const char *)b + b->offset != (const char *)p)
    hak_report_bad_free(call, p, "invalid pointer (not the start of a HAKMEM block)");
  if (b->state != HAK_BIG_LIVE)
    hak_report_bad_free(call, p, "double free");
  return b;
}

/* Gives a block's mapping (or slot) back. */
void hak_big_unmap(struct hak_big *b)
{
  if (b->packed) {
    hak_pack_release(b);
    return;
  }
  size_t span = b->span;
  b->magic = 0;
  hak_stats_add_hollow(-(int64_t)(span - hak_big_touched(b)));
  hak_reg_set((uintptr_t)b, span, HAK_REG_NONE, HAK_REG_NONE);
  hak_os_unmap(b, span);
}

void hak_big_free(void *p, unsigned reg, const char *call)
{
  struct hak_big *b = checked_hdr(p, reg, call);
  count_live(b, -1);
  if (hak_ace_put(b))
    hak_purge_poll();
  else
    hak_big_unmap(b);
}

size_t hak_big_usable(const void *p, unsigned reg)
{
  struct hak_big *b = hdr_of(p, reg);
  return b ? b->used - b->offset : 0;
}

void *hak_big_realloc(void *p, unsigned reg, size_t size)
{
  struct hak_big *b = checked_hdr(p, reg, "realloc");
  size_t page = hak_os_page_size(), old_usable = b->used - b->offset;
  /* A block that shrinks to the upper half of the mid sizes, keeping at
   * least a quarter of itself, stays in place as the smallest Large bin
   * (the pages beyond it are given back) rather than being copied. */
  if (size <= HAK_MID_MAX && size > HAK_MID_MAX / 2 && size >= old_usable / 4 &&
      b->offset == HAK_BIG_MIN_OFFSET)
    size = HAK_MID_MAX + 1;
  if (size <= HAK_MID_MAX) { /* to the slab tiers */
    void *q = hak_malloc(size);
    if (q) {
      memcpy(q, p, size < old_usable ? size : old_usable);
      hak_big_free(p, reg, "realloc");
    }
    return q;
  }
  if (size > PTRDIFF_MAX - b->offset - 2 * HAK_SS_SIZE) {
    errno = ENOMEM;
    return NULL;
  }
  /* The new extent: a whole ACE bin (so the mapping stays cacheable) or,
   * for Huge and aligned blocks, just the pages needed.  The pages grow or
   * shrink in place inside the span (or slot), or move with mremap: no
   * copy, unless the block is packed or the kernel refuses the move. */
  int bin = b->offset == HAK_BIG_MIN_OFFSET ? hak_ace_bin(size, 0) : -1;
  if (bin >= 0 && bin == b->bin)
    return p;
  size_t used = (b->offset + (bin >= 0 ? hak_ace_bin_size(bin) : size) + page - 1) & ~(page - 1);
  count_live(b, -1);
  if (used <= b->span) {
    hak_big_resize(b, used);
    b->bin = (int16_t)bin;
    count_live(b, +1);
    return p;
  }
  size_t span = round_up(used + used / 4, HAK_SS_SIZE); /* room to grow again */
  size_t align = b->offset > HAK_SS_SIZE ? b->offset : HAK_SS_SIZE;
  int saved = errno;
  char *nb = b->packed ? NULL : hak_os_map(span, align, "hakmem large"), *base = (char *)b;
  size_t old_span = b->span;
  /* The old range leaves the registry before its pages leave it: once
   * they have moved, another thread may be given that address range.
   * The whole span moves and grows into the new one, so the mapping stays
   * one kernel mapping (kernels before 6.17 move no range that spans
   * two). */
  uintptr_t mark = 0; /* if the move fails: tells whether nb is still ours */
  if (nb) {
    mark = hak_os_mark_move_target(nb);
    hak_reg_set((uintptr_t)base, old_span, HAK_REG_NONE, HAK_REG_NONE);
  }
  if (!nb || mremap(base, old_span, span, MREMAP_MAYMOVE | MREMAP_FIXED, nb) == MAP_FAILED) {
    if (nb) {
      hak_reg_set((uintptr_t)base, old_span, HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT);
      hak_os_unmap_move_target(nb, span, mark);
    }
    errno = saved;
    count_live(b, +1);
    /* A packed block, or no move: a new block and a copy, as any realloc
     * may do; an aligned block keeps its alignment. */
    bool aligned = b->offset != HAK_BIG_MIN_OFFSET;
    void *q = hak_big_alloc(size, aligned ? b->offset : 0, aligned ? 0 : HAK_BIG_GROW);
    if (!q)
      return NULL; /* errno is ENOMEM */
    memcpy(q, p, old_usable);
    hak_big_free(p, reg, "realloc");
    return q;
  }
  b = (struct hak_big *)nb;
  hak_stats_add_hollow((int64_t)(span - used) - (int64_t)(old_span - b->used));
  b->span = span;
  b->used = used;
  b->bin = (int16_t)bin;
  hak_stats_add_mapped(-(int64_t)old_span); /* the new span is counted by hak_os_map */
  hak_reg_set((uintptr_t)nb, span, HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT);
  count_live(b, +1);
  return nb + b->offset;
}
