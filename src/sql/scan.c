/* The DuckDB table functions of a session:
 *   lance_scan(name VARCHAR, version := BIGINT, tag := VARCHAR, with_rowid := BOOLEAN)
 *   __lance_view_scan(name VARCHAR, dummy VARCHAR): what the session's views read. Same as
 *     lance_scan(name) behind a leading always-NULL BOOLEAN column `dummy` (the views EXCLUDE it),
 *     so a query that needs no column (count(*)) gets that column projected and is answered from
 *     the exact row count without decoding anything.
 *   lance_tables(catalog := VARCHAR, schema := VARCHAR) -> (catalog, schema, name): names only,
 *     listed live from the namespaces (no dataset is opened).
 * lance_scan binds by opening the dataset (session cache), pushes the projection into the dataset
 * scan, and lets DuckDB's threads call the one scan stream's get_next concurrently: the stream has
 * no worker threads of its own (n_threads = 1), each DuckDB thread decodes column chunks inside
 * get_next and then converts the batch it got into DuckDB vectors (no hand-offs, no more
 * decoding threads than DuckDB runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"
#include "table/table.h"
#include "util/arrow.h"

/* Errors raised inside DuckDB callbacks carry our status code as "lance[N]: message", which
 * session.c maps back to the lsql_status. */
static void bind_error(duckdb_bind_info info, const lsql_error *e) {
  char msg[LSQL_ERROR_MESSAGE_LEN + 32];
  snprintf(msg, sizeof msg, "lance[%d]: %s", e->code, e->message);
  duckdb_bind_set_error(info, msg);
}

/* ---- lance_scan ---------------------------------------------------------------------------- */

typedef struct scan_bind {
  lsql_session *s;
  idx_t conn_id;  /* connection of the binding query (progress is counted per query) */
  lsql_sql_table *t;
  bool with_rowid;
  idx_t first;   /* 1 when column 0 is the view's dummy column, else 0 */
  idx_t n_cols;  /* dataset columns (without _rowid or the dummy) */
} scan_bind;

typedef struct scan_global {
  lsql_session *s;
  struct ArrowArrayStream stream; /* get_next is safe for concurrent callers */
  struct ArrowSchema schema;  /* stream schema */
  idx_t n_out;
  int64_t *src;               /* output column j <- stream child src[j] */
  bool *null_out;             /* output column j is the dummy column (all NULL) */
  atomic_bool done;           /* the stream ended or failed: no more get_next */
  bool count_only;            /* only the dummy is projected: no scan, just `remaining` rows */
  atomic_uint_fast64_t remaining;
  unsigned cancel_gen;
  lsql_sql_query *q;          /* progress counters of the running query (NULL: not counted) */
} scan_global;

typedef struct scan_local {
  struct ArrowArray batch;
  int64_t pos;
  duckdb_vector *dict;  /* per output column: the current batch's dictionary as a DuckDB vector */
  idx_t n_dict;
} scan_local;

static void local_drop_dicts(scan_local *l) {
  for (idx_t j = 0; l->dict && j < l->n_dict; j++)
    if (l->dict[j]) duckdb_destroy_vector(&l->dict[j]);
}

static void scan_bind_free(void *p) {
  scan_bind *b = p;
  if (!b) return;
  lsql_sql_table_unref(b->t);
  lsql_free(b);
}

