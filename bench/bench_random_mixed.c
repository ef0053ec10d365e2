/* bench_random_mixed CYCLES WS SEED
 *
 * One thread, a working set of WS slots.  Each operation picks a random
 * slot, frees the block in it (if any) and allocates a new block of 16 to
 * 1040 bytes there, touching both ends.  With WS 256 the live blocks fit
 * in the CPU caches and the allocator's fast path dominates; with WS 8192
 * blocks are spread over many slabs and cache misses weigh in.
 */
#include "bench.h"

#define USAGE "bench_random_mixed CYCLES WS SEED"
#define MIN_SIZE 16
#define MAX_SIZE 1040

int main(int argc, char **argv) {
  if (argc != 4)
    bench_usage_exit(USAGE);
  uint64_t cycles = bench_arg_u64(argv[1], 1, UINT64_MAX / 2, "CYCLES", USAGE);
  uint64_t ws = bench_arg_u64(argv[2], 1, 1u << 24, "WS", USAGE);
  uint64_t seed = bench_arg_u64(argv[3], 0, UINT64_MAX, "SEED", USAGE);

  void **slot = bench_check_alloc(calloc(ws, sizeof *slot), ws * sizeof *slot);
  uint32_t *size = bench_check_alloc(calloc(ws, sizeof *size), ws * sizeof *size);
  bench_rng_t rng;
  bench_rng_init(&rng, seed);

  double t0 = bench_now();
  for (uint64_t i = 0; i < cycles; i++) {
    uint64_t r = bench_rng_next(&rng);
    uint64_t s = r % ws;
    size_t n = MIN_SIZE + (size_t)((r >> 32) % (MAX_SIZE - MIN_SIZE + 1));
    if (slot[s] != NULL) {
      bench_verify(slot[s], size[s], bench_tag(s, size[s]), "bench_random_mixed");
      free(slot[s]);
    }
    slot[s] = bench_check_alloc(malloc(n), n);
    size[s] = (uint32_t)n;
    bench_fill(slot[s], n, bench_tag(s, n));
  }
  double t1 = bench_now();

  for (uint64_t s = 0; s < ws; s++)
    free(slot[s]);
  free(slot);
  free(size);

  char human[64];
  snprintf(human, sizeof human, "working set %llu", (unsigned long long)ws);
  bench_report("bench_random_mixed", cycles, t1 - t0, NULL, human);
  return 0;
}
