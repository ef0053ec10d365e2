/* test_api.c - conformance of every entry point of the malloc family.
 *
 * Each group of checks runs twice: through the standard names (malloc,
 * free, ...), which resolve to HAKMEM because the program is linked with
 * libhakmem, and through the hak_* names of hakmem.h.  Where the standards
 * leave a choice, the expected behaviour is glibc's:
 *   - malloc(0) and realloc(NULL, 0) return a unique pointer;
 *   - realloc(p, 0) frees p and returns NULL (so does reallocarray(p, 0, n));
 *   - posix_memalign returns EINVAL unless the alignment is a power of two
 *     multiple of sizeof(void *), and leaves *memptr alone on failure;
 *   - memalign rounds an alignment that is not a power of two up to one;
 *   - aligned_alloc with such an alignment (or 0) either fails with EINVAL
 *     (glibc 2.38) or behaves like memalign (earlier glibc);
 *   - every failure to allocate returns NULL with errno ENOMEM;
 *   - free and its sized variants leave errno alone.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"
#include "tap.h"
#include "testutil.h"

/* C23 names that glibc's headers do not declare yet; libhakmem exports them. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);

typedef struct api {
  const char *prefix; /* "" or "hak_", for messages */
  void *(*malloc)(size_t);
  void (*free)(void *);
  void *(*calloc)(size_t, size_t);
  void *(*realloc)(void *, size_t);
  void *(*reallocarray)(void *, size_t, size_t);
  int (*posix_memalign)(void **, size_t, size_t);
  void *(*aligned_alloc)(size_t, size_t);
  void *(*memalign)(size_t, size_t);
  void *(*valloc)(size_t);
  void *(*pvalloc)(size_t);
  size_t (*usable)(void *);
  void (*free_sized)(void *, size_t);
  void (*free_aligned_sized)(void *, size_t, size_t);
  int (*trim)(size_t);
} api_t;

static const api_t std_api = {
  "", malloc, free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign,
  valloc, pvalloc, malloc_usable_size, free_sized, free_aligned_sized, malloc_trim,
};

static const api_t hak_api = {
  "hak_", hak_malloc, hak_free, hak_calloc, hak_realloc, hak_reallocarray,
  hak_posix_memalign, hak_aligned_alloc, hak_memalign, hak_valloc, hak_pvalloc,
  hak_malloc_usable_size, hak_free_sized, hak_free_aligned_sized, hak_malloc_trim,
};

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)
#define MAX_DIAG 5

/* Counts a failed expectation in *bad and describes the first few. */
#define FAIL(bad, ...)                 \
  do {                                 \
    if (++*(bad) <= MAX_DIAG)          \
      diag(__VA_ARGS__);               \
  } while (0)

static size_t page_size;

static int aligned_to(const void *p, size_t a)
{
  return ((uintptr_t)p & (a - 1)) == 0;
}

/* Index of the first byte of p[0..n) that differs from c, or n. */
static size_t mismatch_byte(const unsigned char *p, size_t n, unsigned char c)
{
  uint64_t w = 0x0101010101010101ULL * c;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    if (v != w)
      break;
  }
  for (; i < n; i++)
    if (p[i] != c)
      return i;
  return n;
}

/* Position-dependent contents, so a block copied to the wrong offset or
 * mixed with another block's bytes is noticed. */
static unsigned char pat(size_t i, unsigned seed)
{
  return (unsigned char)(i ^ (i >> 8) ^ (i >> 16) ^ seed);
}

static void fill_pat(unsigned char *p, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    p[i] = pat(i, seed);
}

static size_t mismatch_pat(const unsigned char *p, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != pat(i, seed))
      return i;
  return n;
}

/* A byte that differs between sizes less than 256 apart. */
static unsigned char size_byte(size_t n)
{
  return (unsigned char)(n * 37 + 11);
}

/* Checks a fresh block p of `size` bytes from `call`: not NULL, aligned to
 * `align` (at least 16), usable size >= size.  Fills the whole usable size
 * with `c`.  Returns the usable size, or 0 after reporting a failure. */
static size_t check_block(const api_t *a, int *bad, const char *call, void *p, size_t size,
                          size_t align, unsigned char c)
{
  if (!p) {
    FAIL(bad, "%s%s(%zu) returned NULL", a->prefix, call, size);
    return 0;
  }
  if (align < 16)
    align = 16;
  if (!aligned_to(p, align)) {
    FAIL(bad, "%s%s(%zu) = %p is not %zu-byte aligned", a->prefix, call, size, p, align);
    return 0;
  }
  size_t u = a->usable(p);
  if (u < size) {
    FAIL(bad, "%s%s(%zu) = %p: usable size %zu is smaller", a->prefix, call, size, p, u);
    return 0;
  }
  memset(p, c, u);
  return u;
}

