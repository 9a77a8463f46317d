/* Unit tests of the file layer: logical types, schema building and Arrow export, and reading
 * data files (fuzz corpus files, plus the fixture files when they exist) in whole, in uneven
 * ranges and as row lists: every selection must print exactly like the same rows of a full read. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "harness.h"
#include "util/arrow.h"

/* ---- logical types ---------------------------------------------------------------------------- */

/* Parses into a one-field schema (freed at the next call) so nothing leaks. */
static lsql_field parse(const char *lt, int *rc) {
  static lsql_schema s;
  lsql_schema_free(&s);
  s.fields = calloc(1, sizeof(lsql_field));
  s.n_fields = 1;
  lsql_error err = {0};
  *rc = lsql_logical_type_parse(lt, &s.fields[0], &err);
  return s.fields[0];
}

LSQL_TEST(logical_types_parse) {
  int rc;
  lsql_field f = parse("timestamp:us:+08:00", &rc);
  CHECK_EQ_INT(rc, LSQL_OK);
  CHECK_EQ_INT(f.type, LSQL_TYPE_TIMESTAMP);
  CHECK_EQ_INT(f.time_unit, LSQL_UNIT_US);
  CHECK(f.timezone && !strcmp(f.timezone, "+08:00"));
  f = parse("timestamp:ns:-", &rc);
  CHECK(rc == LSQL_OK && f.timezone == NULL);
  f = parse("decimal:256:40:-3", &rc);
  CHECK(rc == LSQL_OK && f.type == LSQL_TYPE_DECIMAL256 && f.precision == 40 && f.scale == -3);
  f = parse("dict:string:int16:false", &rc);
  CHECK(rc == LSQL_OK && f.type == LSQL_TYPE_DICTIONARY && f.dict_index == LSQL_TYPE_INT16 && f.n_children == 1);
  CHECK(f.children && f.children[0].type == LSQL_TYPE_UTF8);
  f = parse("fixed_size_list:fixed_size_list:float:2:3", &rc);
  CHECK(rc == LSQL_OK && f.type == LSQL_TYPE_FIXED_SIZE_LIST && f.width == 3);
  CHECK(f.n_children == 1 && f.children[0].type == LSQL_TYPE_FIXED_SIZE_LIST && f.children[0].width == 2);
  f = parse("fixed_size_list:lance.bfloat16:4", &rc);
  CHECK(rc == LSQL_OK && f.children[0].type == LSQL_TYPE_FIXED_SIZE_BINARY && f.children[0].width == 2);
  parse("fancy", &rc);
  CHECK_EQ_INT(rc, LSQL_EUNSUPPORTED);
  parse("fixed_size_binary:-1", &rc);
  CHECK_EQ_INT(rc, LSQL_EUNSUPPORTED);
  parse("decimal:64:3:1", &rc);
  CHECK_EQ_INT(rc, LSQL_EUNSUPPORTED);
  parse("int8", &rc); /* releases the last parse */
}

