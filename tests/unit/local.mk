# tests/unit: unit tests of the library's modules, and tests of the Large
# and Huge tiers.
#
# The unit tests reach the modules directly (internal.h): they link
# libhakcore.la, the library's sources built again with HAKMEM_OVERRIDE=0,
# so only the hak_* names are defined and the C library's malloc stays the
# program's (stdio and the test harness never run on the allocator under
# test).  The tier tests run on the real library (libhakmem.la), through
# the standard malloc names.  Every test prints TAP (the drivers and the
# environment are set in tests/local.mk).

check_LTLIBRARIES += tests/unit/libhakcore.la
tests_unit_libhakcore_la_SOURCES = $(libhakmem_la_SOURCES)
tests_unit_libhakcore_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src -DHAKMEM_OVERRIDE=0
tests_unit_libhakcore_la_CFLAGS = $(libhakmem_la_CFLAGS)

hak_unit_headers = tests/tap.h tests/testutil.h tests/unit/unit.h
hak_unit_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/src -I$(top_srcdir)/tests -DHAKMEM_OVERRIDE=0
hak_unit_cflags = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
hak_unit_ldadd = tests/unit/libhakcore.la $(PTHREAD_LIBS)

# Tier tests: the -fno-builtin-* flags keep the compiler from assuming what
# the allocation functions return and folding the checks of it away.
hak_tier_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
hak_tier_cflags = $(AM_CFLAGS) $(PTHREAD_CFLAGS) \
	-fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free \
	-fno-builtin-aligned_alloc -fno-builtin-posix_memalign
hak_tier_ldadd = libhakmem.la $(PTHREAD_LIBS)

hak_unit_programs = \
	tests/unit/unit_sizeclass \
	tests/unit/unit_registry \
	tests/unit/unit_pack \
	tests/unit/unit_pool \
	tests/unit/unit_remote \
	tests/unit/unit_front_cache \
	tests/unit/unit_options \
	tests/unit/unit_report
hak_tier_programs = \
	tests/unit/tier_realloc \
	tests/unit/tier_rss \
	tests/unit/tier_ace \
	tests/unit/tier_oom \
	tests/unit/tier_many_large \
	tests/unit/tier_remap
check_PROGRAMS += $(hak_unit_programs) $(hak_tier_programs)
TESTS += $(hak_unit_programs) $(hak_tier_programs) tests/unit/tier_ace_strace.sh
EXTRA_DIST += tests/unit/tier_ace_strace.sh

tests_unit_unit_sizeclass_SOURCES = tests/unit/unit_sizeclass.c $(hak_unit_headers)
tests_unit_unit_sizeclass_CPPFLAGS = $(hak_unit_cppflags)
tests_unit_unit_sizeclass_CFLAGS = $(hak_unit_cflags)
tests_unit_unit_sizeclass_LDFLAGS = -no-install
tests_unit_unit_sizeclass_LDADD = $(hak_unit_ldadd)

tests_unit_unit_registry_SOURCES = tests/unit/unit_registry.c $(hak_unit_headers)
tests_unit_unit_registry_CPPFLAGS = $(hak_unit_cppflags)
tests_unit_unit_registry_CFLAGS = $(hak_unit_cflags)
tests_unit_unit_registry_LDFLAGS = -no-install
tests_unit_unit_registry_LDADD = $(hak_unit_ldadd)

tests_unit_unit_pack_SOURCES = tests/unit/unit_pack.c $(hak_unit_headers)
tests_unit_unit_pack_CPPFLAGS = $(hak_unit_cppflags)
tests_unit_unit_pack_CFLAGS = $(hak_unit_cflags)
tests_unit_unit_pack_LDFLAGS = -no-install
tests_unit_unit_pack_LDADD = $(hak_unit_ldadd)

tests_unit_unit_pool_SOURCES = tests/unit/unit_pool.c $(hak_unit_headers)
tests_unit_unit_pool_CPPFLAGS = $(hak_unit_cppflags)
tests_unit_unit_pool_CFLAGS = $(hak_unit_cflags)
tests_unit_unit_pool_LDFLAGS = -no-install
tests_unit_unit_pool_LDADD = $(hak_unit_ldadd)

