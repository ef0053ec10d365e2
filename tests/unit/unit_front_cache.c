/* unit_front_cache.c - per-thread heaps and their caches
 * (src/front_cache.c and the fast paths of src/api.c).
 *
 * - A thread has no heap until its first malloc, which sets it up.
 * - A free of one of the thread's own blocks pushes it onto the thread's
 *   cache: LIFO, so a malloc right after a free returns the same block.
 * - A cache that overflows gives half of its capacity back to the slabs.
 * - A refill brings half the capacity; capacity starts small and doubles
 *   at each refill up to the class's limit (HAKMEM_TCACHE_MAX, at most
 *   HAK_TCACHE_BYTES of blocks), so rarely used classes hold little memory.
 * - Never-used blocks are carved from a slab HAK_CARVE_BYTES at a time,
 *   however large the refill.
 * - A refill takes a slab's freed blocks in the order of its free list
 *   (the most recently freed first), and a whole free list that fits
 *   without walking it.
 * - With HAKMEM_TCACHE_MAX=0 (read when a thread sets its heap up) nothing
 *   is cached: every malloc and free goes through the checked slow path,
 *   which catches an interior pointer (in a child process: it aborts).
 * - A thread's exit gives its cached blocks back: a slab whose blocks were
 *   all in the cache is EMPTY afterwards.  A heap set up after that, by a
 *   destructor of the last round, does not point into the thread's TLS. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "unit.h"

/* Room for four times the largest cache (16-byte blocks). */
#define MAXB (4 * (HAK_TCACHE_BYTES / 16))

/* A cache's most blocks: HAK_TCACHE_BYTES of them, but 32 at least and
 * 1 MiB at most (16 blocks of 64 KiB), and tcache_max (HAKMEM_TCACHE_MAX)
 * at most. */
static uint32_t class_limit(unsigned cls, long tcache_max)
{
  uint32_t by_bytes = HAK_TCACHE_BYTES / hak_class_size[cls];
  if (by_bytes < 32)
    by_bytes = 32;
  if (by_bytes > (1u << 20) / hak_class_size[cls])
    by_bytes = (1u << 20) / hak_class_size[cls];
  return (uint32_t)tcache_max < by_bytes ? (uint32_t)tcache_max : by_bytes;
}

/* ---- first malloc of a thread ---- */

struct first_use {
  int heap_before, bins_zero_before;
  int heap_after, tiny_is_tls, live, owner_is_heap, bin_is_tls;
};

static void *first_use_thread(void *arg)
{
  struct first_use *r = arg;
  struct hak_tbin zero[HAK_TINY_CLASSES];
  memset(zero, 0, sizeof zero);
  r->heap_before = hak_theap != &hak_no_heap;
  r->bins_zero_before = memcmp(hak_tbins, zero, sizeof zero) == 0;
  void *p = hak_malloc(16);
  struct hak_slab *s = slab_of(p);
  r->heap_after = hak_theap != &hak_no_heap;
  r->tiny_is_tls = hak_theap->tiny == hak_tbins;
  r->live = hak_theap->live;
  r->owner_is_heap = s && atomic_load(&s->owner) == hak_theap;
  r->bin_is_tls = s && s->bin == &hak_tbins[hak_size_class(16)];
  hak_free(p);
  return NULL;
}

static void first_use(void)
{
  struct first_use r;
  hak_stats_t st0 = stats_now();
  run_thread(first_use_thread, &r);
  hak_stats_t st1 = stats_now();
  ok(!r.heap_before && r.bins_zero_before, "a new thread has no heap and empty caches");
  ok(r.heap_after && r.tiny_is_tls && r.live, "its first malloc sets its heap up, tiny caches in TLS");
  ok(r.owner_is_heap && r.bin_is_tls, "the slab is owned by that heap and bound to its TLS cache");
  is_int(st1.threads - st0.threads, 1, "statistics: one more thread");
}

/* ---- LIFO ---- */

