/* report.c - write(2)-based messages (see report.h). */
#include "report.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Output that keeps the longest prefix that fits, always NUL-terminated. */
struct out {
  char *buf;
  size_t cap, n;
};

static void put_c(struct out *o, char c)
{
  if (o->n + 1 < o->cap)
    o->buf[o->n++] = c;
}

static void put_s(struct out *o, const char *s)
{
  while (*s)
    put_c(o, *s++);
}

static void put_u64(struct out *o, unsigned long long v, unsigned base)
{
  char tmp[24];
  size_t k = 0;
  do {
    unsigned d = (unsigned)(v % base);
    tmp[k++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v);
  while (k)
    put_c(o, tmp[--k]);
}

size_t hak_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
  struct out o = {buf, cap, 0};
  if (cap == 0)
    return 0;
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      put_c(&o, *f);
      continue;
    }
    f++;
    int lng = 0, sz = 0;
    while (*f == 'l') {
      lng++;
      f++;
    }
    if (*f == 'z') {
      sz = 1;
      f++;
    }
    unsigned long long u;
    long long v;
    switch (*f) {
    case 's': {
      const char *str = va_arg(ap, const char *);
      put_s(&o, str ? str : "(null)");
      break;
    }
    case 'c':
      put_c(&o, (char)va_arg(ap, int));
      break;
    case 'd':
      v = lng == 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : sz ? (long long)va_arg(ap, ssize_t) : va_arg(ap, int);
      if (v < 0)
        put_c(&o, '-');
      put_u64(&o, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, 10);
      break;
    case 'u':
    case 'x':
      u = lng == 2 ? va_arg(ap, unsigned long long) : lng ? va_arg(ap, unsigned long)
        : sz ? va_arg(ap, size_t) : va_arg(ap, unsigned);
      put_u64(&o, u, *f == 'x' ? 16 : 10);
      break;
    case 'p':
      put_s(&o, "0x");
      put_u64(&o, (uintptr_t)va_arg(ap, void *), 16);
      break;
    case '%':
      put_c(&o, '%');
      break;
    default: /* unknown conversion: stop rather than misread arguments */
      buf[o.n] = '\0';
      return o.n;
    }
  }
  buf[o.n] = '\0';
  return o.n;
}

size_t hak_format(char *buf, size_t cap, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  size_t n = hak_vformat(buf, cap, fmt, ap);
  va_end(ap);
  return n;
}

void hak_msg(int fd, const char *fmt, ...)
{
  char buf[1024];
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  size_t n = hak_vformat(buf, sizeof buf, fmt, ap);
  va_end(ap);
  for (size_t off = 0; off < n;) {
    ssize_t w = write(fd, buf + off, n - off);
    if (w <= 0) {
      if (w < 0 && errno == EINTR)
        continue;
      break;
    }
    off += (size_t)w;
  }
  errno = saved;
}

void hak_report_bad_option(const hak_option_desc *d, const char *text)
{
  if (d->type == HAK_OPT_BOOL)
    hak_msg(2, "hakmem: %s='%s' is not 0 or 1; using the default %ld\n", d->name, text, d->def);
  else
    hak_msg(2, "hakmem: %s='%s' is not a number from %ld to %ld; using the default %ld\n",
            d->name, text, d->min, d->max, d->def);
}

void hak_report_unknown_option(const char *entry, size_t namelen)
{
  char name[128];
  if (namelen >= sizeof name)
    namelen = sizeof name - 1;
  memcpy(name, entry, namelen);
  name[namelen] = '\0';
  hak_msg(2, "hakmem: unknown variable %s ignored (see hakmem(7) or `hakmem-config env`)\n", name);
}

void hak_report_bad_free(const char *call, const void *p, const char *why)
{
  hak_msg(2, "hakmem: %s(%p): %s\n", call, p, why);
  abort();
}

void hak_report_corruption(const char *what, const void *p)
{
  hak_msg(2, "hakmem: heap corruption: %s (%p)\n", what, p);
  abort();
}
