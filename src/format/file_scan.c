/* lsql_file_scan / lsql_file_inspect: reading a standalone data file with its own schema. */
#include <stdio.h>

#include "format/internal.h"
#include "util/arrow.h"

#define SCAN_BATCH 8192

typedef struct scan_state {
  lsql_store *st;
  lsql_file *f;
  lsql_column_map map;
  size_t n_sel;
  const lsql_field **sel;
  lsql_field_reader **readers;
  uint64_t next_row;
  lsql_error err;
} scan_state;

static void scan_free(scan_state *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_sel; i++)
    if (s->readers) lsql_field_reader_free(s->readers[i]);
  lsql_free(s->readers);
  lsql_free(s->sel);
  lsql_free((void *)s->map.col_by_field_id);
  lsql_file_close(s->f);
  lsql_store_unref(s->st);
  lsql_free(s);
}

/* Legacy blob columns (2.0 blob columns, 2.1+ blob layout) read from a standalone file as their
 * bytes, like pylance's LanceFileReader; dataset scans return descriptions instead. */
static bool is_legacy_blob(const lsql_field *f) { return f->blob && f->type != LSQL_TYPE_STRUCT; }

/* Replaces a batch of blob descriptions (struct<position, size>, file offsets) by a large_binary
 * array of the blob bytes, all read with one lsql_rfile_read_ranges call. In 2.0 files a null
 * blob is the description (1, 0). */
static int blob_materialize(lsql_file *f, struct ArrowArray *a, lsql_error *err) {
  if (a->n_children != 2 || a->n_buffers < 1)
    return lsql_err_corrupt(err, "%s: blob descriptions: unexpected array shape", f->path);
  const struct ArrowArray *pc = a->children[0], *sc = a->children[1];
  uint64_t n = (uint64_t)a->length;
  const uint8_t *valid = a->null_count ? a->buffers[0] : NULL; /* NULL: all valid */
  const uint64_t *pos = (const uint64_t *)pc->buffers[1] + pc->offset + a->offset;
  const uint64_t *size = (const uint64_t *)sc->buffers[1] + sc->offset + a->offset;
  bool v20 = f->minor == 0;
  int64_t *offs = lsql_malloc((n + 1) * sizeof *offs);
  uint8_t *vout = lsql_calloc(lsql_bitmap_bytes(n) + 1, 1);
  lsql_range *rs = lsql_malloc((n ? n : 1) * sizeof *rs);
  uint8_t *data = NULL;
  int rc = offs && vout && rs ? LSQL_OK : lsql_err_oom(err);
  uint64_t total = 0, nr = 0;
  int64_t nulls = 0;
  for (uint64_t i = 0; rc == LSQL_OK && i < n; i++) {
    offs[i] = (int64_t)total;
    bool ok = !valid || lsql_bit_get(valid, (uint64_t)a->offset + i);
    if (ok && v20 && pos[i] == 1 && size[i] == 0) ok = false;
    if (!ok) { nulls++; continue; }
    lsql_bit_set(vout, i);
    if (lsql_range_bad(pos[i], size[i], f->size) || lsql_add_overflow_u64(total, size[i], &total) ||
        total > (uint64_t)INT64_MAX)
      rc = lsql_err_corrupt(err, "%s: blob %llu at %llu+%llu is outside the file (%llu bytes)", f->path,
                            (unsigned long long)i, (unsigned long long)pos[i], (unsigned long long)size[i],
                            (unsigned long long)f->size);
  }
  if (rc == LSQL_OK) {
    offs[n] = (int64_t)total;
    if (!(data = lsql_malloc(total ? total : 1))) rc = lsql_err_oom(err);
  }
  for (uint64_t i = 0; rc == LSQL_OK && i < n; i++)
    if (lsql_bit_get(vout, i) && size[i]) rs[nr++] = (lsql_range){pos[i], size[i], data + offs[i]};
  if (rc == LSQL_OK && nr) rc = lsql_rfile_read_ranges(f->rf, rs, nr, err);
  lsql_free(rs);
  struct ArrowArray out = {0};
  if (rc == LSQL_OK && lsql_arrow_array_init(&out, 3, 0) != LSQL_OK) rc = lsql_err_oom(err);
  if (rc != LSQL_OK) {
    lsql_free(offs);
    lsql_free(vout);
    lsql_free(data);
    return rc;
  }
  out.length = (int64_t)n;
  out.null_count = nulls;
  lsql_arrow_array_set_buffer(&out, 0, nulls ? vout : NULL);
  if (!nulls) lsql_free(vout);
  lsql_arrow_array_set_buffer(&out, 1, offs);
  lsql_arrow_array_set_buffer(&out, 2, data);
  lsql_arrow_array_reset(a);
  lsql_arrow_array_move(&out, a);
  return LSQL_OK;
}

