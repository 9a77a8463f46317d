/* Byte stream split: stream k holds byte k of every little-endian value. */
#include "format/encoding/kernels.h"

static inline __attribute__((always_inline)) void bss_loop(const uint8_t *restrict src,
                                                           uint8_t *restrict out, size_t n,
                                                           const unsigned width) {
  for (size_t i = 0; i < n; i++)
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
    case 2: bss_loop(src, dst, n, 2); break;
    case 4: bss_loop(src, dst, n, 4); break;
    case 8: bss_loop(src, dst, n, 8); break;
    default: bss_loop(src, dst, n, width); break;
  }
  return LSQL_OK;
}
