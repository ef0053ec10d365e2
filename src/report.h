/* report.h - the messages HAKMEM writes, and the debug build's traces.
 *
 * Contract: every message goes through hak_msg(), a tiny printf-like
 * formatter that writes with one write(2) call from a stack buffer.  It
 * never allocates and is async-signal-safe, so it serves the crash report
 * too.  The release build has no stdio at all; HAK_TRACE() is the only
 * way to print a trace and compiles to nothing there.
 */
#ifndef HAKMEM_REPORT_H
#define HAKMEM_REPORT_H

#include <stdarg.h>
#include <stddef.h>

#include "config.h"
#include "options.h"

/* Formats into buf (always NUL-terminated, truncated to cap); returns the
 * length.  Conversions: %s %c %d %u %ld %lu %zu %llu %x %lx %zx %p %%. */
size_t hak_vformat(char *buf, size_t cap, const char *fmt, va_list ap);
size_t hak_format(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats and writes to fd in one write(2) (at most 1 KiB). */
void hak_msg(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void hak_report_bad_option(const hak_option_desc *d, const char *text);
void hak_report_unknown_option(const char *entry, size_t namelen);
/* An invalid pointer given to `call` (free, realloc, ...): reports it with
 * the reason and aborts, as glibc does. */
__attribute__((noreturn, cold)) void hak_report_bad_free(const char *call, const void *p,
                                                         const char *why);
/* A broken internal invariant: reports and aborts. */
__attribute__((noreturn, cold)) void hak_report_corruption(const char *what, const void *p);

#ifdef HAKMEM_DEBUG
#include <stdio.h>
#define HAK_TRACE(opt, ...) \
  do { if (hak_opt[opt]) { fprintf(stderr, "hakmem: " __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define HAK_ASSERT(c) \
  do { if (!(c)) hak_report_corruption("assertion failed: " #c, NULL); } while (0)
#else
#define HAK_TRACE(opt, ...) ((void)0)
#define HAK_ASSERT(c) ((void)0)
#endif

#endif