static void scan_bind_common(duckdb_bind_info info, bool view) {
  lsql_session *s = duckdb_bind_get_extra_info(info);
  lsql_error e = {0};
  duckdb_value v = duckdb_bind_get_parameter(info, 0);
  char *name = v ? duckdb_get_varchar(v) : NULL;
  if (v) duckdb_destroy_value(&v);
  char *dummy = NULL;
  if (view && (v = duckdb_bind_get_parameter(info, 1))) {
    if (!duckdb_is_null_value(v)) dummy = duckdb_get_varchar(v);
    duckdb_destroy_value(&v);
  }
  int64_t version = 0;
  char *tag = NULL;
  bool with_rowid = false;
  if (view) {
    /* no named parameters: the view always reads the latest version */
  } else if ((v = duckdb_bind_get_named_parameter(info, "version"))) {
    if (!duckdb_is_null_value(v)) version = duckdb_get_int64(v);
    duckdb_destroy_value(&v);
  }
  if (!view && (v = duckdb_bind_get_named_parameter(info, "tag"))) {
    if (!duckdb_is_null_value(v)) tag = duckdb_get_varchar(v);
    duckdb_destroy_value(&v);
  }
  if (!view && (v = duckdb_bind_get_named_parameter(info, "with_rowid"))) {
    if (!duckdb_is_null_value(v)) with_rowid = duckdb_get_bool(v);
    duckdb_destroy_value(&v);
  }
  lsql_sql_table *t = NULL;
  int rc;
  if (!name) rc = lsql_err(&e, LSQL_EINVAL, "lance_scan: table name is NULL");
  else if (view && !dummy) rc = lsql_err(&e, LSQL_EINVAL, "lance_scan: dummy column name is NULL");
  else if (version < 0) rc = lsql_err(&e, LSQL_EINVAL, "lance_scan: version must be positive");
  else rc = lsql_sql_table_get(s, name, version, tag, &t, &e);
  if (name) duckdb_free(name);
  if (tag) duckdb_free(tag);
  if (rc != LSQL_OK) {
    if (dummy) duckdb_free(dummy);
    bind_error(info, &e);
    return;
  }
  scan_bind *b = lsql_calloc(1, sizeof *b);
  if (!b) {
    if (dummy) duckdb_free(dummy);
    lsql_sql_table_unref(t);
    lsql_err_oom(&e);
    bind_error(info, &e);
    return;
  }
  b->s = s;
  b->t = t;
  duckdb_client_context ctx = NULL;
  duckdb_table_function_get_client_context(info, &ctx);
  b->conn_id = ctx ? duckdb_client_context_get_connection_id(ctx) : (idx_t)-1;
  if (ctx) duckdb_destroy_client_context(&ctx);
  b->with_rowid = with_rowid;
  b->n_cols = (idx_t)t->schema.n_children;
  if (dummy) {
    duckdb_logical_type lt = duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
    duckdb_bind_add_result_column(info, dummy, lt);
    duckdb_destroy_logical_type(&lt);
    duckdb_free(dummy);
    b->first = 1;
  }
  for (idx_t i = 0; i < b->n_cols; i++) {
    duckdb_logical_type lt;
    const struct ArrowSchema *c = t->schema.children[i];
    if (lsql_sql_arrow_to_duckdb_type(c, &lt, &e) != LSQL_OK) {
      lsql_error_prefix(&e, "column %s: ", c->name ? c->name : "?");
      scan_bind_free(b);
      bind_error(info, &e);
      return;
    }
    duckdb_bind_add_result_column(info, c->name ? c->name : "", lt);
    duckdb_destroy_logical_type(&lt);
  }
  if (with_rowid) {
    duckdb_logical_type lt = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
    duckdb_bind_add_result_column(info, "_rowid", lt);
    duckdb_destroy_logical_type(&lt);
  }
  duckdb_bind_set_cardinality(info, (idx_t)t->rows, true);
  duckdb_bind_set_bind_data(info, b, scan_bind_free);
}

static void scan_bind_fn(duckdb_bind_info info) { scan_bind_common(info, false); }
static void view_scan_bind_fn(duckdb_bind_info info) { scan_bind_common(info, true); }

/* Dataset column behind DuckDB column id `id` of bind `b` (-1: none, -2: _rowid). */
static int64_t column_of(const scan_bind *b, idx_t id) {
  if (id < b->first) return -1;
  id -= b->first;
  if (id < b->n_cols) return (int64_t)id;
  if (id == b->n_cols && b->with_rowid) return -2;
  return -1; /* DuckDB's row-id sentinel, or the dummy: no data */
}

static void scan_global_free(void *p) {
  scan_global *g = p;
  if (!g) return;
  if (g->stream.release) g->stream.release(&g->stream);
  lsql_arrow_schema_reset(&g->schema);
  lsql_sql_query_unref(g->q);
  lsql_free(g->src);
  lsql_free(g->null_out);
  lsql_free(g);
}

