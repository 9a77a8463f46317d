/* Compression kernels: FastLanes (checked against vectors from the `fastlanes` crate), inline /
 * out-of-line / 2.0 bitpacking, plain bit unpacking, RLE, byte stream split, FSST (checked
 * against `fsst-rs`), zstd / lz4 / none. */
#include <lz4.h>
#include <stdlib.h>
#include <zstd.h>

#include "fastlanes_vectors.h"
#include "format/encoding/kernels.h"
#include "harness.h"
#include "util/util.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static uint64_t mask_w(unsigned w) { return w == 64 ? UINT64_MAX : ((UINT64_C(1) << w) - 1); }
static uint64_t fnv(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
static uint64_t get_t(const void *p, unsigned tb, size_t i) {
  uint64_t v = 0;
  memcpy(&v, (const uint8_t *)p + i * tb, tb);
  return v;
}
static void put_t(void *p, unsigned tb, size_t i, uint64_t v) { memcpy((uint8_t *)p + i * tb, &v, tb); }

/* The generator's inputs: 1024 values for (t, w). */
static void gen_input(unsigned t, unsigned w, void *out) {
  uint64_t s = (uint64_t)t * 1000 + w;
  for (size_t i = 0; i < 1024; i++) put_t(out, t / 8, i, splitmix(&s) & mask_w(w));
}

/* Reference FastLanes packer written from the layout description (scalar, bit by bit). */
static void ref_pack(unsigned t, unsigned w, const void *in, uint8_t *out) {
  static const unsigned order[8] = {0, 4, 2, 6, 1, 5, 3, 7};
  const unsigned lanes = 1024 / t, tb = t / 8;
  memset(out, 0, (size_t)128 * w);
  for (unsigned lane = 0; lane < lanes; lane++)
    for (unsigned row = 0; row < t; row++) {
      uint64_t v = get_t(in, tb, order[row / 8] * 16 + (row % 8) * 128 + lane) & mask_w(w);
      for (unsigned b = 0; b < w; b++) {
        unsigned bit = row * w + b, word = bit / t, off = bit % t;
        size_t byte = (size_t)(lanes * word + lane) * tb + off / 8;
        out[byte] |= (uint8_t)(((v >> b) & 1) << (off % 8));
      }
    }
}

/* Builds an InlineBitpacking buffer for n values (chunk c packed at widths[c % nw]). */
static size_t build_inline(unsigned t, const void *vals, size_t n, const unsigned *widths,
                           size_t nw, uint8_t *buf) {
  const unsigned tb = t / 8;
  size_t pos = 0;
  uint64_t block[1024];
  for (size_t c = 0; c * 1024 < n; c++) {
    unsigned w = widths[c % nw];
    memset(block, 0, sizeof block);
    size_t k = LSQL_MIN((size_t)1024, n - c * 1024);
    for (size_t i = 0; i < k; i++) put_t(block, tb, i, get_t(vals, tb, c * 1024 + i) & mask_w(w));
    memset(buf + pos, 0, tb);
    buf[pos] = (uint8_t)w;
    pos += tb;
    ref_pack(t, w, block, buf + pos);
    pos += (size_t)128 * w;
  }
  return pos;
}

static void fill_masked(unsigned t, void *vals, size_t n, unsigned w, uint64_t seed) {
  for (size_t i = 0; i < n; i++) put_t(vals, t / 8, i, splitmix(&seed) & mask_w(w));
}

static const unsigned T_BITS[4] = {8, 16, 32, 64};
static const size_t COUNTS[] = {0, 1, 1023, 1024, 1025, 5000};

/* ---- FastLanes ---------------------------------------------------------------------------- */

LSQL_TEST(fastlanes_reference_packer_matches_crate) {
  static uint8_t packed[128 * 64];
  static uint64_t in[1024];
  for (size_t k = 0; k < LSQL_ARRAY_LEN(FL_HASHES); k++) {
    unsigned t = FL_HASHES[k].t, w = FL_HASHES[k].w;
    gen_input(t, w, in);
    ref_pack(t, w, in, packed);
    if (fnv(packed, (size_t)128 * w) != FL_HASHES[k].fnv) {
      fprintf(stderr, "packed bytes differ from the fastlanes crate for T=%u W=%u\n", t, w);
      lsql_test_failures++;
    }
  }
  CHECK_EQ_INT(LSQL_ARRAY_LEN(FL_HASHES), 9 + 17 + 33 + 65);
}

LSQL_TEST(fastlanes_unpack_every_width) {
  static uint8_t packed[128 * 64 + 16];
  static uint64_t in[1024], out[1024 + 2];
  for (int ti = 0; ti < 4; ti++) {
    unsigned t = T_BITS[ti];
    for (unsigned w = 0; w <= t; w++) {
      gen_input(t, w, in);
      ref_pack(t, w, in, packed + 1); /* odd address: the kernel must not assume alignment */
      memset(out, 0xAB, sizeof out);
      lsql_fastlanes_unpack(t, w, packed + 1, (uint8_t *)out + 3);
      if (memcmp((uint8_t *)out + 3, in, (size_t)128 * t) != 0) {
        fprintf(stderr, "unpack mismatch T=%u W=%u\n", t, w);
        lsql_test_failures++;
      }
      CHECK(((uint8_t *)out)[3 + 128 * t] == 0xAB); /* nothing written past 1024 values */
    }
  }
}

LSQL_TEST(fastlanes_unpack_crate_blocks) {
  static uint64_t in[1024], out[1024];
  struct { unsigned t, w; const uint8_t *p; size_t n; } v[] = {
      {8, 3, FL_PACKED_8_3, sizeof FL_PACKED_8_3}, {16, 5, FL_PACKED_16_5, sizeof FL_PACKED_16_5},
      {32, 7, FL_PACKED_32_7, sizeof FL_PACKED_32_7}, {64, 9, FL_PACKED_64_9, sizeof FL_PACKED_64_9}};
  for (size_t k = 0; k < LSQL_ARRAY_LEN(v); k++) {
    CHECK_EQ_INT(v[k].n, 128 * v[k].w);
    gen_input(v[k].t, v[k].w, in);
    lsql_fastlanes_unpack(v[k].t, v[k].w, v[k].p, out);
    CHECK(memcmp(out, in, (size_t)128 * v[k].t) == 0);
  }
}

/* ---- inline bitpacking -------------------------------------------------------------------- */

LSQL_TEST(inline_bitpack_counts_and_widths) {
  const size_t maxn = 5000;
  uint64_t *vals = calloc(maxn, 8), *out = calloc(maxn + 1, 8);
  uint8_t *buf = calloc(8 * maxn + 64 * 8 + 1024 * 8, 1);
  lsql_error err = {0};
  for (int ti = 0; ti < 4; ti++) {
    unsigned t = T_BITS[ti];
    unsigned widths[4] = {t / 2 + 1, 0, t, 1}; /* mixed, incl. width 0 and width T */
    for (size_t ci = 0; ci < LSQL_ARRAY_LEN(COUNTS); ci++) {
      size_t n = COUNTS[ci];
      fill_masked(t, vals, n, t / 2 + 1, n * 7 + t);
      /* Chunks at width 0 / 1 must hold values that fit: rebuild the expected values. */
      for (size_t i = 0; i < n; i++) {
        unsigned w = widths[(i / 1024) % 4];
        put_t(vals, t / 8, i, get_t(vals, t / 8, i) & mask_w(w));
      }
      size_t len = build_inline(t, vals, n, widths, 4, buf);
      memset(out, 0xEE, (maxn + 1) * 8);
      CHECK_OK(lsql_inline_bitpack_decode(t, buf, len, n, out, &err), err);
      CHECK(memcmp(out, vals, n * (t / 8)) == 0);
      CHECK(((uint8_t *)out)[n * (t / 8)] == 0xEE);
    }
  }
  free(vals);
  free(out);
  free(buf);
}

LSQL_TEST(inline_bitpack_rejects_bad_input) {
  uint64_t vals[2048] = {0}, out[2048];
  uint8_t buf[2 * (8 + 128 * 64)];
  lsql_error err = {0};
  unsigned widths[1] = {5};
  size_t len = build_inline(64, vals, 2048, widths, 1, buf);
  CHECK_OK(lsql_inline_bitpack_decode(64, buf, len, 2048, out, &err), err);
  CHECK_FAILS(lsql_inline_bitpack_decode(64, buf, len - 1, 2048, out, &err), LSQL_ECORRUPT,
              "chunk 1: width 5 needs 640 bytes but only 639 remain", err);
  CHECK_FAILS(lsql_inline_bitpack_decode(64, buf, len / 2 + 3, 2048, out, &err), LSQL_ECORRUPT,
              "chunk 1: buffer ends", err);
  CHECK_FAILS(lsql_inline_bitpack_decode(64, buf, len, 1024, out, &err), LSQL_ECORRUPT,
              "648 trailing bytes after 1 chunks", err);
  buf[len / 2] = 70; /* chunk 1 header */
  CHECK_FAILS(lsql_inline_bitpack_decode(64, buf, len, 2048, out, &err), LSQL_ECORRUPT,
              "inline bitpacking: chunk 1: bit width 70 > 64", err);
  buf[0] = 9;
  CHECK_FAILS(lsql_inline_bitpack_decode(8, buf, len, 10, out, &err), LSQL_ECORRUPT,
              "chunk 0: bit width 9 > 8", err);
  CHECK_FAILS(lsql_inline_bitpack_decode(12, buf, len, 10, out, &err), LSQL_ECORRUPT,
              "value width 12", err);
  CHECK_FAILS(lsql_inline_bitpack_decode(32, buf, 0, 1, out, &err), LSQL_ECORRUPT,
              "before the bit width header", err);
  CHECK_OK(lsql_inline_bitpack_decode(32, NULL, 0, 0, out, &err), err);
}

/* ---- out-of-line / 2.0 bitpacking --------------------------------------------------------- */

/* Packs n values at width w: full blocks, then the tail packed (zero-padded) or raw. */
static size_t build_ool(unsigned t, unsigned w, const void *vals, size_t n, bool raw_tail,
                        uint8_t *buf) {
  const unsigned tb = t / 8;
  size_t pos = 0;
  uint64_t block[1024];
  for (size_t c = 0; c * 1024 < n; c++) {
    size_t k = LSQL_MIN((size_t)1024, n - c * 1024);
    if (k < 1024 && raw_tail) {
      memcpy(buf + pos, (const uint8_t *)vals + c * 1024 * tb, k * tb);
      return pos + k * tb;
    }
    memset(block, 0, sizeof block);
    memcpy(block, (const uint8_t *)vals + c * 1024 * tb, k * tb);
    ref_pack(t, w, block, buf + pos);
    pos += (size_t)128 * w;
  }
  return pos;
}

LSQL_TEST(out_of_line_bitpack_tails) {
  const size_t maxn = 5000;
  uint64_t *vals = calloc(maxn, 8), *out = calloc(maxn, 8);
  uint8_t *buf = calloc(maxn * 8 + 1024 * 8, 1);
  lsql_error err = {0};
  for (int ti = 0; ti < 4; ti++) {
    unsigned t = T_BITS[ti];
    unsigned ws[3] = {0, t - 1, t};
    for (int wi = 0; wi < 3; wi++) {
      unsigned w = ws[wi];
      for (size_t ci = 0; ci < LSQL_ARRAY_LEN(COUNTS); ci++) {
        size_t n = COUNTS[ci];
        fill_masked(t, vals, n, w, n + w);
        for (int raw = 0; raw < 2; raw++) {
          size_t len = build_ool(t, w, vals, n, raw, buf);
          /* When both tails have the same length Lance reads it as raw; skip the packed case. */
          size_t rem = n % 1024;
          if (!raw && rem && rem * (t / 8) == (size_t)128 * w) continue;
          memset(out, 0, maxn * 8);
          CHECK_OK(lsql_out_of_line_bitpack_decode(t, w, buf, len, n, out, &err), err);
          if (memcmp(out, vals, n * (t / 8)) != 0) {
            fprintf(stderr, "out-of-line mismatch T=%u W=%u n=%zu raw=%d\n", t, w, n, raw);
            lsql_test_failures++;
          }
          if (raw == 0) {
            CHECK_OK(lsql_bitpack_for_non_neg_decode(t, w, buf, len, n, out, &err), err);
            CHECK(memcmp(out, vals, n * (t / 8)) == 0);
          }
        }
      }
    }
  }
  /* Truncated: 1025 values at width 7 (u32) need 896*2 packed or 896+4 raw bytes. */
  CHECK_FAILS(lsql_out_of_line_bitpack_decode(32, 7, buf, 1000, 1025, out, &err), LSQL_ECORRUPT,
              "buffer is 1000 bytes but 1025 values at width 7 need 1792 (packed tail) or 900 "
              "(raw tail)", err);
  CHECK_FAILS(lsql_out_of_line_bitpack_decode(32, 7, buf, 895, 1024, out, &err), LSQL_ECORRUPT,
              "need more than the 895 bytes", err);
  CHECK_FAILS(lsql_out_of_line_bitpack_decode(32, 33, buf, 9000, 1, out, &err), LSQL_ECORRUPT,
              "out-of-line bitpacking: bit width 33 > 32", err);
  CHECK_FAILS(lsql_bitpack_for_non_neg_decode(16, 3, buf, 383, 1, out, &err), LSQL_ECORRUPT,
              "need 384 bytes but the buffer has 383", err);
  free(vals);
  free(out);
  free(buf);
}

/* ---- plain bit unpacking ------------------------------------------------------------------ */

static size_t lsb_pack(const uint64_t *vals, size_t n, unsigned w, uint8_t *buf) {
  size_t bytes = (n * w + 7) / 8;
  memset(buf, 0, bytes);
  for (size_t i = 0; i < n; i++)
    for (unsigned b = 0; b < w; b++)
      if ((vals[i] >> b) & 1) buf[(i * w + b) / 8] |= (uint8_t)(1u << ((i * w + b) % 8));
  return bytes;
}

LSQL_TEST(bitunpack_widths_and_sign) {
  const size_t maxn = 5000;
  uint64_t *vals = calloc(maxn, 8), *out = calloc(maxn, 8);
  uint8_t *buf = calloc(maxn * 8 + 8, 1);
  lsql_error err = {0};
  for (int ti = 0; ti < 4; ti++) {
    unsigned t = T_BITS[ti], tb = t / 8;
    for (unsigned w = 0; w <= t; w++) {
      size_t n = (w % 3 == 0) ? 5000 : (w % 3 == 1 ? 1025 : 7);
      uint64_t s = w * 31 + t;
      for (size_t i = 0; i < n; i++) vals[i] = splitmix(&s) & mask_w(w);
      size_t len = lsb_pack(vals, n, w, buf);
      for (int sign = 0; sign < 2; sign++) {
        memset(out, 0, maxn * 8);
        CHECK_OK(lsql_bitunpack_decode(t, w, sign, buf, len, n, out, &err), err);
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
          uint64_t e = vals[i];
          if (sign && w > 0 && w < 64 && (e >> (w - 1)) & 1) e |= ~mask_w(w);
          e &= mask_w(t);
          if (get_t(out, tb, i) != e) ok = false;
        }
        if (!ok) {
          fprintf(stderr, "bitunpack mismatch T=%u W=%u sign=%d\n", t, w, sign);
          lsql_test_failures++;
        }
      }
    }
  }
  /* -3 in 3 bits (0b101) -> int16 -3 */
  uint8_t one = 0x5;
  int16_t v16;
  CHECK_OK(lsql_bitunpack_decode(16, 3, true, &one, 1, 1, &v16, &err), err);
  CHECK_EQ_INT(v16, -3);
  CHECK_OK(lsql_bitunpack_decode(16, 3, false, &one, 1, 1, &v16, &err), err);
  CHECK_EQ_INT(v16, 5);
  CHECK_FAILS(lsql_bitunpack_decode(32, 5, false, buf, 3, 5, out, &err), LSQL_ECORRUPT,
              "5 values at width 5 need 4 bytes but the buffer has 3", err);
  CHECK_FAILS(lsql_bitunpack_decode(8, 9, false, buf, 100, 5, out, &err), LSQL_ECORRUPT,
              "bit width 9 > 8", err);
  CHECK_OK(lsql_bitunpack_decode(64, 64, false, NULL, 0, 0, out, &err), err);
  free(vals);
  free(out);
  free(buf);
}