static void verify_block(const api_t *a, int *bad, const void *p, size_t size, size_t u,
                         unsigned char c)
{
  size_t at = mismatch_byte(p, u, c);
  if (at != u)
    FAIL(bad, "block %p of %zu bytes (usable %zu) changed at offset %zu: 0x%02x, expected 0x%02x"
         " (overlapping blocks?)", p, size, u, at, ((const unsigned char *)p)[at], c);
  size_t u2 = a->usable((void *)p);
  if (u2 != u)
    FAIL(bad, "usable size of %p changed from %zu to %zu", p, u, u2);
}

/* Blocks that stay live together, each filled with its own byte. */
enum { LIVE_MAX = 128 };
typedef struct live {
  int n;
  void *p[LIVE_MAX];
  size_t req[LIVE_MAX], use[LIVE_MAX];
  unsigned char fill[LIVE_MAX];
} live_t;

/* Checks p as check_block() does, filling it with c, and keeps it; after
 * a failure frees it and returns 0. */
static int live_add(const api_t *a, int *bad, live_t *l, const char *call, void *p, size_t size,
                    size_t align, unsigned char c)
{
  size_t u = check_block(a, bad, call, p, size, align, c);
  if (!u) {
    a->free(p);
    return 0;
  }
  l->p[l->n] = p;
  l->req[l->n] = size;
  l->use[l->n] = u;
  l->fill[l->n] = c;
  l->n++;
  return 1;
}

/* Verifies every byte of every kept block, then frees them all. */
static void live_free(const api_t *a, int *bad, live_t *l)
{
  for (int i = 0; i < l->n; i++) {
    verify_block(a, bad, l->p[i], l->req[i], l->use[i], l->fill[i]);
    a->free(l->p[i]);
  }
  l->n = 0;
}

/* Allocates sizes lo, lo+step, ... hi in batches that stay live together,
 * each filled with its own byte; verifies every byte of every block before
 * freeing the batch.  Blocks that overlap, or that are smaller than they
 * claim, show up as changed bytes. */
static int sweep_sizes(const api_t *a, size_t lo, size_t hi, size_t step)
{
  static live_t l;
  int bad = 0;
  size_t s = lo;
  while (s <= hi) {
    for (; s <= hi && l.n < LIVE_MAX; s += step)
      live_add(a, &bad, &l, "malloc", a->malloc(s), s, 16, size_byte(s));
    live_free(a, &bad, &l);
  }
  return bad;
}

static int cmp_ptr(const void *x, const void *y)
{
  uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;
  return a < b ? -1 : a > b;
}

/* Many live blocks of random sizes, every tier: sorted by address, no block's
 * usable range may reach into the next one. */
static int check_no_overlap(const api_t *a)
{
  enum { N = 20000 };
  uintptr_t *v = calloc(N, sizeof *v);
  uint64_t rs = rng_seed(42);
  int bad = 0;
  for (int i = 0; i < N; i++) {
    uint64_t r = rng_next(&rs);
    size_t sz = r % 100 < 85 ? 1 + r % 1024 : r % 100 < 98 ? 1 + r % (64 * KIB) : 1 + r % (3 * MIB);
    void *p = a->malloc(sz);
    if (!p) {
      FAIL(&bad, "%smalloc(%zu) returned NULL", a->prefix, sz);
      continue;
    }
    memset(p, 0x5a, sz < 64 ? sz : 64);
    v[i] = (uintptr_t)p;
  }
  qsort(v, N, sizeof *v, cmp_ptr);
  for (int i = 0; i + 1 < N; i++) {
    if (!v[i])
      continue;
    size_t u = a->usable((void *)v[i]);
    if (v[i] + u > v[i + 1])
      FAIL(&bad, "block %p (usable %zu) overlaps block %p", (void *)v[i], u, (void *)v[i + 1]);
  }
  for (int i = 0; i < N; i++)
    a->free((void *)v[i]);
  free(v);
  return bad;
}

static const size_t realloc_sizes[] = {
  1, 7, 8, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257,
  511, 512, 513, 1000, 1023, 1024, 1025, 1536, 2047, 2048, 2049, 4095, 4096, 4097, 8191,
  8192, 8193, 16383, 16384, 16385, 32767, 32768, 32769, 49152, 65535, 65536, 65537, 100000,
  131072, 262145, 524288, 1048575, 1048576, 1048577, 2097151, 2097152, 2097153, 3145728,
  4194304, 8388609, 16777216, 67108864,
};
#define N_REALLOC_SIZES (sizeof realloc_sizes / sizeof realloc_sizes[0])

/* Moves one block through a sequence of sizes with realloc: every step must
 * keep min(old, new) bytes exactly, then the block is refilled. */
