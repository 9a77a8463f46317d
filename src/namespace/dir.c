/* The "dir" namespace: tables as `{name}.lance` directories under a root (listing mode) and a
 * tree of namespaces and tables recorded in the Lance table `{root}/__manifest` (manifest mode);
 * both at once is the compatibility mode (the default), as in lance-namespace-impls dir.rs.
 * Table locations always come from __manifest rows (relative to root), never computed. */
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/io.h"
#include "namespace/namespace.h"

typedef struct dir_ns {
  char *root;     /* as given, trailing '/' stripped: listing-mode locations are built from it */
  char *root_url; /* file:///abs/root or the URI itself: manifest locations are joined to it */
  bool manifest_enabled;
  bool listing_enabled;
  char **storage; /* storage.* with the prefix stripped */
  lsql_store *store;
  pthread_mutex_t mu; /* guards the cached __manifest rows below */
  uint64_t manifest_version; /* 0: no __manifest (or not read yet) */
  lsql_ns_manifest_row *rows;
  size_t n_rows;
} dir_ns;

static void dir_destroy(void *p) {
  dir_ns *d = p;
  if (!d) return;
  lsql_free(d->root);
  lsql_free(d->root_url);
  lsql_strv_free(d->storage);
  lsql_store_unref(d->store);
  lsql_ns_manifest_rows_free(d->rows, d->n_rows);
  pthread_mutex_destroy(&d->mu);
  lsql_free(d);
}

/* Accepts the spellings Lance's str_to_bool does; anything else is an error rather than a
 * silent default. */
static int parse_bool(const char *key, const char *v, bool def, bool *out, lsql_error *err) {
  if (!v) {
    *out = def;
    return LSQL_OK;
  }
  static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0) return (*out = true), LSQL_OK;
    if (strcasecmp(v, no[i]) == 0) return (*out = false), LSQL_OK;
  }
  return lsql_err(err, LSQL_EINVAL, "dir namespace: property %s: '%s' is not a boolean", key, v);
}

static const char *dotted(const char *const *id, size_t n, char *buf, size_t cap) {
  return lsql_ns_id_dotted(id, n, buf, cap);
}

/* ---- listing mode ------------------------------------------------------------------------- */

/* Whether `{root}/{dirname}` holds a `.lance-deregistered` marker (*entries: how many entries it
 * has; a missing directory or a plain file has none). */
static int dir_table_dir_state(dir_ns *d, const char *dirname, size_t *entries, int *dereg,
                               lsql_error *err) {
  *entries = 0;
  *dereg = 0;
  char *path = lsql_path_join(d->root, dirname);
  if (!path) return lsql_err_oom(err);
  lsql_dirent *ents = NULL;
  size_t n = 0;
  int rc = lsql_store_list(d->store, path, &ents, &n, err);
  lsql_free(path);
  if (rc == LSQL_ENOTFOUND) return LSQL_OK;
  if (rc != LSQL_OK) return rc;
  for (size_t i = 0; i < n; i++)
    if (strcmp(ents[i].name, ".lance-deregistered") == 0) *dereg = 1;
  *entries = n;
  lsql_dirents_free(ents, n);
  return LSQL_OK;
}

/* A `{name}.lance` directory resolves to a table when it has at least one entry and no
 * `.lance-deregistered` marker. */
static int dir_table_dir_live(dir_ns *d, const char *dirname, int *live, lsql_error *err) {
  size_t n;
  int dereg;
  *live = 0;
  LSQL_TRY(dir_table_dir_state(d, dirname, &n, &dereg, err));
  *live = n > 0 && !dereg;
  return LSQL_OK;
}

/* Names listed for the `*.lance` entries at the root (unsorted, caller frees). As in the
 * reference, every entry whose name ends in ".lance" is listed (empty directories, plain files,
 * names that are not valid ids, even "" for a bare ".lance") except deregistered directories:
 * describe_table / table_exists then decide whether it is a table. */
