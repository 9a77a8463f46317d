/* lsql_dataset_inspect: a JSON description of a dataset version (versions, schema, fragments,
 * deletions, data files with their lsql_file_describe_json output). */
#include <inttypes.h>

#include "table/table.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *p) {
  if (p[0] < 0x80) return 1;
  size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 && p[0] < 0xE0 ? 2 : 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL terminator */
  if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))) return 0;
  if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))) return 0;
  return n;
}

/* Names and messages come from untrusted files: bytes that are not UTF-8 become U+FFFD so the
 * output stays valid JSON. */
static int json_str(lsql_buf *b, const char *s) {
  LSQL_TRY(lsql_buf_append(b, "\"", 1));
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p >= 0x80) {
      size_t n = utf8_len(p);
      if (n == 0) LSQL_TRY(lsql_buf_append(b, "\\ufffd", 6));
      else {
        LSQL_TRY(lsql_buf_append(b, p, n));
        p += n - 1;
      }
    } else if (*p == '"' || *p == '\\') {
      char esc[2] = {'\\', (char)*p};
      LSQL_TRY(lsql_buf_append(b, esc, 2));
    } else if (*p < 0x20) {
      LSQL_TRY(lsql_buf_appendf(b, "\\u%04x", *p));
    } else {
      LSQL_TRY(lsql_buf_append(b, p, 1));
    }
  }
  return lsql_buf_append(b, "\"", 1);
}

static int ints(lsql_buf *b, const int32_t *v, size_t n) {
  LSQL_TRY(lsql_buf_append(b, "[", 1));
  for (size_t i = 0; i < n; i++) LSQL_TRY(lsql_buf_appendf(b, "%s%" PRId32, i ? "," : "", v[i]));
  return lsql_buf_append(b, "]", 1);
}

static int describe_data_file(lsql_dataset *ds, const Lance__Table__DataFile *df, lsql_buf *b,
                              lsql_error *err) {
  LSQL_TRY(lsql_buf_append_str(b, "{\"path\":"));
  LSQL_TRY(json_str(b, df->path));
  LSQL_TRY(lsql_buf_appendf(b, ",\"file_version\":\"%" PRIu32 ".%" PRIu32 "\",\"size_bytes\":%" PRIu64,
                            df->file_major_version, df->file_minor_version, df->file_size_bytes));
  if (df->has_base_id) LSQL_TRY(lsql_buf_appendf(b, ",\"base_id\":%" PRIu32, df->base_id));
  LSQL_TRY(lsql_buf_append_str(b, ",\"fields\":"));
  LSQL_TRY(ints(b, df->fields, df->n_fields));
  LSQL_TRY(lsql_buf_append_str(b, ",\"column_indices\":"));
  LSQL_TRY(ints(b, df->column_indices, df->n_column_indices));
  char *path = NULL;
  LSQL_TRY(lsql_table_data_file_path(ds, df, &path, err));
  lsql_file *f = NULL;
  int rc = lsql_file_open(ds->store, path, df->has_file_size_bytes ? df->file_size_bytes : 0, &f, err);
  lsql_free(path);
  if (rc == LSQL_OK) {
    rc = lsql_buf_append_str(b, ",\"file\":");
    size_t mark = b->len;
    if (rc == LSQL_OK) rc = lsql_file_describe_json(f, b, err);
    lsql_file_close(f);
    if (rc != LSQL_OK && rc != LSQL_ENOMEM) {
      /* Keep describing the rest; report the problem in place. */
      b->len = mark;
      rc = lsql_buf_append_str(b, "null,\"error\":");
      if (rc == LSQL_OK) rc = json_str(b, err ? err->message : "error");
    }
  } else if (rc != LSQL_ENOMEM) {
    rc = lsql_buf_append_str(b, ",\"file\":null,\"error\":");
    if (rc == LSQL_OK) rc = json_str(b, err ? err->message : "error");
  }
  if (rc) return rc;
  return lsql_buf_append(b, "}", 1);
}

