/* unit_pool.c - the Shared Pool (src/shared_pool.c) and the states of a
 * slab (UNUSED, ACTIVE, EMPTY).
 *
 * One slab is followed through its life: ACTIVE when a thread takes it,
 * still ACTIVE while its blocks sit in the thread cache, EMPTY as soon as
 * the last one comes back (and then the next refill of its class gets the
 * very same slab back, counted as pool_hit_empty), kept EMPTY by a purge
 * pass before the delay, UNUSED after malloc_trim(0), after a forced purge
 * and after a purge once the delay has passed.  HAKMEM_PURGE_DELAY_MS is
 * set to an hour right after start-up so the background purger never acts
 * while the test looks.
 *
 * Then a thread without cache (one block per refill, so every acquisition
 * is visible) allocates 32 KiB blocks: a new SuperSlab may be mapped only
 * when no slab of that kind is UNUSED or EMPTY.  It frees them, and a
 * second thread allocating as many maps none.  Surplus SuperSlabs are
 * unmapped after a forced purge, and leave the registry until they are
 * mapped back. */
#include "config.h"

#include <time.h>

#include "unit.h"

#define HOUR_MS 3600000L

struct free_count {
  unsigned kind;
  unsigned free; /* UNUSED or EMPTY slabs of the kind */
};

static void count_free(const struct hak_slab *s, void *arg)
{
  struct free_count *fc = arg;
  enum hak_slab_state st = slab_state(s);
  if (s->kind == fc->kind && (st == HAK_SLAB_UNUSED || st == HAK_SLAB_EMPTY))
    fc->free++;
}

static unsigned free_slabs(unsigned kind)
{
  struct free_count fc = {kind, 0};
  hak_pool_foreach_slab(count_free, &fc);
  return fc.free;
}

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Gives every block in this thread's cache of cls back to its slab. */
static void flush_class(unsigned cls)
{
  hak_cache_flush(hak_theap, tbin_of(cls), cls, 0);
}