static int realloc_walk(const api_t *a, const size_t *sizes, size_t n, unsigned *seed, int *bad)
{
  size_t cur = sizes[0];
  unsigned char *p = a->malloc(cur);
  if (!p) {
    FAIL(bad, "%smalloc(%zu) returned NULL", a->prefix, cur);
    return -1;
  }
  fill_pat(p, cur, *seed);
  for (size_t i = 1; i < n; i++) {
    size_t next = sizes[i];
    unsigned char *q = a->realloc(p, next);
    if (!q) {
      FAIL(bad, "%srealloc(%p, %zu) returned NULL", a->prefix, (void *)p, next);
      a->free(p);
      return -1;
    }
    if (!aligned_to(q, 16))
      FAIL(bad, "%srealloc(.., %zu) = %p is not 16-byte aligned", a->prefix, next, (void *)q);
    if (a->usable(q) < next)
      FAIL(bad, "%srealloc(.., %zu): usable size %zu is smaller", a->prefix, next, a->usable(q));
    size_t keep = cur < next ? cur : next;
    size_t at = mismatch_pat(q, keep, *seed);
    if (at != keep)
      FAIL(bad, "%srealloc %zu -> %zu lost the contents at offset %zu", a->prefix, cur, next, at);
    *seed = (*seed * 29 + 7) & 0xff;
    fill_pat(q, next, *seed);
    p = q;
    cur = next;
  }
  a->free(p);
  return 0;
}

static int check_realloc_contents(const api_t *a)
{
  int bad = 0;
  unsigned seed = 1;
  size_t seq[N_REALLOC_SIZES * 2];
  size_t n = 0;
  /* Grow through every class and tier, then shrink back. */
  for (size_t i = 0; i < N_REALLOC_SIZES; i++)
    seq[n++] = realloc_sizes[i];
  for (size_t i = N_REALLOC_SIZES - 1; i-- > 0;)
    seq[n++] = realloc_sizes[i];
  realloc_walk(a, seq, n, &seed, &bad);
  /* Random jumps between tiers, in both directions. */
  uint64_t rs = rng_seed(7);
  for (int round = 0; round < 4; round++) {
    for (n = 0; n < N_REALLOC_SIZES; n++)
      seq[n] = realloc_sizes[rng_next(&rs) % N_REALLOC_SIZES];
    realloc_walk(a, seq, n, &seed, &bad);
  }
  /* Small steps inside a size class and across its neighbours. */
  size_t small[600];
  for (n = 0; n < 600; n++)
    small[n] = n < 300 ? n + 1 : 600 - n;
  realloc_walk(a, small, n, &seed, &bad);
  return bad;
}

static int check_realloc_edges(const api_t *a)
{
  int bad = 0;
  /* realloc(NULL, n) is malloc(n). */
  unsigned char *p = a->realloc(NULL, 100);
  if (check_block(a, &bad, "realloc(NULL, ..)", p, 100, 16, 0x11))
    a->free(p);
  p = a->realloc(NULL, 0);
  if (!p)
    FAIL(&bad, "%srealloc(NULL, 0) returned NULL", a->prefix);
  a->free(p);
  /* realloc(p, 0) frees p and returns NULL, in every tier: the bytes the
   * program holds (statistics) are back where they were. */
  static const size_t tiers[] = {1, 700, 5000, 100000, 5 * MIB};
  for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++) {
    hak_stats_t st0, st1, st2;
    hak_stats_get(&st0);
    p = a->malloc(tiers[i]);
    if (!p) {
      FAIL(&bad, "%smalloc(%zu) returned NULL", a->prefix, tiers[i]);
      continue;
    }
    void *q = a->realloc(p, 0);
    if (q) {
      FAIL(&bad, "%srealloc(%p of %zu, 0) = %p, expected NULL", a->prefix, (void *)p, tiers[i], q);
      a->free(q);
    }
    hak_stats_get(&st1);
    if (st1.live_bytes != st0.live_bytes)
      FAIL(&bad, "%srealloc(p of %zu, 0) did not free p (live bytes %llu, were %llu)", a->prefix,
           tiers[i], (unsigned long long)st1.live_bytes, (unsigned long long)st0.live_bytes);
    p = a->malloc(tiers[i]);
    q = a->reallocarray(p, 0, 8);
    if (q) {
      FAIL(&bad, "%sreallocarray(%p, 0, 8) = %p, expected NULL", a->prefix, (void *)p, q);
      a->free(q);
    }
    hak_stats_get(&st2);
    if (st2.live_bytes != st0.live_bytes)
      FAIL(&bad, "%sreallocarray(p of %zu, 0, 8) did not free p (live bytes %llu, were %llu)",
           a->prefix, tiers[i], (unsigned long long)st2.live_bytes, (unsigned long long)st0.live_bytes);
  }
  /* A failed realloc leaves the block as it was. */
  static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1};
  for (size_t t = 0; t < sizeof tiers / sizeof tiers[0]; t++) {
    p = a->malloc(tiers[t]);
    if (!p)
      continue;
    fill_pat(p, tiers[t], 3);
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
      errno = 0;
      void *q = a->realloc(p, opaque(huge[i]));
      if (q || errno != ENOMEM) {
        FAIL(&bad, "%srealloc(%p, %zu) = %p errno %d, expected NULL and ENOMEM", a->prefix,
             (void *)p, huge[i], q, errno);
        if (q)
          p = q;
      }
    }
    if (mismatch_pat(p, tiers[t], 3) != tiers[t])
      FAIL(&bad, "a failed %srealloc changed the block of %zu bytes", a->prefix, tiers[t]);
    a->free(p);
  }
  return bad;
}

