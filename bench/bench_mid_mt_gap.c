/* bench_mid_mt_gap THREADS CYCLES WS SEED
 *
 * Multi-threaded random replacement of 1 KiB to 8 KiB blocks: the range
 * just above the tiny tier, where many allocators switch strategy (the
 * "gap" between small-object caches and page-level allocation).  Each
 * thread owns WS slots (256 in bench/run) and frees only its own blocks.
 */
#include "bench_mt.h"

int main(int argc, char **argv) {
  return mt_replace_main(argc, argv, "bench_mid_mt_gap", "bench_mid_mt_gap THREADS CYCLES WS SEED",
                         1024, 8192);
}