LSQL_TEST(schema_build_and_arrow) {
  const char *k[] = {"lance-encoding:compression"};
  const uint8_t *v[] = {(const uint8_t *)"zstd"};
  size_t vl[] = {4};
  lsql_pb_field pf[] = {
      {"id", 0, -1, "int64", false, "", 0, NULL, NULL, NULL},
      {"tags", 1, -1, "list", true, "", 1, k, v, vl},
      {"element", 2, 1, "string", true, "", 0, NULL, NULL, NULL},
      {"m", 3, -1, "map", true, "", 0, NULL, NULL, NULL},
      {"entries", 4, 3, "struct", false, "", 0, NULL, NULL, NULL},
      {"key", 5, 4, "string", false, "", 0, NULL, NULL, NULL},
      {"value", 6, 4, "int32", true, "", 0, NULL, NULL, NULL},
      {"vec", 7, -1, "fixed_size_list:float:8", true, "", 0, NULL, NULL, NULL},
  };
  lsql_schema s;
  lsql_error err = {0};
  CHECK_OK(lsql_schema_build(pf, 8, &s, &err), err);
  CHECK_EQ_INT(s.n_fields, 4);
  CHECK_EQ_INT(lsql_schema_max_id(&s), 7);
  CHECK(lsql_schema_find_id(&s, 6) && !strcmp(lsql_schema_find_id(&s, 6)->name, "value"));
  struct ArrowSchema a;
  CHECK_OK(lsql_schema_to_arrow(&s, &a, &err), err);
  if (a.release) {
    CHECK(!strcmp(a.children[1]->format, "+l"));
    CHECK(!strcmp(a.children[1]->children[0]->name, "element"));
    CHECK(a.children[1]->metadata != NULL);
    CHECK(!strcmp(a.children[2]->format, "+m"));
    CHECK(!strcmp(a.children[3]->format, "+w:8"));
    CHECK(!strcmp(a.children[3]->children[0]->name, "item"));
    CHECK(a.children[3]->children[0]->flags & ARROW_FLAG_NULLABLE);
    CHECK(!(a.children[0]->flags & ARROW_FLAG_NULLABLE));
    a.release(&a);
  }
  lsql_schema_free(&s);
  /* dangling parent */
  lsql_pb_field bad[] = {{"x", 1, 9, "int32", true, "", 0, NULL, NULL, NULL}};
  CHECK_FAILS(lsql_schema_build(bad, 1, &s, &err), LSQL_ECORRUPT, "parent", err);
  lsql_pb_field dup[] = {{"x", 1, -1, "int32", true, "", 0, NULL, NULL, NULL}, {"y", 1, -1, "int32", true, "", 0, NULL, NULL, NULL}};
  CHECK_FAILS(lsql_schema_build(dup, 2, &s, &err), LSQL_ECORRUPT, "duplicate", err);
}

/* ---- canonical row printing --------------------------------------------------------------------- */

static void print_value(const lsql_field *f, const struct ArrowArray *a, int64_t i, lsql_buf *o);

static bool is_null(const struct ArrowArray *a, int64_t i) {
  if (a->n_buffers == 0) return true; /* null type */
  const uint8_t *v = a->buffers[0];
  return v && !lsql_bit_get(v, (uint64_t)(i + a->offset));
}

static int byte_width(const lsql_field *f) {
  switch (f->type) {
    case LSQL_TYPE_INT8: case LSQL_TYPE_UINT8: return 1;
    case LSQL_TYPE_INT16: case LSQL_TYPE_UINT16: case LSQL_TYPE_FLOAT16: return 2;
    case LSQL_TYPE_INT32: case LSQL_TYPE_UINT32: case LSQL_TYPE_FLOAT32: case LSQL_TYPE_DATE32: case LSQL_TYPE_TIME32: return 4;
    case LSQL_TYPE_DECIMAL128: return 16;
    case LSQL_TYPE_DECIMAL256: return 32;
    case LSQL_TYPE_FIXED_SIZE_BINARY: return f->width;
    default: return 8;
  }
}

