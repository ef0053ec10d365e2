/* unit_registry.c - the registry (src/registry.c): which 2 MiB units of
 * address space are HAKMEM's, and which tier a block belongs to.
 *
 * Addresses HAKMEM never mapped (NULL, the stack, static data, the C
 * library's heap, anything at or above 2^47) must read HAK_REG_NONE.
 * Blocks of each tier must read the right kind and hak_addr_tier() must
 * name the tier, at the boundaries too (1 KiB, 64 KiB, 2 MiB), for every
 * 2 MiB unit of a multi-unit block and for a block that starts in a later
 * unit of its mapping (large alignment).  Once a Large or Huge block is
 * freed and no cache may hold it, its units read HAK_REG_NONE again.
 * Every kind of mapping refuses transparent huge pages unless HAKMEM_THP
 * allows them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define MiB ((size_t)1 << 20)

static int static_word;

static int tier_is(const void *p, const char *want)
{
  const char *t = hak_addr_tier(p);
  if (t && want && strcmp(t, want) == 0)
    return 1;
  if (!t && !want)
    return 1;
  diag("  tier of %p: %s, expected %s", p, t ? t : "(none)", want ? want : "(none)");
  return 0;
}

/* Every unit of [p, p + len) reads head for the first, cont for the rest. */
static int units_are(const void *start, size_t len, unsigned head, unsigned cont)
{
  uintptr_t a = (uintptr_t)start & ~HAK_SS_MASK, end = (uintptr_t)start + len;
  for (uintptr_t u = a; u < end; u += HAK_SS_SIZE) {
    unsigned want = u == a ? head : cont, got = hak_reg_lookup((void *)u);
    if (got != want) {
      diag("  unit %p reads %u, expected %u", (void *)u, got, want);
      return 0;
    }
  }
  return 1;
}

static void foreign_addresses(void)
{
  int local = 0;
  void *libc = malloc(64);
  is_int(hak_reg_lookup(NULL), HAK_REG_NONE, "NULL is not HAKMEM's");
  is_int(hak_reg_lookup(&local), HAK_REG_NONE, "a stack address is not HAKMEM's");
  is_int(hak_reg_lookup(&static_word), HAK_REG_NONE, "static data is not HAKMEM's");
  is_int(hak_reg_lookup(libc), HAK_REG_NONE, "a block of the C library's malloc is not HAKMEM's");
  is_int(hak_reg_lookup((void *)((uintptr_t)1 << HAK_VA_BITS)), HAK_REG_NONE,
         "2^%d is not HAKMEM's", HAK_VA_BITS);
  is_int(hak_reg_lookup((void *)((uintptr_t)1 << 63)), HAK_REG_NONE, "2^63 is not HAKMEM's");
  is_int(hak_reg_lookup((void *)UINTPTR_MAX), HAK_REG_NONE, "the last address is not HAKMEM's");
  ok(tier_is(NULL, NULL) && tier_is(&local, NULL) && tier_is(libc, NULL) &&
         tier_is((void *)UINTPTR_MAX, NULL),
     "hak_addr_tier names no tier for foreign addresses");
  free(libc);
}

