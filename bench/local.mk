# bench: the benchmark suite (bench/README.md).
#
# The programs use the plain malloc API and are linked against libc only;
# bench/run loads HAKMEM and the peer allocators into them with LD_PRELOAD.
# They are EXTRA_PROGRAMS: built on demand, never by `make all`.
#   make bench-programs   build them
#   make bench            build them and libhakmem, run bench/run
#                         (BENCH_REPS=N, BENCH_QUICK=1, BENCH_ONLY='names',
#                         BENCH_ALLOCATORS='names', BENCH_OUT=dir)
#   make bench-callgrind  instructions per operation under callgrind

BENCH_PROGS = \
	bench/bench_random_mixed \
	bench/larson \
	bench/bench_mid_mt_gap \
	bench/bench_mid_large_mt \
	bench/cache_thrash \
	bench/cache_scratch \
	bench/bench_prodcons \
	bench/bench_realloc \
	bench/bench_frag \
	bench/fastpath \
	bench/bench_rss
EXTRA_PROGRAMS += $(BENCH_PROGS)
CLEANFILES += $(BENCH_PROGS)

BENCH_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
BENCH_LIBS = $(PTHREAD_LIBS)

bench_bench_random_mixed_SOURCES = bench/bench_random_mixed.c bench/bench.h
bench_bench_random_mixed_CFLAGS = $(BENCH_CFLAGS)
bench_larson_SOURCES = bench/larson.c bench/bench.h
bench_larson_CFLAGS = $(BENCH_CFLAGS)
bench_larson_LDADD = $(BENCH_LIBS)
bench_bench_mid_mt_gap_SOURCES = bench/bench_mid_mt_gap.c bench/bench_mt.h bench/bench.h
bench_bench_mid_mt_gap_CFLAGS = $(BENCH_CFLAGS)
bench_bench_mid_mt_gap_LDADD = $(BENCH_LIBS)
bench_bench_mid_large_mt_SOURCES = bench/bench_mid_large_mt.c bench/bench_mt.h bench/bench.h
bench_bench_mid_large_mt_CFLAGS = $(BENCH_CFLAGS)
bench_bench_mid_large_mt_LDADD = $(BENCH_LIBS)
bench_cache_thrash_SOURCES = bench/cache_thrash.c bench/bench_cache.h bench/bench.h
bench_cache_thrash_CFLAGS = $(BENCH_CFLAGS)
bench_cache_thrash_LDADD = $(BENCH_LIBS)
bench_cache_scratch_SOURCES = bench/cache_scratch.c bench/bench_cache.h bench/bench.h
bench_cache_scratch_CFLAGS = $(BENCH_CFLAGS)
bench_cache_scratch_LDADD = $(BENCH_LIBS)
bench_bench_prodcons_SOURCES = bench/bench_prodcons.c bench/bench.h
bench_bench_prodcons_CFLAGS = $(BENCH_CFLAGS)
bench_bench_prodcons_LDADD = $(BENCH_LIBS)
bench_bench_realloc_SOURCES = bench/bench_realloc.c bench/bench.h
bench_bench_realloc_CFLAGS = $(BENCH_CFLAGS)
bench_bench_frag_SOURCES = bench/bench_frag.c bench/bench.h
bench_bench_frag_CFLAGS = $(BENCH_CFLAGS)
bench_fastpath_SOURCES = bench/fastpath.c bench/bench.h
bench_fastpath_CFLAGS = $(BENCH_CFLAGS)
bench_bench_rss_SOURCES = bench/bench_rss.c bench/bench.h
bench_bench_rss_CFLAGS = $(BENCH_CFLAGS)

dist_noinst_SCRIPTS += bench/run
EXTRA_DIST += bench/README.md bench/results/latest.md bench/results/latest.png \
	bench/results/latest-runs.tsv bench/results/callgrind.md

# The runner's environment: the programs, the peers found by configure,
# HAKMEM as built here (wherever lib_LTLIBRARIES puts libhakmem.la), and
# the BENCH_* settings given to make or in the environment.
BENCH_RUN = \
	so=; for la in $(lib_LTLIBRARIES); do \
	  case $$la in *libhakmem.la) so=$(abs_top_builddir)/`dirname $$la`/.libs/libhakmem.so;; esac; \
	done; \
	LIBHAKMEM_SO=$$so BENCH_BINDIR=$(abs_top_builddir)/bench \
	JEMALLOC_SO='$(JEMALLOC_SO)' MIMALLOC_SO='$(MIMALLOC_SO)' TCMALLOC_SO='$(TCMALLOC_SO)' \
	BENCH_REPS='$(BENCH_REPS)' BENCH_QUICK='$(BENCH_QUICK)' BENCH_ONLY='$(BENCH_ONLY)' \
	BENCH_ALLOCATORS='$(BENCH_ALLOCATORS)' BENCH_OUT='$(BENCH_OUT)' \
	$(SHELL) $(srcdir)/bench/run

bench-programs: $(BENCH_PROGS)

bench: bench-programs $(lib_LTLIBRARIES)
	@$(BENCH_RUN)

bench-callgrind: bench-programs $(lib_LTLIBRARIES)
	@$(BENCH_RUN) --callgrind

.PHONY: bench bench-programs bench-callgrind
