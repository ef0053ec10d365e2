/* tier_realloc.c - realloc across the tiers and aligned allocation in
 * every tier, on the real library (the malloc family is HAKMEM's).
 *
 * - A block grows by doubling from 16 B to 256 MiB and shrinks back,
 *   through the tiny, mid, Large and Huge tiers (and Huge's in-place and
 *   mremap paths); at each step every byte that must survive is checked
 *   against its pattern.  A second chain does the same with odd sizes.
 * - posix_memalign, aligned_alloc and memalign with every alignment from
 *   16 B to 2 MiB, at sizes in every tier: each block is aligned, as large
 *   as asked, and the blocks of one round are all written before any is
 *   checked, so overlapping blocks would be caught. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "tap.h"
#include "testutil.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* Word i of a pattern: distinct for every word and seed.  Byte i of the
 * pattern is byte i % 8 of word i / 8 as stored in memory (little-endian),
 * so a block can be filled and checked a word at a time whatever its
 * size. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the pattern assumes little-endian words");
static inline uint64_t pat(size_t i, uint64_t seed)
{
  return (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
}
static inline unsigned char pat_byte(size_t i, uint64_t seed)
{
  return (unsigned char)(pat(i / 8, seed) >> (8 * (i % 8)));
}

/* Writes the pattern over bytes [from, to). */
static void fill(void *p, size_t from, size_t to, uint64_t seed)
{
  unsigned char *b = p;
  size_t i = from;
  for (; i < to && (i & 7); i++)
    b[i] = pat_byte(i, seed);
  uint64_t *w = p;
  for (; i + 8 <= to; i += 8)
    w[i / 8] = pat(i / 8, seed);
  for (; i < to; i++)
    b[i] = pat_byte(i, seed);
}

/* Index of the first byte of [0, n) that differs from the pattern, or n. */
static size_t first_bad(const void *p, size_t n, uint64_t seed)
{
  const uint64_t *w = p;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (w[i / 8] != pat(i / 8, seed))
      break;
  const unsigned char *b = p;
  for (; i < n; i++)
    if (b[i] != pat_byte(i, seed))
      return i;
  return n;
}

/* Follows the realloc chain size[0], size[1], ...; returns the steps that
 * lost data or failed. */
static unsigned chain(const size_t *sizes, unsigned steps, uint64_t seed, const char *name,
                      size_t align)
{
  unsigned bad = 0;
  size_t have = sizes[0];
  char *p = NULL;
  if (align ? posix_memalign((void **)&p, align, have) != 0 : !(p = malloc(have)))
    return steps;
  fill(p, 0, have, seed);
  for (unsigned k = 1; k < steps; k++) {
    size_t want = sizes[k];
    char *q = realloc(p, want);
    if (!q) {
      diag("  %s: realloc(%zu -> %zu) failed: %s", name, have, want, strerror(errno));
      bad++;
      break;
    }
    p = q;
    size_t keep = have < want ? have : want;
    size_t at = first_bad(p, keep, seed);
    if (at != keep || ((uintptr_t)p & 15) || malloc_usable_size(p) < want) {
      if (bad++ < 3)
        diag("  %s: %zu -> %zu: byte %zu of %zu lost, block %p, usable %zu", name, have, want, at,
             keep, (void *)p, malloc_usable_size(p));
    }
    fill(p, keep, want, seed);
    have = want;
  }
  free(p);
  return bad;
}

