/* tier_remap.c - Large and Huge blocks that realloc moves with mremap, and
 * aligned blocks of size 0, on the real library.
 *
 * The program defines mremap, which HAKMEM's calls reach (the executable's
 * definition comes first), so the test can make the kernel's answer what
 * it needs:
 * - kernels before 6.17 refuse to move a range that spans two kernel
 *   mappings: with that rule applied, blocks grown again and again (plain
 *   and 4 KiB-aligned) always move, none is copied;
 * - when mremap fails, realloc still succeeds by a copy; an aligned block
 *   keeps its alignment and errno is left as it was; the mapping meant as
 *   the target is given back, and when the kernel had unmapped it before
 *   failing (as Linux does when the old range cannot move), a mapping
 *   another thread made there meanwhile survives; the same with the
 *   kernel's own refusal of a block whose mapping the program split;
 * - a moved block's old range stops being HAKMEM's before its pages leave
 *   it: another thread that is given that range in the meantime (the
 *   moving thread held right after the move; the program's mmap steers
 *   that thread's new mapping into the vacated range) keeps its block;
 * - a successful realloc that moves a block whose pages fill its span
 *   leaves errno alone;
 * - posix_memalign with size 0 and a large alignment gives a block inside
 *   a mapping of its own, not in the next 2 MiB unit. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

#define MiB ((size_t)1 << 20)

enum mode { REAL, OLD_KERNEL, FAIL, UNMAP_FAIL, PAUSE };
static volatile enum mode mode = REAL;
static volatile unsigned calls, refused;

/* The target of the latest refused move; with UNMAP_FAIL and intrude set,
 * another owner's mapping made there once it was unmapped: one page in its
 * middle (intrude 1) or the whole range (intrude 2). */
static volatile uintptr_t target;
static volatile size_t target_len;
static volatile int intrude;
static unsigned char *volatile intruder;

/* The moving thread's pause (PAUSE): after the real move, another thread
 * runs until it posts resume; while steer is set, its new mappings go to
 * the vacated range. */
static sem_t moved, resume;
static uintptr_t vacated, vacated_len;
static volatile int steer;

static char maps[1 << 20];

/* Whether [a, a + len) lies inside one line of /proc/self/maps. */
static int one_mapping(uintptr_t a, size_t len)
{
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0)
    bail_out("cannot read /proc/self/maps");
  size_t n = 0;
  ssize_t r;
  while (n < sizeof maps - 1 && (r = read(fd, maps + n, sizeof maps - 1 - n)) > 0)
    n += (size_t)r;
  close(fd);
  maps[n] = '\0';
  for (char *l = maps; *l;) {
    uintptr_t s = strtoul(l, &l, 16), e = strtoul(l + 1, &l, 16);
    if (s <= a && a + len <= e)
      return 1;
    char *nl = strchr(l, '\n');
    if (!nl)
      break;
    l = nl + 1;
  }
  return 0;
}

void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
  va_list ap;
  va_start(ap, flags);
  void *to = va_arg(ap, void *);
  va_end(ap);
  calls++;
  if (mode == FAIL || mode == UNMAP_FAIL ||
      (mode == OLD_KERNEL && !one_mapping((uintptr_t)old, old_size))) {
    refused++;
    target = (uintptr_t)to;
    target_len = new_size;
    if (mode == UNMAP_FAIL) {
      munmap(to, new_size);
      if (intrude) {
        size_t len = intrude == 1 ? 4096 : new_size;
        intruder = mmap((char *)to + (intrude == 1 ? new_size / 2 : 0), len, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (intruder == MAP_FAILED)
          intruder = NULL;
        else
          *intruder = 0x5a;
      }
    }
    errno = EFAULT;
    return MAP_FAILED;
  }
  void *r = (void *)syscall(SYS_mremap, old, old_size, new_size, flags, to);
  if (r == MAP_FAILED) { /* the kernel itself refused */
    refused++;
    target = (uintptr_t)to;
    target_len = new_size;
  }
  if (mode == PAUSE && r != MAP_FAILED) {
    mode = REAL;
    vacated = (uintptr_t)old;
    vacated_len = old_size;
    sem_post(&moved);
    sem_wait(&resume);
  }
  return r;
}

