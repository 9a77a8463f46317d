/* The DuckDB table functions of a session:
 *   lance_scan(name VARCHAR, version := BIGINT, tag := VARCHAR, with_rowid := BOOLEAN)
 *   lance_tables()  -> (catalog, schema, name): names only, listed live from the namespaces.
 * lance_scan binds by opening the dataset (session cache), pushes the projection into the dataset
 * scan, and lets several DuckDB threads pull batches from the one scan stream (the stream decodes
 * in parallel already); each thread converts its own batch into DuckDB vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"
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
  lsql_sql_table *t;
  bool with_rowid;
  idx_t n_cols;  /* dataset columns (without _rowid) */
} scan_bind;

typedef struct scan_global {
  lsql_session *s;
  pthread_mutex_t mu;
  struct ArrowArrayStream stream;
  struct ArrowSchema schema;  /* stream schema */
  idx_t n_out;
  int64_t *src;               /* output column j <- stream child src[j] */
  bool done;
  unsigned cancel_gen;
} scan_global;

typedef struct scan_local {
  struct ArrowArray batch;
  int64_t pos;
} scan_local;

static void scan_bind_free(void *p) {
  scan_bind *b = p;
  if (!b) return;
  lsql_sql_table_unref(b->t);
  lsql_free(b);
}

