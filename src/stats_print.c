/* stats_print.c - the readable statistics report (see publish.h).
 *
 * Formats with hak_vformat() into a buffer and writes it with write(2):
 * no stdio and no allocation, so the library can print at exit and
 * hakmem-config prints a published snapshot with the same layout.
 */
#include "publish.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define LABEL_WIDTH 30
#define VALUE_WIDTH 12

struct out {
  int fd;
  int err; /* errno of the first failed write, or 0 */
  size_t n;
  char buf[4096];
};

static void out_flush(struct out *o)
{
  for (size_t off = 0; off < o->n && !o->err;) {
    ssize_t w = write(o->fd, o->buf + off, o->n - off);
    if (w < 0) {
      if (errno != EINTR)
        o->err = errno;
      continue;
    }
    off += (size_t)w;
  }
  o->n = 0;
}

static void out_add(struct out *o, const char *s, size_t len)
{
  if (o->n + len > sizeof o->buf)
    out_flush(o);
  memcpy(o->buf + o->n, s, len);
  o->n += len;
}

static void out_pad(struct out *o, size_t len, size_t width)
{
  static const char spaces[] = "                                ";
  while (len < width) {
    size_t k = width - len < sizeof spaces - 1 ? width - len : sizeof spaces - 1;
    out_add(o, spaces, k);
    len += k;
  }
}

__attribute__((format(printf, 2, 3))) static void out_fmt(struct out *o, const char *fmt, ...)
{
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  size_t n = hak_vformat(line, sizeof line, fmt, ap);
  va_end(ap);
  out_add(o, line, n);
}

/* s right-aligned in width columns. */
static void out_right(struct out *o, const char *s, size_t width)
{
  size_t len = strlen(s);
  out_pad(o, len, width);
  out_add(o, s, len);
}

static const char *num(char buf[32], uint64_t v)
{
  hak_format(buf, 32, "%llu", (unsigned long long)v);
  return buf;
}

/* v bytes with a binary unit and one decimal: "12.5 MiB". */
static const char *bytes(char buf[32], uint64_t v)
{
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  unsigned k = 0;
  while (k < 6 && v >> (10 * (k + 1)))
    k++;
  if (k == 0) {
    hak_format(buf, 32, "%llu B", (unsigned long long)v);
  } else {
    uint64_t whole = v >> (10 * k), rest = v & ((UINT64_C(1) << (10 * k)) - 1);
    unsigned tenth = (unsigned)((rest >> (10 * k - 7)) * 10 >> 7);
    hak_format(buf, 32, "%llu.%u %s", (unsigned long long)whole, tenth, unit[k]);
  }
  return buf;
}

/* part of whole as a percentage with one decimal, or "" without a whole. */
static const char *percent(char buf[32], uint64_t part, uint64_t whole)
{
  buf[0] = '\0';
  if (whole) {
    unsigned long long permille = (unsigned long long)(part * 1000.0 / (double)whole + 0.5);
    hak_format(buf, 32, "%llu.%llu%%", permille / 10, permille % 10);
  }
  return buf;
}

/* "  label      value  note" */
static void row(struct out *o, const char *label, const char *value, const char *note)
{
  size_t len = strlen(label);
  out_add(o, "  ", 2);
  out_add(o, label, len);
  out_pad(o, len, LABEL_WIDTH);
  out_right(o, value, VALUE_WIDTH);
  if (note && *note)
    out_fmt(o, "  %s", note);
  out_add(o, "\n", 1);
}

