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
# its statistics and waits; crash_prog: faults in the ways crash_report.sh
# checks.
check_PROGRAMS += tests/config_stats_consistency tests/config_target tests/crash_prog
tests_config_stats_consistency_LDADD = libhakmem.la $(PTHREAD_LIBS)
tests_config_stats_consistency_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_config_target_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src
tests_config_target_LDADD = libhakmem.la
tests_crash_prog_LDADD = libhakmem.la

TESTS += tests/config_cli.sh tests/config_stats.sh tests/config_stats_consistency \
	tests/crash_report.sh
EXTRA_DIST += tests/config_cli.sh tests/config_stats.sh tests/crash_report.sh
