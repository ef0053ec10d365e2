/* crash.h - the crash report.
 *
 * hak_crash_install() is called once at initialisation when
 * hak_opt[HAK_OPT_CRASH_REPORT] is set.  For SIGSEGV, SIGBUS and SIGABRT
 * whose action is still the default, it installs a handler that writes one
 * short report to standard error (signal, faulting address, whether the
 * address is HAKMEM memory and of which tier) and then lets the signal take
 * its default action, so the process still dies by it and dumps core.  A
 * program that installs its own handler later simply replaces this one.
 */
#ifndef HAKMEM_CRASH_H
#define HAKMEM_CRASH_H

void hak_crash_install(void);

#endif
