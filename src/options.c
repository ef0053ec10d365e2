/* options.c - the table of HAKMEM_* variables and their parser. */
#include "options.h"
#include "report.h"

#include <limits.h>
#include <string.h>

const hak_option_desc hak_option_table[HAK_OPT_COUNT] = {
  [HAK_OPT_PURGE_DELAY_MS] = {"HAKMEM_PURGE_DELAY_MS", HAK_OPT_INT, 250, 0, 3600000, 0, "ms",
    "delay before empty slabs and cached spans are given back to the OS (0: at once)"},
  [HAK_OPT_TCACHE_MAX] = {"HAKMEM_TCACHE_MAX", HAK_OPT_INT, 2048, 0, 65536, 0, "blocks",
    "most blocks a thread caches per size class, within 256 KiB a class (0: no thread cache)"},
  [HAK_OPT_CHECK] = {"HAKMEM_CHECK", HAK_OPT_BOOL, 0, 0, 1, 0, "",
    "validate every free and every slab operation (slower; implies HAKMEM_TCACHE_MAX=0)"},
  [HAK_OPT_THP] = {"HAKMEM_THP", HAK_OPT_BOOL, 0, 0, 1, 0, "",
    "allow transparent huge pages in HAKMEM's mappings"},
  [HAK_OPT_CACHE_MB] = {"HAKMEM_CACHE_MB", HAK_OPT_INT, 64, 0, 1048576, 0, "MiB",
    "most memory the Large tier's ACE and the Huge tier's cache may hold"},
  [HAK_OPT_STATS] = {"HAKMEM_STATS", HAK_OPT_BOOL, 0, 0, 1, 0, "",
    "print a statistics report to standard error at exit"},
  [HAK_OPT_STATS_PUBLISH] = {"HAKMEM_STATS_PUBLISH", HAK_OPT_BOOL, 0, 0, 1, 0, "",
    "publish live statistics for `hakmem-config stats PID`"},
  [HAK_OPT_STATS_PUBLISH_MS] = {"HAKMEM_STATS_PUBLISH_MS", HAK_OPT_INT, 100, 10, 60000, 0, "ms",
    "least interval between two refreshes of the published statistics"},
  [HAK_OPT_CRASH_REPORT] = {"HAKMEM_CRASH_REPORT", HAK_OPT_BOOL, 1, 0, 1, 0, "",
    "report SIGSEGV, SIGBUS and SIGABRT (where the program has no handler)"},
  [HAK_OPT_ACE_TRACE] = {"HAKMEM_ACE_TRACE", HAK_OPT_BOOL, 0, 0, 1, 1, "",
    "trace each ACE failure with its cause (debug build)"},
  [HAK_OPT_SS_ACQUIRE_DEBUG] = {"HAKMEM_SS_ACQUIRE_DEBUG", HAK_OPT_BOOL, 0, 0, 1, 1, "",
    "trace each Shared Pool slab acquisition and release (debug build)"},
};

long hak_opt[HAK_OPT_COUNT];

static int parse_long(const char *s, long *out)
{
  int neg = 0;
  unsigned long v = 0;
  if (*s == '-' || *s == '+')
    neg = (*s++ == '-');
  if (*s < '0' || *s > '9')
    return -1;
  for (; *s >= '0' && *s <= '9'; s++) {
    unsigned d = (unsigned)(*s - '0');
    if (v > ((unsigned long)LONG_MAX - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  if (*s != '\0')
    return -1;
  *out = neg ? -(long)v : (long)v;
  return 0;
}

int hak_option_parse(const hak_option_desc *d, const char *text, long *out)
{
  long v;
  if (d->type == HAK_OPT_BOOL) {
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    for (unsigned i = 0; i < 4; i++) {
      if (strcmp(text, yes[i]) == 0) { *out = 1; return 0; }
      if (strcmp(text, no[i]) == 0) { *out = 0; return 0; }
    }
    return -1;
  }
  if (parse_long(text, &v) != 0 || v < d->min || v > d->max)
    return -1;
  *out = v;
  return 0;
}

const hak_option_desc *hak_option_find(const char *name)
{
  for (unsigned i = 0; i < HAK_OPT_COUNT; i++)
    if (strcmp(hak_option_table[i].name, name) == 0)
      return &hak_option_table[i];
  return NULL;
}

void hak_options_init(char **envp)
{
  for (unsigned i = 0; i < HAK_OPT_COUNT; i++)
    hak_opt[i] = hak_option_table[i].def;
  for (char **e = envp; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq || strncmp(*e, "HAKMEM_", 7) != 0)
      continue;
    size_t len = (size_t)(eq - *e);
    unsigned i;
    for (i = 0; i < HAK_OPT_COUNT; i++) {
      const char *n = hak_option_table[i].name;
      if (strlen(n) == len && memcmp(n, *e, len) == 0)
        break;
    }
    if (i == HAK_OPT_COUNT) {
      hak_report_unknown_option(*e, len);
      continue;
    }
    long v;
    if (hak_option_parse(&hak_option_table[i], eq + 1, &v) == 0)
      hak_opt[i] = v;
    else
      hak_report_bad_option(&hak_option_table[i], eq + 1);
  }
  if (hak_opt[HAK_OPT_CHECK])
    hak_opt[HAK_OPT_TCACHE_MAX] = 0;
}
