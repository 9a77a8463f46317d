/* Dictionary gathers (lsql_vals_gather): index checks, every fixed width, and strings at the end
 * of the dictionary's buffer (where the fixed 16/32-byte copies must not read past it). */
#include <stdlib.h>
#include <string.h>

#include "format/internal.h"
#include "harness.h"

/* A fixed-width dictionary of n values of w bytes: value i is bytes (i * 37 + k) & 0xff. */
static void fixed_dict(lsql_vals *d, size_t w, uint64_t n) {
  memset(d, 0, sizeof *d);
  d->bits = (uint32_t)(w * 8);
  for (uint64_t i = 0; i < n; i++)
    for (size_t k = 0; k < w; k++) {
      uint8_t b = (uint8_t)(i * 37 + k);
      lsql_buf_append(&d->data, &b, 1);
    }
  d->n = n;
}

/* A string dictionary from the given values; its data buffer is trimmed to its exact length so
 * that any read past the last value is out of bounds (ASan). */
static void str_dict(lsql_vals *d, const char *const *v, size_t n) {
  memset(d, 0, sizeof *d);
  d->var = true;
  uint64_t o = 0;
  lsql_buf_append(&d->offs, &o, 8);
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += strlen(v[i]);
  d->data.data = lsql_malloc(total ? total : 1);
  d->data.cap = total ? total : 1;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(v[i]);
    memcpy(d->data.data + d->data.len, v[i], l);
    d->data.len += l;
    o += l;
    lsql_buf_append(&d->offs, &o, 8);
  }
  d->n = n;
}

LSQL_TEST(gather_empty_dictionary_zero_rows) {
  lsql_error err = {0};
  lsql_vals dict = {.bits = 128}, out = {.bits = 128};
  CHECK_OK(lsql_vals_gather(&out, &dict, NULL, 0, &err), err);
  CHECK_EQ_INT(out.n, 0);
  CHECK_EQ_INT(out.data.len, 0);
  lsql_vals sd = {.var = true}, so = {.var = true};
  uint64_t z = 0;
  lsql_buf_append(&sd.offs, &z, 8);
  CHECK_OK(lsql_vals_gather(&so, &sd, NULL, 0, &err), err);
  CHECK_EQ_INT(so.n, 0);
  CHECK_EQ_INT(so.offs.len, 8); /* the leading 0 offset */
  /* empty fixed-width dictionary with rows: zeros (all-null rows) */
  uint32_t idx[3] = {5, 0, 9};
  CHECK_OK(lsql_vals_gather(&out, &dict, idx, 3, &err), err);
  CHECK_EQ_INT(out.n, 3);
  CHECK_EQ_INT(out.data.len, 48);
  bool zero = true;
  for (size_t i = 0; i < out.data.len; i++) zero &= out.data.data[i] == 0;
  CHECK(zero);
  /* empty string dictionary with rows: corrupt */
  CHECK_FAILS(lsql_vals_gather(&so, &sd, idx, 3, &err), LSQL_ECORRUPT, "dictionary index", err);
  lsql_vals_free(&out);
  lsql_vals_free(&so);
  lsql_vals_free(&sd);
}

LSQL_TEST(gather_index_equal_to_size_fails) {
  lsql_error err = {0};
  static const size_t widths[] = {1, 2, 4, 8, 16, 3};
  for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
    lsql_vals dict, out = {0};
    fixed_dict(&dict, widths[wi], 4);
    out.bits = dict.bits;
    uint32_t idx[5] = {0, 3, 1, 4, 2};
    CHECK_FAILS(lsql_vals_gather(&out, &dict, idx, 5, &err), LSQL_ECORRUPT, "4 >= 4", err);
    uint32_t big[1] = {UINT32_MAX};
    CHECK_FAILS(lsql_vals_gather(&out, &dict, big, 1, &err), LSQL_ECORRUPT, "dictionary index", err);
    lsql_vals_free(&dict);
    lsql_vals_free(&out);
  }
  const char *v[] = {"a", "bc"};
  lsql_vals sd, so = {.var = true};
  str_dict(&sd, v, 2);
  uint32_t idx[3] = {1, 2, 0};
  CHECK_FAILS(lsql_vals_gather(&so, &sd, idx, 3, &err), LSQL_ECORRUPT, "2 >= 2", err);
  lsql_vals_free(&sd);
  lsql_vals_free(&so);
}

