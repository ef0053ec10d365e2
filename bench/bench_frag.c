/* bench_frag ROUNDS COUNT SEED
 *
 * Fragmentation.  Each of ROUNDS rounds allocates COUNT blocks of mixed
 * sizes (70% 16..256 B, 25% 256 B..4 KiB, 5% 4..32 KiB) and frees nine in
 * ten of them at random, so the survivors (one in ten of every round) stay
 * scattered over the memory of all rounds.  Then COUNT blocks of a shifted
 * mix (twice the sizes) are allocated: they can reuse freed memory only if
 * the allocator recycles it across size classes.  Reported, from
 * /proc/self/status: the peak RSS (VmHWM), the RSS right after the last
 * round's frees, and the final RSS with everything still live, next to the
 * bytes the program actually holds.  final_rss_kb / live_kb is the
 * allocator's overhead for this mix.  Every block is written in full, so
 * that its pages are resident.
 */
#include "bench.h"

#define USAGE "bench_frag ROUNDS COUNT SEED"

static size_t mixed_size(bench_rng_t *rng, unsigned scale) {
  uint64_t r = bench_rng_next(rng);
  unsigned pick = (unsigned)(r % 100);
  r >>= 8;
  size_t lo, hi;
  if (pick < 70) {
    lo = 16;
    hi = 256;
  } else if (pick < 95) {
    lo = 256;
    hi = 4096;
  } else {
    lo = 4096;
    hi = 32768;
  }
  return (lo + (size_t)(r % (hi - lo + 1))) * scale;
}

int main(int argc, char **argv) {
  if (argc != 4)
    bench_usage_exit(USAGE);
  uint64_t rounds = bench_arg_u64(argv[1], 1, 1000, "ROUNDS", USAGE);
  uint64_t count = bench_arg_u64(argv[2], 10, 1u << 24, "COUNT", USAGE);
  uint64_t seed = bench_arg_u64(argv[3], 0, UINT64_MAX, "SEED", USAGE);

  /* Every block the program holds at the end: survivors plus the last
   * phase. */
  uint64_t cap = rounds * (count / 10 + 1) + count;
  void **keep = bench_check_alloc(malloc(cap * sizeof *keep), cap * sizeof *keep);
  size_t *keep_size = bench_check_alloc(malloc(cap * sizeof *keep_size), cap * sizeof *keep_size);
  void **cur = bench_check_alloc(malloc(count * sizeof *cur), count * sizeof *cur);
  size_t *cur_size = bench_check_alloc(malloc(count * sizeof *cur_size), count * sizeof *cur_size);
  uint64_t nkeep = 0, ops = 0, live = 0;
  bench_rng_t rng;
  bench_rng_init(&rng, seed);

  double t0 = bench_now();
  for (uint64_t round = 0; round < rounds; round++) {
    for (uint64_t i = 0; i < count; i++) {
      size_t n = mixed_size(&rng, 1);
      cur[i] = bench_check_alloc(malloc(n), n);
      cur_size[i] = n;
      memset(cur[i], bench_tag(i, n), n);
    }
    ops += count;
    for (uint64_t i = 0; i < count; i++) {
      bench_verify(cur[i], cur_size[i], bench_tag(i, cur_size[i]), "bench_frag");
      if (bench_rng_next(&rng) % 10 == 0 && nkeep < cap) {
        keep[nkeep] = cur[i];
        keep_size[nkeep++] = cur_size[i];
        live += cur_size[i];
      } else {
        free(cur[i]);
        ops++;
      }
    }
  }
  long after_free_kb = bench_proc_status_kb("VmRSS");
  uint64_t survivors_live = live;
  for (uint64_t i = 0; i < count / 2 && nkeep < cap; i++) {
    size_t n = mixed_size(&rng, 2);
    keep[nkeep] = bench_check_alloc(malloc(n), n);
    keep_size[nkeep] = n;
    memset(keep[nkeep], bench_tag(nkeep, n), n);
    nkeep++;
    live += n;
    ops++;
  }
  double t1 = bench_now();
  long final_kb = bench_proc_status_kb("VmRSS");
  long peak_kb = bench_proc_status_kb("VmHWM");

  for (uint64_t i = 0; i < nkeep; i++)
    free(keep[i]);
  free(keep);
  free(keep_size);
  free(cur);
  free(cur_size);

  char kv[200], human[200];
  snprintf(kv, sizeof kv,
           "peak_rss_kb=%ld after_free_rss_kb=%ld after_free_live_kb=%llu final_rss_kb=%ld "
           "live_kb=%llu",
           peak_kb, after_free_kb, (unsigned long long)(survivors_live / 1024), final_kb,
           (unsigned long long)(live / 1024));
  snprintf(human, sizeof human,
           "peak RSS %ld KiB; after frees %ld KiB for %llu KiB live; final %ld KiB for %llu KiB "
           "live (x%.2f)",
           peak_kb, after_free_kb, (unsigned long long)(survivors_live / 1024), final_kb,
           (unsigned long long)(live / 1024),
           live >= 1024 ? (double)final_kb / (double)(live / 1024) : 0.0);
  bench_report("bench_frag", ops, t1 - t0, kv, human);
  return 0;
}
