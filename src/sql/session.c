/* SQL sessions: one DuckDB database per session, namespaces exposed as catalogs through lazily
 * created views, a read-only statement guard, and streaming Arrow results.
 * See docs/sql.md for the design and its limits. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/sql.h"
#include "table/table.h"
#include "util/arrow.h"

/* ---- builder -------------------------------------------------------------------------------- */

struct lsql_session_builder {
  lsql_namespace *root;
  lsql_sql_catalog *catalogs;
  size_t n_catalogs;
  char *default_catalog, *default_schema;
  int threads;
  char *memory_limit;
  char *temp_directory;
  bool allow_external_access;
  int64_t batch_size;
};

static void catalog_clear(lsql_sql_catalog *c) {
  lsql_free(c->name);
  for (size_t i = 0; i < c->path_len; i++) lsql_free(c->path[i]);
  lsql_free(c->path);
  lsql_namespace_unref(c->ns);
  memset(c, 0, sizeof *c);
}

static int catalog_init(lsql_sql_catalog *c, const char *name, lsql_namespace *ns,
                        const char *const *path, size_t path_len, bool mounted) {
  memset(c, 0, sizeof *c);
  c->name = lsql_strdup(name);
  c->path = lsql_calloc(path_len + 1, sizeof *c->path);
  if (!c->name || !c->path) goto oom;
  for (size_t i = 0; i < path_len; i++) {
    if (!(c->path[i] = lsql_strdup(path[i]))) goto oom;
    c->path_len = i + 1;
  }
  c->mounted = mounted;
  lsql_namespace_ref(ns);
  c->ns = ns;
  return LSQL_OK;
oom:
  catalog_clear(c);
  return LSQL_ENOMEM;
}

lsql_session_builder *lsql_session_builder_new(void) {
  lsql_session_builder *b = lsql_calloc(1, sizeof *b);
  if (b) b->threads = 0;
  return b;
}

void lsql_session_builder_free(lsql_session_builder *b) {
  if (!b) return;
  lsql_namespace_unref(b->root);
  for (size_t i = 0; i < b->n_catalogs; i++) catalog_clear(&b->catalogs[i]);
  lsql_free(b->catalogs);
  lsql_free(b->default_catalog);
  lsql_free(b->default_schema);
  lsql_free(b->memory_limit);
  lsql_free(b->temp_directory);
  lsql_free(b);
}

int lsql_session_builder_with_root(lsql_session_builder *b, lsql_namespace *ns, lsql_error *err) {
  if (!b || !ns) return lsql_err(err, LSQL_EINVAL, "with_root: builder and namespace are required");
  lsql_namespace_ref(ns);
  lsql_namespace_unref(b->root);
  b->root = ns;
  return LSQL_OK;
}

static bool valid_ident(const char *s) { return s && *s && strlen(s) < 256; }

int lsql_session_builder_add_catalog(lsql_session_builder *b, const char *name, lsql_namespace *ns,
                                     const char *const *path, size_t path_len, lsql_error *err) {
  if (!b || !ns || !valid_ident(name) || (path_len && !path))
    return lsql_err(err, LSQL_EINVAL, "add_catalog: builder, name and namespace are required");
  for (size_t i = 0; i < path_len; i++)
    if (!path[i]) return lsql_err(err, LSQL_EINVAL, "add_catalog: NULL path component");
  for (size_t i = 0; i < b->n_catalogs; i++)
    if (!strcmp(b->catalogs[i].name, name))
      return lsql_err(err, LSQL_EINVAL, "catalog '%s' is already mounted", name);
  lsql_sql_catalog *c = lsql_realloc(b->catalogs, (b->n_catalogs + 1) * sizeof *c);
  if (!c) return lsql_err_oom(err);
  b->catalogs = c;
  if (catalog_init(&c[b->n_catalogs], name, ns, path, path_len, true) != LSQL_OK)
    return lsql_err_oom(err);
  b->n_catalogs++;
  return LSQL_OK;
}

int lsql_session_builder_default(lsql_session_builder *b, const char *catalog, const char *schema,
                                 lsql_error *err) {
  if (!b) return lsql_err(err, LSQL_EINVAL, "default: builder is NULL");
  if (schema && !catalog) return lsql_err(err, LSQL_EINVAL, "a default schema needs a default catalog");
  if (catalog && !valid_ident(catalog)) return lsql_err(err, LSQL_EINVAL, "bad default catalog name");
  if (schema && !valid_ident(schema)) return lsql_err(err, LSQL_EINVAL, "bad default schema name");
  char *c = catalog ? lsql_strdup(catalog) : NULL, *s = schema ? lsql_strdup(schema) : NULL;
  if ((catalog && !c) || (schema && !s)) {
    lsql_free(c);
    lsql_free(s);
    return lsql_err_oom(err);
  }
  lsql_free(b->default_catalog);
  lsql_free(b->default_schema);
  b->default_catalog = c;
  b->default_schema = s;
  return LSQL_OK;
}

static int parse_bool(const char *v, bool *out) {
  if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) *out = true;
  else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off")) *out = false;
  else return -1;
  return 0;
}

int lsql_session_builder_set_option(lsql_session_builder *b, const char *key, const char *value,
                                    lsql_error *err) {
  if (!b || !key || !value) return lsql_err(err, LSQL_EINVAL, "set_option: key and value are required");
  char *end;
  if (!strcmp(key, "threads")) {
    long n = strtol(value, &end, 10);
    if (*end || n < 0 || n > 1024) return lsql_err(err, LSQL_EINVAL, "option threads: bad value '%s'", value);
    b->threads = (int)n;
  } else if (!strcmp(key, "batch_size")) {
    long long n = strtoll(value, &end, 10);
    if (*end || n < 0 || n > (1LL << 30)) return lsql_err(err, LSQL_EINVAL, "option batch_size: bad value '%s'", value);
    b->batch_size = n;
  } else if (!strcmp(key, "allow_external_access")) {
    if (parse_bool(value, &b->allow_external_access))
      return lsql_err(err, LSQL_EINVAL, "option allow_external_access: bad value '%s'", value);
  } else if (!strcmp(key, "memory_limit") || !strcmp(key, "temp_directory")) {
    if (strchr(value, '\'')) return lsql_err(err, LSQL_EINVAL, "option %s: bad value", key);
    char *v = lsql_strdup(value);
    if (!v) return lsql_err_oom(err);
    char **slot = key[0] == 'm' ? &b->memory_limit : &b->temp_directory;
    lsql_free(*slot);
    *slot = v;
  } else {
    return lsql_err(err, LSQL_EINVAL, "unknown session option '%s'", key);
  }
  return LSQL_OK;
}

/* ---- small helpers -------------------------------------------------------------------------- */

/* Appends "ident" with embedded quotes doubled. */
static int append_ident(lsql_buf *b, const char *s) {
  LSQL_TRY(lsql_buf_append(b, "\"", 1));
  for (const char *p = s; *p; p++) {
    if (*p == '"') LSQL_TRY(lsql_buf_append(b, "\"", 1));
    LSQL_TRY(lsql_buf_append(b, p, 1));
  }
  return lsql_buf_append(b, "\"", 1);
}

/* Appends 'text' with embedded single quotes doubled. */
static int append_literal(lsql_buf *b, const char *s) {
  LSQL_TRY(lsql_buf_append(b, "'", 1));
  for (const char *p = s; *p; p++) {
    if (*p == '\'') LSQL_TRY(lsql_buf_append(b, "'", 1));
    LSQL_TRY(lsql_buf_append(b, p, 1));
  }
  return lsql_buf_append(b, "'", 1);
}

/* Quoted dotted name "a"."b"."c" (the canonical form the views pass to lance_scan). */
static char *quoted_name(const char *c, const char *s, const char *t) {
  lsql_buf b = LSQL_BUF_INIT;
  if (append_ident(&b, c) || lsql_buf_append(&b, ".", 1) || append_ident(&b, s) ||
      lsql_buf_append(&b, ".", 1) || append_ident(&b, t) || lsql_buf_append(&b, "", 1)) {
    lsql_buf_free(&b);
    return NULL;
  }
  return lsql_buf_detach(&b);
}

