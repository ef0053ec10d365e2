/* hakmem-config - information about the HAKMEM allocator: its version,
 * its HAKMEM_* variables, and the statistics of programs running on it.
 * See hakmem-config(1).
 *
 * It reads the options table and the snapshot layout from the library's
 * own sources (options.c, publish.h), so it always describes the library
 * it was built with.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"
#include "options.h"
#include "publish.h"

#ifndef HAKMEM_LIBDIR
#error "HAKMEM_LIBDIR (the directory of the installed libhakmem.so.0) must be defined"
#endif
#define DEFAULT_LIB HAKMEM_LIBDIR "/libhakmem.so.0"

/* Exit status of `run` when hakmem-config itself fails before CMD runs. */
#define RUN_FAILED 125

static const char *progname = "hakmem-config";

static void usage(FILE *f)
{
  fprintf(f,
          "Usage: %s COMMAND [ARGS]\n"
          "Information about the HAKMEM memory allocator and programs running on it.\n"
          "\n"
          "Commands:\n"
          "  env [NAME...]          every HAKMEM_* variable: default, range, and the value\n"
          "                         in this environment (exit 1 if one is invalid or unknown)\n"
          "  stats [--json] [PID]   statistics published by process PID (your own processes\n"
          "                         only), or the list of processes publishing them\n"
          "  run [OPTIONS] [--] CMD [ARG...]\n"
          "                         run CMD on HAKMEM (LD_PRELOAD) and report its statistics\n"
          "                         when it ends; exits with CMD's status\n"
          "      --stats            the full report instead of a one-line summary\n"
          "      --json             the report in JSON\n"
          "      --lib PATH         the library to preload (default %s)\n"
          "      --output FILE      write the report to FILE instead of standard error\n"
          "  --version              versions of hakmem-config and of the loaded library\n"
          "  --help                 this text\n"
          "\n"
          "A program publishes statistics when started with HAKMEM_STATS_PUBLISH=1\n"
          "(`run` sets it).  See hakmem-config(1) and hakmem(7).\n",
          progname, DEFAULT_LIB);
}

__attribute__((format(printf, 1, 2), noreturn)) static void bad_usage(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", progname);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s --help'.\n", progname);
  exit(2);
}

