/* tap.h - a small TAP (Test Anything Protocol) producer for HAKMEM's tests.
 *
 * Output goes to stdout, which build-aux/tap-driver.sh reads: a plan line
 * "1..N", one "ok K - text" or "not ok K - text" line per check, "# text"
 * diagnostics, "ok K # SKIP reason" for a check that cannot run here and
 * "Bail out! reason" when the test cannot go on.  Every call flushes, so
 * the log is complete even when a later check kills the process.  Only the
 * main thread calls these functions.
 */
#ifndef HAKMEM_TESTS_TAP_H
#define HAKMEM_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
  int planned; /* number from plan(), or -1 */
  int run;     /* checks reported so far */
  int failed;  /* of which failed */
} tap_state __attribute__((unused)) = {-1, 0, 0};

static inline void plan(int n)
{
  tap_state.planned = n;
  printf("1..%d\n", n);
  fflush(stdout);
}

static inline void vdiag(const char *fmt, va_list ap)
{
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  /* Each line of a diagnostic gets its own "# " so the TAP stays valid. */
  for (char *line = buf, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (*line || next)
      printf("# %s\n", line);
  }
  fflush(stdout);
}

static inline __attribute__((format(printf, 1, 2))) void diag(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vdiag(fmt, ap);
  va_end(ap);
}

static inline void vok(int cond, const char *fmt, va_list ap)
{
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  tap_state.run++;
  if (!cond)
    tap_state.failed++;
  printf("%sok %d - %s\n", cond ? "" : "not ", tap_state.run, buf);
  fflush(stdout);
}

/* Reports one check; returns cond so callers can add diagnostics. */
static inline __attribute__((format(printf, 2, 3))) int ok(int cond, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vok(cond, fmt, ap);
  va_end(ap);
  return cond;
}

/* Passes when got == want; on failure prints both values. */
static inline __attribute__((format(printf, 3, 4))) int is_int(long long got, long long want,
                                                               const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vok(got == want, fmt, ap);
  va_end(ap);
  if (got != want)
    diag("  got: %lld\n  expected: %lld", got, want);
  return got == want;
}

/* Reports n checks as skipped. */
static inline void skip(int n, const char *reason)
{
  while (n-- > 0) {
    tap_state.run++;
    printf("ok %d # SKIP %s\n", tap_state.run, reason);
  }
  fflush(stdout);
}

/* The whole test cannot run here: a plan of zero with the reason. */
static inline __attribute__((noreturn)) void skip_all(const char *reason)
{
  printf("1..0 # SKIP %s\n", reason);
  fflush(stdout);
  exit(0);
}

static inline __attribute__((noreturn, format(printf, 1, 2))) void bail_out(const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  printf("Bail out! %s\n", buf);
  fflush(stdout);
  exit(1);
}

/* The exit status for main: 0 when every planned check ran and passed. */
static inline int done_testing(void)
{
  if (tap_state.planned >= 0 && tap_state.run != tap_state.planned) {
    diag("planned %d checks but ran %d", tap_state.planned, tap_state.run);
    return 1;
  }
  if (tap_state.planned < 0) {
    printf("1..%d\n", tap_state.run);
    fflush(stdout);
  }
  return tap_state.failed ? 1 : 0;
}

#endif
