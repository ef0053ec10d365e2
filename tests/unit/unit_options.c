/* unit_options.c - the HAKMEM_* table and its parser (src/options.c).
 *
 * hak_option_parse() must accept exactly the decimal integers within an
 * option's range and the eight boolean words, and reject anything else
 * (empty, not a number, trailing junk, out of range, overflow) without
 * touching the output.  hak_options_init() is given fake environments: it
 * must set the table from them, ignore other variables, and report each
 * bad value on standard error (captured through a pipe) with the
 * variable's name, the text and the default it falls back to. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "unit.h"

static const hak_option_desc *opt(hak_opt_id id) { return &hak_option_table[id]; }

/* Parses text for d; the output is left alone on failure (checked with a
 * sentinel). */
static int parse(const hak_option_desc *d, const char *text, long *out)
{
  *out = -424242;
  int rc = hak_option_parse(d, text, out);
  if (rc != 0 && *out != -424242)
    return 99;
  return rc;
}

static void check_int(const hak_option_desc *d, const char *text, long want)
{
  long v;
  int rc = parse(d, text, &v);
  if (!ok(rc == 0 && v == want, "%s='%s' -> %ld", d->name, text, want))
    diag("  rc %d, value %ld", rc, v);
}

static void check_bad(const hak_option_desc *d, const char *text, const char *why)
{
  long v;
  is_int(parse(d, text, &v), -1, "%s='%s' rejected (%s), output untouched", d->name, text, why);
}

static void parser(void)
{
  const hak_option_desc *delay = opt(HAK_OPT_PURGE_DELAY_MS);   /* 0 .. 3600000 */
  const hak_option_desc *pubms = opt(HAK_OPT_STATS_PUBLISH_MS); /* 10 .. 60000 */
  const hak_option_desc *stats = opt(HAK_OPT_STATS);            /* boolean */
  check_int(delay, "0", 0);
  check_int(delay, "250", 250);
  check_int(delay, "3600000", 3600000);
  check_int(delay, "007", 7);
  check_int(delay, "+5", 5);
  check_int(pubms, "10", 10);
  check_bad(delay, "", "empty");
  check_bad(delay, "abc", "not a number");
  check_bad(delay, "-", "sign alone");
  check_bad(delay, "12abc", "trailing junk");
  check_bad(delay, "1 ", "trailing space");
  check_bad(delay, " 1", "leading space");
  check_bad(delay, "1.5", "not an integer");
  check_bad(delay, "0x10", "not decimal");
  check_bad(delay, "3600001", "above the range");
  check_bad(delay, "-1", "below the range");
  check_bad(pubms, "9", "below the range");
  check_bad(delay, "99999999999999999999999", "overflow");

  /* The whole range of a long, with a table entry of our own. */
  const hak_option_desc wide = {"HAKMEM_TEST_WIDE", HAK_OPT_INT, 0, -5, LONG_MAX, 0, "", "test"};
  check_int(&wide, "9223372036854775807", LONG_MAX);
  check_bad(&wide, "9223372036854775808", "one above LONG_MAX");
  check_int(&wide, "-5", -5);
  check_bad(&wide, "-6", "below the range");

  static const char *const yes[] = {"1", "yes", "true", "on"};
  static const char *const no[] = {"0", "no", "false", "off"};
  for (int i = 0; i < 4; i++) {
    check_int(stats, yes[i], 1);
    check_int(stats, no[i], 0);
  }
  check_bad(stats, "", "empty");
  check_bad(stats, "2", "not a boolean");
  check_bad(stats, "yes ", "trailing space");
  check_bad(stats, "y", "not a boolean word");
}

static void table(void)
{
  unsigned bad = 0;
  for (unsigned i = 0; i < HAK_OPT_COUNT; i++) {
    const hak_option_desc *d = &hak_option_table[i];
    int good = d->name && strncmp(d->name, "HAKMEM_", 7) == 0 && d->min <= d->def && d->def <= d->max &&
               d->doc && *d->doc && d->unit &&
               (d->type == HAK_OPT_INT || (d->min == 0 && d->max == 1));
    for (unsigned j = 0; j < i && good; j++)
      good = strcmp(d->name, hak_option_table[j].name) != 0;
    if (!good && bad++ < 5)
      diag("  bad table entry %u (%s)", i, d->name ? d->name : "(null)");
  }
  is_int(bad, 0, "every entry: HAKMEM_ name, unique, default within its range, a doc line");
  ok(hak_option_find("HAKMEM_TCACHE_MAX") == opt(HAK_OPT_TCACHE_MAX), "hak_option_find finds a variable");
  ok(!hak_option_find("HAKMEM_TCACHE") && !hak_option_find("HAKMEM_TCACHE_MAXX") &&
         !hak_option_find("hakmem_tcache_max") && !hak_option_find(""),
     "and no prefix, extension or other spelling of one");
}