static void scan_init_fn(duckdb_init_info info) {
  scan_bind *b = duckdb_init_get_bind_data(info);
  lsql_session *s = b->s;
  lsql_error e = {0};
  scan_global *g = lsql_calloc(1, sizeof *g);
  idx_t n = duckdb_init_get_column_count(info);
  const char **cols = lsql_calloc(n + 2, sizeof *cols);
  if (!g || !cols || !(g->src = lsql_calloc(n + 1, sizeof *g->src)) ||
      !(g->null_out = lsql_calloc(n + 1, sizeof *g->null_out))) {
    lsql_free(cols);
    if (g) lsql_free(g->src);
    if (g) lsql_free(g->null_out);
    lsql_free(g);
    duckdb_init_set_error(info, "lance[2]: out of memory");
    return;
  }
  atomic_init(&g->done, false);
  g->s = s;
  g->cancel_gen = atomic_load(&s->cancel_gen);
  g->n_out = n;
  size_t nc = 0;
  for (idx_t j = 0; j < n; j++) {
    idx_t id = duckdb_init_get_column_index(info, j);
    int64_t c = column_of(b, id);
    if (c >= 0) cols[nc++] = b->t->schema.children[c]->name;
    else if (c == -2) cols[nc++] = "_rowid";
    /* anything else (the dummy, DuckDB's row-id sentinel) produces no data */
    g->null_out[j] = b->first && id == 0;
  }
  int rc = LSQL_OK;
  if (nc == 0 && b->first) {
    /* Only the view's dummy column is needed (count(*)): the exact row count answers it. */
    g->count_only = true;
    atomic_init(&g->remaining, b->t->rows);
  } else {
    if (nc == 0 && b->n_cols > 0) cols[nc++] = b->t->schema.children[0]->name; /* rows only */
    cols[nc] = NULL;
    lsql_scan_options so = {0};
    so.columns = cols;
    so.n_threads = 1; /* no scan workers: DuckDB's threads decode inside get_next */
    so.batch_size = s->batch_size;
    atomic_fetch_add(&s->n_dataset_scans, 1);
    /* string columns of dictionary-encoded pages may come as dictionary arrays (see dict_of) */
    rc = lsql_table_scan(b->t->ds, &so, LSQL_TABLE_SCAN_DICT_BATCHES, &g->stream, &e);
  }
  if (rc == LSQL_OK && !g->count_only && g->stream.get_schema(&g->stream, &g->schema) != 0)
    rc = lsql_err(&e, LSQL_EIO, "scan schema: %s",
                  g->stream.get_last_error ? g->stream.get_last_error(&g->stream) : "error");
  for (idx_t j = 0; rc == LSQL_OK && j < n; j++) {
    int64_t c = column_of(b, duckdb_init_get_column_index(info, j));
    const char *want = c >= 0 ? b->t->schema.children[c]->name : c == -2 ? "_rowid" : NULL;
    g->src[j] = -1;
    for (int64_t k = 0; want && k < g->schema.n_children; k++)
      if (g->schema.children[k]->name && !strcmp(g->schema.children[k]->name, want)) g->src[j] = k;
    if (want && g->src[j] < 0) rc = lsql_err(&e, LSQL_ECORRUPT, "scan did not return column %s", want);
  }
  lsql_free(cols);
  if (rc != LSQL_OK) {
    char msg[LSQL_ERROR_MESSAGE_LEN + 32];
    snprintf(msg, sizeof msg, "lance[%d]: %s", e.code, e.message);
    scan_global_free(g);
    duckdb_init_set_error(info, msg);
    return;
  }
  if ((g->q = lsql_sql_query_find(s, b->conn_id))) atomic_fetch_add(&g->q->rows_total, b->t->rows);
  duckdb_init_set_max_threads(info, (idx_t)(s->threads > 0 ? s->threads : 1));
  duckdb_init_set_init_data(info, g, scan_global_free);
}

static void scan_local_free(void *p) {
  scan_local *l = p;
  if (!l) return;
  local_drop_dicts(l);
  lsql_free(l->dict);
  lsql_arrow_array_reset(&l->batch);
  lsql_free(l);
}

static void scan_local_init_fn(duckdb_init_info info) {
  scan_local *l = lsql_calloc(1, sizeof *l);
  if (!l) {
    duckdb_init_set_error(info, "lance[2]: out of memory");
    return;
  }
  duckdb_init_set_init_data(info, l, scan_local_free);
}

/* The dictionary's schema and the index format of a dictionary-encoded batch column, or NULL
 * when it is plain. A column declared dictionary in the schema has both there; a plain utf8/binary
 * column may still come as a dictionary batch (LSQL_TABLE_SCAN_DICT_BATCHES: int32 indices into
 * values of the column's own type). */
static const struct ArrowSchema *dict_of(const struct ArrowSchema *cs, const struct ArrowArray *ca, const char **ixfmt) {
  if (cs->dictionary) {
    *ixfmt = cs->format;
    return cs->dictionary;
  }
  if (!ca->dictionary) return NULL;
  *ixfmt = "i";
  return cs;
}

/* A dictionary-encoded column whose (flat) dictionary values have no NULLs is emitted as a
 * DuckDB dictionary vector: the batch's dictionary is converted once, each chunk only writes
 * the selection (about 1 ns per row instead of a copy per value). NULL rows select an extra
 * NULL entry after the dictionary's values. */