static int check_reallocarray(const api_t *a)
{
  int bad = 0;
  unsigned char *p = a->reallocarray(NULL, 10, 10);
  if (!check_block(a, &bad, "reallocarray(NULL, 10, ..)", p, 100, 16, 0)) {
    a->free(p);
    return bad;
  }
  fill_pat(p, 100, 9);
  unsigned char *q = a->reallocarray(p, 1000, 10);
  if (!q) {
    FAIL(&bad, "%sreallocarray(p, 1000, 10) returned NULL", a->prefix);
    a->free(p);
    return bad;
  }
  p = q;
  if (mismatch_pat(p, 100, 9) != 100)
    FAIL(&bad, "%sreallocarray lost the contents", a->prefix);
  static const size_t ovf[][2] = {
    {SIZE_MAX / 2 + 1, 2}, {2, SIZE_MAX / 2 + 1}, {(size_t)1 << 33, (size_t)1 << 31},
    {SIZE_MAX, SIZE_MAX}, {PTRDIFF_MAX / 2 + 1, 2},
  };
  for (size_t i = 0; i < sizeof ovf / sizeof ovf[0]; i++) {
    errno = 0;
    q = a->reallocarray(p, opaque(ovf[i][0]), opaque(ovf[i][1]));
    if (q || errno != ENOMEM) {
      FAIL(&bad, "%sreallocarray(p, %zu, %zu) = %p errno %d, expected NULL and ENOMEM",
           a->prefix, ovf[i][0], ovf[i][1], (void *)q, errno);
      if (q)
        p = q;
    }
    errno = 0;
    q = a->reallocarray(NULL, opaque(ovf[i][0]), opaque(ovf[i][1]));
    if (q || errno != ENOMEM) {
      FAIL(&bad, "%sreallocarray(NULL, %zu, %zu) = %p errno %d, expected NULL and ENOMEM",
           a->prefix, ovf[i][0], ovf[i][1], (void *)q, errno);
      a->free(q);
    }
  }
  if (mismatch_pat(p, 100, 9) != 100)
    FAIL(&bad, "a failed %sreallocarray changed the block", a->prefix);
  a->free(p);
  return bad;
}

/* calloc must return zeros even where it reuses memory the program dirtied:
 * in every tier, blocks are filled with 0xa5, freed, and calloc'ed again. */
static int check_calloc_zero(const api_t *a)
{
  static const size_t sizes[] = {1, 8, 16, 24, 100, 512, 1000, 1024, 2000, 4096, 10000,
                                 32768, 40000, 65536, 65537, 100000, MIB, 2 * MIB, 5 * MIB};
  int bad = 0;
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    size_t sz = sizes[si];
    int k = sz <= 65536 ? 64 : 4;
    void *v[64];
    for (int i = 0; i < k; i++) {
      v[i] = a->malloc(sz);
      if (v[i])
        memset(v[i], 0xa5, a->usable(v[i]));
    }
    for (int i = 0; i < k; i++)
      a->free(v[i]);
    for (int i = 0; i < k; i++) {
      /* Alternate the split between count and size. */
      v[i] = i & 1 ? a->calloc(sz, 1) : a->calloc(1, sz);
      if (!check_block(a, &bad, "calloc", v[i], sz, 16, 0)) {
        a->free(v[i]);
        v[i] = NULL;
      }
    }
    /* check_block filled the usable size with zeros; dirty them again. */
    for (int i = 0; i < k; i++)
      if (v[i])
        memset(v[i], 0xa5, sz);
    for (int i = k; i-- > 0;)
      a->free(v[i]);
    for (int i = 0; i < k; i++) {
      unsigned char *p = a->calloc(sz, 1);
      if (!p) {
        FAIL(&bad, "%scalloc(%zu, 1) returned NULL", a->prefix, sz);
        continue;
      }
      size_t at = mismatch_byte(p, sz, 0);
      if (at != sz)
        FAIL(&bad, "%scalloc(%zu, 1) = %p: byte %zu is 0x%02x, not 0", a->prefix, sz, (void *)p,
             at, p[at]);
      v[i] = p;
    }
    for (int i = 0; i < k; i++)
      a->free(v[i]);
  }
  void *z = a->calloc(0, 0);
  if (!z)
    FAIL(&bad, "%scalloc(0, 0) returned NULL", a->prefix);
  a->free(z);
  return bad;
}