static void print_value(const lsql_field *f, const struct ArrowArray *a, int64_t i, lsql_buf *o) {
  if (is_null(a, i)) { lsql_buf_append_str(o, "null"); return; }
  int64_t j = i + a->offset;
  if (f->blob && f->type != LSQL_TYPE_STRUCT) {
    const uint64_t *p = a->children[0]->buffers[1], *s = a->children[1]->buffers[1];
    lsql_buf_appendf(o, "blob(%llu,%llu)", (unsigned long long)p[j], (unsigned long long)s[j]);
    return;
  }
  switch (f->type) {
    case LSQL_TYPE_BOOL: lsql_buf_append_str(o, lsql_bit_get(a->buffers[1], (uint64_t)j) ? "T" : "F"); return;
    case LSQL_TYPE_UTF8: case LSQL_TYPE_BINARY: case LSQL_TYPE_LARGE_UTF8: case LSQL_TYPE_LARGE_BINARY: {
      bool large = f->type == LSQL_TYPE_LARGE_UTF8 || f->type == LSQL_TYPE_LARGE_BINARY;
      int64_t s = large ? ((const int64_t *)a->buffers[1])[j] : ((const int32_t *)a->buffers[1])[j];
      int64_t e = large ? ((const int64_t *)a->buffers[1])[j + 1] : ((const int32_t *)a->buffers[1])[j + 1];
      lsql_buf_append_str(o, "'");
      for (int64_t k = s; k < e; k++) lsql_buf_appendf(o, "%02x", ((const uint8_t *)a->buffers[2])[k]);
      lsql_buf_append_str(o, "'");
      return;
    }
    case LSQL_TYPE_STRUCT:
      lsql_buf_append_str(o, "{");
      for (size_t c = 0; c < f->n_children; c++) {
        if (c) lsql_buf_append_str(o, ",");
        print_value(&f->children[c], a->children[c], j, o);
      }
      lsql_buf_append_str(o, "}");
      return;
    case LSQL_TYPE_LIST: case LSQL_TYPE_LARGE_LIST: case LSQL_TYPE_MAP: {
      bool large = f->type == LSQL_TYPE_LARGE_LIST;
      int64_t s = large ? ((const int64_t *)a->buffers[1])[j] : ((const int32_t *)a->buffers[1])[j];
      int64_t e = large ? ((const int64_t *)a->buffers[1])[j + 1] : ((const int32_t *)a->buffers[1])[j + 1];
      lsql_buf_append_str(o, "[");
      for (int64_t k = s; k < e; k++) {
        if (k > s) lsql_buf_append_str(o, ",");
        print_value(&f->children[0], a->children[0], k, o);
      }
      lsql_buf_append_str(o, "]");
      return;
    }
    case LSQL_TYPE_FIXED_SIZE_LIST:
      lsql_buf_append_str(o, "<");
      for (int64_t k = 0; k < f->width; k++) {
        if (k) lsql_buf_append_str(o, ",");
        print_value(&f->children[0], a->children[0], j * f->width + k, o);
      }
      lsql_buf_append_str(o, ">");
      return;
    case LSQL_TYPE_DICTIONARY: {
      int w = byte_width(&(lsql_field){.type = f->dict_index});
      int64_t k = 0;
      memcpy(&k, (const uint8_t *)a->buffers[1] + j * w, (size_t)w);
      print_value(&f->children[0], a->dictionary, k, o);
      return;
    }
    default: {
      int w = byte_width(f);
      const uint8_t *p = (const uint8_t *)a->buffers[1] + j * w;
      for (int k = 0; k < w; k++) lsql_buf_appendf(o, "%02x", p[k]);
    }
  }
}

static char *print_rows(const lsql_field *f, const struct ArrowArray *a, int64_t from, int64_t n) {
  lsql_buf o = LSQL_BUF_INIT;
  for (int64_t i = from; i < from + n; i++) {
    print_value(f, a, i, &o);
    lsql_buf_append_str(&o, "\n");
  }
  lsql_buf_append(&o, "", 1);
  return (char *)o.data;
}