/* HAKMEM's mmap calls reach this one too.  While steer is set, a mapping
 * wherever the kernel likes goes at the start of the vacated range
 * instead, and one at a chosen address elsewhere is refused as if the
 * range were taken, so that HAKMEM falls back to the former. */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
  if (steer && len <= vacated_len) {
    if (!addr) {
      addr = (void *)vacated;
      flags |= MAP_FIXED_NOREPLACE;
    } else if ((flags & MAP_FIXED_NOREPLACE) &&
               ((uintptr_t)addr < vacated || (uintptr_t)addr + len > vacated + vacated_len)) {
      errno = EEXIST;
      return MAP_FAILED;
    }
  }
  return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i += 4096)
    p[i] = (unsigned char)(i / 4096 * 31 + seed);
  p[n - 1] = (unsigned char)seed;
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
  for (size_t i = 0; i < n; i += 4096)
    if (p[i] != (unsigned char)(i / 4096 * 31 + seed))
      return 0;
  return p[n - 1] == (unsigned char)seed;
}

/* Grows a block from 3 MiB to 48 MiB by doubling; 1 when every step kept
 * its contents (and alignment). */
static int grow_chain(unsigned char *p, size_t align, unsigned seed)
{
  size_t n = 3 * MiB;
  fill(p, n, seed);
  for (; p && n < 48 * MiB; n *= 2) {
    unsigned char *q = realloc(p, 2 * n);
    if (!q || !intact(q, n, seed) || (uintptr_t)q % align) {
      free(q ? q : p);
      return 0;
    }
    p = q;
    fill(p, 2 * n, seed);
  }
  free(p);
  return 1;
}

static void old_kernel_rule(void)
{
  mode = OLD_KERNEL;
  calls = refused = 0;
  unsigned char *a = malloc(3 * MiB);
  int plain = a && grow_chain(a, 16, 1);
  void *b = NULL;
  int aligned = posix_memalign(&b, 4096, 3 * MiB) == 0 && grow_chain(b, 4096, 2);
  mode = REAL;
  ok(plain && aligned && calls >= 6 && refused == 0,
     "blocks grown 4 times (plain and 4 KiB-aligned) move as one kernel mapping each time "
     "(%u moves, %u would be refused before Linux 6.17)",
     calls, refused);
}

static void move_refused(void)
{
  void *b = NULL;
  if (posix_memalign(&b, 4096, 3 * MiB) != 0)
    bail_out("posix_memalign(4096, 3 MiB) failed");
  fill(b, 3 * MiB, 3);
  unsigned char *p = malloc(3 * MiB);
  if (!p)
    bail_out("malloc(3 MiB) failed");
  fill(p, 3 * MiB, 4);
  mode = FAIL;
  refused = 0;
  errno = EDOM;
  unsigned char *q = realloc(b, 12 * MiB);
  int e1 = errno;
  unsigned refused1 = refused;
  errno = EDOM;
  unsigned char *r = realloc(p, 12 * MiB);
  int e2 = errno;
  mode = REAL;
  ok(q && (uintptr_t)q % 4096 == 0 && intact(q, 3 * MiB, 3) && refused1 >= 1,
     "mremap refused: an aligned block is copied, still aligned (%p)", (void *)q);
  ok(r && intact(r, 3 * MiB, 4) && refused > refused1, "and a plain one too");
  ok(e1 == EDOM && e2 == EDOM, "errno stays as it was (%d, %d)", e1, e2);
  free(q ? q : b);
  free(r ? r : p);
}

/* Whether nothing is mapped in [a, a + len). */
static int range_free(uintptr_t a, size_t len)
{
  void *p = mmap((void *)a, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED)
    return 0;
  munmap(p, len);
  return p == (void *)a;
}

/* One refused move of a 3 MiB block to 12 MiB in mode m (with intrude);
 * 1 when the block was copied intact and the target range is free again
 * or holds the copy (placed there after the target was given back). */
static int refused_move(enum mode m, int with_intruder)
{
  unsigned char *p = malloc(3 * MiB);
  if (!p)
    bail_out("malloc(3 MiB) failed");
  fill(p, 3 * MiB, 7);
  intrude = with_intruder;
  intruder = NULL;
  target = 0;
  mode = m;
  unsigned char *q = realloc(p, 12 * MiB);
  mode = REAL;
  intrude = 0;
  int good = q && intact(q, 3 * MiB, 7) && target != 0;
  uintptr_t qa = (uintptr_t)q;
  if (good && !with_intruder)
    good = range_free(target, target_len) || (qa >= target && qa < target + target_len);
  free(q ? q : p);
  return good;
}