/* Every way to ask for too much: NULL with errno ENOMEM. */
static int check_enomem(const api_t *a)
{
  int bad = 0;
  void *p;
#define EXPECT_ENOMEM(expr, text)                                                   \
  do {                                                                              \
    errno = 0;                                                                      \
    p = (expr);                                                                     \
    if (p || errno != ENOMEM) {                                                     \
      FAIL(&bad, "%s%s = %p errno %d, expected NULL and ENOMEM", a->prefix, text, p, \
           errno);                                                                  \
      a->free(p);                                                                   \
    }                                                                               \
  } while (0)
  EXPECT_ENOMEM(a->malloc(opaque(SIZE_MAX)), "malloc(SIZE_MAX)");
  EXPECT_ENOMEM(a->malloc(opaque(SIZE_MAX - 15)), "malloc(SIZE_MAX - 15)");
  EXPECT_ENOMEM(a->malloc(opaque((size_t)PTRDIFF_MAX + 1)), "malloc(PTRDIFF_MAX + 1)");
  EXPECT_ENOMEM(a->malloc(opaque(PTRDIFF_MAX)), "malloc(PTRDIFF_MAX)");
  EXPECT_ENOMEM(a->calloc(opaque(SIZE_MAX / 2 + 1), 2), "calloc(SIZE_MAX / 2 + 1, 2)");
  EXPECT_ENOMEM(a->calloc(2, opaque(SIZE_MAX / 2 + 1)), "calloc(2, SIZE_MAX / 2 + 1)");
  EXPECT_ENOMEM(a->calloc(opaque((size_t)1 << 32), opaque((size_t)1 << 32)), "calloc(2^32, 2^32)");
  EXPECT_ENOMEM(a->calloc(1, opaque(SIZE_MAX)), "calloc(1, SIZE_MAX)");
  EXPECT_ENOMEM(a->calloc(opaque(PTRDIFF_MAX / 2 + 1), 2), "calloc(PTRDIFF_MAX / 2 + 1, 2)");
  EXPECT_ENOMEM(a->realloc(NULL, opaque(SIZE_MAX)), "realloc(NULL, SIZE_MAX)");
  EXPECT_ENOMEM(a->aligned_alloc(64, opaque(SIZE_MAX)), "aligned_alloc(64, SIZE_MAX)");
  EXPECT_ENOMEM(a->aligned_alloc(4096, opaque(SIZE_MAX - 4096)), "aligned_alloc(4096, SIZE_MAX - 4096)");
  EXPECT_ENOMEM(a->aligned_alloc(opaque((size_t)1 << 62), 1), "aligned_alloc(2^62, 1)");
  EXPECT_ENOMEM(a->memalign(4096, opaque(SIZE_MAX - 100)), "memalign(4096, SIZE_MAX - 100)");
  EXPECT_ENOMEM(a->memalign(2 * MIB, opaque((size_t)PTRDIFF_MAX)), "memalign(2 MiB, PTRDIFF_MAX)");
  EXPECT_ENOMEM(a->valloc(opaque(SIZE_MAX)), "valloc(SIZE_MAX)");
  EXPECT_ENOMEM(a->pvalloc(opaque(SIZE_MAX)), "pvalloc(SIZE_MAX)");
  EXPECT_ENOMEM(a->pvalloc(opaque(SIZE_MAX - page_size / 2)), "pvalloc(SIZE_MAX - page/2)");
#undef EXPECT_ENOMEM
  /* posix_memalign reports through its result and leaves *memptr alone. */
  static const size_t sz[] = {SIZE_MAX, SIZE_MAX - 64, (size_t)PTRDIFF_MAX + 1};
  for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
    void *q = &bad;
    int rc = a->posix_memalign(&q, 64, opaque(sz[i]));
    if (rc != ENOMEM || q != &bad) {
      FAIL(&bad, "%sposix_memalign(&q, 64, %zu) = %d (q %p), expected ENOMEM and q untouched",
           a->prefix, sz[i], rc, q);
      if (rc == 0)
        a->free(q);
    }
  }
  return bad;
}

/* posix_memalign with every valid alignment up to 2 MiB and EINVAL for the
 * others; aligned_alloc and memalign with every power of two up to 16 MiB. */