/* Maps a DuckDB error message to a status and a message without our "lance[N]: " tag. */
static int duck_err(lsql_error *err, int dflt, const char *msg) {
  if (!msg) msg = "unknown DuckDB error";
  const char *tag = strstr(msg, "lance[");
  if (tag) {
    char *end;
    long code = strtol(tag + 6, &end, 10);
    if (end[0] == ']' && end[1] == ':' && code > 0 && code <= LSQL_ELIMIT) {
      const char *rest = end + 2;
      while (*rest == ' ') rest++;
      /* Keep only the first line (DuckDB appends "LINE 1: ..." context). */
      const char *nl = strchr(rest, '\n');
      int n = nl ? (int)(nl - rest) : (int)strlen(rest);
      return lsql_err(err, (int)code, "%.*s", n, rest);
    }
  }
  if (strstr(msg, "INTERRUPT Error") || strstr(msg, "Interrupted")) return lsql_err(err, LSQL_ECANCELLED, "query interrupted");
  if (strstr(msg, "Permission Error")) return lsql_err(err, LSQL_EREADONLY, "%s", msg);
  if (strstr(msg, "Out of Memory Error")) return lsql_err(err, LSQL_ELIMIT, "%s", msg);
  return lsql_err(err, dflt, "%s", msg);
}

static int run_ddl(lsql_session *s, const char *sql, lsql_error *err) {
  duckdb_result r;
  int rc = LSQL_OK;
  if (duckdb_query(s->ddl, sql, &r) != DuckDBSuccess) rc = duck_err(err, LSQL_ESQL, duckdb_result_error(&r));
  duckdb_destroy_result(&r);
  return rc;
}

int lsql_sql_split_name(const char *name, char ***parts, size_t *n_parts, lsql_error *err) {
  *parts = NULL;
  *n_parts = 0;
  char **v = lsql_calloc(4, sizeof *v);
  if (!v) return lsql_err_oom(err);
  size_t n = 0;
  const char *p = name;
  int rc = LSQL_OK;
  for (;;) {
    lsql_buf b = LSQL_BUF_INIT;
    if (*p == '"') {
      p++;
      for (;;) {
        if (!*p) { rc = lsql_err(err, LSQL_EINVAL, "unterminated quote in table name '%s'", name); break; }
        if (*p == '"' && p[1] == '"') { if (lsql_buf_append(&b, p, 1)) rc = LSQL_ENOMEM; p += 2; continue; }
        if (*p == '"') { p++; break; }
        if (lsql_buf_append(&b, p, 1)) rc = LSQL_ENOMEM;
        p++;
      }
    } else {
      while (*p && *p != '.') {
        if (lsql_buf_append(&b, p, 1)) rc = LSQL_ENOMEM;
        p++;
      }
    }
    if (rc == LSQL_OK && lsql_buf_append(&b, "", 1)) rc = LSQL_ENOMEM;
    if (rc != LSQL_OK || b.len <= 1 || n == 3) {
      lsql_buf_free(&b);
      if (rc == LSQL_OK) rc = lsql_err(err, LSQL_EINVAL, "bad table name '%s' (expected [catalog.][schema.]table)", name);
      else if (rc == LSQL_ENOMEM) lsql_err_oom(err);
      break;
    }
    v[n++] = lsql_buf_detach(&b);
    if (*p == '.') { p++; continue; }
    if (*p) { rc = lsql_err(err, LSQL_EINVAL, "bad table name '%s'", name); }
    break;
  }
  if (rc != LSQL_OK) {
    lsql_strv_free(v);
    return rc;
  }
  *parts = v;
  *n_parts = n;
  return LSQL_OK;
}

/* ---- catalogs and name resolution ------------------------------------------------------------ */

/* Finds catalog `name` (mounted, or a child of the root that exists now). Copies what callers
 * need so the catalog array may grow concurrently. */
int lsql_sql_find_catalog(lsql_session *s, const char *name, lsql_namespace **ns, char ***path,
                        size_t *path_len, lsql_error *err) {
  pthread_mutex_lock(&s->cache_mu);
  lsql_sql_catalog *c = NULL;
  for (size_t i = 0; i < s->n_catalogs && !c; i++)
    if (!strcmp(s->catalogs[i].name, name)) c = &s->catalogs[i];
  int rc = LSQL_OK;
  if (!c && s->root) {
    pthread_mutex_unlock(&s->cache_mu);
    int exists = 0;
    const char *id[1] = {name};
    rc = lsql_namespace_exists(s->root, id, 1, &exists, err);
    if (rc != LSQL_OK) return rc;
    if (!exists) return lsql_err(err, LSQL_ENOTFOUND, "catalog '%s' not found", name);
    pthread_mutex_lock(&s->cache_mu);
    for (size_t i = 0; i < s->n_catalogs && !c; i++)
      if (!strcmp(s->catalogs[i].name, name)) c = &s->catalogs[i];
    if (!c) {
      lsql_sql_catalog *nc = lsql_realloc(s->catalogs, (s->n_catalogs + 1) * sizeof *nc);
      if (!nc || catalog_init(&nc[s->n_catalogs], name, s->root, id, 1, false) != LSQL_OK) {
        if (nc) s->catalogs = nc;
        pthread_mutex_unlock(&s->cache_mu);
        return lsql_err_oom(err);
      }
      s->catalogs = nc;
      c = &s->catalogs[s->n_catalogs++];
    }
  }
  if (!c) {
    pthread_mutex_unlock(&s->cache_mu);
    return lsql_err(err, LSQL_ENOTFOUND, "catalog '%s' not found", name);
  }
  *ns = c->ns;  /* catalogs live as long as the session */
  *path_len = c->path_len;
  *path = lsql_calloc(c->path_len + 3, sizeof **path);
  if (!*path) rc = lsql_err_oom(err);
  for (size_t i = 0; rc == LSQL_OK && i < c->path_len; i++)
    if (!((*path)[i] = lsql_strdup(c->path[i]))) rc = lsql_err_oom(err);
  pthread_mutex_unlock(&s->cache_mu);
  if (rc != LSQL_OK) {
    lsql_strv_free(*path);
    *path = NULL;
  }
  return rc;
}

int lsql_sql_resolve(lsql_session *s, const char *const *parts, size_t n_parts, char **cat,
                     char **sch, char **tbl, lsql_namespace **ns, char ***id, size_t *id_len,
                     lsql_error *err) {
  *cat = *sch = *tbl = NULL;
  *id = NULL;
  *id_len = 0;
  const char *c, *sc, *t;
  if (n_parts == 3) {
    c = parts[0]; sc = parts[1]; t = parts[2];
  } else if (n_parts == 2) {
    if (!s->default_catalog)
      return lsql_err(err, LSQL_ENOTFOUND, "table %s.%s not found (no default catalog; use catalog.schema.table)", parts[0], parts[1]);
    c = s->default_catalog; sc = parts[0]; t = parts[1];
  } else if (n_parts == 1) {
    if (!s->default_schema)
      return lsql_err(err, LSQL_ENOTFOUND, "table %s not found (no default schema; use catalog.schema.table)", parts[0]);
    c = s->default_catalog; sc = s->default_schema; t = parts[0];
  } else {
    return lsql_err(err, LSQL_EINVAL, "bad table name");
  }
  char **path;
  size_t plen;
  LSQL_TRY(lsql_sql_find_catalog(s, c, ns, &path, &plen, err));
  int rc = LSQL_OK, exists = 0;
  path[plen] = lsql_strdup(sc);
  if (!path[plen]) rc = lsql_err_oom(err);
  if (rc == LSQL_OK) rc = lsql_namespace_exists(*ns, (const char *const *)path, plen + 1, &exists, err);
  if (rc == LSQL_OK && !exists) rc = lsql_err(err, LSQL_ENOTFOUND, "schema %s.%s not found", c, sc);
  if (rc == LSQL_OK && !(path[plen + 1] = lsql_strdup(t))) rc = lsql_err_oom(err);
  if (rc == LSQL_OK) rc = lsql_namespace_table_exists(*ns, (const char *const *)path, plen + 2, &exists, err);
  if (rc == LSQL_OK && !exists) rc = lsql_err(err, LSQL_ENOTFOUND, "table %s.%s.%s not found", c, sc, t);
  if (rc == LSQL_OK) {
    *cat = lsql_strdup(c);
    *sch = lsql_strdup(sc);
    *tbl = lsql_strdup(t);
    if (!*cat || !*sch || !*tbl) rc = lsql_err_oom(err);
  }
  if (rc != LSQL_OK) {
    lsql_strv_free(path);
    lsql_free(*cat); lsql_free(*sch); lsql_free(*tbl);
    *cat = *sch = *tbl = NULL;
    return rc;
  }
  *id = path;
  *id_len = plen + 2;
  return LSQL_OK;
}