/* ---- RLE ---------------------------------------------------------------------------------- */

LSQL_TEST(rle_expands_runs) {
  lsql_error err = {0};
  int32_t vals[3] = {7, -2, 9};
  uint8_t lens[3] = {3, 255, 2};
  int32_t out[300];
  CHECK_OK(lsql_rle_decode(32, (uint8_t *)vals, sizeof vals, lens, 3, 260, out, &err), err);
  CHECK(out[0] == 7 && out[2] == 7 && out[3] == -2 && out[257] == -2 && out[258] == 9 &&
        out[259] == 9);
  /* Overshoot (old mini-block writers): clamp. Block context: strict. */
  CHECK_OK(lsql_rle_decode(32, (uint8_t *)vals, sizeof vals, lens, 3, 100, out, &err), err);
  CHECK(out[99] == -2);
  CHECK_FAILS(lsql_rle_decode_ex(32, (uint8_t *)vals, sizeof vals, lens, 3, 8, false, 100, out,
                                 &err),
              LSQL_ECORRUPT, "rle: runs cover 260 values but 100 expected", err);
  CHECK_FAILS(lsql_rle_decode(32, (uint8_t *)vals, sizeof vals, lens, 3, 261, out, &err),
              LSQL_ECORRUPT, "rle: runs cover 260 values but 261 expected", err);
  CHECK_FAILS(lsql_rle_decode(32, (uint8_t *)vals, 11, lens, 3, 5, out, &err), LSQL_ECORRUPT,
              "not a multiple of 4", err);
  CHECK_FAILS(lsql_rle_decode(32, (uint8_t *)vals, 12, lens, 2, 5, out, &err), LSQL_ECORRUPT,
              "3 run values but 2 run lengths", err);
  uint8_t zl[3] = {3, 0, 2};
  CHECK_FAILS(lsql_rle_decode(32, (uint8_t *)vals, 12, zl, 3, 5, out, &err), LSQL_ECORRUPT,
              "run 1 has length 0", err);
  CHECK_OK(lsql_rle_decode(32, NULL, 0, NULL, 0, 0, out, &err), err);
  CHECK_FAILS(lsql_rle_decode(32, NULL, 0, NULL, 0, 1, out, &err), LSQL_ECORRUPT,
              "runs cover 0 values but 1 expected", err);
  /* 8-, 16- and 64-bit values, 16-bit lengths */
  uint8_t v8[2] = {1, 2}, l8[2] = {2, 1}, o8[3];
  CHECK_OK(lsql_rle_decode(8, v8, 2, l8, 2, 3, o8, &err), err);
  CHECK(o8[0] == 1 && o8[1] == 1 && o8[2] == 2);
  uint16_t v16[1] = {0xBEEF}, o16[4];
  CHECK_OK(lsql_rle_decode(16, (uint8_t *)v16, 2, l8, 1, 2, o16, &err), err);
  CHECK(o16[0] == 0xBEEF && o16[1] == 0xBEEF);
  uint64_t v64[2] = {UINT64_MAX, 5}, o64[1000];
  uint16_t l16[2] = {700, 300};
  CHECK_OK(lsql_rle_decode_ex(64, (uint8_t *)v64, 16, (uint8_t *)l16, 4, 16, false, 1000, o64, &err), err);
  CHECK(o64[699] == UINT64_MAX && o64[700] == 5 && o64[999] == 5);
  /* block frame */
  uint8_t blk[8 + 16 + 4];
  lsql_store_le64(blk, 16);
  memcpy(blk + 8, v64, 16);
  memcpy(blk + 24, l16, 4);
  const uint8_t *bv, *bl;
  size_t bvl, bll;
  CHECK_OK(lsql_rle_block_split(blk, sizeof blk, &bv, &bvl, &bl, &bll, &err), err);
  CHECK(bvl == 16 && bll == 4 && bv == blk + 8 && bl == blk + 24);
  lsql_store_le64(blk, 21);
  CHECK_FAILS(lsql_rle_block_split(blk, sizeof blk, &bv, &bvl, &bl, &bll, &err), LSQL_ECORRUPT,
              "values size 21 exceeds the 20 bytes", err);
}