static void slab_life(void)
{
  const size_t size = 256;
  const unsigned cls = hak_size_class(size);
  hak_stats_t st0 = stats_now();

  char *p = hak_malloc(size);
  struct hak_slab *s = slab_of(p);
  if (!s)
    bail_out("hak_malloc(%zu) did not return a slab block", size);
  hak_stats_t st1 = stats_now();
  ok(slab_state(s) == HAK_SLAB_ACTIVE && s->cls == cls, "a fresh slab is ACTIVE, of the class asked");
  ok(atomic_load(&s->owner) == hak_theap && s->bin == tbin_of(cls),
     "it is owned by this thread's heap and bound to its cache");
  is_int(s->used, tbin_count(tbin_of(cls)) + 1,
         "its used count is the block held plus the blocks in the cache");
  is_int(st1.classes[cls].slabs - st0.classes[cls].slabs, 1, "statistics: one slab of the class");

  hak_free(p);
  ok(slab_state(s) == HAK_SLAB_ACTIVE && tbin_of(cls)->head == p,
     "a freed block goes to the cache; the slab stays ACTIVE");

  flush_class(cls);
  hak_stats_t st2 = stats_now();
  ok(slab_state(s) == HAK_SLAB_EMPTY && s->used == 0 && atomic_load(&s->owner) == NULL,
     "when its last block comes back the slab is EMPTY and ownerless (state %d, used %u)",
     slab_state(s), s->used);
  is_int(st2.pool_releases - st1.pool_releases, 1, "statistics: one release");
  is_int(st2.classes[cls].slabs, st0.classes[cls].slabs, "an EMPTY slab is not counted in use");

  char *q = hak_malloc(size);
  hak_stats_t st3 = stats_now();
  ok(slab_of(q) == s && slab_state(s) == HAK_SLAB_ACTIVE,
     "the next acquisition of the class gets the same slab back, ACTIVE");
  is_int(st3.pool_hit_empty - st2.pool_hit_empty, 1, "counted as pool_hit_empty");
  ok(st3.pool_new_superslab == st2.pool_new_superslab && st3.pool_hit_unused == st2.pool_hit_unused,
     "no other source was used");

  hak_free(q);
  flush_class(cls);
  bool released = false;
  bool pending = hak_pool_purge(false, &released);
  ok(slab_state(s) == HAK_SLAB_EMPTY && pending && !released,
     "a purge pass before the delay keeps it EMPTY and reports it pending");

  hak_stats_t st4 = stats_now();
  int trimmed = hak_malloc_trim(0);
  hak_stats_t st5 = stats_now();
  ok(slab_state(s) == HAK_SLAB_UNUSED, "after malloc_trim(0) it is UNUSED (state %d)", slab_state(s));
  ok(atomic_load(&hak_ss_of(s)->unused_mask) & (1u << s->index),
     "and claimable again in its SuperSlab's bitmap");
  ok(trimmed == 1 && st5.purged - st4.purged >= hak_slab_bytes(s),
     "malloc_trim returned 1 and purged at least the slab (%llu bytes)",
     (unsigned long long)(st5.purged - st4.purged));

  char *r = hak_malloc(size);
  hak_stats_t st6 = stats_now();
  ok(r && st6.pool_hit_unused - st5.pool_hit_unused == 1 &&
         st6.pool_new_superslab == st5.pool_new_superslab,
     "the next acquisition takes an UNUSED slab of the SuperSlab, no new mapping");

  struct hak_slab *t = slab_of(r);
  hak_free(r);
  flush_class(cls);
  ok(slab_state(t) == HAK_SLAB_EMPTY, "its slab is EMPTY once the block is back");
  released = false;
  hak_pool_purge(true, &released);
  ok(slab_state(t) == HAK_SLAB_UNUSED && released, "a forced purge makes it UNUSED at once");

  r = hak_malloc(size);
  t = slab_of(r);
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = 20;
  hak_free(r);
  flush_class(cls);
  sleep_ms(40);
  released = false;
  pending = hak_pool_purge(false, &released);
  ok(slab_state(t) == HAK_SLAB_UNUSED && released && !pending,
     "a purge pass after HAKMEM_PURGE_DELAY_MS makes it UNUSED");
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = HOUR_MS;
}

/* 32 KiB blocks: SuperSlabs of 256 KiB slabs, a few blocks per slab. */
#define BIG_CLASS_SIZE 32768
#define MAX_BLOCKS 400

struct grow_result {
  void *blocks[MAX_BLOCKS];
  unsigned n;
  unsigned new_ss;      /* SuperSlabs mapped while allocating */
  unsigned early_maps;  /* of which while a slab of the kind was free */
  unsigned failures;
};

static void *grow_thread(void *arg)
{
  struct grow_result *g = arg;
  unsigned want_blocks = g->n; /* 0: until two SuperSlabs were mapped */
  g->n = 0;
  while (g->n < MAX_BLOCKS && (want_blocks ? g->n < want_blocks : g->new_ss < 2)) {
    unsigned free_before = free_slabs(HAK_REG_SS_MID);
    uint64_t maps_before = stats_now().pool_new_superslab;
    void *p = hak_malloc(BIG_CLASS_SIZE);
    uint64_t maps = stats_now().pool_new_superslab - maps_before;
    if (!p) {
      g->failures++;
      break;
    }
    memset(p, 0x6b, BIG_CLASS_SIZE); /* a block mapped short would fault here */
    g->blocks[g->n++] = p;
    g->new_ss += (unsigned)maps;
    if (maps && free_before) {
      g->early_maps++;
      diag("  block %u: a SuperSlab was mapped while %u slabs were free", g->n, free_before);
    }
  }
  /* Freed by their owner: each slab becomes EMPTY with its last block. */
  for (unsigned i = 0; i < g->n; i++)
    hak_free(g->blocks[i]);
  return NULL;
}

