/* publish.h - HAKMEM's statistics seen from outside the process.
 *
 * Three ways out, one formatter:
 * - hak_stats_print(fd) (hakmem.h) and the report at exit (HAKMEM_STATS=1)
 *   write hak_stats_write()'s readable report;
 * - with HAKMEM_STATS_PUBLISH=1 the process keeps a snapshot of its figures
 *   in a small shared-memory file, HAK_PUBLISH_DIR/hakmem-UID-PID, which
 *   `hakmem-config stats PID` reads (same user only: mode 0600).
 *
 * The snapshot file holds one struct hak_publish_snapshot.  Its writer and
 * its readers follow a seqlock: the writer makes seq odd, stores the new
 * figures, makes seq even again; a reader copies the whole snapshot and
 * keeps the copy only when seq was even and unchanged around the copy.  Both
 * sides move the snapshot as 64-bit words with atomic loads and stores
 * (hak_publish_copy_in / hak_publish_copy_out), so there is no data race.
 *
 * Lifetime: the library creates the file when publishing starts and
 * removes it at exit.  A file flagged HAK_PUBLISH_KEEP was made by
 * `hakmem-config run` for the process it starts (before exec, under the
 * pid the program will have): the library adopts it, writes its final
 * figures at exit, flags them HAK_PUBLISH_FINAL and leaves the file for
 * hakmem-config, which reads and removes it.
 */
#ifndef HAKMEM_PUBLISH_H
#define HAKMEM_PUBLISH_H

#include <stdint.h>

#include "hakmem.h"
#include "report.h"

#define HAK_PUBLISH_DIR "/dev/shm"
#define HAK_PUBLISH_PREFIX "hakmem-"
#define HAK_PUBLISH_MAGIC 0x54534d454d4b4148ull /* "HAKMEMST" on little-endian machines */
/* Changes whenever the layout of the snapshot or of hak_stats_t does. */
#define HAK_PUBLISH_LAYOUT 1u

enum {
  HAK_PUBLISH_KEEP = 1u,  /* leave the file at exit, with final figures */
  HAK_PUBLISH_FINAL = 2u, /* the figures are those at the program's exit */
};

struct hak_publish_header {
  uint64_t magic;        /* HAK_PUBLISH_MAGIC */
  uint32_t layout;       /* HAK_PUBLISH_LAYOUT */
  uint32_t size;         /* sizeof(struct hak_publish_snapshot) */
  int32_t pid;           /* the publishing process */
  uint32_t uid;          /* its real user id */
  uint32_t flags;        /* HAK_PUBLISH_KEEP, HAK_PUBLISH_FINAL */
  uint32_t reserved;     /* zero */
  uint64_t seq;          /* seqlock: odd while the figures are being written */
  uint64_t refreshes;    /* times the figures were written; 0: none yet */
  uint64_t refresh_ms;   /* CLOCK_REALTIME of the last refresh, ms */
  uint64_t start_ms;     /* CLOCK_REALTIME when publishing started, ms */
  char comm[16];         /* the program's name (/proc/self/comm) */
};

struct hak_publish_snapshot {
  struct hak_publish_header h;
  hak_stats_t stats;
};

_Static_assert(sizeof(struct hak_publish_header) % 8 == 0, "header is whole words");
_Static_assert(sizeof(struct hak_publish_snapshot) % 8 == 0, "snapshot is whole words");

#define HAK_PUBLISH_WORDS (sizeof(struct hak_publish_snapshot) / 8)
#define HAK_PUBLISH_SEQ_WORD (__builtin_offsetof(struct hak_publish_header, seq) / 8)

/* The snapshot path of (uid, pid) into buf; returns its length. */
static inline size_t hak_publish_path(char *buf, size_t cap, unsigned uid, int pid)
{
  return hak_format(buf, cap, HAK_PUBLISH_DIR "/" HAK_PUBLISH_PREFIX "%u-%d", uid, pid);
}

/* Reads the shared snapshot at src into *dst under the seqlock.  Returns 0,
 * or -1 when a writer kept it busy for `tries` attempts. */
static inline int hak_publish_copy_in(struct hak_publish_snapshot *dst,
                                      const struct hak_publish_snapshot *src, unsigned tries)
{
  const uint64_t *s = (const uint64_t *)src;
  uint64_t *d = (uint64_t *)dst;
  while (tries--) {
    uint64_t seq = __atomic_load_n(&s[HAK_PUBLISH_SEQ_WORD], __ATOMIC_ACQUIRE);
    if (seq & 1)
      continue;
    for (size_t i = 0; i < HAK_PUBLISH_WORDS; i++)
      d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s[HAK_PUBLISH_SEQ_WORD], __ATOMIC_RELAXED) == seq)
      return 0;
  }
  return -1;
}

/* Writes *src into the shared snapshot at dst under the seqlock (one
 * writer at a time; the caller excludes the others).  src->h.seq is
 * ignored: the shared counter advances by two. */
static inline void hak_publish_copy_out(struct hak_publish_snapshot *dst,
                                        const struct hak_publish_snapshot *src)
{
  uint64_t *d = (uint64_t *)dst;
  const uint64_t *s = (const uint64_t *)src;
  uint64_t seq = __atomic_load_n(&d[HAK_PUBLISH_SEQ_WORD], __ATOMIC_RELAXED);
  seq |= 1; /* odd now (a writer that died mid-write left it odd already) */
  __atomic_store_n(&d[HAK_PUBLISH_SEQ_WORD], seq, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  for (size_t i = 0; i < HAK_PUBLISH_WORDS; i++)
    if (i != HAK_PUBLISH_SEQ_WORD)
      __atomic_store_n(&d[i], s[i], __ATOMIC_RELAXED);
  __atomic_store_n(&d[HAK_PUBLISH_SEQ_WORD], seq + 1, __ATOMIC_RELEASE);
}

/* Library side (publish.c).  hak_publish_start: once, at initialisation,
 * when hak_opt[HAK_OPT_STATS_PUBLISH] is set.  hak_publish_tick: from slow
 * paths, with the current hak_now_ms(), while no HAKMEM lock is held (a
 * refresh calls hak_stats_get); it returns at once unless a refresh is due.
 * hak_publish_stop: at exit.  None of them allocates or uses stdio; all
 * keep errno. */
void hak_publish_start(void);
void hak_publish_tick(uint64_t now_ms);
void hak_publish_stop(void);

/* The report at exit (HAKMEM_STATS=1): hak_stats_print(2). */
void hak_stats_report_at_exit(void);

/* Writes the readable report of *st to fd with write(2) (stats_print.c;
 * also compiled into hakmem-config).  Returns 0, or -1 with errno. */
int hak_stats_write(int fd, const hak_stats_t *st);

#endif
