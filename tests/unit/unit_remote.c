/* unit_remote.c - blocks freed by a thread that does not own their slab
 * (src/slab.c's remote list and parking protocol, src/front_cache.c's
 * refill, src/shared_pool.c's adoption).
 *
 * - Remote frees land on the slab's remote list (the slab's used count
 *   still includes them, the owner is not disturbed); the owner's next
 *   refill drains the list and hands those blocks out again; a drain onto
 *   a free list that is not empty puts the remote list in front of it.
 * - A refill that finds remotely freed blocks carves no never-used one.
 * - A slab with no block left is parked as full; a remote free to it
 *   unparks it by hinting its owner, whose next refill takes it back.
 * - A thread that exits leaves its slabs ownerless; the next thread that
 *   needs their class adopts one (pool_hit_adopt).  A slab that was parked
 *   when its owner left is published by the first remote free to it.
 * - A remote free whose second step (the unpark) comes late, after the
 *   slab changed hands and became EMPTY, does not publish it.
 * HAKMEM_PURGE_DELAY_MS is set to an hour after start-up so the background
 * purger never touches the ownerless stacks while the test looks. */
#include "config.h"

#include "unit.h"

#define HOUR_MS 3600000L
#define MAXB 4096

/* Blocks a helper thread frees or hands over. */
static void *handed[MAXB];
static unsigned nhanded;

static int contains(void *const *set, unsigned n, const void *p)
{
  for (unsigned i = 0; i < n; i++)
    if (set[i] == p)
      return 1;
  return 0;
}

static void *free_handed(void *arg)
{
  (void)arg;
  for (unsigned i = 0; i < nhanded; i++)
    hak_free(handed[i]);
  return NULL;
}

/* Takes every block out of this thread's cache of cls into out[]. */
static unsigned empty_cache(size_t size, unsigned cls, void **out)
{
  unsigned n = tbin_count(tbin_of(cls));
  for (unsigned i = 0; i < n; i++)
    out[i] = hak_malloc(size);
  return n;
}

/* Frees what a test still holds: n blocks of held, nextra of extra, and p. */
static void free_all(void **held, unsigned n, void **extra, unsigned nextra, void *p)
{
  for (unsigned i = 0; i < n; i++)
    hak_free(held[i]);
  for (unsigned i = 0; i < nextra; i++)
    hak_free(extra[i]);
  hak_free(p);
}

/* The block malloc returned plus those its refill left in the cache. */
static unsigned refill_blocks(void *first, unsigned cls, void **out)
{
  unsigned n = 0;
  out[n++] = first;
  void **b = tbin_of(cls)->head;
  for (unsigned i = tbin_count(tbin_of(cls)); i > 0 && b && n < MAXB; i--, b = b[0])
    out[n++] = b;
  return n;
}

/* alloc_in_one_slab(), for the main thread: bails out when the blocks
 * are not in one slab. */
static struct hak_slab *one_slab(size_t size, unsigned n, void **held)
{
  struct hak_slab *s = alloc_in_one_slab(size, n, held);
  if (!s)
    bail_out("the first %u blocks of %zu B are not in one slab", n, size);
  return s;
}

static void remote_list_drained(void)
{
  const size_t size = 64;
  const unsigned cls = hak_size_class(size), N = 64, K = 10;
  static void *held[MAXB], *extra[MAXB], *got[MAXB];
  struct hak_slab *s = one_slab(size, N, held);
  unsigned used0 = s->used;
  hak_stats_t st0 = stats_now();

  for (nhanded = 0; nhanded < K; nhanded++)
    handed[nhanded] = held[nhanded];
  run_thread(free_handed, NULL);
  hak_stats_t st1 = stats_now();
  unsigned len = 0, listed = 0;
  for (void **b = hak_remote_head(atomic_load(&s->remote)); b && len <= MAXB; b = b[0], len++)
    listed += contains(handed, K, b);
  ok(len == K && listed == K && hak_remote_count(atomic_load(&s->remote)) == K,
     "%u remote frees are on the slab's remote list, which counts them (%u listed)", K, len);
  ok(s->used == used0 && atomic_load(&s->owner) == hak_theap, "the slab's used count and owner are unchanged");
  is_int(st1.classes[cls].remote_frees - st0.classes[cls].remote_frees, K,
         "statistics: remote_frees counts them");
  is_int(atomic_load(&hak_theap->remote_hint[cls]), 0, "a slab that is not parked gets no hint");

  unsigned nextra = empty_cache(size, cls, extra);
  void *p = hak_malloc(size);
  unsigned ngot = refill_blocks(p, cls, got);
  hak_stats_t st2 = stats_now();
  unsigned back = 0;
  for (unsigned i = 0; i < K; i++)
    back += contains(got, ngot, handed[i]);
  ok(atomic_load(&s->remote) == 0, "the owner's next refill drained the remote list");
  is_int(back, K, "the remotely freed blocks were handed out again by that refill");
  is_int(s->used, used0 - K + ngot, "the slab's used count lost the %u drained blocks and gained the %u refilled",
         K, ngot);
  ok(st2.classes[cls].drains > st1.classes[cls].drains, "statistics: drains counts the drain (%llu -> %llu)",
     (unsigned long long)st1.classes[cls].drains, (unsigned long long)st2.classes[cls].drains);

  free_all(held + K, N - K, extra, nextra, p);
}

