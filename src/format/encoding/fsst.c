/* FSST decoding with Lance's serialized symbol table (rust/compression/fsst). Code c < n_symbols
 * expands to symbol c (1..8 bytes); code 255 escapes the next byte, which is copied literally. */
#include "format/encoding/kernels.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define FSST_TABLE_SIZE (8 + 256 * 8 + 256)
#define FSST_MAGIC 0x46535354u /* "FSST", bits 32..63 of the header */
#define FSST_ESC 255
/* Input bytes decoded per group of whole strings: the per-byte output-position scratch of a
 * group lives on the stack (and in L1). Longer strings are decoded on their own. */
#define FSST_GROUP 2048
#define FSST_BAD ((uint64_t)1 << 40) /* size_tab value of codes that are not symbols */
#define FSST_LIT ((uint32_t)1 << 31) /* scratch flag: position follows an escape code */

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
  if (out->n_symbols == 255) { /* code 255 is always the escape */
    out->lens[FSST_ESC] = 0;
    out->symbols[FSST_ESC] = 0;
  }
  for (unsigned c = 0; c < 256; c++) out->size_tab[c] = out->lens[c] ? out->lens[c] : FSST_BAD;
  out->size_tab[FSST_ESC] = 0; /* the escape itself adds nothing; its literal adds 1 */
  return LSQL_OK;
}

static inline __attribute__((always_inline)) uint64_t load_off(const void *offs, unsigned bits,
                                                                uint64_t i) {
  const uint8_t *p = offs;
  return bits == 32 ? lsql_load_le32(p + i * 4) : lsql_load_le64(p + i * 8);
}

/* Classifies a span's bytes: SPAN_SYMBOLS when all are symbols (< n_symbols); SPAN_ESCAPES when
 * the others are all 255 (escapes or their literals); else SPAN_OTHER (maybe bad codes). */
enum { SPAN_SYMBOLS, SPAN_ESCAPES, SPAN_OTHER };
static inline int classify(const uint8_t *in, size_t len, unsigned n_symbols) {
  const uint8_t ns = (uint8_t)n_symbols; /* <= 255 */
  size_t k = 0;
  unsigned esc = 0, other = 0;
#if defined(__SSE2__)
  /* c >= ns  <=>  max(c, ns) == c */
  const __m128i lim = _mm_set1_epi8((char)ns), ff = _mm_set1_epi8((char)0xff);
  __m128i e = _mm_setzero_si128(), o = _mm_setzero_si128();
  for (; k + 16 <= len; k += 16) {
    const __m128i v = _mm_loadu_si128((const __m128i *)(in + k));
    const __m128i is_esc = _mm_cmpeq_epi8(v, ff);
    e = _mm_or_si128(e, is_esc);
    o = _mm_or_si128(o, _mm_andnot_si128(is_esc, _mm_cmpeq_epi8(_mm_max_epu8(v, lim), v)));
  }
  esc = (unsigned)_mm_movemask_epi8(e);
  other = (unsigned)_mm_movemask_epi8(o);
#endif
  for (; k < len; k++) {
    esc |= in[k] == FSST_ESC;
    other |= in[k] >= ns && in[k] != FSST_ESC;
  }
  return other ? SPAN_OTHER : esc ? SPAN_ESCAPES : SPAN_SYMBOLS;
}

/* Exact, branch-free walk of codes that may hold escapes: the byte after an escape adds 1, a
 * symbol its length, a non-symbol FSST_BAD. With `pre`, stores the output position of every
 * input position (pre[0..len]), flagged with FSST_LIT when it falls between an escape and its
 * literal (a string must not end there). Returns the output size (>= FSST_BAD if a code is bad)
 * and sets *dangling when the span ends with an escape. */
static uint64_t walk_exact(const lsql_fsst_table *t, const uint8_t *in, size_t len, uint32_t *pre,
                           bool *dangling) {
  const uint64_t *tab = t->size_tab;
  uint64_t acc = 0;
  uint32_t lit = 0; /* 1: this byte is an escaped literal */
  for (size_t k = 0; k < len; k++) {
    if (pre) pre[k] = (uint32_t)acc | (lit << 31);
    const uint8_t c = in[k];
    acc += (tab[c] & ((uint64_t)lit - 1)) | lit;
    lit = (uint32_t)(c == FSST_ESC) & (lit ^ 1);
  }
  if (pre) pre[len] = (uint32_t)acc | (lit << 31);
  *dangling = lit != 0;
  return acc;
}

