/* shared_pool.c - the Shared Pool: the one owner of SuperSlabs and of the
 * state of every slab in them (UNUSED, ACTIVE, EMPTY).
 *
 * Acquire, for a thread that needs a slab of class c:
 *   1. an EMPTY slab of class c (per-class lock-free stack), recycled as
 *      soon as its last block came back;
 *   2. an UNUSED slab of the current SuperSlab of the kind (one CAS on its
 *      bitmap);
 *   3. an EMPTY slab of another class of the same kind;
 *   4. under the growth lock: an UNUSED slab of any SuperSlab, and only
 *      when there is none, a new SuperSlab.
 * It never refuses while the OS gives memory.  Ownerless slabs (left by
 * exited threads, or unparked after their owner left) wait on a second
 * per-class stack for adoption (hak_pool_adopt).
 *
 * EMPTY slabs are purged (MADV_DONTNEED) once they have been EMPTY for
 * HAKMEM_PURGE_DELAY_MS, and become UNUSED.  The lock-free stacks may read
 * a descriptor of any SuperSlab at any time, so a SuperSlab's header page
 * is never unmapped; beyond a small reserve, the rest of a SuperSlab whose
 * slabs are all UNUSED is unmapped, and mapped again in place when needed.
 */
#include "internal.h"

#include <errno.h>

/* Lock-free stack of slabs.  top packs the descriptor address (64-byte
 * aligned, so >> 6) with a version tag against ABA. */
struct hak_stack {
  _Atomic uint64_t top;
};
#define STACK_PTR_BITS 42
#define STACK_PTR_MASK (((uint64_t)1 << STACK_PTR_BITS) - 1)

static inline struct hak_slab *stack_ptr(uint64_t top)
{
  return (struct hak_slab *)(uintptr_t)((top & STACK_PTR_MASK) << 6);
}
static inline uint64_t stack_pack(struct hak_slab *s, uint64_t old)
{
  return ((old >> STACK_PTR_BITS) + 1) << STACK_PTR_BITS | ((uintptr_t)s >> 6);
}

static void stack_push(struct hak_stack *st, struct hak_slab *s)
{
  uint64_t old = atomic_load_explicit(&st->top, memory_order_relaxed);
  do
    atomic_store_explicit(&s->next, stack_ptr(old), memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&st->top, &old, stack_pack(s, old),
                                                memory_order_release, memory_order_relaxed));
}

static struct hak_slab *stack_pop(struct hak_stack *st)
{
  uint64_t old = atomic_load_explicit(&st->top, memory_order_acquire);
  struct hak_slab *s;
  do {
    s = stack_ptr(old);
    if (!s)
      return NULL;
  } while (!atomic_compare_exchange_weak_explicit(
      &st->top, &old, stack_pack(atomic_load_explicit(&s->next, memory_order_relaxed), old),
      memory_order_acquire, memory_order_acquire));
  return s;
}

/* Takes the whole stack; returns its first slab (linked by next). */
static struct hak_slab *stack_take_all(struct hak_stack *st)
{
  uint64_t old = atomic_load_explicit(&st->top, memory_order_acquire);
  while (!atomic_compare_exchange_weak_explicit(&st->top, &old, stack_pack(NULL, old),
                                                memory_order_acquire, memory_order_acquire))
    ;
  return stack_ptr(old);
}

enum { KIND_SMALL, KIND_MID, KINDS };

static struct hak_stack empty_stack[HAK_CLASSES];
static struct hak_stack ownerless_stack[HAK_CLASSES];
static hak_lock_t grow_lock;
static struct hak_superslab *all_ss[KINDS];        /* under grow_lock */
static struct hak_superslab *_Atomic current_ss[KINDS];
static _Atomic int purging;

static inline unsigned kind_of_class(unsigned cls)
{
  return hak_class_shift(cls) == HAK_REG_SS_SMALL ? KIND_SMALL : KIND_MID;
}

