/* Reading the rows of the dir namespace's `__manifest` Lance table out of Arrow batches, and the
 * small parsers around it (version file names, namespace properties JSON). */
#include <jansson.h>
#include <stdlib.h>

#include "namespace/namespace.h"
#include "util/arrow.h"

void lsql_ns_manifest_rows_free(lsql_ns_manifest_row *rows, size_t n) {
  if (!rows) return;
  for (size_t i = 0; i < n; i++) {
    lsql_free(rows[i].object_id);
    lsql_free(rows[i].location);
    lsql_free(rows[i].metadata);
  }
  lsql_free(rows);
}

bool lsql_ns_manifest_file_version(const char *name, uint64_t *version) {
  size_t len = strlen(name), digits = len > 9 ? len - 9 : 0;
  if (digits == 0 || digits > 20 || strcmp(name + digits, ".manifest") != 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < digits; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    if (lsql_mul_overflow_u64(v, 10, &v) || lsql_add_overflow_u64(v, (uint64_t)(name[i] - '0'), &v))
      return false;
  }
  /* V2 names are zero-padded to 20 digits and count down from u64::MAX. */
  if (digits == 20) v = UINT64_MAX - v;
  if (v == 0 || (v >> 63)) return false; /* version 0 does not exist; bit 63 = detached */
  *version = v;
  return true;
}

/* One utf8 / large-utf8 column of a batch. */
typedef struct str_col {
  const struct ArrowArray *a;
  int large;
  int64_t base; /* parent offset + child offset */
} str_col;

static int col_bind(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                    const char *name, bool required, str_col *c, lsql_error *err) {
  memset(c, 0, sizeof *c);
  for (int64_t i = 0; i < schema->n_children; i++) {
    const struct ArrowSchema *f = schema->children[i];
    if (!f || !f->name || strcmp(f->name, name) != 0) continue;
    if (strcmp(f->format, "u") != 0 && strcmp(f->format, "U") != 0)
      return lsql_err(err, LSQL_ECORRUPT, "column %s: expected a string column, found format '%s'",
                      name, f->format);
    const struct ArrowArray *a = batch->children[i];
    if (!a || a->n_buffers != 3 || !a->buffers || a->offset < 0 || a->length < 0 ||
        batch->offset > INT64_MAX / 2 || batch->length > INT64_MAX / 2 ||
        batch->offset + batch->length > a->length)
      return lsql_err(err, LSQL_ECORRUPT, "column %s: malformed Arrow array", name);
    c->a = a;
    c->large = f->format[0] == 'U';
    c->base = batch->offset + a->offset;
    if (batch->length > 0 && (!a->buffers[1] || !a->buffers[2]))
      return lsql_err(err, LSQL_ECORRUPT, "column %s: missing buffers", name);
    return LSQL_OK;
  }
  if (required) return lsql_err(err, LSQL_ECORRUPT, "missing column %s", name);
  return LSQL_OK;
}

/* Value at row i (NULL for a null or an absent column); *len set. */
static const char *col_get(const str_col *c, int64_t i, size_t *len, bool *bad) {
  *len = 0;
  if (!c->a) return NULL;
  int64_t j = c->base + i;
  const uint8_t *valid = c->a->buffers[0];
  if (valid && c->a->null_count != 0 && !lsql_bit_get(valid, (uint64_t)j)) return NULL;
  int64_t s, e;
  if (c->large) {
    const int64_t *o = c->a->buffers[1];
    s = o[j];
    e = o[j + 1];
  } else {
    const int32_t *o = c->a->buffers[1];
    s = o[j];
    e = o[j + 1];
  }
  if (s < 0 || e < s) {
    *bad = true;
    return NULL;
  }
  *len = (size_t)(e - s);
  return (const char *)c->a->buffers[2] + s;
}