static void small_tiers(void)
{
  static const struct {
    size_t size;
    unsigned reg;
    const char *tier;
  } cases[] = {
    {1, HAK_REG_SS_SMALL, "tiny"},      {16, HAK_REG_SS_SMALL, "tiny"},
    {1024, HAK_REG_SS_SMALL, "tiny"},   {1025, HAK_REG_SS_SMALL, "mid"},
    {8192, HAK_REG_SS_SMALL, "mid"},    {8193, HAK_REG_SS_MID, "mid"},
    {32768, HAK_REG_SS_MID, "mid"},     {32769, HAK_REG_SS_MID, "mid"},
    {65536, HAK_REG_SS_MID, "mid"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = hak_malloc(cases[i].size);
    if (!ok(p != NULL, "hak_malloc(%zu)", cases[i].size))
      continue;
    ok(hak_reg_lookup(p) == cases[i].reg && hak_reg_lookup(p + cases[i].size - 1) == cases[i].reg &&
           tier_is(p, cases[i].tier),
       "%zu B: registry kind %u (got %u), tier %s", cases[i].size, cases[i].reg, hak_reg_lookup(p),
       cases[i].tier);
    hak_free(p);
  }
}

static void big_tiers(void)
{
  static const struct {
    size_t size;
    const char *tier;
    unsigned head, rest; /* registry kinds of the first and later units */
  } cases[] = {
    {65536 + 1, "large", HAK_REG_LARGE_PACK, HAK_REG_LARGE_PACK},
    {100 * 1024, "large", HAK_REG_LARGE_PACK, HAK_REG_LARGE_PACK},
    {512 * 1024, "large", HAK_REG_LARGE_PACK, HAK_REG_LARGE_PACK},
    {512 * 1024 + 1, "large", HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT},
    {2 * MiB, "large", HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT},
    {2 * MiB + 1, "huge", HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT},
    {8 * MiB, "huge", HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT},
    {80 * MiB, "huge", HAK_REG_HUGE_HEAD, HAK_REG_HUGE_CONT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t size = cases[i].size;
    bool huge = strcmp(cases[i].tier, "huge") == 0;
    hak_stats_t before = stats_now();
    char *p = hak_malloc(size);
    if (!ok(p != NULL, "hak_malloc(%zu)", size))
      continue;
    hak_stats_t after = stats_now();
    ok(after.large_allocs - before.large_allocs == !huge && after.huge_allocs - before.huge_allocs == huge,
       "%zu B: counted as one %s allocation (large +%llu, huge +%llu)", size, cases[i].tier,
       (unsigned long long)(after.large_allocs - before.large_allocs),
       (unsigned long long)(after.huge_allocs - before.huge_allocs));
    memset(p, 0x5a, size);
    /* Every unit of the block (the head unit is where the mapping starts;
     * a packed block's units are all packed units). */
    unsigned bad = 0;
    for (size_t off = 0; off < size; off += HAK_SS_SIZE / 2)
      bad += !tier_is(p + off, cases[i].tier);
    bad += !tier_is(p + size - 1, cases[i].tier);
    ok(hak_reg_lookup(p) == cases[i].head && units_are(p, size, cases[i].head, cases[i].rest) &&
           bad == 0,
       "%zu B: registry kinds %u then %u, tier %s everywhere", size, cases[i].head, cases[i].rest,
       cases[i].tier);
    hak_free(p);
  }
}

static void aligned_huge(void)
{
  void *p = NULL;
  int rc = hak_posix_memalign(&p, 2 * MiB, 3 * MiB);
  if (!ok(rc == 0 && p && ((uintptr_t)p & (2 * MiB - 1)) == 0, "2 MiB-aligned 3 MiB block"))
    return;
  memset(p, 0xa5, 3 * MiB);
  ok(hak_reg_lookup(p) == HAK_REG_HUGE_CONT, "it starts in a continuation unit of its mapping (%u)",
     hak_reg_lookup(p));
  ok(tier_is(p, "huge") && tier_is((char *)p + 3 * MiB - 1, "huge"), "its tier is huge");
  ok(hak_malloc_usable_size(p) >= 3 * MiB, "its usable size is found from the head unit (%zu)",
     hak_malloc_usable_size(p));
  hak_free(p);
  hak_malloc_trim(0);
  is_int(hak_reg_lookup(p), HAK_REG_NONE, "after free and trim its units are not HAKMEM's");
}

static void freed_units(void)
{
  /* Larger than the whole cache (HAKMEM_CACHE_MB): unmapped at free. */
  size_t big = ((size_t)hak_opt[HAK_OPT_CACHE_MB] + 16) * MiB;
  char *p = hak_malloc(big);
  if (ok(p != NULL, "hak_malloc(%zu)", big)) {
    hak_free(p);
    ok(units_are(p, big, HAK_REG_NONE, HAK_REG_NONE),
       "a freed huge block larger than the cache: its units read HAK_REG_NONE at once");
  }
  /* Cacheable blocks with mappings of their own: their units are given
   * back at the latest by a trim.  (unit_pack checks packed units.) */
  char *h = hak_malloc(8 * MiB), *l = hak_malloc(600 * 1024);
  if (ok(h && l, "an 8 MiB and a 600 KiB block")) {
    hak_free(h);
    hak_free(l);
    hak_malloc_trim(0);
    ok(units_are(h, 8 * MiB, HAK_REG_NONE, HAK_REG_NONE) &&
           units_are(l, 600 * 1024, HAK_REG_NONE, HAK_REG_NONE),
       "after free and malloc_trim(0) the units of both read HAK_REG_NONE");
  }
}

/* Whether the mapping holding p has VmFlags "nh" (MADV_NOHUGEPAGE): 1 or
 * 0, or -1 when p is in no mapping of /proc/self/smaps. */
static int nohugepage(const void *p)
{
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f)
    bail_out("cannot read /proc/self/smaps");
  char line[512];
  bool inside = false;
  int nh = -1;
  while (nh < 0 && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
      inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
    else if (inside && strncmp(line, "VmFlags:", 8) == 0)
      nh = strstr(line, " nh") != NULL;
  }
  fclose(f);
  return nh;
}

static void hugepages(void)
{
  if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0) {
    skip(2, "this kernel has no transparent huge pages");
    return;
  }
  static const size_t sizes[] = {64, 20000, 100 * 1024, 600 * 1024, 3 * MiB};
  char *p[5];
  unsigned without = 0;
  for (int i = 0; i < 5; i++) {
    p[i] = hak_malloc(sizes[i]);
    without += p[i] && nohugepage(p[i]) == 1;
  }
  is_int(without, 5, "tiny, mid, packed Large, Large and Huge mappings refuse huge pages");
  for (int i = 0; i < 5; i++)
    hak_free(p[i]);
  long thp = hak_opt[HAK_OPT_THP];
  hak_opt[HAK_OPT_THP] = 1;
  char *q = hak_malloc(37 * MiB); /* a size no cache holds: a new mapping */
  ok(q && nohugepage(q) == 0, "with HAKMEM_THP=1 a new mapping allows them");
  hak_free(q);
  hak_opt[HAK_OPT_THP] = thp;
}

int main(void)
{
  unit_watchdog(60);
  plan(8 + 18 + 24 + 5 + 4 + 2);
  foreign_addresses();
  small_tiers();
  big_tiers();
  aligned_huge();
  freed_units();
  hugepages();
  return done_testing();
}
