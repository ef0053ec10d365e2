# tools: hakmem-config, a compiled program about the allocator (see
# hakmem-config(1)).  It runs on HAKMEM (linked with libhakmem) and compiles
# the library's options table, message formatter and statistics report
# itself, since the library exports none of them.
bin_PROGRAMS += tools/hakmem-config
tools_hakmem_config_SOURCES = tools/hakmem-config.c \
	src/options.c src/report.c src/stats_print.c
tools_hakmem_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src \
	-DHAKMEM_LIBDIR='"$(libdir)"'
tools_hakmem_config_LDADD = libhakmem.la

# Tests of hakmem-config, the published statistics and the crash report.
# config_target: a program on HAKMEM with a known workload that publishes
# its statistics and waits; crash_prog: crashes in the ways crash_report.sh
# checks.  They use the test programs' flags (tests/local.mk).
check_PROGRAMS += tests/config_stats_consistency tests/config_target tests/crash_prog
tests_config_stats_consistency_SOURCES = tests/config_stats_consistency.c $(hak_tests_headers)
tests_config_stats_consistency_CPPFLAGS = $(hak_tests_cppflags)
tests_config_stats_consistency_CFLAGS = $(hak_tests_cflags)
tests_config_stats_consistency_LDFLAGS = -no-install
tests_config_stats_consistency_LDADD = $(hak_tests_ldadd)
tests_config_target_CPPFLAGS = $(hak_tests_cppflags) -I$(top_srcdir)/src
tests_config_target_CFLAGS = $(hak_tests_cflags)
tests_config_target_LDFLAGS = -no-install
tests_config_target_LDADD = $(hak_tests_ldadd)
tests_crash_prog_CPPFLAGS = $(hak_tests_cppflags)
tests_crash_prog_CFLAGS = $(hak_tests_cflags)
tests_crash_prog_LDFLAGS = -no-install
tests_crash_prog_LDADD = $(hak_tests_ldadd)

TESTS += tests/config_cli.sh tests/config_stats.sh tests/config_stats_consistency \
	tests/crash_report.sh
EXTRA_DIST += tests/config_cli.sh tests/config_stats.sh tests/crash_report.sh tests/hc.sh