/* Reads one file: every field whole, then in uneven ranges, then as a row list. */
static void check_file(const char *path) {
  lsql_store *st = NULL;
  lsql_file *f = NULL;
  lsql_error err = {0};
  CHECK_OK(lsql_store_open(path, NULL, &st, &err), err);
  if (!st) return;
  int rc = lsql_file_open(st, path, 0, &f, &err);
  if (rc == LSQL_EUNSUPPORTED) { lsql_store_unref(st); return; }
  CHECK_OK(rc, err);
  if (!f) { lsql_store_unref(st); return; }
  lsql_column_map map;
  CHECK_OK(lsql_file_default_column_map(f, &map, &err), err);
  const lsql_schema *s = lsql_file_schema(f);
  uint64_t rows = lsql_file_num_rows(f);
  for (size_t i = 0; i < s->n_fields; i++) {
    const lsql_field *fl = &s->fields[i];
    lsql_field_reader *r = NULL;
    rc = lsql_field_reader_new(f, fl, &map, &r, &err);
    if (rc != LSQL_OK) { fprintf(stderr, "%s: %s: %s\n", path, fl->name, err.message); lsql_test_failures++; continue; }
    struct ArrowArray full;
    lsql_row_selection all = {0, rows, NULL};
    rc = lsql_field_reader_read(r, &all, &full, &err);
    if (rc != LSQL_OK) {
      fprintf(stderr, "%s: %s: %s\n", path, fl->name, err.message);
      lsql_test_failures++;
      lsql_field_reader_free(r);
      continue;
    }
    CHECK_EQ_INT(full.length, (int64_t)rows);
    char *expect = print_rows(fl, &full, 0, (int64_t)rows);
    /* uneven ranges through a fresh reader (pages are decoded once, in order) */
    lsql_field_reader *r2 = NULL;
    CHECK_OK(lsql_field_reader_new(f, fl, &map, &r2, &err), err);
    lsql_buf got = LSQL_BUF_INIT;
    uint64_t step = 1, at = 0;
    while (r2 && at < rows) {
      uint64_t n = LSQL_MIN(step, rows - at);
      lsql_row_selection sel = {at, n, NULL};
      struct ArrowArray part;
      rc = lsql_field_reader_read(r2, &sel, &part, &err);
      if (rc != LSQL_OK) { fprintf(stderr, "%s: %s: range: %s\n", path, fl->name, err.message); lsql_test_failures++; break; }
      char *t = print_rows(fl, &part, 0, part.length);
      lsql_buf_append_str(&got, t);
      free(t);
      part.release(&part);
      at += n;
      step = step * 3 + 1;
    }
    lsql_buf_append(&got, "", 1);
    if (at == rows && strcmp((char *)got.data, expect) != 0) {
      fprintf(stderr, "%s: %s: ranged read differs\n", path, fl->name);
      lsql_test_failures++;
    }
    lsql_buf_free(&got);
    /* a row list: every third row plus the last */
    int maj, min;
    lsql_file_version(f, &maj, &min);
    if (rows > 0) {
      uint64_t *ids = malloc(sizeof(uint64_t) * (rows / 3 + 2));
      uint64_t k = 0;
      for (uint64_t x = 0; x < rows; x += 3) ids[k++] = x;
      if (ids[k - 1] != rows - 1) ids[k++] = rows - 1;
      lsql_row_selection sel = {0, k, ids};
      struct ArrowArray part;
      rc = lsql_field_reader_read(r, &sel, &part, &err);
      CHECK_OK(rc, err);
      if (rc == LSQL_OK) {
        lsql_buf want = LSQL_BUF_INIT, have = LSQL_BUF_INIT;
        for (uint64_t x = 0; x < k; x++) {
          char *a = print_rows(fl, &full, (int64_t)ids[x], 1), *b = print_rows(fl, &part, (int64_t)x, 1);
          lsql_buf_append_str(&want, a);
          lsql_buf_append_str(&have, b);
          free(a);
          free(b);
        }
        lsql_buf_append(&want, "", 1);
        lsql_buf_append(&have, "", 1);
        if (strcmp((char *)want.data, (char *)have.data)) {
          fprintf(stderr, "%s: %s: row-list read differs\n", path, fl->name);
          lsql_test_failures++;
        }
        lsql_buf_free(&want);
        lsql_buf_free(&have);
        part.release(&part);
      }
      free(ids);
    }
    free(expect);
    full.release(&full);
    lsql_field_reader_free(r2);
    lsql_field_reader_free(r);
  }
  /* out-of-range selections are refused */
  if (s->n_fields) {
    lsql_field_reader *r = NULL;
    if (lsql_field_reader_new(f, &s->fields[0], &map, &r, &err) == LSQL_OK) {
      lsql_row_selection sel = {rows, 1, NULL};
      struct ArrowArray a;
      CHECK_FAILS(lsql_field_reader_read(r, &sel, &a, &err), LSQL_EINVAL, "outside", err);
      lsql_field_reader_free(r);
    }
  }
  lsql_buf desc = LSQL_BUF_INIT;
  CHECK_OK(lsql_file_describe_json(f, &desc, &err), err);
  lsql_buf_free(&desc);
  lsql_free((void *)map.col_by_field_id);
  lsql_file_close(f);
  lsql_store_unref(st);
}

static int check_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 6 || strcmp(e->d_name + l - 6, ".lance")) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    check_file(path);
    n++;
  }
  closedir(d);
  return n;
}

LSQL_TEST(read_corpus_files) {
  int n = check_dir(LSQL_SOURCE_DIR "/fuzz/corpus/file_reader");
  CHECK(n >= 3);
}

