/* Byte stream split: stream k holds byte k of every little-endian value. */
#include "format/encoding/kernels.h"

#if defined(__SSE2__)
#include <emmintrin.h>

#define LD(k) _mm_loadu_si128((const __m128i *)(src + (size_t)(k) * n + i))
#define ST(j, v) _mm_storeu_si128((__m128i *)(out + i * W + 16 * (j)), v)

/* 16 values at a time: byte, then 16-bit (then 32-bit) interleaves of the streams. Returns how
 * many values were done; the caller finishes the rest. */
static size_t bss4_sse2(const uint8_t *restrict src, uint8_t *restrict out, size_t n) {
  enum { W = 4 };
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a = LD(0), b = LD(1), c = LD(2), d = LD(3);
    const __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
    const __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
    ST(0, _mm_unpacklo_epi16(ab0, cd0));
    ST(1, _mm_unpackhi_epi16(ab0, cd0));
    ST(2, _mm_unpacklo_epi16(ab1, cd1));
    ST(3, _mm_unpackhi_epi16(ab1, cd1));
  }
  return i;
}

static size_t bss8_sse2(const uint8_t *restrict src, uint8_t *restrict out, size_t n) {
  enum { W = 8 };
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i s0 = LD(0), s1 = LD(1), s2 = LD(2), s3 = LD(3);
    const __m128i s4 = LD(4), s5 = LD(5), s6 = LD(6), s7 = LD(7);
    const __m128i p01a = _mm_unpacklo_epi8(s0, s1), p01b = _mm_unpackhi_epi8(s0, s1);
    const __m128i p23a = _mm_unpacklo_epi8(s2, s3), p23b = _mm_unpackhi_epi8(s2, s3);
    const __m128i p45a = _mm_unpacklo_epi8(s4, s5), p45b = _mm_unpackhi_epi8(s4, s5);
    const __m128i p67a = _mm_unpacklo_epi8(s6, s7), p67b = _mm_unpackhi_epi8(s6, s7);
    /* bytes 0..3 and 4..7 of values 0-3, 4-7, 8-11, 12-15 */
    const __m128i lo0 = _mm_unpacklo_epi16(p01a, p23a), lo1 = _mm_unpackhi_epi16(p01a, p23a);
    const __m128i lo2 = _mm_unpacklo_epi16(p01b, p23b), lo3 = _mm_unpackhi_epi16(p01b, p23b);
    const __m128i hi0 = _mm_unpacklo_epi16(p45a, p67a), hi1 = _mm_unpackhi_epi16(p45a, p67a);
    const __m128i hi2 = _mm_unpacklo_epi16(p45b, p67b), hi3 = _mm_unpackhi_epi16(p45b, p67b);
    ST(0, _mm_unpacklo_epi32(lo0, hi0));
    ST(1, _mm_unpackhi_epi32(lo0, hi0));
    ST(2, _mm_unpacklo_epi32(lo1, hi1));
    ST(3, _mm_unpackhi_epi32(lo1, hi1));
    ST(4, _mm_unpacklo_epi32(lo2, hi2));
    ST(5, _mm_unpackhi_epi32(lo2, hi2));
    ST(6, _mm_unpacklo_epi32(lo3, hi3));
    ST(7, _mm_unpackhi_epi32(lo3, hi3));
  }
  return i;
}
#undef LD
#undef ST
#endif

/* Values [from, n) one byte at a time. */
static inline __attribute__((always_inline)) void bss_loop(const uint8_t *restrict src,
                                                           uint8_t *restrict out, size_t from,
                                                           size_t n, const unsigned width) {
  for (size_t i = from; i < n; i++)
    for (unsigned k = 0; k < width; k++) out[i * width + k] = src[k * n + i];
}

int lsql_bss_decode(unsigned width, const uint8_t *src, size_t src_len, uint64_t n_values,
                    void *dst, lsql_error *err) {
  if (width == 0 || width > 16)
    return lsql_err_corrupt(err, "byte stream split: value width of %u bytes is not supported",
                            width);
  uint64_t need;
  if (lsql_mul_overflow_u64(n_values, width, &need) || need != src_len)
    return lsql_err_corrupt(err, "byte stream split: %llu values of %u bytes need %llu bytes "
                            "but the buffer has %zu",
                            (unsigned long long)n_values, width,
                            (unsigned long long)(n_values * width), src_len);
  const size_t n = (size_t)n_values;
  switch (width) { /* constant widths let the compiler unroll the byte loop */
    case 2: bss_loop(src, dst, 0, n, 2); break;
#if defined(__SSE2__)
    case 4: bss_loop(src, dst, bss4_sse2(src, dst, n), n, 4); break;
    case 8: bss_loop(src, dst, bss8_sse2(src, dst, n), n, 8); break;
#else
    case 4: bss_loop(src, dst, 0, n, 4); break;
    case 8: bss_loop(src, dst, 0, n, 8); break;
#endif
    default: bss_loop(src, dst, 0, n, width); break;
  }
  return LSQL_OK;
}
