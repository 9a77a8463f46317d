/* Dictionary batches (lsql_field_reader_set_dict_batches): string columns of dictionary-encoded
 * pages come out as dictionary arrays whose values, looked up, equal the plain reading, for
 * ranges crossing page boundaries and for row lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/internal.h"
#include "harness.h"
#include "util/arrow.h"

static bool valid_at(const struct ArrowArray *a, int64_t i) {
  const uint8_t *v = a->buffers[0];
  return !v || a->null_count == 0 || lsql_bit_get(v, (uint64_t)(a->offset + i));
}

/* Bytes of string i of a utf8/binary array (large: 64-bit offsets). */
static const uint8_t *str_at(const struct ArrowArray *a, bool large, int64_t i, size_t *len) {
  int64_t j = a->offset + i, b, e;
  if (large) b = ((const int64_t *)a->buffers[1])[j], e = ((const int64_t *)a->buffers[1])[j + 1];
  else b = ((const int32_t *)a->buffers[1])[j], e = ((const int32_t *)a->buffers[1])[j + 1];
  *len = (size_t)(e - b);
  return (const uint8_t *)a->buffers[2] + b;
}

/* Compares a dictionary-batch reading with the plain one; counts dictionary batches. */
static void compare(const lsql_field *fl, const struct ArrowArray *plain, const struct ArrowArray *got, int *n_dict) {
  bool large = fl->type == LSQL_TYPE_LARGE_UTF8 || fl->type == LSQL_TYPE_LARGE_BINARY;
  CHECK(plain->length == got->length);
  if (plain->length != got->length) return;
  const struct ArrowArray *d = got->dictionary;
  if (d) {
    (*n_dict)++;
    CHECK(got->n_buffers == 2 && d->n_buffers == 3 && d->length <= got->length / 2);
  }
  for (int64_t i = 0; i < got->length; i++) {
    bool v = valid_at(plain, i);
    CHECK(v == valid_at(got, i));
    if (!v) continue;
    size_t la, lb;
    const uint8_t *pa = str_at(plain, large, i, &la), *pb;
    if (d) {
      int32_t k = ((const int32_t *)got->buffers[1])[got->offset + i];
      CHECK(k >= 0 && k < d->length);
      if (k < 0 || k >= d->length) return;
      pb = str_at(d, large, k, &lb);
    } else pb = str_at(got, large, i, &lb);
    CHECK(la == lb && (la == 0 || !memcmp(pa, pb, la)));
    if (la != lb) return;
  }
}

static void check_file(const char *path, int *n_dict_total) {
  lsql_store *st = NULL;
  lsql_file *f = NULL;
  lsql_error err = {0};
  if (lsql_store_open(path, NULL, &st, &err) != LSQL_OK) return;
  if (lsql_file_open(st, path, 0, &f, &err) != LSQL_OK) { /* fixtures not generated */
    lsql_store_unref(st);
    return;
  }
  const lsql_schema *s = lsql_file_schema(f);
  lsql_column_map map;
  CHECK_OK(lsql_file_default_column_map(f, &map, &err), err);
  uint64_t rows = lsql_file_num_rows(f);
  uint64_t *list = malloc((size_t)rows * 8 + 8);
  for (size_t c = 0; c < s->n_fields; c++) {
    const lsql_field *fl = &s->fields[c];
    if (fl->type != LSQL_TYPE_UTF8 && fl->type != LSQL_TYPE_LARGE_UTF8 && fl->type != LSQL_TYPE_BINARY &&
        fl->type != LSQL_TYPE_LARGE_BINARY)
      continue;
    lsql_field_reader *rp = NULL, *rd = NULL;
    CHECK_OK(lsql_field_reader_new(f, fl, &map, &rp, &err), err);
    CHECK_OK(lsql_field_reader_new(f, fl, &map, &rd, &err), err);
    if (!rp || !rd) { lsql_field_reader_free(rp); lsql_field_reader_free(rd); continue; }
    lsql_field_reader_set_dict_batches(rd, true);
    static const uint64_t sizes[] = {3000, 777, 1, 5000};
    uint64_t at = 0;
    for (int k = 0; at < rows; k++) {
      uint64_t n = LSQL_MIN(sizes[k % 4], rows - at);
      lsql_row_selection sel = {at, n, NULL};
      if (k % 3 == 2) { /* a row list: every other row of the range */
        uint64_t m = 0;
        for (uint64_t r = at; r < at + n; r += 2) list[m++] = r;
        sel = (lsql_row_selection){0, m, list};
      }
      struct ArrowArray a = {0}, b = {0};
      CHECK_OK(lsql_field_reader_read(rp, &sel, &a, &err), err);
      CHECK_OK(lsql_field_reader_read(rd, &sel, &b, &err), err);
      if (a.release && b.release) compare(fl, &a, &b, n_dict_total);
      lsql_arrow_array_reset(&a);
      lsql_arrow_array_reset(&b);
      at += n;
    }
    lsql_field_reader_free(rp);
    lsql_field_reader_free(rd);
  }
  free(list);
  lsql_free((void *)map.col_by_field_id);
  lsql_file_close(f);
  lsql_store_unref(st);
}

LSQL_TEST(dict_batches_match_plain_reading) {
  const char *root = getenv("LSQL_FIXTURES");
  static const char *vers[] = {"2.1", "2.2"};
  int n_dict = 0;
  for (int i = 0; i < 2; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/files/%s/multipage.lance", root ? root : LSQL_SOURCE_DIR "/build/fixtures", vers[i]);
    check_file(path, &n_dict);
  }
  printf("  dictionary batches: %d\n", n_dict);
}