static bool dict_usable(const struct ArrowSchema *cs, const struct ArrowArray *ca) {
  const char *f = "i";
  const struct ArrowSchema *ds = dict_of(cs, ca, &f);
  const struct ArrowArray *da = ca->dictionary;
  if (!ds || !da || ds->format[0] == '+' || da->length <= 0 || da->length >= UINT32_MAX) return false;
  if (da->buffers[0] && da->null_count != 0) return false; /* keeps the dictionary's mask trivial */
  return f[1] == '\0' && strchr("cCsSiIlL", f[0]) != NULL;
}

static inline uint64_t index_at(char fmt, const uint8_t *raw, int64_t j) {
  switch (fmt) {
    case 'c': return (uint64_t)(int64_t)((const int8_t *)raw)[j];
    case 'C': return raw[j];
    case 's': return (uint64_t)(int64_t)((const int16_t *)raw)[j];
    case 'S': return ((const uint16_t *)raw)[j];
    case 'i': return (uint64_t)(int64_t)((const int32_t *)raw)[j];
    case 'I': return ((const uint32_t *)raw)[j];
    case 'l': return (uint64_t)((const int64_t *)raw)[j];
    default: return ((const uint64_t *)raw)[j];
  }
}

static int dict_slice(duckdb_vector *dict, const struct ArrowSchema *cs, const struct ArrowArray *ca,
                      int64_t row, int64_t n, duckdb_vector v, lsql_error *err) {
  const char *fmt = "i";
  const struct ArrowSchema *ds = dict_of(cs, ca, &fmt);
  if (!ds) return lsql_err(err, LSQL_ECORRUPT, "not a dictionary column");
  const struct ArrowArray *da = ca->dictionary;
  if (row < 0 || row + n > ca->length) return lsql_err(err, LSQL_ECORRUPT, "dictionary slice out of range");
  if (!*dict) {
    /* the values, then one NULL entry (index da->length) for NULL rows */
    duckdb_logical_type lt = duckdb_vector_get_column_type(v);
    *dict = duckdb_create_vector(lt, (idx_t)da->length + 1);
    duckdb_destroy_logical_type(&lt);
    if (!*dict) return lsql_err_oom(err);
    int rc = lsql_sql_arrow_to_vector(ds, da, 0, da->length, *dict, 0, err);
    if (rc != LSQL_OK) {
      duckdb_destroy_vector(dict);
      return rc;
    }
    duckdb_vector_ensure_validity_writable(*dict);
    duckdb_validity_set_row_invalid(duckdb_vector_get_validity(*dict), (idx_t)da->length);
  }
  duckdb_selection_vector sel = duckdb_create_selection_vector((idx_t)n);
  if (!sel) return lsql_err_oom(err);
  sel_t *ix = duckdb_selection_vector_get_data_ptr(sel);
  const uint8_t *raw = ca->buffers[1];
  int64_t start = ca->offset + row;
  uint64_t lim = (uint64_t)da->length, bad = 0;
  const uint8_t *valid = ca->buffers[0] && ca->null_count != 0 ? ca->buffers[0] : NULL;
  if (valid) {
    /* NULL rows may hold any index: they select the NULL entry */
    for (int64_t i = 0; i < n; i++) {
      bool ok = lsql_bit_get(valid, (uint64_t)(start + i));
      uint64_t k = ok ? index_at(fmt[0], raw, start + i) : lim;
      bad |= ok & (k >= lim);
      ix[i] = (sel_t)k;
    }
  } else {
    /* Indices are validated in the same tight loop (a negative index wraps to a huge value). */
    switch (fmt[0]) {
      case 'c': for (int64_t i = 0; i < n; i++) { uint64_t k = (uint64_t)(int64_t)((const int8_t *)raw)[start + i]; bad |= k >= lim; ix[i] = (sel_t)k; } break;
      case 'C': for (int64_t i = 0; i < n; i++) { uint64_t k = raw[start + i]; bad |= k >= lim; ix[i] = (sel_t)k; } break;
      case 's': for (int64_t i = 0; i < n; i++) { uint64_t k = (uint64_t)(int64_t)((const int16_t *)raw)[start + i]; bad |= k >= lim; ix[i] = (sel_t)k; } break;
      case 'S': for (int64_t i = 0; i < n; i++) { uint64_t k = ((const uint16_t *)raw)[start + i]; bad |= k >= lim; ix[i] = (sel_t)k; } break;
      case 'i': for (int64_t i = 0; i < n; i++) { uint64_t k = (uint64_t)(int64_t)((const int32_t *)raw)[start + i]; bad |= k >= lim; ix[i] = (sel_t)k; } break;
      case 'I': for (int64_t i = 0; i < n; i++) { uint64_t k = ((const uint32_t *)raw)[start + i]; bad |= k >= lim; ix[i] = (sel_t)k; } break;
      case 'l': for (int64_t i = 0; i < n; i++) { uint64_t k = (uint64_t)((const int64_t *)raw)[start + i]; bad |= k >= lim; ix[i] = (sel_t)k; } break;
      default: for (int64_t i = 0; i < n; i++) { uint64_t k = ((const uint64_t *)raw)[start + i]; bad |= k >= lim; ix[i] = (sel_t)k; } break;
    }
  }
  if (bad) {
    duckdb_destroy_selection_vector(sel);
    return lsql_err(err, LSQL_ECORRUPT, "dictionary index out of range");
  }
  duckdb_vector_reference_vector(v, *dict);
  duckdb_slice_vector(v, sel, (idx_t)n);
  duckdb_destroy_selection_vector(sel);
  return LSQL_OK;
}

