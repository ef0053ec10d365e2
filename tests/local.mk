# tests: the behaviour test suite, run by `make check`.
#
# Every test prints TAP and runs through build-aux/tap-driver.sh, programs
# and .sh scripts alike.  Test programs link libhakmem.la, so the malloc
# family inside them is HAKMEM's (and they call the hak_* API too); they
# are linked with -no-install so they run from the build tree without a
# libtool wrapper (test_bad_free re-executes itself).  Other parts of the
# tree add their own tests to TESTS in their local.mk (config_*, crash_*,
# man_*, doc_*) and get the same drivers and environment.
#
# The sanitizer builds compile the library's sources again into check-only
# convenience libraries: with ThreadSanitizer and HAKMEM_OVERRIDE=0 (only
# the hak_* names, the sanitizer keeps its malloc) for the thread stress
# test, and with UndefinedBehaviorSanitizer for the API test.

TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(top_builddir)'; top_srcdir='$(top_srcdir)'; \
	abs_top_builddir='$(abs_top_builddir)'; abs_top_srcdir='$(abs_top_srcdir)'; \
	LIBHAKMEM_SO='$(abs_top_builddir)/.libs/libhakmem.so'; \
	export top_builddir top_srcdir abs_top_builddir abs_top_srcdir LIBHAKMEM_SO;

# Flags of every test program.  The -fno-builtin-* flags keep the compiler
# from assuming what the allocation functions return (alignment, success)
# and folding away the checks of it, or dropping calls it thinks unused.
hak_tests_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
hak_tests_cflags = $(AM_CFLAGS) $(PTHREAD_CFLAGS) \
	-fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free \
	-fno-builtin-aligned_alloc -fno-builtin-posix_memalign
hak_tests_ldadd = libhakmem.la $(PTHREAD_LIBS)
hak_tests_headers = tests/tap.h tests/testutil.h

hak_test_programs = \
	tests/test_api \
	tests/test_mt_stress \
	tests/test_prodcons \
	tests/test_thread_churn \
	tests/test_fork \
	tests/test_bad_free
check_PROGRAMS += $(hak_test_programs)
TESTS += $(hak_test_programs) tests/real_programs.sh

tests_test_api_SOURCES = tests/test_api.c $(hak_tests_headers)
tests_test_api_CPPFLAGS = $(hak_tests_cppflags)
tests_test_api_CFLAGS = $(hak_tests_cflags)
tests_test_api_LDFLAGS = -no-install
tests_test_api_LDADD = $(hak_tests_ldadd)

tests_test_mt_stress_SOURCES = tests/test_mt_stress.c $(hak_tests_headers)
tests_test_mt_stress_CPPFLAGS = $(hak_tests_cppflags)
tests_test_mt_stress_CFLAGS = $(hak_tests_cflags)
tests_test_mt_stress_LDFLAGS = -no-install
tests_test_mt_stress_LDADD = $(hak_tests_ldadd)

tests_test_prodcons_SOURCES = tests/test_prodcons.c $(hak_tests_headers)
tests_test_prodcons_CPPFLAGS = $(hak_tests_cppflags)
tests_test_prodcons_CFLAGS = $(hak_tests_cflags)
tests_test_prodcons_LDFLAGS = -no-install
tests_test_prodcons_LDADD = $(hak_tests_ldadd)

tests_test_thread_churn_SOURCES = tests/test_thread_churn.c $(hak_tests_headers)
tests_test_thread_churn_CPPFLAGS = $(hak_tests_cppflags)
tests_test_thread_churn_CFLAGS = $(hak_tests_cflags)
tests_test_thread_churn_LDFLAGS = -no-install
tests_test_thread_churn_LDADD = $(hak_tests_ldadd)

