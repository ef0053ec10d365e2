/* pack.c - Large blocks packed into shared 2 MiB units.
 *
 * A Large block of at most HAK_PACK_MAX bytes that malloc asks for (not
 * aligned beyond 64 bytes, not grown by realloc) takes a slot of a unit
 * that holds blocks of its ACE bin only, so it costs its own size of
 * address space, not a 2 MiB span.  A unit is one 2 MiB-aligned mapping
 * (registry kind HAK_REG_LARGE_PACK): its first page is struct pack, then
 * nslots slots of `stride` bytes (the bin's mapping size), each starting
 * with the struct hak_big of the block it holds.  Any address maps to its
 * slot by arithmetic, so a free needs no lookup beyond the registry byte
 * and the header's magic.
 *
 * A slot is taken while its block is live and while the ACE caches it.
 * A slot the ACE lets go is purged whole (its header reads zero, so a late
 * free of the block is reported) and is free for the next block of the
 * bin; a unit whose slots are all free is unmapped, except one per bin
 * (its spare), so a bin whose use goes up and down by one block across a
 * unit's edge does not map and unmap a unit per block.
 */
#include "internal.h"

#define PACK_MAGIC 0x48414b4d5041434bull /* "HAKMPACK" */

struct pack {
  uint64_t magic;
  uint32_t stride;        /* bytes per slot, a page multiple */
  uint32_t nslots;        /* at most 32 */
  uint32_t taken;         /* bit i: slot i holds a block (under the bin's lock) */
  int bin;
  struct pack *next, *prev; /* on the bin's partial or full list (under its lock) */
};

static struct pack_bin {
  hak_lock_t lock;
  struct pack *partial; /* units with a free slot */
  struct pack *full;
  struct pack *spare;   /* a unit with no slot taken, or NULL */
} bins[HAK_PACK_BINS];

static uint32_t all_slots(const struct pack *u)
{
  return u->nslots == 32 ? UINT32_MAX : (1u << u->nslots) - 1;
}

static char *slot_addr(struct pack *u, unsigned i)
{
  return (char *)u + hak_os_page_size() + (size_t)i * u->stride;
}

static void push(struct pack **list, struct pack *u)
{
  u->prev = NULL;
  u->next = *list;
  if (*list)
    (*list)->prev = u;
  *list = u;
}

static void unlink_from(struct pack **list, struct pack *u)
{
  if (u->prev)
    u->prev->next = u->next;
  else
    *list = u->next;
  if (u->next)
    u->next->prev = u->prev;
}

static struct pack *pack_new(int bin)
{
  size_t page = hak_os_page_size();
  struct pack *u = hak_os_map(HAK_SS_SIZE, HAK_SS_SIZE, "hakmem large");
  if (!u)
    return NULL;
  u->magic = PACK_MAGIC;
  u->stride = (uint32_t)((HAK_BIG_MIN_OFFSET + hak_ace_bin_size(bin) + page - 1) & ~(page - 1));
  u->nslots = (uint32_t)((HAK_SS_SIZE - page) / u->stride);
  if (u->nslots > 32)
    u->nslots = 32;
  u->bin = bin;
  hak_stats_add_hollow((int64_t)(HAK_SS_SIZE - page)); /* all but the unit's header */
  hak_reg_set((uintptr_t)u, HAK_SS_SIZE, HAK_REG_LARGE_PACK, HAK_REG_LARGE_PACK);
  return u;
}

struct hak_big *hak_pack_take(int bin)
{
  HAK_ASSERT(bin >= 0 && bin < HAK_PACK_BINS);
  struct pack_bin *c = &bins[bin];
  hak_lock(&c->lock);
  while (!c->partial) {
    struct pack *u = c->spare;
    if (u) {
      c->spare = NULL;
    } else { /* map outside the lock; another thread may add one meanwhile */
      hak_unlock(&c->lock);
      u = pack_new(bin);
      if (!u)
        return NULL;
      hak_lock(&c->lock);
    }
    push(&c->partial, u);
  }
  struct pack *u = c->partial;
  unsigned i = (unsigned)__builtin_ctz(~u->taken);
  u->taken |= 1u << i;
  if (u->taken == all_slots(u)) {
    unlink_from(&c->partial, u);
    push(&c->full, u);
  }
  hak_unlock(&c->lock);
  struct hak_big *b = (struct hak_big *)slot_addr(u, i);
  b->magic = HAK_BIG_MAGIC;
  b->span = u->stride;
  b->used = u->stride;
  b->offset = HAK_BIG_MIN_OFFSET;
  b->bin = (int16_t)bin;
  b->packed = true;
  b->purged = false;
  hak_stats_add_hollow(-(int64_t)u->stride);
  return b;
}

struct hak_big *hak_pack_hdr(const void *p)
{
  uintptr_t base = (uintptr_t)p & ~(uintptr_t)HAK_SS_MASK;
  struct pack *u = (struct pack *)base;
  size_t page = hak_os_page_size(), off = (uintptr_t)p - base;
  if (off < page || u->magic != PACK_MAGIC)
    return NULL;
  size_t i = (off - page) / u->stride;
  return i < u->nslots ? (struct hak_big *)slot_addr(u, (unsigned)i) : NULL;
}

void hak_pack_release(struct hak_big *b)
{
  struct pack *u = (struct pack *)((uintptr_t)b & ~(uintptr_t)HAK_SS_MASK);
  struct pack_bin *c = &bins[u->bin];
  unsigned i = (unsigned)(((char *)b - slot_addr(u, 0)) / u->stride);
  b->magic = 0;
  hak_stats_add_hollow((int64_t)hak_big_touched(b));
  hak_os_purge(b, u->stride);
  hak_lock(&c->lock);
  if (u->taken == all_slots(u)) {
    unlink_from(&c->full, u);
    push(&c->partial, u);
  }
  u->taken &= ~(1u << i);
  bool drop = false;
  if (u->taken == 0) {
    unlink_from(&c->partial, u);
    if (!c->spare) {
      c->spare = u;
    } else {
      drop = true;
      /* The unit stops being HAKMEM's before another mapping may take it. */
      hak_reg_set((uintptr_t)u, HAK_SS_SIZE, HAK_REG_NONE, HAK_REG_NONE);
    }
  }
  hak_unlock(&c->lock);
  if (drop) {
    hak_stats_add_hollow(-(int64_t)(HAK_SS_SIZE - hak_os_page_size()));
    hak_os_unmap(u, HAK_SS_SIZE);
  }
}

void hak_pack_atfork_prepare(void)
{
  for (unsigned i = 0; i < HAK_PACK_BINS; i++)
    hak_lock(&bins[i].lock);
}

void hak_pack_atfork_parent(void)
{
  for (unsigned i = 0; i < HAK_PACK_BINS; i++)
    hak_unlock(&bins[i].lock);
}
