# libhakmem: the allocator.  Only hakmem.h and the malloc family are
# exported (hidden visibility plus the version script).
lib_LTLIBRARIES = libhakmem.la
libhakmem_la_SOURCES = \
	src/internal.h \
	src/options.h src/options.c \
	src/report.h src/report.c \
	src/os.c \
	src/registry.c \
	src/sizeclass.c \
	src/shared_pool.c \
	src/slab.c \
	src/front_cache.c \
	src/large.c \
	src/pack.c \
	src/huge.c \
	src/purge.c \
	src/stats.c \
	src/init.c \
	src/api.c
libhakmem_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -ftls-model=initial-exec \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc \
	$(PTHREAD_CFLAGS)
libhakmem_la_LDFLAGS = -version-info $(HAKMEM_LT_VERSION) -no-undefined \
	-Wl,--version-script=$(srcdir)/src/libhakmem.map -Wl,-z,nodelete \
	$(PTHREAD_LIBS)
EXTRA_libhakmem_la_DEPENDENCIES = $(srcdir)/src/libhakmem.map
EXTRA_DIST += src/libhakmem.map
libhakmem_la_SOURCES += src/publish.h src/publish.c src/crash.h src/crash.c src/stats_print.c
