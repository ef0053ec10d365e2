/* bench.h - helpers shared by the HAKMEM benchmark programs.
 *
 * Every benchmark uses the plain malloc API of whatever allocator the
 * process runs on (glibc, or another one through LD_PRELOAD), takes its
 * parameters on the command line, and prints two lines: one of key=value
 * pairs for bench/run to parse (always starting with ops_per_sec=) and one
 * for a person (starting with "# ").
 */
#ifndef HAKMEM_BENCH_H
#define HAKMEM_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CPU affinity */
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Random numbers: splitmix64, small and the same on every platform, so a
 * seed gives every allocator the same sequence of requests. */
typedef struct bench_rng {
  uint64_t state;
} bench_rng_t;

static inline void bench_rng_init(bench_rng_t *r, uint64_t seed) {
  r->state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
}

static inline uint64_t bench_rng_next(bench_rng_t *r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* A number in [lo, hi]; the tiny modulo bias does not matter here. */
static inline uint64_t bench_rng_range(bench_rng_t *r, uint64_t lo, uint64_t hi) {
  return lo + bench_rng_next(r) % (hi - lo + 1);
}

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Threaded benchmarks time each thread from its start (after the start
 * barrier) to the end of its loop and report the span from the earliest
 * start to the latest end: the main thread may be descheduled while the
 * workers run, so its own clock would not see the work. */
typedef struct bench_span {
  double start, end;
} bench_span_t;

static inline double bench_span_seconds(const bench_span_t *s, size_t n, size_t stride) {
  double lo = 0, hi = 0;
  for (size_t i = 0; i < n; i++) {
    const bench_span_t *x = (const bench_span_t *)((const char *)s + i * stride);
    if (i == 0 || x->start < lo)
      lo = x->start;
    if (i == 0 || x->end > hi)
      hi = x->end;
  }
  return hi - lo;
}

/* The i-th of the CPUs this process may run on (cyclically), or -1 when
 * it may run on fewer than two.  Benchmarks whose threads measure
 * something only while they run on different CPUs (false sharing,
 * cross-core frees) pin them there: left to the scheduler, two threads
 * sometimes share one CPU and take turns, and the figure halves or worse
 * from one run to the next. */
static inline int bench_cpu(uint64_t i) {
  static int cpus[CPU_SETSIZE], ncpus = -1;
  if (ncpus < 0) {
    cpu_set_t allowed;
    ncpus = 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
      for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &allowed))
          cpus[ncpus++] = c;
  }
  return ncpus >= 2 ? cpus[i % (uint64_t)ncpus] : -1;
}

/* Pins the calling thread to cpu (nothing for -1). */
static inline void bench_pin_to(int cpu) {
  if (cpu < 0)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* The first member of every threaded benchmark's worker. */
typedef struct bench_thread {
  bench_span_t span;
  pthread_t tid;
  pthread_barrier_t *start;
} bench_thread_t;

/* Starts n workers running fn (worker t at first + t * stride, each
 * beginning with a bench_thread_t), releases them together, waits for them
 * and returns the span of their loops in seconds.  Exits on failure. */
static inline double bench_run_workers(void *first, size_t stride, uint64_t n,
                                       void *(*fn)(void *), const char *name) {
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)n + 1);
  for (uint64_t t = 0; t < n; t++) {
    bench_thread_t *w = (bench_thread_t *)((char *)first + t * stride);
    w->start = &start;
    int rc = pthread_create(&w->tid, NULL, fn, w);
    if (rc != 0) {
      fprintf(stderr, "%s: pthread_create: %s\n", name, strerror(rc));
      exit(1);
    }
  }
  pthread_barrier_wait(&start);
  for (uint64_t t = 0; t < n; t++)
    pthread_join(((bench_thread_t *)((char *)first + t * stride))->tid, NULL);
  pthread_barrier_destroy(&start);
  return bench_span_seconds(&((bench_thread_t *)first)->span, n, stride);
}

/* Keeps the compiler from removing a malloc/free pair whose block is not
 * otherwise used, without adding any instruction. */
static inline void bench_escape(void *p) {
  __asm__ volatile("" : : "r"(p) : "memory");
}

_Noreturn static inline void bench_usage_exit(const char *usage) {
  fprintf(stderr, "usage: %s\n", usage);
  exit(2);
}

/* Parses argv[i] as an unsigned integer in [min, max] or exits with the
 * usage line. */
static inline uint64_t bench_arg_u64(const char *s, uint64_t min, uint64_t max,
                                     const char *name, const char *usage) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
    fprintf(stderr, "bad %s '%s' (expected %llu..%llu)\n", name, s,
            (unsigned long long)min, (unsigned long long)max);
    bench_usage_exit(usage);
  }
  return v;
}

static inline double bench_arg_double(const char *s, double min, double max,
                                      const char *name, const char *usage) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
    fprintf(stderr, "bad %s '%s' (expected %g..%g)\n", name, s, min, max);
    bench_usage_exit(usage);
  }
  return v;
}

/* Allocation failure ends the benchmark: the figures would mean nothing. */
static inline void *bench_check_alloc(void *p, size_t size) {
  if (p == NULL) {
    fprintf(stderr, "allocation of %zu bytes failed\n", size);
    exit(1);
  }
  return p;
}

/* Blocks carry a tag byte at both ends, written at allocation and checked
 * before the block is freed: a block handed out twice, or overwritten by
 * the allocator while in use, stops the benchmark with a message. */
static inline uint8_t bench_tag(uint64_t slot, size_t size) {
  return (uint8_t)(slot * 31u + size * 7u + 1u);
}

static inline void bench_fill(void *p, size_t size, uint8_t tag) {
  unsigned char *c = p;
  c[0] = tag;
  c[size - 1] = tag;
}

static inline void bench_verify(const void *p, size_t size, uint8_t tag, const char *what) {
  const unsigned char *c = p;
  if (c[0] != tag || c[size - 1] != tag) {
    fprintf(stderr, "%s: block %p of %zu bytes was corrupted (tag %u, found %u/%u)\n",
            what, p, size, tag, c[0], c[size - 1]);
    exit(1);
  }
}

/* Resident set figures of this process from /proc/self/status, in KiB
 * (VmRSS now, VmHWM the peak); 0 when the line is missing. */
static inline long bench_proc_status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  size_t klen = strlen(key);
  long v = 0;
  if (f == NULL)
    return 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      v = strtol(line + klen + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return v;
}

/* The two result lines every benchmark prints. */
static inline void bench_report(const char *name, uint64_t ops, double seconds,
                                const char *extra_kv, const char *human) {
  double rate = seconds > 0 ? (double)ops / seconds : 0;
  printf("ops_per_sec=%.0f ops=%llu seconds=%.6f%s%s\n", rate, (unsigned long long)ops,
         seconds, extra_kv && *extra_kv ? " " : "", extra_kv ? extra_kv : "");
  printf("# %s: %llu ops in %.3f s = %.2f M ops/s%s%s\n", name, (unsigned long long)ops,
         seconds, rate / 1e6, human && *human ? ", " : "", human ? human : "");
  fflush(stdout);
}

#endif