/* Rows [0, n) of `v` become NULL (the dummy column's only value). */
static void set_all_null(duckdb_vector v, idx_t n) {
  duckdb_vector_ensure_validity_writable(v);
  uint64_t *valid = duckdb_vector_get_validity(v);
  memset(valid, 0, (n + 63) / 64 * sizeof *valid);
}

static void scan_fn(duckdb_function_info info, duckdb_data_chunk out) {
  scan_global *g = duckdb_function_get_init_data(info);
  scan_local *l = duckdb_function_get_local_init_data(info);
  lsql_session *s = g->s;
  duckdb_data_chunk_set_size(out, 0);
  if (atomic_load(&s->cancel_gen) != g->cancel_gen) return; /* DuckDB reports the interrupt */
  idx_t cap = duckdb_vector_size();
  if (g->count_only) {
    /* Threads take up to a vector of rows each off the exact count; nothing is decoded. */
    uint_fast64_t r = atomic_load(&g->remaining), take;
    do {
      if (r == 0) return;
      take = r < cap ? r : cap;
    } while (!atomic_compare_exchange_weak(&g->remaining, &r, r - take));
    for (idx_t j = 0; j < g->n_out; j++) set_all_null(duckdb_data_chunk_get_vector(out, j), take);
    if (g->q) atomic_fetch_add(&g->q->rows_done, (uint64_t)take);
    duckdb_data_chunk_set_size(out, (idx_t)take);
    return;
  }
  while (!l->batch.release || l->pos >= l->batch.length) {
    local_drop_dicts(l); /* vectors that referenced them keep their own reference */
    lsql_arrow_array_reset(&l->batch);
    l->pos = 0;
    if (atomic_load(&g->done)) return;
    int rc = g->stream.get_next(&g->stream, &l->batch);
    if (rc != 0) {
      const char *m = g->stream.get_last_error ? g->stream.get_last_error(&g->stream) : NULL;
      char msg[LSQL_ERROR_MESSAGE_LEN + 32];
      snprintf(msg, sizeof msg, "lance[%d]: %s", LSQL_EIO, m ? m : "scan failed");
      atomic_store(&g->done, true);
      l->batch.release = NULL;
      duckdb_function_set_error(info, msg);
      return;
    }
    if (!l->batch.release) {
      atomic_store(&g->done, true);
      return;
    }
    if (atomic_load(&s->cancel_gen) != g->cancel_gen) return;
  }
  int64_t n = l->batch.length - l->pos;
  if (n > (int64_t)cap) n = (int64_t)cap;
  lsql_error e = {0};
  for (idx_t j = 0; j < g->n_out; j++) {
    if (g->null_out[j]) set_all_null(duckdb_data_chunk_get_vector(out, j), (idx_t)n);
    if (g->src[j] < 0) continue;
    int64_t k = g->src[j];
    if (k >= l->batch.n_children) {
      duckdb_function_set_error(info, "lance[5]: scan batch has too few columns");
      return;
    }
    duckdb_vector v = duckdb_data_chunk_get_vector(out, j);
    const struct ArrowSchema *cs = g->schema.children[k];
    const struct ArrowArray *ca = l->batch.children[k];
    int rc;
    if (dict_usable(cs, ca)) {
      if (!l->dict && (l->dict = lsql_calloc(g->n_out, sizeof *l->dict))) l->n_dict = g->n_out;
      rc = l->dict ? dict_slice(&l->dict[j], cs, ca, l->pos, n, v, &e) : lsql_err_oom(&e);
    } else {
      rc = lsql_sql_arrow_to_vector(cs, ca, l->pos, n, v, 0, &e);
    }
    if (rc != LSQL_OK) {
      char msg[LSQL_ERROR_MESSAGE_LEN + 48];
      snprintf(msg, sizeof msg, "lance[%d]: column %s: %s", e.code, g->schema.children[k]->name, e.message);
      duckdb_function_set_error(info, msg);
      return;
    }
  }
  l->pos += n;
  if (g->q) atomic_fetch_add(&g->q->rows_done, (uint64_t)n);
  duckdb_data_chunk_set_size(out, (idx_t)n);
}