/* Decodes codes known to be symbols; returns the output size. `pre` (optional) receives the
 * output position of every input position. 8-byte symbol stores: 8 bytes of slack needed. */
static inline __attribute__((always_inline)) size_t decode_symbols(
    const lsql_fsst_table *t, const uint8_t *restrict in, size_t len, uint8_t *restrict o,
    uint32_t *restrict pre) {
  const uint64_t *restrict sym = t->symbols;
  const uint8_t *restrict lens = t->lens;
  size_t pos = 0, k = 0;
  for (; k + 4 <= len; k += 4) {
    uint8_t c;
    c = in[k];     if (pre) pre[k] = (uint32_t)pos;     memcpy(o + pos, &sym[c], 8); pos += lens[c];
    c = in[k + 1]; if (pre) pre[k + 1] = (uint32_t)pos; memcpy(o + pos, &sym[c], 8); pos += lens[c];
    c = in[k + 2]; if (pre) pre[k + 2] = (uint32_t)pos; memcpy(o + pos, &sym[c], 8); pos += lens[c];
    c = in[k + 3]; if (pre) pre[k + 3] = (uint32_t)pos; memcpy(o + pos, &sym[c], 8); pos += lens[c];
  }
  for (; k < len; k++) {
    const uint8_t c = in[k];
    if (pre) pre[k] = (uint32_t)pos;
    memcpy(o + pos, &sym[c], 8);
    pos += lens[c];
  }
  if (pre) pre[len] = (uint32_t)pos;
  return pos;
}

/* Decodes symbols and escapes (no other code) of a group, storing the output position of every
 * input position in pre[0..len] (an escaped literal's position flagged FSST_LIT). Sets *dangling
 * instead of reading past the span when its last code is an escape. */
static size_t decode_escapes_pre(const lsql_fsst_table *t, const uint8_t *restrict in, size_t len,
                                 uint8_t *restrict o, uint32_t *restrict pre, bool *dangling) {
  const uint64_t *restrict sym = t->symbols;
  const uint8_t *restrict lens = t->lens;
  size_t pos = 0, k = 0;
  *dangling = false;
  for (;;) {
    while (k + 8 <= len) {
      const uint64_t w = ~lsql_load_le64(in + k);
      const uint64_t esc = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
      if (esc) break;
#define FSST_SYM(m)                                                                         \
  do {                                                                                      \
    const uint8_t c_ = in[k + (m)];                                                         \
    pre[k + (m)] = (uint32_t)pos;                                                           \
    memcpy(o + pos, &sym[c_], 8);                                                           \
    pos += lens[c_];                                                                        \
  } while (0)
      FSST_SYM(0); FSST_SYM(1); FSST_SYM(2); FSST_SYM(3);
      FSST_SYM(4); FSST_SYM(5); FSST_SYM(6); FSST_SYM(7);
#undef FSST_SYM
      k += 8;
    }
    /* Up to 8 codes one at a time, or the tail. */
    const size_t stop = LSQL_MIN(k + 8, len);
    if (k == stop) break;
    while (k < stop) {
      const uint8_t c = in[k];
      pre[k] = (uint32_t)pos;
      if (c != FSST_ESC) {
        memcpy(o + pos, &sym[c], 8);
        pos += lens[c];
        k += 1;
      } else {
        if (LSQL_UNLIKELY(k + 1 >= len)) {
          *dangling = true;
          return pos;
        }
        pre[k + 1] = (uint32_t)pos | FSST_LIT;
        o[pos++] = in[k + 1];
        k += 2;
      }
    }
  }
  pre[len] = (uint32_t)pos;
  return pos;
}