LSQL_TEST(read_fixture_files) {
  const char *root = getenv("LSQL_FIXTURES");
  char dir[4096];
  static const char *vers[] = {"2.0", "2.1", "2.2"};
  for (int i = 0; i < 3; i++) {
    snprintf(dir, sizeof dir, "%s/files/%s", root ? root : LSQL_SOURCE_DIR "/build/fixtures", vers[i]);
    check_dir(dir);
  }
}

LSQL_TEST(open_errors) {
  lsql_store *st = NULL;
  lsql_file *f = NULL;
  lsql_error err = {0};
  char path[] = "/tmp/lsql_test_format_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  /* a legacy footer: ... major 0, minor 2, "LANC" */
  uint8_t buf[64] = {0};
  buf[60 - 4] = 0, buf[58 - 2] = 0;
  memcpy(buf + 60, "LANC", 4);
  buf[56] = 0; buf[57] = 0; buf[58] = 2; buf[59] = 0;
  FILE *fp = fdopen(fd, "wb");
  fwrite(buf, 1, sizeof buf, fp);
  fclose(fp);
  CHECK_OK(lsql_store_open(path, NULL, &st, &err), err);
  CHECK_FAILS(lsql_file_open(st, path, 0, &f, &err), LSQL_EUNSUPPORTED, "legacy", err);
  CHECK(strstr(err.message, path) != NULL);
  fp = fopen(path, "wb");
  fwrite("tiny", 1, 4, fp);
  fclose(fp);
  CHECK_FAILS(lsql_file_open(st, path, 0, &f, &err), LSQL_ECORRUPT, "too small", err);
  remove(path);
  lsql_store_unref(st);
}

/* A struct member missing from the file (added later) reads as nulls; the others as usual. */
LSQL_TEST(missing_sub_field_reads_null) {
  static const char *names[] = {"mixed_2_1.lance", "mixed_2_2.lance", "mixed_2_0.lance"};
  for (int k = 0; k < 3; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fuzz/corpus/file_reader/%s", LSQL_SOURCE_DIR, names[k]);
    lsql_store *st = NULL;
    lsql_file *f = NULL;
    lsql_error err = {0};
    if (lsql_store_open(path, NULL, &st, &err) != LSQL_OK) { lsql_test_failures++; continue; }
    CHECK_OK(lsql_file_open(st, path, 0, &f, &err), err);
    if (!f) { lsql_store_unref(st); continue; }
    const lsql_schema *s = lsql_file_schema(f);
    const lsql_field *fl = lsql_schema_find(s, k < 2 ? "st" : "l");
    CHECK(fl != NULL);
    lsql_column_map map;
    CHECK_OK(lsql_file_default_column_map(f, &map, &err), err);
    if (fl) {
      int32_t *m = (int32_t *)map.col_by_field_id;
      const lsql_field *gone = k < 2 ? &fl->children[1] : &fl->children[0];
      m[gone->id] = -1;
      lsql_field_reader *r = NULL;
      CHECK_OK(lsql_field_reader_new(f, fl, &map, &r, &err), err);
      lsql_row_selection sel = {0, lsql_file_num_rows(f), NULL};
      struct ArrowArray a;
      memset(&a, 0, sizeof a);
      if (r) CHECK_OK(lsql_field_reader_read(r, &sel, &a, &err), err);
      if (a.release) {
        CHECK_EQ_INT(a.length, (int64_t)lsql_file_num_rows(f));
        const struct ArrowArray *c = k < 2 ? a.children[1] : a.children[0];
        CHECK_EQ_INT(c->null_count, c->length);
        if (k < 2) CHECK(a.children[0]->length == a.length);
        a.release(&a);
      }
      lsql_field_reader_free(r);
      /* every column absent: refused, the table layer null-fills whole fields */
      for (size_t i = 0; i < map.n; i++) m[i] = -1;
      CHECK_FAILS(lsql_field_reader_new(f, fl, &map, &r, &err), LSQL_ENOTFOUND, "no column", err);
    }
    lsql_free((void *)map.col_by_field_id);
    lsql_file_close(f);
    lsql_store_unref(st);
  }
}