static void realloc_chains(void)
{
  size_t sizes[128];
  unsigned n = 0;
  for (size_t s = 16; s <= 256 * MiB; s *= 2)
    sizes[n++] = s;
  for (size_t s = 128 * MiB; s >= 16; s /= 2)
    sizes[n++] = s;
  is_int(chain(sizes, n, 0x1234, "doubling", 0), 0,
         "realloc 16 B -> 256 MiB by doubling and back: contents kept at each of %u steps", n);

  n = 0;
  for (size_t s = 1; s <= 16 * MiB; s = s * 3 / 2 + 7)
    sizes[n++] = s;
  for (size_t s = sizes[n - 1] * 2 / 3 - 5; s > 1 && n < 128; s = s * 2 / 3 - 1)
    sizes[n++] = s;
  is_int(chain(sizes, n, 0xabcdef, "odd", 0), 0,
         "realloc through odd sizes 1 B -> 16 MiB and back: contents kept at each of %u steps", n);

  /* Each tier boundary, crossed both ways. */
  static const size_t edges[] = {1024,  1025,  8192,  8193, 65536, 65537, 2 * MiB, 2 * MiB + 1,
                                 65537, 65536, 8193,  8192, 1025,  1024,  1};
  is_int(chain(edges, sizeof edges / sizeof edges[0], 0x77, "edges", 0), 0,
         "realloc across each tier boundary and back");

  /* Blocks that start past the head of their mapping or slab block. */
  static const size_t from_huge[] = {3 * MiB, 8 * MiB, 64 * MiB, 5 * MiB, 1 * MiB, 100, 3 * MiB};
  is_int(chain(from_huge, sizeof from_huge / sizeof from_huge[0], 0x99, "2 MiB-aligned", 2 * MiB), 0,
         "realloc of a 2 MiB-aligned 3 MiB block through every tier");
  static const size_t from_small[] = {1000, 5000, 50000, 100000, 4 * MiB, 700};
  is_int(chain(from_small, sizeof from_small / sizeof from_small[0], 0x98, "4 KiB-aligned", 4096), 0,
         "realloc of a 4 KiB-aligned 1000 B block through every tier");
}

static void aligned(void)
{
  static const size_t sizes[] = {24, 1000, 1500, 20000, 40000, 65536, 70000, 1 * MiB, 2 * MiB, 3 * MiB};
  enum { NS = sizeof sizes / sizeof sizes[0], NF = 3 };
  static const char *const fname[NF] = {"posix_memalign", "aligned_alloc", "memalign"};
  for (size_t align = 16; align <= 2 * MiB; align *= 2) {
    void *blk[NF][NS];
    unsigned fails = 0, misaligned = 0, small = 0, lost = 0;
    for (int f = 0; f < NF; f++) {
      for (int i = 0; i < NS; i++) {
        void *p = NULL;
        errno = 0;
        if (f == 0) {
          if (posix_memalign(&p, align, sizes[i]) != 0)
            p = NULL;
        } else if (f == 1) {
          p = aligned_alloc(align, sizes[i]);
        } else {
          p = memalign(align, sizes[i]);
        }
        blk[f][i] = p;
        if (!p) {
          if (fails++ < 3)
            diag("  %s(%zu, %zu) failed", fname[f], align, sizes[i]);
          continue;
        }
        misaligned += ((uintptr_t)p & (align - 1)) != 0;
        small += malloc_usable_size(p) < sizes[i];
        fill(p, 0, sizes[i], align * 131 + (uint64_t)(f * NS + i));
      }
    }
    for (int f = 0; f < NF; f++) {
      for (int i = 0; i < NS; i++) {
        if (!blk[f][i])
          continue;
        if (first_bad(blk[f][i], sizes[i], align * 131 + (uint64_t)(f * NS + i)) != sizes[i] &&
            lost++ < 3)
          diag("  %s(%zu, %zu) = %p was overwritten", fname[f], align, sizes[i], blk[f][i]);
        free(blk[f][i]);
      }
    }
    ok(fails == 0 && misaligned == 0 && small == 0 && lost == 0,
       "alignment %zu: %d blocks from 24 B to 3 MiB aligned, whole, disjoint (failed %u, misaligned %u, "
       "short %u, overwritten %u)",
       align, NF * NS, fails, misaligned, small, lost);
  }
}

int main(void)
{
  alarm(120);
  plan(5 + 18 + 1);
  realloc_chains();
  aligned();
  /* These tests are only worth something if the malloc family above was
   * HAKMEM's: a Large block must show in its statistics. */
  hak_stats_t st0, st1;
  hak_stats_get(&st0);
  free(malloc(100 * KiB));
  hak_stats_get(&st1);
  ok(st1.large_allocs == st0.large_allocs + 1, "malloc in this program is HAKMEM's");
  return done_testing();
}