/* ---- dataset cache ------------------------------------------------------------------------- */

void lsql_sql_table_unref(lsql_sql_table *t) {
  if (!t || atomic_fetch_sub(&t->refs, 1) != 1) return;
  lsql_dataset_free(t->ds);
  lsql_arrow_schema_reset(&t->schema);
  lsql_free(t->key);
  lsql_free(t);
}

static int table_open(lsql_session *s, lsql_namespace *ns, char **id, size_t id_len, int64_t version, const char *tag,
                      const char *key, lsql_sql_table **out, lsql_error *err) {
  *out = NULL;
  lsql_open_options o = {0};
  o.version = version;
  o.tag = tag;
  lsql_dataset *ds = NULL;
  atomic_fetch_add(&s->n_dataset_opens, 1);
  LSQL_TRY(lsql_namespace_open_table(ns, (const char *const *)id, id_len, &o, &ds, err));
  lsql_sql_table *t = lsql_calloc(1, sizeof *t);
  int rc = t ? LSQL_OK : lsql_err_oom(err);
  if (rc == LSQL_OK) {
    atomic_init(&t->refs, 1);
    t->ds = ds;
    t->version = lsql_dataset_version(ds);
    rc = lsql_dataset_count_rows(ds, &t->rows, err);
    /* Column types come from what the scan returns (blob descriptions), not the declared schema. */
    if (rc == LSQL_OK) rc = lsql_table_scan_schema(ds, &t->schema, err);
    if (rc == LSQL_OK && !(t->key = lsql_strdup(key))) rc = lsql_err_oom(err);
    if (rc != LSQL_OK) lsql_sql_table_unref(t);
  } else {
    lsql_dataset_free(ds);
  }
  if (rc == LSQL_OK) *out = t;
  return rc;
}

int lsql_sql_table_get(lsql_session *s, const char *name, int64_t version, const char *tag,
                       lsql_sql_table **out, lsql_error *err) {
  *out = NULL;
  char **parts;
  size_t n;
  LSQL_TRY(lsql_sql_split_name(name, &parts, &n, err));
  char *cat, *sch, *tbl, **id;
  size_t id_len;
  lsql_namespace *ns;
  int rc = lsql_sql_resolve(s, (const char *const *)parts, n, &cat, &sch, &tbl, &ns, &id, &id_len, err);
  lsql_strv_free(parts);
  if (rc != LSQL_OK) return rc;
  char *qn = quoted_name(cat, sch, tbl);
  char *key = NULL;
  if (qn) key = tag ? lsql_sprintf("%s#%s", qn, tag) : lsql_sprintf("%s@%lld", qn, (long long)version);
  if (!key) rc = lsql_err_oom(err);
  uint64_t epoch = atomic_load(&s->epoch);
  lsql_sql_table *hit = NULL;
  if (rc == LSQL_OK && !tag) {
    pthread_mutex_lock(&s->cache_mu);
    for (size_t i = 0; i < s->n_cache; i++)
      if (!strcmp(s->cache[i]->key, key)) {
        hit = s->cache[i];
        /* Pinned versions never change; "latest" is re-checked once per statement epoch. */
        if (version > 0 || hit->checked_epoch == epoch) atomic_fetch_add(&hit->refs, 1);
        else hit = NULL;
        break;
      }
    pthread_mutex_unlock(&s->cache_mu);
  }
  if (rc == LSQL_OK && !hit) {
    lsql_sql_table *t = NULL;
    rc = table_open(s, ns, id, id_len, version, tag, key, &t, err);
    if (rc != LSQL_OK) {
      lsql_error_prefix(err, "%s.%s.%s: ", cat, sch, tbl);
    } else if (tag) {
      hit = t; /* tags may move: not cached */
    } else {
      t->checked_epoch = epoch;
      pthread_mutex_lock(&s->cache_mu);
      size_t i;
      for (i = 0; i < s->n_cache; i++)
        if (!strcmp(s->cache[i]->key, key)) break;
      if (i < s->n_cache && s->cache[i]->version == t->version) {
        /* Unchanged: keep the older handle (warm caches) and mark it checked. */
        s->cache[i]->checked_epoch = epoch;
        hit = s->cache[i];
        atomic_fetch_add(&hit->refs, 1);
        pthread_mutex_unlock(&s->cache_mu);
        lsql_sql_table_unref(t);
      } else {
        bool cached = true;
        if (i < s->n_cache) {
          lsql_sql_table_unref(s->cache[i]);
          s->cache[i] = t;
        } else {
          if (s->n_cache == s->cap_cache) {
            size_t nc = s->cap_cache ? 2 * s->cap_cache : 16;
            lsql_sql_table **c2 = lsql_realloc(s->cache, nc * sizeof *c2);
            if (c2) { s->cache = c2; s->cap_cache = nc; }
          }
          if (s->n_cache < s->cap_cache) s->cache[s->n_cache++] = t;
          else cached = false; /* out of memory: the caller owns the only reference */
        }
        if (cached) atomic_fetch_add(&t->refs, 1);
        hit = t;
        pthread_mutex_unlock(&s->cache_mu);
      }
    }
  }
  lsql_free(qn);
  lsql_free(key);
  lsql_free(cat); lsql_free(sch); lsql_free(tbl);
  lsql_strv_free(id);
  if (rc == LSQL_OK) *out = hit;
  return rc;
}

/* ---- lazily created DuckDB objects ---------------------------------------------------------- */

typedef struct created_obj { char *key; uint64_t version; } created_obj;

static long created_find(lsql_session *s, const char *key) {
  created_obj *c = (created_obj *)s->created;
  for (size_t i = 0; i < s->n_created; i++)
    if (!strcmp(c[i].key, key)) return (long)i;
  return -1;
}

static int created_add(lsql_session *s, const char *key, uint64_t version) {
  if (s->n_created == s->cap_created) {
    size_t nc = s->cap_created ? 2 * s->cap_created : 16;
    void *p = lsql_realloc(s->created, nc * sizeof(created_obj));
    if (!p) return LSQL_ENOMEM;
    s->created = p;
    s->cap_created = nc;
  }
  created_obj *c = (created_obj *)s->created;
  if (!(c[s->n_created].key = lsql_strdup(key))) return LSQL_ENOMEM;
  c[s->n_created++].version = version;
  return LSQL_OK;
}

/* Makes sure catalog `c` (and schema `sc`, when non-NULL) exist in DuckDB. ddl_mu held. */
static int ensure_schema(lsql_session *s, const char *c, const char *sc, lsql_error *err) {
  lsql_buf b = LSQL_BUF_INIT;
  int rc = LSQL_OK;
  if (created_find(s, c) < 0) {
    if (lsql_buf_append_str(&b, "ATTACH ':memory:' AS ") || append_ident(&b, c) || lsql_buf_append(&b, "", 1))
      rc = lsql_err_oom(err);
    if (rc == LSQL_OK) rc = run_ddl(s, (char *)b.data, err);
    if (rc == LSQL_OK && created_add(s, c, 0)) rc = lsql_err_oom(err);
    b.len = 0;
  }
  if (rc == LSQL_OK && sc) {
    char *key = lsql_sprintf("%s\x1f%s", c, sc);
    if (!key) rc = lsql_err_oom(err);
    if (rc == LSQL_OK && created_find(s, key) < 0) {
      if (lsql_buf_append_str(&b, "CREATE SCHEMA IF NOT EXISTS ") || append_ident(&b, c) ||
          lsql_buf_append(&b, ".", 1) || append_ident(&b, sc) || lsql_buf_append(&b, "", 1))
        rc = lsql_err_oom(err);
      if (rc == LSQL_OK) rc = run_ddl(s, (char *)b.data, err);
      if (rc == LSQL_OK && created_add(s, key, 0)) rc = lsql_err_oom(err);
    }
    lsql_free(key);
  }
  lsql_buf_free(&b);
  return rc;
}

/* A name for the views' dummy column that no top-level column has (DuckDB names are
 * case-insensitive). */
static char *dummy_name(const struct ArrowSchema *schema) {
  char *name = lsql_strdup("__lance_rows");
  for (bool clash = true; name && clash;) {
    clash = false;
    for (int64_t i = 0; i < schema->n_children && !clash; i++) {
      const char *c = schema->children[i]->name;
      if (c && !strcasecmp(c, name)) clash = true;
    }
    if (clash) {
      char *longer = lsql_sprintf("%s_", name);
      lsql_free(name);
      name = longer;
    }
  }
  return name;
}

