/* bench_mid_large_mt THREADS CYCLES WS SEED
 *
 * Multi-threaded random replacement of 8 KiB to 32 KiB blocks: the top of
 * the mid tier up to the start of page-span (large) allocation.  Each
 * thread owns WS slots and frees only its own blocks.
 */
#include "bench_mt.h"

int main(int argc, char **argv) {
  return mt_replace_main(argc, argv, "bench_mid_large_mt",
                         "bench_mid_large_mt THREADS CYCLES WS SEED", 8192, 32768);
}