static struct hak_slab *claim_unused(struct hak_superslab *ss)
{
  uint32_t m = atomic_load_explicit(&ss->unused_mask, memory_order_relaxed);
  while (m) {
    uint32_t bit = m & -m;
    if (atomic_compare_exchange_weak_explicit(&ss->unused_mask, &m, m & ~bit, memory_order_acquire,
                                              memory_order_relaxed)) {
      struct hak_slab *s = &ss->slabs[__builtin_ctz(bit)];
      hak_stats_add_hollow(-(int64_t)hak_slab_bytes(s));
      return s;
    }
  }
  return NULL;
}

static uint32_t all_slabs_mask(const struct hak_superslab *ss)
{
  return ss->nslabs == 32 ? UINT32_MAX : (1u << ss->nslabs) - 1;
}

static struct hak_superslab *superslab_new(unsigned kind)
{
  struct hak_superslab *ss = hak_os_map(HAK_SS_SIZE, HAK_SS_SIZE, "hakmem superslab");
  if (!ss)
    return NULL;
  unsigned shift = kind == KIND_SMALL ? HAK_REG_SS_SMALL : HAK_REG_SS_MID;
  unsigned n = (unsigned)(HAK_SS_SIZE >> shift);
  ss->magic = HAK_SS_MAGIC;
  ss->nslabs = (uint8_t)n;
  for (unsigned i = 0; i < n; i++) {
    ss->slabs[i].index = (uint8_t)i;
    ss->slabs[i].kind = (uint8_t)shift;
  }
  atomic_store_explicit(&ss->unused_mask, all_slabs_mask(ss), memory_order_relaxed);
  hak_stats_add_hollow(HAK_SS_SIZE - HAK_SS_HEADER);
  atomic_fetch_add_explicit(&hak_gstats.superslabs, 1, memory_order_relaxed);
  ss->next_all = all_ss[kind];
  all_ss[kind] = ss;
  hak_reg_set((uintptr_t)ss, HAK_SS_SIZE, (uint8_t)shift, (uint8_t)shift);
  return ss;
}

/* Unmaps all but the header page of a SuperSlab whose slabs are all
 * UNUSED (under grow_lock).  Taking the whole mask first keeps others from
 * claiming a slab meanwhile. */
static void superslab_unmap(struct hak_superslab *ss, unsigned kind)
{
  uint32_t all = all_slabs_mask(ss);
  if (!atomic_compare_exchange_strong_explicit(&ss->unused_mask, &all, 0, memory_order_acquire,
                                               memory_order_relaxed))
    return;
  struct hak_superslab *cur = ss;
  atomic_compare_exchange_strong_explicit(&current_ss[kind], &cur, NULL, memory_order_release,
                                          memory_order_relaxed);
  /* The unit stops being HAKMEM's: another mapping may take the range. */
  hak_reg_set((uintptr_t)ss, HAK_SS_SIZE, HAK_REG_NONE, HAK_REG_NONE);
  hak_os_unmap((char *)ss + HAK_SS_HEADER, HAK_SS_SIZE - HAK_SS_HEADER);
  hak_stats_add_hollow(-(int64_t)(HAK_SS_SIZE - HAK_SS_HEADER));
  atomic_fetch_sub_explicit(&hak_gstats.superslabs, 1, memory_order_relaxed);
  ss->state = HAK_SS_UNMAPPED;
}

/* Maps an unmapped SuperSlab's range again, in place (under grow_lock). */
static bool superslab_remap(struct hak_superslab *ss)
{
  char *want = (char *)ss + HAK_SS_HEADER;
  size_t len = HAK_SS_SIZE - HAK_SS_HEADER;
  if (hak_os_map_at(want, len) != want) {
    ss->state = HAK_SS_DEAD; /* someone else maps there now */
    return false;
  }
  ss->state = HAK_SS_MAPPED;
  hak_reg_set((uintptr_t)ss, HAK_SS_SIZE, ss->slabs[0].kind, ss->slabs[0].kind);
  hak_stats_add_hollow((int64_t)len);
  atomic_fetch_add_explicit(&hak_gstats.superslabs, 1, memory_order_relaxed);
  atomic_store_explicit(&ss->unused_mask, all_slabs_mask(ss), memory_order_release);
  return true;
}