int lsql_ns_manifest_add_batch(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                               lsql_ns_manifest_row **rows, size_t *n, size_t *cap,
                               lsql_error *err) {
  if (!schema || !batch || strcmp(schema->format, "+s") != 0 ||
      batch->n_children != schema->n_children || batch->length < 0 || batch->offset < 0 ||
      (batch->n_children > 0 && !batch->children))
    return lsql_err(err, LSQL_ECORRUPT, "__manifest: batch is not a struct of the manifest columns");
  str_col id, type, loc, meta;
  int rc = col_bind(schema, batch, "object_id", true, &id, err);
  if (rc == LSQL_OK) rc = col_bind(schema, batch, "object_type", true, &type, err);
  if (rc == LSQL_OK) rc = col_bind(schema, batch, "location", false, &loc, err);
  if (rc == LSQL_OK) rc = col_bind(schema, batch, "metadata", false, &meta, err);
  if (rc != LSQL_OK) return lsql_error_prefix(err, "__manifest: "), rc;
  for (int64_t i = 0; i < batch->length; i++) {
    size_t idl, tl, ll, ml;
    bool bad = false;
    const char *ids = col_get(&id, i, &idl, &bad), *ts = col_get(&type, i, &tl, &bad);
    const char *ls = col_get(&loc, i, &ll, &bad), *ms = col_get(&meta, i, &ml, &bad);
    if (bad) return lsql_err(err, LSQL_ECORRUPT, "__manifest: row %lld: bad string offsets", (long long)i);
    int is_table;
    if (ts && tl == 5 && memcmp(ts, "table", 5) == 0) is_table = 1;
    else if (ts && tl == 9 && memcmp(ts, "namespace", 9) == 0) is_table = 0;
    else continue; /* table_version rows, tombstones, future types: not ours to read */
    if (!ids) return lsql_err(err, LSQL_ECORRUPT, "__manifest: row %lld: null object_id", (long long)i);
    /* Every `$`-separated component must be a valid id component. */
    for (size_t s = 0; s <= idl;) {
      const char *d = memchr(ids + s, '$', idl - s);
      size_t cl = d ? (size_t)(d - (ids + s)) : idl - s;
      if (lsql_ns_check_component(ids + s, cl, NULL, err) != LSQL_OK)
        return lsql_error_prefix(err, "__manifest: object_id '%.*s': ", (int)LSQL_MIN(idl, 200), ids),
               LSQL_ECORRUPT;
      s += cl + 1;
    }
    if ((ls && memchr(ls, 0, ll)) || (ms && memchr(ms, 0, ml)))
      return lsql_err(err, LSQL_ECORRUPT, "__manifest: row %lld: NUL byte in a string", (long long)i);
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 16;
      lsql_ns_manifest_row *g = lsql_realloc(*rows, nc * sizeof *g);
      if (!g) return lsql_err_oom(err);
      *rows = g;
      *cap = nc;
    }
    lsql_ns_manifest_row *r = &(*rows)[*n];
    memset(r, 0, sizeof *r);
    r->is_table = is_table;
    r->object_id = lsql_strndup(ids, idl);
    if (ls && !(r->location = lsql_strndup(ls, ll))) goto oom;
    if (ms && !(r->metadata = lsql_strndup(ms, ml))) goto oom;
    if (!r->object_id) goto oom;
    (*n)++;
    continue;
  oom:
    lsql_free(r->object_id);
    lsql_free(r->location);
    lsql_free(r->metadata);
    return lsql_err_oom(err);
  }
  return LSQL_OK;
}

int lsql_ns_parse_properties(const char *json, size_t len, char ***props, lsql_error *err) {
  *props = NULL;
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
  if (!root) return lsql_err(err, LSQL_ECORRUPT, "malformed JSON: %s (line %d)", je.text, je.line);
  int rc = LSQL_OK;
  char **out = NULL;
  if (json_is_null(root)) {
    out = lsql_calloc(1, sizeof(char *));
    if (!out) rc = lsql_err_oom(err);
    json_decref(root);
    *props = out;
    return rc;
  }
  if (!json_is_object(root)) {
    json_decref(root);
    return lsql_err(err, LSQL_ECORRUPT, "expected a JSON object of properties");
  }
  size_t n = json_object_size(root), k = 0;
  out = lsql_calloc(2 * n + 1, sizeof(char *));
  if (!out) rc = lsql_err_oom(err);
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (rc != LSQL_OK) break;
    if (!json_is_string(v)) {
      rc = lsql_err(err, LSQL_ECORRUPT, "property '%.100s' is not a string", key);
      break;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
      rc = lsql_err(err, LSQL_ECORRUPT, "property '%.100s' contains a NUL byte", key);
      break;
    }
    out[k] = lsql_strdup(key);
    out[k + 1] = lsql_strdup(json_string_value(v));
    k += 2;
    if (!out[k - 2] || !out[k - 1]) rc = lsql_err_oom(err);
  }
  json_decref(root);
  if (rc != LSQL_OK) {
    lsql_strv_free(out);
    return rc;
  }
  *props = out;
  return LSQL_OK;
}