static void superslab_growth(void)
{
  static struct grow_result g1, g2;
  run_thread_tcache(0, grow_thread, &g1); /* one block per refill */
  ok(g1.failures == 0 && g1.new_ss == 2, "a thread allocated %u blocks of 32 KiB, mapping 2 SuperSlabs",
     g1.n);
  is_int(g1.early_maps, 0, "no SuperSlab was mapped while a slab of the kind was UNUSED or EMPTY");

  hak_stats_t st = stats_now();
  g2.n = g1.n;
  run_thread_tcache(0, grow_thread, &g2);
  hak_stats_t st2 = stats_now();
  ok(g2.failures == 0 && g2.n == g1.n, "a second thread allocated as many (%u)", g2.n);
  ok(g2.new_ss == 0 && st2.superslabs == st.superslabs && st2.pool_hit_empty > st.pool_hit_empty,
     "it mapped no SuperSlab: it took the slabs the first one emptied");
}

/* SuperSlabs whose slabs are all UNUSED, beyond a reserve, are unmapped
 * but for their header page; their 2 MiB unit is then not HAKMEM's in the
 * registry (another mapping may take the range), and is again once the
 * SuperSlab is mapped back. */
struct ss_scan {
  unsigned unmapped, unmapped_registered, mapped, mapped_unregistered;
  unsigned mapped_idle; /* mapped with every slab UNUSED */
};

static void scan_superslab(const struct hak_slab *s, void *arg)
{
  struct ss_scan *sc = arg;
  const struct hak_superslab *ss = hak_ss_of(s);
  if (s->index != 0 || s->kind != HAK_REG_SS_MID)
    return;
  unsigned reg = hak_reg_lookup(ss);
  if (ss->state == HAK_SS_UNMAPPED) {
    sc->unmapped++;
    sc->unmapped_registered += reg != HAK_REG_NONE;
  } else if (ss->state == HAK_SS_MAPPED) {
    sc->mapped++;
    sc->mapped_unregistered += reg != HAK_REG_SS_MID;
    uint32_t all = ss->nslabs == 32 ? UINT32_MAX : (1u << ss->nslabs) - 1;
    sc->mapped_idle += atomic_load(&((struct hak_superslab *)ss)->unused_mask) == all;
  }
}

static void superslab_unmap(void)
{
  static struct grow_result g1, g2;
  g1.n = 300; /* 32 KiB blocks: about five SuperSlabs */
  run_thread_tcache(0, grow_thread, &g1);
  struct ss_scan before = {0};
  hak_pool_foreach_slab(scan_superslab, &before);
  bool released = false;
  hak_pool_purge(true, &released);
  struct ss_scan a = {0};
  hak_pool_foreach_slab(scan_superslab, &a);
  ok(g1.failures == 0 && released && a.unmapped > before.unmapped && a.unmapped_registered == 0 &&
         a.mapped_idle == HAK_SS_RESERVE,
     "a forced purge gives memory back and unmaps SuperSlabs beyond the reserve of %d (%u -> %u "
     "unmapped, %u idle kept), none left in the registry",
     HAK_SS_RESERVE, before.unmapped, a.unmapped, a.mapped_idle);
  g2.n = 300;
  run_thread_tcache(0, grow_thread, &g2);
  struct ss_scan b = {0};
  hak_pool_foreach_slab(scan_superslab, &b);
  ok(g2.failures == 0 && b.unmapped < a.unmapped && b.mapped_unregistered == 0,
     "mapped back for new blocks (%u still unmapped), each is in the registry again", b.unmapped);
}

int main(void)
{
  unit_watchdog(60);
  hak_init();
  hak_opt[HAK_OPT_PURGE_DELAY_MS] = HOUR_MS;
  plan(19 + 4 + 2);
  slab_life();
  superslab_growth();
  superslab_unmap();
  return done_testing();
}
