/* slab.c - one slab: blocks of one size class, owned by one thread.
 *
 * The owner moves blocks between the slab and its thread cache in batches:
 * hak_slab_take() hands out blocks of the local free list,
 * hak_slab_carve() never-used blocks (by a bump index), hak_slab_drain()
 * moves the blocks other threads freed to the local free list, and
 * hak_slab_put() takes one back.
 * Other threads free with one CAS onto the remote list
 * (hak_slab_remote_free()).
 *
 * Parking protocol (how a full slab gets noticed again without scanning):
 * - the owner parks a slab that has nothing left by CAS of remote from 0
 *   to HAK_REMOTE_FULL;
 * - the remote freer whose CAS replaces HAK_REMOTE_FULL is the one that
 *   unparks it: it reads owner afterwards and hints the owner (a heap) or
 *   publishes the slab on its class's ownerless stack (ABANDONED);
 * - a thread abandoning a slab parks it if it has no free block, then
 *   sets owner to ABANDONED and reads remote (both sequentially
 *   consistent), so either it sees the unparking and publishes, or the
 *   unparker sees ABANDONED.  Both may publish; the CAS from ABANDONED to
 *   QUEUED lets one of them push.  After the store the abandoning thread
 *   writes nothing of the slab but that CAS.
 * An unparker may read owner late, after the slab has been adopted,
 * emptied or reused: a stale hint only costs a heap a look at its full
 * list, and the CAS lets a publish through only while the slab is
 * ABANDONED, so a slab with an owner, or EMPTY, is never pushed.
 */
#include "internal.h"

#ifdef HAKMEM_DEBUG
static unsigned list_length(void *const *b)
{
  unsigned n = 0;
  for (; b; b = b[0])
    n++;
  return n;
}
#endif

void hak_slab_init(struct hak_slab *s, unsigned cls)
{
  s->cls = (uint8_t)cls;
  s->cap = (uint16_t)(hak_slab_bytes(s) / hak_class_size[cls]);
  s->used = 0;
  __atomic_store_n(&s->bump, 0, __ATOMIC_RELAXED);
  s->free = NULL;
  atomic_store_explicit(&s->remote, 0, memory_order_relaxed);
  atomic_store_explicit(&s->state, HAK_SLAB_ACTIVE, memory_order_relaxed);
  s->list = HAK_LIST_NONE;
}

/* Prepends up to want blocks of the local free list to *head; returns
 * how many.  The blocks are cut off the list in its order (the most
 * recently freed first) and only read; a whole list that fits, taken
 * into an empty *head, is not walked at all (its length is known), since
 * its blocks are often cold and malloc touches each once anyway. */
unsigned hak_slab_take(struct hak_slab *s, void **head, unsigned want)
{
  void **first = s->free, **last = first;
  unsigned got = hak_slab_free_count(s);
  HAK_ASSERT(list_length(first) == got);
  if (got > want || *head) {
    if (!first || !want)
      return 0;
    for (got = 1; got < want && last[0]; got++)
      last = last[0];
    s->free = last[0];
    last[0] = *head;
  } else {
    s->free = NULL;
  }
  *head = first;
  s->used = (uint16_t)(s->used + got);
  return got;
}

/* Prepends up to want never-used blocks to *head, HAK_CARVE_BYTES of them
 * at most (one at least); returns how many. */
unsigned hak_slab_carve(struct hak_slab *s, void **head, unsigned want)
{
  unsigned n = want, size = hak_class_size[s->cls];
  unsigned most = HAK_CARVE_BYTES / size ? HAK_CARVE_BYTES / size : 1;
  if (n > most)
    n = most;
  if (n > (unsigned)(s->cap - s->bump))
    n = s->cap - s->bump;
  void *h = *head;
  char *first = hak_slab_base(s) + (size_t)s->bump * size;
  /* Link from the top down so the list hands out ascending addresses. */
  for (unsigned i = n; i-- > 0;) {
    void **b = (void **)(first + (size_t)i * size);
    b[0] = h;
    h = b;
  }
  /* Atomic store: block_start() reads bump from other threads. */
  __atomic_store_n(&s->bump, (uint16_t)(s->bump + n), __ATOMIC_RELAXED);
  s->used = (uint16_t)(s->used + n);
  *head = h;
  return n;
}

/* Moves the remote list to the local free list; returns its length.  The
 * list is walked only to append an existing free list. */
unsigned hak_slab_drain(struct hak_slab *s)
{
  uintptr_t r = atomic_exchange_explicit(&s->remote, 0, memory_order_acquire);
  void **head = hak_remote_head(r);
  if (!head)
    return 0;
  unsigned n = hak_remote_count(r);
  if (s->free) {
    void **tail = head;
    while (tail[0])
      tail = tail[0];
    tail[0] = s->free;
  }
  s->free = head;
  HAK_ASSERT(n > 0 && s->used >= n);
  s->used = (uint16_t)(s->used - n);
  return n;
}