static void lifo(void)
{
  const unsigned cls = hak_size_class(32);
  char *p = hak_malloc(32);
  unsigned n0 = tbin_count(tbin_of(cls));
  hak_free(p);
  ok(tbin_of(cls)->head == p && tbin_count(tbin_of(cls)) == n0 + 1,
     "a free of the thread's own block pushes it onto the cache");
  char *q = hak_malloc(32);
  ok(q == p, "malloc right after free returns the same block (%p, %p)", (void *)p, (void *)q);
  char *a = hak_malloc(32), *b = hak_malloc(32);
  hak_free(a);
  hak_free(b);
  char *b2 = hak_malloc(32), *a2 = hak_malloc(32);
  ok(b2 == b && a2 == a, "last freed, first reused");
  hak_free(a2);
  hak_free(b2);
  hak_free(q);
}

/* ---- overflow ---- */

static void overflow(void)
{
  static void *held[MAXB];
  const size_t size = 128;
  const unsigned cls = hak_size_class(size);
  const unsigned n = 4 * class_limit(cls, hak_opt[HAK_OPT_TCACHE_MAX]);
  if (n > MAXB)
    bail_out("overflow: %u blocks do not fit the test's array", n);
  for (unsigned i = 0; i < n; i++)
    held[i] = hak_malloc(size);
  struct hak_tbin *b = tbin_of(cls);
  hak_stats_t st0 = stats_now();
  unsigned overflows = 0, wrong = 0;
  for (unsigned i = 0; i < n; i++) {
    unsigned before = tbin_count(b), cap = b->cap;
    hak_free(held[i]);
    unsigned want = before + 1 == cap ? cap / 2 : before + 1;
    overflows += before + 1 == cap;
    if (tbin_count(b) != want && wrong++ == 0)
      diag("  free %u: %u blocks cached (capacity %u), expected %u", i, tbin_count(b), cap, want);
  }
  hak_stats_t st1 = stats_now();
  ok(overflows >= 2 && wrong == 0,
     "a full cache gives half its capacity back at the free that fills it (%u overflows)", overflows);
  is_int(st1.classes[cls].flushes - st0.classes[cls].flushes, overflows, "statistics: one flush each");
}

/* ---- refill and capacity ---- */

#define REFILLS 7

struct growth {
  size_t size;
  uint32_t cap[REFILLS];    /* capacity after each refill */
  uint32_t cached[REFILLS]; /* blocks left in the cache by each refill */
  uint32_t left[REFILLS];   /* never-used blocks left in the slab it ended in */
};

static void *growth_thread(void *arg)
{
  struct growth *g = arg;
  static void *held[4 * MAXB];
  unsigned cls = hak_size_class(g->size), n = 0;
  for (unsigned r = 0; r < REFILLS && n < 4 * MAXB;) {
    int refill = hak_theap == &hak_no_heap || tbin_of(cls)->head == NULL;
    held[n++] = hak_malloc(g->size);
    if (refill) {
      g->cap[r] = tbin_of(cls)->cap;
      struct hak_slab *s = slab_of(held[n - 1]);
      g->left[r] = (uint32_t)(s->cap - s->bump);
      g->cached[r++] = tbin_count(tbin_of(cls));
    }
  }
  while (n)
    hak_free(held[--n]);
  return NULL;
}

