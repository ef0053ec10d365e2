/* test_bad_free.c - invalid frees are detected and reported, or handed on.
 *
 * Each case runs in a child process (this program again, with --case
 * NAME) whose stdout and stderr come back through pipes.  The child writes
 * the pointer it is about to misuse, as "%p", on stdout, then misuses it.
 *
 * A detected misuse must end the child with SIGABRT after a line on stderr
 *     hakmem: CALL(PTR): REASON
 * naming the call (free, realloc) and the pointer as %p prints it, with a
 * REASON containing "double free" for a double free (or "invalid" for a
 * large block, whose memory is unmapped by the first free), "invalid" for
 * a pointer into the middle of a block, and "invalid" or "free" for the
 * realloc of a freed block.  The release build detects the
 * immediate double free of a tiny block by itself and everything else with
 * HAKMEM_CHECK=1; the debug build (HAKMEM_DEBUG in config.h) detects every
 * case without it.
 *
 * A pointer HAKMEM never allocated (a stack address, memory the program
 * mapped itself, a block from glibc's own allocator) is reported the same
 * way when checks are full (HAKMEM_CHECK=1 or the debug build); otherwise
 * it is handed to glibc, which aborts with its own message or (for
 * glibc's block) takes it back, and the program goes on allocating.  Each
 * case and mode accepts only its own outcome: a crash by another signal,
 * a report where glibc should act, or silence fails.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

/* glibc's allocator under its own name, for a block HAKMEM did not make. */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);

extern char **environ;

#ifdef HAKMEM_DEBUG
#define DEBUG_BUILD 1
#else
#define DEBUG_BUILD 0
#endif

/* ---- the child side ---- */

static void say_ptr(const void *p)
{
  char buf[64];
  int n = snprintf(buf, sizeof buf, "%p\n", p);
  if (write(1, buf, (size_t)n) != n)
    _exit(90);
}

/* Shows that the allocator still works after a misuse it let pass: many
 * blocks of every tier allocated, filled, checked and freed. */
static int allocations_work(void)
{
  enum { N = 2000 };
  static unsigned char *v[N];
  static size_t len[N];
  uint64_t rs = rng_seed(5);
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < N; i++) {
      len[i] = 1 + (size_t)(rng_next(&rs) % (i % 100 == 0 ? 300000 : 2000));
      v[i] = malloc(len[i]);
      if (!v[i])
        return 0;
      memset(v[i], i & 0xff, len[i]);
    }
    for (int i = 0; i < N; i++) {
      for (size_t k = 0; k < len[i]; k++)
        if (v[i][k] != (unsigned char)(i & 0xff))
          return 0;
      free(v[i]);
    }
  }
  return 1;
}

static int case_double_free_tiny(void)
{
  char *p = malloc(24);
  memset(p, 1, 24);
  say_ptr(p);
  free(p);
  free(p);
  return 0;
}

static int case_double_free_later(size_t size)
{
  char *p = malloc(size), *q = malloc(size);
  memset(p, 1, size);
  memset(q, 2, size);
  say_ptr(p);
  free(p);
  free(q);
  free(p);
  return 0;
}

static int case_interior(size_t size, size_t offset)
{
  char *p = malloc(size);
  memset(p, 3, size);
  say_ptr(p + offset);
  free(p + offset);
  return 0;
}

static int case_realloc_freed(void)
{
  char *p = malloc(40);
  memset(p, 4, 40);
  say_ptr(p);
  free(p);
  char *q = realloc(p, 100);
  if (q)
    memset(q, 5, 100);
  return 0;
}

/* For pointers HAKMEM did not allocate, the 16 bytes before the pointer are
 * zero, so that glibc, if it gets the pointer, sees a chunk of size 0 and
 * aborts with "free(): invalid size" instead of reading wild memory. */
static int case_stack(void)
{
  _Alignas(16) unsigned char buf[256];
  memset(buf, 0, sizeof buf);
  say_ptr(buf + 64);
  free(buf + 64);
  return allocations_work() ? 0 : 3;
}

static int case_own_mmap(void)
{
  unsigned char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return 91;
  say_ptr(m + 4096);
  free(m + 4096);
  return allocations_work() ? 0 : 3;
}

static int case_glibc_block(void)
{
  void *p = __libc_malloc(200);
  if (!p)
    return 91;
  memset(p, 6, 200);
  say_ptr(p);
  free(p);
  /* glibc hands a freed chunk back first: the same address shows that the
   * block really went back to glibc rather than being dropped. */
  void *q = __libc_malloc(200);
  int reused = q == p;
  __libc_free(q);
  if (!allocations_work())
    return 3;
  return reused ? 0 : 4;
}