/* Runs hak_options_init(envp) with standard error captured into err. */
static void init_captured(char **envp, char *err, size_t cap)
{
  int fds[2];
  if (pipe(fds) != 0)
    bail_out("pipe: %s", strerror(errno));
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  int saved = dup(2);
  dup2(fds[1], 2);
  hak_options_init(envp);
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  ssize_t n = read(fds[0], err, cap - 1);
  err[n > 0 ? n : 0] = '\0';
  close(fds[0]);
}

static unsigned count_lines(const char *s)
{
  unsigned n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* The line of err that names var, or NULL. */
static const char *line_of(const char *err, const char *var, char *line, size_t cap)
{
  const char *p = strstr(err, var);
  if (!p)
    return NULL;
  while (p > err && p[-1] != '\n')
    p--;
  size_t n = strcspn(p, "\n");
  if (n >= cap)
    n = cap - 1;
  memcpy(line, p, n);
  line[n] = '\0';
  return line;
}

static int all_defaults_but(unsigned skip1, unsigned skip2)
{
  for (unsigned i = 0; i < HAK_OPT_COUNT; i++)
    if (i != skip1 && i != skip2 && hak_opt[i] != hak_option_table[i].def)
      return 0;
  return 1;
}

static void environment(void)
{
  char err[4096], line[512];
  init_captured(NULL, err, sizeof err);
  ok(all_defaults_but(HAK_OPT_COUNT, HAK_OPT_COUNT) && err[0] == '\0',
     "no environment: every option at its default, nothing reported");

  char *env1[] = {"PATH=/bin", "HAKMEM_PURGE_DELAY_MS=100", "HAKMEM_STATS=yes", "NOEQUALS",
                  "XHAKMEM_THP=1", NULL};
  init_captured(env1, err, sizeof err);
  ok(hak_opt[HAK_OPT_PURGE_DELAY_MS] == 100 && hak_opt[HAK_OPT_STATS] == 1 &&
         all_defaults_but(HAK_OPT_PURGE_DELAY_MS, HAK_OPT_STATS),
     "good values are set, other variables ignored");
  is_int(strlen(err), 0, "and nothing is reported");
  if (err[0])
    diag("  stderr: %s", err);

  char def_tcache[32], def_delay[32];
  snprintf(def_tcache, sizeof def_tcache, "default %ld", opt(HAK_OPT_TCACHE_MAX)->def);
  snprintf(def_delay, sizeof def_delay, "default %ld", opt(HAK_OPT_PURGE_DELAY_MS)->def);
  char *env2[] = {"HAKMEM_TCACHE_MAX=junk", "HAKMEM_CRASH_REPORT=maybe", "HAKMEM_PURGE_DELAY_MS=-3",
                  "HAKMEM_CACHE_MB=32", NULL};
  init_captured(env2, err, sizeof err);
  ok(hak_opt[HAK_OPT_TCACHE_MAX] == opt(HAK_OPT_TCACHE_MAX)->def && hak_opt[HAK_OPT_CRASH_REPORT] == opt(HAK_OPT_CRASH_REPORT)->def &&
         hak_opt[HAK_OPT_PURGE_DELAY_MS] == opt(HAK_OPT_PURGE_DELAY_MS)->def &&
         hak_opt[HAK_OPT_CACHE_MB] == 32,
     "bad values fall back to the default, good ones beside them are set");
  is_int(count_lines(err), 3, "one line on standard error per bad value");
  ok(line_of(err, "HAKMEM_TCACHE_MAX", line, sizeof line) && strstr(line, "junk") && strstr(line, def_tcache),
     "the line names the variable, the text and the default: %s", line_of(err, "HAKMEM_TCACHE_MAX", line, sizeof line) ? line : "(missing)");
  ok(line_of(err, "HAKMEM_PURGE_DELAY_MS", line, sizeof line) && strstr(line, "-3") && strstr(line, def_delay),
     "an out-of-range value is reported the same way: %s", line_of(err, "HAKMEM_PURGE_DELAY_MS", line, sizeof line) ? line : "(missing)");
  ok(line_of(err, "HAKMEM_CRASH_REPORT", line, sizeof line) && strstr(line, "maybe"),
     "a bad boolean too: %s", line_of(err, "HAKMEM_CRASH_REPORT", line, sizeof line) ? line : "(missing)");

  char *env3[] = {"HAKMEM_NO_SUCH_THING=1", NULL};
  init_captured(env3, err, sizeof err);
  ok(strstr(err, "HAKMEM_NO_SUCH_THING") && count_lines(err) == 1 && all_defaults_but(HAK_OPT_COUNT, HAK_OPT_COUNT),
     "an unknown HAKMEM_ variable is reported by name and changes nothing");

  char *env4[] = {"HAKMEM_CHECK=1", "HAKMEM_TCACHE_MAX=512", NULL};
  init_captured(env4, err, sizeof err);
  ok(hak_opt[HAK_OPT_CHECK] == 1 && hak_opt[HAK_OPT_TCACHE_MAX] == 0 && err[0] == '\0',
     "HAKMEM_CHECK=1 implies HAKMEM_TCACHE_MAX=0");
}

int main(void)
{
  unit_watchdog(60);
  plan(6 + 12 + 4 + 8 + 4 + 3 + 10);
  parser();
  table();
  environment();
  return done_testing();
}