/* Resolves a table named by a query and (re)creates its view when it is new or its dataset moved
 * to another version since the view was made. */
static int ensure_view(lsql_session *s, const char *const *parts, size_t n, lsql_error *err) {
  char *cat, *sch, *tbl, **id;
  size_t id_len;
  lsql_namespace *ns;
  LSQL_TRY(lsql_sql_resolve(s, parts, n, &cat, &sch, &tbl, &ns, &id, &id_len, err));
  lsql_strv_free(id);
  char *qn = quoted_name(cat, sch, tbl);
  char *key = lsql_sprintf("%s\x1f%s\x1f%s", cat, sch, tbl);
  lsql_sql_table *t = NULL;
  int rc = (qn && key) ? LSQL_OK : lsql_err_oom(err);
  if (rc == LSQL_OK) rc = lsql_sql_table_get(s, qn, 0, NULL, &t, err);
  if (rc == LSQL_OK) {
    pthread_mutex_lock(&s->ddl_mu);
    rc = ensure_schema(s, cat, sch, err);
    long at = created_find(s, key);
    created_obj *co = (created_obj *)s->created;
    if (rc == LSQL_OK && (at < 0 || co[at].version != t->version)) {
      /* The view reads __lance_view_scan, whose leading dummy column (excluded here) is what
       * DuckDB projects when a query needs no column, so count(*) decodes nothing. */
      char *dummy = dummy_name(&t->schema);
      lsql_buf b = LSQL_BUF_INIT;
      if (!dummy || lsql_buf_append_str(&b, "CREATE OR REPLACE VIEW ") || lsql_buf_append_str(&b, qn) ||
          lsql_buf_append_str(&b, " AS SELECT * EXCLUDE (") || append_ident(&b, dummy) ||
          lsql_buf_append_str(&b, ") FROM __lance_view_scan(") || append_literal(&b, qn) ||
          lsql_buf_append_str(&b, ", ") || append_literal(&b, dummy) || lsql_buf_append(&b, ")", 2))
        rc = lsql_err_oom(err);
      lsql_free(dummy);
      if (rc == LSQL_OK) rc = run_ddl(s, (char *)b.data, err);
      lsql_buf_free(&b);
      if (rc == LSQL_OK) {
        if (at >= 0) ((created_obj *)s->created)[at].version = t->version;
        else if (created_add(s, key, t->version)) rc = lsql_err_oom(err);
      }
    }
    pthread_mutex_unlock(&s->ddl_mu);
  }
  lsql_sql_table_unref(t);
  lsql_free(qn);
  lsql_free(key);
  lsql_free(cat); lsql_free(sch); lsql_free(tbl);
  return rc;
}

/* ---- statements: split, classify, table references ------------------------------------------ */

typedef struct stmt_text { const char *p; size_t n; } stmt_text;

/* Splits at top-level semicolons (outside quotes and comments). */
static int split_statements(const char *sql, stmt_text **out, size_t *n_out) {
  size_t cap = 4, n = 0;
  stmt_text *v = lsql_calloc(cap, sizeof *v);
  if (!v) return LSQL_ENOMEM;
  const char *p = sql, *start = sql;
  for (;;) {
    char ch = *p;
    if (ch == '\'' || ch == '"') {
      p++;
      while (*p && !(*p == ch && p[1] != ch)) p += (*p == ch) ? 2 : 1;
      if (*p) p++;
      continue;
    }
    if (ch == '-' && p[1] == '-') { while (*p && *p != '\n') p++; continue; }
    if (ch == '/' && p[1] == '*') {
      p += 2;
      while (*p && !(*p == '*' && p[1] == '/')) p++;
      if (*p) p += 2;
      continue;
    }
    if (ch == ';' || ch == '\0') {
      const char *a = start, *e = p;
      /* Trim whitespace; skip statements that are only whitespace/comments later. */
      while (a < e && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')) a++;
      if (a < e) {
        if (n == cap) {
          stmt_text *v2 = lsql_realloc(v, 2 * cap * sizeof *v);
          if (!v2) { lsql_free(v); return LSQL_ENOMEM; }
          v = v2;
          cap *= 2;
        }
        v[n].p = a;
        v[n].n = (size_t)(e - a);
        n++;
      }
      if (ch == '\0') break;
      start = p + 1;
    }
    p++;
  }
  *out = v;
  *n_out = n;
  return LSQL_OK;
}

/* First keyword of a statement (skipping comments, whitespace and '('), upper-cased. */
static const char *first_keyword(const char *p, size_t n, char *kw, size_t cap) {
  const char *e = p + n;
  for (;;) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '(')) p++;
    if (p + 1 < e && p[0] == '-' && p[1] == '-') { while (p < e && *p != '\n') p++; continue; }
    if (p + 1 < e && p[0] == '/' && p[1] == '*') {
      p += 2;
      while (p + 1 < e && !(p[0] == '*' && p[1] == '/')) p++;
      p = p + 2 <= e ? p + 2 : e;
      continue;
    }
    break;
  }
  size_t k = 0;
  while (p < e && k + 1 < cap && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_')) {
    char c = *p++;
    kw[k++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
  }
  kw[k] = '\0';
  return p;
}

static const char *const WRITE_KEYWORDS[] = {
  "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "COPY", "INSTALL",
  "LOAD", "SET", "RESET", "PRAGMA", "CALL", "USE", "VACUUM", "CHECKPOINT", "FORCE", "EXPORT",
  "IMPORT", "TRUNCATE", "MERGE", "BEGIN", "COMMIT", "ROLLBACK", "START", "ABORT", "PREPARE",
  "EXECUTE", "DEALLOCATE", "ANALYZE", "COMMENT", "UPDATE_EXTENSIONS", "PIVOT", "UNPIVOT", NULL};

static const char *statement_type_name(duckdb_statement_type t) {
  switch (t) {
    case DUCKDB_STATEMENT_TYPE_INSERT: return "INSERT";
    case DUCKDB_STATEMENT_TYPE_UPDATE: return "UPDATE";
    case DUCKDB_STATEMENT_TYPE_DELETE: return "DELETE";
    case DUCKDB_STATEMENT_TYPE_CREATE: return "CREATE";
    case DUCKDB_STATEMENT_TYPE_DROP: return "DROP";
    case DUCKDB_STATEMENT_TYPE_ALTER: return "ALTER";
    case DUCKDB_STATEMENT_TYPE_COPY: return "COPY";
    case DUCKDB_STATEMENT_TYPE_ATTACH: return "ATTACH";
    case DUCKDB_STATEMENT_TYPE_DETACH: return "DETACH";
    case DUCKDB_STATEMENT_TYPE_SET: return "SET";
    case DUCKDB_STATEMENT_TYPE_PRAGMA: return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_CALL: return "CALL";
    case DUCKDB_STATEMENT_TYPE_LOAD: return "LOAD";
    case DUCKDB_STATEMENT_TYPE_TRANSACTION: return "transaction";
    case DUCKDB_STATEMENT_TYPE_EXPORT: return "EXPORT";
    case DUCKDB_STATEMENT_TYPE_VACUUM: return "VACUUM";
    default: return "non-SELECT";
  }
}

typedef struct ref_list {
  char **parts;   /* 3 per ref: catalog, schema, table ("" when absent) */
  size_t n, cap;
  char **ctes;
  size_t n_ctes, cap_ctes;
} ref_list;

static int push_str(char ***v, size_t *n, size_t *cap, const char *s) {
  if (*n == *cap) {
    size_t nc = *cap ? 2 * *cap : 16;
    char **v2 = lsql_realloc(*v, nc * sizeof *v2);
    if (!v2) return LSQL_ENOMEM;
    *v = v2;
    *cap = nc;
  }
  if (!((*v)[*n] = lsql_strdup(s ? s : ""))) return LSQL_ENOMEM;
  (*n)++;
  return LSQL_OK;
}