__attribute__((format(printf, 1, 2))) static void error(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", progname);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* ------------------------------------------------------------------ */
/* env                                                                 */

static void describe_option(const hak_option_desc *d)
{
  printf("%s\n  %s\n", d->name, d->doc);
  if (d->type == HAK_OPT_BOOL)
    printf("  boolean (1/0, yes/no, true/false, on/off), default %ld\n", d->def);
  else
    printf("  integer %ld..%ld%s%s, default %ld\n", d->min, d->max, *d->unit ? " " : "",
           d->unit, d->def);
  if (d->debug_only)
    printf("  read by the debug build only (configure --enable-debug)\n");
}

/* Prints the variable's value in this environment; returns false when it
 * is set to an invalid value. */
static bool describe_value(const hak_option_desc *d)
{
  const char *text = getenv(d->name);
  long v;
  if (!text) {
    printf("  current: unset (the default, %ld)\n\n", d->def);
    return true;
  }
  if (hak_option_parse(d, text, &v) == 0) {
    printf("  current: %ld (set to '%s')\n\n", v, text);
    return true;
  }
  if (d->type == HAK_OPT_BOOL)
    printf("  current: '%s' INVALID (not a boolean): the library uses the default, %ld\n\n",
           text, d->def);
  else
    printf("  current: '%s' INVALID (not an integer from %ld to %ld): the library uses the "
           "default, %ld\n\n", text, d->min, d->max, d->def);
  return false;
}

static int cmd_env(int argc, char **argv)
{
  extern char **environ;
  bool ok = true;
  if (argc > 0) {
    for (int i = 0; i < argc; i++)
      if (!hak_option_find(argv[i]))
        bad_usage("env: unknown variable '%s' (`%s env` lists them all)", argv[i], progname);
    for (int i = 0; i < argc; i++) {
      const hak_option_desc *d = hak_option_find(argv[i]);
      describe_option(d);
      ok &= describe_value(d);
    }
    return ok ? 0 : 1;
  }
  for (unsigned i = 0; i < HAK_OPT_COUNT; i++) {
    describe_option(&hak_option_table[i]);
    ok &= describe_value(&hak_option_table[i]);
  }
  for (char **e = environ; *e; e++) {
    const char *eq = strchr(*e, '=');
    if (strncmp(*e, "HAKMEM_", 7) != 0 || !eq)
      continue;
    int len = (int)(eq - *e);
    bool known = false;
    for (unsigned i = 0; i < HAK_OPT_COUNT; i++)
      known |= strlen(hak_option_table[i].name) == (size_t)len &&
               strncmp(hak_option_table[i].name, *e, (size_t)len) == 0;
    if (!known) {
      printf("%.*s\n  UNKNOWN variable: the library ignores it\n\n", len, *e);
      ok = false;
    }
  }
  return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* Reading snapshots                                                   */

static uint64_t realtime_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads the snapshot file at path, of process pid, into *snap.  Returns 0;
 * or -1 with errno ENOENT when there is no such file, or -1 after saying
 * what is wrong with it. */
static int read_snapshot(const char *path, int pid, struct hak_publish_snapshot *snap)
{
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP)
      error("%s is a symbolic link; not read", path);
    else if (e != ENOENT)
      error("cannot open %s: %s", path, strerror(e));
    errno = e;
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error("%s is not a regular file; not read", path);
    close(fd);
    return -1;
  }
  if (st.st_uid != getuid()) {
    error("%s belongs to user %u, not to you; not read", path, (unsigned)st.st_uid);
    close(fd);
    return -1;
  }
  if (st.st_size != (off_t)sizeof *snap) {
    error("%s has %lld bytes, not the %zu of this version's layout %u: written by another "
          "HAKMEM version", path, (long long)st.st_size, sizeof *snap, HAK_PUBLISH_LAYOUT);
    close(fd);
    return -1;
  }
  const struct hak_publish_snapshot *m =
      mmap(NULL, sizeof *m, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    error("cannot map %s: %s", path, strerror(errno));
    return -1;
  }
  int rc = -1;
  for (unsigned i = 0; i < 1000 && rc != 0; i++) {
    rc = hak_publish_copy_in(snap, m, 100);
    if (rc != 0)
      sched_yield();
  }
  munmap((void *)m, sizeof *m);
  if (rc != 0) {
    error("%s stays busy (its writer may have died while writing); not read", path);
    return -1;
  }
  if (snap->h.magic != HAK_PUBLISH_MAGIC || snap->h.layout != HAK_PUBLISH_LAYOUT ||
      snap->h.size != sizeof *snap) {
    error("%s is not a HAKMEM statistics snapshot of layout %u (written by another version?)",
          path, HAK_PUBLISH_LAYOUT);
    return -1;
  }
  if (snap->h.pid != pid) {
    error("%s names process %d, not %d; not read", path, (int)snap->h.pid, pid);
    return -1;
  }
  return 0;
}

