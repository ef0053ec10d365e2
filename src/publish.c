/* publish.c - statistics shown outside the allocator: hak_stats_print,
 * the report at exit and the shared-memory snapshot (see publish.h).
 *
 * Everything here runs inside the allocator, so it uses system calls only:
 * no malloc, no stdio, no opendir (which allocates).  errno is kept.
 */
#include "internal.h"
#include "publish.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

HAK_API int hak_stats_print(int fd)
{
  hak_stats_t st;
  hak_stats_get(&st);
  return hak_stats_write(fd, &st);
}

void hak_stats_report_at_exit(void)
{
  hak_stats_print(2);
}

/* ------------------------------------------------------------------ */
/* The snapshot                                                        */

/* The publishing state.  Written only by the thread holding pub_writer. */
static struct {
  struct hak_publish_snapshot *map; /* the shared file, or NULL */
  int pid;                          /* the process that created or adopted map */
  char path[64];
  struct hak_publish_snapshot next; /* the figures being prepared */
} pub;

/* hak_now_ms() from which the next refresh is due; UINT64_MAX while not
 * publishing, so that hak_publish_tick is one load and one compare. */
static _Atomic uint64_t pub_due = UINT64_MAX;

/* The writer lock: 0, or the pid of the process whose thread holds it.  A
 * fork child inherits the value of a lock its parent held at fork time,
 * but not the thread that held it: a pid other than its own means free. */
static _Atomic int pub_writer;

static bool writer_trylock(int me)
{
  int cur = 0;
  if (atomic_compare_exchange_strong(&pub_writer, &cur, me))
    return true;
  return cur != me && atomic_compare_exchange_strong(&pub_writer, &cur, me);
}

static void writer_lock(int me)
{
  while (!writer_trylock(me))
    sched_yield();
}

static void writer_unlock(void)
{
  atomic_store_explicit(&pub_writer, 0, memory_order_release);
}

static uint64_t realtime_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The program's name, from /proc/self/comm (at most 15 characters). */
static void read_comm(char comm[16])
{
  memset(comm, 0, 16);
  int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read(fd, comm, 15);
  close(fd);
  if (n > 0 && comm[n - 1] == '\n')
    comm[n - 1] = '\0';
}

/* Parses a whole decimal pid; -1 when s is not one. */
static long parse_pid(const char *s)
{
  long v = 0;
  if (*s < '1' || *s > '9')
    return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 1000000000L)
      return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

/* The record getdents64 fills (the kernel's struct linux_dirent64). */
struct hak_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Removes this user's snapshots whose process no longer exists (a program
 * killed by a signal cannot remove its own). */