static struct hak_slab *acquire_locked(struct hak_heap *h, unsigned kind)
{
  struct hak_slab *s = NULL;
  hak_lock(&grow_lock);
  for (struct hak_superslab *ss = all_ss[kind]; ss && !s; ss = ss->next_all) {
    if (atomic_load_explicit(&ss->unused_mask, memory_order_relaxed) && (s = claim_unused(ss))) {
      atomic_store_explicit(&current_ss[kind], ss, memory_order_release);
      h->ctr.pool_hit_unused++;
    }
  }
  for (struct hak_superslab *ss = all_ss[kind]; ss && !s; ss = ss->next_all) {
    if (ss->state == HAK_SS_UNMAPPED && superslab_remap(ss) && (s = claim_unused(ss))) {
      atomic_store_explicit(&current_ss[kind], ss, memory_order_release);
      h->ctr.pool_hit_unused++;
    }
  }
  if (!s) {
    /* The first slab is ours before other threads can see the SuperSlab
     * (as current_ss): they could claim every slab of it first. */
    struct hak_superslab *ss = superslab_new(kind);
    if (ss) {
      s = claim_unused(ss);
      atomic_store_explicit(&current_ss[kind], ss, memory_order_release);
      h->ctr.pool_new_superslab++;
    }
  }
  hak_unlock(&grow_lock);
  return s;
}

struct hak_slab *hak_pool_acquire(struct hak_heap *h, unsigned cls)
{
  unsigned kind = kind_of_class(cls);
  struct hak_slab *s = stack_pop(&empty_stack[cls]);
  if (s) {
    h->ctr.pool_hit_empty++;
  } else {
    struct hak_superslab *ss = atomic_load_explicit(&current_ss[kind], memory_order_acquire);
    if (ss && (s = claim_unused(ss)))
      h->ctr.pool_hit_unused++;
  }
  for (unsigned c = 0; !s && c < HAK_CLASSES; c++) {
    if (c != cls && kind_of_class(c) == kind && (s = stack_pop(&empty_stack[c])))
      h->ctr.pool_hit_empty++;
  }
  if (!s)
    s = acquire_locked(h, kind);
  if (!s) {
    errno = ENOMEM;
    return NULL;
  }
  hak_slab_init(s, cls);
  HAK_TRACE(HAK_OPT_SS_ACQUIRE_DEBUG, "acquire slab %p class %u (%u B) for heap %p",
            (void *)s, cls, (unsigned)hak_class_size[cls], (void *)h);
  return s;
}

static void purge_slab(struct hak_slab *s)
{
  struct hak_superslab *ss = hak_ss_of(s);
  size_t len = hak_slab_bytes(s);
  hak_os_purge(hak_slab_base(s), len);
  hak_stats_add_hollow((int64_t)len);
  atomic_store_explicit(&s->state, HAK_SLAB_UNUSED, memory_order_relaxed);
  atomic_fetch_or_explicit(&ss->unused_mask, 1u << s->index, memory_order_release);
}

void hak_pool_release(struct hak_heap *h, struct hak_slab *s)
{
  HAK_TRACE(HAK_OPT_SS_ACQUIRE_DEBUG, "release slab %p class %u (EMPTY)", (void *)s, s->cls);
  s->bin = NULL;
  s->list = HAK_LIST_NONE;
  atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
  atomic_store_explicit(&s->state, HAK_SLAB_EMPTY, memory_order_relaxed);
  h->ctr.pool_releases++;
  if (hak_opt[HAK_OPT_PURGE_DELAY_MS] == 0) {
    purge_slab(s);
    return;
  }
  s->empty_since = (uint32_t)hak_now_ms();
  stack_push(&empty_stack[s->cls], s);
  hak_purge_want();
}

void hak_pool_publish(struct hak_slab *s)
{
  struct hak_heap *o = HAK_OWNER_ABANDONED;
  if (atomic_compare_exchange_strong_explicit(&s->owner, &o, HAK_OWNER_QUEUED,
                                              memory_order_acq_rel, memory_order_relaxed))
    stack_push(&ownerless_stack[s->cls], s);
}