static void check_growth(size_t size, long tcache_max)
{
  struct growth g = {.size = size};
  run_thread_tcache(tcache_max, growth_thread, &g);
  unsigned cls = hak_size_class(size);
  uint32_t lim = class_limit(cls, tcache_max);

  unsigned bad = 0, half = 0, reached = REFILLS;
  for (unsigned r = 0; r < REFILLS; r++) {
    uint32_t prev = r ? g.cap[r - 1] : 0;
    if (g.cap[r] > lim || (r && g.cap[r] < prev) || (r && prev < lim && g.cap[r] == prev))
      bad++;
    if (g.cap[r] == lim && reached == REFILLS)
      reached = r;
    /* The thread never frees, so every block is carved: half the
     * capacity, at most HAK_CARVE_BYTES of blocks (one at least), or less
     * only when the slab ran out (a refill takes a second slab only for an
     * empty cache). */
    uint32_t want = g.cap[r] / 2 ? g.cap[r] / 2 : 1, got = g.cached[r] + 1;
    uint32_t carve = HAK_CARVE_BYTES / (uint32_t)size ? HAK_CARVE_BYTES / (uint32_t)size : 1;
    uint32_t expect = want < carve ? want : carve;
    half += got == expect || (got < expect && g.left[r] == 0);
  }
  char caps[160];
  int len = 0;
  for (unsigned r = 0; r < REFILLS; r++)
    len += snprintf(caps + len, sizeof caps - (size_t)len, " %u", (unsigned)g.cap[r]);
  ok(g.cap[0] <= 2 * ((lim + 7) / 8), "%zu B, limit %u: capacity starts at 1/8 of it or less, doubled (%u)", size, (unsigned)lim,
     (unsigned)g.cap[0]);
  ok(bad == 0 && reached <= 4, "%zu B: capacity grows at each refill up to the limit and stays (%s)", size,
     caps);
  is_int(half, REFILLS,
         "%zu B: each refill brings half the capacity, at most %u B of never-used blocks, or the rest of its slab",
         size, (unsigned)HAK_CARVE_BYTES);
}

/* ---- no thread cache ---- */

struct nocache {
  int nocache, tagged, uncached, freed_to_slab, lifo, used_ok;
  uint64_t refills, allocs, frees;
};

static void *nocache_thread(void *arg)
{
  struct nocache *r = arg;
  const unsigned cls = hak_size_class(64);
  hak_stats_t st0 = stats_now();
  char *p = hak_malloc(64);
  struct hak_slab *s = slab_of(p);
  r->nocache = hak_theap->nocache && tbin_of(cls)->cap == 0 && tbin_of(cls)->head == NULL;
  r->tagged = atomic_load(&s->owner) != hak_theap && hak_owner_untag(atomic_load(&s->owner)) == hak_theap;
  unsigned used = s->used;
  hak_free(p);
  r->uncached = tbin_of(cls)->head == NULL;
  r->freed_to_slab = hak_slab_is_free_block(s, p) && s->used == used - 1;
  char *q = hak_malloc(64);
  r->lifo = q == p;
  void *more[10];
  for (int i = 0; i < 10; i++)
    more[i] = hak_malloc(64);
  r->used_ok = s->used == used + 10;
  for (int i = 0; i < 10; i++)
    hak_free(more[i]);
  hak_free(q);
  hak_stats_t st1 = stats_now();
  r->refills = st1.classes[cls].refills - st0.classes[cls].refills;
  r->allocs = st1.classes[cls].allocs - st0.classes[cls].allocs;
  r->frees = st1.classes[cls].frees - st0.classes[cls].frees;
  return NULL;
}

static void *interior_free_thread(void *arg)
{
  (void)arg;
  char *p = hak_malloc(64);
  hak_free(p + 16);
  return NULL;
}