static void scan_bind_fn(duckdb_bind_info info) {
  lsql_session *s = duckdb_bind_get_extra_info(info);
  lsql_error e = {0};
  duckdb_value v = duckdb_bind_get_parameter(info, 0);
  char *name = v ? duckdb_get_varchar(v) : NULL;
  if (v) duckdb_destroy_value(&v);
  int64_t version = 0;
  char *tag = NULL;
  bool with_rowid = false;
  if ((v = duckdb_bind_get_named_parameter(info, "version"))) {
    if (!duckdb_is_null_value(v)) version = duckdb_get_int64(v);
    duckdb_destroy_value(&v);
  }
  if ((v = duckdb_bind_get_named_parameter(info, "tag"))) {
    if (!duckdb_is_null_value(v)) tag = duckdb_get_varchar(v);
    duckdb_destroy_value(&v);
  }
  if ((v = duckdb_bind_get_named_parameter(info, "with_rowid"))) {
    if (!duckdb_is_null_value(v)) with_rowid = duckdb_get_bool(v);
    duckdb_destroy_value(&v);
  }
  lsql_sql_table *t = NULL;
  int rc;
  if (!name) rc = lsql_err(&e, LSQL_EINVAL, "lance_scan: table name is NULL");
  else if (version < 0) rc = lsql_err(&e, LSQL_EINVAL, "lance_scan: version must be positive");
  else rc = lsql_sql_table_get(s, name, version, tag, &t, &e);
  if (name) duckdb_free(name);
  if (tag) duckdb_free(tag);
  if (rc != LSQL_OK) {
    bind_error(info, &e);
    return;
  }
  scan_bind *b = lsql_calloc(1, sizeof *b);
  if (!b) {
    lsql_sql_table_unref(t);
    lsql_err_oom(&e);
    bind_error(info, &e);
    return;
  }
  b->s = s;
  b->t = t;
  b->with_rowid = with_rowid;
  b->n_cols = (idx_t)t->schema.n_children;
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

static void scan_global_free(void *p) {
  scan_global *g = p;
  if (!g) return;
  if (g->stream.release) g->stream.release(&g->stream);
  lsql_arrow_schema_reset(&g->schema);
  pthread_mutex_destroy(&g->mu);
  lsql_free(g->src);
  lsql_free(g);
}

static void scan_init_fn(duckdb_init_info info) {
  scan_bind *b = duckdb_init_get_bind_data(info);
  lsql_session *s = b->s;
  lsql_error e = {0};
  scan_global *g = lsql_calloc(1, sizeof *g);
  idx_t n = duckdb_init_get_column_count(info);
  const char **cols = lsql_calloc(n + 2, sizeof *cols);
  if (!g || !cols || !(g->src = lsql_calloc(n + 1, sizeof *g->src))) {
    lsql_free(cols);
    if (g) lsql_free(g->src);
    lsql_free(g);
    duckdb_init_set_error(info, "lance[2]: out of memory");
    return;
  }
  pthread_mutex_init(&g->mu, NULL);
  g->s = s;
  g->cancel_gen = atomic_load(&s->cancel_gen);
  g->n_out = n;
  size_t nc = 0;
  for (idx_t j = 0; j < n; j++) {
    idx_t id = duckdb_init_get_column_index(info, j);
    if (id < b->n_cols) cols[nc++] = b->t->schema.children[id]->name;
    else if (id == b->n_cols && b->with_rowid) cols[nc++] = "_rowid";
    /* anything else (e.g. DuckDB's row-id sentinel) produces no data */
  }
  if (nc == 0 && b->n_cols > 0) cols[nc++] = b->t->schema.children[0]->name; /* rows only */
  cols[nc] = NULL;
  lsql_scan_options so = {0};
  so.columns = cols;
  so.n_threads = s->threads;
  so.batch_size = s->batch_size;
  int rc = lsql_dataset_scan(b->t->ds, &so, &g->stream, &e);
  if (rc == LSQL_OK && g->stream.get_schema(&g->stream, &g->schema) != 0)
    rc = lsql_err(&e, LSQL_EIO, "scan schema: %s",
                  g->stream.get_last_error ? g->stream.get_last_error(&g->stream) : "error");
  for (idx_t j = 0; rc == LSQL_OK && j < n; j++) {
    idx_t id = duckdb_init_get_column_index(info, j);
    const char *want = id < b->n_cols ? b->t->schema.children[id]->name
                       : (id == b->n_cols && b->with_rowid) ? "_rowid" : NULL;
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
  atomic_fetch_add(&s->rows_total, b->t->rows);
  duckdb_init_set_max_threads(info, (idx_t)(s->threads > 0 ? s->threads : 1));
  duckdb_init_set_init_data(info, g, scan_global_free);
}

static void scan_local_free(void *p) {
  scan_local *l = p;
  if (!l) return;
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

static void scan_fn(duckdb_function_info info, duckdb_data_chunk out) {
  scan_global *g = duckdb_function_get_init_data(info);
  scan_local *l = duckdb_function_get_local_init_data(info);
  lsql_session *s = g->s;
  duckdb_data_chunk_set_size(out, 0);
  if (atomic_load(&s->cancel_gen) != g->cancel_gen) return; /* DuckDB reports the interrupt */
  while (!l->batch.release || l->pos >= l->batch.length) {
    lsql_arrow_array_reset(&l->batch);
    l->pos = 0;
    pthread_mutex_lock(&g->mu);
    if (g->done) {
      pthread_mutex_unlock(&g->mu);
      return;
    }
    int rc = g->stream.get_next(&g->stream, &l->batch);
    if (rc != 0) {
      const char *m = g->stream.get_last_error ? g->stream.get_last_error(&g->stream) : NULL;
      char msg[LSQL_ERROR_MESSAGE_LEN + 32];
      snprintf(msg, sizeof msg, "lance[%d]: %s", LSQL_EIO, m ? m : "scan failed");
      g->done = true;
      pthread_mutex_unlock(&g->mu);
      l->batch.release = NULL;
      duckdb_function_set_error(info, msg);
      return;
    }
    if (!l->batch.release) g->done = true;
    pthread_mutex_unlock(&g->mu);
    if (!l->batch.release) return;
    if (atomic_load(&s->cancel_gen) != g->cancel_gen) return;
  }
  int64_t n = l->batch.length - l->pos;
  idx_t cap = duckdb_vector_size();
  if (n > (int64_t)cap) n = (int64_t)cap;
  lsql_error e = {0};
  for (idx_t j = 0; j < g->n_out; j++) {
    if (g->src[j] < 0) continue;
    int64_t k = g->src[j];
    if (k >= l->batch.n_children) {
      duckdb_function_set_error(info, "lance[5]: scan batch has too few columns");
      return;
    }
    duckdb_vector v = duckdb_data_chunk_get_vector(out, j);
    if (lsql_sql_arrow_to_vector(g->schema.children[k], l->batch.children[k], l->pos, n, v, 0, &e) != LSQL_OK) {
      char msg[LSQL_ERROR_MESSAGE_LEN + 48];
      snprintf(msg, sizeof msg, "lance[%d]: column %s: %s", e.code, g->schema.children[k]->name, e.message);
      duckdb_function_set_error(info, msg);
      return;
    }
  }
  l->pos += n;
  atomic_fetch_add(&s->rows_done, (uint64_t)n);
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

static int tables_collect(lsql_session *s, tables_data *d, lsql_error *err) {
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
    const char *cname;
    lsql_namespace *ns;
    const char *const *path;
    size_t plen;
    const char *one[1];
    if (ci < nm) {
      if (!cats[ci].mounted) continue; /* root children come from the live listing */
      cname = cats[ci].name;
      ns = cats[ci].ns;
      path = (const char *const *)cats[ci].path;
      plen = cats[ci].path_len;
    } else {
      cname = rootcats.items[ci - nm];
      bool shadowed = false;
      for (size_t k = 0; k < nm; k++)
        if (cats[k].mounted && !strcmp(cats[k].name, cname)) shadowed = true;
      if (shadowed) continue;
      one[0] = cname;
      ns = s->root;
      path = one;
      plen = 1;
    }
    lsql_string_list schemas;
    rc = list_all(ns, path, plen, false, &schemas, err);
    if (rc != LSQL_OK) break;
    const char **id = lsql_calloc(plen + 1, sizeof *id);
    if (!id) rc = lsql_err_oom(err);
    for (size_t si = 0; rc == LSQL_OK && si < schemas.n_items; si++) {
      for (size_t k = 0; k < plen; k++) id[k] = path[k];
      id[plen] = schemas.items[si];
      lsql_string_list tbls;
      rc = list_all(ns, id, plen + 1, true, &tbls, err);
      for (size_t ti = 0; rc == LSQL_OK && ti < tbls.n_items; ti++)
        if (tables_add(d, cname, schemas.items[si], tbls.items[ti]) != LSQL_OK) rc = lsql_err_oom(err);
      lsql_string_list_free(&tbls);
    }
    lsql_free(id);
    lsql_string_list_free(&schemas);
  }
  lsql_string_list_free(&rootcats);
  lsql_free(cats);
  return rc;
}

static void tables_bind_fn(duckdb_bind_info info) {
  duckdb_logical_type vt = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  duckdb_bind_add_result_column(info, "catalog", vt);
  duckdb_bind_add_result_column(info, "schema", vt);
  duckdb_bind_add_result_column(info, "name", vt);
  duckdb_destroy_logical_type(&vt);
}

static void tables_init_fn(duckdb_init_info info) {
  lsql_session *s = duckdb_init_get_extra_info(info);
  lsql_error e = {0};
  tables_data *d = lsql_calloc(1, sizeof *d);
  if (!d) {
    duckdb_init_set_error(info, "lance[2]: out of memory");
    return;
  }
  if (tables_collect(s, d, &e) != LSQL_OK) {
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
    duckdb_table_function_set_name(tf, "lance_tables");
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
