/* os.c - the operating system: mappings, purging, clock, locks. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

size_t hak_os_page_size(void)
{
  static size_t page;
  if (!page)
    page = (size_t)sysconf(_SC_PAGESIZE);
  return page;
}

/* Mappings are named for /proc/PID/maps while the kernel accepts it: a
 * kernel before 5.17 or built without CONFIG_ANON_VMA_NAME answers EINVAL
 * every time.  (EINVAL also means a bad name: HAKMEM's names are constant
 * and valid.) */
static _Atomic bool naming = true;

#define MAP_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

/* The start of the latest aligned mapping: the next one goes right below
 * it when that range is free. */
static _Atomic uintptr_t aligned_low;

/* Maps size bytes at exactly p, where nothing may be mapped; NULL when
 * the range is taken or the OS refuses. */
static char *map_fixed(void *p, size_t size)
{
  char *q = mmap(p, size, PROT_READ | PROT_WRITE, MAP_FLAGS | MAP_FIXED_NOREPLACE, -1, 0);
  if (q == MAP_FAILED)
    return NULL;
  if (q != p) { /* a kernel before 4.17 took the address as a hint */
    munmap(q, size);
    return NULL;
  }
  return q;
}

/* Maps size bytes aligned to align (a power of two above the page size)
 * right below the latest aligned mapping, or anywhere (mapping align bytes
 * more and trimming); NULL when the OS refuses.  Packed this way,
 * neighbours of one kind (same protection, flags and name) merge into one
 * mapping: the number of mappings, which vm.max_map_count limits, does not
 * grow with the number of blocks. */
static char *map_aligned(size_t size, size_t align)
{
  uintptr_t low = atomic_load_explicit(&aligned_low, memory_order_relaxed);
  uintptr_t a = low > size ? (low - size) & ~(uintptr_t)(align - 1) : 0;
  char *p = a ? map_fixed((void *)a, size) : NULL;
  if (!p) {
    size_t span = size + align;
    p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_FLAGS, -1, 0);
    if (p == MAP_FAILED)
      return NULL;
    a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    size_t lead = a - (uintptr_t)p, trail = span - lead - size;
    if (lead)
      munmap(p, lead);
    if (trail)
      munmap((char *)a + size, trail);
  }
  atomic_store_explicit(&aligned_low, a, memory_order_relaxed);
  return (char *)a;
}

/* Mappings do not become transparent huge pages unless HAKMEM_THP allows
 * it: a huge page would make a whole 2 MiB resident for one block. */
static void no_hugepages(void *p, size_t size)
{
  if (!hak_opt[HAK_OPT_THP])
    madvise(p, size, MADV_NOHUGEPAGE);
}

/* Maps size bytes (a multiple of the page size) aligned to align (a power
 * of two), read-write; untouched pages cost no memory (MAP_NORESERVE).
 * NULL with errno ENOMEM when the OS refuses. */
void *hak_os_map(size_t size, size_t align, const char *name)
{
  size_t page = hak_os_page_size();
  if (size > SIZE_MAX - align) {
    errno = ENOMEM;
    return NULL;
  }
  int saved = errno;
  char *p = align > page ? map_aligned(size, align)
                         : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_FLAGS, -1, 0);
  if (p == MAP_FAILED || p == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  no_hugepages(p, size);
  if (name && atomic_load_explicit(&naming, memory_order_relaxed) &&
      prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, size, (unsigned long)name) != 0 &&
      errno == EINVAL)
    atomic_store_explicit(&naming, false, memory_order_relaxed);
  errno = saved;
  hak_stats_add_mapped((int64_t)size);
  return p;
}

/* Maps size bytes at exactly p, where nothing may be mapped; returns p,
 * or NULL when the range is taken or the OS refuses. */
void *hak_os_map_at(void *p, size_t size)
{
  int saved = errno;
  char *q = map_fixed(p, size);
  if (q)
    no_hugepages(q, size);
  errno = saved;
  if (q)
    hak_stats_add_mapped((int64_t)size);
  return q;
}

void hak_os_unmap(void *p, size_t size)
{
  munmap(p, size);
  hak_stats_add_mapped(-(int64_t)size);
}

/* Marks of move targets: each differs from every other target's, and
 * from what any other mapping holds there (the key is random). */
static _Atomic uintptr_t move_serial;

uintptr_t hak_os_mark_move_target(void *p)
{
  uintptr_t mark = hak_free_key ^ (uintptr_t)p ^
                   atomic_fetch_add_explicit(&move_serial, 1, memory_order_relaxed) * 0x9e3779b97f4a7c15ull;
  if (hak_opt[HAK_OPT_THP]) /* the mark's page must not come in as a 2 MiB page */
    madvise(p, hak_os_page_size(), MADV_NOHUGEPAGE);
  *(volatile uintptr_t *)p = mark;
  return mark;
}

/* Whether word p reads as mark: 1 yes, 0 no (nothing readable there, or
 * another word), -1 when it cannot be told.  Written to a pipe, which
 * fails with EFAULT instead of faulting where nothing readable is mapped. */
static int reads_as(const void *p, uintptr_t mark)
{
  int fd[2];
  if (pipe2(fd, O_CLOEXEC) != 0)
    return -1;
  uintptr_t v = 0;
  ssize_t w = write(fd[1], p, sizeof v);
  int r = w == (ssize_t)sizeof v ? read(fd[0], &v, sizeof v) == (ssize_t)sizeof v && v == mark
          : w < 0 && errno == EFAULT ? 0 : -1;
  close(fd[0]);
  close(fd[1]);
  return r;
}

/* Unmaps p, a mapping of size bytes given mark by hak_os_mark_move_target
 * that a move into it (mremap with MREMAP_FIXED) failed to replace.
 * Linux before 6.17 unmaps the target before finding that the old range
 * cannot move, and another thread may have mapped something there since,
 * which must survive.  So the range is unmapped only when it is wholly
 * free (claimed again, then given back) or still holds the mark.  When
 * that cannot be told (no pipe), it stays mapped and counted. */
void hak_os_unmap_move_target(void *p, size_t size, uintptr_t mark)
{
  int saved = errno;
  int ours = map_fixed(p, size) ? 1 : reads_as(p, mark);
  if (ours == 1)
    munmap(p, size);
  if (ours >= 0)
    hak_stats_add_mapped(-(int64_t)size);
  errno = saved;
}

/* Gives the pages back; they read as zero when touched again.
 * MADV_DONTNEED, not MADV_FREE: RSS must fall at once. */
void hak_os_purge(void *p, size_t size)
{
  int saved = errno;
  madvise(p, size, MADV_DONTNEED);
  errno = saved;
  atomic_fetch_add_explicit(&hak_gstats.purged, size, memory_order_relaxed);
}

/* The coarse clock (the kernel's tick, a few ms) is enough for purge
 * delays and costs a fifth of the precise one, on paths that free. */
uint64_t hak_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void hak_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

void hak_lock(hak_lock_t *l)
{
  for (unsigned spins = 0;; spins++) {
    int zero = 0;
    if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_weak_explicit(&l->v, &zero, 1, memory_order_acquire,
                                              memory_order_relaxed))
      break;
    if (spins > 64)
      sched_yield();
    else
      hak_cpu_relax();
  }
  HAK_COUNT(locks, 1);
}
