/* bench_rss [-p LIBRARY] [-t SECONDS] COMMAND [ARG...]
 *
 * Runs COMMAND (with LIBRARY in LD_PRELOAD when given and not empty),
 * waits for it with wait4(2) and prints, after its output, one line:
 *   maxrss_kb=N wall_sec=S status=ok|exit:N|signal:N|timeout
 * maxrss_kb is the peak resident set of the command (ru_maxrss).  With -t,
 * a command still running after SECONDS is killed (status=timeout), so a
 * deadlocked benchmark cannot stop a whole run.  The exit status is 0 only
 * when the command exited with 0.  bench/run measures every benchmark
 * through this program, as GNU time is not installed everywhere.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define USAGE "bench_rss [-p LIBRARY] [-t SECONDS] COMMAND [ARG...]"

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig) {
  (void)sig;
  timed_out = 1;
  if (child > 0)
    kill(child, SIGKILL);
}

int main(int argc, char **argv) {
  const char *preload = NULL;
  unsigned timeout = 0;
  int opt;
  while ((opt = getopt(argc, argv, "+p:t:")) != -1) {
    switch (opt) {
    case 'p':
      preload = optarg;
      break;
    case 't':
      timeout = (unsigned)bench_arg_u64(optarg, 1, 86400, "SECONDS", USAGE);
      break;
    default:
      bench_usage_exit(USAGE);
    }
  }
  if (optind >= argc)
    bench_usage_exit(USAGE);

  fflush(stdout);
  double t0 = bench_now();
  child = fork();
  if (child < 0) {
    perror("bench_rss: fork");
    return 1;
  }
  if (child == 0) {
    if (preload != NULL && *preload != '\0')
      setenv("LD_PRELOAD", preload, 1);
    execvp(argv[optind], &argv[optind]);
    fprintf(stderr, "bench_rss: cannot run %s: %s\n", argv[optind], strerror(errno));
    _exit(127);
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  if (timeout)
    alarm(timeout);

  int status;
  struct rusage ru;
  pid_t r;
  while ((r = wait4(child, &status, 0, &ru)) < 0 && errno == EINTR) {
  }
  alarm(0);
  double t1 = bench_now();
  if (r < 0) {
    perror("bench_rss: wait4");
    return 1;
  }

  char what[32];
  int ok = 0;
  if (timed_out) {
    snprintf(what, sizeof what, "timeout");
  } else if (WIFEXITED(status)) {
    ok = WEXITSTATUS(status) == 0;
    if (ok)
      snprintf(what, sizeof what, "ok");
    else
      snprintf(what, sizeof what, "exit:%d", WEXITSTATUS(status));
  } else {
    snprintf(what, sizeof what, "signal:%d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  printf("maxrss_kb=%ld wall_sec=%.3f status=%s\n", ru.ru_maxrss, t1 - t0, what);
  return ok ? 0 : 1;
}