static void json_string(FILE *f, const char *s, size_t max)
{
  fputc('"', f);
  for (size_t i = 0; i < max && s[i]; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

#define SCALAR_FIELDS(X)                                                                    \
  X(threads) X(mapped) X(mapped_peak) X(resident) X(purged) X(live_bytes) X(pool_hit_empty) \
  X(pool_hit_adopt) X(pool_hit_unused) X(pool_new_superslab) X(pool_releases) X(superslabs) \
  X(lock_acquisitions) X(large_allocs) X(large_frees) X(ace_hits) X(ace_misses)             \
  X(ace_fail_threshold) X(ace_fail_exhaustion) X(ace_fail_mapfail) X(ace_cached_bytes)      \
  X(huge_allocs) X(huge_frees) X(huge_cache_hits)
#define CLASS_FIELDS(X) \
  X(block_size) X(allocs) X(frees) X(refills) X(flushes) X(remote_frees) X(drains) X(slabs)

/* The snapshot as the members of a JSON object (without the braces);
 * "stats" is null until the first refresh. */
static void json_snapshot(FILE *f, const struct hak_publish_snapshot *s)
{
  const hak_stats_t *st = &s->stats;
  uint64_t now = realtime_ms();
  fprintf(f, "  \"pid\": %d,\n  \"uid\": %u,\n  \"command\": ", (int)s->h.pid, s->h.uid);
  json_string(f, s->h.comm, sizeof s->h.comm);
  fprintf(f, ",\n  \"refreshes\": %llu,\n  \"refresh_ms\": %llu,\n  \"age_ms\": %lld,\n"
             "  \"final\": %s,\n",
          (unsigned long long)s->h.refreshes, (unsigned long long)s->h.refresh_ms,
          s->h.refreshes ? (long long)(now - s->h.refresh_ms) : -1LL,
          s->h.flags & HAK_PUBLISH_FINAL ? "true" : "false");
  if (!s->h.refreshes && !(s->h.flags & HAK_PUBLISH_FINAL)) {
    fprintf(f, "  \"stats\": null");
    return;
  }
  fprintf(f, "  \"stats\": {\n    \"version\": \"%u.%u.%u\",\n", (st->version >> 16) & 0xff,
          (st->version >> 8) & 0xff, st->version & 0xff);
#define X(field) fprintf(f, "    \"" #field "\": %llu,\n", (unsigned long long)st->field);
  SCALAR_FIELDS(X)
#undef X
  fprintf(f, "    \"classes\": [");
  unsigned n = st->nclasses < HAK_STATS_MAX_CLASSES ? st->nclasses : HAK_STATS_MAX_CLASSES;
  for (unsigned i = 0; i < n; i++) {
    const hak_class_stats_t *c = &st->classes[i];
    fprintf(f, "%s\n      {\"class\": %u", i ? "," : "", i);
#define X(field) fprintf(f, ", \"" #field "\": %llu", (unsigned long long)c->field);
    CLASS_FIELDS(X)
#undef X
    fputc('}', f);
  }
  fprintf(f, "\n    ]\n  }");
}

/* ------------------------------------------------------------------ */
/* stats                                                               */

/* Prints the processes of this user that publish statistics, removing
 * the snapshots of those that are gone. */
static int list_snapshots(bool json)
{
  char prefix[32];
  snprintf(prefix, sizeof prefix, HAK_PUBLISH_PREFIX "%u-", (unsigned)getuid());
  DIR *dir = opendir(HAK_PUBLISH_DIR);
  if (!dir) {
    error("cannot read %s: %s", HAK_PUBLISH_DIR, strerror(errno));
    return 1;
  }
  unsigned count = 0;
  uint64_t now = realtime_ms();
  if (json)
    printf("[");
  else
    printf("%8s  %-16s %s\n", "PID", "COMMAND", "UPDATED");
  for (struct dirent *d; (d = readdir(dir));) {
    if (strncmp(d->d_name, prefix, strlen(prefix)) != 0)
      continue;
    char *end;
    long pid = strtol(d->d_name + strlen(prefix), &end, 10);
    if (*end || pid <= 0 || pid > INT_MAX)
      continue;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", HAK_PUBLISH_DIR, d->d_name);
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
      if (unlink(path) == 0)
        fprintf(stderr, "%s: removed the stale snapshot of process %ld (not running)\n",
                progname, pid);
      continue;
    }
    struct hak_publish_snapshot s;
    if (read_snapshot(path, (int)pid, &s) != 0)
      continue;
    if (json) {
      printf("%s\n {", count ? "," : "");
      printf("\"pid\": %ld, \"command\": ", pid);
      json_string(stdout, s.h.comm, sizeof s.h.comm);
      printf(", \"refreshes\": %llu, \"age_ms\": %lld}", (unsigned long long)s.h.refreshes,
             s.h.refreshes ? (long long)(now - s.h.refresh_ms) : -1LL);
    } else if (s.h.refreshes) {
      printf("%8ld  %-16.16s %.1f s ago\n", pid, s.h.comm, (double)(now - s.h.refresh_ms) / 1000);
    } else {
      printf("%8ld  %-16.16s not yet\n", pid, s.h.comm);
    }
    count++;
  }
  closedir(dir);
  if (json)
    printf("%s]\n", count ? "\n" : "");
  else if (!count)
    printf("(no process of yours publishes HAKMEM statistics)\n");
  return 0;
}

static int cmd_stats(int argc, char **argv)
{
  bool json = false;
  const char *pidarg = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = true;
    else if (argv[i][0] == '-' && argv[i][1])
      bad_usage("stats: unknown option '%s'", argv[i]);
    else if (pidarg)
      bad_usage("stats: one PID at a time");
    else
      pidarg = argv[i];
  }
  if (!pidarg)
    return list_snapshots(json);

  char *end;
  errno = 0;
  long pid = strtol(pidarg, &end, 10);
  if (errno || *end || end == pidarg || pid <= 0 || pid > INT_MAX)
    bad_usage("stats: '%s' is not a process id", pidarg);

  unsigned uid = (unsigned)getuid();
  char path[PATH_MAX], proc[64];
  hak_publish_path(path, sizeof path, uid, (int)pid);
  snprintf(proc, sizeof proc, "/proc/%ld", pid);

  struct stat st;
  if (stat(proc, &st) != 0) {
    if (errno != ENOENT) {
      error("cannot check process %ld: %s", pid, strerror(errno));
      return 1;
    }
    if (lstat(path, &st) == 0 && st.st_uid == uid && unlink(path) == 0)
      error("process %ld is not running; removed its stale snapshot %s", pid, path);
    else
      error("process %ld is not running", pid);
    return 1;
  }
  if (st.st_uid != uid) {
    error("process %ld belongs to user %u, not to you (uid %u): HAKMEM shows a process's "
          "statistics to its own user only", pid, (unsigned)st.st_uid, uid);
    return 1;
  }

  struct hak_publish_snapshot s;
  if (read_snapshot(path, (int)pid, &s) != 0) {
    if (errno == ENOENT)
      error("process %ld publishes no HAKMEM statistics: start it with HAKMEM_STATS_PUBLISH=1 "
            "or with `%s run -- CMD`", pid, progname);
    return 1;
  }

  if (json) {
    printf("{\n");
    json_snapshot(stdout, &s);
    printf("\n}\n");
    return 0;
  }
  char since[64] = "?";
  time_t t = (time_t)(s.h.start_ms / 1000);
  struct tm tm;
  if (localtime_r(&t, &tm))
    strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S", &tm);
  printf("Process %ld (%.16s), publishing since %s\n", pid, s.h.comm, since);
  if (!s.h.refreshes) {
    printf("No figures yet: they are refreshed on the allocator's slow paths, at most every "
           "HAKMEM_STATS_PUBLISH_MS.\n");
    return 0;
  }
  printf("Figures of %.2f s ago (refresh %llu)\n",
         (double)(realtime_ms() - s.h.refresh_ms) / 1000, (unsigned long long)s.h.refreshes);
  fflush(stdout);
  if (hak_stats_write(1, &s.stats) != 0) {
    error("cannot write the report: %s", strerror(errno));
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* run                                                                 */

static volatile sig_atomic_t run_child;

/* Termination requests to hakmem-config go to CMD; the report follows
 * when CMD ends. */
static void forward_signal(int sig)
{
  if (run_child > 0)
    kill((pid_t)run_child, sig);
}

/* In the child, before exec: the snapshot file CMD's library adopts, with
 * HAK_PUBLISH_KEEP so that the library leaves its final figures in it. */
static void prepare_snapshot(const char *path)
{
  struct hak_publish_snapshot s;
  memset(&s, 0, sizeof s);
  s.h.magic = HAK_PUBLISH_MAGIC;
  s.h.layout = HAK_PUBLISH_LAYOUT;
  s.h.size = sizeof s;
  s.h.pid = getpid();
  s.h.uid = (unsigned)getuid();
  s.h.flags = HAK_PUBLISH_KEEP;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  struct stat st;
  if (fd < 0 && errno == EEXIST && lstat(path, &st) == 0 && st.st_uid == s.h.uid &&
      unlink(path) == 0) /* left by an earlier process with this pid */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, &s, sizeof s) != (ssize_t)sizeof s)
    error("cannot create %s (%s): no statistics will be reported", path, strerror(errno));
  if (fd >= 0)
    close(fd);
}