static void remove_stale(unsigned uid, int me)
{
  int dfd = open(HAK_PUBLISH_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return;
  char prefix[32];
  size_t plen = hak_format(prefix, sizeof prefix, HAK_PUBLISH_PREFIX "%u-", uid);
  union { char buf[2048]; uint64_t align; } u;
  long n;
  while ((n = syscall(SYS_getdents64, dfd, u.buf, sizeof u.buf)) > 0) {
    for (long off = 0; off < n;) {
      const struct hak_dirent64 *d = (const struct hak_dirent64 *)(u.buf + off);
      off += d->d_reclen;
      if (strncmp(d->d_name, prefix, plen) != 0)
        continue;
      long pid = parse_pid(d->d_name + plen);
      if (pid <= 0 || pid == me || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
        continue;
      struct stat st;
      if (fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
          st.st_uid == uid)
        unlinkat(dfd, d->d_name, 0);
    }
  }
  close(dfd);
}

static struct hak_publish_snapshot *map_snapshot(int fd)
{
  void *m = mmap(NULL, sizeof(struct hak_publish_snapshot), PROT_READ | PROT_WRITE, MAP_SHARED,
                 fd, 0);
  return m == MAP_FAILED ? NULL : m;
}

/* A new snapshot file at path, zero-filled; NULL when it cannot be made. */
static struct hak_publish_snapshot *snapshot_create(const char *path)
{
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return NULL;
  struct hak_publish_snapshot *m = NULL;
  if (ftruncate(fd, sizeof *m) == 0)
    m = map_snapshot(fd);
  close(fd);
  if (!m)
    unlink(path);
  return m;
}

/* The existing file at path when it is this process's: a file hakmem-config
 * made for it before exec, or the snapshot of the image that exec replaced.
 * NULL when it is anything else. */
static struct hak_publish_snapshot *snapshot_adopt(const char *path, unsigned uid, int me)
{
  int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct stat st;
  struct hak_publish_snapshot *m = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == uid && !(st.st_mode & 077) &&
      st.st_size == (off_t)sizeof *m)
    m = map_snapshot(fd);
  close(fd);
  if (m && (m->h.magic != HAK_PUBLISH_MAGIC || m->h.layout != HAK_PUBLISH_LAYOUT ||
            m->h.size != sizeof *m || m->h.pid != me || m->h.uid != uid)) {
    munmap(m, sizeof *m);
    m = NULL;
  }
  return m;
}

/* Creates or adopts this process's snapshot and writes its header (no
 * figures yet).  Returns false, after saying why, when it cannot. */
static bool snapshot_open(int me)
{
  unsigned uid = (unsigned)getuid();
  struct hak_publish_snapshot *m;
  hak_publish_path(pub.path, sizeof pub.path, uid, me);

  m = snapshot_create(pub.path);
  if (!m && errno == EEXIST) {
    m = snapshot_adopt(pub.path, uid, me);
    if (m) {
      /* Carry on from its figures and keep its KEEP flag.  A writer that
       * died in the middle of a refresh left it busy: start afresh. */
      if (hak_publish_copy_in(&pub.next, m, 1000) != 0) {
        memset(&pub.next, 0, sizeof pub.next);
        pub.next.h.flags = __atomic_load_n(&m->h.flags, __ATOMIC_RELAXED);
      }
      pub.next.h.flags &= HAK_PUBLISH_KEEP;
    } else {
      /* A leftover of an earlier process with this pid, or not ours. */
      struct stat st;
      if (lstat(pub.path, &st) == 0 && st.st_uid == uid && unlink(pub.path) == 0)
        m = snapshot_create(pub.path);
    }
  }
  if (!m) {
    hak_msg(2, "hakmem: cannot publish statistics in %s (errno %d); HAKMEM_STATS_PUBLISH ignored\n",
            pub.path, errno);
    return false;
  }
  if (m->h.magic != HAK_PUBLISH_MAGIC) /* new: no figures yet */
    memset(&pub.next, 0, sizeof pub.next);
  pub.next.h.magic = HAK_PUBLISH_MAGIC;
  pub.next.h.layout = HAK_PUBLISH_LAYOUT;
  pub.next.h.size = sizeof pub.next;
  pub.next.h.pid = me;
  pub.next.h.uid = uid;
  pub.next.h.start_ms = realtime_ms();
  read_comm(pub.next.h.comm);
  hak_publish_copy_out(m, &pub.next);
  pub.map = m;
  pub.pid = me;
  return true;
}

/* Forgets a snapshot inherited from the parent through fork: it is the
 * parent's to update and to remove. */
static void drop_inherited(void)
{
  munmap(pub.map, sizeof *pub.map);
  pub.map = NULL;
}

static void refresh(void)
{
  hak_stats_get(&pub.next.stats);
  pub.next.h.refreshes++;
  pub.next.h.refresh_ms = realtime_ms();
  hak_publish_copy_out(pub.map, &pub.next);
}

void hak_publish_start(void)
{
  int saved = errno;
  int me = getpid();
  writer_lock(me);
  if (pub.map && pub.pid != me)
    drop_inherited();
  if (!pub.map) {
    remove_stale((unsigned)getuid(), me);
    if (snapshot_open(me))
      atomic_store(&pub_due, 0); /* the first tick refreshes */
  }
  writer_unlock();
  errno = saved;
}

static void __attribute__((noinline)) publish_due(uint64_t now_ms)
{
  int saved = errno;
  int me = getpid();
  if (!writer_trylock(me)) /* another thread is refreshing */
    goto out;
  if (pub.map && pub.pid != me) {
    /* A fork child: it publishes its own figures under its own pid. */
    drop_inherited();
    if (!snapshot_open(me))
      atomic_store(&pub_due, UINT64_MAX);
  }
  if (pub.map) {
    refresh();
    atomic_store(&pub_due, now_ms + (uint64_t)hak_opt[HAK_OPT_STATS_PUBLISH_MS]);
  }
  writer_unlock();
out:
  errno = saved;
}

void hak_publish_tick(uint64_t now_ms)
{
  if (HAK_LIKELY(now_ms < atomic_load_explicit(&pub_due, memory_order_relaxed)))
    return;
  publish_due(now_ms);
}

void hak_publish_stop(void)
{
  int saved = errno;
  int me = getpid();
  atomic_store(&pub_due, UINT64_MAX);
  writer_lock(me);
  if (pub.map && pub.pid == me) {
    if (pub.next.h.flags & HAK_PUBLISH_KEEP) {
      /* hakmem-config is waiting for the figures at exit. */
      pub.next.h.flags |= HAK_PUBLISH_FINAL;
      refresh();
    } else {
      unlink(pub.path);
    }
    munmap(pub.map, sizeof *pub.map);
    pub.map = NULL;
  } else if (pub.map) {
    drop_inherited();
  }
  writer_unlock();
  errno = saved;
}
