/* Bit-packing containers around the FastLanes kernel (2.1+ InlineBitpacking and
 * OutOfLineBitpacking, 2.0 BitpackedForNonNeg) and the 2.0 plain LSB-first `Bitpacked` stream. */
#include "format/encoding/kernels.h"

#define FL_BLOCK 1024u

static bool t_bits_ok(unsigned t) { return t == 8 || t == 16 || t == 32 || t == 64; }

/* Unpacks one block and keeps its first `n` values (a partial last block). */
static void unpack_partial(unsigned t_bits, unsigned w_bits, const uint8_t *src, uint8_t *dst,
                           size_t n) {
  uint64_t tmp[FL_BLOCK]; /* 1024 values of the widest type */
  lsql_fastlanes_unpack(t_bits, w_bits, src, tmp);
  memcpy(dst, tmp, n * (t_bits / 8));
}

int lsql_inline_bitpack_decode(unsigned t_bits, const uint8_t *src, size_t src_len,
                               uint64_t n_values, void *dst, lsql_error *err) {
  if (!t_bits_ok(t_bits))
    return lsql_err_corrupt(err, "inline bitpacking: value width %u is not 8, 16, 32 or 64",
                            t_bits);
  if (n_values == 0) return LSQL_OK; /* an empty block carries no chunk header */
  const size_t tb = t_bits / 8;
  const uint64_t n_chunks = (n_values + FL_BLOCK - 1) / FL_BLOCK;
  uint8_t *out = dst;
  size_t pos = 0;
  for (uint64_t c = 0; c < n_chunks; c++) {
    if (LSQL_UNLIKELY(src_len - pos < tb))
      return lsql_err_corrupt(err,
                              "inline bitpacking: chunk %llu: buffer ends at byte %zu before "
                              "the bit width header",
                              (unsigned long long)c, src_len);
    uint64_t w = 0;
    memcpy(&w, src + pos, tb); /* little-endian T-wide word */
    if (LSQL_UNLIKELY(w > t_bits))
      return lsql_err_corrupt(err, "inline bitpacking: chunk %llu: bit width %llu > %u",
                              (unsigned long long)c, (unsigned long long)w, t_bits);
    pos += tb;
    const size_t body = (size_t)w * (FL_BLOCK / 8);
    if (LSQL_UNLIKELY(src_len - pos < body))
      return lsql_err_corrupt(err,
                              "inline bitpacking: chunk %llu: width %u needs %zu bytes but only "
                              "%zu remain",
                              (unsigned long long)c, (unsigned)w, body, src_len - pos);
    const uint64_t left = n_values - c * FL_BLOCK;
    if (left >= FL_BLOCK) {
      lsql_fastlanes_unpack(t_bits, (unsigned)w, src + pos, out);
      out += FL_BLOCK * tb;
    } else {
      unpack_partial(t_bits, (unsigned)w, src + pos, out, (size_t)left);
    }
    pos += body;
  }
  if (LSQL_UNLIKELY(pos != src_len))
    return lsql_err_corrupt(err, "inline bitpacking: %zu trailing bytes after %llu chunks",
                            src_len - pos, (unsigned long long)n_chunks);
  return LSQL_OK;
}

/* Checks t_bits/w_bits and returns the byte size of one packed 1024-value block. */
static int block_bytes(const char *what, unsigned t_bits, unsigned w_bits, size_t *out,
                       lsql_error *err) {
  if (!t_bits_ok(t_bits))
    return lsql_err_corrupt(err, "%s: value width %u is not 8, 16, 32 or 64", what, t_bits);
  if (w_bits > t_bits)
    return lsql_err_corrupt(err, "%s: bit width %u > %u", what, w_bits, t_bits);
  *out = (size_t)w_bits * (FL_BLOCK / 8);
  return LSQL_OK;
}

/* Unpacks `full` whole blocks then a zero-padded packed tail of `rem` values. */
static void unpack_blocks(unsigned t_bits, unsigned w_bits, const uint8_t *src, uint64_t full,
                          size_t rem, size_t chunk_bytes, uint8_t *out) {
  const size_t tb = t_bits / 8;
  for (uint64_t c = 0; c < full; c++) {
    lsql_fastlanes_unpack(t_bits, w_bits, src, out);
    src += chunk_bytes;
    out += FL_BLOCK * tb;
  }
  if (rem) unpack_partial(t_bits, w_bits, src, out, rem);
}

