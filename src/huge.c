/* huge.c - blocks above the mid tier: each in a mapping of its own.
 *
 * A mapping covers whole 2 MiB units of address space (reserved PROT_NONE
 * beyond the pages in use), so the registry can say the unit is HAKMEM's
 * without sharing it with anybody.  A header at the mapping's start holds
 * the block's address and sizes; a block aligned beyond 64 bytes starts
 * `align` bytes in, and its header is found by walking back the registry
 * to the mapping's first unit.  realloc grows in place inside the
 * reservation, or moves the pages with mremap (no copy).
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

struct big_hdr {
  uint64_t magic;
  size_t span;   /* reserved bytes (whole 2 MiB units) */
  size_t used;   /* bytes from the start that are read-write */
  size_t offset; /* block start - mapping start */
};
#define BIG_MAGIC 0x48414b4d42494721ull /* "HAKMBIG!" */
#define BIG_MIN_OFFSET 64

static size_t round_up(size_t x, size_t to) { return (x + to - 1) & ~(to - 1); }

static struct big_hdr *hdr_of(const void *p, unsigned reg)
{
  uintptr_t u = (uintptr_t)p >> HAK_SS_SHIFT;
  while (reg == HAK_REG_HUGE_CONT)
    reg = hak_registry[--u];
  return (struct big_hdr *)(u << HAK_SS_SHIFT);
}

static bool is_huge(size_t usable) { return usable > HAK_SS_SIZE; }

/* Reserves span bytes aligned to align, PROT_NONE. */
static char *reserve(size_t span, size_t align)
{
  size_t total = span + align;
  if (total < span)
    return NULL;
  char *p = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  uintptr_t a = round_up((uintptr_t)p, align);
  if (a != (uintptr_t)p)
    munmap(p, a - (uintptr_t)p);
  size_t tail = (uintptr_t)p + total - (a + span);
  if (tail)
    munmap((char *)a + span, tail);
  return (char *)a;
}

static bool make_writable(char *base, size_t from, size_t to)
{
  if (to <= from)
    return true;
  if (mprotect(base + from, to - from, PROT_READ | PROT_WRITE) != 0)
    return false;
  if (!hak_opt[HAK_OPT_THP] && to - from >= HAK_SS_SIZE)
    hak_os_hugepages(base + from, to - from, false);
  return true;
}

static void count_alloc(size_t usable, int dir)
{
  if (is_huge(usable))
    atomic_fetch_add_explicit(dir > 0 ? &hak_gstats.huge_allocs : &hak_gstats.huge_frees, 1,
                              memory_order_relaxed);
  else
    atomic_fetch_add_explicit(dir > 0 ? &hak_gstats.large_allocs : &hak_gstats.large_frees, 1,
                              memory_order_relaxed);
  if (dir > 0)
    atomic_fetch_add_explicit(&hak_gstats.large_live_bytes, usable, memory_order_relaxed);
  else
    atomic_fetch_sub_explicit(&hak_gstats.large_live_bytes, usable, memory_order_relaxed);
}

void *hak_big_alloc(size_t size, size_t align, bool zero)
{
  (void)zero; /* fresh mappings read as zero */
  size_t page = hak_os_page_size();
  size_t offset = align > BIG_MIN_OFFSET ? align : BIG_MIN_OFFSET;
  if (size > PTRDIFF_MAX - offset - 2 * HAK_SS_SIZE) {
    errno = ENOMEM;
    return NULL;
  }
  size_t used = round_up(offset + size, page);
  size_t span = round_up(used, HAK_SS_SIZE);
  char *base = reserve(span, align > HAK_SS_SIZE ? align : HAK_SS_SIZE);
  if (!base || !make_writable(base, 0, used)) {
    if (base)
      munmap(base, span);
    atomic_fetch_add_explicit(&hak_gstats.ace_fail_mapfail, 1, memory_order_relaxed);
    errno = ENOMEM;
    return NULL;
  }
  struct big_hdr *h = (struct big_hdr *)base;
  h->magic = BIG_MAGIC;
  h->span = span;
  h->used = used;
  h->offset = offset;
  hak_stats_add_mapped((int64_t)span);
  hak_reg_set((uintptr_t)base, span, HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT);
  count_alloc(used - offset, +1);
  return base + offset;
}

static struct big_hdr *checked_hdr(const void *p, unsigned reg, const char *call)
{
  struct big_hdr *h = hdr_of(p, reg);
  if (h->magic != BIG_MAGIC || (const char *)h + h->offset != (const char *)p)
    hak_report_bad_free(call, p, "invalid pointer (not the start of a HAKMEM block)");
  return h;
}

void hak_big_free(void *p, unsigned reg, const char *call)
{
  struct big_hdr *h = checked_hdr(p, reg, call);
  size_t span = h->span;
  count_alloc(h->used - h->offset, -1);
  h->magic = 0;
  hak_reg_set((uintptr_t)h, span, HAK_REG_NONE, HAK_REG_NONE);
  hak_os_unmap(h, span);
}

size_t hak_big_usable(const void *p, unsigned reg)
{
  struct big_hdr *h = hdr_of(p, reg);
  return h->used - h->offset;
}

void *hak_big_realloc(void *p, unsigned reg, size_t size)
{
  struct big_hdr *h = checked_hdr(p, reg, "realloc");
  size_t page = hak_os_page_size(), old_usable = h->used - h->offset;
  if (size <= HAK_MID_MAX / 2) { /* much smaller: move to the slab tiers */
    void *q = hak_malloc(size);
    if (q) {
      memcpy(q, p, size);
      hak_big_free(p, reg, "realloc");
    }
    return q;
  }
  if (size > PTRDIFF_MAX - h->offset - 2 * HAK_SS_SIZE) {
    errno = ENOMEM;
    return NULL;
  }
  size_t used = round_up(h->offset + size, page);
  char *base = (char *)h;
  if (used <= h->span) { /* grow or shrink inside the reservation */
    if (used > h->used && !make_writable(base, h->used, used)) {
      errno = ENOMEM;
      return NULL;
    }
    if (used < h->used) {
      hak_os_purge(base + used, h->used - used);
      mprotect(base + used, h->used - used, PROT_NONE);
    }
    count_alloc(old_usable, -1);
    h->used = used;
    count_alloc(used - h->offset, +1);
    return p;
  }
  /* Move: reserve a larger aligned span and move the pages there. */
  size_t span = round_up(used + used / 4, HAK_SS_SIZE); /* headroom for growth by steps */
  size_t align = h->offset > HAK_SS_SIZE ? h->offset : HAK_SS_SIZE;
  char *nb = reserve(span, align);
  if (!nb) {
    errno = ENOMEM;
    return NULL;
  }
  size_t old_used = h->used, old_span = h->span;
  if (mremap(base, old_used, old_used, MREMAP_MAYMOVE | MREMAP_FIXED, nb) == MAP_FAILED ||
      !make_writable(nb, old_used, used)) {
    munmap(nb, span);
    errno = ENOMEM;
    return NULL;
  }
  hak_reg_set((uintptr_t)base, old_span, HAK_REG_NONE, HAK_REG_NONE);
  munmap(base + old_used, old_span - old_used);
  h = (struct big_hdr *)nb;
  h->span = span;
  h->used = used;
  hak_stats_add_mapped((int64_t)span - (int64_t)old_span);
  hak_reg_set((uintptr_t)nb, span, HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT);
  count_alloc(old_usable, -1);
  count_alloc(used - h->offset, +1);
  return nb + h->offset;
}
