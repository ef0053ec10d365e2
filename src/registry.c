/* registry.c - which 2 MiB units of address space HAKMEM owns.
 *
 * A flat byte array over the whole user address space (64 MiB of zero
 * pages, only the touched ones resident): lookup is one load, it can never
 * fill, and it needs no lock.  Writers (the Shared Pool and the Large/Huge
 * tiers) set a unit's byte after mapping it and clear it before unmapping. */
#include "internal.h"

uint8_t hak_registry[HAK_REG_UNITS];

void hak_reg_set(uintptr_t start, size_t len, uint8_t head, uint8_t rest)
{
  size_t first = start >> HAK_SS_SHIFT;
  size_t n = (len + HAK_SS_SIZE - 1) >> HAK_SS_SHIFT;
  for (size_t i = 0; i < n; i++)
    __atomic_store_n(&hak_registry[first + i], i ? rest : head, __ATOMIC_RELEASE);
}

const char *hak_addr_tier(const void *p)
{
  switch (hak_reg_lookup(p)) {
  case HAK_REG_SS_SMALL: {
    const struct hak_slab *s = hak_slab_of(p, HAK_REG_SS_SMALL);
    return s->cls < HAK_TINY_CLASSES ? "tiny" : "mid";
  }
  case HAK_REG_SS_MID:
    return "mid";
  case HAK_REG_HUGE_HEAD:
  case HAK_REG_HUGE_CONT:
  case HAK_REG_LARGE_PACK:
    return hak_big_tier(p, hak_reg_lookup(p));
  default:
    return NULL;
  }
}