LSQL_TEST(gather_fixed_widths) {
  lsql_error err = {0};
  static const size_t widths[] = {1, 2, 4, 8, 16, 3, 32};
  enum { N = 1000, D = 7 };
  uint32_t *idx = malloc(N * sizeof *idx);
  for (size_t i = 0; i < N; i++) idx[i] = (uint32_t)((i * 5 + i / 3) % D);
  for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
    size_t w = widths[wi];
    lsql_vals dict, out = {0};
    fixed_dict(&dict, w, D);
    out.bits = dict.bits;
    /* two gathers append to each other, like batches of one accumulator */
    CHECK_OK(lsql_vals_gather(&out, &dict, idx, 10, &err), err);
    CHECK_OK(lsql_vals_gather(&out, &dict, idx + 10, N - 10, &err), err);
    CHECK_EQ_INT(out.n, N);
    CHECK_EQ_INT(out.data.len, N * w);
    bool same = true;
    for (size_t i = 0; i < N; i++) same &= memcmp(out.data.data + i * w, dict.data.data + idx[i] * w, w) == 0;
    CHECK(same);
    lsql_vals_free(&dict);
    lsql_vals_free(&out);
  }
  free(idx);
}

static void check_strings(const lsql_vals *out, const char *const *v, const uint32_t *idx, size_t n) {
  const uint64_t *o = (const uint64_t *)out->offs.data;
  CHECK_EQ_INT(out->n, n);
  CHECK_EQ_INT(out->offs.len, (n + 1) * 8);
  CHECK_EQ_INT(o[0], 0);
  bool same = true;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(v[idx[i]]);
    same &= o[i + 1] - o[i] == l && memcmp(out->data.data + o[i], v[idx[i]], l) == 0;
  }
  CHECK(same);
  CHECK_EQ_INT(out->data.len, o[n]);
}

LSQL_TEST(gather_strings_at_dictionary_end) {
  lsql_error err = {0};
  static char s100[101], s17[18], s16[17], s15[16], s33[34];
  memset(s100, 'x', 100);
  for (int i = 0; i < 17; i++) s17[i] = (char)('a' + i);
  memcpy(s16, s17 + 1, 16);
  memcpy(s15, s17 + 2, 15);
  for (int i = 0; i < 33; i++) s33[i] = (char)('A' + i % 26);
  /* every length at the end of the buffer in turn */
  const char *lens[] = {"", "q", s15, s16, s17, s33, s100};
  size_t nl = sizeof lens / sizeof *lens;
  for (size_t last = 0; last < nl; last++) {
    const char *v[8];
    size_t nv = 0;
    for (size_t k = 0; k < nl; k++)
      if (k != last) v[nv++] = lens[k];
    v[nv++] = lens[last];
    /* few rows (direct reads) and many (a small dictionary is copied padded) */
    for (int many = 0; many < 2; many++) {
      size_t n = many ? 500 : 9;
      uint32_t idx[500];
      for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)((i * 3 + 1) % nv);
      idx[n - 1] = (uint32_t)(nv - 1);
      idx[0] = (uint32_t)(nv - 1);
      lsql_vals sd, so = {.var = true};
      str_dict(&sd, v, nv);
      CHECK_OK(lsql_vals_gather(&so, &sd, idx, n, &err), err);
      check_strings(&so, v, idx, n);
      lsql_vals_free(&sd);
      lsql_vals_free(&so);
    }
  }
  /* a one-value dictionary of a single 1-byte string */
  const char *one[] = {"z"};
  lsql_vals sd, so = {.var = true};
  str_dict(&sd, one, 1);
  uint32_t idx[100] = {0};
  CHECK_OK(lsql_vals_gather(&so, &sd, idx, 100, &err), err);
  check_strings(&so, one, idx, 100);
  /* appending to a non-empty output keeps absolute offsets */
  CHECK_OK(lsql_vals_gather(&so, &sd, idx, 3, &err), err);
  CHECK_EQ_INT(so.n, 103);
  CHECK_EQ_INT(((const uint64_t *)so.offs.data)[103], 103);
  lsql_vals_free(&sd);
  lsql_vals_free(&so);
}

LSQL_TEST(gather_checked_matches_checked_gather) {
  lsql_error err = {0};
  const char *v[] = {"MAIL", "SHIP", "AIR", "RAIL", "TRUCK", "REG AIR", "FOB"};
  lsql_vals sd, a = {.var = true}, b = {.var = true};
  str_dict(&sd, v, 7);
  uint32_t idx[300];
  for (size_t i = 0; i < 300; i++) idx[i] = (uint32_t)((i * 11) % 7);
  CHECK_OK(lsql_vals_gather(&a, &sd, idx, 300, &err), err);
  CHECK_OK(lsql_vals_gather_checked(&b, &sd, idx, 300, &err), err);
  CHECK(a.data.len == b.data.len && memcmp(a.data.data, b.data.data, a.data.len) == 0);
  CHECK(a.offs.len == b.offs.len && memcmp(a.offs.data, b.offs.data, a.offs.len) == 0);
  check_strings(&a, v, idx, 300);
  lsql_vals_free(&sd);
  lsql_vals_free(&a);
  lsql_vals_free(&b);
}