static int stream_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  scan_state *s = st->private_data;
  if (lsql_arrow_schema_init(out, "+s", "", 0, (int64_t)s->n_sel) != LSQL_OK) return 12;
  for (size_t i = 0; i < s->n_sel; i++)
    if ((is_legacy_blob(s->sel[i]) ? lsql_field_to_arrow_declared(s->sel[i], out->children[i], &s->err)
                                   : lsql_field_to_arrow(s->sel[i], out->children[i], &s->err)) != LSQL_OK) {
      lsql_arrow_schema_reset(out);
      return 22;
    }
  const lsql_schema *sc = lsql_file_schema(s->f);
  if (sc->n_metadata)
    lsql_arrow_schema_set_metadata(out, sc->n_metadata, (const char *const *)sc->meta_keys,
                                   (const char *const *)sc->meta_values, sc->meta_value_lens);
  return 0;
}

static int stream_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  scan_state *s = st->private_data;
  memset(out, 0, sizeof *out);
  uint64_t total = lsql_file_num_rows(s->f);
  if (s->next_row >= total) return 0; /* end of stream: released array */
  uint64_t n = LSQL_MIN((uint64_t)SCAN_BATCH, total - s->next_row);
  if (lsql_arrow_array_init(out, 1, (int64_t)s->n_sel) != LSQL_OK) {
    lsql_err_oom(&s->err);
    return 12;
  }
  out->length = (int64_t)n;
  lsql_row_selection sel = {s->next_row, n, NULL};
  for (size_t i = 0; i < s->n_sel; i++) {
    if (lsql_field_reader_read(s->readers[i], &sel, out->children[i], &s->err) != LSQL_OK ||
        (is_legacy_blob(s->sel[i]) && blob_materialize(s->f, out->children[i], &s->err) != LSQL_OK)) {
      lsql_arrow_array_reset(out);
      return 5;
    }
  }
  s->next_row += n;
  return 0;
}

static const char *stream_error(struct ArrowArrayStream *st) {
  scan_state *s = st->private_data;
  return s && s->err.code ? s->err.message : NULL;
}

static void stream_release(struct ArrowArrayStream *st) {
  if (!st->release) return;
  scan_free(st->private_data);
  st->release = NULL;
}

static int open_file(const char *path, lsql_store **st, lsql_file **f, lsql_error *err) {
  char *norm = lsql_path_normalize(path);
  if (!norm) return lsql_err_oom(err);
  int rc = lsql_store_open(norm, NULL, st, err);
  if (rc == LSQL_OK) rc = lsql_file_open(*st, norm, 0, f, err);
  lsql_free(norm);
  return rc;
}

LSQL_API int lsql_file_scan(const char *path, const char *const *columns, struct ArrowArrayStream *out,
                            lsql_error *err) {
  memset(out, 0, sizeof *out);
  scan_state *s = lsql_calloc(1, sizeof *s);
  if (!s) return lsql_err_oom(err);
  int rc = open_file(path, &s->st, &s->f, err);
  if (rc != LSQL_OK) goto fail;
  const lsql_schema *sc = lsql_file_schema(s->f);
  size_t n = columns ? lsql_strv_len(columns) : sc->n_fields;
  s->sel = lsql_calloc(n + 1, sizeof *s->sel);
  s->readers = lsql_calloc(n + 1, sizeof *s->readers);
  if (!s->sel || !s->readers) { rc = lsql_err_oom(err); goto fail; }
  for (size_t i = 0; i < n; i++) {
    s->sel[i] = columns ? lsql_schema_find(sc, columns[i]) : &sc->fields[i];
    if (!s->sel[i]) { rc = lsql_err(err, LSQL_ENOTFOUND, "%s: no column \"%s\"", path, columns[i]); goto fail; }
  }
  if ((rc = lsql_file_default_column_map(s->f, &s->map, err)) != LSQL_OK) goto fail;
  for (size_t i = 0; i < n; i++) {
    s->n_sel = i + 1;
    if ((rc = lsql_field_reader_new(s->f, s->sel[i], &s->map, &s->readers[i], err)) != LSQL_OK) goto fail;
  }
  s->n_sel = n;
  out->get_schema = stream_schema;
  out->get_next = stream_next;
  out->get_last_error = stream_error;
  out->release = stream_release;
  out->private_data = s;
  return LSQL_OK;
fail:
  scan_free(s);
  return rc;
}

LSQL_API int lsql_file_inspect(const char *path, char **json, lsql_error *err) {
  *json = NULL;
  lsql_store *st = NULL;
  lsql_file *f = NULL;
  int rc = open_file(path, &st, &f, err);
  lsql_buf b = LSQL_BUF_INIT;
  if (rc == LSQL_OK) rc = lsql_file_describe_json(f, &b, err);
  if (rc == LSQL_OK) {
    if (!(*json = lsql_buf_detach(&b))) rc = lsql_err_oom(err);
  }
  lsql_buf_free(&b);
  lsql_file_close(f);
  lsql_store_unref(st);
  return rc;
}