int lsql_out_of_line_bitpack_decode(unsigned t_bits, unsigned w_bits, const uint8_t *src,
                                    size_t src_len, uint64_t n_values, void *dst,
                                    lsql_error *err) {
  static const char what[] = "out-of-line bitpacking";
  size_t chunk_bytes = 0;
  LSQL_TRY(block_bytes(what, t_bits, w_bits, &chunk_bytes, err));
  const uint64_t full = n_values / FL_BLOCK;
  const size_t rem = (size_t)(n_values % FL_BLOCK);
  const size_t tb = t_bits / 8;
  uint64_t full_bytes, raw_len, packed_len;
  if (lsql_mul_overflow_u64(full, chunk_bytes, &full_bytes) || full_bytes > src_len)
    return lsql_err_corrupt(err, "%s: %llu values at width %u need more than the %zu bytes given",
                            what, (unsigned long long)n_values, w_bits, src_len);
  if (rem == 0) {
    /* Like Lance's reader, bytes after the last block are ignored. */
    unpack_blocks(t_bits, w_bits, src, full, 0, chunk_bytes, dst);
    return LSQL_OK;
  }
  raw_len = full_bytes + (uint64_t)rem * tb;
  packed_len = full_bytes + chunk_bytes;
  if (src_len == raw_len) { /* the writer stored the tail unpacked (reader rule of Lance) */
    unpack_blocks(t_bits, w_bits, src, full, 0, chunk_bytes, dst);
    memcpy((uint8_t *)dst + full * FL_BLOCK * tb, src + full_bytes, rem * tb);
    return LSQL_OK;
  }
  if (src_len < packed_len)
    return lsql_err_corrupt(err,
                            "%s: buffer is %zu bytes but %llu values at width %u need %llu "
                            "(packed tail) or %llu (raw tail)",
                            what, src_len, (unsigned long long)n_values, w_bits,
                            (unsigned long long)packed_len, (unsigned long long)raw_len);
  unpack_blocks(t_bits, w_bits, src, full, rem, chunk_bytes, dst);
  return LSQL_OK;
}

int lsql_bitpack_for_non_neg_decode(unsigned t_bits, unsigned w_bits, const uint8_t *src,
                                    size_t src_len, uint64_t n_values, void *dst,
                                    lsql_error *err) {
  static const char what[] = "bitpacked-for-non-neg";
  size_t chunk_bytes = 0;
  LSQL_TRY(block_bytes(what, t_bits, w_bits, &chunk_bytes, err));
  const uint64_t blocks = (n_values + FL_BLOCK - 1) / FL_BLOCK;
  uint64_t need;
  if (lsql_mul_overflow_u64(blocks, chunk_bytes, &need) || need > src_len)
    return lsql_err_corrupt(err, "%s: %llu values at width %u need %llu bytes but the buffer has %zu",
                            what, (unsigned long long)n_values, w_bits,
                            (unsigned long long)(blocks * chunk_bytes), src_len);
  unpack_blocks(t_bits, w_bits, src, n_values / FL_BLOCK, (size_t)(n_values % FL_BLOCK),
                chunk_bytes, dst);
  return LSQL_OK;
}

/* ---- plain LSB-first bit stream -------------------------------------------------------- */

/* Reads `w` (1..64) bits at bit offset `bit` byte by byte; used only near the buffer end. */
static uint64_t read_bits_slow(const uint8_t *src, uint64_t bit, unsigned w) {
  uint64_t v = 0;
  unsigned got = 0;
  size_t byte = (size_t)(bit >> 3);
  unsigned shift = (unsigned)(bit & 7);
  while (got < w) {
    v |= (uint64_t)(src[byte] >> shift) << got;
    got += 8 - shift;
    shift = 0;
    byte++;
  }
  return w == 64 ? v : v & ((UINT64_C(1) << w) - 1);
}

