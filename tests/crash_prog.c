/* crash_prog - a program on HAKMEM that crashes on request, for
 * crash_report.sh.  Before crashing it prints "addr ADDRESS" (the address
 * that will fault, as %p prints it) on standard output.
 *
 *   crash_prog segv          writes to address 0x10
 *   crash_prog huge-prot     writes to a page of a live 8 MiB block that it
 *                            made inaccessible with mprotect
 *   crash_prog huge-freed    writes into a 64 MiB block after freeing it
 *   crash_prog abort         calls abort()
 *   crash_prog own-handler   installs its own SIGSEGV handler (which exits
 *                            with status 42), then writes to address 0x10
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void announce(volatile char *p)
{
  printf("addr %p\n", (void *)p);
  fflush(stdout);
}

static void own_handler(int sig)
{
  (void)sig;
  static const char msg[] = "crash_prog: own handler\n";
  if (write(2, msg, sizeof msg - 1) < 0)
    _exit(43);
  _exit(42);
}

int main(int argc, char **argv)
{
  /* The first allocation initialises HAKMEM (and its crash handler). */
  free(malloc(16));
  const char *mode = argc == 2 ? argv[1] : "";
  volatile char *p;

  if (strcmp(mode, "segv") == 0 || strcmp(mode, "own-handler") == 0) {
    if (mode[0] == 'o') {
      struct sigaction sa = {.sa_handler = own_handler};
      sigemptyset(&sa.sa_mask);
      sigaction(SIGSEGV, &sa, NULL);
    }
    p = (volatile char *)(uintptr_t)0x10;
  } else if (strcmp(mode, "huge-prot") == 0) {
    char *b = malloc(8 << 20);
    if (!b)
      return 3;
    memset(b, 1, 8 << 20);
    char *page = (char *)(((uintptr_t)b + (1 << 20)) & ~(uintptr_t)4095);
    if (mprotect(page, 4096, PROT_NONE) != 0)
      return 3;
    p = page + 8;
  } else if (strcmp(mode, "huge-freed") == 0) {
    char *b = malloc(64 << 20);
    if (!b)
      return 3;
    memset(b, 1, 64 << 20);
    p = b + (1 << 20);
    free(b);
  } else if (strcmp(mode, "abort") == 0) {
    announce(NULL);
    abort();
  } else {
    fprintf(stderr, "usage: crash_prog segv|huge-prot|huge-freed|abort|own-handler\n");
    return 2;
  }
  announce(p);
  *p = 1;
  return 0; /* only when the write did not fault */
}