static int dir_listing_tables(dir_ns *d, char ***names, size_t *n_names, lsql_error *err) {
  *names = NULL;
  *n_names = 0;
  lsql_dirent *ents = NULL;
  size_t n = 0;
  int rc = lsql_store_list(d->store, d->root, &ents, &n, err);
  if (rc == LSQL_ENOTFOUND) return LSQL_OK;
  if (rc != LSQL_OK) return rc;
  char **out = lsql_calloc(n ? n : 1, sizeof(char *));
  size_t k = 0;
  if (!out) rc = lsql_err_oom(err);
  for (size_t i = 0; rc == LSQL_OK && i < n; i++) {
    size_t len = strlen(ents[i].name);
    if (len < 6 || strcmp(ents[i].name + len - 6, ".lance") != 0) continue;
    if (ents[i].is_dir) {
      size_t entries;
      int dereg;
      rc = dir_table_dir_state(d, ents[i].name, &entries, &dereg, err);
      if (rc != LSQL_OK || dereg) continue;
    }
    if (!(out[k] = lsql_strndup(ents[i].name, len - 6))) rc = lsql_err_oom(err);
    else k++;
  }
  lsql_dirents_free(ents, n);
  if (rc != LSQL_OK) {
    for (size_t i = 0; i < k; i++) lsql_free(out[i]);
    lsql_free(out);
    return rc;
  }
  *names = out;
  *n_names = k;
  return LSQL_OK;
}

/* ---- manifest mode ------------------------------------------------------------------------ */

/* Highest committed version in `{root}/__manifest/_versions` (0 when there is none). Listing
 * one directory is the cheap check that decides whether the cached rows are still current. */
static int dir_manifest_latest(dir_ns *d, uint64_t *version, lsql_error *err) {
  *version = 0;
  char *path = lsql_path_join(d->root, "__manifest/_versions");
  if (!path) return lsql_err_oom(err);
  lsql_dirent *ents = NULL;
  size_t n = 0;
  int rc = lsql_store_list(d->store, path, &ents, &n, err);
  lsql_free(path);
  if (rc == LSQL_ENOTFOUND) return LSQL_OK;
  if (rc != LSQL_OK) return lsql_error_prefix(err, "__manifest: "), rc;
  for (size_t i = 0; i < n; i++) {
    uint64_t v;
    if (lsql_ns_manifest_file_version(ents[i].name, &v) && v > *version) *version = v;
  }
  lsql_dirents_free(ents, n);
  return LSQL_OK;
}

static int dir_manifest_read(dir_ns *d, uint64_t version, lsql_ns_manifest_row **rows,
                             size_t *n_rows, lsql_error *err) {
  *rows = NULL;
  *n_rows = 0;
  char *uri = lsql_path_join(d->root, "__manifest");
  if (!uri) return lsql_err_oom(err);
  lsql_open_options oo = {.version = (int64_t)version,
                          .storage_options = (const char *const *)d->storage};
  lsql_dataset *ds = NULL;
  int rc = lsql_dataset_open(uri, &oo, &ds, err);
  lsql_free(uri);
  if (rc != LSQL_OK) return lsql_error_prefix(err, "__manifest: "), rc;
  static const char *const cols[] = {"object_id", "object_type", "location", "metadata", NULL};
  lsql_scan_options so = {.columns = cols, .n_threads = 1, .ordered = 1};
  struct ArrowArrayStream st = {0};
  rc = lsql_dataset_scan(ds, &so, &st, err);
  lsql_dataset_free(ds);
  if (rc != LSQL_OK) return lsql_error_prefix(err, "__manifest: "), rc;
  struct ArrowSchema schema = {0};
  size_t cap = 0;
  if (st.get_schema(&st, &schema) != 0) {
    const char *m = st.get_last_error ? st.get_last_error(&st) : NULL;
    rc = lsql_err(err, LSQL_EIO, "__manifest: schema: %s", m ? m : "stream error");
  }
  while (rc == LSQL_OK) {
    struct ArrowArray batch = {0};
    if (st.get_next(&st, &batch) != 0) {
      const char *m = st.get_last_error ? st.get_last_error(&st) : NULL;
      rc = lsql_err(err, LSQL_EIO, "__manifest: %s", m ? m : "stream error");
      break;
    }
    if (!batch.release) break;
    rc = lsql_ns_manifest_add_batch(&schema, &batch, rows, n_rows, &cap, err);
    batch.release(&batch);
  }
  if (schema.release) schema.release(&schema);
  st.release(&st);
  if (rc != LSQL_OK) {
    lsql_ns_manifest_rows_free(*rows, *n_rows);
    *rows = NULL;
    *n_rows = 0;
    return rc;
  }
  return LSQL_OK;
}

