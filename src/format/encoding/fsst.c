/* FSST decoding with Lance's serialized symbol table (rust/compression/fsst). Code c < n_symbols
 * expands to symbol c (1..8 bytes); code 255 escapes the next byte, which is copied literally. */
#include "format/encoding/kernels.h"

#define FSST_TABLE_SIZE (8 + 256 * 8 + 256)
#define FSST_MAGIC 0x46535354u /* "FSST", bits 32..63 of the header */
#define FSST_ESC 255

int lsql_fsst_table_parse(const uint8_t *src, size_t src_len, lsql_fsst_table *out,
                          lsql_error *err) {
  if (src_len != FSST_TABLE_SIZE)
    return lsql_err_corrupt(err, "fsst: symbol table is %zu bytes, expected %d", src_len,
                            FSST_TABLE_SIZE);
  const uint64_t hdr = lsql_load_le64(src);
  if ((uint32_t)(hdr >> 32) != FSST_MAGIC)
    return lsql_err_corrupt(err, "fsst: symbol table magic 0x%08x is not \"FSST\"",
                            (unsigned)(hdr >> 32));
  memset(out, 0, sizeof *out);
  out->n_symbols = (unsigned)(hdr & 0xff);
  out->compressed = (hdr >> 24) & 1;
  const uint8_t *lens = src + 8 + (size_t)out->n_symbols * 8;
  for (unsigned i = 0; i < out->n_symbols; i++) {
    out->symbols[i] = lsql_load_le64(src + 8 + (size_t)i * 8);
    out->lens[i] = lens[i];
    /* Lengths only matter when the strings were compressed (uncompressed pages store 0 symbols). */
    if (out->compressed && (lens[i] == 0 || lens[i] > 8))
      return lsql_err_corrupt(err, "fsst: symbol %u has length %u (expected 1..8)", i, lens[i]);
  }
  if (out->n_symbols == 255) out->lens[FSST_ESC] = 0; /* code 255 is always the escape */
  for (unsigned c = 0; c < 256; c++) out->size_tab[c] = out->lens[c] ? out->lens[c] : (uint64_t)1 << 40;
  return LSQL_OK;
}

static inline uint64_t load_off(const void *offs, unsigned bits, uint64_t i) {
  const uint8_t *p = offs;
  return bits == 32 ? lsql_load_le32(p + i * 4) : lsql_load_le64(p + i * 8);
}

