/* bench_prodcons PAIRS ITEMS MIN MAX SEED
 *
 * Cross-thread free.  PAIRS producer/consumer pairs; each producer
 * allocates ITEMS blocks of MIN..MAX bytes, writes them and passes them
 * through a bounded single-producer/single-consumer ring to its consumer,
 * which checks and frees them.  Every free is a remote free (a block freed
 * by a thread that did not allocate it), the pattern of pipelines and
 * message passing.  One operation = one malloc in the producer plus one free
 * in the consumer.  With two CPUs or more, the producer and the consumer of
 * a pair are pinned to different CPUs: left to the scheduler, the pair
 * sometimes shares one CPU and takes turns (no cross-core traffic at all),
 * and the figure jumps by a factor of ten between runs.  At most RING_SIZE blocks per pair are in flight, so a
 * growing peak RSS means freed blocks are not reaching the producer again.
 */
#include "bench.h"

#include <stdatomic.h>

#define USAGE "bench_prodcons PAIRS ITEMS MIN MAX SEED"
#define RING_SIZE 1024u /* power of two */

typedef struct item {
  void *p;
  uint32_t size;
  uint32_t tag;
} item_t;

typedef struct pair {
  /* Producer-written and consumer-written indices on separate lines. */
  _Alignas(64) atomic_uint_fast64_t head; /* next slot the producer fills */
  _Alignas(64) atomic_uint_fast64_t tail; /* next slot the consumer takes */
  _Alignas(64) item_t ring[RING_SIZE];
  bench_span_t span; /* producer's start, consumer's end */
  pthread_t producer, consumer;
  int producer_cpu, consumer_cpu; /* -1: not pinned */
  pthread_barrier_t *start;
  uint64_t items, seed;
  size_t min, max;
} pair_t;

static void wait_a_little(unsigned *spins) {
  if (++*spins > 64) {
    sched_yield();
    *spins = 0;
  }
}

static void *producer_run(void *arg) {
  pair_t *q = arg;
  bench_pin_to(q->producer_cpu);
  bench_rng_t rng;
  bench_rng_init(&rng, q->seed);
  uint64_t range = q->max - q->min + 1;
  uint64_t head = 0, tail_seen = 0;
  pthread_barrier_wait(q->start);
  q->span.start = bench_now();
  for (uint64_t i = 0; i < q->items; i++) {
    uint64_t r = bench_rng_next(&rng);
    size_t n = q->min + (size_t)(r % range);
    uint8_t tag = bench_tag(i, n);
    void *p = bench_check_alloc(malloc(n), n);
    bench_fill(p, n, tag);
    unsigned spins = 0;
    while (head - tail_seen == RING_SIZE) {
      tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
      if (head - tail_seen == RING_SIZE)
        wait_a_little(&spins);
    }
    q->ring[head % RING_SIZE] = (item_t){p, (uint32_t)n, tag};
    atomic_store_explicit(&q->head, ++head, memory_order_release);
  }
  return NULL;
}

static void *consumer_run(void *arg) {
  pair_t *q = arg;
  bench_pin_to(q->consumer_cpu);
  uint64_t tail = 0, head_seen = 0;
  pthread_barrier_wait(q->start);
  while (tail < q->items) {
    unsigned spins = 0;
    while (tail == head_seen) {
      head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
      if (tail == head_seen)
        wait_a_little(&spins);
    }
    item_t it = q->ring[tail % RING_SIZE];
    bench_verify(it.p, it.size, (uint8_t)it.tag, "bench_prodcons");
    free(it.p);
    atomic_store_explicit(&q->tail, ++tail, memory_order_release);
  }
  q->span.end = bench_now();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 6)
    bench_usage_exit(USAGE);
  uint64_t npairs = bench_arg_u64(argv[1], 1, 512, "PAIRS", USAGE);
  uint64_t items = bench_arg_u64(argv[2], 1, UINT64_MAX / 1024, "ITEMS", USAGE);
  uint64_t min = bench_arg_u64(argv[3], 1, 1u << 30, "MIN", USAGE);
  uint64_t max = bench_arg_u64(argv[4], min, 1u << 30, "MAX", USAGE);
  uint64_t seed = bench_arg_u64(argv[5], 0, UINT64_MAX, "SEED", USAGE);

  pair_t *q = aligned_alloc(64, npairs * sizeof *q);
  bench_check_alloc(q, npairs * sizeof *q);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2 * (unsigned)npairs + 1);
  for (uint64_t i = 0; i < npairs; i++) {
    memset(&q[i], 0, sizeof q[i]);
    atomic_init(&q[i].head, 0);
    atomic_init(&q[i].tail, 0);
    q[i].start = &start;
    q[i].items = items;
    q[i].seed = seed + i * 104729u;
    q[i].min = min;
    q[i].max = max;
    q[i].producer_cpu = bench_cpu(2 * i);
    q[i].consumer_cpu = bench_cpu(2 * i + 1);
    if (pthread_create(&q[i].producer, NULL, producer_run, &q[i]) != 0 ||
        pthread_create(&q[i].consumer, NULL, consumer_run, &q[i]) != 0) {
      fprintf(stderr, "bench_prodcons: pthread_create failed\n");
      return 1;
    }
  }
  pthread_barrier_wait(&start);
  for (uint64_t i = 0; i < npairs; i++) {
    pthread_join(q[i].producer, NULL);
    pthread_join(q[i].consumer, NULL);
  }
  double seconds = bench_span_seconds(&q[0].span, npairs, sizeof *q);
  pthread_barrier_destroy(&start);
  free(q);

  char human[96];
  snprintf(human, sizeof human, "%llu pairs, %llu..%llu B", (unsigned long long)npairs,
           (unsigned long long)min, (unsigned long long)max);
  bench_report("bench_prodcons", npairs * items, seconds, NULL, human);
  return 0;
}