/* Brings the cached rows up to the latest __manifest version. Caller holds d->mu. */
static int dir_refresh(dir_ns *d, lsql_error *err) {
  if (!d->manifest_enabled) return LSQL_OK;
  uint64_t latest;
  LSQL_TRY(dir_manifest_latest(d, &latest, err));
  if (latest == d->manifest_version) return LSQL_OK;
  lsql_ns_manifest_row *rows = NULL;
  size_t n = 0;
  if (latest > 0) LSQL_TRY(dir_manifest_read(d, latest, &rows, &n, err));
  lsql_ns_manifest_rows_free(d->rows, d->n_rows);
  d->rows = rows;
  d->n_rows = n;
  d->manifest_version = latest;
  return LSQL_OK;
}

static const lsql_ns_manifest_row *dir_find(dir_ns *d, const char *object_id, int is_table) {
  for (size_t i = 0; i < d->n_rows; i++)
    if (d->rows[i].is_table == is_table && strcmp(d->rows[i].object_id, object_id) == 0)
      return &d->rows[i];
  return NULL;
}

/* Whether namespace `id` exists; the root always does. Caller holds d->mu, rows refreshed. */
static int dir_ns_known(dir_ns *d, const char *const *id, size_t id_len, int *exists,
                        lsql_error *err) {
  *exists = 0;
  if (id_len == 0) return (*exists = 1), LSQL_OK;
  char *oid = lsql_ns_id_join(id, id_len, "$");
  if (!oid) return lsql_err_oom(err);
  *exists = dir_find(d, oid, 0) != NULL;
  lsql_free(oid);
  return LSQL_OK;
}

/* The reference lists a namespace that is not in __manifest as empty, but refuses child
 * namespaces outright while there is no __manifest at all. Caller holds d->mu. */
static int dir_list_missing(dir_ns *d, const char *const *id, size_t id_len, lsql_error *err) {
  char buf[256];
  if (d->manifest_version > 0) return LSQL_OK;
  return lsql_err(err, LSQL_ENOTFOUND,
                  "namespace %s not found (child namespace reads need an existing __manifest)",
                  dotted(id, id_len, buf, sizeof buf));
}

/* Common prologue: validates the id, refuses child namespaces without manifest mode, takes the
 * lock and refreshes. On LSQL_OK the caller must unlock. */
static int dir_begin(dir_ns *d, const char *const *id, size_t id_len, size_t max_listing_depth,
                     lsql_error *err) {
  LSQL_TRY(lsql_ns_check_id(id, id_len, "$", err));
  if (!d->manifest_enabled && id_len > max_listing_depth)
    return lsql_err(err, LSQL_EUNSUPPORTED,
                    "dir namespace: child namespaces need manifest mode (manifest_enabled=true)");
  pthread_mutex_lock(&d->mu);
  int rc = dir_refresh(d, err);
  if (rc != LSQL_OK) pthread_mutex_unlock(&d->mu);
  return rc;
}

/* Names of the direct children of `parent` (joined id, NULL for root) of one object type. */
static int dir_children(dir_ns *d, const char *parent, int is_table, char ***names, size_t *n,
                        lsql_error *err) {
  size_t plen = parent ? strlen(parent) : 0, k = 0;
  char **out = lsql_calloc(d->n_rows + 1, sizeof(char *));
  if (!out) return lsql_err_oom(err);
  for (size_t i = 0; i < d->n_rows; i++) {
    const char *oid = d->rows[i].object_id;
    if (d->rows[i].is_table != is_table) continue;
    const char *name = oid;
    if (parent) {
      if (strncmp(oid, parent, plen) != 0 || oid[plen] != '$') continue;
      name = oid + plen + 1;
    }
    if (strchr(name, '$')) continue;
    if (!(out[k] = lsql_strdup(name))) {
      for (size_t j = 0; j < k; j++) lsql_free(out[j]);
      lsql_free(out);
      return lsql_err_oom(err);
    }
    k++;
  }
  *names = out;
  *n = k;
  return LSQL_OK;
}