static int collect_refs(json_t *j, ref_list *r) {
  if (json_is_array(j)) {
    size_t i;
    json_t *x;
    json_array_foreach(j, i, x) LSQL_TRY(collect_refs(x, r));
    return LSQL_OK;
  }
  if (!json_is_object(j)) return LSQL_OK;
  const char *type = json_string_value(json_object_get(j, "type"));
  if (type && !strcmp(type, "BASE_TABLE")) {
    size_t n3 = r->n;
    LSQL_TRY(push_str(&r->parts, &r->n, &r->cap, json_string_value(json_object_get(j, "catalog_name"))));
    LSQL_TRY(push_str(&r->parts, &r->n, &r->cap, json_string_value(json_object_get(j, "schema_name"))));
    LSQL_TRY(push_str(&r->parts, &r->n, &r->cap, json_string_value(json_object_get(j, "table_name"))));
    (void)n3;
  }
  json_t *cte = json_object_get(j, "cte_map");
  if (cte) {
    json_t *m = json_object_get(cte, "map");
    size_t i;
    json_t *x;
    json_array_foreach(m, i, x) {
      const char *k = json_string_value(json_object_get(x, "key"));
      if (k) LSQL_TRY(push_str(&r->ctes, &r->n_ctes, &r->cap_ctes, k));
    }
  }
  const char *key;
  json_t *val;
  json_object_foreach(j, key, val) LSQL_TRY(collect_refs(val, r));
  return LSQL_OK;
}

static void ref_list_free(ref_list *r) {
  for (size_t i = 0; i < r->n; i++) lsql_free(r->parts[i]);
  for (size_t i = 0; i < r->n_ctes; i++) lsql_free(r->ctes[i]);
  lsql_free(r->parts);
  lsql_free(r->ctes);
}

static bool is_system_ref(const char *c, const char *sc) {
  return !strcasecmp(sc, "information_schema") || !strcasecmp(sc, "pg_catalog") ||
         !strcasecmp(c, "system") || !strcasecmp(c, "temp") ||
         (!*c && !strcasecmp(sc, "main"));
}

/* information_schema needs every table's columns, so a statement that reads it first gets a view
 * for every table of the namespaces (this reads each manifest, not data). A table that cannot be
 * opened is left out rather than failing the whole listing; SHOW ALL TABLES and lance_tables()
 * list names without opening anything. */
static int ensure_all_views(lsql_session *s, lsql_error *err) {
  char **rows;
  size_t n;
  LSQL_TRY(lsql_sql_list_all_tables(s, &rows, &n, err));
  int rc = LSQL_OK;
  for (size_t i = 0; i < n; i++) {
    if (rc == LSQL_OK) {
      lsql_error e = {0};
      const char *parts[3] = {rows[3 * i], rows[3 * i + 1], rows[3 * i + 2]};
      int vrc = ensure_view(s, parts, 3, &e);
      if (vrc == LSQL_ENOMEM || vrc == LSQL_ECANCELLED) rc = lsql_err(err, vrc, "%s", e.message);
    }
    for (int k = 0; k < 3; k++) lsql_free(rows[3 * i + k]);
  }
  lsql_free(rows);
  return rc;
}

/* Parses one statement (parser only) and creates the views of the tables it names. */
static int resolve_statement(lsql_session *s, duckdb_connection con, const char *text, size_t n,
                             lsql_error *err) {
  char *sql = lsql_strndup(text, n);
  if (!sql) return lsql_err_oom(err);
  /* EXPLAIN [ANALYZE] wraps a SELECT the serializer accepts. */
  char kw[32];
  const char *after = first_keyword(sql, n, kw, sizeof kw);
  const char *body = sql;
  if (!strcmp(kw, "EXPLAIN")) {
    body = after;
    char kw2[32];
    after = first_keyword(body, strlen(body), kw2, sizeof kw2);
    if (!strcmp(kw2, "ANALYZE")) body = after;
  }
  duckdb_prepared_statement ps = NULL;
  int rc = LSQL_OK;
  duckdb_result res;
  bool have_res = false;
  if (duckdb_prepare(con, "SELECT json_serialize_sql($1::VARCHAR)", &ps) != DuckDBSuccess ||
      duckdb_bind_varchar(ps, 1, body) != DuckDBSuccess) {
    rc = duck_err(err, LSQL_ESQL, duckdb_prepare_error(ps));
  } else if (duckdb_execute_prepared(ps, &res) != DuckDBSuccess) {
    have_res = true;
    rc = duck_err(err, LSQL_ESQL, duckdb_result_error(&res));
  } else {
    have_res = true;
  }
  char *js = NULL;
  if (rc == LSQL_OK) {
    duckdb_data_chunk ch = duckdb_fetch_chunk(res);
    if (ch) {
      duckdb_vector v = duckdb_data_chunk_get_vector(ch, 0);
      duckdb_string_t *str = duckdb_vector_get_data(v);
      if (duckdb_data_chunk_get_size(ch) > 0)
        js = lsql_strndup(duckdb_string_t_data(&str[0]), duckdb_string_t_length(str[0]));
      duckdb_destroy_data_chunk(&ch);
    }
  }
  if (have_res) duckdb_destroy_result(&res);
  duckdb_destroy_prepare(&ps);
  lsql_free(sql);
  if (rc != LSQL_OK) return rc;
  if (!js) return LSQL_OK;
  json_error_t je;
  json_t *root = json_loads(js, JSON_DECODE_INT_AS_REAL, &je); /* locations reach 2^64-1 */
  lsql_free(js);
  if (!root) return LSQL_OK;
  if (json_is_true(json_object_get(root, "error"))) {
    /* A statement the serializer refuses is not a query (e.g. WITH ... INSERT); syntax errors
     * are left to the prepare below, which reports them with context. */
    const char *m = json_string_value(json_object_get(root, "error_message"));
    if (m && strstr(m, "Only SELECT statements"))
      rc = lsql_err(err, LSQL_EREADONLY, "read-only session: only SELECT and EXPLAIN statements are allowed");
    json_decref(root);
    return rc;
  }
  ref_list r = {0};
  if (collect_refs(json_object_get(root, "statements"), &r) != LSQL_OK) rc = lsql_err_oom(err);
  json_decref(root);
  bool info_schema = false;
  for (size_t i = 0; rc == LSQL_OK && i < r.n; i += 3)
    if (!strcasecmp(r.parts[i + 1], "information_schema")) info_schema = true;
  if (rc == LSQL_OK && info_schema) rc = ensure_all_views(s, err);
  for (size_t i = 0; rc == LSQL_OK && i < r.n; i += 3) {
    const char *c = r.parts[i], *sc = r.parts[i + 1], *t = r.parts[i + 2];
    if (is_system_ref(c, sc)) continue;
    /* 'path/to/file.csv' style replacement scans: left to DuckDB (and its sandbox). */
    if (!*c && !*sc && (strchr(t, '/') || strchr(t, '.') || strchr(t, ':'))) continue;
    if (!*c && !*sc) {
      bool cte = false;
      for (size_t k = 0; k < r.n_ctes && !cte; k++) cte = !strcmp(r.ctes[k], t);
      if (cte) continue;
    }
    const char *parts[3];
    size_t np = 0;
    if (*c) parts[np++] = c;
    if (*sc || *c) parts[np++] = sc;
    parts[np++] = t;
    rc = ensure_view(s, parts, np, err);
  }
  ref_list_free(&r);
  return rc;
}

/* ---- sessions ------------------------------------------------------------------------------- */

static void session_destroy(lsql_session *s) {
  if (s->ddl) duckdb_disconnect(&s->ddl);
  if (s->db) duckdb_close(&s->db);
  for (size_t i = 0; i < s->n_cache; i++) lsql_sql_table_unref(s->cache[i]);
  lsql_free(s->cache);
  created_obj *co = (created_obj *)s->created;
  for (size_t i = 0; i < s->n_created; i++) lsql_free(co[i].key);
  lsql_free(s->created);
  for (size_t i = 0; i < s->n_catalogs; i++) catalog_clear(&s->catalogs[i]);
  lsql_free(s->catalogs);
  lsql_namespace_unref(s->root);
  lsql_free(s->default_catalog);
  lsql_free(s->default_schema);
  lsql_free(s->queries);
  pthread_mutex_destroy(&s->ddl_mu);
  pthread_mutex_destroy(&s->cache_mu);
  pthread_mutex_destroy(&s->conn_mu);
  lsql_free(s);
}

static void session_unref(lsql_session *s) {
  if (s && atomic_fetch_sub(&s->refs, 1) == 1) session_destroy(s);
}

void lsql_session_free(lsql_session *s) { session_unref(s); }

static int set_config(duckdb_config cfg, const char *k, const char *v, lsql_error *err) {
  if (duckdb_set_config(cfg, k, v) != DuckDBSuccess)
    return lsql_err(err, LSQL_EINVAL, "DuckDB rejected option %s=%s", k, v);
  return LSQL_OK;
}