static __attribute__((noreturn)) void run_exec(const char *lib, const char *path, char **cmd)
{
  prepare_snapshot(path);
  const char *old = getenv("LD_PRELOAD");
  char *preload;
  if (old && *old) {
    size_t len = strlen(lib) + strlen(old) + 2;
    preload = malloc(len);
    if (preload)
      snprintf(preload, len, "%s:%s", lib, old);
  } else {
    preload = strdup(lib);
  }
  if (!preload || setenv("LD_PRELOAD", preload, 1) != 0 ||
      setenv("HAKMEM_STATS_PUBLISH", "1", 1) != 0) {
    error("cannot set the environment: %s", strerror(errno));
    unlink(path);
    _exit(RUN_FAILED);
  }
  execvp(cmd[0], cmd);
  int e = errno;
  error("cannot run %s: %s", cmd[0], strerror(e));
  unlink(path);
  _exit(e == ENOENT ? 127 : 126);
}

static uint64_t total_allocs(const hak_stats_t *st)
{
  uint64_t n = st->large_allocs + st->huge_allocs;
  for (unsigned i = 0; i < st->nclasses && i < HAK_STATS_MAX_CLASSES; i++)
    n += st->classes[i].allocs;
  return n;
}

static uint64_t total_frees(const hak_stats_t *st)
{
  uint64_t n = st->large_frees + st->huge_frees;
  for (unsigned i = 0; i < st->nclasses && i < HAK_STATS_MAX_CLASSES; i++)
    n += st->classes[i].frees;
  return n;
}

