/* unit_pack.c - packed Large blocks (src/pack.c).
 *
 * Large blocks of the first HAK_PACK_BINS ACE bins share 2 MiB units:
 * - the constant matches the bins (the last packed bin is 512 KiB);
 * - 40 blocks of 100 KiB take 3 units, not 40 spans; they do not overlap,
 *   keep their contents, and each has its whole slot as usable size;
 * - an address anywhere in a block finds its header; the unit's own page
 *   and the tail past the last slot find none;
 * - with the ACE cache off, a freed block's slot is purged (its header
 *   reads zero) and unmapped with its unit once empty, but the bin keeps
 *   one unit; the next block reuses a slot without mapping, also when it
 *   comes and goes next to a full unit; with the
 *   cache on, a freed block is cached and a trim frees its slot;
 * - realloc shrinks a packed block in place and grows it into a mapping of
 *   its own, contents kept, which then grows in place; an aligned block
 *   never packs;
 * - realloc growing a mid block past 32 KiB gives it a Large mapping of its
 *   own; a Large block shrinking to 32..64 KiB stays in place unless it
 *   would keep less than a quarter of itself;
 * - two threads allocating and freeing packed blocks at once keep every
 *   block's contents. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "unit.h"

#define KiB ((size_t)1 << 10)
#define N 40

static uintptr_t unit_of(const void *p) { return (uintptr_t)p >> HAK_SS_SHIFT; }

/* Bytes of p[0..n) that are not c. */
static size_t differ(const char *p, size_t n, int c)
{
  size_t bad = 0;
  for (size_t j = 0; j < n; j++)
    bad += p[j] != (char)c;
  return bad;
}

/* The Large block header of p, a block with a mapping of its own that
 * starts in its first unit. */
static struct hak_big *own_hdr(const void *p)
{
  return (struct hak_big *)((uintptr_t)p & ~(uintptr_t)HAK_SS_MASK);
}

/* The usable size of a Large block of size's bin: its slot (header and
 * block, whole pages) less the header. */
static size_t bin_usable(size_t size)
{
  size_t page = hak_os_page_size();
  return ((HAK_BIG_MIN_OFFSET + hak_ace_bin_size(hak_ace_bin(size, 0)) + page - 1) & ~(page - 1)) -
         HAK_BIG_MIN_OFFSET;
}

static void bins(void)
{
  ok(hak_ace_bin_size(HAK_PACK_BINS - 1) == HAK_PACK_MAX && hak_ace_bin_size(HAK_PACK_BINS) > HAK_PACK_MAX,
     "the packed bins are those up to %zu bytes (last %zu, next %zu)", (size_t)HAK_PACK_MAX,
     hak_ace_bin_size(HAK_PACK_BINS - 1), hak_ace_bin_size(HAK_PACK_BINS));
}

