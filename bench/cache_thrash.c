/* cache_thrash THREADS ITERATIONS OBJSIZE REPETITIONS
 *
 * Active false sharing: see bench_cache.h.
 */
#include "bench_cache.h"

int main(int argc, char **argv) {
  return cache_main(argc, argv, "cache_thrash", 0);
}