int lsql_session_builder_build(lsql_session_builder *b, lsql_session **out, lsql_error *err) {
  if (out) *out = NULL;
  if (!b || !out) return lsql_err(err, LSQL_EINVAL, "build: builder and out are required");
  if (!b->root && b->n_catalogs == 0)
    return lsql_err(err, LSQL_EINVAL, "a session needs a root namespace or at least one catalog");
  lsql_session *s = lsql_calloc(1, sizeof *s);
  if (!s) return lsql_err_oom(err);
  atomic_init(&s->refs, 1);
  pthread_mutex_init(&s->ddl_mu, NULL);
  pthread_mutex_init(&s->cache_mu, NULL);
  pthread_mutex_init(&s->conn_mu, NULL);
  int rc = LSQL_OK;
  s->threads = b->threads > 0 ? b->threads : lsql_num_cpus();
  s->batch_size = b->batch_size;
  s->allow_external_access = b->allow_external_access;
  if (b->root) {
    lsql_namespace_ref(b->root);
    s->root = b->root;
  }
  s->catalogs = lsql_calloc(b->n_catalogs + 1, sizeof *s->catalogs);
  if (!s->catalogs) rc = lsql_err_oom(err);
  for (size_t i = 0; rc == LSQL_OK && i < b->n_catalogs; i++) {
    lsql_sql_catalog *c = &b->catalogs[i];
    if (catalog_init(&s->catalogs[i], c->name, c->ns, (const char *const *)c->path, c->path_len, true))
      rc = lsql_err_oom(err);
    else
      s->n_catalogs++;
  }
  if (rc == LSQL_OK && b->default_catalog && !(s->default_catalog = lsql_strdup(b->default_catalog))) rc = lsql_err_oom(err);
  if (rc == LSQL_OK && b->default_schema && !(s->default_schema = lsql_strdup(b->default_schema))) rc = lsql_err_oom(err);

  duckdb_config cfg = NULL;
  if (rc == LSQL_OK && duckdb_create_config(&cfg) != DuckDBSuccess) rc = lsql_err_oom(err);
  char threads[32];
  snprintf(threads, sizeof threads, "%d", s->threads);
  if (rc == LSQL_OK) rc = set_config(cfg, "threads", threads, err);
  if (rc == LSQL_OK && b->memory_limit) rc = set_config(cfg, "memory_limit", b->memory_limit, err);
  if (rc == LSQL_OK) rc = set_config(cfg, "temp_directory", b->temp_directory ? b->temp_directory : "", err);
  if (rc == LSQL_OK) rc = set_config(cfg, "autoload_known_extensions", "false", err);
  if (rc == LSQL_OK) rc = set_config(cfg, "autoinstall_known_extensions", "false", err);
  if (rc == LSQL_OK) rc = set_config(cfg, "enable_external_access", b->allow_external_access ? "true" : "false", err);
  if (rc == LSQL_OK) {
    char *open_err = NULL;
    if (duckdb_open_ext(NULL, &s->db, cfg, &open_err) != DuckDBSuccess) {
      rc = lsql_err(err, LSQL_ESQL, "could not open DuckDB: %s", open_err ? open_err : "?");
      s->db = NULL;
    }
    if (open_err) duckdb_free(open_err);
  }
  if (cfg) duckdb_destroy_config(&cfg);
  if (rc == LSQL_OK && duckdb_connect(s->db, &s->ddl) != DuckDBSuccess) {
    s->ddl = NULL;
    rc = lsql_err(err, LSQL_ESQL, "could not connect to DuckDB");
  }
  if (rc == LSQL_OK) rc = lsql_sql_register_functions(s, s->ddl, err);
  /* The default catalog and schema must exist before USE runs on query connections. */
  if (rc == LSQL_OK && s->default_catalog) {
    lsql_namespace *ns;
    char **path;
    size_t plen;
    rc = lsql_sql_find_catalog(s, s->default_catalog, &ns, &path, &plen, err);
    if (rc == LSQL_OK && s->default_schema) {
      int exists = 0;
      if (!(path[plen] = lsql_strdup(s->default_schema))) rc = lsql_err_oom(err);
      if (rc == LSQL_OK) rc = lsql_namespace_exists(ns, (const char *const *)path, plen + 1, &exists, err);
      if (rc == LSQL_OK && !exists)
        rc = lsql_err(err, LSQL_ENOTFOUND, "schema %s.%s not found", s->default_catalog, s->default_schema);
    }
    if (rc == LSQL_OK) lsql_strv_free(path);
    if (rc == LSQL_OK) {
      pthread_mutex_lock(&s->ddl_mu);
      rc = ensure_schema(s, s->default_catalog, s->default_schema, err);
      pthread_mutex_unlock(&s->ddl_mu);
    }
  }
  if (rc == LSQL_OK) rc = run_ddl(s, "SET lock_configuration = true", err);
  if (rc != LSQL_OK) {
    lsql_error_prefix(err, "session: ");
    session_destroy(s);
    return rc;
  }
  *out = s;
  return LSQL_OK;
}

/* ---- results ---------------------------------------------------------------------------------- */

typedef struct result_stream {
  lsql_session *s;
  lsql_sql_query *q;
  duckdb_result result;
  duckdb_arrow_options opts;
  char error[LSQL_ERROR_MESSAGE_LEN + 32];
  bool finished;
} result_stream;

void lsql_sql_query_unref(lsql_sql_query *q) {
  if (q && atomic_fetch_sub(&q->refs, 1) == 1) lsql_free(q);
}

lsql_sql_query *lsql_sql_query_find(lsql_session *s, idx_t conn_id) {
  lsql_sql_query *q = NULL;
  pthread_mutex_lock(&s->conn_mu);
  for (size_t i = 0; i < s->n_queries && !q; i++)
    if (s->queries[i]->conn_id == conn_id) {
      q = s->queries[i];
      atomic_fetch_add(&q->refs, 1);
    }
  pthread_mutex_unlock(&s->conn_mu);
  return q;
}

/* Opens a connection for one query and registers it (interrupt, progress). */
static int query_open(lsql_session *s, lsql_sql_query **out, lsql_error *err) {
  *out = NULL;
  lsql_sql_query *q = lsql_calloc(1, sizeof *q);
  if (!q) return lsql_err_oom(err);
  atomic_init(&q->refs, 1);
  if (duckdb_connect(s->db, &q->con) != DuckDBSuccess) {
    lsql_free(q);
    return lsql_err(err, LSQL_ESQL, "could not connect to DuckDB");
  }
  duckdb_client_context ctx = NULL;
  duckdb_connection_get_client_context(q->con, &ctx);
  q->conn_id = ctx ? duckdb_client_context_get_connection_id(ctx) : (idx_t)-1;
  if (ctx) duckdb_destroy_client_context(&ctx);
  pthread_mutex_lock(&s->conn_mu);
  int rc = LSQL_OK;
  if (s->n_queries == s->cap_queries) {
    size_t nc = s->cap_queries ? 2 * s->cap_queries : 8;
    lsql_sql_query **v = lsql_realloc(s->queries, nc * sizeof *v);
    if (!v) rc = LSQL_ENOMEM;
    else { s->queries = v; s->cap_queries = nc; }
  }
  if (rc == LSQL_OK) s->queries[s->n_queries++] = q;
  pthread_mutex_unlock(&s->conn_mu);
  if (rc != LSQL_OK) {
    duckdb_disconnect(&q->con);
    lsql_free(q);
    return lsql_err_oom(err);
  }
  *out = q;
  return LSQL_OK;
}

/* Unregisters and disconnects; the counters live on while a scan still holds a reference. */
static void query_close(lsql_session *s, lsql_sql_query *q) {
  pthread_mutex_lock(&s->conn_mu);
  for (size_t i = 0; i < s->n_queries; i++)
    if (s->queries[i] == q) {
      s->queries[i] = s->queries[--s->n_queries];
      break;
    }
  pthread_mutex_unlock(&s->conn_mu);
  duckdb_disconnect(&q->con);
  lsql_sql_query_unref(q);
}

static int rs_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  result_stream *p = st->private_data;
  idx_t n = duckdb_column_count(&p->result);
  duckdb_logical_type *types = calloc(n + 1, sizeof *types);
  const char **names = calloc(n + 1, sizeof *names);
  if (!types || !names) {
    free(types);
    free(names);
    snprintf(p->error, sizeof p->error, "out of memory");
    return 12; /* ENOMEM */
  }
  for (idx_t i = 0; i < n; i++) {
    types[i] = duckdb_column_logical_type(&p->result, i);
    names[i] = duckdb_column_name(&p->result, i);
  }
  duckdb_error_data e = duckdb_to_arrow_schema(p->opts, types, names, n, out);
  for (idx_t i = 0; i < n; i++) duckdb_destroy_logical_type(&types[i]);
  free(types);
  free(names);
  if (e) {
    snprintf(p->error, sizeof p->error, "%s", duckdb_error_data_message(e));
    duckdb_destroy_error_data(&e);
    return 5; /* EIO */
  }
  return 0;
}