static void no_cache(void)
{
  struct nocache r;
  memset(&r, 0, sizeof r);
  run_thread_tcache(0, nocache_thread, &r);
  ok(r.nocache, "HAKMEM_TCACHE_MAX=0: the thread's heap has no cache");
  ok(r.tagged, "its slabs carry the tagged owner, so the free fast path never matches");
  ok(r.uncached && r.freed_to_slab, "a free goes straight back to the slab's free list");
  ok(r.lifo && r.used_ok, "each malloc takes one block from the slab, the last freed first");
  ok(r.refills == 0 && r.allocs == 12 && r.frees == 12,
     "statistics: 12 allocations, 12 frees, no cache refill (%llu, %llu, %llu)",
     (unsigned long long)r.allocs, (unsigned long long)r.frees, (unsigned long long)r.refills);

  /* The checked path rejects an interior pointer (a cached heap's fast
   * path would take it in the release build). */
  int fds[2];
  if (pipe(fds) != 0)
    bail_out("pipe: %s", strerror(errno));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    run_thread_tcache(0, interior_free_thread, NULL);
    _exit(0);
  }
  close(fds[1]);
  char msg[512];
  ssize_t len = 0, n;
  while (len < (ssize_t)sizeof msg - 1 && (n = read(fds[0], msg + len, sizeof msg - 1 - (size_t)len)) > 0)
    len += n;
  msg[len > 0 ? len : 0] = '\0';
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(msg, "free(") &&
         strstr(msg, "invalid pointer"),
     "a free of an interior pointer is caught and aborts");
  if (!WIFSIGNALED(status) || !strstr(msg, "invalid pointer"))
    diag("  status 0x%x, stderr: %s", status, msg);
}

/* ---- thread exit ---- */

static struct hak_slab *exit_slab;

static void *cache_then_exit(void *arg)
{
  (void)arg;
  void *held[64];
  for (int i = 0; i < 64; i++)
    held[i] = hak_malloc(80);
  exit_slab = slab_of(held[0]);
  for (int i = 0; i < 64; i++)
    hak_free(held[i]);
  return NULL;
}

static void thread_exit(void)
{
  run_thread(cache_then_exit, NULL);
  ok(slab_state(exit_slab) != HAK_SLAB_ACTIVE && exit_slab->used == 0,
     "a thread's exit gives its cached blocks back: its slab is no longer in use (state %d)",
     slab_state(exit_slab));
}

/* A thread-exit destructor that runs after HAKMEM's in every round (its
 * key is newer) and allocates in the last round: the heap set up then is
 * never torn down, and the statistics keep reading it after the thread's
 * TLS is gone (here with the thread's own stack, unmapped after the
 * join). */
static pthread_key_t late_key;
static void *late_block;
static unsigned late_rounds;

static void late_destructor(void *v)
{
  void *p = hak_malloc(48);
  if (++late_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
    hak_free(p);
    pthread_setspecific(late_key, v);
  } else {
    late_block = p;
  }
}

static void *late_thread(void *arg)
{
  hak_free(hak_malloc(48));
  pthread_setspecific(late_key, arg);
  return NULL;
}

static void allocation_after_exit(void)
{
  size_t size = 1 << 20;
  void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  pthread_attr_t attr;
  pthread_t t;
  if (stack == MAP_FAILED || pthread_key_create(&late_key, late_destructor) != 0 ||
      pthread_attr_init(&attr) != 0 || pthread_attr_setstack(&attr, stack, size) != 0 ||
      pthread_create(&t, &attr, late_thread, &late_key) != 0)
    bail_out("cannot start a thread on a stack of its own");
  pthread_join(t, NULL);
  munmap(stack, size);
  hak_stats_t st;
  int rc = hak_stats_get(&st);
  ok(rc == 0 && late_rounds == PTHREAD_DESTRUCTOR_ITERATIONS && late_block,
     "a block allocated in the last round of thread-exit destructors, after HAKMEM's (round %u): "
     "the statistics still read its heap once the thread's TLS is gone", late_rounds);
  memset(late_block, 0x5a, 48);
  hak_free(late_block);
}

/* The statistics read a cache's cap and room while its thread changes
 * both (a refill grows them together): read halfway, room may exceed cap
 * for a moment.  The class's counts must not wrap below zero. */
static void stats_mid_refill(void)
{
  void *p = hak_malloc(64);
  unsigned cls = hak_size_class(64);
  struct hak_tbin *b = hak_bin_of(hak_theap, cls);
  uint32_t room = b->room;
  b->room = b->cap + 8; /* as if read between the two updates */
  hak_stats_t st;
  hak_stats_get(&st);
  b->room = room;
  ok(st.classes[cls].allocs < 1000000 && st.live_bytes < ((uint64_t)1 << 40),
     "statistics read in the middle of a refill do not wrap (allocs %llu)",
     (unsigned long long)st.classes[cls].allocs);
  hak_free(p);
}