/* ---- lance_tables -------------------------------------------------------------------------- */

typedef struct tables_data {
  char **rows;  /* 3 strings per row */
  size_t n, cap;
  size_t pos;   /* in the global state... single-threaded, kept here via init data */
} tables_data;

static void tables_data_free(void *p) {
  tables_data *d = p;
  if (!d) return;
  for (size_t i = 0; i < 3 * d->n; i++) lsql_free(d->rows[i]);
  lsql_free(d->rows);
  lsql_free(d);
}

static int tables_add(tables_data *d, const char *c, const char *sc, const char *t) {
  if (d->n == d->cap) {
    size_t nc = d->cap ? 2 * d->cap : 64;
    char **r = lsql_realloc(d->rows, nc * 3 * sizeof *r);
    if (!r) return LSQL_ENOMEM;
    d->rows = r;
    d->cap = nc;
  }
  char **r = d->rows + 3 * d->n;
  r[0] = lsql_strdup(c);
  r[1] = lsql_strdup(sc);
  r[2] = lsql_strdup(t);
  d->n++;
  return (r[0] && r[1] && r[2]) ? LSQL_OK : LSQL_ENOMEM;
}

/* Lists every page of namespaces (tables = false) or tables under id. */
static int list_all(lsql_namespace *ns, const char *const *id, size_t id_len, bool tables,
                    lsql_string_list *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  char *token = NULL;
  for (;;) {
    lsql_string_list page = {0};
    int rc = tables ? lsql_namespace_list_tables(ns, id, id_len, token, 0, &page, err)
                    : lsql_namespace_list_namespaces(ns, id, id_len, token, 0, &page, err);
    lsql_free(token);
    token = NULL;
    if (rc != LSQL_OK) {
      lsql_string_list_free(out);
      memset(out, 0, sizeof *out);
      return rc;
    }
    if (page.n_items) {
      char **items = lsql_realloc(out->items, (out->n_items + page.n_items) * sizeof *items);
      if (!items) {
        lsql_string_list_free(&page);
        lsql_string_list_free(out);
        memset(out, 0, sizeof *out);
        return lsql_err_oom(err);
      }
      out->items = items;
      for (size_t i = 0; i < page.n_items; i++) {
        out->items[out->n_items++] = page.items[i];
        page.items[i] = NULL;
      }
    }
    token = page.next_page_token;
    page.next_page_token = NULL;
    lsql_string_list_free(&page);
    if (!token || !*token) {
      lsql_free(token);
      return LSQL_OK;
    }
  }
}

/* Lists the tables of one catalog (all its schemas, or only `only_schema`). */
static int tables_of_catalog(tables_data *d, const char *cname, lsql_namespace *ns,
                             const char *const *path, size_t plen, const char *only_schema,
                             lsql_error *err) {
  lsql_string_list schemas = {0};
  int rc = LSQL_OK;
  if (only_schema) {
    if (!(schemas.items = lsql_calloc(1, sizeof *schemas.items)) ||
        !(schemas.items[0] = lsql_strdup(only_schema)))
      rc = lsql_err_oom(err);
    else
      schemas.n_items = 1;
  } else {
    rc = list_all(ns, path, plen, false, &schemas, err);
  }
  const char **id = rc == LSQL_OK ? lsql_calloc(plen + 1, sizeof *id) : NULL;
  if (rc == LSQL_OK && !id) rc = lsql_err_oom(err);
  for (size_t si = 0; rc == LSQL_OK && si < schemas.n_items; si++) {
    for (size_t k = 0; k < plen; k++) id[k] = path[k];
    id[plen] = schemas.items[si];
    if (only_schema) {
      int exists = 0;
      rc = lsql_namespace_exists(ns, id, plen + 1, &exists, err);
      if (rc == LSQL_OK && !exists) rc = lsql_err(err, LSQL_ENOTFOUND, "schema %s.%s not found", cname, only_schema);
      if (rc != LSQL_OK) break;
    }
    lsql_string_list tbls;
    rc = list_all(ns, id, plen + 1, true, &tbls, err);
    for (size_t ti = 0; rc == LSQL_OK && ti < tbls.n_items; ti++)
      if (tables_add(d, cname, schemas.items[si], tbls.items[ti]) != LSQL_OK) rc = lsql_err_oom(err);
    lsql_string_list_free(&tbls);
  }
  lsql_free(id);
  lsql_string_list_free(&schemas);
  return rc;
}

