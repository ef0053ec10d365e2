/* hakmem.h - public interface of the HAKMEM memory allocator.
 *
 * HAKMEM replaces the C library's malloc family (malloc, free, calloc,
 * realloc, ...) when a program is linked with `pkg-config --libs hakmem`
 * or started with LD_PRELOAD=libhakmem.so.0.  This header adds the same
 * functions under a hak_ prefix, for programs that want HAKMEM explicitly
 * next to another allocator, and a statistics interface.  See hakmem(3).
 */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HAKMEM_VERSION_MAJOR 0
#define HAKMEM_VERSION_MINOR 1
#define HAKMEM_VERSION_PATCH 0
#define HAKMEM_VERSION_STRING "0.1.0"
/* One number that compares in release order: 0x00MMmmpp. */
#define HAKMEM_VERSION \
  ((HAKMEM_VERSION_MAJOR << 16) | (HAKMEM_VERSION_MINOR << 8) | HAKMEM_VERSION_PATCH)

/* The version of the library actually loaded, e.g. "0.1.0". */
const char *hak_version(void);

/* The malloc family, with the semantics of the C library's functions of the
 * same name (glibc's where the standards leave a choice). */
void *hak_malloc(size_t size);
void hak_free(void *ptr);
void *hak_calloc(size_t nmemb, size_t size);
void *hak_realloc(void *ptr, size_t size);
void *hak_reallocarray(void *ptr, size_t nmemb, size_t size);
int hak_posix_memalign(void **memptr, size_t alignment, size_t size);
void *hak_aligned_alloc(size_t alignment, size_t size);
void *hak_memalign(size_t alignment, size_t size);
void *hak_valloc(size_t size);
void *hak_pvalloc(size_t size);
size_t hak_malloc_usable_size(void *ptr);
void hak_free_sized(void *ptr, size_t size);
void hak_free_aligned_sized(void *ptr, size_t alignment, size_t size);
int hak_malloc_trim(size_t pad);

/* Statistics.
 *
 * Counters are kept per thread and summed when read, so reading them is
 * cheap for the program but not a single atomic snapshot: figures of
 * threads running at the same time may be a few operations apart. */

#define HAK_STATS_MAX_CLASSES 80

/* Per size class of the tiny and mid tiers. */
typedef struct hak_class_stats {
  size_t block_size;     /* bytes per block of this class */
  uint64_t allocs;       /* blocks handed to the program */
  uint64_t frees;        /* blocks given back by the program */
  uint64_t refills;      /* thread-cache refills (batches from slabs) */
  uint64_t flushes;      /* thread-cache flushes (batches back to slabs) */
  uint64_t remote_frees; /* frees by a thread that does not own the slab */
  uint64_t drains;       /* remote lists taken back by the owner */
  uint64_t slabs;        /* slabs of this class in use now */
} hak_class_stats_t;

typedef struct hak_stats {
  uint32_t version;    /* HAKMEM_VERSION of the library that filled it */
  uint32_t nclasses;   /* entries used in classes[] */
  uint64_t threads;    /* threads that have used HAKMEM so far */
  /* Memory, in bytes. */
  uint64_t mapped;       /* address space mapped from the OS now */
  uint64_t mapped_peak;  /* highest value of mapped */
  uint64_t resident;     /* mapped, less purged and unused (upper bound of RSS) */
  uint64_t purged;       /* total bytes given back with madvise */
  uint64_t live_bytes;   /* bytes of blocks the program holds (usable size) */
  /* Shared Pool: where slab acquisitions were served from. */
  uint64_t pool_hit_empty;   /* a recycled EMPTY slab of the class */
  uint64_t pool_hit_adopt;   /* a partially used slab left by another thread */
  uint64_t pool_hit_unused;  /* an UNUSED slab of an existing SuperSlab */
  uint64_t pool_new_superslab; /* a newly mapped SuperSlab */
  uint64_t pool_releases;    /* slabs that became EMPTY */
  uint64_t superslabs;       /* SuperSlabs mapped now */
  uint64_t lock_acquisitions; /* times any HAKMEM lock was taken */
  /* Large tier and its Adaptive Cache Engine (ACE). */
  uint64_t large_allocs, large_frees;
  uint64_t ace_hits, ace_misses;
  uint64_t ace_fail_threshold;  /* size outside the ACE classes */
  uint64_t ace_fail_exhaustion; /* cache empty, new span needed */
  uint64_t ace_fail_mapfail;    /* the OS refused memory */
  uint64_t ace_cached_bytes;    /* bytes held in ACE caches now */
  /* Huge tier (direct mappings). */
  uint64_t huge_allocs, huge_frees;
  uint64_t huge_cache_hits;
  /* Per size class (tiny and mid tiers). */
  hak_class_stats_t classes[HAK_STATS_MAX_CLASSES];
} hak_stats_t;

/* Fills *st with the current figures.  Returns 0. */
int hak_stats_get(hak_stats_t *st);
/* Writes a readable report of the current figures to file descriptor fd
 * (with write(2), no stdio).  Returns 0, or -1 with errno on error. */
int hak_stats_print(int fd);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_H */