static int by_addr(const void *a, const void *b)
{
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

static void shared_units(void)
{
  char *p[N];
  uintptr_t sorted[N], units[N];
  unsigned nunits = 0, kind_bad = 0, usable_bad = 0, content_bad = 0;
  size_t usable = bin_usable(100 * KiB);
  for (int i = 0; i < N; i++) {
    p[i] = hak_malloc(100 * KiB);
    if (!p[i])
      bail_out("hak_malloc(100 KiB) failed");
    memset(p[i], i, 100 * KiB);
    kind_bad += hak_reg_lookup(p[i]) != HAK_REG_LARGE_PACK;
    usable_bad += hak_malloc_usable_size(p[i]) != usable;
    sorted[i] = (uintptr_t)p[i];
    unsigned u = 0;
    while (u < nunits && units[u] != unit_of(p[i]))
      u++;
    if (u == nunits)
      units[nunits++] = unit_of(p[i]);
  }
  qsort(sorted, N, sizeof sorted[0], by_addr);
  unsigned overlap = 0;
  for (int i = 1; i < N; i++)
    overlap += sorted[i] - sorted[i - 1] < usable;
  for (int i = 0; i < N; i++)
    for (size_t j = 0; j < 100 * KiB; j += 4093)
      content_bad += (unsigned char)p[i][j] != (unsigned char)i;
  is_int(kind_bad, 0, "%d blocks of 100 KiB are in packed units", N);
  ok(nunits <= 3, "they share %u units", nunits);
  is_int(usable_bad, 0, "each one's usable size is its slot's, %zu", usable);
  is_int(overlap, 0, "no two overlap");
  is_int(content_bad, 0, "each keeps its contents");

  unsigned hdr_bad = 0;
  for (int i = 0; i < N; i++) {
    struct hak_big *want = (struct hak_big *)(p[i] - HAK_BIG_MIN_OFFSET);
    hdr_bad += hak_pack_hdr(p[i]) != want || hak_pack_hdr(p[i] + usable - 1) != want ||
               hak_pack_hdr(want) != want || !want->packed;
  }
  is_int(hdr_bad, 0, "the first and last byte of every block, and its header, find its header");
  char *base = (char *)(unit_of(p[0]) << HAK_SS_SHIFT);
  ok(hak_pack_hdr(base + 100) == NULL, "the unit's own page is in no slot");
  size_t page = hak_os_page_size(), stride = usable + HAK_BIG_MIN_OFFSET;
  size_t end = page + (HAK_SS_SIZE - page) / stride * stride; /* past the last slot */
  ok(end < HAK_SS_SIZE && hak_pack_hdr(base + end) == NULL && hak_pack_hdr(base + end - 1) != NULL,
     "the tail past the last slot is in none (slots end at %zu)", end);
  /* A full unit with a slot freed serves the next block of the bin from
   * that slot. */
  hak_stats_t s0, s1;
  char *again = NULL;
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = 0; /* the ACE keeps nothing: the slot is freed */
  hak_free(p[0]);
  hak_stats_get(&s0);
  again = hak_malloc(100 * KiB);
  hak_stats_get(&s1);
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = 3600000;
  ok(again == p[0] && s1.mapped == s0.mapped, "a freed slot of a full unit serves the next block");
  p[0] = again;
  for (int i = 0; i < N; i++)
    hak_free(p[i]);
}

static void release(void)
{
  long delay = hak_opt[HAK_OPT_PURGE_DELAY_MS];
  hak_malloc_trim(0);
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = 0; /* the ACE caches nothing */
  hak_stats_t s0, s1, s2;
  hak_stats_get(&s0);
  char *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = hak_malloc(300 * KiB);
    if (!p[i])
      bail_out("hak_malloc(300 KiB) failed");
    memset(p[i], 0xee, 300 * KiB);
  }
  hak_stats_get(&s1);
  /* 300 KiB: bin 320 KiB; the units needed, one more at most. */
  size_t page = hak_os_page_size(), stride = bin_usable(300 * KiB) + HAK_BIG_MIN_OFFSET;
  size_t units = (N + (HAK_SS_SIZE - page) / stride - 1) / ((HAK_SS_SIZE - page) / stride);
  ok(s1.mapped - s0.mapped <= (units + 1) * HAK_SS_SIZE, "%d blocks of 300 KiB mapped %llu MiB", N,
     (unsigned long long)((s1.mapped - s0.mapped) >> 20));
  for (int i = 0; i < N; i++)
    hak_free(p[i]);
  hak_stats_get(&s2);
  ok(s2.mapped <= s0.mapped + HAK_SS_SIZE, "freed, all their units but one are unmapped (%lld KiB left)",
     (long long)(s2.mapped - s0.mapped) / 1024);
  char *q = hak_malloc(300 * KiB);
  hak_stats_t s3;
  hak_stats_get(&s3);
  ok(q && s3.mapped == s2.mapped, "the next block takes a slot of the unit kept");
  unsigned nonzero = 0;
  for (size_t j = 0; q && j < 300 * KiB; j++)
    nonzero += q[j] != 0;
  is_int(nonzero, 0, "a released slot reads zero when reused");
  struct hak_big *h = hak_pack_hdr(q);
  hak_free(q);
  ok(h && h->magic == 0, "a released slot's header reads zero (a late free is reported)");

  /* One unit full, one more block allocated and freed: the unit it
   * empties is kept for the next one, not unmapped and mapped again. */
  size_t per = (HAK_SS_SIZE - page) / stride < 32 ? (HAK_SS_SIZE - page) / stride : 32;
  char *fill[32], *x = NULL, *y = NULL;
  for (size_t i = 0; i < per; i++)
    fill[i] = hak_malloc(300 * KiB);
  x = hak_malloc(300 * KiB);
  unsigned reg_kept = 0;
  int same = 1;
  for (int i = 0; i < 20 && x; i++) {
    hak_free(x);
    reg_kept += hak_reg_lookup(x) == HAK_REG_LARGE_PACK;
    y = hak_malloc(300 * KiB);
    same &= y && unit_of(y) == unit_of(x);
    x = y;
  }
  ok(x && reg_kept == 20 && same,
     "a unit emptied next to a full one is kept and serves the next block (%u of 20 kept)",
     reg_kept);
  hak_free(x);
  for (size_t i = 0; i < per; i++)
    hak_free(fill[i]);
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = delay;

  /* With the cache on: a freed block waits in the ACE, and a trim (a
   * forced purge pass) lets its slot go. */
  char *c = hak_malloc(300 * KiB);
  if (!c)
    bail_out("hak_malloc(300 KiB) failed");
  memset(c, 0x77, 300 * KiB);
  struct hak_big *ch = hak_pack_hdr(c);
  hak_free(c);
  ok(ch->magic == HAK_BIG_MAGIC && ch->state == HAK_BIG_CACHED, "a freed packed block is cached by the ACE");
  hak_malloc_trim(0);
  ok(hak_reg_lookup(c) != HAK_REG_LARGE_PACK || ch->magic == 0,
     "malloc_trim(0) frees its slot (its header reads zero, or its unit is gone)");
}

