/* cache_scratch THREADS ITERATIONS OBJSIZE REPETITIONS
 *
 * Passive false sharing: see bench_cache.h.
 */
#include "bench_cache.h"

int main(int argc, char **argv) {
  return cache_main(argc, argv, "cache_scratch", 1);
}
