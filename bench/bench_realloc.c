/* bench_realloc CYCLES SLOTS MAXSIZE SEED
 *
 * Growing and shrinking buffers.  SLOTS buffers start at 16 bytes.  Each
 * operation picks a random slot and reallocs its buffer: a growing buffer
 * takes about 1.5 times its size (plus a random few bytes) until it passes
 * MAXSIZE, then shrinks by half each time down to 64 bytes, and so on.  The
 * sizes sweep every tier from tiny to huge, so the figure covers in-place
 * growth, moves between tiers, copies and (for large blocks) mremap.  The
 * first and last bytes are checked to have been carried over.
 */
#include "bench.h"

#define USAGE "bench_realloc CYCLES SLOTS MAXSIZE SEED"

typedef struct buffer {
  unsigned char *p;
  size_t size;
  int shrinking;
} buffer_t;

int main(int argc, char **argv) {
  if (argc != 5)
    bench_usage_exit(USAGE);
  uint64_t cycles = bench_arg_u64(argv[1], 1, UINT64_MAX / 2, "CYCLES", USAGE);
  uint64_t nslots = bench_arg_u64(argv[2], 1, 1u << 20, "SLOTS", USAGE);
  uint64_t maxsize = bench_arg_u64(argv[3], 128, (uint64_t)1 << 34, "MAXSIZE", USAGE);
  uint64_t seed = bench_arg_u64(argv[4], 0, UINT64_MAX, "SEED", USAGE);

  buffer_t *b = bench_check_alloc(calloc(nslots, sizeof *b), nslots * sizeof *b);
  bench_rng_t rng;
  bench_rng_init(&rng, seed);
  uint64_t bytes_moved = 0;

  double t0 = bench_now();
  for (uint64_t i = 0; i < cycles; i++) {
    uint64_t r = bench_rng_next(&rng);
    buffer_t *x = &b[r % nslots];
    size_t old = x->size, n;
    if (old == 0) {
      n = 16;
    } else if (!x->shrinking) {
      n = old + old / 2 + (size_t)((r >> 32) % 64);
      if (n > maxsize) {
        x->shrinking = 1;
        n = old / 2;
      }
    } else {
      n = old / 2;
      if (n < 64) {
        x->shrinking = 0;
        n = 64;
      }
    }
    unsigned char *p = realloc(x->p, n);
    bench_check_alloc(p, n);
    if (old != 0) {
      uint8_t t = bench_tag((uint64_t)(x - b), old);
      size_t keep = old < n ? old : n;
      if (p[0] != t || (keep == old && p[old - 1] != t)) {
        fprintf(stderr, "bench_realloc: realloc from %zu to %zu bytes lost the contents\n", old,
                n);
        return 1;
      }
    }
    bench_fill(p, n, bench_tag((uint64_t)(x - b), n));
    x->p = p;
    x->size = n;
    bytes_moved += n;
  }
  double t1 = bench_now();

  for (uint64_t s = 0; s < nslots; s++)
    free(b[s].p);
  free(b);

  char kv[64], human[96];
  snprintf(kv, sizeof kv, "avg_size=%llu", (unsigned long long)(bytes_moved / cycles));
  snprintf(human, sizeof human, "%llu buffers up to %llu B, average size %llu B",
           (unsigned long long)nslots, (unsigned long long)maxsize,
           (unsigned long long)(bytes_moved / cycles));
  bench_report("bench_realloc", cycles, t1 - t0, kv, human);
  return 0;
}
