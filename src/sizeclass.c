/* sizeclass.c - size classes of the tiny (to 1 KiB) and mid (to 64 KiB) tiers.
 *
 * 16-byte steps up to 256 B, then eight classes per doubling, so a block is
 * never more than 1/8 larger than needed above 128 B.  Every class size is
 * a multiple of 16 (max_align_t) and slabs start on page boundaries, so a
 * class whose size is a multiple of an alignment <= 4096 serves that
 * alignment with no special path. */
#include "internal.h"

#define S16(i) (16u * (i))
#define OCT(b) (9u << ((b) - 3)), (10u << ((b) - 3)), (11u << ((b) - 3)), (12u << ((b) - 3)), \
               (13u << ((b) - 3)), (14u << ((b) - 3)), (15u << ((b) - 3)), (16u << ((b) - 3))

const uint32_t hak_class_size[HAK_CLASSES] = {
  S16(1), S16(2), S16(3), S16(4), S16(5), S16(6), S16(7), S16(8),
  S16(9), S16(10), S16(11), S16(12), S16(13), S16(14), S16(15), S16(16),
  OCT(8), OCT(9),                          /* tiny: to 1 KiB */
  OCT(10), OCT(11), OCT(12), OCT(13), OCT(14), OCT(15), /* mid: to 64 KiB */
};
_Static_assert(HAK_TINY_CLASSES == 32 && HAK_CLASSES == 80, "class layout");

/* The tables below are lists of classes, each repeated over the sizes it
 * covers: Rn(c) is n copies of "c,", Cn(c) counts them. */
#define R1(c) c,
#define R2(c) R1(c) R1(c)
#define R4(c) R2(c) R2(c)
#define R8(c) R4(c) R4(c)
#define R16(c) R8(c) R8(c)
#define R32(c) R16(c) R16(c)
#define C1(c) +1
#define C2(c) +2
#define C4(c) +4
#define C8(c) +8
#define C16(c) +16
#define C32(c) +32

/* The class of each 16-byte step of tiny sizes: 1..16, 17..32, ... */
#define TINY_CLASSES(X)                                                                      \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)     \
  X(15) /* to 256 */                                                                       \
  X(16) X(16) X(17) X(17) X(18) X(18) X(19) X(19) X(20) X(20) X(21) X(21) X(22) X(22)      \
  X(23) X(23) /* to 512: 32-byte steps */                                                  \
  X(24) X(24) X(24) X(24) X(25) X(25) X(25) X(25) X(26) X(26) X(26) X(26) X(27) X(27)      \
  X(27) X(27) X(28) X(28) X(28) X(28) X(29) X(29) X(29) X(29) X(30) X(30) X(30) X(30)      \
  X(31) X(31) X(31) X(31) /* to 1024: 64-byte steps */
_Static_assert(0 TINY_CLASSES(C1) == HAK_TINY_MAX / 16, "one class for every 16 bytes");
#define AS_BIN_OFFSET16(c) R16((c) * HAK_TBIN_BYTES)

/* By size itself: the malloc fast path then does no arithmetic on it. */
const uint16_t hak_tiny_bin_offset[HAK_TINY_MAX + 1] = {0, TINY_CLASSES(AS_BIN_OFFSET16)};

/* The class of every mid size, by (size - 1) / 128 - 8: every mid class
 * boundary is a multiple of 128, so a class covers step / 128 entries.
 * (tests/unit/unit_sizeclass checks each size against hak_class_size.) */
#define MID_OCT(R, c) R(c) R(c + 1) R(c + 2) R(c + 3) R(c + 4) R(c + 5) R(c + 6) R(c + 7)
#define MID_CLASSES(X)                                                                    \
  MID_OCT(X##1, 32)  /* to 2 KiB: 128-byte steps */                                      \
  MID_OCT(X##2, 40)  /* to 4 KiB */                                                      \
  MID_OCT(X##4, 48)  /* to 8 KiB */                                                      \
  MID_OCT(X##8, 56)  /* to 16 KiB */                                                     \
  MID_OCT(X##16, 64) /* to 32 KiB */                                                     \
  MID_OCT(X##32, 72) /* to 64 KiB: 4 KiB steps */
const uint8_t hak_mid_class[] = {MID_CLASSES(R)};
_Static_assert(0 MID_CLASSES(C) == (HAK_MID_MAX - HAK_TINY_MAX) / 128, "an entry for every 128 bytes");

unsigned hak_size_class_aligned(size_t size, size_t align)
{
  if (size > HAK_MID_MAX)
    return HAK_CLASSES;
  for (unsigned c = hak_size_class(size ? size : 1); c < HAK_CLASSES; c++)
    if ((hak_class_size[c] & (align - 1)) == 0)
      return c;
  return HAK_CLASSES;
}