/* v bytes with a binary unit: "12.5 MiB". */
static const char *human(char buf[32], uint64_t v)
{
  static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
  if (v < 1024) {
    snprintf(buf, 32, "%llu B", (unsigned long long)v);
    return buf;
  }
  double x = (double)v / 1024;
  unsigned k = 0;
  for (; x >= 1024 && k < 3; k++)
    x /= 1024;
  snprintf(buf, 32, "%.1f %s", x, unit[k]);
  return buf;
}

enum run_report { REPORT_SUMMARY, REPORT_FULL, REPORT_JSON };

static void run_report(FILE *out, enum run_report how, const char *cmd, const siginfo_t *info,
                       const struct hak_publish_snapshot *s)
{
  bool killed = info->si_code != CLD_EXITED;
  char status[96];
  if (killed)
    snprintf(status, sizeof status, "was killed by signal %d (%s)", info->si_status,
             strsignal(info->si_status));
  else
    snprintf(status, sizeof status, "exited with status %d", info->si_status);

  if (how == REPORT_JSON) {
    fprintf(out, "{\n  \"exit_status\": %d,\n  \"signal\": %d,\n",
            killed ? 128 + info->si_status : info->si_status, killed ? info->si_status : 0);
    if (s && s->h.start_ms)
      json_snapshot(out, s);
    else
      fprintf(out, "  \"stats\": null");
    fprintf(out, "\n}\n");
    return;
  }
  if (!s || !s->h.start_ms) {
    /* The library never adopted the snapshot hakmem-config prepared. */
    fprintf(out, "%s: %s %s; it published no HAKMEM statistics (it made no allocation, or it "
                 "did not run on HAKMEM: static and setuid programs ignore LD_PRELOAD)\n",
            progname, cmd, status);
    return;
  }
  if (!s->h.refreshes && !(s->h.flags & HAK_PUBLISH_FINAL)) {
    fprintf(out, "%s: %s %s; it ran on HAKMEM but ended (by a signal or _exit) before its first "
                 "refresh of the statistics\n", progname, cmd, status);
    return;
  }
  const char *when = s->h.flags & HAK_PUBLISH_FINAL ? "" : " (last refresh before the end)";
  if (how == REPORT_SUMMARY) {
    char peak[32], live[32];
    unsigned long long threads = (unsigned long long)s->stats.threads;
    fprintf(out, "%s: %s %s; HAKMEM%s: %llu allocations, %llu frees, peak %s mapped, %s live, "
                 "%llu thread%s\n",
            progname, cmd, status, when, (unsigned long long)total_allocs(&s->stats),
            (unsigned long long)total_frees(&s->stats), human(peak, s->stats.mapped_peak),
            human(live, s->stats.live_bytes), threads, threads == 1 ? "" : "s");
    return;
  }
  fprintf(out, "%s: %s %s; HAKMEM statistics of process %d (%.16s)%s:\n", progname, cmd, status,
          (int)s->h.pid, s->h.comm, when);
  fflush(out);
  hak_stats_write(fileno(out), &s->stats);
}

