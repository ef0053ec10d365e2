/* testutil.h - small helpers shared by HAKMEM's test programs: a fast
 * pseudo-random generator, a monotonic clock, the resident set size, a
 * way to hide constants from the compiler's allocation-size checks, and a
 * thread run to its end. */
#ifndef HAKMEM_TESTS_TESTUTIL_H
#define HAKMEM_TESTS_TESTUTIL_H

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

/* xorshift64*: deterministic per seed, cheap enough to call per allocation. */
static inline uint64_t rng_next(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t rng_seed(uint64_t v)
{
  /* splitmix64 of v, never 0 (xorshift would stay at 0). */
  uint64_t z = v + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return z ? z : 1;
}

static inline double now_sec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmSize"), or -1.  Reads
 * with open/read into a stack buffer so that measuring does not allocate. */
static inline long status_kib(const char *field)
{
  char buf[4096], key[32];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  snprintf(key, sizeof key, "\n%s:", field);
  const char *p = strstr(buf, key);
  return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* VmRSS of this process in KiB, or -1. */
static inline long rss_kib(void)
{
  return status_kib("VmRSS");
}

/* Returns v through a volatile, so the compiler cannot see a constant size
 * (it would warn about, or fold, allocations it knows must fail). */
static inline size_t opaque(size_t v)
{
  volatile size_t x = v;
  return x;
}

/* Runs fn(arg) in a new thread and waits for it (the thread's exit runs
 * HAKMEM's thread-exit handler before the join returns). */
static inline void run_thread(void *(*fn)(void *), void *arg)
{
  pthread_t t;
  if (pthread_create(&t, NULL, fn, arg) != 0)
    bail_out("pthread_create failed");
  if (pthread_join(t, NULL) != 0)
    bail_out("pthread_join failed");
}

#endif