/* A drain onto a free list that is not empty puts the remote list in
 * front of it, and the slab's free count (bump - used) stays the list's
 * length. */
static void drain_appends(void)
{
  const size_t size = 96;
  const unsigned N = 32, L = 5, R = 7;
  static void *held[MAXB];
  struct hak_slab *s = one_slab(size, N, held);
  unsigned before = list_len(s->free, MAXB);
  for (unsigned i = 0; i < L; i++)
    hak_slab_put(s, held[i]);
  for (nhanded = 0; nhanded < R; nhanded++)
    handed[nhanded] = held[L + nhanded];
  run_thread(free_handed, NULL);
  is_int(hak_slab_drain(s), R, "a drain onto a free list of %u blocks takes the %u remote frees",
         before + L, R);
  unsigned len = list_len(s->free, MAXB);
  ok(len == before + L + R && hak_slab_free_count(s) == len,
     "the free list holds all %u, and the slab's counts say so (%u)", before + L + R,
     hak_slab_free_count(s));
  for (unsigned i = L + R; i < N; i++)
    hak_free(held[i]);
}

/* A refill that finds blocks freed by other threads takes those and
 * carves no never-used block, even when it wanted more: a producer whose
 * blocks a consumer frees reuses them instead of touching new memory. */
static void reuse_before_carving(void)
{
  const size_t size = 208;
  const unsigned cls = hak_size_class(size), N = 48, K = 4;
  static void *held[MAXB], *extra[MAXB], *got[MAXB];
  struct hak_slab *s = one_slab(size, N, held);
  for (nhanded = 0; nhanded < K; nhanded++)
    handed[nhanded] = held[nhanded];
  run_thread(free_handed, NULL);
  unsigned nextra = empty_cache(size, cls, extra);
  unsigned bump = s->bump, want = tbin_of(cls)->cap / 2;
  void *p = hak_malloc(size);
  unsigned ngot = refill_blocks(p, cls, got), back = 0;
  for (unsigned i = 0; i < K; i++)
    back += contains(got, ngot, handed[i]);
  ok(ngot == K && back == K && want > K,
     "a refill wanting %u blocks takes the %u freed by another thread (got %u)", want, K, ngot);
  is_int(s->bump, bump, "and carves none of the slab's never-used blocks");
  free_all(held + K, N - K, extra, nextra, p);
}

static void parked_slab_unparked(void)
{
  const size_t size = 32768;
  const unsigned cls = hak_size_class(size);
  static void *held[MAXB], *extra[MAXB], *got[MAXB];
  unsigned n = 0;
  held[n++] = hak_malloc(size);
  struct hak_slab *s = slab_of(held[0]);
  while (s->list != HAK_LIST_FULL && n < 64)
    held[n++] = hak_malloc(size);
  ok(s->list == HAK_LIST_FULL && atomic_load(&s->remote) == HAK_REMOTE_FULL,
     "a slab with no free block left is parked full (after %u blocks)", n);

  nhanded = 1;
  handed[0] = held[0];
  run_thread(free_handed, NULL);
  ok(hak_remote_head(atomic_load(&s->remote)) == held[0] && atomic_load(&hak_theap->remote_hint[cls]) == 1,
     "a remote free to it unparks it: the block is listed and the owner hinted");

  unsigned nextra = empty_cache(size, cls, extra);
  void *p = hak_malloc(size);
  unsigned ngot = refill_blocks(p, cls, got);
  ok(contains(got, ngot, held[0]) && atomic_load(&hak_theap->remote_hint[cls]) == 0,
     "the owner's next refill took the slab back and reused the block");

  free_all(held + 1, n - 1, extra, nextra, p);
}

static void *allocate_and_exit(void *arg)
{
  size_t size = *(size_t *)arg;
  for (nhanded = 0; nhanded < 100; nhanded++)
    handed[nhanded] = hak_malloc(size);
  return NULL;
}

static void abandoned_slab_adopted(void)
{
  size_t size = 48;
  run_thread(allocate_and_exit, &size);
  struct hak_slab *s = slab_of(handed[0]);
  ok(atomic_load(&s->owner) == HAK_OWNER_QUEUED && slab_state(s) == HAK_SLAB_ACTIVE &&
         s->cls == hak_size_class(size),
     "when its owner exits, a slab with blocks out is left ownerless and published");
  is_int(s->used, nhanded, "its used count is the blocks the program still holds");

  hak_stats_t st0 = stats_now();
  void *q = hak_malloc(size);
  hak_stats_t st1 = stats_now();
  ok(slab_of(q) == s && atomic_load(&s->owner) == hak_theap,
     "the next thread that needs the class adopts it");
  is_int(st1.pool_hit_adopt - st0.pool_hit_adopt, 1, "counted as pool_hit_adopt");
  is_int(st1.pool_new_superslab + st1.pool_hit_unused + st1.pool_hit_empty,
         st0.pool_new_superslab + st0.pool_hit_unused + st0.pool_hit_empty, "no other source was used");
  for (unsigned i = 0; i < nhanded; i++)
    hak_free(handed[i]);
  hak_free(q);
}