static void target_given_back(void)
{
  ok(refused_move(FAIL, 0), "a refused move's target mapping is unmapped (%#lx, %zu bytes)",
     (unsigned long)target, target_len);
  ok(refused_move(UNMAP_FAIL, 0), "and so it stays when the kernel unmapped it before failing");
  int moved = refused_move(UNMAP_FAIL, 1);
  ok(moved && intruder && msync(intruder, 4096, MS_ASYNC) == 0 && *intruder == 0x5a,
     "a mapping made meanwhile in the target range by someone else survives (%p)", (void *)intruder);
  if (intruder)
    munmap(intruder, 4096);
  /* The kernel's own refusal: the program split the block's mapping
   * (madvise on one of its pages), so the old range is two mappings. */
  unsigned char *p = malloc(3 * MiB);
  if (!p)
    bail_out("malloc(3 MiB) failed");
  fill(p, 3 * MiB, 8);
  uintptr_t page = ((uintptr_t)p + 2 * MiB) & ~(uintptr_t)4095;
  int split = madvise((void *)page, 4096, MADV_DONTFORK) == 0;
  refused = 0;
  target = 0;
  unsigned char *q = realloc(p, 12 * MiB);
  uintptr_t qa = (uintptr_t)q;
  if (refused == 0)
    skip(1, "the kernel moved a block whose mapping is split in two");
  else
    ok(split && q && intact(q, 3 * MiB, 8) &&
           (range_free(target, target_len) || (qa >= target && qa < target + target_len)),
       "a block whose mapping the program split is copied; the move the kernel refused leaves no "
       "mapping behind");
  free(q ? q : p);
  moved = refused_move(UNMAP_FAIL, 2);
  size_t len = target_len;
  ok(moved && intruder && msync(intruder, len, MS_ASYNC) == 0 && *intruder == 0x5a,
     "and so does one that fills the whole range (%p, %zu bytes)", (void *)intruder, len);
  if (intruder)
    munmap(intruder, len);
}

static unsigned char *theirs;
static size_t theirs_size;

/* Another thread, while the moving one is held right after its move,
 * allocates a Large block in a mapping of its own, which the kernel is
 * made to place in the range just vacated. */
static void *other_thread(void *arg)
{
  (void)arg;
  sem_wait(&moved);
  theirs_size = 3 * MiB / 2;
  steer = 1;
  theirs = malloc(theirs_size);
  steer = 0;
  if (theirs)
    fill(theirs, theirs_size, 5);
  sem_post(&resume);
  return NULL;
}

static void registry_before_move(void)
{
  sem_init(&moved, 0, 0);
  sem_init(&resume, 0, 0);
  unsigned char *p = malloc(8 * MiB - 64); /* its pages fill its span */
  if (!p)
    bail_out("malloc(8 MiB - 64) failed");
  fill(p, 8 * MiB - 64, 6);
  pthread_t t;
  if (pthread_create(&t, NULL, other_thread, NULL) != 0)
    bail_out("pthread_create failed");
  mode = PAUSE;
  errno = EDOM;
  unsigned char *q = realloc(p, 9 * MiB);
  int e = errno;
  pthread_join(t, NULL);
  mode = REAL;
  if (!theirs)
    bail_out("the other thread's malloc failed");
  ok(q && q != p && intact(q, 8 * MiB - 64, 6) && e == EDOM,
     "a block whose pages fill its span moves, contents and errno kept (%p -> %p)", (void *)p,
     (void *)q);
  int landed = (uintptr_t)theirs >= vacated && (uintptr_t)theirs < vacated + vacated_len;
  ok(landed && malloc_usable_size(theirs) >= theirs_size && intact(theirs, theirs_size, 5),
     "a block given the vacated range during the move stays HAKMEM's (%p in [%#lx, +%#lx), "
     "usable %zu)",
     (void *)theirs, (unsigned long)vacated, (unsigned long)vacated_len,
     malloc_usable_size(theirs));
  free(q);
  free(theirs);
}

static void aligned_size_zero(void)
{
  unsigned char *small = malloc(32);
  static const size_t aligns[] = {8192, 2 * MiB, 4 * MiB};
  for (unsigned i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
    void *p = NULL;
    int rc = posix_memalign(&p, aligns[i], 0);
    size_t usable = p ? malloc_usable_size(p) : 0;
    ok(rc == 0 && p && (uintptr_t)p % aligns[i] == 0 && usable >= 1 && usable < aligns[i] + 2 * MiB &&
           ((uintptr_t)p >> 21) != ((uintptr_t)small >> 21),
       "posix_memalign(%zu, 0): an aligned block of its own (%p, usable %zu)", aligns[i], p, usable);
    if (p)
      *(volatile unsigned char *)p = 1;
    free(p);
  }
  free(small);
}

int main(void)
{
  alarm(120); /* a hang is a failure: SIGALRM kills the test */
  plan(2 + 1 + 3 + 5 + 3);
  registry_before_move();
  old_kernel_rule();
  move_refused();
  target_given_back();
  aligned_size_zero();
  return done_testing();
}
