/* options.h - every HAKMEM_* environment variable, in one table.
 *
 * Contract: hak_options_init() reads the environment once, at start-up,
 * without allocating; afterwards hak_opt[] holds each variable's value (its
 * default when unset or invalid).  The table is also read by hakmem-config
 * (`hakmem-config env`) and by the test that checks hakmem(7) documents
 * each variable, so a variable exists only if it is listed here.
 */
#ifndef HAKMEM_OPTIONS_H
#define HAKMEM_OPTIONS_H

#include <stddef.h>

typedef enum hak_opt_id {
  HAK_OPT_PURGE_DELAY_MS,
  HAK_OPT_TCACHE_MAX,
  HAK_OPT_CHECK,
  HAK_OPT_THP,
  HAK_OPT_CACHE_MB,
  HAK_OPT_STATS,
  HAK_OPT_STATS_PUBLISH,
  HAK_OPT_STATS_PUBLISH_MS,
  HAK_OPT_CRASH_REPORT,
  HAK_OPT_ACE_TRACE,
  HAK_OPT_SS_ACQUIRE_DEBUG,
  HAK_OPT_COUNT
} hak_opt_id;

typedef enum hak_opt_type { HAK_OPT_BOOL, HAK_OPT_INT } hak_opt_type;

typedef struct hak_option_desc {
  const char *name;   /* environment variable */
  hak_opt_type type;
  long def, min, max; /* default and inclusive range */
  int debug_only;     /* read only by the --enable-debug build */
  const char *unit;   /* "ms", "blocks", ... or "" */
  const char *doc;    /* one line */
} hak_option_desc;

extern const hak_option_desc hak_option_table[HAK_OPT_COUNT];
extern long hak_opt[HAK_OPT_COUNT];

/* Parses the environment (envp, NULL-terminated) into hak_opt[]; reports
 * each bad value with hak_report_bad_option().  Safe before libc is fully
 * initialised: no malloc, no stdio. */
void hak_options_init(char **envp);

/* Parses one value for option `d`.  Returns 0 and sets *out, or -1 when
 * the text is not a valid value (not a number, trailing junk, out of range). */
int hak_option_parse(const hak_option_desc *d, const char *text, long *out);

/* Finds a variable's entry by name, or NULL. */
const hak_option_desc *hak_option_find(const char *name);

#endif
