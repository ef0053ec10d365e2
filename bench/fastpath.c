/* fastpath MODE PAIRS [SIZE]
 *
 * The allocator's fast path, for instruction counting under callgrind.
 * MODE is one of
 *   pair        PAIRS times: p = malloc(SIZE); free(p)   (immediate reuse)
 *   batch       rounds of 1000 mallocs then 1000 frees, PAIRS pairs in all
 *               (rounded up to a multiple of 1000)
 *   pair-empty, batch-empty
 *               the same loops without the calls: what the loop itself
 *               costs
 *   pair-nop, batch-nop
 *               the same loops calling two do-nothing functions instead of
 *               malloc and free: the loop plus the cost of the calls
 * SIZE defaults to 32 bytes.
 *
 * Instructions per pair, with start-up and loop overhead removed, come
 * from two runs of each loop with different PAIRS (bench/run --callgrind
 * does this):  (I(mode, N2) - I(mode, N1)) / (N2 - N1), minus the same for
 * MODE-empty.  Subtracting MODE-nop instead also removes the call and
 * return instructions and the argument moves, leaving (about) the
 * allocator's own instructions.
 */
#include "bench.h"

#define USAGE "fastpath pair|batch|pair-empty|batch-empty|pair-nop|batch-nop PAIRS [SIZE]"
#define BATCH 1000

#if defined(__has_attribute)
#if __has_attribute(noipa)
#define BENCH_OPAQUE __attribute__((noipa))
#endif
#endif
#ifndef BENCH_OPAQUE
#define BENCH_OPAQUE __attribute__((noinline))
#endif

static _Alignas(16) unsigned char nop_block[64];

/* Stand-ins for malloc and free that the compiler may neither inline nor
 * look into. */
BENCH_OPAQUE static void *nop_malloc(size_t size) {
  (void)size;
  return nop_block;
}

BENCH_OPAQUE static void nop_free(void *p) {
  (void)p;
}

static void *slots[BATCH];

static void run_pair(uint64_t pairs, size_t size) {
  for (uint64_t i = 0; i < pairs; i++) {
    void *p = malloc(size);
    bench_escape(p);
    free(p);
  }
}

static void run_pair_nop(uint64_t pairs, size_t size) {
  for (uint64_t i = 0; i < pairs; i++) {
    void *p = nop_malloc(size);
    bench_escape(p);
    nop_free(p);
  }
}

static void run_pair_empty(uint64_t pairs, size_t size) {
  (void)size;
  for (uint64_t i = 0; i < pairs; i++)
    bench_escape(nop_block);
}

static void run_batch(uint64_t rounds, size_t size) {
  for (uint64_t r = 0; r < rounds; r++) {
    for (int i = 0; i < BATCH; i++)
      slots[i] = malloc(size);
    bench_escape(slots);
    for (int i = 0; i < BATCH; i++)
      free(slots[i]);
  }
}

static void run_batch_nop(uint64_t rounds, size_t size) {
  for (uint64_t r = 0; r < rounds; r++) {
    for (int i = 0; i < BATCH; i++)
      slots[i] = nop_malloc(size);
    bench_escape(slots);
    for (int i = 0; i < BATCH; i++)
      nop_free(slots[i]);
  }
}

static void run_batch_empty(uint64_t rounds, size_t size) {
  (void)size;
  for (uint64_t r = 0; r < rounds; r++) {
    for (int i = 0; i < BATCH; i++) {
      slots[i] = nop_block;
      bench_escape(slots);
    }
    for (int i = 0; i < BATCH; i++)
      bench_escape(slots[i]);
  }
}

static const struct {
  const char *name;
  void (*run)(uint64_t, size_t);
  int batched;
} modes[] = {
    {"pair", run_pair, 0},           {"batch", run_batch, 1},
    {"pair-empty", run_pair_empty, 0}, {"batch-empty", run_batch_empty, 1},
    {"pair-nop", run_pair_nop, 0},   {"batch-nop", run_batch_nop, 1},
};

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4)
    bench_usage_exit(USAGE);
  uint64_t pairs = bench_arg_u64(argv[2], 1, UINT64_MAX / 2, "PAIRS", USAGE);
  size_t size = argc == 4 ? (size_t)bench_arg_u64(argv[3], 0, 1u << 30, "SIZE", USAGE) : 32;
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    if (strcmp(argv[1], modes[m].name) != 0)
      continue;
    uint64_t reps = modes[m].batched ? (pairs + BATCH - 1) / BATCH : pairs;
    uint64_t done = modes[m].batched ? reps * BATCH : pairs;
    double t0 = bench_now();
    modes[m].run(reps, size);
    double t1 = bench_now();
    char kv[64], human[64];
    snprintf(kv, sizeof kv, "pairs=%llu size=%zu", (unsigned long long)done, size);
    snprintf(human, sizeof human, "%s of %zu-byte blocks", modes[m].name, size);
    bench_report("fastpath", done, t1 - t0, kv, human);
    return 0;
  }
  bench_usage_exit(USAGE);
}