/* ---- carving ---- */

/* A refill takes never-used blocks from a slab HAK_CARVE_BYTES at a time,
 * so pages become resident only as the program needs blocks: after each
 * of a series of mallocs of 4 KiB (no free), the blocks carved exceed the
 * blocks handed out by less than HAK_CARVE_BYTES, though the capacity of
 * the cache grows to 32 blocks or more. */
#define CARVE_SIZE 4096
#define CARVE_N 96

struct carve {
  unsigned worst;    /* largest excess of carved over handed-out blocks */
  uint32_t cap;      /* the cache's capacity at the end */
};

static void *carve_thread(void *arg)
{
  struct carve *c = arg;
  static void *held[CARVE_N];
  struct hak_slab *slabs[CARVE_N];
  unsigned nslabs = 0;
  for (unsigned i = 0; i < CARVE_N; i++) {
    held[i] = hak_malloc(CARVE_SIZE);
    struct hak_slab *s = slab_of(held[i]);
    unsigned j = 0;
    while (j < nslabs && slabs[j] != s)
      j++;
    if (j == nslabs)
      slabs[nslabs++] = s;
    unsigned carved = 0;
    for (j = 0; j < nslabs; j++)
      carved += slabs[j]->bump;
    if (carved - (i + 1) > c->worst)
      c->worst = carved - (i + 1);
  }
  c->cap = tbin_of(hak_size_class(CARVE_SIZE))->cap;
  for (unsigned i = 0; i < CARVE_N; i++)
    hak_free(held[i]);
  return NULL;
}

static void carving(void)
{
  struct carve c = {0, 0};
  run_thread(carve_thread, &c);
  unsigned most = HAK_CARVE_BYTES / CARVE_SIZE;
  ok(c.worst < most && c.cap >= 32,
     "%u mallocs of %u B: at most %u block(s) carved ahead of the program (worst %u; cache capacity %u)",
     CARVE_N, CARVE_SIZE, most - 1, c.worst, (unsigned)c.cap);
}

/* ---- taking a slab's free list ---- */

#define TAKE_N 40
#define TAKE_K 10
#define TAKE_MAX 1024 /* blocks of 64 B in a 64 KiB slab */

struct take {
  int same_slab, take_ok, order_ok, linked_ok, rest_ok, count_ok, all_ok, none_ok, short_ok;
  int append_ok;
};

/* Records up to n blocks of the list at b; returns how many. */
static unsigned walk(void **b, void **out, unsigned n)
{
  unsigned i = 0;
  for (; b && i < n; b = b[0])
    out[i++] = b;
  return i;
}

