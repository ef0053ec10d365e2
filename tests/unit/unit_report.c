/* unit_report.c - the write(2)-based formatter and reporter (src/report.c).
 *
 * Each conversion hak_format() supports is compared with the C library's
 * snprintf for the same arguments (extremes and negative numbers
 * included; %p is written as 0x followed by hex digits).  Truncation: for
 * every buffer size from 0 up, the output must be the prefix of the full
 * output that fits, NUL-terminated, with the length returned.  hak_msg()
 * must write the whole message to the file descriptor in one piece and
 * leave errno as it was. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define CHECK_FMT(want, ...)                                                          \
  do {                                                                                \
    char buf_[256];                                                                   \
    memset(buf_, 'X', sizeof buf_);                                                   \
    size_t n_ = hak_format(buf_, sizeof buf_, __VA_ARGS__);                            \
    if (!ok(strcmp(buf_, want) == 0 && n_ == strlen(want), "%s -> \"%s\"", #__VA_ARGS__, \
            want))                                                                    \
      diag("  got \"%.*s\" (length %zu)", (int)strnlen(buf_, sizeof buf_), buf_, n_);   \
  } while (0)

static void conversions(void)
{
  char want[256];
  const char *volatile no_string = NULL; /* hidden from the compiler's format checks */
  CHECK_FMT("plain text", "plain text");
  CHECK_FMT("abc|def", "%s|%s", "abc", "def");
  CHECK_FMT("(null)", "%s", no_string);
  CHECK_FMT("x", "%c", 'x');
  CHECK_FMT("0 -1 42", "%d %d %d", 0, -1, 42);
  snprintf(want, sizeof want, "%d %d", INT_MIN, INT_MAX);
  CHECK_FMT(want, "%d %d", INT_MIN, INT_MAX);
  snprintf(want, sizeof want, "%u", UINT_MAX);
  CHECK_FMT(want, "%u", UINT_MAX);
  snprintf(want, sizeof want, "%ld %ld", LONG_MIN, LONG_MAX);
  CHECK_FMT(want, "%ld %ld", LONG_MIN, LONG_MAX);
  snprintf(want, sizeof want, "%lu", ULONG_MAX);
  CHECK_FMT(want, "%lu", ULONG_MAX);
  snprintf(want, sizeof want, "%zu", SIZE_MAX);
  CHECK_FMT(want, "%zu", SIZE_MAX);
  snprintf(want, sizeof want, "%llu", ULLONG_MAX);
  CHECK_FMT(want, "%llu", ULLONG_MAX);
  CHECK_FMT("deadbeef 0 ff", "%x %x %x", 0xdeadbeefu, 0u, 255u);
  CHECK_FMT("ffffffffffffffff", "%lx", ULONG_MAX);
  CHECK_FMT("1000", "%zx", (size_t)4096);
  CHECK_FMT("0x1234 0x7fffabcd0000", "%p %p", (void *)0x1234, (void *)0x7fffabcd0000);
  CHECK_FMT("100%", "100%%");
  CHECK_FMT("a%b", "a%%b");
  CHECK_FMT("-7 items at 0x10: 50% of 14", "%d items at %p: %u%% of %zu", -7, (void *)16, 50u,
            (size_t)14);
}

/* The output for every buffer size must be the prefix of the full one. */
#define CHECK_TRUNC(...)                                                              \
  do {                                                                                \
    char full_[256], buf_[256];                                                       \
    size_t len_ = hak_format(full_, sizeof full_, __VA_ARGS__), bad_ = 0, first_ = 0; \
    for (size_t cap_ = 1; cap_ <= len_ + 1; cap_++) {                                 \
      memset(buf_, 'X', sizeof buf_);                                                 \
      size_t n_ = hak_format(buf_, cap_, __VA_ARGS__);                                 \
      size_t fit_ = len_ < cap_ - 1 ? len_ : cap_ - 1;                                \
      if ((n_ != fit_ || memcmp(buf_, full_, fit_) != 0 || buf_[fit_] != '\0' ||      \
           buf_[cap_] != 'X') && bad_++ == 0)                                         \
        first_ = cap_;                                                                \
    }                                                                                 \
    if (!ok(bad_ == 0, "%s: every buffer size gives the prefix that fits", #__VA_ARGS__)) { \
      char b_[256];                                                                   \
      memset(b_, 0, sizeof b_);                                                       \
      hak_format(b_, first_, __VA_ARGS__);                                            \
      diag("  full \"%s\"; buffer of %zu gives \"%s\"", full_, first_, b_);          \
    }                                                                                 \
  } while (0)

static void truncation(void)
{
  char buf[8];
  memset(buf, 'X', sizeof buf);
  ok(hak_format(buf, 0, "abc") == 0 && buf[0] == 'X', "a buffer of size 0 is not written");
  ok(hak_format(buf, 1, "abc") == 0 && buf[0] == '\0', "a buffer of size 1 gets an empty string");
  memset(buf, 'X', sizeof buf);
  ok(hak_format(buf, 5, "hello world") == 4 && strcmp(buf, "hell") == 0 && buf[5] == 'X',
     "\"hello world\" in 5 bytes -> \"hell\", nothing written beyond");
  CHECK_TRUNC("hello world");
  CHECK_TRUNC("%s=%s", "name", "value");
  CHECK_TRUNC("n=%d", -123456);
  CHECK_TRUNC("%lu bytes", 18446744073709551615ul);
  CHECK_TRUNC("%x", 0xabcdefu);
  CHECK_TRUNC("at %p", (void *)0x7f0012345678);
  CHECK_TRUNC("%%%d%%", 5);
}

/* Formats the compiler would reject: checked on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
static void unknown_conversion(void)
{
  char buf[32];
  memset(buf, 'X', sizeof buf);
  size_t n = hak_format(buf, sizeof buf, "ab%q");
  ok(memchr(buf, '\0', sizeof buf) && strlen(buf) == n && strncmp(buf, "ab", 2) == 0,
     "an unknown conversion still leaves a NUL-terminated buffer (length %zu)", n);
  memset(buf, 'X', sizeof buf);
  n = hak_format(buf, sizeof buf, "ab%");
  ok(memchr(buf, '\0', sizeof buf) && strlen(buf) == n && strncmp(buf, "ab", 2) == 0,
     "so does a '%%' at the end of the format (length %zu)", n);
}
#pragma GCC diagnostic pop

static void message(void)
{
  int fds[2];
  if (pipe(fds) != 0)
    bail_out("pipe: %s", strerror(errno));
  errno = 1234;
  hak_msg(fds[1], "hakmem: %s(%p): %s %d\n", "free", (void *)0x1000, "test", -5);
  int kept = errno;
  char buf[256];
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = '\0';
  if (!ok(strcmp(buf, "hakmem: free(0x1000): test -5\n") == 0, "hak_msg writes the formatted message"))
    diag("  got \"%s\"", buf);
  is_int(kept, 1234, "and leaves errno alone");
  close(fds[0]);
  errno = 4321;
  hak_msg(fds[1], "x\n"); /* the read end is closed: write fails with EPIPE */
  is_int(errno, 4321, "a failed write leaves errno alone too");
  close(fds[1]);
}

int main(void)
{
  unit_watchdog(60);
  signal(SIGPIPE, SIG_IGN);
  plan(18 + 10 + 2 + 3);
  conversions();
  truncation();
  unknown_conversion();
  message();
  return done_testing();
}