static int cmd_run(int argc, char **argv)
{
  enum run_report how = REPORT_SUMMARY;
  const char *lib = NULL, *output = NULL;
  int i;
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (argv[i][0] != '-')
      break;
    if (strcmp(argv[i], "--stats") == 0)
      how = REPORT_FULL;
    else if (strcmp(argv[i], "--json") == 0)
      how = REPORT_JSON;
    else if (strcmp(argv[i], "--lib") == 0 || strcmp(argv[i], "--output") == 0) {
      if (i + 1 == argc)
        bad_usage("run: %s needs an argument", argv[i]);
      *(argv[i][2] == 'l' ? &lib : &output) = argv[i + 1];
      i++;
    } else {
      bad_usage("run: unknown option '%s'", argv[i]);
    }
  }
  if (i == argc)
    bad_usage("run: no command to run");
  char **cmd = argv + i;

  char libpath[PATH_MAX];
  if (!realpath(lib ? lib : DEFAULT_LIB, libpath)) {
    error("cannot use the HAKMEM library %s: %s%s", lib ? lib : DEFAULT_LIB, strerror(errno),
          lib ? "" : " (give its path with --lib)");
    return RUN_FAILED;
  }
  FILE *out = stderr;
  if (output && !(out = fopen(output, "w"))) {
    error("cannot write %s: %s", output, strerror(errno));
    return RUN_FAILED;
  }
  fflush(NULL);

  struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward_signal};
  struct sigaction old_int, old_quit, old_term, old_hup;
  sigemptyset(&ign.sa_mask);
  sigemptyset(&fwd.sa_mask);
  pid_t child = fork();
  if (child < 0) {
    error("cannot fork: %s", strerror(errno));
    return RUN_FAILED;
  }
  char path[PATH_MAX];
  hak_publish_path(path, sizeof path, (unsigned)getuid(), child ? (int)child : (int)getpid());
  if (child == 0)
    run_exec(libpath, path, cmd);

  /* Keyboard signals reach CMD through the terminal's process group;
   * hakmem-config waits for it to end and reports. */
  run_child = child;
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  sigaction(SIGTERM, &fwd, &old_term);
  sigaction(SIGHUP, &fwd, &old_hup);

  /* Wait without reaping: while CMD is a zombie its pid is not reused and
   * no other process removes its snapshot as stale. */
  siginfo_t info;
  memset(&info, 0, sizeof info);
  while (waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT) != 0)
    if (errno != EINTR) {
      error("cannot wait for %s: %s", cmd[0], strerror(errno));
      return RUN_FAILED;
    }
  struct hak_publish_snapshot snap;
  const struct hak_publish_snapshot *s = NULL;
  if (read_snapshot(path, (int)child, &snap) == 0)
    s = &snap;
  unlink(path);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
    ;
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGQUIT, &old_quit, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);

  run_report(out, how, cmd[0], &info, s);
  if (out != stderr && fclose(out) != 0)
    error("cannot write %s: %s", output, strerror(errno));
  if (info.si_code == CLD_EXITED)
    return info.si_status;
  return 128 + info.si_status;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
  if (argc < 2)
    bad_usage("no command given");
  const char *c = argv[1];
  if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0) {
    usage(stdout);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  if (strcmp(c, "--version") == 0) {
    printf("hakmem-config (HAKMEM) %s\nlibrary: HAKMEM %s\n", PACKAGE_VERSION, hak_version());
    return fflush(stdout) == 0 ? 0 : 1;
  }
  if (strcmp(c, "env") == 0)
    return cmd_env(argc - 2, argv + 2);
  if (strcmp(c, "stats") == 0)
    return cmd_stats(argc - 2, argv + 2);
  if (strcmp(c, "run") == 0)
    return cmd_run(argc - 2, argv + 2);
  bad_usage("unknown command '%s'", c);
}