static void realloc_moves(void)
{
  char *p = hak_malloc(100 * KiB);
  if (!p)
    bail_out("hak_malloc failed");
  memset(p, 0x3c, 100 * KiB);
  char *q = hak_realloc(p, 90 * KiB);
  ok(q == p && hak_malloc_usable_size(q) == bin_usable(90 * KiB),
     "realloc to a smaller bin stays in place (usable %zu)", hak_malloc_usable_size(q));
  char *r = hak_realloc(q, 200 * KiB);
  ok(r && hak_reg_lookup(r) == HAK_REG_HUGE_HEAD && differ(r, 90 * KiB, 0x3c) == 0,
     "realloc to 200 KiB moves it to a mapping of its own, contents kept");
  if (!r)
    bail_out("realloc failed");
  memset(r, 0x3d, 200 * KiB);
  char *s = hak_realloc(r, 400 * KiB);
  ok(s == r && differ(s, 200 * KiB, 0x3d) == 0, "which then grows in place, contents kept");
  hak_free(s ? s : r);

  /* Between the mid and Large tiers; the ACE holds a packed slot of the
   * smallest bin, which a growing block must not take. */
  char *s70 = hak_malloc(70 * KiB);
  hak_free(s70);
  ok(hak_pack_hdr(s70)->state == HAK_BIG_CACHED, "a packed 70 KiB block is cached");
  char *m = hak_malloc(20 * KiB), *m2 = m ? hak_realloc(m, 30 * KiB) : NULL;
  ok(m2 && hak_reg_lookup(m2) == HAK_REG_SS_MID, "realloc of 20 KiB to 30 KiB stays in the mid tier");
  if (!m2)
    bail_out("realloc failed");
  memset(m2, 0x5e, 30 * KiB);
  char *g = hak_realloc(m2, 40 * KiB);
  ok(g && hak_reg_lookup(g) == HAK_REG_HUGE_HEAD && hak_malloc_usable_size(g) == bin_usable(65 * KiB) &&
         differ(g, 30 * KiB, 0x5e) == 0,
     "realloc growing it to 40 KiB gives the smallest Large bin, in a mapping of its own, contents kept");
  if (!g)
    bail_out("realloc failed");
  memset(g, 0x5f, 40 * KiB);
  char *big = hak_realloc(g, 128 * KiB), *back = big ? hak_realloc(big, 40 * KiB) : NULL;
  ok(back && back == big && hak_malloc_usable_size(back) == bin_usable(65 * KiB) &&
         differ(back, 40 * KiB, 0x5f) == 0,
     "128 KiB shrunk to 40 KiB stays in place as the smallest Large bin, contents kept");
  char *huge = back ? hak_realloc(back, 1024 * KiB) : NULL, *down = huge ? hak_realloc(huge, 40 * KiB) : NULL;
  ok(down && hak_reg_lookup(down) == HAK_REG_SS_MID && differ(down, 40 * KiB, 0x5f) == 0,
     "1 MiB shrunk to 40 KiB moves to the mid tier, contents kept");
  hak_free(down);
  /* The other way: a cached mapping of its own does not serve a malloc. */
  char *grown = hak_realloc(hak_malloc(20 * KiB), 40 * KiB);
  if (!grown)
    bail_out("realloc failed");
  hak_free(grown);
  ok(own_hdr(grown)->state == HAK_BIG_CACHED, "a grown 40 KiB block is cached");
  char *pm = hak_malloc(70 * KiB);
  ok(pm && hak_reg_lookup(pm) == HAK_REG_LARGE_PACK,
     "with it cached, malloc(70 KiB) still takes a packed slot");
  hak_free(pm);

  void *a = NULL;
  ok(hak_posix_memalign(&a, 4096, 100 * KiB) == 0 && hak_reg_lookup(a) == HAK_REG_HUGE_HEAD,
     "a 4096-aligned 100 KiB block has a mapping of its own");
  hak_free(a);
}