tests_test_fork_SOURCES = tests/test_fork.c $(hak_tests_headers)
tests_test_fork_CPPFLAGS = $(hak_tests_cppflags)
tests_test_fork_CFLAGS = $(hak_tests_cflags)
tests_test_fork_LDFLAGS = -no-install
tests_test_fork_LDADD = $(hak_tests_ldadd)

tests_test_bad_free_SOURCES = tests/test_bad_free.c $(hak_tests_headers)
tests_test_bad_free_CPPFLAGS = $(hak_tests_cppflags)
tests_test_bad_free_CFLAGS = $(hak_tests_cflags)
tests_test_bad_free_LDFLAGS = -no-install
tests_test_bad_free_LDADD = $(hak_tests_ldadd)

# ThreadSanitizer: the stress test on the hak_* API.  tests/tsan_stress.sh
# runs it, or reports a SKIP when the sanitizer cannot start here.  The
# sanitizer copy of the library does not turn warnings into errors: GCC
# warns (-Wtsan) that it cannot model atomic_thread_fence, which the
# statistics seqlock uses; the library itself is built with -Werror.
hak_tsan_flags = -fsanitize=thread
check_LTLIBRARIES += tests/libhakcore_tsan.la
tests_libhakcore_tsan_la_SOURCES = $(libhakmem_la_SOURCES)
tests_libhakcore_tsan_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src -DHAKMEM_OVERRIDE=0
tests_libhakcore_tsan_la_CFLAGS = $(libhakmem_la_CFLAGS) $(hak_tsan_flags) -Wno-error

check_PROGRAMS += tests/test_mt_stress_tsan
tests_test_mt_stress_tsan_SOURCES = tests/test_mt_stress.c $(hak_tests_headers)
tests_test_mt_stress_tsan_CPPFLAGS = $(hak_tests_cppflags) -DSTRESS_PREFIXED
tests_test_mt_stress_tsan_CFLAGS = $(hak_tests_cflags) $(hak_tsan_flags)
tests_test_mt_stress_tsan_LDFLAGS = $(hak_tsan_flags) -no-install
tests_test_mt_stress_tsan_LDADD = tests/libhakcore_tsan.la $(PTHREAD_LIBS)
TESTS += tests/tsan_stress.sh

# UndefinedBehaviorSanitizer: the API test with the library's sources built
# into the program (malloc and hak_malloc both HAKMEM's); any undefined
# behaviour aborts the test.
hak_ubsan_flags = -fsanitize=undefined -fno-sanitize-recover=undefined
check_LTLIBRARIES += tests/libhakcore_ubsan.la
tests_libhakcore_ubsan_la_SOURCES = $(libhakmem_la_SOURCES)
tests_libhakcore_ubsan_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src
tests_libhakcore_ubsan_la_CFLAGS = $(libhakmem_la_CFLAGS) $(hak_ubsan_flags)

check_PROGRAMS += tests/test_api_ubsan
tests_test_api_ubsan_SOURCES = tests/test_api.c $(hak_tests_headers)
tests_test_api_ubsan_CPPFLAGS = $(hak_tests_cppflags)
tests_test_api_ubsan_CFLAGS = $(hak_tests_cflags) $(hak_ubsan_flags)
tests_test_api_ubsan_LDFLAGS = $(hak_ubsan_flags) -no-install
tests_test_api_ubsan_LDADD = tests/libhakcore_ubsan.la $(PTHREAD_LIBS)
TESTS += tests/test_api_ubsan

EXTRA_DIST += tests/real_programs.sh tests/tsan_stress.sh

# Traces: in the debug build only, and only when asked for; the release
# library has no stdio at all.
check_PROGRAMS += tests/trace_prog
tests_trace_prog_SOURCES = tests/trace_prog.c
tests_trace_prog_CFLAGS = $(hak_tests_cflags)
tests_trace_prog_LDFLAGS = -no-install
tests_trace_prog_LDADD = $(hak_tests_ldadd)
TESTS += tests/traces.sh
EXTRA_DIST += tests/traces.sh tests/tap.sh