static int rs_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  result_stream *p = st->private_data;
  memset(out, 0, sizeof *out);
  if (p->finished) return 0;
  duckdb_data_chunk ch = duckdb_fetch_chunk(p->result);
  if (!ch) {
    p->finished = true;
    atomic_store(&p->q->finished, true);
    const char *e = duckdb_result_error(&p->result);
    if (e && *e) {
      lsql_error le = {0};
      duck_err(&le, LSQL_ESQL, e);
      snprintf(p->error, sizeof p->error, "%s: %s", lsql_status_name(le.code), le.message);
      return le.code == LSQL_ECANCELLED ? 125 /* ECANCELED */ : 5;
    }
    return 0;
  }
  duckdb_error_data e = duckdb_data_chunk_to_arrow(p->opts, ch, out);
  duckdb_destroy_data_chunk(&ch);
  if (e) {
    snprintf(p->error, sizeof p->error, "%s", duckdb_error_data_message(e));
    duckdb_destroy_error_data(&e);
    memset(out, 0, sizeof *out);
    return 5;
  }
  return 0;
}

static const char *rs_last_error(struct ArrowArrayStream *st) {
  result_stream *p = st->private_data;
  return p->error[0] ? p->error : NULL;
}

static void rs_release(struct ArrowArrayStream *st) {
  result_stream *p = st->private_data;
  if (!p) return;
  if (p->opts) duckdb_destroy_arrow_options(&p->opts);
  duckdb_destroy_result(&p->result);
  query_close(p->s, p->q);
  session_unref(p->s);
  lsql_free(p);
  st->release = NULL;
  st->private_data = NULL;
}

/* ---- SHOW TABLES: listing without opening datasets -------------------------------------------- */

/* DuckDB answers SHOW [ALL] TABLES from its catalog, which only holds the views of tables that
 * queries have resolved. These statements are rewritten into queries over lance_tables(), which
 * lists names live from the namespaces and opens no dataset. */

typedef struct lexer { const char *p, *e; } lexer;