static int run_case(const char *name)
{
  if (!strcmp(name, "double-free-tiny"))
    return case_double_free_tiny();
  if (!strcmp(name, "double-free-tiny-later"))
    return case_double_free_later(24);
  if (!strcmp(name, "double-free-mid"))
    return case_double_free_later(6000);
  if (!strcmp(name, "double-free-large"))
    return case_double_free_later(200000);
  if (!strcmp(name, "double-free-large-own"))
    return case_double_free_later(600000);
  if (!strcmp(name, "interior-tiny"))
    return case_interior(64, 16);
  if (!strcmp(name, "interior-mid"))
    return case_interior(5000, 1024);
  if (!strcmp(name, "interior-large"))
    return case_interior(200000, 8192);
  if (!strcmp(name, "realloc-freed"))
    return case_realloc_freed();
  if (!strcmp(name, "stack"))
    return case_stack();
  if (!strcmp(name, "own-mmap"))
    return case_own_mmap();
  if (!strcmp(name, "glibc-block"))
    return case_glibc_block();
  return 92;
}

/* ---- the parent side ---- */

typedef enum expect {
  DETECT,        /* SIGABRT and "hakmem: CALL(PTR): REASON" with the keyword */
  FOREIGN,       /* with full checks as DETECT, else glibc's abort */
  FOREIGN_GLIBC, /* with full checks as DETECT, else glibc takes the block
                    back and the case exits 0 */
} expect_t;

typedef struct bad_case {
  const char *name, *what;
  const char *call;    /* in the message */
  const char *keyword; /* in REASON; "|" separates alternatives */
  expect_t expect;
  int release_default; /* detected by the release build without HAKMEM_CHECK */
} bad_case_t;

static const bad_case_t cases[] = {
  {"double-free-tiny", "double free of a tiny block", "free", "double free", DETECT, 1},
  {"double-free-tiny-later", "double free of a tiny block after other frees", "free",
   "double free", DETECT, 0},
  {"double-free-mid", "double free of a mid block", "free", "double free", DETECT, 0},
  /* Large blocks are checked at every free, in every build.  A large
   * block's pages may have gone back to the OS, so the second free meets
   * an address HAKMEM no longer knows: "invalid" is right too. */
  {"double-free-large", "double free of a packed large block", "free", "double free|invalid", DETECT, 1},
  {"double-free-large-own", "double free of a large block with a mapping of its own", "free",
   "double free|invalid", DETECT, 1},
  {"interior-tiny", "free of a pointer inside a tiny block", "free", "invalid", DETECT, 0},
  {"interior-mid", "free of a pointer inside a mid block", "free", "invalid", DETECT, 0},
  {"interior-large", "free of a pointer inside a packed large block", "free", "invalid", DETECT, 1},
  {"realloc-freed", "realloc of a freed pointer", "realloc", "invalid|free", DETECT, 0},
  {"stack", "free of a stack address", "free", "invalid", FOREIGN, 0},
  {"own-mmap", "free of memory the program mapped itself", "free", "invalid", FOREIGN, 0},
  {"glibc-block", "free of a block from glibc's own malloc", "free", "invalid", FOREIGN_GLIBC, 0},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

typedef struct outcome {
  int status;
  int timed_out;
  char out[256];  /* child's stdout: the pointer */
  char err[8192]; /* child's stderr */
} outcome_t;

static void append(char *buf, size_t cap, size_t *len, const char *data, size_t n)
{
  if (*len + n >= cap)
    n = cap - 1 - *len;
  memcpy(buf + *len, data, n);
  *len += n;
  buf[*len] = '\0';
}

static void spawn(const char *self, const char *name, int check, outcome_t *o)
{
  /* The child's environment: ours without HAKMEM_CHECK, plus the mode, and
   * glibc's fatal messages on stderr rather than the terminal. */
  size_t ne = 0;
  while (environ[ne])
    ne++;
  char **env = calloc(ne + 3, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < ne; i++)
    if (strncmp(environ[i], "HAKMEM_CHECK=", 13) != 0 &&
        strncmp(environ[i], "LIBC_FATAL_STDERR_=", 19) != 0)
      env[k++] = environ[i];
  env[k++] = check ? "HAKMEM_CHECK=1" : "HAKMEM_CHECK=0";
  env[k++] = "LIBC_FATAL_STDERR_=1";
  env[k] = NULL;

  int po[2], pe[2];
  if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
    bail_out("pipe2: %s", strerror(errno));
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    bail_out("fork: %s", strerror(errno));
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(po[1], 1);
    dup2(pe[1], 2);
    char *argv[] = {(char *)self, "--case", (char *)name, NULL};
    execve(self, argv, env);
    _exit(93);
  }
  free(env);
  close(po[1]);
  close(pe[1]);
  size_t lo = 0, le = 0;
  o->out[0] = o->err[0] = '\0';
  o->timed_out = 0;
  double end = now_sec() + 20;
  struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    int left = (int)((end - now_sec()) * 1000);
    if (left <= 0 || poll(fds, 2, left) == 0) {
      o->timed_out = 1;
      kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !fds[i].revents)
        continue;
      char buf[1024];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      } else if (i == 0) {
        append(o->out, sizeof o->out, &lo, buf, (size_t)n);
      } else {
        append(o->err, sizeof o->err, &le, buf, (size_t)n);
      }
    }
  }
  for (int i = 0; i < 2; i++)
    if (fds[i].fd >= 0)
      close(fds[i].fd);
  if (waitpid(pid, &o->status, 0) != pid)
    bail_out("waitpid: %s", strerror(errno));
}