static int check_alignment(const api_t *a)
{
  int bad = 0;
  for (size_t al = 1; al <= 16 * MIB; al <<= 1) {
    size_t sizes[6];
    int ns = 0;
    sizes[ns++] = 1;
    sizes[ns++] = 100;
    sizes[ns++] = al;
    sizes[ns++] = al + 1;
    if (al > 1)
      sizes[ns++] = al - 1;
    if (al <= 2 * MIB)
      sizes[ns++] = 3 * al + 5;
    static live_t l;
    for (int fn = 0; fn < 3; fn++) {
      for (int si = 0; si < ns; si++) {
        size_t s = sizes[si];
        void *p = NULL;
        const char *call;
        if (fn == 0) {
          call = "posix_memalign";
          if (al < sizeof(void *) || al > 2 * MIB)
            continue;
          int rc = a->posix_memalign(&p, al, s);
          if (rc != 0) {
            FAIL(&bad, "%sposix_memalign(&p, %zu, %zu) = %d", a->prefix, al, s, rc);
            continue;
          }
        } else if (fn == 1) {
          call = "aligned_alloc";
          p = a->aligned_alloc(al, s);
        } else {
          call = "memalign";
          p = a->memalign(al, s);
        }
        live_add(a, &bad, &l, call, p, s, al, (unsigned char)(l.n * 13 + 1));
      }
    }
    live_free(a, &bad, &l);
  }
  /* glibc's posix_memalign rules: a power of two multiple of sizeof(void *). */
  static const size_t inval[] = {0, 1, 2, 4, 24, 40, 48, 96, 4104, 3 * MIB};
  for (size_t i = 0; i < sizeof inval / sizeof inval[0]; i++) {
    void *q = &bad;
    int rc = a->posix_memalign(&q, inval[i], 64);
    if (rc != EINVAL || q != &bad) {
      FAIL(&bad, "%sposix_memalign(&q, %zu, 64) = %d (q %p), expected EINVAL and q untouched",
           a->prefix, inval[i], rc, q);
      if (rc == 0)
        a->free(q);
    }
  }
  /* memalign rounds an alignment that is not a power of two up to one. */
  static const size_t odd[][2] = {{0, 16}, {3, 16}, {24, 32}, {48, 64}, {100, 128},
                                  {3000, 4096}, {5000, 8192}, {3 * MIB, 4 * MIB}};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    void *p = a->memalign(odd[i][0], 100);
    if (check_block(a, &bad, "memalign", p, 100, odd[i][1], 0x77) == 0)
      diag("  (memalign(%zu, 100) must be %zu-byte aligned)", odd[i][0], odd[i][1]);
    a->free(p);
    /* aligned_alloc: EINVAL (glibc >= 2.38) or memalign's rounding. */
    errno = 0;
    p = a->aligned_alloc(odd[i][0], 100);
    if (p ? !aligned_to(p, odd[i][1]) || a->usable(p) < 100 : errno != EINVAL)
      FAIL(&bad, "%saligned_alloc(%zu, 100) = %p errno %d: expected NULL and EINVAL, or a block"
           " aligned to %zu", a->prefix, odd[i][0], p, errno, odd[i][1]);
    a->free(p);
  }
  /* An alignment no block can have. */
  errno = 0;
  void *p = a->memalign(opaque(SIZE_MAX / 2 + 2), 1);
  if (p || (errno != EINVAL && errno != ENOMEM))
    FAIL(&bad, "%smemalign(SIZE_MAX / 2 + 2, 1) = %p errno %d, expected NULL and EINVAL or ENOMEM",
         a->prefix, p, errno);
  a->free(p);
  /* A zero size is valid; the pointer, if any, must be freeable. */
  p = &bad;
  int rc = a->posix_memalign(&p, 64, 0);
  if (rc != 0 || (p && !aligned_to(p, 64)))
    FAIL(&bad, "%sposix_memalign(&p, 64, 0) = %d (p %p)", a->prefix, rc, p);
  else
    a->free(p);
  return bad;
}

static int check_valloc(const api_t *a)
{
  const size_t pg = page_size;
  const size_t sizes[] = {0, 1, 100, pg - 1, pg, pg + 1, 5 * pg + 3, MIB + 1, 3 * MIB};
  int bad = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t s = sizes[i];
    void *p = a->valloc(s);
    if (check_block(a, &bad, "valloc", p, s, pg, 0x31) == 0 && p && !aligned_to(p, pg))
      diag("  (valloc must be page aligned)");
    a->free(p);
    size_t rounded = (s + pg - 1) / pg * pg;
    p = a->pvalloc(s);
    size_t u = check_block(a, &bad, "pvalloc", p, rounded, pg, 0x32);
    if (u == 0 && p)
      diag("  (pvalloc(%zu) must be page aligned and hold %zu bytes)", s, rounded);
    a->free(p);
  }
  return bad;
}

/* free, free_sized and free_aligned_sized must return memory for reuse:
 * a million small and a few hundred large round trips may not grow RSS. */