/* Decodes validated codes with escapes (no escape is the last byte); returns the output size. */
static size_t decode_escapes(const lsql_fsst_table *t, const uint8_t *p, size_t len, uint8_t *o) {
  const uint64_t *restrict sym = t->symbols;
  const uint8_t *restrict lens = t->lens;
  const uint8_t *const pe = p + len;
  uint8_t *const o0 = o;
  while (pe - p >= 4) {
    const uint32_t w = ~lsql_load_le32(p);
    const uint32_t esc = (w - 0x01010101u) & ~w & 0x80808080u; /* high bit of each 0xFF byte */
    if (LSQL_LIKELY(esc == 0)) {
      uint8_t c;
      c = p[0]; memcpy(o, &sym[c], 8); o += lens[c];
      c = p[1]; memcpy(o, &sym[c], 8); o += lens[c];
      c = p[2]; memcpy(o, &sym[c], 8); o += lens[c];
      c = p[3]; memcpy(o, &sym[c], 8); o += lens[c];
      p += 4;
    } else {
      const unsigned k = (unsigned)__builtin_ctz(esc) >> 3;
      for (unsigned j = 0; j < k; j++) {
        const uint8_t c = p[j];
        memcpy(o, &sym[c], 8);
        o += lens[c];
      }
      p += k;
      *o++ = p[1];
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
  return (size_t)(o - o0);
}

/* Cold: names the first string of [i, j) holding a bad code or ending with an escape. */
static int code_error(const lsql_fsst_table *t, unsigned bits, const void *offs,
                      const uint8_t *in, uint64_t i, uint64_t j, lsql_error *err) {
  for (; i < j; i++) {
    const uint64_t end = load_off(offs, bits, i + 1);
    for (uint64_t p = load_off(offs, bits, i); p < end; p++) {
      const uint8_t c = in[p];
      if (c == FSST_ESC) {
        if (p + 1 >= end)
          return lsql_err_corrupt(err, "fsst: string %llu ends with an escape code",
                                  (unsigned long long)i);
        p++;
      } else if (t->lens[c] == 0) {
        return lsql_err_corrupt(err, "fsst: string %llu: code %u >= %u symbols",
                                (unsigned long long)i, c, t->n_symbols);
      }
    }
  }
  return lsql_err_corrupt(err, "fsst: invalid codes");
}

/* Decodes one span of codes [in, in + len) (whole strings) to the end of out_bytes. With `pre`
 * (len <= FSST_GROUP), pre[k] is the output position, relative to the span, of input position
 * k, possibly flagged FSST_LIT (the caller rejects a string boundary there). */
static int decode_span(const lsql_fsst_table *t, const uint8_t *in, size_t len, uint32_t *pre,
                       lsql_buf *out, bool *escapes) {
  const int kind = classify(in, len, t->n_symbols);
  if (LSQL_LIKELY(kind == SPAN_SYMBOLS)) {
    size_t need = len * 8;
    if (!pre) { /* a long string: exact size rather than 8x */
      uint64_t s = 0;
      for (size_t k = 0; k < len; k++) s += t->lens[in[k]];
      need = (size_t)s;
    }
    if (need > SIZE_MAX - 8 || lsql_buf_reserve(out, need + 8) != LSQL_OK) return LSQL_ENOMEM;
    out->len += pre ? decode_symbols(t, in, len, out->data + out->len, pre)
                    : decode_symbols(t, in, len, out->data + out->len, NULL);
    *escapes = false;
    return LSQL_OK;
  }
  *escapes = true;
  if (pre && kind == SPAN_ESCAPES) { /* a group (<= 8 output bytes per input byte) */
    if (lsql_buf_reserve(out, len * 8 + 8) != LSQL_OK) return LSQL_ENOMEM;
    bool dangling;
    const size_t got = decode_escapes_pre(t, in, len, out->data + out->len, pre, &dangling);
    if (dangling) return LSQL_ECORRUPT;
    out->len += got;
    return LSQL_OK;
  }
  /* Possibly bad codes (or a long string): validate and size exactly first. */
  bool dangling;
  const uint64_t total = walk_exact(t, in, len, pre, &dangling);
  if (dangling || total >= FSST_BAD) return LSQL_ECORRUPT;
  if (total > SIZE_MAX - 8 || lsql_buf_reserve(out, (size_t)total + 8) != LSQL_OK)
    return LSQL_ENOMEM;
  out->len += decode_escapes(t, in, len, out->data + out->len);
  return LSQL_OK;
}

static inline __attribute__((always_inline)) int decode_impl(
    const lsql_fsst_table *t, const unsigned bits, const void *in_offsets, const uint8_t *in_bytes,
    size_t in_bytes_len, uint64_t n, lsql_buf *out_bytes, uint64_t *out_offsets, lsql_error *err) {
  const uint64_t base = out_bytes->len;
  uint64_t s = load_off(in_offsets, bits, 0);
  if (s > in_bytes_len)
    return lsql_err_corrupt(err, "fsst: offset 0 is %llu, past the %zu data bytes",
                            (unsigned long long)s, in_bytes_len);
  out_offsets[0] = base;
  if (!t->compressed) { /* strings stored verbatim: copy and rebase the offsets */
    const uint64_t first = s;
    for (uint64_t i = 0; i < n; i++) {
      const uint64_t end = load_off(in_offsets, bits, i + 1);
      if (LSQL_UNLIKELY(end < s || end > in_bytes_len))
        return lsql_err_corrupt(err, "fsst: string %llu spans bytes %llu..%llu of %zu",
                                (unsigned long long)i, (unsigned long long)s,
                                (unsigned long long)end, in_bytes_len);
      out_offsets[i + 1] = base + end - first;
      s = end;
    }
    if (lsql_buf_append(out_bytes, in_bytes + first, (size_t)(s - first)) != LSQL_OK)
      return lsql_err_oom(err);
    return LSQL_OK;
  }
  /* Strings are contiguous in the input and the output: decode groups of whole strings in one
   * linear pass, recording the output position of every input byte, then read each string's
   * output offset from its input offset (no per-string loop or branch in the decoder). */
  uint32_t pre[FSST_GROUP + 1];
  int rc = LSQL_OK;
  uint64_t i = 0;
  while (i < n) {
    uint64_t e = load_off(in_offsets, bits, i + 1);
    const uint64_t limit = LSQL_MIN(s + FSST_GROUP, (uint64_t)in_bytes_len);
    bool esc;
    if (e - s > limit - s) { /* decreasing, past the end, or a string longer than a group */
      if (e < s || e > in_bytes_len) {
        rc = lsql_err_corrupt(err, "fsst: string %llu spans bytes %llu..%llu of %zu",
                              (unsigned long long)i, (unsigned long long)s,
                              (unsigned long long)e, in_bytes_len);
        break;
      }
      rc = decode_span(t, in_bytes + s, (size_t)(e - s), NULL, out_bytes, &esc);
      if (rc == LSQL_ECORRUPT) code_error(t, bits, in_offsets, in_bytes, i, i + 1, err);
      if (rc != LSQL_OK) break;
      out_offsets[++i] = out_bytes->len;
      s = e;
      continue;
    }
    uint64_t j = i + 1; /* the group: strings [i, j), bytes [s, e) */
    while (j < n) {
      const uint64_t nx = load_off(in_offsets, bits, j + 1);
      if (nx - e > limit - e) break; /* decreasing or past the group: next group checks */
      e = nx;
      j++;
    }
    const uint64_t ob = out_bytes->len;
    rc = decode_span(t, in_bytes + s, (size_t)(e - s), pre, out_bytes, &esc);
    if (rc != LSQL_OK) {
      if (rc == LSQL_ECORRUPT) code_error(t, bits, in_offsets, in_bytes, i, j, err);
      break;
    }
    if (LSQL_LIKELY(!esc)) {
      for (uint64_t q = i + 1; q <= j; q++)
        out_offsets[q] = ob + pre[load_off(in_offsets, bits, q) - s];
    } else {
      uint32_t flags = 0;
      for (uint64_t q = i + 1; q <= j; q++) {
        const uint32_t v = pre[load_off(in_offsets, bits, q) - s];
        flags |= v;
        out_offsets[q] = ob + (v & ~FSST_LIT);
      }
      if (flags & FSST_LIT) {
        rc = code_error(t, bits, in_offsets, in_bytes, i, j, err);
        break;
      }
    }
    i = j;
    s = e;
  }
  if (rc != LSQL_OK) {
    out_bytes->len = (size_t)base;
    if (rc == LSQL_ENOMEM) return lsql_err_oom(err);
  }
  return rc;
}

int lsql_fsst_decode(const lsql_fsst_table *t, unsigned in_offset_bits, const void *in_offsets,
                     const uint8_t *in_bytes, size_t in_bytes_len, uint64_t n, lsql_buf *out_bytes,
                     uint64_t *out_offsets, lsql_error *err) {
  if (in_offset_bits == 32)
    return decode_impl(t, 32, in_offsets, in_bytes, in_bytes_len, n, out_bytes, out_offsets, err);
  if (in_offset_bits == 64)
    return decode_impl(t, 64, in_offsets, in_bytes, in_bytes_len, n, out_bytes, out_offsets, err);
  return lsql_err_corrupt(err, "fsst: offset width %u is not 32 or 64", in_offset_bits);
}