/* ---- byte stream split -------------------------------------------------------------------- */

LSQL_TEST(bss_reinterleaves) {
  lsql_error err = {0};
  for (unsigned width = 1; width <= 8; width++) {
    size_t n = 1000 + width;
    uint8_t *vals = malloc(n * width), *src = malloc(n * width), *out = malloc(n * width);
    uint64_t s = width;
    for (size_t i = 0; i < n * width; i++) vals[i] = (uint8_t)splitmix(&s);
    for (size_t i = 0; i < n; i++)
      for (unsigned k = 0; k < width; k++) src[k * n + i] = vals[i * width + k];
    CHECK_OK(lsql_bss_decode(width, src, n * width, n, out, &err), err);
    CHECK(memcmp(out, vals, n * width) == 0);
    CHECK_FAILS(lsql_bss_decode(width, src, n * width - 1, n, out, &err), LSQL_ECORRUPT,
                "but the buffer has", err);
    free(vals);
    free(src);
    free(out);
  }
  CHECK_OK(lsql_bss_decode(4, NULL, 0, 0, NULL, &err), err);
  CHECK_FAILS(lsql_bss_decode(0, NULL, 0, 0, NULL, &err), LSQL_ECORRUPT, "not supported", err);
}

/* Widths 4 and 8 take 16 values at a time: short inputs and every tail length. */
LSQL_TEST(bss_vector_tails) {
  lsql_error err = {0};
  uint64_t s = 7;
  for (unsigned width = 4; width <= 8; width += 4)
    for (size_t n = 0; n <= 50; n++) {
      uint8_t vals[50 * 8], src[50 * 8], out[50 * 8 + 1];
      for (size_t i = 0; i < n * width; i++) vals[i] = (uint8_t)splitmix(&s);
      for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < width; k++) src[k * n + i] = vals[i * width + k];
      out[n * width] = 0xA5;
      CHECK_OK(lsql_bss_decode(width, src, n * width, n, out, &err), err);
      CHECK(memcmp(out, vals, n * width) == 0);
      CHECK(out[n * width] == 0xA5); /* nothing written past the values */
    }
}

