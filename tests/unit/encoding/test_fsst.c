/* FSST decoder edge cases, and a differential test against a byte-at-a-time reference decoder
 * (groups of strings, long strings, escapes anywhere, 32/64-bit offsets, sub-ranges). */
#include <stdlib.h>

#include "../harness.h"
#include "format/encoding/kernels.h"
#include "../../../fuzz/fsst_ref.h"

static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* n symbols: symbol i has length i % 8 + 1, bytes derived from i. */
static void table_bytes(uint8_t *tab, unsigned n, bool compressed) {
  memset(tab, 0, 2312);
  lsql_store_le64(tab, (UINT64_C(0x46535354) << 32) | ((uint64_t)compressed << 24) | n);
  for (unsigned i = 0; i < n; i++) {
    uint64_t sym = 0;
    for (unsigned b = 0; b <= i % 8; b++) sym |= (uint64_t)((i * 7 + b * 13) & 0xff) << (8 * b);
    lsql_store_le64(tab + 8 + 8 * i, sym);
    tab[8 + 8 * n + i] = (uint8_t)(i % 8 + 1);
  }
}

/* Decodes strings [from, from + n) of offs with both decoders and compares. `expect_ok`: -1 to
 * accept either outcome as long as both agree. */
static void compare(const lsql_fsst_table *t, const uint64_t *offs, const uint8_t *in,
                    size_t in_len, size_t from, size_t n, unsigned bits, int expect_ok) {
  lsql_error err = {0};
  lsql_buf a = LSQL_BUF_INIT, b = LSQL_BUF_INIT;
  CHECK(lsql_buf_append(&a, "pre", 3) == LSQL_OK);
  CHECK(lsql_buf_append(&b, "pre", 3) == LSQL_OK);
  uint64_t *oa = calloc(n + 1, 8), *ob = calloc(n + 1, 8);
  void *io = malloc((n + 1) * 8);
  for (size_t i = 0; i <= n; i++) {
    if (bits == 32) lsql_store_le32((uint8_t *)io + 4 * i, (uint32_t)offs[from + i]);
    else lsql_store_le64((uint8_t *)io + 8 * i, offs[from + i]);
  }
  int rr = fsst_ref_decode(t, offs + from, in, in_len, n, &b, ob);
  int rc = lsql_fsst_decode(t, bits, io, in, in_len, n, &a, oa, &err);
  if (expect_ok == 1) CHECK_OK(rc, err);
  if (expect_ok == 0) CHECK(rc == LSQL_ECORRUPT);
  CHECK((rc == LSQL_OK) == (rr == 0));
  if (rc == LSQL_OK && rr == 0) {
    CHECK_EQ_INT(a.len, b.len);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(memcmp(oa, ob, (n + 1) * 8) == 0);
  } else if (rc != LSQL_OK) {
    CHECK_EQ_INT(a.len, 3); /* nothing appended on failure */
  }
  free(oa);
  free(ob);
  free(io);
  lsql_buf_free(&a);
  lsql_buf_free(&b);
}

LSQL_TEST(fsst_differential_random) {
  uint64_t seed = 42;
  uint8_t tab[2312];
  lsql_fsst_table t;
  lsql_error err = {0};
  const unsigned nsyms[] = {255, 200, 1, 254};
  for (unsigned round = 0; round < 160; round++) {
    const unsigned ns = nsyms[round % 4];
    table_bytes(tab, ns, true);
    CHECK_OK(lsql_fsst_table_parse(tab, sizeof tab, &t, &err), err);
    /* string lengths: mostly short, some empty, some longer than a 2048-byte group */
    const size_t n = 1 + rnd(&seed) % 700;
    uint64_t *offs = malloc((n + 1) * 8);
    size_t cap = 1 << 16, len = (size_t)(rnd(&seed) % 3);
    uint8_t *in = malloc(cap);
    memset(in, 0, len); /* junk before the first string */
    const unsigned esc_pct = round % 3 == 0 ? 0 : (unsigned)(rnd(&seed) % 30);
    for (size_t i = 0; i < n; i++) {
      offs[i] = len;
      uint64_t r = rnd(&seed) % 100;
      size_t sl = r < 10 ? 0 : r < 97 ? (size_t)(rnd(&seed) % 40) : 1500 + (size_t)(rnd(&seed) % 3000);
      if (len + sl + 2 > cap) sl = 0;
      for (size_t k = 0; k < sl; k++) {
        if (rnd(&seed) % 100 < esc_pct && k + 1 < sl) {
          in[len++] = 255;
          in[len++] = (uint8_t)rnd(&seed); /* any literal, 255 included */
          k++;
        } else {
          in[len++] = (uint8_t)(rnd(&seed) % ns);
        }
      }
    }
    offs[n] = len;
    const unsigned bits = round & 1 ? 64 : 32;
    compare(&t, offs, in, len, 0, n, bits, 1);
    const size_t from = (size_t)(rnd(&seed) % n);
    compare(&t, offs, in, len, from, n - from, bits, 1);
    compare(&t, offs, in, len, from, 0, bits, 1); /* empty range */
    if (len > 0) { /* corrupt one byte: either outcome, but both decoders must agree */
      const size_t at = (size_t)(rnd(&seed) % len);
      const uint8_t vals[] = {255, (uint8_t)ns, 254};
      in[at] = vals[rnd(&seed) % 3];
      compare(&t, offs, in, len, 0, n, bits, -1);
    }
    free(offs);
    free(in);
  }
}