/* Without a cache every malloc takes one block, so the thread holds every
 * block of the slab when it is parked, and nothing flushed at exit
 * unparks it. */
static void *fill_one_slab_and_exit(void *arg)
{
  size_t size = *(size_t *)arg;
  nhanded = 0;
  handed[nhanded++] = hak_malloc(size);
  struct hak_slab *s = slab_of(handed[0]);
  while (s->list != HAK_LIST_FULL && nhanded < 64)
    handed[nhanded++] = hak_malloc(size);
  return NULL;
}

static void abandoned_parked_slab(void)
{
  size_t size = 16384;
  const unsigned cls = hak_size_class(size);
  run_thread_tcache(0, fill_one_slab_and_exit, &size);
  struct hak_slab *s = slab_of(handed[0]);
  ok(atomic_load(&s->owner) == HAK_OWNER_ABANDONED && atomic_load(&s->remote) == HAK_REMOTE_FULL,
     "a full slab whose owner exits stays parked, unpublished (%u blocks)", nhanded);

  hak_free(handed[0]);
  ok(atomic_load(&s->owner) == HAK_OWNER_QUEUED && hak_remote_head(atomic_load(&s->remote)) == handed[0],
     "the first remote free to it publishes it");

  static void *got[MAXB];
  hak_stats_t st0 = stats_now();
  void *q = hak_malloc(size);
  hak_stats_t st1 = stats_now();
  unsigned ngot = refill_blocks(q, cls, got);
  ok(atomic_load(&s->owner) == hak_theap && st1.pool_hit_adopt - st0.pool_hit_adopt == 1,
     "the next malloc of its class adopts it (pool_hit_adopt)");
  ok(contains(got, ngot, handed[0]), "and hands out the block freed into it");
  for (unsigned i = 1; i < nhanded; i++)
    hak_free(handed[i]);
  hak_free(q);
}

/* A remote free is two steps: the push onto the remote list, and, when it
 * replaced HAK_REMOTE_FULL, the unpark, which reads the owner.  The thread
 * doing it may be preempted in between for as long as it takes the slab
 * to change hands.  Here: the owner fills and parks a slab, a free pushes
 * a block into it, the owner exits (the slab is published since it has a
 * free block), a second thread adopts the slab, uses it and gives every
 * block back (the slab is EMPTY, on the EMPTY stack), and only then the
 * first free's unpark runs.  It must not publish the EMPTY slab as
 * ownerless too: the next adoption would take a slab that the EMPTY stack
 * hands out as well, and two threads would share its blocks. */
static struct hak_slab *late_slab;

static void *fill_park_push_and_exit(void *arg)
{
  fill_one_slab_and_exit(arg);
  late_slab = slab_of(handed[0]);
  if (late_slab->list != HAK_LIST_FULL || !hak_slab_remote_push(late_slab, handed[0]))
    late_slab = NULL;
  return NULL;
}

static void *adopt_and_give_back(void *arg)
{
  size_t size = *(size_t *)arg;
  void *q = hak_malloc(size);
  if (slab_of(q) != late_slab)
    late_slab = NULL;
  hak_free(q);
  for (unsigned i = 1; i < nhanded; i++)
    hak_free(handed[i]);
  return NULL;
}

static void late_unpark(void)
{
  size_t size = 20480;
  const unsigned cls = hak_size_class(size);
  run_thread_tcache(0, fill_park_push_and_exit, &size);
  struct hak_slab *s = late_slab;
  if (!s)
    bail_out("could not park a slab of %zu-byte blocks and free one block into it", size);
  ok(atomic_load(&s->owner) == HAK_OWNER_QUEUED,
     "a parked slab whose owner exits after a free pushed a block is published");
  run_thread_tcache(0, adopt_and_give_back, &size);
  if (!late_slab)
    bail_out("the second thread did not adopt the published slab");
  ok(slab_state(s) == HAK_SLAB_EMPTY && atomic_load(&s->owner) == NULL && s->used == 0,
     "adopted, used and given back by another thread, it is EMPTY and nobody's");
  hak_slab_unpark(s);
  ok(atomic_load(&s->owner) == NULL, "the late unpark leaves it nobody's");
  struct hak_slab *a = hak_pool_adopt(hak_theap, cls);
  ok(a == NULL, "and does not put it on the ownerless stack (adopted: %p, the EMPTY slab: %p)",
     (void *)a, (void *)s);
}

int main(void)
{
  unit_watchdog(60);
  hak_init();
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = HOUR_MS;
  plan(8 + 2 + 2 + 3 + 5 + 4 + 4);
  remote_list_drained();
  drain_appends();
  reuse_before_carving();
  parked_slab_unparked();
  abandoned_slab_adopted();
  abandoned_parked_slab();
  late_unpark();
  return done_testing();
}