/* Lists names only, live from the namespaces: never opens a dataset. `only_catalog` /
 * `only_schema` (may be NULL) restrict the listing and must exist. */
static int tables_collect(lsql_session *s, tables_data *d, const char *only_catalog,
                          const char *only_schema, lsql_error *err) {
  if (only_catalog) {
    lsql_namespace *ns;
    char **path;
    size_t plen;
    LSQL_TRY(lsql_sql_find_catalog(s, only_catalog, &ns, &path, &plen, err));
    int rc = tables_of_catalog(d, only_catalog, ns, (const char *const *)path, plen, only_schema, err);
    lsql_strv_free(path);
    return rc;
  }
  /* Snapshot of the catalogs: mounted ones plus the root's current children. */
  pthread_mutex_lock(&s->cache_mu);
  size_t nm = s->n_catalogs;
  lsql_sql_catalog *cats = lsql_calloc(nm + 1, sizeof *cats);
  for (size_t i = 0; cats && i < nm; i++) cats[i] = s->catalogs[i]; /* shallow: stable */
  pthread_mutex_unlock(&s->cache_mu);
  if (!cats) return lsql_err_oom(err);
  lsql_string_list rootcats = {0};
  int rc = LSQL_OK;
  if (s->root) rc = list_all(s->root, NULL, 0, false, &rootcats, err);
  size_t total = (rc == LSQL_OK) ? nm + rootcats.n_items : 0;
  for (size_t ci = 0; rc == LSQL_OK && ci < total; ci++) {
    const char *one[1];
    if (ci < nm) {
      if (!cats[ci].mounted) continue; /* root children come from the live listing */
      rc = tables_of_catalog(d, cats[ci].name, cats[ci].ns, (const char *const *)cats[ci].path,
                             cats[ci].path_len, NULL, err);
    } else {
      const char *cname = rootcats.items[ci - nm];
      bool shadowed = false;
      for (size_t k = 0; k < nm; k++)
        if (cats[k].mounted && !strcmp(cats[k].name, cname)) shadowed = true;
      if (shadowed) continue;
      one[0] = cname;
      rc = tables_of_catalog(d, cname, s->root, one, 1, NULL, err);
    }
  }
  lsql_string_list_free(&rootcats);
  lsql_free(cats);
  return rc;
}

int lsql_sql_list_all_tables(lsql_session *s, char ***rows, size_t *n, lsql_error *err) {
  *rows = NULL;
  *n = 0;
  tables_data *d = lsql_calloc(1, sizeof *d);
  if (!d) return lsql_err_oom(err);
  int rc = tables_collect(s, d, NULL, NULL, err);
  if (rc == LSQL_OK) {
    *rows = d->rows;
    *n = d->n;
    d->rows = NULL;
    d->n = 0;
  }
  tables_data_free(d);
  return rc;
}

typedef struct tables_bind {
  char *catalog, *schema; /* optional filters */
} tables_bind;

static void tables_bind_free(void *p) {
  tables_bind *b = p;
  if (!b) return;
  lsql_free(b->catalog);
  lsql_free(b->schema);
  lsql_free(b);
}

static char *named_varchar(duckdb_bind_info info, const char *name) {
  duckdb_value v = duckdb_bind_get_named_parameter(info, name);
  char *out = NULL;
  if (v) {
    if (!duckdb_is_null_value(v)) {
      char *x = duckdb_get_varchar(v);
      if (x) {
        out = lsql_strdup(x);
        duckdb_free(x);
      }
    }
    duckdb_destroy_value(&v);
  }
  return out;
}

static void tables_bind_fn(duckdb_bind_info info) {
  tables_bind *b = lsql_calloc(1, sizeof *b);
  if (!b) {
    duckdb_bind_set_error(info, "lance[2]: out of memory");
    return;
  }
  b->catalog = named_varchar(info, "catalog");
  b->schema = named_varchar(info, "schema");
  if (b->schema && !b->catalog) {
    tables_bind_free(b);
    duckdb_bind_set_error(info, "lance[1]: lance_tables: schema := needs catalog :=");
    return;
  }
  duckdb_logical_type vt = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  duckdb_bind_add_result_column(info, "catalog", vt);
  duckdb_bind_add_result_column(info, "schema", vt);
  duckdb_bind_add_result_column(info, "name", vt);
  duckdb_destroy_logical_type(&vt);
  duckdb_bind_set_bind_data(info, b, tables_bind_free);
}

