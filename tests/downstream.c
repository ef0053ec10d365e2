/* downstream.c - a program built the way users build against HAKMEM:
 * cc downstream.c $(pkg-config --cflags --libs hakmem).  `make
 * installcheck` compiles it against the installed files and runs it. */
#include <hakmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
  if (strcmp(hak_version(), HAKMEM_VERSION_STRING) != 0) {
    fprintf(stderr, "library %s, header %s\n", hak_version(), HAKMEM_VERSION_STRING);
    return 1;
  }
  char *p = malloc(100);
  if (!p)
    return 2;
  memset(p, 'x', 100);
  /* HAKMEM reports 0 for blocks it did not allocate; 100 B is a 112 B block. */
  size_t usable = hak_malloc_usable_size(p);
  if (usable != 112) {
    fprintf(stderr, "malloc did not come from HAKMEM (usable size %zu)\n", usable);
    return 3;
  }
  free(p);
  printf("downstream program runs on HAKMEM %s\n", hak_version());
  return 0;
}