/* ---- FSST --------------------------------------------------------------------------------- */

#define N_FSST_STRS (LSQL_ARRAY_LEN(FSST_PLAIN_OFFSETS) - 1)

LSQL_TEST(fsst_decodes_fsst_rs_output) {
  lsql_error err = {0};
  lsql_fsst_table t;
  CHECK_OK(lsql_fsst_table_parse(FSST_TABLE, sizeof FSST_TABLE, &t, &err), err);
  CHECK(t.compressed);
  CHECK(t.n_symbols > 0 && t.n_symbols < 255);
  lsql_buf out = LSQL_BUF_INIT;
  CHECK(lsql_buf_append(&out, "xyz", 3) == LSQL_OK); /* output is appended */
  uint64_t offs[N_FSST_STRS + 1];
  CHECK_OK(lsql_fsst_decode(&t, 32, FSST_COMPRESSED_OFFSETS, FSST_COMPRESSED,
                            sizeof FSST_COMPRESSED, N_FSST_STRS, &out, offs, &err),
           err);
  CHECK_EQ_INT(out.len, 3 + FSST_PLAIN_OFFSETS[N_FSST_STRS]);
  CHECK(memcmp(out.data + 3, FSST_PLAIN, FSST_PLAIN_OFFSETS[N_FSST_STRS]) == 0);
  for (size_t i = 0; i <= N_FSST_STRS; i++) CHECK_EQ_INT(offs[i], 3 + FSST_PLAIN_OFFSETS[i]);
  /* 64-bit input offsets, a sub-range starting at string 2 */
  uint64_t in64[N_FSST_STRS + 1];
  for (size_t i = 0; i <= N_FSST_STRS; i++) in64[i] = FSST_COMPRESSED_OFFSETS[i];
  out.len = 0;
  CHECK_OK(lsql_fsst_decode(&t, 64, in64 + 2, FSST_COMPRESSED, sizeof FSST_COMPRESSED,
                            N_FSST_STRS - 2, &out, offs, &err),
           err);
  CHECK_EQ_INT(out.len, FSST_PLAIN_OFFSETS[N_FSST_STRS] - FSST_PLAIN_OFFSETS[2]);
  CHECK(memcmp(out.data, FSST_PLAIN + FSST_PLAIN_OFFSETS[2], out.len) == 0);
  CHECK_EQ_INT(offs[0], 0);
  lsql_buf_free(&out);
}