tests_unit_unit_remote_SOURCES = tests/unit/unit_remote.c $(hak_unit_headers)
tests_unit_unit_remote_CPPFLAGS = $(hak_unit_cppflags)
tests_unit_unit_remote_CFLAGS = $(hak_unit_cflags)
tests_unit_unit_remote_LDFLAGS = -no-install
tests_unit_unit_remote_LDADD = $(hak_unit_ldadd)

tests_unit_unit_front_cache_SOURCES = tests/unit/unit_front_cache.c $(hak_unit_headers)
tests_unit_unit_front_cache_CPPFLAGS = $(hak_unit_cppflags)
tests_unit_unit_front_cache_CFLAGS = $(hak_unit_cflags)
tests_unit_unit_front_cache_LDFLAGS = -no-install
tests_unit_unit_front_cache_LDADD = $(hak_unit_ldadd)

tests_unit_unit_options_SOURCES = tests/unit/unit_options.c $(hak_unit_headers)
tests_unit_unit_options_CPPFLAGS = $(hak_unit_cppflags)
tests_unit_unit_options_CFLAGS = $(hak_unit_cflags)
tests_unit_unit_options_LDFLAGS = -no-install
tests_unit_unit_options_LDADD = $(hak_unit_ldadd)

tests_unit_unit_report_SOURCES = tests/unit/unit_report.c $(hak_unit_headers)
tests_unit_unit_report_CPPFLAGS = $(hak_unit_cppflags)
tests_unit_unit_report_CFLAGS = $(hak_unit_cflags)
tests_unit_unit_report_LDFLAGS = -no-install
tests_unit_unit_report_LDADD = $(hak_unit_ldadd)

tests_unit_tier_realloc_SOURCES = tests/unit/tier_realloc.c tests/tap.h tests/testutil.h
tests_unit_tier_realloc_CPPFLAGS = $(hak_tier_cppflags)
tests_unit_tier_realloc_CFLAGS = $(hak_tier_cflags)
tests_unit_tier_realloc_LDFLAGS = -no-install
tests_unit_tier_realloc_LDADD = $(hak_tier_ldadd)

tests_unit_tier_rss_SOURCES = tests/unit/tier_rss.c tests/tap.h tests/testutil.h
tests_unit_tier_rss_CPPFLAGS = $(hak_tier_cppflags)
tests_unit_tier_rss_CFLAGS = $(hak_tier_cflags)
tests_unit_tier_rss_LDFLAGS = -no-install
tests_unit_tier_rss_LDADD = $(hak_tier_ldadd)

tests_unit_tier_ace_SOURCES = tests/unit/tier_ace.c tests/tap.h tests/testutil.h
tests_unit_tier_ace_CPPFLAGS = $(hak_tier_cppflags)
tests_unit_tier_ace_CFLAGS = $(hak_tier_cflags)
tests_unit_tier_ace_LDFLAGS = -no-install
tests_unit_tier_ace_LDADD = $(hak_tier_ldadd)

tests_unit_tier_oom_SOURCES = tests/unit/tier_oom.c tests/tap.h tests/testutil.h
tests_unit_tier_oom_CPPFLAGS = $(hak_tier_cppflags)
tests_unit_tier_oom_CFLAGS = $(hak_tier_cflags)
tests_unit_tier_oom_LDFLAGS = -no-install
tests_unit_tier_oom_LDADD = $(hak_tier_ldadd)

tests_unit_tier_many_large_SOURCES = tests/unit/tier_many_large.c tests/tap.h
tests_unit_tier_many_large_CPPFLAGS = $(hak_tier_cppflags)
tests_unit_tier_many_large_CFLAGS = $(hak_tier_cflags)
tests_unit_tier_many_large_LDFLAGS = -no-install
tests_unit_tier_many_large_LDADD = $(hak_tier_ldadd)

# tier_remap defines mremap, which the library's calls must reach.
tests_unit_tier_remap_SOURCES = tests/unit/tier_remap.c tests/tap.h tests/testutil.h
tests_unit_tier_remap_CPPFLAGS = $(hak_tier_cppflags)
tests_unit_tier_remap_CFLAGS = $(hak_tier_cflags)
tests_unit_tier_remap_LDFLAGS = -no-install -Wl,--export-dynamic
tests_unit_tier_remap_LDADD = $(hak_tier_ldadd)