LSQL_TEST(fsst_edge_cases) {
  uint8_t tab[2312];
  lsql_fsst_table t;
  lsql_error err = {0};
  table_bytes(tab, 10, true);
  CHECK_OK(lsql_fsst_table_parse(tab, sizeof tab, &t, &err), err);
  /* one string; empty strings; escapes first/last in a string and across the 4-code step */
  const uint8_t in[] = {255, 'A', 1, 2, 3, 4, 5, 255, 'B', /* s0 */
                        6, 7, 8, 255, 'C',                 /* s1 */
                        255, 255, 9,                       /* s2: escaped 0xFF */
                        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1 /* s3 */};
  const uint64_t o1[] = {0, 9, 9, 14, 14, 17, 17, sizeof in};
  for (size_t n = 0; n <= 7; n++) compare(&t, o1, in, sizeof in, 0, n, 32, 1);
  for (size_t f = 0; f <= 7; f++) compare(&t, o1, in, sizeof in, f, 7 - f, 64, 1);
  const uint64_t one[] = {2, 7};
  compare(&t, one, in, sizeof in, 0, 1, 32, 1);
  /* escape as the last byte of a string: first, middle and last string of a group */
  const uint64_t dangling[] = {0, 8, 9, 14, 14, 17, 17, sizeof in};
  compare(&t, dangling, in, sizeof in, 0, 7, 32, 0);
  const uint64_t dangling2[] = {0, 9, 13, 14};
  compare(&t, dangling2, in, sizeof in, 0, 3, 64, 0);
  compare(&t, dangling2, in, sizeof in, 0, 2, 64, 0);
  /* a string boundary between an escape and its literal, in a long string too */
  uint8_t big[5000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i % 10);
  big[4998] = 255;
  const uint64_t longs[] = {0, 4999, 5000};
  compare(&t, longs, big, sizeof big, 0, 2, 32, 0);
  compare(&t, longs, big, sizeof big, 0, 1, 32, 0);
  big[4998] = 3;
  big[0] = 255;
  compare(&t, longs, big, sizeof big, 0, 2, 32, 1);
  big[100] = 10; /* code >= n_symbols in a long string */
  CHECK_FAILS(lsql_fsst_decode(&t, 64, longs, big, sizeof big, 2, &(lsql_buf)LSQL_BUF_INIT,
                               (uint64_t[3]){0}, &err),
              LSQL_ECORRUPT, "string 0: code 10 >= 10 symbols", err);
  /* bad code in the third string of a group: the message names it */
  uint8_t bad[] = {0, 1, 2, 3, 4, 200, 5};
  const uint64_t ob[] = {0, 2, 4, 7};
  uint64_t oo[4];
  lsql_buf out = LSQL_BUF_INIT;
  CHECK_FAILS(lsql_fsst_decode(&t, 64, ob, bad, sizeof bad, 3, &out, oo, &err), LSQL_ECORRUPT,
              "string 2: code 200 >= 10 symbols", err);
  CHECK_EQ_INT(out.len, 0);
  const uint64_t dang_mid[] = {0, 13, 14, 17};
  CHECK_FAILS(lsql_fsst_decode(&t, 64, dang_mid, in, sizeof in, 3, &out, oo, &err),
              LSQL_ECORRUPT, "string 0 ends with an escape code", err);
  /* offsets decreasing inside a group, or past the end */
  const uint64_t dec[] = {0, 3, 5, 4, 7};
  CHECK_FAILS(lsql_fsst_decode(&t, 64, dec, bad, sizeof bad, 4, &out, oo, &err), LSQL_ECORRUPT,
              "string 2 spans bytes 5..4 of 7", err);
  const uint64_t past[] = {0, 3, 8};
  CHECK_FAILS(lsql_fsst_decode(&t, 64, past, bad, sizeof bad, 2, &out, oo, &err), LSQL_ECORRUPT,
              "string 1 spans bytes 3..8 of 7", err);
  const uint64_t start_past[] = {8, 8};
  CHECK_FAILS(lsql_fsst_decode(&t, 64, start_past, bad, sizeof bad, 1, &out, oo, &err),
              LSQL_ECORRUPT, "offset 0 is 8", err);
  const uint64_t huge[] = {0, UINT64_MAX};
  CHECK_FAILS(lsql_fsst_decode(&t, 64, huge, bad, sizeof bad, 1, &out, oo, &err), LSQL_ECORRUPT,
              "spans bytes", err);
  /* a table of 0 symbols: any code is corrupt, empty strings are fine */
  table_bytes(tab, 0, true);
  CHECK_OK(lsql_fsst_table_parse(tab, sizeof tab, &t, &err), err);
  const uint64_t empties[] = {1, 1, 1};
  compare(&t, empties, bad, sizeof bad, 0, 2, 32, 1);
  compare(&t, ob, bad, sizeof bad, 0, 3, 32, 0);
  /* uncompressed: verbatim, 64-bit offsets, sub-range; decreasing offsets rejected */
  table_bytes(tab, 0, false);
  CHECK_OK(lsql_fsst_table_parse(tab, sizeof tab, &t, &err), err);
  out.len = 0;
  const uint64_t plain[] = {1, 3, 3, 6};
  CHECK_OK(lsql_fsst_decode(&t, 64, plain, (const uint8_t *)"xhello", 6, 3, &out, oo, &err), err);
  CHECK(out.len == 5 && memcmp(out.data, "hello", 5) == 0);
  CHECK(oo[0] == 0 && oo[1] == 2 && oo[2] == 2 && oo[3] == 5);
  const uint64_t plain_bad[] = {1, 3, 2};
  CHECK_FAILS(lsql_fsst_decode(&t, 64, plain_bad, (const uint8_t *)"xhello", 6, 2, &out, oo, &err),
              LSQL_ECORRUPT, "string 1 spans bytes 3..2", err);
  lsql_buf_free(&out);
}