static void free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) lsql_free(names[i]);
  lsql_free(names);
}

/* Children (namespaces or tables) of namespace `id`, as the reference lists them, including its
 * answer for a missing namespace. Called with d->mu held (after dir_begin). */
static int dir_list_children(dir_ns *d, const char *const *id, size_t id_len, int is_table,
                             char ***names, size_t *n, lsql_error *err) {
  *names = NULL;
  *n = 0;
  int exists = 0, rc = dir_ns_known(d, id, id_len, &exists, err);
  if (rc == LSQL_OK && !exists) rc = dir_list_missing(d, id, id_len, err);
  char *parent = NULL;
  if (rc == LSQL_OK && id_len > 0 && !(parent = lsql_ns_id_join(id, id_len, "$")))
    rc = lsql_err_oom(err);
  if (rc == LSQL_OK) rc = dir_children(d, parent, is_table, names, n, err);
  lsql_free(parent);
  return rc;
}

static int dir_list_namespaces(lsql_namespace *ns, const char *const *id, size_t id_len,
                               const char *page_token, int32_t limit, lsql_string_list *out,
                               lsql_error *err) {
  dir_ns *d = ns->impl;
  LSQL_TRY(dir_begin(d, id, id_len, 0, err));
  char **names = NULL;
  size_t n = 0;
  int rc = dir_list_children(d, id, id_len, 0, &names, &n, err);
  pthread_mutex_unlock(&d->mu);
  if (rc != LSQL_OK) return rc;
  return lsql_ns_paginate(names, n, page_token, limit, out, err);
}

static int dir_list_tables(lsql_namespace *ns, const char *const *id, size_t id_len,
                           const char *page_token, int32_t limit, lsql_string_list *out,
                           lsql_error *err) {
  dir_ns *d = ns->impl;
  LSQL_TRY(dir_begin(d, id, id_len, 0, err));
  char **names = NULL;
  size_t n = 0;
  int rc = dir_list_children(d, id, id_len, 1, &names, &n, err);
  /* Root in compatibility mode: add the `{name}.lance` entries that no manifest table row
   * already points at, by relative or full location (as the reference deduplicates). */
  if (rc == LSQL_OK && id_len == 0 && d->listing_enabled) {
    char **dn = NULL;
    size_t dn_n = 0;
    rc = dir_listing_tables(d, &dn, &dn_n, err);
    if (rc == LSQL_OK) {
      char **grown = lsql_realloc(names, (n + dn_n + 1) * sizeof(char *));
      if (!grown) {
        rc = lsql_err_oom(err);
        free_names(dn, dn_n);
      } else {
        names = grown;
        size_t i = 0;
        for (; rc == LSQL_OK && i < dn_n; i++) {
          char *rel = lsql_sprintf("%s.lance", dn[i]);
          char *full = rel ? lsql_sprintf("%s/%s", d->root, rel) : NULL;
          bool dup = false;
          for (size_t j = 0; full && j < d->n_rows && !dup; j++)
            dup = d->rows[j].is_table && d->rows[j].location &&
                  (strcmp(d->rows[j].location, rel) == 0 || strcmp(d->rows[j].location, full) == 0);
          if (!full) rc = lsql_err_oom(err);
          lsql_free(rel);
          lsql_free(full);
          if (dup || rc != LSQL_OK) lsql_free(dn[i]);
          else names[n++] = dn[i];
        }
        for (; i < dn_n; i++) lsql_free(dn[i]);
        lsql_free(dn);
      }
    }
  }
  pthread_mutex_unlock(&d->mu);
  if (rc != LSQL_OK) {
    free_names(names, n);
    return rc;
  }
  return lsql_ns_paginate(names, n, page_token, limit, out, err);
}

/* Resolves a table to its location. Root-level ids: the `{name}.lance` directory first (as
 * the reference does by default), then the manifest; deeper ids: the manifest only. */