static void lex_space(lexer *l) {
  for (;;) {
    while (l->p < l->e && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r')) l->p++;
    if (l->p + 1 < l->e && l->p[0] == '-' && l->p[1] == '-') {
      while (l->p < l->e && *l->p != '\n') l->p++;
      continue;
    }
    if (l->p + 1 < l->e && l->p[0] == '/' && l->p[1] == '*') {
      l->p += 2;
      while (l->p + 1 < l->e && !(l->p[0] == '*' && l->p[1] == '/')) l->p++;
      l->p = l->p + 2 <= l->e ? l->p + 2 : l->e;
      continue;
    }
    return;
  }
}

/* Next identifier (bare, or "quoted" with "" escapes), lsql-allocated; *quoted tells which. NULL
 * when the next token is not an identifier (or out of memory: then *oom is set). */
static char *lex_ident(lexer *l, bool *quoted, bool *oom) {
  lex_space(l);
  lsql_buf b = LSQL_BUF_INIT;
  *quoted = false;
  if (l->p < l->e && *l->p == '"') {
    *quoted = true;
    l->p++;
    for (;;) {
      if (l->p >= l->e) { lsql_buf_free(&b); return NULL; }
      if (*l->p == '"' && l->p + 1 < l->e && l->p[1] == '"') { if (lsql_buf_append(&b, "\"", 1)) *oom = true; l->p += 2; continue; }
      if (*l->p == '"') { l->p++; break; }
      if (lsql_buf_append(&b, l->p, 1)) *oom = true;
      l->p++;
    }
  } else {
    while (l->p < l->e && ((*l->p >= 'a' && *l->p <= 'z') || (*l->p >= 'A' && *l->p <= 'Z') ||
                           (*l->p >= '0' && *l->p <= '9') || *l->p == '_')) {
      if (lsql_buf_append(&b, l->p, 1)) *oom = true;
      l->p++;
    }
  }
  if (*oom || lsql_buf_append(&b, "", 1) || (b.len <= 1 && !*quoted)) {
    if (b.len == 0 && !*oom) *oom = true;
    lsql_buf_free(&b);
    return NULL;
  }
  return lsql_buf_detach(&b);
}

static bool lex_keyword(lexer *l, const char *kw) {
  lexer save = *l;
  bool q, oom = false;
  char *w = lex_ident(l, &q, &oom);
  bool ok = w && !q && !strcasecmp(w, kw);
  lsql_free(w);
  if (!ok) *l = save;
  return ok;
}

static bool lex_end(lexer *l) {
  lex_space(l);
  return l->p >= l->e;
}

static const char SHOW_ALL_SQL[] =
  "SELECT l.catalog AS \"database\", l.schema AS \"schema\", l.name AS \"name\", c.column_names, "
  "c.column_types, false AS \"temporary\" FROM lance_tables() l LEFT JOIN (SELECT database_name, "
  "schema_name, table_name, list(column_name ORDER BY column_index) AS column_names, "
  "list(data_type ORDER BY column_index) AS column_types FROM duckdb_columns() GROUP BY ALL) c "
  "ON c.database_name = l.catalog AND c.schema_name = l.schema AND c.table_name = l.name "
  "ORDER BY 1, 2, 3";

/* "SELECT name FROM lance_tables(catalog := 'c'[, schema := 's']) ORDER BY name" */
static char *show_tables_sql(const char *cat, const char *sch) {
  lsql_buf b = LSQL_BUF_INIT;
  int rc;
  if (!cat) {
    rc = lsql_buf_append_str(&b, "SELECT CAST(NULL AS VARCHAR) AS name WHERE false");
  } else {
    rc = lsql_buf_append_str(&b, "SELECT name FROM lance_tables(catalog := ");
    if (!rc) rc = append_literal(&b, cat);
    if (!rc && sch) rc = lsql_buf_append_str(&b, ", schema := ");
    if (!rc && sch) rc = append_literal(&b, sch);
    if (!rc) rc = lsql_buf_append_str(&b, ") ORDER BY name");
  }
  if (!rc) rc = lsql_buf_append(&b, "", 1);
  if (rc) {
    lsql_buf_free(&b);
    return NULL;
  }
  return lsql_buf_detach(&b);
}

/* Sets *out to the rewritten text of a SHOW [ALL] TABLES [FROM cat[.sch]] statement, or NULL
 * when the statement is something else (left to DuckDB). */
static int rewrite_show(lsql_session *s, const char *text, size_t n, char **out, lsql_error *err) {
  *out = NULL;
  lexer l = {text, text + n};
  if (!lex_keyword(&l, "SHOW")) return LSQL_OK;
  if (lex_keyword(&l, "ALL")) {
    if (!lex_keyword(&l, "TABLES") || !lex_end(&l)) return LSQL_OK;
    if (!(*out = lsql_strdup(SHOW_ALL_SQL))) return lsql_err_oom(err);
    return LSQL_OK;
  }
  if (!lex_keyword(&l, "TABLES")) return LSQL_OK;
  if (lex_end(&l)) {
    /* The default schema, else the whole default catalog. */
    if (!(*out = show_tables_sql(s->default_catalog, s->default_schema))) return lsql_err_oom(err);
    return LSQL_OK;
  }
  if (!lex_keyword(&l, "FROM")) return LSQL_OK;
  bool q, oom = false;
  char *a = lex_ident(&l, &q, &oom), *b = NULL;
  lex_space(&l);
  if (a && l.p < l.e && *l.p == '.') {
    l.p++;
    b = lex_ident(&l, &q, &oom);
    if (!b) { lsql_free(a); a = NULL; }
  }
  int rc = LSQL_OK;
  if (oom) rc = lsql_err_oom(err);
  else if (a && lex_end(&l)) {
    const char *cat = a, *sch = b;
    if (!b) {
      /* One name: a catalog when one has that name, else a schema of the default catalog. */
      lsql_namespace *ns;
      char **path = NULL;
      size_t plen;
      lsql_error e2 = {0};
      int frc = lsql_sql_find_catalog(s, a, &ns, &path, &plen, &e2);
      lsql_strv_free(path);
      if (frc == LSQL_ENOTFOUND && s->default_catalog) {
        cat = s->default_catalog;
        sch = a;
      } else if (frc != LSQL_OK) {
        if (err) *err = e2;
        rc = frc;
      }
    }
    if (rc == LSQL_OK && !(*out = show_tables_sql(cat, sch))) rc = lsql_err_oom(err);
  }
  lsql_free(a);
  lsql_free(b);
  return rc;
}

/* Prepares every statement (after resolving its tables), refuses anything that is not a query,
 * runs all but the last, and leaves the last one's streaming result in *res. */
static int run_statements(lsql_session *s, duckdb_connection con, const char *sql, duckdb_result *res,
                          lsql_error *err) {
  stmt_text *st = NULL;
  size_t n = 0;
  if (split_statements(sql, &st, &n) != LSQL_OK) return lsql_err_oom(err);
  int rc = LSQL_OK;
  if (n == 0) rc = lsql_err(err, LSQL_EINVAL, "no SQL statement");
  for (size_t i = 0; rc == LSQL_OK && i < n; i++) {
    char kw[32];
    first_keyword(st[i].p, st[i].n, kw, sizeof kw);
    for (size_t k = 0; WRITE_KEYWORDS[k]; k++)
      if (!strcmp(kw, WRITE_KEYWORDS[k])) {
        rc = lsql_err(err, LSQL_EREADONLY, "read-only session: %s statements are not allowed", kw);
        break;
      }
  }
  /* SHOW [ALL] TABLES become queries over lance_tables(); the text is then rebuilt with
   * "\n;\n" separators (a statement may end in a -- comment). */
  char **rewritten = rc == LSQL_OK ? lsql_calloc(n + 1, sizeof *rewritten) : NULL;
  if (rc == LSQL_OK && !rewritten) rc = lsql_err_oom(err);
  bool any = false;
  for (size_t i = 0; rc == LSQL_OK && i < n; i++) {
    rc = rewrite_show(s, st[i].p, st[i].n, &rewritten[i], err);
    if (rewritten[i]) {
      st[i].p = rewritten[i];
      st[i].n = strlen(rewritten[i]);
      any = true;
    }
  }
  lsql_buf text = LSQL_BUF_INIT;
  for (size_t i = 0; rc == LSQL_OK && any && i < n; i++)
    if ((i && lsql_buf_append_str(&text, "\n;\n")) || lsql_buf_append(&text, st[i].p, st[i].n))
      rc = lsql_err_oom(err);
  if (rc == LSQL_OK && any && lsql_buf_append(&text, "", 1)) rc = lsql_err_oom(err);
  if (any && rc == LSQL_OK) sql = (const char *)text.data;
  for (size_t i = 0; rc == LSQL_OK && i < n; i++) rc = resolve_statement(s, con, st[i].p, st[i].n, err);
  for (size_t i = 0; rewritten && i < n; i++) lsql_free(rewritten[i]);
  lsql_free(rewritten);
  lsql_free(st);
  if (rc != LSQL_OK) {
    lsql_buf_free(&text);
    return rc;
  }

  duckdb_extracted_statements ex = NULL;
  idx_t ne = duckdb_extract_statements(con, sql, &ex);
  lsql_buf_free(&text); /* the extracted statements own their text */
  if (ne == 0) {
    rc = duck_err(err, LSQL_ESQL, ex ? duckdb_extract_statements_error(ex) : "could not parse SQL");
    duckdb_destroy_extracted(&ex);
    return rc;
  }
  duckdb_prepared_statement *ps = lsql_calloc(ne, sizeof *ps);
  if (!ps) {
    duckdb_destroy_extracted(&ex);
    return lsql_err_oom(err);
  }
  for (idx_t i = 0; rc == LSQL_OK && i < ne; i++) {
    if (duckdb_prepare_extracted_statement(con, ex, i, &ps[i]) != DuckDBSuccess) {
      /* Never ask a failed prepare for its type: DuckDB aborts the process. */
      rc = duck_err(err, LSQL_ESQL, duckdb_prepare_error(ps[i]));
      break;
    }
    duckdb_statement_type t = duckdb_prepared_statement_type(ps[i]);
    if (t != DUCKDB_STATEMENT_TYPE_SELECT && t != DUCKDB_STATEMENT_TYPE_EXPLAIN)
      rc = lsql_err(err, LSQL_EREADONLY, "read-only session: %s statements are not allowed", statement_type_name(t));
  }
  for (idx_t i = 0; rc == LSQL_OK && i + 1 < ne; i++) {
    duckdb_result r;
    if (duckdb_execute_prepared(ps[i], &r) != DuckDBSuccess) rc = duck_err(err, LSQL_ESQL, duckdb_result_error(&r));
    duckdb_destroy_result(&r);
  }
  if (rc == LSQL_OK) {
    duckdb_pending_result pend = NULL;
    if (duckdb_pending_prepared_streaming(ps[ne - 1], &pend) != DuckDBSuccess) {
      rc = duck_err(err, LSQL_ESQL, pend ? duckdb_pending_error(pend) : duckdb_prepare_error(ps[ne - 1]));
    } else if (duckdb_execute_pending(pend, res) != DuckDBSuccess) {
      rc = duck_err(err, LSQL_ESQL, duckdb_result_error(res));
      duckdb_destroy_result(res);
    }
    duckdb_destroy_pending(&pend);
  }
  for (idx_t i = 0; i < ne; i++) duckdb_destroy_prepare(&ps[i]);
  lsql_free(ps);
  duckdb_destroy_extracted(&ex);
  return rc;
}

int lsql_session_sql(lsql_session *s, const char *sql, struct ArrowArrayStream *out, lsql_error *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!s || !sql || !out) return lsql_err(err, LSQL_EINVAL, "session_sql: session, sql and out are required");
  atomic_fetch_add(&s->epoch, 1);
  lsql_sql_query *q = NULL;
  LSQL_TRY(query_open(s, &q, err));
  duckdb_connection con = q->con;
  int rc = LSQL_OK;
  if (s->default_catalog) {
    lsql_buf b = LSQL_BUF_INIT;
    if (lsql_buf_append_str(&b, "USE ") || append_ident(&b, s->default_catalog) ||
        (s->default_schema && (lsql_buf_append(&b, ".", 1) || append_ident(&b, s->default_schema))) ||
        lsql_buf_append(&b, "", 1))
      rc = lsql_err_oom(err);
    if (rc == LSQL_OK) {
      duckdb_result r;
      if (duckdb_query(con, (char *)b.data, &r) != DuckDBSuccess) rc = duck_err(err, LSQL_ESQL, duckdb_result_error(&r));
      duckdb_destroy_result(&r);
    }
    lsql_buf_free(&b);
  }
  result_stream *p = NULL;
  if (rc == LSQL_OK && !(p = lsql_calloc(1, sizeof *p))) rc = lsql_err_oom(err);
  if (rc == LSQL_OK) rc = run_statements(s, con, sql, &p->result, err);
  if (rc != LSQL_OK) {
    lsql_free(p);
    query_close(s, q);
    return rc;
  }
  p->s = s;
  p->q = q;
  p->opts = duckdb_result_get_arrow_options(&p->result);
  atomic_fetch_add(&s->refs, 1);
  out->get_schema = rs_get_schema;
  out->get_next = rs_get_next;
  out->get_last_error = rs_last_error;
  out->release = rs_release;
  out->private_data = p;
  return LSQL_OK;
}

void lsql_session_interrupt(lsql_session *s) {
  if (!s) return;
  atomic_fetch_add(&s->cancel_gen, 1);
  pthread_mutex_lock(&s->conn_mu);
  for (size_t i = 0; i < s->n_queries; i++) duckdb_interrupt(s->queries[i]->con);
  pthread_mutex_unlock(&s->conn_mu);
}

/* Rows emitted over the exact cardinality of the started scans, summed over the queries whose
 * results are still being produced (a finished but unreleased stream no longer counts). */
double lsql_session_progress(lsql_session *s) {
  if (!s) return -1.0;
  uint64_t done = 0, total = 0;
  pthread_mutex_lock(&s->conn_mu);
  for (size_t i = 0; i < s->n_queries; i++) {
    lsql_sql_query *q = s->queries[i];
    if (atomic_load(&q->finished)) continue;
    uint64_t t = atomic_load(&q->rows_total), d = atomic_load(&q->rows_done);
    total += t;
    done += d < t ? d : t;
  }
  pthread_mutex_unlock(&s->conn_mu);
  if (total == 0) return -1.0;
  return (double)done / (double)total;
}