/* The owner gives one block back. */
void hak_slab_put(struct hak_slab *s, void *p)
{
  void **b = p;
  b[0] = s->free;
  b[1] = (void *)hak_free_key;
  s->free = b;
  HAK_ASSERT(s->used > 0);
  s->used--;
}

/* Pushes p, a block of s, on its remote list; true when the push replaced
 * HAK_REMOTE_FULL, and the caller must unpark s. */
bool hak_slab_remote_push(struct hak_slab *s, void *p)
{
  uintptr_t *b = p, next;
  uintptr_t old = atomic_load_explicit(&s->remote, memory_order_relaxed);
  b[1] = hak_free_key;
  do {
    b[0] = (uintptr_t)hak_remote_head(old);
    next = (uintptr_t)p | (uintptr_t)(hak_remote_count(old) + 1) << HAK_REMOTE_COUNT_SHIFT;
  } while (!atomic_compare_exchange_weak_explicit(&s->remote, &old, next, memory_order_seq_cst,
                                                  memory_order_relaxed));
  return old == HAK_REMOTE_FULL;
}

/* Makes a slab that was parked full findable again. */
void hak_slab_unpark(struct hak_slab *s)
{
  struct hak_heap *o = atomic_load_explicit(&s->owner, memory_order_seq_cst);
  if (hak_owner_is_heap(o))
    atomic_store_explicit(&hak_owner_untag(o)->remote_hint[s->cls], 1, memory_order_release);
  else if (o == HAK_OWNER_ABANDONED)
    hak_pool_publish(s);
}

void hak_slab_remote_free(struct hak_slab *s, void *p)
{
  if (hak_slab_remote_push(s, p))
    hak_slab_unpark(s);
}

/* Parks s as full; true when it is parked (by this call or already). */
bool hak_slab_park_full(struct hak_slab *s)
{
  uintptr_t old = 0;
  return atomic_compare_exchange_strong_explicit(&s->remote, &old, HAK_REMOTE_FULL,
                                                 memory_order_acq_rel, memory_order_relaxed) ||
         old == HAK_REMOTE_FULL;
}

bool hak_slab_has_free(const struct hak_slab *s)
{
  return s->free || s->bump < s->cap ||
         atomic_load_explicit(&s->remote, memory_order_relaxed) > HAK_REMOTE_FULL;
}

/* The owner lets go of a slab that still has blocks out (thread exit).
 * Once owner says ABANDONED another thread may adopt the slab, so
 * everything but the publish is done before: a slab with no free block
 * is parked while still ours. */
void hak_slab_abandon(struct hak_slab *s)
{
  if (!s->free && s->bump == s->cap)
    hak_slab_park_full(s);
  s->bin = NULL;
  s->list = HAK_LIST_NONE;
  atomic_store_explicit(&s->owner, HAK_OWNER_ABANDONED, memory_order_seq_cst);
  if (atomic_load_explicit(&s->remote, memory_order_seq_cst) == HAK_REMOTE_FULL)
    return; /* parked: its first remote free publishes it */
  hak_pool_publish(s);
}

/* p is where a block of s starts, among those carved so far. */
static bool block_start(const struct hak_slab *s, const void *p)
{
  const char *base = hak_slab_base(s);
  uintptr_t off = (uintptr_t)p - (uintptr_t)base;
  unsigned size = hak_class_size[s->cls];
  /* Atomic load: bump is the owner's, read here from any thread. */
  return (const char *)p >= base && off % size == 0 &&
         off / size < __atomic_load_n(&s->bump, __ATOMIC_RELAXED);
}

/* p is the start of a carved block of an ACTIVE slab s. */
bool hak_slab_block_valid(const struct hak_slab *s, const void *p)
{
  return atomic_load_explicit(&s->state, memory_order_relaxed) == HAK_SLAB_ACTIVE &&
         block_start(s, p);
}

/* Why p cannot be given back as a block of s, or NULL when it can: the
 * position is checked first, so an interior pointer is never taken for a
 * double free by what it happens to point at. */
const char *hak_slab_check_free(const struct hak_slab *s, const void *p)
{
  if (!block_start(s, p))
    return "invalid pointer (not the start of a HAKMEM block)";
  if (((const uintptr_t *)p)[1] == hak_free_key)
    return "double free";
  if (atomic_load_explicit(&s->state, memory_order_relaxed) != HAK_SLAB_ACTIVE)
    return "double free (the block's slab is empty)";
  return NULL;
}

/* p is on the slab's local free list (owner only; for validation). */
bool hak_slab_is_free_block(const struct hak_slab *s, const void *p)
{
  for (void **b = s->free; b; b = b[0])
    if (b == p)
      return true;
  return false;
}