static int dir_resolve_table(dir_ns *d, const char *const *id, size_t id_len, char **location,
                             lsql_error *err) {
  char buf[256];
  *location = NULL;
  if (id_len == 1 && d->listing_enabled) {
    char *dirname = lsql_sprintf("%s.lance", id[0]);
    if (!dirname) return lsql_err_oom(err);
    int live = 0;
    int rc = dir_table_dir_live(d, dirname, &live, err);
    if (rc == LSQL_OK && live && !(*location = lsql_path_join(d->root, dirname))) rc = lsql_err_oom(err);
    lsql_free(dirname);
    if (rc != LSQL_OK || *location) return rc;
  }
  if (d->manifest_enabled) {
    char *oid = lsql_ns_id_join(id, id_len, "$");
    if (!oid) return lsql_err_oom(err);
    const lsql_ns_manifest_row *row = dir_find(d, oid, 1);
    lsql_free(oid);
    if (row) {
      int rc = row->location ? lsql_ns_check_relative_location(row->location, err)
                             : lsql_err(err, LSQL_ECORRUPT, "table location is null");
      if (rc != LSQL_OK)
        return lsql_error_prefix(err, "__manifest: table %s: ", dotted(id, id_len, buf, sizeof buf)), rc;
      if (!(*location = lsql_path_join(d->root_url, row->location))) return lsql_err_oom(err);
      return LSQL_OK;
    }
  }
  return lsql_err(err, LSQL_ENOTFOUND, "table %s not found", dotted(id, id_len, buf, sizeof buf));
}

static int dir_describe_table(lsql_namespace *ns, const char *const *id, size_t id_len,
                              lsql_table_desc *out, lsql_error *err) {
  dir_ns *d = ns->impl;
  LSQL_TRY(dir_begin(d, id, id_len, 1, err));
  int rc = dir_resolve_table(d, id, id_len, &out->location, err);
  pthread_mutex_unlock(&d->mu);
  if (rc != LSQL_OK) return rc;
  /* No storage options, as the reference (it vends none without a credential vendor): the
   * namespace's own storage.* options are applied by lsql_namespace_open_table instead. */
  out->storage_options = lsql_calloc(1, sizeof(char *));
  out->version = -1;
  if (!out->storage_options) return lsql_err_oom(err);
  return LSQL_OK;
}

static int dir_table_exists(lsql_namespace *ns, const char *const *id, size_t id_len,
                            int *exists, lsql_error *err) {
  dir_ns *d = ns->impl;
  LSQL_TRY(dir_begin(d, id, id_len, 1, err));
  char *loc = NULL;
  lsql_error e2 = {0};
  int rc = dir_resolve_table(d, id, id_len, &loc, &e2);
  pthread_mutex_unlock(&d->mu);
  lsql_free(loc);
  if (rc == LSQL_ENOTFOUND) return LSQL_OK;
  if (rc != LSQL_OK) {
    if (err) *err = e2;
    return rc;
  }
  *exists = 1;
  return LSQL_OK;
}

static int dir_namespace_exists(lsql_namespace *ns, const char *const *id, size_t id_len,
                                int *exists, lsql_error *err) {
  dir_ns *d = ns->impl;
  LSQL_TRY(dir_begin(d, id, id_len, 0, err));
  int rc = dir_ns_known(d, id, id_len, exists, err);
  pthread_mutex_unlock(&d->mu);
  return rc;
}

static int dir_describe_namespace(lsql_namespace *ns, const char *const *id, size_t id_len,
                                  char ***props, lsql_error *err) {
  dir_ns *d = ns->impl;
  char buf[256];
  LSQL_TRY(dir_begin(d, id, id_len, 0, err));
  int rc = LSQL_OK;
  const char *metadata = NULL;
  if (id_len > 0) {
    char *oid = lsql_ns_id_join(id, id_len, "$");
    const lsql_ns_manifest_row *row = oid ? dir_find(d, oid, 0) : NULL;
    lsql_free(oid);
    if (!oid) rc = lsql_err_oom(err);
    else if (!row)
      rc = lsql_err(err, LSQL_ENOTFOUND, "namespace %s not found", dotted(id, id_len, buf, sizeof buf));
    else metadata = row->metadata;
  }
  if (rc == LSQL_OK && metadata) {
    rc = lsql_ns_parse_properties(metadata, strlen(metadata), props, err);
    if (rc != LSQL_OK)
      lsql_error_prefix(err, "__manifest: namespace %s: metadata: ", dotted(id, id_len, buf, sizeof buf));
  } else if (rc == LSQL_OK && !(*props = lsql_calloc(1, sizeof(char *)))) {
    rc = lsql_err_oom(err);
  }
  pthread_mutex_unlock(&d->mu);
  return rc;
}

