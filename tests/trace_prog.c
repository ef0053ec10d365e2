/* trace_prog.c - a little work in each tier, for tests/traces.sh: a tiny
 * block (a slab acquisition) and a Large block (an ACE miss). */
#include <stdlib.h>
#include <string.h>

int main(void)
{
  char *tiny = malloc(100);
  char *large = malloc(100000);
  if (!tiny || !large)
    return 1;
  memset(tiny, 1, 100);
  memset(large, 2, 100000);
  free(large);
  free(tiny);
  return 0;
}