static void make_table(uint8_t *tab, unsigned n, bool compressed) {
  memset(tab, 0, 2312);
  lsql_store_le64(tab, (UINT64_C(0x46535354) << 32) | ((uint64_t)compressed << 24) | n);
  for (unsigned i = 0; i < n; i++) {
    uint64_t sym = 0;
    for (unsigned b = 0; b <= i % 8; b++) sym |= (uint64_t)('a' + i % 26) << (8 * b);
    lsql_store_le64(tab + 8 + 8 * i, sym);
    tab[8 + 8 * n + i] = (uint8_t)(i % 8 + 1);
  }
}

LSQL_TEST(fsst_escapes_and_errors) {
  lsql_error err = {0};
  uint8_t tab[2312];
  lsql_fsst_table t;
  make_table(tab, 3, true); /* 0:"a" 1:"bb" 2:"ccc" */
  CHECK_OK(lsql_fsst_table_parse(tab, sizeof tab, &t, &err), err);
  /* codes: "a", ESC 'Z', "ccc", ESC 0xFF, "bb" x4 (fast path), ESC at a 4-byte boundary */
  const uint8_t in[] = {0, 255, 'Z', 2, 255, 0xFF, 1, 1, 1, 1, 0, 0, 0, 255, '!', 2};
  uint32_t offs[3] = {0, 6, sizeof in};
  lsql_buf out = LSQL_BUF_INIT;
  uint64_t oo[3];
  CHECK_OK(lsql_fsst_decode(&t, 32, offs, in, sizeof in, 2, &out, oo, &err), err);
  const char want[] = "aZccc\xff" "bbbbbbbbaaa!ccc";
  CHECK_EQ_INT(out.len, sizeof want - 1);
  CHECK(memcmp(out.data, want, sizeof want - 1) == 0);
  CHECK(oo[0] == 0 && oo[1] == 6 && oo[2] == sizeof want - 1);
  /* errors */
  const uint8_t bad_code[] = {0, 7};
  uint32_t o2[2] = {0, 2};
  CHECK_FAILS(lsql_fsst_decode(&t, 32, o2, bad_code, 2, 1, &out, oo, &err), LSQL_ECORRUPT,
              "fsst: string 0: code 7 >= 3 symbols", err);
  const uint8_t trailing_esc[] = {0, 255};
  CHECK_FAILS(lsql_fsst_decode(&t, 32, o2, trailing_esc, 2, 1, &out, oo, &err), LSQL_ECORRUPT,
              "string 0 ends with an escape code", err);
  const uint8_t two[] = {0, 0};
  uint32_t o3[3] = {0, 2, 1};
  CHECK_FAILS(lsql_fsst_decode(&t, 32, o3, two, 2, 2, &out, oo, &err), LSQL_ECORRUPT,
              "string 1 spans bytes 2..1", err);
  uint32_t o4[2] = {0, 3};
  CHECK_FAILS(lsql_fsst_decode(&t, 32, o4, two, 2, 1, &out, oo, &err), LSQL_ECORRUPT,
              "spans bytes 0..3 of 2", err);
  CHECK_FAILS(lsql_fsst_decode(&t, 16, o4, trailing_esc, 2, 1, &out, oo, &err), LSQL_ECORRUPT,
              "offset width 16", err);
  /* malformed tables */
  CHECK_FAILS(lsql_fsst_table_parse(tab, 2311, &t, &err), LSQL_ECORRUPT,
              "symbol table is 2311 bytes, expected 2312", err);
  tab[8 + 8 * 3 + 1] = 9;
  CHECK_FAILS(lsql_fsst_table_parse(tab, sizeof tab, &t, &err), LSQL_ECORRUPT,
              "symbol 1 has length 9", err);
  tab[7] = 0;
  CHECK_FAILS(lsql_fsst_table_parse(tab, sizeof tab, &t, &err), LSQL_ECORRUPT, "magic", err);
  /* not compressed: bytes copied, offsets rebased */
  make_table(tab, 0, false);
  CHECK_OK(lsql_fsst_table_parse(tab, sizeof tab, &t, &err), err);
  CHECK(!t.compressed);
  out.len = 0;
  uint32_t o5[3] = {1, 3, 6};
  CHECK_OK(lsql_fsst_decode(&t, 32, o5, (const uint8_t *)"xhello", 6, 2, &out, oo, &err), err);
  CHECK(out.len == 5 && memcmp(out.data, "hello", 5) == 0);
  CHECK(oo[0] == 0 && oo[1] == 2 && oo[2] == 5);
  lsql_buf_free(&out);
}