int lsql_fsst_decode(const lsql_fsst_table *t, unsigned in_offset_bits, const void *in_offsets,
                     const uint8_t *in_bytes, size_t in_bytes_len, uint64_t n, lsql_buf *out_bytes,
                     uint64_t *out_offsets, lsql_error *err) {
  if (in_offset_bits != 32 && in_offset_bits != 64)
    return lsql_err_corrupt(err, "fsst: offset width %u is not 32 or 64", in_offset_bits);
  const uint64_t base = out_bytes->len;
  /* Pass 1: offsets in range and non-decreasing; output size (which also validates codes). */
  uint64_t prev = load_off(in_offsets, in_offset_bits, 0);
  const uint64_t first = prev;
  if (prev > in_bytes_len)
    return lsql_err_corrupt(err, "fsst: offset 0 is %llu, past the %zu data bytes",
                            (unsigned long long)prev, in_bytes_len);
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; i++) { /* offsets only: a cheap loop over n */
    const uint64_t end = load_off(in_offsets, in_offset_bits, i + 1);
    if (LSQL_UNLIKELY(end < prev || end > in_bytes_len))
      return lsql_err_corrupt(err, "fsst: string %llu spans bytes %llu..%llu of %zu",
                              (unsigned long long)i, (unsigned long long)prev,
                              (unsigned long long)end, in_bytes_len);
    prev = end;
  }
  if (t->compressed) {
    /* Output size. The strings are contiguous, so without escapes it is a branch-free sum of
     * symbol lengths over [first, prev); the high bits count codes that are not symbols. Any
     * escape (or bad code) takes the exact per-string walk, which also validates. */
    const uint64_t *tab = t->size_tab;
    uint64_t acc = 0;
    for (uint64_t p = first; p < prev; p++) acc += tab[in_bytes[p]];
    if (LSQL_LIKELY(prev - first < ((uint64_t)1 << 37) && (acc >> 40) == 0)) {
      total = acc;
    } else {
      uint64_t s = first;
      for (uint64_t i = 0; i < n; i++) {
        const uint64_t end = load_off(in_offsets, in_offset_bits, i + 1);
        for (uint64_t p = s; p < end;) {
          const uint8_t c = in_bytes[p];
          if (c == FSST_ESC) {
            if (LSQL_UNLIKELY(p + 1 >= end))
              return lsql_err_corrupt(err, "fsst: string %llu ends with an escape code",
                                      (unsigned long long)i);
            total += 1;
            p += 2;
          } else {
            if (LSQL_UNLIKELY(t->lens[c] == 0))
              return lsql_err_corrupt(err, "fsst: string %llu: code %u >= %u symbols",
                                      (unsigned long long)i, c, t->n_symbols);
            total += t->lens[c];
            p += 1;
          }
        }
        s = end;
      }
    }
  }
  if (!t->compressed) { /* strings stored verbatim: copy and rebase the offsets */
    if (lsql_buf_append(out_bytes, in_bytes + first, (size_t)(prev - first)) != LSQL_OK)
      return lsql_err_oom(err);
    for (uint64_t i = 0; i <= n; i++)
      out_offsets[i] = base + load_off(in_offsets, in_offset_bits, i) - first;
    return LSQL_OK;
  }
  /* 8 bytes of slack: every symbol is copied as a whole 8-byte word. */
  if (total > SIZE_MAX - 8 || lsql_buf_reserve(out_bytes, (size_t)total + 8) != LSQL_OK)
    return lsql_err_oom(err);
  uint8_t *const out0 = out_bytes->data + out_bytes->len;
  uint8_t *o = out0;
  const uint64_t *restrict sym = t->symbols;
  const uint8_t *restrict lens = t->lens;
  prev = first;
  out_offsets[0] = base;
  for (uint64_t i = 0; i < n; i++) {
    const uint64_t end = load_off(in_offsets, in_offset_bits, i + 1);
    const uint8_t *p = in_bytes + prev, *pe = in_bytes + end;
    /* Fast path: 4 codes at a time while none of them is an escape. */
    while (pe - p >= 4) {
      uint32_t w = lsql_load_le32(p);
      /* High bit set in each byte equal to 0xFF. */
      uint32_t esc = ~w;
      esc = (esc - 0x01010101u) & ~esc & 0x80808080u;
      if (LSQL_LIKELY(esc == 0)) {
        uint8_t c;
        c = p[0]; memcpy(o, &sym[c], 8); o += lens[c];
        c = p[1]; memcpy(o, &sym[c], 8); o += lens[c];
        c = p[2]; memcpy(o, &sym[c], 8); o += lens[c];
        c = p[3]; memcpy(o, &sym[c], 8); o += lens[c];
        p += 4;
      } else {
        /* Decode up to and including the first escape. */
        const unsigned k = (unsigned)__builtin_ctz(esc) >> 3;
        for (unsigned j = 0; j < k; j++) {
          const uint8_t c = p[j];
          memcpy(o, &sym[c], 8);
          o += lens[c];
        }
        p += k;
        *o++ = p[1]; /* validated: an escape is never the last byte */
        p += 2;
      }
    }
    while (p < pe) {
      const uint8_t c = *p;
      if (c != FSST_ESC) {
        memcpy(o, &sym[c], 8);
        o += lens[c];
        p += 1;
      } else {
        *o++ = p[1];
        p += 2;
      }
    }
    out_offsets[i + 1] = base + (uint64_t)(o - out0);
    prev = end;
  }
  out_bytes->len += (size_t)total;
  return LSQL_OK;
}