#define STORE_T(out, i, v, tb)                       \
  switch (tb) {                                      \
    case 1: (out)[i] = (uint8_t)(v); break;          \
    case 2: { uint16_t x_ = (uint16_t)(v); memcpy((out) + (i) * 2, &x_, 2); } break; \
    case 4: { uint32_t x_ = (uint32_t)(v); memcpy((out) + (i) * 4, &x_, 4); } break; \
    default: { uint64_t x_ = (uint64_t)(v); memcpy((out) + (i) * 8, &x_, 8); } break; \
  }

static inline __attribute__((always_inline)) void bitunpack_loop(
    const uint8_t *restrict src, size_t src_len, uint64_t n, unsigned w, bool sign,
    uint8_t *restrict out, const unsigned tb) {
  const uint64_t mask = UINT64_MAX >> (64 - w);
  const uint64_t sbit = UINT64_C(1) << (w - 1);
  /* Values whose 9-byte window lies inside the buffer take the fast path. */
  uint64_t fast_n = src_len >= 9 ? (((uint64_t)(src_len - 9) * 8) / w) + 1 : 0;
  if (fast_n > n) fast_n = n;
  uint64_t i = 0, bit = 0;
  if (w <= 56) {
    for (; i < fast_n; i++, bit += w) {
      uint64_t v = (lsql_load_le64(src + (bit >> 3)) >> (bit & 7)) & mask;
      if (sign) v = (v ^ sbit) - sbit;
      STORE_T(out, i, v, tb);
    }
  } else {
    for (; i < fast_n; i++, bit += w) {
      const size_t byte = (size_t)(bit >> 3);
      const unsigned sh = (unsigned)(bit & 7);
      uint64_t v = lsql_load_le64(src + byte) >> sh;
      if (sh) v |= (uint64_t)src[byte + 8] << (64 - sh);
      v &= mask;
      if (sign && w < 64) v = (v ^ sbit) - sbit;
      STORE_T(out, i, v, tb);
    }
  }
  for (; i < n; i++, bit += w) {
    uint64_t v = read_bits_slow(src, bit, w);
    if (sign && w < 64) v = (v ^ sbit) - sbit;
    STORE_T(out, i, v, tb);
  }
}

int lsql_bitunpack_decode(unsigned t_bits, unsigned w_bits, bool sign_extend, const uint8_t *src,
                          size_t src_len, uint64_t n_values, void *dst, lsql_error *err) {
  if (!t_bits_ok(t_bits))
    return lsql_err_corrupt(err, "bitpacked: value width %u is not 8, 16, 32 or 64", t_bits);
  if (w_bits > t_bits)
    return lsql_err_corrupt(err, "bitpacked: bit width %u > %u", w_bits, t_bits);
  const unsigned tb = t_bits / 8;
  if (w_bits == 0) {
    uint64_t bytes;
    if (lsql_mul_overflow_u64(n_values, tb, &bytes) || bytes > SIZE_MAX)
      return lsql_err_corrupt(err, "bitpacked: %llu values overflow", (unsigned long long)n_values);
    memset(dst, 0, (size_t)bytes);
    return LSQL_OK;
  }
  uint64_t bits;
  if (lsql_mul_overflow_u64(n_values, w_bits, &bits) || bits / 8 + ((bits & 7) != 0) > src_len)
    return lsql_err_corrupt(err, "bitpacked: %llu values at width %u need %llu bytes but the "
                            "buffer has %zu",
                            (unsigned long long)n_values, w_bits,
                            (unsigned long long)(bits / 8 + ((bits & 7) != 0)), src_len);
  uint8_t *out = dst;
  switch (tb) { /* constant tb per instantiation */
    case 1: bitunpack_loop(src, src_len, n_values, w_bits, sign_extend, out, 1); break;
    case 2: bitunpack_loop(src, src_len, n_values, w_bits, sign_extend, out, 2); break;
    case 4: bitunpack_loop(src, src_len, n_values, w_bits, sign_extend, out, 4); break;
    default: bitunpack_loop(src, src_len, n_values, w_bits, sign_extend, out, 8); break;
  }
  return LSQL_OK;
}
