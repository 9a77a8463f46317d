/* Run-length decoding (Lance `Rle`): a buffer of run values and a buffer of run lengths. */
#include "format/encoding/kernels.h"

static inline uint64_t load_len(const uint8_t *p, unsigned lb) {
  switch (lb) {
    case 1: return p[0];
    case 2: return lsql_load_le16(p);
    default: return lsql_load_le32(p);
  }
}

/* Fills `count` values of tb bytes with the value at `v`. */
static inline __attribute__((always_inline)) void fill_run(uint8_t *restrict out,
                                                           const uint8_t *restrict v,
                                                           uint64_t count, const unsigned tb) {
  switch (tb) {
    case 1: memset(out, v[0], (size_t)count); break;
    case 2: { uint16_t x = lsql_load_le16(v); for (uint64_t i = 0; i < count; i++) memcpy(out + i * 2, &x, 2); } break;
    case 4: { uint32_t x = lsql_load_le32(v); for (uint64_t i = 0; i < count; i++) memcpy(out + i * 4, &x, 4); } break;
    default: { uint64_t x = lsql_load_le64(v); for (uint64_t i = 0; i < count; i++) memcpy(out + i * 8, &x, 8); } break;
  }
}

int lsql_rle_decode_ex(unsigned t_bits, const uint8_t *values, size_t values_len,
                       const uint8_t *lengths, size_t lengths_len, unsigned len_bits,
                       bool clamp_overflow, uint64_t n_values, void *dst, lsql_error *err) {
  if (t_bits != 8 && t_bits != 16 && t_bits != 32 && t_bits != 64)
    return lsql_err_corrupt(err, "rle: value width %u is not 8, 16, 32 or 64", t_bits);
  if (len_bits != 8 && len_bits != 16 && len_bits != 32)
    return lsql_err_corrupt(err, "rle: run length width %u is not 8, 16 or 32", len_bits);
  if (n_values == 0) return LSQL_OK;
  const unsigned tb = t_bits / 8, lb = len_bits / 8;
  if (values_len % tb != 0)
    return lsql_err_corrupt(err, "rle: values buffer of %zu bytes is not a multiple of %u",
                            values_len, tb);
  if (lengths_len % lb != 0)
    return lsql_err_corrupt(err, "rle: lengths buffer of %zu bytes is not a multiple of %u",
                            lengths_len, lb);
  const size_t n_runs = values_len / tb;
  if (n_runs != lengths_len / lb)
    return lsql_err_corrupt(err, "rle: %zu run values but %zu run lengths", n_runs,
                            lengths_len / lb);
  /* Validation pass: no zero runs, and the runs must cover n_values. Old mini-block writers
   * let a chunk's runs run past its value count (the excess is repeated in the next chunk),
   * so callers decoding mini-blocks clamp instead of failing. */
  uint64_t total = 0;
  for (size_t r = 0; r < n_runs; r++) {
    uint64_t len = load_len(lengths + r * lb, lb);
    if (LSQL_UNLIKELY(len == 0)) return lsql_err_corrupt(err, "rle: run %zu has length 0", r);
    total += len; /* <= 2^32 * 2^61: cannot overflow for any real buffer size */
  }
  if (total < n_values || (total > n_values && !clamp_overflow))
    return lsql_err_corrupt(err, "rle: runs cover %llu values but %llu expected",
                            (unsigned long long)total, (unsigned long long)n_values);
  uint8_t *out = dst;
  uint64_t left = n_values;
  for (size_t r = 0; r < n_runs && left; r++) {
    uint64_t len = load_len(lengths + r * lb, lb);
    if (len > left) len = left;
    const uint8_t *v = values + r * tb;
    switch (tb) {
      case 1: fill_run(out, v, len, 1); break;
      case 2: fill_run(out, v, len, 2); break;
      case 4: fill_run(out, v, len, 4); break;
      default: fill_run(out, v, len, 8); break;
    }
    out += len * tb;
    left -= len;
  }
  return LSQL_OK;
}

int lsql_rle_decode(unsigned t_bits, const uint8_t *values, size_t values_len,
                    const uint8_t *lengths, size_t lengths_len, uint64_t n_values, void *dst,
                    lsql_error *err) {
  return lsql_rle_decode_ex(t_bits, values, values_len, lengths, lengths_len, 8, true, n_values,
                            dst, err);
}

int lsql_rle_block_split(const uint8_t *src, size_t src_len, const uint8_t **values,
                         size_t *values_len, const uint8_t **lengths, size_t *lengths_len,
                         lsql_error *err) {
  if (src_len < 8)
    return lsql_err_corrupt(err, "rle block: %zu bytes is too short for the values size", src_len);
  uint64_t vsize = lsql_load_le64(src);
  if (vsize > src_len - 8)
    return lsql_err_corrupt(err, "rle block: values size %llu exceeds the %zu bytes after it",
                            (unsigned long long)vsize, src_len - 8);
  *values = src + 8;
  *values_len = (size_t)vsize;
  *lengths = src + 8 + vsize;
  *lengths_len = src_len - 8 - (size_t)vsize;
  return LSQL_OK;
}