/* Makes a slab popped from an ownerless stack token's. */
static void take_ownerless(struct hak_slab *s, struct hak_heap *token)
{
  struct hak_heap *o = atomic_exchange_explicit(&s->owner, token, memory_order_acq_rel);
  HAK_ASSERT(o == HAK_OWNER_QUEUED);
  (void)o;
  hak_slab_drain(s);
}

struct hak_slab *hak_pool_adopt(struct hak_heap *h, unsigned cls)
{
  struct hak_slab *s = stack_pop(&ownerless_stack[cls]);
  if (s) {
    take_ownerless(s, hak_owner_tag(h));
    h->ctr.pool_hit_adopt++;
  }
  return s;
}

/* Keeps HAK_SS_RESERVE fully unused SuperSlabs of each kind mapped (their
 * pages purged) and unmaps the others. */
static void unmap_surplus(bool *released)
{
  hak_lock(&grow_lock);
  for (unsigned k = 0; k < KINDS; k++) {
    unsigned spare = 0;
    for (struct hak_superslab *ss = all_ss[k]; ss; ss = ss->next_all) {
      if (ss->state != HAK_SS_MAPPED ||
          atomic_load_explicit(&ss->unused_mask, memory_order_relaxed) != all_slabs_mask(ss))
        continue;
      if (++spare > HAK_SS_RESERVE) {
        superslab_unmap(ss, k);
        *released = true;
      }
    }
  }
  hak_unlock(&grow_lock);
}

/* Purges EMPTY slabs older than the delay (all with force), and recycles
 * ownerless slabs whose blocks have all come back.  Returns whether EMPTY
 * slabs wait for a later pass; *released says whether memory was given
 * back.  One purger at a time; another caller returns at once. */
bool hak_pool_purge(bool force, bool *released)
{
  if (atomic_exchange_explicit(&purging, 1, memory_order_acquire))
    return true;
  uint64_t now = hak_now_ms();
  uint32_t delay = (uint32_t)hak_opt[HAK_OPT_PURGE_DELAY_MS];
  bool pending = false;
  static struct hak_heap purger; /* owner token while inspecting a slab */
  for (unsigned c = 0; c < HAK_CLASSES; c++) {
    for (struct hak_slab *s = stack_take_all(&ownerless_stack[c]), *next; s; s = next) {
      next = atomic_load_explicit(&s->next, memory_order_relaxed);
      take_ownerless(s, &purger);
      if (s->used == 0) {
        atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
        purge_slab(s);
        *released = true;
      } else {
        hak_slab_abandon(s);
      }
    }
    struct hak_slab *keep = NULL;
    for (struct hak_slab *s = stack_take_all(&empty_stack[c]), *next; s; s = next) {
      next = atomic_load_explicit(&s->next, memory_order_relaxed);
      /* Signed: a slab emptied after now was read has not waited. */
      int32_t waited = (int32_t)((uint32_t)now - s->empty_since);
      if (force || (waited >= 0 && (uint32_t)waited >= delay)) {
        purge_slab(s);
        *released = true;
      } else {
        atomic_store_explicit(&s->next, keep, memory_order_relaxed);
        keep = s;
      }
    }
    pending |= keep != NULL;
    for (struct hak_slab *s = keep, *next; s; s = next) {
      next = atomic_load_explicit(&s->next, memory_order_relaxed);
      stack_push(&empty_stack[c], s);
    }
  }
  unmap_surplus(released);
  atomic_store_explicit(&purging, 0, memory_order_release);
  return pending;
}

void hak_pool_foreach_slab(void (*fn)(const struct hak_slab *, void *), void *arg)
{
  hak_lock(&grow_lock);
  for (unsigned k = 0; k < KINDS; k++)
    for (struct hak_superslab *ss = all_ss[k]; ss; ss = ss->next_all)
      for (unsigned i = 0; i < ss->nslabs; i++)
        fn(&ss->slabs[i], arg);
  hak_unlock(&grow_lock);
}

void hak_pool_atfork_prepare(void) { hak_lock(&grow_lock); }
void hak_pool_atfork_parent(void) { hak_unlock(&grow_lock); }
void hak_pool_atfork_child(void) { atomic_store(&purging, 0); }
