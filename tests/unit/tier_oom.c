/* tier_oom.c - out of memory under RLIMIT_AS: NULL with ENOMEM, never a
 * crash, and recovery once memory is freed (real library).
 *
 * A child process limits its address space to its current size plus
 * 256 MiB, then allocates blocks of mixed sizes in turn (8 MiB, 1 MiB,
 * 256 KiB, 20 KiB, 4 KiB, 100 B, 64 B, 16 B), writing the first and last
 * byte of each, until every size has failed at least once.  Every failure
 * must be NULL with errno ENOMEM.  At that point calloc, realloc (the old
 * block kept intact), posix_memalign and aligned_alloc of 64 MiB must fail
 * cleanly too.  Then everything is freed and the child must allocate again:
 * every size once more, and 8 MiB blocks filling at least 100 MiB.  The
 * child reports through a pipe (no stdio under the limit); the parent
 * checks the report and that the child exited normally within 60 s. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "tap.h"
#include "testutil.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define MAXP ((size_t)1 << 21)

static const size_t sizes[] = {8 * MiB, 1 * MiB, 256 * KiB, 20 * KiB, 4 * KiB, 100, 64, 16};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

struct report {
  int limited;                   /* setrlimit succeeded */
  unsigned long blocks;          /* blocks allocated before every size failed */
  unsigned long bytes;
  unsigned failed_mask;          /* sizes that reached NULL */
  unsigned long failures, bad_errno;
  int bad_errno_value;
  size_t bad_errno_size;
  int calloc_ok, realloc_ok, memalign_ok, aligned_ok;
  unsigned recovered_mask;       /* sizes allocated again after the frees */
  unsigned long recovered_8m;    /* 8 MiB blocks allocated again */
};

static void touch(char *p, size_t n)
{
  p[0] = 1;
  p[n - 1] = 2;
}

/* A failed call must be NULL with errno ENOMEM. */
static void note_failure(struct report *r, size_t size, int err)
{
  r->failures++;
  if (err != ENOMEM) {
    if (!r->bad_errno++) {
      r->bad_errno_value = err;
      r->bad_errno_size = size;
    }
  }
}

static void child(int fd)
{
  static struct report r;
  char **ptrs = mmap(NULL, MAXP * sizeof *ptrs, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ptrs == MAP_FAILED)
    _exit(3);
  memset(ptrs, 0, MAXP * sizeof *ptrs); /* resident before the limit */
  /* HAKMEM is set up and every size has been used once before the limit. */
  for (int i = 0; i < NSIZES; i++)
    free(malloc(sizes[i]));
  char *small = malloc(16); /* realloc'd when memory is exhausted */
  long vm = status_kib("VmSize");
  struct rlimit lim = {(rlim_t)vm * 1024 + 256 * MiB, (rlim_t)vm * 1024 + 256 * MiB};
  r.limited = vm > 0 && setrlimit(RLIMIT_AS, &lim) == 0;
  size_t n = 0;
  unsigned all = (1u << NSIZES) - 1;
  for (unsigned k = 0; r.limited && r.failed_mask != all && n < MAXP; k++) {
    size_t size = sizes[k % NSIZES];
    errno = 0;
    char *p = malloc(size);
    if (!p) {
      note_failure(&r, size, errno);
      r.failed_mask |= 1u << (k % NSIZES);
      continue;
    }
    touch(p, size);
    ptrs[n++] = p;
    r.bytes += size;
  }
  r.blocks = n;

  /* Large requests fail cleanly while memory is exhausted. */
  errno = 0;
  void *c = calloc(1, 64 * MiB);
  r.calloc_ok = !c && errno == ENOMEM;
  free(c);
  if (small) {
    memset(small, 0x5a, 16);
    errno = 0;
    char *q = realloc(small, 64 * MiB);
    int intact = 1;
    for (size_t i = 0; i < 16; i++)
      intact &= (unsigned char)small[i] == 0x5a;
    r.realloc_ok = !q && errno == ENOMEM && intact;
    free(q ? q : small);
  }
  void *m = NULL;
  errno = 0;
  int rc = posix_memalign(&m, 2 * MiB, 64 * MiB);
  r.memalign_ok = rc == ENOMEM && m == NULL && errno == 0;
  errno = 0;
  void *a = aligned_alloc(4096, 64 * MiB);
  r.aligned_ok = !a && errno == ENOMEM;
  free(a);

  /* Recovery. */
  for (size_t i = 0; i < n; i++)
    free(ptrs[i]);
  n = 0;
  for (int i = 0; i < NSIZES; i++) {
    char *p = malloc(sizes[i]);
    if (p) {
      touch(p, sizes[i]);
      ptrs[n++] = p;
      r.recovered_mask |= 1u << i;
    }
  }
  for (char *p; n < MAXP && (p = malloc(8 * MiB));) {
    touch(p, 8 * MiB);
    ptrs[n++] = p;
    r.recovered_8m++;
  }
  for (size_t i = 0; i < n; i++)
    free(ptrs[i]);
  if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
    _exit(4);
  _exit(0);
}

int main(void)
{
  plan(7);
  int fds[2];
  if (pipe(fds) != 0)
    bail_out("pipe: %s", strerror(errno));
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    bail_out("fork: %s", strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    alarm(60);
    child(fds[1]);
  }
  close(fds[1]);
  struct report r;
  memset(&r, 0, sizeof r);
  struct pollfd pfd = {fds[0], POLLIN, 0};
  ssize_t got = 0;
  if (poll(&pfd, 1, 60000) == 1)
    got = read(fds[0], &r, sizeof r);
  close(fds[0]);
  int status = 0;
  if (got != (ssize_t)sizeof r)
    kill(pid, SIGKILL);
  waitpid(pid, &status, 0);

  if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == (ssize_t)sizeof r,
          "the child ran to the end and exited normally"))
    diag("  wait status 0x%x%s%s", status, WIFSIGNALED(status) ? ", killed by " : "",
         WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "");
  if (got != (ssize_t)sizeof r) {
    skip(6, "no report from the child");
    return done_testing();
  }
  ok(r.limited && r.failed_mask == (1u << NSIZES) - 1 && r.bytes >= 128 * MiB,
     "under RLIMIT_AS every size from 16 B to 8 MiB reached NULL, after %lu blocks, %lu MiB (at least 128)",
     r.blocks, r.bytes / MiB);
  if (!is_int(r.bad_errno, 0, "every one of the %lu failures set errno to ENOMEM", r.failures))
    diag("  first bad: malloc(%zu) errno %d", r.bad_errno_size, r.bad_errno_value);
  ok(r.calloc_ok && r.aligned_ok, "calloc and aligned_alloc of 64 MiB: NULL with ENOMEM");
  ok(r.realloc_ok, "realloc to 64 MiB: NULL with ENOMEM, the old block intact");
  ok(r.memalign_ok, "posix_memalign of 64 MiB returns ENOMEM, errno untouched");
  ok(r.recovered_mask == (1u << NSIZES) - 1 && r.recovered_8m * 8 >= 100,
     "after freeing everything every size works again, 8 MiB blocks fill %lu MiB", r.recovered_8m * 8);
  return done_testing();
}