static void *take_thread(void *arg)
{
  struct take *t = arg;
  static void *held[TAKE_N], *list[TAKE_MAX + 1], *got[TAKE_MAX + 1];
  struct hak_slab *s = alloc_in_one_slab(64, TAKE_N, held);
  t->same_slab = s != NULL;
  void **tail = held[TAKE_N - 1]; /* kept out: the list a take prepends to */
  for (unsigned i = 0; i < TAKE_N - 1; i++)
    hak_free(held[i]);
  hak_cache_flush_all(hak_theap);
  if (!t->same_slab)
    return NULL;

  /* The first TAKE_K blocks, cut off in list order, before tail. */
  unsigned n = walk(s->free, list, TAKE_MAX + 1), used = s->used;
  void **head = (void **)tail;
  tail[0] = NULL;
  t->take_ok = hak_slab_take(s, (void **)&head, TAKE_K) == TAKE_K && s->used == used + TAKE_K;
  unsigned m = walk(head, got, TAKE_MAX + 1);
  t->order_ok = n > TAKE_K && m == TAKE_K + 1 && memcmp(got, list, TAKE_K * sizeof *got) == 0;
  t->linked_ok = got[TAKE_K] == (void *)tail;
  t->rest_ok = s->free == list[TAKE_K];

  /* Nothing, then more than the list holds: the whole list. */
  void **none = NULL;
  t->none_ok = hak_slab_take(s, (void **)&none, 0) == 0 && !none && s->free == list[TAKE_K];
  unsigned rest = walk(s->free, list, TAKE_MAX + 1);
  t->count_ok = hak_slab_free_count(s) == rest;
  void **two = NULL;
  if (rest > 2) {
    t->short_ok = hak_slab_take(s, (void **)&two, 2) == 2;
    unsigned shorter = rest - 2;
    void **more = NULL;
    t->short_ok &= hak_slab_take(s, (void **)&more, shorter + 5) == shorter && s->free == NULL &&
                   more == list[2] && walk(more, got, TAKE_MAX + 1) == shorter;
    /* Back on the slab in their order, for the take below. */
    ((void **)two[0])[0] = more;
    s->free = two;
    s->used = (uint16_t)(s->used - rest);
  }

  /* More than the list holds, onto a list that is not empty: the whole
   * list, linked to the old head. */
  void *anchor[2] = {NULL, NULL}, **onto = (void **)anchor;
  t->append_ok = hak_slab_take(s, (void **)&onto, rest + 3) == rest && s->free == NULL &&
                 onto == list[0] && walk(onto, got, TAKE_MAX + 1) == rest + 1 && got[rest] == anchor;
  if (t->append_ok) { /* back on the slab */
    ((void **)got[rest - 1])[0] = NULL;
    s->free = onto;
    s->used = (uint16_t)(s->used - rest);
  }

  /* The rest, exactly: taken whole. */
  void **all = NULL;
  t->all_ok = hak_slab_take(s, (void **)&all, rest) == rest && s->free == NULL &&
              all == list[0] && walk(all, got, TAKE_MAX + 1) == rest;
  /* Back as the program would give them: without the free mark. */
  for (unsigned i = 0; i < rest; i++) {
    ((void **)got[i])[1] = NULL;
    hak_free(got[i]);
  }
  for (void **b = head, **next; b; b = next) {
    next = b[0];
    b[1] = NULL;
    hak_free(b);
  }
  return NULL;
}

static void take(void)
{
  struct take t = {0};
  run_thread(take_thread, &t);
  if (!t.same_slab)
    bail_out("%u blocks of 64 B did not come from one slab", TAKE_N);
  ok(t.take_ok, "a take of %u blocks takes %u and counts them in used", TAKE_K, TAKE_K);
  ok(t.order_ok, "they are the first %u of the slab's free list, in its order", TAKE_K);
  ok(t.linked_ok, "and lead to the list they were prepended to");
  ok(t.rest_ok, "the slab keeps the rest of its free list");
  ok(t.none_ok, "a take of no block takes none");
  ok(t.short_ok, "a take of more blocks than the free list holds takes the list");
  ok(t.append_ok, "and onto a list that is not empty, links the old head after it");
  ok(t.count_ok, "hak_slab_free_count() is the free list's length");
  ok(t.all_ok, "a take of exactly the free list's length takes it whole, in its order");
}

int main(void)
{
  unit_watchdog(60);
  hak_init();
  plan(4 + 3 + 2 + 5 * 3 + 1 + 9 + 6 + 1 + 1 + 1);
  first_use();
  lifo();
  overflow();
  check_growth(16, hak_opt[HAK_OPT_TCACHE_MAX]);
  check_growth(1024, hak_opt[HAK_OPT_TCACHE_MAX]);
  check_growth(32768, hak_opt[HAK_OPT_TCACHE_MAX]);
  check_growth(65536, hak_opt[HAK_OPT_TCACHE_MAX]);
  check_growth(16, 100);
  carving();
  take();
  no_cache();
  thread_exit();
  allocation_after_exit();
  stats_mid_refill();
  return done_testing();
}
