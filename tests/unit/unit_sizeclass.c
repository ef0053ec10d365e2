/* unit_sizeclass.c - the size classes of the tiny and mid tiers
 * (src/sizeclass.c and hak_size_class() in internal.h).
 *
 * Every size from 0 to 64 KiB is checked against a brute-force search of
 * the class table: it must map to the smallest class whose block holds it.
 * The table itself must be strictly increasing, made of multiples of 16
 * (max_align_t), with at most 1/8 of a block wasted above 128 bytes, and
 * split at 1 KiB between tiny and mid classes.  hak_size_class_aligned()
 * is checked the same way for every alignment from 32 to 4096. */
#include "config.h"

#include "unit.h"

_Static_assert(HAK_MID_MAX == 65536, "the mid tier ends at 64 KiB");

/* The smallest class whose block is >= size, by linear search. */
static unsigned ref_class(size_t size)
{
  for (unsigned c = 0; c < HAK_CLASSES; c++)
    if (hak_class_size[c] >= size)
      return c;
  return HAK_CLASSES;
}

/* The smallest class >= size whose block is a multiple of align. */
static unsigned ref_class_aligned(size_t size, size_t align)
{
  for (unsigned c = 0; c < HAK_CLASSES; c++)
    if (hak_class_size[c] >= size && hak_class_size[c] % align == 0)
      return c;
  return HAK_CLASSES;
}

static void check_table(void)
{
  unsigned bad16 = 0, badinc = 0;
  for (unsigned c = 0; c < HAK_CLASSES; c++) {
    if (hak_class_size[c] == 0 || hak_class_size[c] % 16)
      bad16++;
    if (c && hak_class_size[c] <= hak_class_size[c - 1])
      badinc++;
  }
  is_int(bad16, 0, "every block size is a non-zero multiple of 16");
  is_int(badinc, 0, "block sizes strictly increase with the class");
  is_int(hak_class_size[0], 16, "the smallest class is 16 bytes");
  is_int(hak_class_size[HAK_TINY_CLASSES - 1], HAK_TINY_MAX, "the last tiny class is 1 KiB");
  ok(hak_class_size[HAK_TINY_CLASSES] > HAK_TINY_MAX, "the first mid class is above 1 KiB (%u)",
     (unsigned)hak_class_size[HAK_TINY_CLASSES]);
  is_int(hak_class_size[HAK_CLASSES - 1], HAK_MID_MAX, "the last class is 64 KiB");
}

static void check_sizes(void)
{
  unsigned wrong = 0, waste = 0, nonmono = 0, prev = 0;
  size_t first_wrong = 0, first_waste = 0;
  for (size_t size = 0; size <= HAK_MID_MAX; size++) {
    unsigned c = hak_size_class(size);
    unsigned want = ref_class(size ? size : 1);
    if (c != want && wrong++ == 0)
      first_wrong = size;
    if (c < HAK_CLASSES && size > 128 && (hak_class_size[c] - size) * 8 > hak_class_size[c] &&
        waste++ == 0)
      first_waste = size;
    if (c < prev)
      nonmono++;
    prev = c;
  }
  if (!is_int(wrong, 0, "every size 0..65536 maps to the smallest class that holds it"))
    diag("first wrong size %zu: class %u (%u B), expected %u", first_wrong,
         hak_size_class(first_wrong), (unsigned)hak_class_size[hak_size_class(first_wrong)],
         ref_class(first_wrong ? first_wrong : 1));
  if (!is_int(waste, 0, "above 128 B a block wastes at most 1/8 of itself"))
    diag("first size over 1/8: %zu", first_waste);
  is_int(nonmono, 0, "the class never decreases as the size grows");
  is_int(hak_size_class(0), 0, "size 0 maps to the 16-byte class");
  is_int(hak_size_class(HAK_MID_MAX), HAK_CLASSES - 1, "65536 maps to the last class");
  is_int(hak_size_class(HAK_TINY_MAX), HAK_TINY_CLASSES - 1, "1024 is the last tiny size");
  is_int(hak_size_class(HAK_TINY_MAX + 1), HAK_TINY_CLASSES, "1025 is the first mid size");
}

/* The malloc fast path finds a tiny size's cache by hak_tiny_bin_offset. */
static void check_bin_offsets(void)
{
  unsigned wrong = 0;
  size_t first = 0;
  for (size_t size = 0; size <= HAK_TINY_MAX; size++)
    if (hak_tiny_bin_offset[size] != ref_class(size ? size : 1) * sizeof(struct hak_tbin) &&
        wrong++ == 0)
      first = size;
  if (!is_int(wrong, 0, "every tiny size's cache offset is its class's"))
    diag("first wrong size %zu: offset %u", first, (unsigned)hak_tiny_bin_offset[first]);
}

static void check_aligned(void)
{
  for (size_t align = 32; align <= 4096; align *= 2) {
    unsigned wrong = 0;
    size_t first = 0;
    for (size_t size = 0; size <= HAK_MID_MAX; size++) {
      unsigned c = hak_size_class_aligned(size, align);
      if (c != ref_class_aligned(size ? size : 1, align) && wrong++ == 0)
        first = size;
    }
    if (!is_int(wrong, 0, "alignment %zu: every size maps to the smallest class that is a multiple",
                align))
      diag("first wrong size %zu: got class %u, expected %u", first,
           hak_size_class_aligned(first, align), ref_class_aligned(first ? first : 1, align));
  }
  unsigned same = 0;
  for (size_t size = 0; size <= HAK_MID_MAX; size++)
    same += hak_size_class_aligned(size, 16) == hak_size_class(size);
  is_int(same, HAK_MID_MAX + 1, "alignment 16 changes no class");
  is_int(hak_size_class_aligned(HAK_MID_MAX + 1, 32), HAK_CLASSES,
         "a size above 64 KiB has no aligned class");
  is_int(hak_size_class_aligned(1, 4096), hak_size_class(4096), "1 byte aligned to 4096 -> 4 KiB");
  is_int(hak_size_class_aligned(4097, 4096), hak_size_class(8192), "4097 aligned to 4096 -> 8 KiB");
}

int main(void)
{
  unit_watchdog(60);
  plan(6 + 7 + 1 + 8 + 4);
  check_table();
  check_sizes();
  check_bin_offsets();
  check_aligned();
  return done_testing();
}
