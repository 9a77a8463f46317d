/* FastLanes unpacking: 1024 values of a T-bit unsigned type packed at W bits in the transposed
 * "FL_ORDER" layout of rust/compression/bitpacking (a vendored copy of spiraldb/fastlanes).
 *
 * Layout: LANES = 1024/T lanes; lane `l`, row `r` (0..T-1) holds the value at index
 * FL_ORDER[r/8]*16 + (r%8)*128 + l. Within a lane the T rows are packed LSB-first into W words
 * of T bits: row r starts at bit r*W, i.e. packed word LANES*((r*W)/T) + l, bit (r*W)%T, and
 * spills into the next word of the lane when it crosses a word boundary.
 *
 * Speed: one specialised function per (T, W), each a force-inlined generic body with W a
 * compile-time constant; the row loop is unrolled and the lane loop (innermost, LANES
 * independent iterations) vectorises. */
#include "format/encoding/kernels.h"

/* Unaligned-safe views: page buffers carry no alignment promise. */
typedef uint8_t fl_u8 __attribute__((aligned(1), may_alias));
typedef uint16_t fl_u16 __attribute__((aligned(1), may_alias));
typedef uint32_t fl_u32 __attribute__((aligned(1), may_alias));
typedef uint64_t fl_u64 __attribute__((aligned(1), may_alias));

static const unsigned FL_ORDER[8] = {0, 4, 2, 6, 1, 5, 3, 7};

#define FL_DEFINE_GENERIC(TB)                                                                  \
  static inline __attribute__((always_inline)) void fl_unpack_generic_##TB(                    \
      const fl_u##TB *restrict in, fl_u##TB *restrict out, const unsigned W) {                 \
    enum { LANES = 1024 / TB };                                                                \
    if (W == 0) {                                                                              \
      memset((void *)out, 0, 1024 * sizeof(uint##TB##_t));                                     \
      return;                                                                                  \
    }                                                                                          \
    const uint##TB##_t mask = (uint##TB##_t)(UINT64_MAX >> (64 - W));                         \
    _Pragma("GCC unroll 64") for (unsigned row = 0; row < TB; row++) {                         \
      const unsigned bit = row * W, word = bit / TB, shift = bit % TB;                         \
      const fl_u##TB *restrict ip = in + LANES * word;                                         \
      fl_u##TB *restrict op = out + FL_ORDER[row / 8] * 16 + (row % 8) * 128;                  \
      if (shift + W <= TB) {                                                                   \
        for (unsigned lane = 0; lane < LANES; lane++)                                          \
          op[lane] = (uint##TB##_t)((uint##TB##_t)(ip[lane] >> shift) & mask);                 \
      } else {                                                                                 \
        const unsigned lo = TB - shift;                                                        \
        for (unsigned lane = 0; lane < LANES; lane++)                                          \
          op[lane] = (uint##TB##_t)(((uint##TB##_t)(ip[lane] >> shift) |                       \
                                     (uint##TB##_t)(ip[lane + LANES] << lo)) &                 \
                                    mask);                                                     \
      }                                                                                        \
    }                                                                                          \
  }

FL_DEFINE_GENERIC(8)
FL_DEFINE_GENERIC(16)
FL_DEFINE_GENERIC(32)
FL_DEFINE_GENERIC(64)

typedef void (*fl_unpack_fn)(const uint8_t *src, void *dst);

#define FL_FN(TB, W)                                                                  \
  static void fl_unpack_##TB##_##W(const uint8_t *src, void *dst) {                   \
    fl_unpack_generic_##TB((const fl_u##TB *)(const void *)src, (fl_u##TB *)dst, W);  \
  }
#define FL_PTR(TB, W) fl_unpack_##TB##_##W,

/* Width lists 0..T, expanded by X(TB, W). */
#define FL_W0_7(X, TB) X(TB, 0) X(TB, 1) X(TB, 2) X(TB, 3) X(TB, 4) X(TB, 5) X(TB, 6) X(TB, 7)
#define FL_W8_15(X, TB) X(TB, 8) X(TB, 9) X(TB, 10) X(TB, 11) X(TB, 12) X(TB, 13) X(TB, 14) X(TB, 15)
#define FL_W16_23(X, TB) X(TB, 16) X(TB, 17) X(TB, 18) X(TB, 19) X(TB, 20) X(TB, 21) X(TB, 22) X(TB, 23)
#define FL_W24_31(X, TB) X(TB, 24) X(TB, 25) X(TB, 26) X(TB, 27) X(TB, 28) X(TB, 29) X(TB, 30) X(TB, 31)
#define FL_W32_39(X, TB) X(TB, 32) X(TB, 33) X(TB, 34) X(TB, 35) X(TB, 36) X(TB, 37) X(TB, 38) X(TB, 39)
#define FL_W40_47(X, TB) X(TB, 40) X(TB, 41) X(TB, 42) X(TB, 43) X(TB, 44) X(TB, 45) X(TB, 46) X(TB, 47)
#define FL_W48_55(X, TB) X(TB, 48) X(TB, 49) X(TB, 50) X(TB, 51) X(TB, 52) X(TB, 53) X(TB, 54) X(TB, 55)
#define FL_W56_63(X, TB) X(TB, 56) X(TB, 57) X(TB, 58) X(TB, 59) X(TB, 60) X(TB, 61) X(TB, 62) X(TB, 63)
#define FL_WIDTHS_8(X) FL_W0_7(X, 8) X(8, 8)
#define FL_WIDTHS_16(X) FL_W0_7(X, 16) FL_W8_15(X, 16) X(16, 16)
#define FL_WIDTHS_32(X) FL_W0_7(X, 32) FL_W8_15(X, 32) FL_W16_23(X, 32) FL_W24_31(X, 32) X(32, 32)
#define FL_WIDTHS_64(X)                                                                       \
  FL_W0_7(X, 64) FL_W8_15(X, 64) FL_W16_23(X, 64) FL_W24_31(X, 64) FL_W32_39(X, 64)           \
  FL_W40_47(X, 64) FL_W48_55(X, 64) FL_W56_63(X, 64) X(64, 64)

FL_WIDTHS_8(FL_FN)
FL_WIDTHS_16(FL_FN)
FL_WIDTHS_32(FL_FN)
FL_WIDTHS_64(FL_FN)

static const fl_unpack_fn FL_UNPACK_8[9] = {FL_WIDTHS_8(FL_PTR)};
static const fl_unpack_fn FL_UNPACK_16[17] = {FL_WIDTHS_16(FL_PTR)};
static const fl_unpack_fn FL_UNPACK_32[33] = {FL_WIDTHS_32(FL_PTR)};
static const fl_unpack_fn FL_UNPACK_64[65] = {FL_WIDTHS_64(FL_PTR)};

void lsql_fastlanes_unpack(unsigned t_bits, unsigned w_bits, const uint8_t *src, void *dst) {
  switch (t_bits) {
    case 8: FL_UNPACK_8[w_bits](src, dst); break;
    case 16: FL_UNPACK_16[w_bits](src, dst); break;
    case 32: FL_UNPACK_32[w_bits](src, dst); break;
    default: FL_UNPACK_64[w_bits](src, dst); break;
  }
}