static void class_table(struct out *o, const hak_stats_t *st)
{
  static const char *const head[] = {"class", "size", "allocs", "frees", "live",
                                     "refills", "flushes", "remote", "drains", "slabs"};
  static const unsigned width[] = {7, 8, 12, 12, 10, 10, 10, 10, 9, 7};
  unsigned n = st->nclasses < HAK_STATS_MAX_CLASSES ? st->nclasses : HAK_STATS_MAX_CLASSES;
  bool any = false;
  for (unsigned i = 0; i < n; i++) {
    const hak_class_stats_t *c = &st->classes[i];
    if (!(c->allocs | c->frees | c->refills | c->flushes | c->remote_frees | c->drains |
          c->slabs))
      continue;
    if (!any) {
      out_fmt(o, "Size classes with activity (blocks; remote: frees by another thread)\n");
      for (unsigned k = 0; k < 10; k++)
        out_right(o, head[k], width[k]);
      out_add(o, "\n", 1);
      any = true;
    }
    char b[32];
    out_right(o, num(b, i), width[0]);
    out_right(o, num(b, c->block_size), width[1]);
    out_right(o, num(b, c->allocs), width[2]);
    out_right(o, num(b, c->frees), width[3]);
    /* Read while threads run, a free may be counted before its malloc. */
    out_right(o, num(b, c->allocs > c->frees ? c->allocs - c->frees : 0), width[4]);
    out_right(o, num(b, c->refills), width[5]);
    out_right(o, num(b, c->flushes), width[6]);
    out_right(o, num(b, c->remote_frees), width[7]);
    out_right(o, num(b, c->drains), width[8]);
    out_right(o, num(b, c->slabs), width[9]);
    out_add(o, "\n", 1);
  }
  if (!any)
    out_fmt(o, "Size classes: no activity\n");
}

int hak_stats_write(int fd, const hak_stats_t *st)
{
  struct out o = {.fd = fd};
  char v[32], w[32], note[64];

  out_fmt(&o, "HAKMEM %u.%u.%u statistics\n", (st->version >> 16) & 0xff,
          (st->version >> 8) & 0xff, st->version & 0xff);
  row(&o, "threads", num(v, st->threads), "have used HAKMEM");

  out_fmt(&o, "Memory\n");
  hak_format(note, sizeof note, "peak %s", bytes(w, st->mapped_peak));
  row(&o, "mapped", bytes(v, st->mapped), note);
  row(&o, "resident", bytes(v, st->resident), "mapped, less purged and unused");
  row(&o, "purged", bytes(v, st->purged), "given back to the OS so far");
  row(&o, "live", bytes(v, st->live_bytes), "in blocks the program holds");

  uint64_t acquired = st->pool_hit_empty + st->pool_hit_adopt + st->pool_hit_unused +
                      st->pool_new_superslab;
  out_fmt(&o, "Shared Pool: slab acquisitions by stage\n");
  row(&o, "1 recycled EMPTY slab", num(v, st->pool_hit_empty),
      percent(w, st->pool_hit_empty, acquired));
  row(&o, "2 adopted partial slab", num(v, st->pool_hit_adopt),
      percent(w, st->pool_hit_adopt, acquired));
  row(&o, "3 UNUSED slab of a SuperSlab", num(v, st->pool_hit_unused),
      percent(w, st->pool_hit_unused, acquired));
  row(&o, "4 new SuperSlab", num(v, st->pool_new_superslab),
      percent(w, st->pool_new_superslab, acquired));
  row(&o, "slabs released (EMPTY)", num(v, st->pool_releases), NULL);
  row(&o, "SuperSlabs mapped now", num(v, st->superslabs), NULL);

  out_fmt(&o, "Locks\n");
  row(&o, "acquisitions", num(v, st->lock_acquisitions), "all HAKMEM locks");

  out_fmt(&o, "Large tier and its ACE\n");
  row(&o, "allocations", num(v, st->large_allocs), NULL);
  row(&o, "frees", num(v, st->large_frees), NULL);
  hak_format(note, sizeof note, "hit rate %s", percent(w, st->ace_hits, st->ace_hits + st->ace_misses));
  row(&o, "ACE hits", num(v, st->ace_hits), st->ace_hits + st->ace_misses ? note : NULL);
  row(&o, "ACE misses", num(v, st->ace_misses), NULL);
  row(&o, "ACE failures: Threshold", num(v, st->ace_fail_threshold), "size outside the ACE classes");
  row(&o, "ACE failures: Exhaustion", num(v, st->ace_fail_exhaustion), "cache empty, new span");
  row(&o, "ACE failures: MapFail", num(v, st->ace_fail_mapfail), "the OS refused memory");
  row(&o, "ACE cached", bytes(v, st->ace_cached_bytes), NULL);

  out_fmt(&o, "Huge tier\n");
  row(&o, "allocations", num(v, st->huge_allocs), NULL);
  row(&o, "frees", num(v, st->huge_frees), NULL);
  row(&o, "cache hits", num(v, st->huge_cache_hits), NULL);

  class_table(&o, st);
  out_flush(&o);
  if (o.err) {
    errno = o.err;
    return -1;
  }
  return 0;
}