static int inspect(lsql_dataset *ds, lsql_buf *b, lsql_error *err) {
  const Lance__Table__Manifest *m = ds->manifest;
  LSQL_TRY(lsql_buf_append_str(b, "{\"uri\":"));
  LSQL_TRY(json_str(b, ds->uri));
  LSQL_TRY(lsql_buf_appendf(b, ",\"version\":%" PRIu64 ",\"branch\":", ds->version));
  if (ds->branch) LSQL_TRY(json_str(b, ds->branch));
  else LSQL_TRY(lsql_buf_append_str(b, "null"));
  LSQL_TRY(lsql_buf_appendf(b, ",\"reader_feature_flags\":%" PRIu64 ",\"writer_feature_flags\":%" PRIu64,
                            m->reader_feature_flags, m->writer_feature_flags));
  LSQL_TRY(lsql_buf_append_str(b, ",\"data_format\":"));
  LSQL_TRY(json_str(b, m->data_format ? m->data_format->version : ""));
  LSQL_TRY(lsql_buf_append_str(b, ",\"writer\":"));
  LSQL_TRY(json_str(b, m->writer_version ? m->writer_version->version : ""));

  lsql_version_info *v = NULL;
  size_t nv = 0;
  LSQL_TRY(lsql_dataset_versions(ds, &v, &nv, err));
  int rc = lsql_buf_append_str(b, ",\"versions\":[");
  for (size_t i = 0; i < nv && !rc; i++)
    rc = lsql_buf_appendf(b, "%s{\"version\":%" PRIu64 ",\"timestamp_us\":%" PRId64 "}", i ? "," : "",
                          v[i].version, v[i].timestamp_us);
  lsql_free(v);
  if (rc) return rc;

  LSQL_TRY(lsql_buf_append_str(b, "],\"schema\":["));
  for (size_t i = 0; i < m->n_fields; i++) {
    const Lance__File__Field *f = m->fields[i];
    LSQL_TRY(lsql_buf_appendf(b, "%s{\"name\":", i ? "," : ""));
    LSQL_TRY(json_str(b, f->name));
    LSQL_TRY(lsql_buf_appendf(b, ",\"id\":%" PRId32 ",\"parent_id\":%" PRId32 ",\"logical_type\":",
                              f->id, f->parent_id));
    LSQL_TRY(json_str(b, f->logical_type));
    LSQL_TRY(lsql_buf_appendf(b, ",\"nullable\":%s}", f->nullable ? "true" : "false"));
  }
  uint64_t live = 0;
  LSQL_TRY(lsql_buf_append_str(b, "],\"fragments\":["));
  for (size_t i = 0; i < m->n_fragments; i++) {
    const Lance__Table__DataFragment *fr = m->fragments[i];
    uint64_t rows = 0;
    rc = lsql_table_fragment_rows(ds, fr, &rows, err);
    if (rc) return lsql_error_prefix(err, "fragment %" PRIu64 ": ", fr->id);
    LSQL_TRY(lsql_buf_appendf(b, "%s{\"id\":%" PRIu64 ",\"physical_rows\":%" PRIu64, i ? "," : "",
                              fr->id, rows));
    uint64_t del = 0;
    if (fr->deletion_file) {
      const Lance__Table__DeletionFile *d = fr->deletion_file;
      del = d->num_deleted_rows;
      if (!del) {
        uint8_t *bits = NULL;
        rc = lsql_table_fragment_deletions(ds, fr, rows, &bits, &del, err);
        lsql_free(bits);
        if (rc) return lsql_error_prefix(err, "fragment %" PRIu64 ": ", fr->id);
      }
      char *path = NULL;
      LSQL_TRY(lsql_table_deletion_file_path(ds, fr, &path, err));
      const char *slash = strrchr(path, '/');
      rc = lsql_buf_appendf(b, ",\"deletion_file\":{\"type\":\"%s\",\"num_deleted_rows\":%" PRIu64 ",\"path\":",
                            d->file_type ? "bitmap" : "arrow", del);
      if (!rc) rc = json_str(b, slash ? slash + 1 : path);
      lsql_free(path);
      if (rc) return rc;
      LSQL_TRY(lsql_buf_append(b, "}", 1));
    }
    live += rows > del ? rows - del : 0;
    LSQL_TRY(lsql_buf_appendf(b, ",\"deleted_rows\":%" PRIu64 ",\"stable_row_ids\":%s,\"data_files\":[", del,
                              fr->row_id_sequence_case ? "true" : "false"));
    for (size_t j = 0; j < fr->n_files; j++) {
      if (j) LSQL_TRY(lsql_buf_append(b, ",", 1));
      rc = describe_data_file(ds, fr->files[j], b, err);
      if (rc) return lsql_error_prefix(err, "fragment %" PRIu64 ": ", fr->id);
    }
    LSQL_TRY(lsql_buf_append_str(b, "]}"));
  }
  return lsql_buf_appendf(b, "],\"num_rows\":%" PRIu64 "}", live);
}

int lsql_dataset_inspect(lsql_dataset *ds, char **json, lsql_error *err) {
  if (!ds || !json) return lsql_err(err, LSQL_EINVAL, "NULL argument");
  *json = NULL;
  lsql_buf b = LSQL_BUF_INIT;
  int rc = inspect(ds, &b, err);
  if (rc) {
    lsql_buf_free(&b);
    if (rc == LSQL_ENOMEM) return lsql_err_oom(err);
    return lsql_error_prefix(err, "%s: version %" PRIu64 ": ", ds->uri, ds->version);
  }
  *json = lsql_buf_detach(&b);
  return *json ? LSQL_OK : lsql_err_oom(err);
}
