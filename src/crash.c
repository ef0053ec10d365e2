/* crash.c - the crash report (see crash.h).
 *
 * The handler is async-signal-safe: hak_msg() formats on the stack and
 * writes with write(2); hak_addr_tier() reads the registry only.
 */
#include "internal.h"
#include "crash.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *signal_name(int sig)
{
  switch (sig) {
  case SIGSEGV: return "SIGSEGV (invalid memory reference)";
  case SIGBUS: return "SIGBUS (bus error)";
  case SIGABRT: return "SIGABRT (abort)";
  default: return "signal";
  }
}

/* What the kernel says about a fault, by signal and si_code. */
static const char *fault_reason(int sig, int code)
{
  if (sig == SIGSEGV && code == SEGV_MAPERR)
    return "address not mapped";
  if (sig == SIGSEGV && code == SEGV_ACCERR)
    return "access not permitted by the mapping";
  if (sig == SIGBUS && code == BUS_ADRALN)
    return "misaligned address";
  if (sig == SIGBUS && code == BUS_ADRERR)
    return "address beyond the end of the mapped object";
  if (sig == SIGBUS && code == BUS_OBJERR)
    return "hardware error";
  return "fault";
}

static void crash_handler(int sig, siginfo_t *si, void *context)
{
  (void)context;
  int saved = errno;
  hak_msg(2, "hakmem: fatal %s in process %d, thread %ld\n", signal_name(sig), (int)getpid(),
          (long)syscall(SYS_gettid));
  if (si->si_code <= 0) {
    /* Sent by a process (kill, raise, abort), not a fault. */
    if (si->si_pid == getpid())
      hak_msg(2, "hakmem: raised by the process itself%s\n",
              sig == SIGABRT ? " (abort() or a failed assertion)" : "");
    else
      hak_msg(2, "hakmem: sent by process %d (uid %u)\n", (int)si->si_pid, (unsigned)si->si_uid);
  } else if (sig == SIGSEGV || sig == SIGBUS) {
    const char *tier = hak_addr_tier(si->si_addr);
    if (tier)
      hak_msg(2, "hakmem: fault address %p (%s) is in HAKMEM memory, %s tier\n", si->si_addr,
              fault_reason(sig, si->si_code), tier);
    else
      hak_msg(2, "hakmem: fault address %p (%s) is not HAKMEM memory\n", si->si_addr,
              fault_reason(sig, si->si_code));
  }
  /* SA_RESETHAND has restored the default action; the signal stays blocked
   * until the handler returns, and is then delivered again. */
  raise(sig);
  errno = saved;
}

void hak_crash_install(void)
{
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = crash_handler;
  sa.sa_flags = SA_ONSTACK | SA_SIGINFO | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler == SIG_DFL)
      sigaction(sigs[i], &sa, NULL);
  }
}
