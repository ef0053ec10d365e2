/* tier_many_large.c - many live Large blocks at once.
 *
 * 70,000 live Large blocks must all be served, each one written.  Blocks
 * up to 512 KiB share 2 MiB units, so the address space HAKMEM maps for
 * them stays within 1.4 times their size; one in eight is larger and has a
 * mapping of its own.  The kernel limits the number of mappings of a
 * process (vm.max_map_count, 65530 by default): the process must stay far
 * below that limit, because neighbouring mappings merge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
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

static size_t size_of(unsigned i)
{
  return i % 8 == 7 ? 600 * 1024 : 65 * 1024 + (i % 7) * 8192;
}

int main(void)
{
  static char *block[N];
  unsigned before = mappings(), nulls = 0, bad = 0;
  hak_stats_t s0, s1;
  size_t packed = 0;
  plan(4);
  hak_stats_get(&s0);
  for (int own = 0; own < 2; own++) { /* the packed blocks first */
    for (unsigned i = 0; i < N; i++) {
      size_t size = size_of(i);
      if ((size > 512 * 1024) != own)
        continue;
      block[i] = malloc(size);
      if (!block[i]) {
        nulls++;
        continue;
      }
      block[i][0] = (char)i;
      block[i][size - 1] = (char)~i;
      packed += own ? 0 : size;
    }
    if (!own)
      hak_stats_get(&s1);
  }
  unsigned during = mappings();
  for (unsigned i = 0; i < N; i++) {
    size_t size = size_of(i);
    if (block[i] && (block[i][0] != (char)i || block[i][size - 1] != (char)~i))
      bad++;
    free(block[i]);
  }
  is_int(nulls, 0, "%d live Large blocks: every malloc succeeded", N);
  is_int(bad, 0, "every block kept its first and last byte");
  /* Slots of 68..116 KiB in units of 2 MiB less a page leave under 6%
   * unused, plus the part-filled unit of each bin: 1.4 is ample. */
  ok((s1.mapped - s0.mapped) * 10 < packed * 14, "the blocks up to 512 KiB (%zu MiB) mapped %llu MiB",
     packed >> 20,
     (unsigned long long)((s1.mapped - s0.mapped) >> 20));
  ok(during < before + 1000, "the process has %u mappings with them live (%u before)", during, before);
  return done_testing();
}