/* Finds "hakmem: CALL(PTR): REASON" on a line of err with one of the
 * keywords in REASON. */
static int has_report(const char *err, const char *call, const char *ptr, const char *keywords)
{
  char head[128];
  snprintf(head, sizeof head, "hakmem: %s(%s): ", call, ptr);
  for (const char *line = err; line && *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    const char *h = strstr(line, head);
    if (h && h < line + len) {
      char reason[512];
      size_t off = (size_t)(h - line) + strlen(head);
      size_t rl = len - off < sizeof reason - 1 ? len - off : sizeof reason - 1;
      memcpy(reason, line + off, rl);
      reason[rl] = '\0';
      char kw[128];
      snprintf(kw, sizeof kw, "%s", keywords);
      for (char *save = NULL, *w = strtok_r(kw, "|", &save); w; w = strtok_r(NULL, "|", &save))
        if (strstr(reason, w))
          return 1;
    }
    line = nl ? nl + 1 : NULL;
  }
  return 0;
}

static void describe(const outcome_t *o)
{
  if (o->timed_out)
    diag("the child hung and was killed");
  else if (WIFSIGNALED(o->status))
    diag("the child died of signal %d (%s)", WTERMSIG(o->status), strsignal(WTERMSIG(o->status)));
  else
    diag("the child exited with status %d", WEXITSTATUS(o->status));
  diag("pointer: %s", o->out[0] ? o->out : "(none written)");
  diag("stderr:\n%s", o->err[0] ? o->err : "(empty)");
}

static void check_case(const char *self, const bad_case_t *c, int check)
{
  outcome_t o;
  spawn(self, c->name, check, &o);
  char ptr[64];
  snprintf(ptr, sizeof ptr, "%s", o.out);
  ptr[strcspn(ptr, "\n")] = '\0';
  int aborted = !o.timed_out && WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGABRT;
  int reported = ptr[0] && has_report(o.err, c->call, ptr, c->keyword);
  const char *mode = check ? "HAKMEM_CHECK=1" : "HAKMEM_CHECK=0";
  int good;
  if (c->expect == DETECT) {
    good = aborted && reported;
    ok(good, "%s (%s): SIGABRT and 'hakmem: %s(PTR): ...%s...'", c->what, mode, c->call,
       c->keyword);
  } else if (check || DEBUG_BUILD) {
    good = aborted && reported;
    ok(good, "%s (%s): SIGABRT and 'hakmem: %s(PTR): ...%s...'", c->what, mode, c->call,
       c->keyword);
  } else if (c->expect == FOREIGN) {
    /* glibc finds no chunk header it knows before the pointer: it must
     * abort with its own message (HAKMEM dropping the pointer would exit). */
    good = aborted && strstr(o.err, "free(): invalid") != NULL;
    ok(good, "%s (%s): handed to glibc, which aborts", c->what, mode);
  } else {
    good = !o.timed_out && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0;
    ok(good, "%s (%s): handed to glibc, which takes the block back", c->what, mode);
    if (!good && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 4)
      diag("the block did not go back to glibc: HAKMEM dropped it");
  }
  if (!good)
    describe(&o);
}

int main(int argc, char **argv)
{
  if (argc == 3 && !strcmp(argv[1], "--case"))
    return run_case(argv[2]);

  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    skip_all("cannot find this program through /proc/self/exe");
  self[n] = '\0';

  plan(2 * N_CASES);
  diag("%s build", DEBUG_BUILD ? "debug" : "release");
  for (int i = 0; i < N_CASES; i++) {
    const bad_case_t *c = &cases[i];
    /* Without HAKMEM_CHECK: the release build promises only some cases. */
    if (c->expect == DETECT && !DEBUG_BUILD && !c->release_default) {
      char why[160];
      snprintf(why, sizeof why, "%s (HAKMEM_CHECK=0): the release build checks this only with "
               "HAKMEM_CHECK=1", c->what);
      skip(1, why);
    } else {
      check_case(self, c, 0);
    }
    check_case(self, c, 1);
  }
  return done_testing();
}