static int check_frees_release(const api_t *a)
{
  int bad = 0;
  const int small = 1000000, large = 300;
  for (int round = 0; round < 3; round++) {
    long before = rss_kib();
    for (int i = 0; i < small; i++) {
      size_t s = 16 + (size_t)(i % 8) * 16;
      char *p = round == 2 ? a->aligned_alloc(16, s) : a->malloc(s);
      if (!p)
        break;
      p[0] = (char)i;
      if (round == 0)
        a->free(p);
      else if (round == 1)
        a->free_sized(p, s);
      else
        a->free_aligned_sized(p, 16, s);
    }
    for (int i = 0; i < large; i++) {
      size_t s = MIB + (size_t)i * 4096;
      char *p = round == 2 ? a->aligned_alloc(4096, s) : a->malloc(s);
      if (!p)
        break;
      memset(p, i, s);
      if (round == 0)
        a->free(p);
      else if (round == 1)
        a->free_sized(p, s);
      else
        a->free_aligned_sized(p, 4096, s);
    }
    long growth = rss_kib() - before;
    static const char *const names[] = {"free", "free_sized", "free_aligned_sized"};
    if (before < 0 || growth > 32 * 1024)
      FAIL(&bad, "RSS grew by %ld KiB over %d small and %d large %s%s round trips", growth,
           small, large, a->prefix, names[round]);
  }
  return bad;
}

static int check_free_edges(const api_t *a)
{
  int bad = 0;
  a->free(NULL);
  a->free_sized(NULL, 0);
  a->free_sized(NULL, 100);
  a->free_aligned_sized(NULL, 64, 0);
  if (a->usable(NULL) != 0)
    FAIL(&bad, "%smalloc_usable_size(NULL) = %zu, expected 0", a->prefix, a->usable(NULL));
  /* free leaves errno alone, in every tier (POSIX.1-2024, glibc >= 2.33). */
  static const size_t tiers[] = {1, 700, 5000, 100000, 5 * MIB};
  for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++) {
    void *p = a->malloc(tiers[i]);
    void *q = a->malloc(tiers[i]);
    void *r = a->aligned_alloc(256, tiers[i]);
    errno = 12345;
    a->free(p);
    a->free_sized(q, tiers[i]);
    a->free_aligned_sized(r, 256, tiers[i]);
    if (errno != 12345)
      FAIL(&bad, "%sfree of a %zu-byte block changed errno to %d", a->prefix, tiers[i], errno);
  }
  return bad;
}

static int check_trim(const api_t *a)
{
  int bad = 0;
  void *v[256];
  for (int i = 0; i < 256; i++) {
    v[i] = a->malloc(100 + (size_t)i * 300);
    if (v[i])
      memset(v[i], 1, 100);
  }
  for (int i = 0; i < 256; i++)
    a->free(v[i]);
  for (size_t pad = 0; pad <= MIB; pad += MIB / 2) {
    int rc = a->trim(pad);
    if (rc != 0 && rc != 1)
      FAIL(&bad, "%smalloc_trim(%zu) = %d, expected 0 or 1", a->prefix, pad, rc);
  }
  /* Memory stays usable after a trim. */
  if (sweep_sizes(a, 1, 70000, 997))
    FAIL(&bad, "allocations after %smalloc_trim failed", a->prefix);
  return bad;
}

typedef struct group {
  const char *what;
  int (*fn)(const api_t *);
} group_t;

static int sweep_small(const api_t *a) { return sweep_sizes(a, 0, 65536, 1); }

static int sweep_large(const api_t *a)
{
  int bad = 0;
  for (size_t s = 64 * KIB; s <= 64 * MIB; s *= 2) {
    const size_t near[] = {s - 1, s, s + 1, s + s / 2, s + 4096 * 3 + 17};
    for (size_t i = 0; i < sizeof near / sizeof near[0]; i++)
      if (near[i] > 65536 && near[i] <= 64 * MIB)
        bad += sweep_sizes(a, near[i], near[i], 1);
  }
  return bad;
}

static const group_t groups[] = {
  {"every size 0..65536: 16-byte aligned, usable >= size, writable, no overlap", sweep_small},
  {"sampled sizes 64 KiB..64 MiB: aligned, usable >= size, writable", sweep_large},
  {"20000 live blocks of random sizes do not overlap", check_no_overlap},
  {"realloc keeps contents across size classes and tiers (grow, shrink, random)",
   check_realloc_contents},
  {"realloc(NULL, n), realloc(p, 0) frees, failed realloc keeps the block", check_realloc_edges},
  {"reallocarray keeps contents and fails with ENOMEM on overflow", check_reallocarray},
  {"calloc zeroes reused dirty memory in every tier", check_calloc_zero},
  {"SIZE_MAX, PTRDIFF_MAX+1, calloc overflow: NULL and ENOMEM", check_enomem},
  {"posix_memalign/aligned_alloc/memalign alignments 1..16 MiB and EINVAL rules",
   check_alignment},
  {"valloc/pvalloc page alignment and pvalloc rounding", check_valloc},
  {"free/free_sized/free_aligned_sized of NULL, usable_size(NULL), errno kept",
   check_free_edges},
  {"free, free_sized and free_aligned_sized release memory (RSS bounded)", check_frees_release},
  {"malloc_trim returns 0 or 1 and memory stays usable", check_trim},
};
#define N_GROUPS (int)(sizeof groups / sizeof groups[0])