/* ---- general compression ------------------------------------------------------------------ */

LSQL_TEST(zstd_with_and_without_prefix) {
  lsql_error err = {0};
  size_t n = 100000;
  uint8_t *plain = malloc(n);
  for (size_t i = 0; i < n; i++) plain[i] = (uint8_t)(i % 251 ^ (i >> 9));
  size_t cap = ZSTD_compressBound(n) + 8;
  uint8_t *z = malloc(cap);
  size_t zn = ZSTD_compress(z + 8, cap - 8, plain, n, 3);
  CHECK(!ZSTD_isError(zn));
  lsql_store_le64(z, n);
  lsql_buf out = LSQL_BUF_INIT;
  CHECK_OK(lsql_decompress(LSQL_CODEC_ZSTD, z, zn + 8, n, &out, &err), err);
  CHECK(out.len == n && memcmp(out.data, plain, n) == 0);
  out.len = 0; /* bare frame */
  CHECK_OK(lsql_decompress(LSQL_CODEC_ZSTD, z + 8, zn, n, &out, &err), err);
  CHECK(out.len == n && memcmp(out.data, plain, n) == 0);
  out.len = 0;
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_ZSTD, z + 8, zn, n - 1, &out, &err), LSQL_ECORRUPT,
              "exceeds the limit", err);
  CHECK_EQ_INT(out.len, 0);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_ZSTD, z, zn + 8, n - 1, &out, &err), LSQL_ECORRUPT,
              "uncompressed length 100000 exceeds the limit", err);
  lsql_store_le64(z, n + 1);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_ZSTD, z, zn + 8, SIZE_MAX, &out, &err), LSQL_ECORRUPT,
              "frame decompressed to 100000 bytes but the prefix says 100001", err);
  lsql_store_le64(z, n - 1);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_ZSTD, z, zn + 8, SIZE_MAX, &out, &err), LSQL_ECORRUPT,
              "zstd: ", err);
  lsql_store_le64(z, n);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_ZSTD, z, zn + 8 - 5, SIZE_MAX, &out, &err),
              LSQL_ECORRUPT, "zstd: ", err);
  out.len = 0;
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_ZSTD, z + 8, zn - 5, SIZE_MAX, &out, &err),
              LSQL_ECORRUPT, "zstd: ", err);
  CHECK_EQ_INT(out.len, 0);
  CHECK_OK(lsql_decompress(LSQL_CODEC_ZSTD, z, 0, 10, &out, &err), err);
  CHECK_EQ_INT(out.len, 0);
  /* empty input, prefixed */
  uint8_t ez[64];
  size_t ezn = ZSTD_compress(ez + 8, sizeof ez - 8, "", 0, 1);
  lsql_store_le64(ez, 0);
  CHECK_OK(lsql_decompress(LSQL_CODEC_ZSTD, ez, ezn + 8, 0, &out, &err), err);
  CHECK_EQ_INT(out.len, 0);
  lsql_buf_free(&out);
  free(plain);
  free(z);
}