#define ROUNDS 3000
struct churn {
  unsigned id;
  unsigned bad;      /* bytes changed, blocks not packed, failed mallocs */
};

/* Each thread fills slot k of its own with 8 * id + k, over the size it
 * asked for. */
static void *churn(void *arg)
{
  struct churn *c = arg;
  uint64_t rs = rng_seed(c->id);
  char tag = (char)(8 * c->id);
  char *slot[8] = {0};
  size_t len[8] = {0};
  for (int i = 0; i < ROUNDS; i++) {
    uint64_t r = rng_next(&rs);
    unsigned k = (unsigned)(r % 8);
    if (slot[k]) {
      for (size_t j = 0; j < len[k]; j += 1021)
        c->bad += slot[k][j] != (char)(tag + k);
      hak_free(slot[k]);
    }
    len[k] = 65 * KiB + (r >> 8) % (400 * KiB);
    slot[k] = hak_malloc(len[k]);
    if (!slot[k] || hak_reg_lookup(slot[k]) != HAK_REG_LARGE_PACK) {
      c->bad++;
      if (!slot[k])
        continue;
    }
    memset(slot[k], tag + (char)k, len[k]);
  }
  for (int k = 0; k < 8; k++)
    hak_free(slot[k]);
  return NULL;
}

static void threads(void)
{
  pthread_t t[2];
  struct churn c[2] = {{1, 0}, {2, 0}};
  for (int i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, churn, &c[i]) != 0)
      bail_out("pthread_create failed");
  for (int i = 0; i < 2; i++)
    if (pthread_join(t[i], NULL) != 0)
      bail_out("pthread_join failed");
  is_int(c[0].bad + c[1].bad, 0,
         "two threads, %d packed blocks each: every malloc packed, every byte checked kept", ROUNDS);
}

int main(void)
{
  unit_watchdog(60);
  plan(1 + 9 + 8 + 11 + 1);
  hak_init();
  /* No purge pass behind the tests' back: what they cache stays cached. */
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = 3600000;
  bins();
  shared_units();
  release();
  realloc_moves();
  threads();
  return done_testing();
}