static void tables_init_fn(duckdb_init_info info) {
  lsql_session *s = duckdb_init_get_extra_info(info);
  tables_bind *b = duckdb_init_get_bind_data(info);
  lsql_error e = {0};
  tables_data *d = lsql_calloc(1, sizeof *d);
  if (!d) {
    duckdb_init_set_error(info, "lance[2]: out of memory");
    return;
  }
  if (tables_collect(s, d, b->catalog, b->schema, &e) != LSQL_OK) {
    char msg[LSQL_ERROR_MESSAGE_LEN + 32];
    snprintf(msg, sizeof msg, "lance[%d]: %s", e.code, e.message);
    tables_data_free(d);
    duckdb_init_set_error(info, msg);
    return;
  }
  duckdb_init_set_init_data(info, d, tables_data_free);
}

static void tables_fn(duckdb_function_info info, duckdb_data_chunk out) {
  tables_data *d = duckdb_function_get_init_data(info);
  idx_t cap = duckdb_vector_size(), n = 0;
  while (d->pos < d->n && n < cap) {
    for (idx_t c = 0; c < 3; c++) {
      const char *v = d->rows[3 * d->pos + c];
      duckdb_vector_assign_string_element_len(duckdb_data_chunk_get_vector(out, c), n, v, strlen(v));
    }
    d->pos++;
    n++;
  }
  duckdb_data_chunk_set_size(out, n);
}

/* ---- registration -------------------------------------------------------------------------- */

int lsql_sql_register_functions(lsql_session *s, duckdb_connection con, lsql_error *err) {
  duckdb_logical_type vt = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  duckdb_logical_type bt = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  duckdb_logical_type bo = duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
  duckdb_table_function tf = duckdb_create_table_function();
  duckdb_table_function_set_name(tf, "lance_scan");
  duckdb_table_function_add_parameter(tf, vt);
  duckdb_table_function_add_named_parameter(tf, "version", bt);
  duckdb_table_function_add_named_parameter(tf, "tag", vt);
  duckdb_table_function_add_named_parameter(tf, "with_rowid", bo);
  duckdb_table_function_set_extra_info(tf, s, NULL);
  duckdb_table_function_set_bind(tf, scan_bind_fn);
  duckdb_table_function_set_init(tf, scan_init_fn);
  duckdb_table_function_set_local_init(tf, scan_local_init_fn);
  duckdb_table_function_set_function(tf, scan_fn);
  duckdb_table_function_supports_projection_pushdown(tf, true);
  duckdb_state st = duckdb_register_table_function(con, tf);
  duckdb_destroy_table_function(&tf);
  if (st == DuckDBSuccess) {
    tf = duckdb_create_table_function();
    duckdb_table_function_set_name(tf, "__lance_view_scan");
    duckdb_table_function_add_parameter(tf, vt);
    duckdb_table_function_add_parameter(tf, vt);
    duckdb_table_function_set_extra_info(tf, s, NULL);
    duckdb_table_function_set_bind(tf, view_scan_bind_fn);
    duckdb_table_function_set_init(tf, scan_init_fn);
    duckdb_table_function_set_local_init(tf, scan_local_init_fn);
    duckdb_table_function_set_function(tf, scan_fn);
    duckdb_table_function_supports_projection_pushdown(tf, true);
    st = duckdb_register_table_function(con, tf);
    duckdb_destroy_table_function(&tf);
  }
  if (st == DuckDBSuccess) {
    tf = duckdb_create_table_function();
    duckdb_table_function_set_name(tf, "lance_tables");
    duckdb_table_function_add_named_parameter(tf, "catalog", vt);
    duckdb_table_function_add_named_parameter(tf, "schema", vt);
    duckdb_table_function_set_extra_info(tf, s, NULL);
    duckdb_table_function_set_bind(tf, tables_bind_fn);
    duckdb_table_function_set_init(tf, tables_init_fn);
    duckdb_table_function_set_function(tf, tables_fn);
    st = duckdb_register_table_function(con, tf);
    duckdb_destroy_table_function(&tf);
  }
  duckdb_destroy_logical_type(&vt);
  duckdb_destroy_logical_type(&bt);
  duckdb_destroy_logical_type(&bo);
  if (st != DuckDBSuccess) return lsql_err(err, LSQL_ESQL, "could not register the lance table functions");
  return LSQL_OK;
}