static const lsql_ns_vtable dir_vtable = {
    .name = "dir",
    .list_namespaces = dir_list_namespaces,
    .list_tables = dir_list_tables,
    .describe_table = dir_describe_table,
    .namespace_exists = dir_namespace_exists,
    .table_exists = dir_table_exists,
    .describe_namespace = dir_describe_namespace,
    .destroy = dir_destroy,
};

/* file:///abs/path for local roots (relative ones resolved against the working directory), the
 * URI itself otherwise: what the reference's URL join produces for manifest locations. */
static char *dir_root_url(const char *root) {
  if (strstr(root, "://")) return lsql_strdup(root);
  if (root[0] == '/') return lsql_sprintf("file://%s", root);
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return NULL;
  const char *rel = root;
  while (rel[0] == '.' && rel[1] == '/') rel += 2;
  if (strcmp(rel, ".") == 0 || !*rel) return lsql_sprintf("file://%s", cwd);
  return lsql_sprintf("file://%s/%s", cwd, rel);
}

int lsql_ns_dir_connect(const char *const *props, lsql_namespace **out, lsql_error *err) {
  *out = NULL;
  const char *root = lsql_kv_get(props, "root");
  if (!root || !*root) return lsql_err(err, LSQL_EINVAL, "dir namespace: property 'root' is required");
  dir_ns *d = lsql_calloc(1, sizeof *d);
  if (!d) return lsql_err_oom(err);
  pthread_mutex_init(&d->mu, NULL);
  int rc = parse_bool("manifest_enabled", lsql_kv_get(props, "manifest_enabled"), true,
                      &d->manifest_enabled, err);
  if (rc == LSQL_OK)
    rc = parse_bool("dir_listing_enabled", lsql_kv_get(props, "dir_listing_enabled"), true,
                    &d->listing_enabled, err);
  if (rc == LSQL_OK && !d->manifest_enabled && !d->listing_enabled)
    rc = lsql_err(err, LSQL_EINVAL,
                  "dir namespace: manifest_enabled and dir_listing_enabled cannot both be false");
  size_t rl = strlen(root);
  while (rl > 1 && root[rl - 1] == '/') rl--;
  if (rc == LSQL_OK && !(d->root = lsql_strndup(root, rl))) rc = lsql_err_oom(err);
  if (rc == LSQL_OK && !(d->root_url = dir_root_url(d->root))) rc = lsql_err_oom(err);
  /* storage.* properties become storage options with the prefix stripped. */
  size_t ns_ = 0;
  if (rc == LSQL_OK && !(d->storage = lsql_calloc(2 * lsql_strv_len(props) + 1, sizeof(char *))))
    rc = lsql_err_oom(err);
  for (size_t i = 0; rc == LSQL_OK && props && props[i] && props[i + 1]; i += 2) {
    if (strncmp(props[i], "storage.", 8) != 0 || !props[i][8]) continue;
    d->storage[ns_] = lsql_strdup(props[i] + 8);
    d->storage[ns_ + 1] = lsql_strdup(props[i + 1]);
    if (!d->storage[ns_] || !d->storage[ns_ + 1]) rc = lsql_err_oom(err);
    ns_ += 2;
  }
  if (rc == LSQL_OK) {
    rc = lsql_store_open(d->root, (const char *const *)d->storage, &d->store, err);
    if (rc != LSQL_OK) lsql_error_prefix(err, "dir namespace %s: ", d->root);
  }
  char **so = NULL;
  if (rc == LSQL_OK && !(so = lsql_strv_dup((const char *const *)d->storage))) rc = lsql_err_oom(err);
  if (rc != LSQL_OK) {
    dir_destroy(d);
    return rc;
  }
  return lsql_ns_wrap(&dir_vtable, d, so, out, err);
}