LSQL_TEST(lz4_and_none) {
  lsql_error err = {0};
  const int n = 50000;
  char *plain = malloc(n);
  for (int i = 0; i < n; i++) plain[i] = (char)("lance"[i % 5] + (i >> 12));
  int cap = LZ4_compressBound(n) + 4;
  uint8_t *c = malloc(cap);
  int cn = LZ4_compress_default(plain, (char *)c + 4, n, cap - 4);
  CHECK(cn > 0);
  lsql_store_le32(c, (uint32_t)n);
  lsql_buf out = LSQL_BUF_INIT;
  CHECK_OK(lsql_decompress(LSQL_CODEC_LZ4, c, (size_t)cn + 4, (size_t)n, &out, &err), err);
  CHECK(out.len == (size_t)n && memcmp(out.data, plain, n) == 0);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_LZ4, c, (size_t)cn + 4, (size_t)n - 1, &out, &err),
              LSQL_ECORRUPT, "uncompressed size 50000 exceeds the limit", err);
  lsql_store_le32(c, (uint32_t)n + 1);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_LZ4, c, (size_t)cn + 4, SIZE_MAX, &out, &err),
              LSQL_ECORRUPT, "lz4: block decompressed to 50000 bytes but the prefix says 50001", err);
  lsql_store_le32(c, (uint32_t)n);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_LZ4, c, (size_t)cn + 4 - 3, SIZE_MAX, &out, &err),
              LSQL_ECORRUPT, "lz4: malformed block", err);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_LZ4, c, 3, SIZE_MAX, &out, &err), LSQL_ECORRUPT,
              "too short for the size prefix", err);
  out.len = 0;
  CHECK_OK(lsql_decompress(LSQL_CODEC_NONE, (const uint8_t *)"abc", 3, 3, &out, &err), err);
  CHECK(out.len == 3 && memcmp(out.data, "abc", 3) == 0);
  CHECK_FAILS(lsql_decompress(LSQL_CODEC_NONE, (const uint8_t *)"abc", 3, 2, &out, &err),
              LSQL_ECORRUPT, "exceeds the limit", err);
  CHECK_EQ_INT(lsql_codec_from_name("zstd"), LSQL_CODEC_ZSTD);
  CHECK_EQ_INT(lsql_codec_from_name("lz4"), LSQL_CODEC_LZ4);
  CHECK_EQ_INT(lsql_codec_from_name("none"), LSQL_CODEC_NONE);
  CHECK_EQ_INT(lsql_codec_from_name(""), LSQL_CODEC_NONE);
  CHECK_EQ_INT(lsql_codec_from_name("gzip"), -1);
  lsql_buf_free(&out);
  free(plain);
  free(c);
}