static const char *object_of(void *addr)
{
  Dl_info info;
  if (!dladdr(addr, &info) || !info.dli_fname)
    return "?";
  return info.dli_fname;
}

static void check_resolution(void)
{
  /* The definitions the dynamic linker binds, not the program's own PLT
   * entries: malloc must be in the object of hak_malloc (libhakmem, or
   * this program when HAKMEM is linked in statically, where hak_malloc is
   * not exported), which is not the C library's. */
  void *h = dlsym(RTLD_DEFAULT, "hak_malloc");
  const char *om = object_of(dlsym(RTLD_DEFAULT, "malloc"));
  const char *oh = object_of(h ? h : (void *)hak_malloc);
  const char *olibc = object_of(dlsym(RTLD_DEFAULT, "printf"));
  if (!ok(strcmp(om, oh) == 0 && strcmp(om, "?") != 0 && strcmp(om, olibc) != 0,
          "malloc resolves to HAKMEM's object, not the C library"))
    diag("malloc in %s, hak_malloc in %s, printf in %s", om, oh, olibc);
  /* The C library's own calls to malloc (here inside strdup) must reach
   * HAKMEM too; HAKMEM reports a usable size of 0 for memory it does not
   * own. */
  char *s = strdup("a string the C library allocates");
  size_t u = s ? hak_malloc_usable_size(s) : 0;
  if (!ok(s && u > strlen(s), "the C library's internal malloc calls (strdup) reach HAKMEM"))
    diag("hak_malloc_usable_size(strdup(...)) = %zu: the block is not HAKMEM's", u);
  free(s);
  is_int(strcmp(hak_version(), HAKMEM_VERSION_STRING), 0, "hak_version() is \"%s\"",
         HAKMEM_VERSION_STRING);
}

static void check_stats(void)
{
  hak_stats_t st;
  memset(&st, 0xff, sizeof st);
  int rc = hak_stats_get(&st);
  int good = rc == 0 && st.version == HAKMEM_VERSION && st.nclasses > 0 &&
             st.nclasses <= HAK_STATS_MAX_CLASSES;
  for (uint32_t i = 1; good && i < st.nclasses; i++)
    good = st.classes[i].block_size > st.classes[i - 1].block_size;
  if (!ok(good, "hak_stats_get: version, class count and increasing block sizes"))
    diag("rc %d version 0x%x nclasses %u", rc, st.version, st.nclasses);

  /* 10000 live blocks of 100 bytes are counted by the class that holds them
   * (counts may lag by what the thread cache holds). */
  int cls = -1;
  for (uint32_t i = 0; good && i < st.nclasses; i++)
    if (st.classes[i].block_size >= 100) {
      cls = (int)i;
      break;
    }
  uint64_t before = cls >= 0 ? st.classes[cls].allocs : 0;
  enum { N = 10000 };
  void **v = malloc(N * sizeof *v);
  for (int i = 0; i < N; i++)
    v[i] = hak_malloc(100);
  hak_stats_get(&st);
  uint64_t delta = cls >= 0 ? st.classes[cls].allocs - before : 0;
  if (!ok(cls >= 0 && delta >= N - 4096 && delta <= 2 * N + 4096,
          "hak_stats_get counts 10000 allocations of 100 bytes"))
    diag("class %d: allocs grew by %llu", cls, (unsigned long long)delta);
  for (int i = 0; i < N; i++)
    hak_free(v[i]);
  free(v);

  int fds[2];
  if (pipe(fds) != 0)
    bail_out("pipe: %s", strerror(errno));
  rc = hak_stats_print(fds[1]);
  close(fds[1]);
  char buf[4096];
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  ok(rc == 0 && n > 0, "hak_stats_print writes a report (rc %d, %zd bytes read)", rc, n);
  errno = 0;
  rc = hak_stats_print(-1);
  ok(rc == -1 && errno == EBADF, "hak_stats_print(-1) fails with EBADF (rc %d errno %d)", rc,
     errno);
}

int main(void)
{
  alarm(120); /* a hang inside the allocator fails the test: SIGALRM kills */
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  plan(3 + 2 * N_GROUPS + 4);
  check_resolution();
  const api_t *apis[2] = {&std_api, &hak_api};
  for (int ai = 0; ai < 2; ai++)
    for (int g = 0; g < N_GROUPS; g++) {
      double t0 = now_sec();
      int bad = groups[g].fn(apis[ai]);
      ok(bad == 0, "%s: %s", ai ? "hak_*" : "standard names", groups[g].what);
      if (bad)
        diag("%d failures", bad);
      if (now_sec() - t0 > 2.0)
        diag("took %.1f s", now_sec() - t0);
    }
  check_stats();
  return done_testing();
}
