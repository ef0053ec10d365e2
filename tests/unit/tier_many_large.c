/* tier_many_large.c - many live Large blocks at once.
 *
 * Every Large block has a mapping of its own, and the kernel limits the
 * number of mappings of a process (vm.max_map_count, 65530 by default).
 * 70,000 live Large blocks must all be served, each one written, and the
 * process must stay far below that limit: neighbouring mappings merge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define N 70000

static unsigned mappings(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  unsigned n = 0;
  int c;
  if (!f)
    bail_out("cannot read /proc/self/maps");
  while ((c = fgetc(f)) != EOF)
    n += c == '\n';
  fclose(f);
  return n;
}

int main(void)
{
  static char *block[N];
  unsigned before = mappings(), nulls = 0, bad = 0;
  plan(3);
  for (unsigned i = 0; i < N; i++) {
    size_t size = 65 * 1024 + (i % 7) * 8192;
    block[i] = malloc(size);
    if (!block[i]) {
      nulls++;
      continue;
    }
    block[i][0] = (char)i;
    block[i][size - 1] = (char)~i;
  }
  unsigned during = mappings();
  for (unsigned i = 0; i < N; i++) {
    size_t size = 65 * 1024 + (i % 7) * 8192;
    if (block[i] && (block[i][0] != (char)i || block[i][size - 1] != (char)~i))
      bad++;
    free(block[i]);
  }
  is_int(nulls, 0, "%d live Large blocks: every malloc succeeded", N);
  is_int(bad, 0, "every block kept its first and last byte");
  ok(during < before + 1000, "the process has %u mappings with them live (%u before)", during, before);
  return done_testing();
}
