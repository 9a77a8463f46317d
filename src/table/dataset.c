/* Datasets: resolving a version (latest, number, tag, branch), loading its manifest and schema,
 * path resolution for data and deletion files (base paths), row counts, version listing. */
#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "table/table.h"
#include "util/arrow.h"

/* ---- JSON helpers (tags, version hint) ---------------------------------------------------- */

static void *json_malloc_fn(size_t n) { return lsql_malloc(n); }
static void json_free_fn(void *p) { lsql_free(p); }

static int read_json(lsql_store *st, const char *path, json_t **out, lsql_error *err) {
  uint8_t *data = NULL;
  size_t len = 0;
  *out = NULL;
  LSQL_TRY(lsql_store_read_all(st, path, &data, &len, err));
  json_set_alloc_funcs(json_malloc_fn, json_free_fn);
  json_error_t jerr;
  json_t *j = json_loadb((const char *)data, len, 0, &jerr);
  lsql_free(data);
  if (!j || !json_is_object(j)) {
    if (j) json_decref(j);
    return lsql_err_corrupt(err, "%s: invalid JSON: %s", path, j ? "not an object" : jerr.text);
  }
  *out = j;
  return LSQL_OK;
}

/* Tag names: [A-Za-z0-9._-], not starting/ending with '.', no "..", not ending in ".lock". */
static bool valid_ref_name(const char *s, bool allow_slash) {
  size_t n = strlen(s);
  if (!n || s[0] == '.' || s[n - 1] == '.' || s[0] == '/' || s[n - 1] == '/' || strstr(s, "..") ||
      strstr(s, "//") || (n >= 5 && strcmp(s + n - 5, ".lock") == 0))
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || (allow_slash && c == '/');
    if (!ok) return false;
  }
  return true;
}

/* ---- version resolution ------------------------------------------------------------------- */

/* Reads _versions/<name of version> trying V2 then V1 naming (what Lance does). */
static int read_manifest_bytes(lsql_store *st, const char *dir, uint64_t version, uint8_t **data,
                               size_t *len, lsql_error *err) {
  static const int schemes[2] = {LSQL_MANIFEST_V2, LSQL_MANIFEST_V1};
  for (int i = 0; i < 2; i++) {
    char name[48], rel[64];
    lsql_table_manifest_name(version, schemes[i], name, sizeof name);
    snprintf(rel, sizeof rel, "_versions/%s", name);
    char *path = lsql_path_join(dir, rel);
    if (!path) return lsql_err_oom(err);
    int rc = lsql_store_read_all(st, path, data, len, err);
    lsql_free(path);
    if (rc != LSQL_ENOTFOUND) return rc;
  }
  return lsql_err(err, LSQL_ENOTFOUND, "not found (no manifest for version %" PRIu64 " in %s/_versions)", version, dir);
}

typedef struct version_entry {
  uint64_t version;
  uint64_t size;
} version_entry;

/* Lists the committed manifests of dir/_versions (unsorted). */
static int list_versions(lsql_store *st, const char *dir, version_entry **out, size_t *n_out,
                         lsql_error *err) {
  *out = NULL;
  *n_out = 0;
  char *vdir = lsql_path_join(dir, "_versions");
  if (!vdir) return lsql_err_oom(err);
  lsql_dirent *ents = NULL;
  size_t n = 0;
  int rc = lsql_store_list(st, vdir, &ents, &n, err);
  lsql_free(vdir);
  if (rc) return rc;
  version_entry *v = lsql_calloc(n ? n : 1, sizeof *v);
  if (!v) {
    lsql_dirents_free(ents, n);
    return lsql_err_oom(err);
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int scheme;
    uint64_t ver;
    if (ents[i].is_dir || !lsql_table_parse_manifest_name(ents[i].name, &ver, &scheme)) continue;
    v[k].version = ver;
    v[k].size = ents[i].size;
    k++;
  }
  lsql_dirents_free(ents, n);
  *out = v;
  *n_out = k;
  return LSQL_OK;
}

/* Latest version: by listing (authoritative); latest_version_hint.json only when listing finds
 * nothing (stores without listing), probing upward because the hint may be stale. */
static int latest_version(lsql_store *st, const char *dir, uint64_t *out, lsql_error *err) {
  version_entry *v;
  size_t n;
  LSQL_TRY(list_versions(st, dir, &v, &n, err));
  uint64_t best = 0;
  for (size_t i = 0; i < n; i++) best = LSQL_MAX(best, v[i].version);
  lsql_free(v);
  if (best) {
    *out = best;
    return LSQL_OK;
  }
  char *hint = lsql_path_join(dir, "_versions/latest_version_hint.json");
  if (!hint) return lsql_err_oom(err);
  json_t *j = NULL;
  lsql_error tmp;
  int rc = read_json(st, hint, &j, &tmp);
  lsql_free(hint);
  if (rc == LSQL_OK) {
    json_t *jv = json_object_get(j, "version");
    if (json_is_integer(jv) && json_integer_value(jv) > 0) best = (uint64_t)json_integer_value(jv);
    json_decref(j);
  }
  if (!best) return lsql_err(err, LSQL_ENOTFOUND, "no versions found (not a Lance dataset?)");
  for (;;) {
    uint8_t *d = NULL;
    size_t l;
    if (read_manifest_bytes(st, dir, best + 1, &d, &l, &tmp) != LSQL_OK) break;
    lsql_free(d);
    best++;
  }
  *out = best;
  return LSQL_OK;
}

/* ---- open --------------------------------------------------------------------------------- */

static int build_schema(lsql_dataset *ds, lsql_error *err) {
  const Lance__Table__Manifest *m = ds->manifest;
  size_t n = m->n_fields, n_meta = 0;
  for (size_t i = 0; i < n; i++) n_meta += m->fields[i]->n_metadata;
  lsql_pb_field *pf = lsql_calloc(n ? n : 1, sizeof *pf);
  const char **keys = lsql_calloc(n_meta ? n_meta : 1, sizeof *keys);
  const uint8_t **vals = lsql_calloc(n_meta ? n_meta : 1, sizeof *vals);
  size_t *lens = lsql_calloc(n_meta ? n_meta : 1, sizeof *lens);
  int rc = LSQL_OK;
  if (!pf || !keys || !vals || !lens) {
    rc = lsql_err_oom(err);
    goto done;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const Lance__File__Field *f = m->fields[i];
    pf[i] = (lsql_pb_field){.name = f->name, .id = f->id, .parent_id = f->parent_id,
                            .logical_type = f->logical_type, .nullable = f->nullable,
                            .extension_name = f->extension_name, .n_metadata = f->n_metadata,
                            .meta_keys = keys + k, .meta_values = vals + k, .meta_value_lens = lens + k};
    for (size_t j = 0; j < f->n_metadata; j++, k++) {
      keys[k] = f->metadata[j]->key;
      vals[k] = f->metadata[j]->value.data ? f->metadata[j]->value.data : (const uint8_t *)"";
      lens[k] = f->metadata[j]->value.len;
    }
  }
  rc = lsql_schema_build(pf, n, &ds->schema, err);
  if (rc == LSQL_OK) {
    ds->has_schema = true;
    /* Table-level metadata (Manifest.schema_metadata). */
    size_t nm = m->n_schema_metadata;
    lsql_schema *s = &ds->schema;
    if (nm && !s->n_metadata) {
      s->meta_keys = lsql_calloc(nm, sizeof *s->meta_keys);
      s->meta_values = lsql_calloc(nm, sizeof *s->meta_values);
      s->meta_value_lens = lsql_calloc(nm, sizeof *s->meta_value_lens);
      if (!s->meta_keys || !s->meta_values || !s->meta_value_lens) {
        rc = lsql_err_oom(err);
        goto done;
      }
      for (size_t i = 0; i < nm; i++) {
        const Lance__Table__Manifest__SchemaMetadataEntry *e = m->schema_metadata[i];
        s->meta_keys[i] = lsql_strdup(e->key);
        s->meta_values[i] = lsql_strndup(e->value.data ? (const char *)e->value.data : "", e->value.len);
        s->meta_value_lens[i] = e->value.len;
        s->n_metadata = i + 1;
        if (!s->meta_keys[i] || !s->meta_values[i]) {
          rc = lsql_err_oom(err);
          goto done;
        }
      }
    }
    ds->max_field_id = lsql_schema_max_id(s);
  }
done:
  lsql_free(pf);
  lsql_free(keys);
  lsql_free(vals);
  lsql_free(lens);
  return rc;
}

static void dataset_destroy(lsql_dataset *ds) {
  for (size_t i = 0; i < ds->n_spares; i++) lsql_reader_spares_free(ds->spares[i].sp);
  lsql_free(ds->spares);
  for (size_t i = 0; i < ds->n_files; i++) {
    lsql_file_close(ds->files[i].f);
    lsql_free(ds->files[i].path);
  }
  lsql_free(ds->files);
  if (ds->spares_init) pthread_mutex_destroy(&ds->spares_mu);
  lsql_table_manifest_free(ds->manifest);
  if (ds->has_schema) lsql_schema_free(&ds->schema);
  lsql_store_unref(ds->store);
  lsql_free(ds->uri);
  lsql_free(ds->root);
  lsql_free(ds->dir);
  lsql_free(ds->branch);
  lsql_free(ds);
}

lsql_dataset *lsql_table_ref(lsql_dataset *ds) {
  if (ds) atomic_fetch_add_explicit((_Atomic int *)&ds->refcount, 1, memory_order_relaxed);
  return ds;
}

void lsql_table_unref(lsql_dataset *ds) {
  if (ds && atomic_fetch_sub_explicit((_Atomic int *)&ds->refcount, 1, memory_order_acq_rel) == 1)
    dataset_destroy(ds);
}

static int open_inner(lsql_dataset *ds, const lsql_open_options *opts, lsql_error *err) {
  uint64_t version = opts && opts->version > 0 ? (uint64_t)opts->version : 0;
  const char *branch = opts ? opts->branch : NULL;
  if (opts && opts->version < 0) return lsql_err(err, LSQL_EINVAL, "negative version %" PRId64, opts->version);
  if (opts && opts->tag) {
    if (!valid_ref_name(opts->tag, false))
      return lsql_err(err, LSQL_EINVAL, "invalid tag name \"%s\"", opts->tag);
    char rel[512];
    snprintf(rel, sizeof rel, "_refs/tags/%s.json", opts->tag);
    char *path = lsql_path_join(ds->root, rel);
    if (!path) return lsql_err_oom(err);
    json_t *j = NULL;
    int rc = read_json(ds->store, path, &j, err);
    lsql_free(path);
    if (rc == LSQL_ENOTFOUND) return lsql_err(err, LSQL_ENOTFOUND, "tag \"%s\" not found", opts->tag);
    if (rc) return lsql_error_prefix(err, "tag \"%s\": ", opts->tag);
    json_t *jv = json_object_get(j, "version"), *jb = json_object_get(j, "branch");
    if (!json_is_integer(jv) || json_integer_value(jv) <= 0 || (jb && !json_is_null(jb) && !json_is_string(jb))) {
      json_decref(j);
      return lsql_err_corrupt(err, "tag \"%s\": invalid tag file", opts->tag);
    }
    uint64_t tv = (uint64_t)json_integer_value(jv);
    const char *tb = json_is_string(jb) ? json_string_value(jb) : NULL;
    if (tb && (!*tb || strcmp(tb, "main") == 0)) tb = NULL;
    if ((version && version != tv) || (branch && strcmp(branch, "main") != 0 && (!tb || strcmp(branch, tb) != 0))) {
      json_decref(j);
      return lsql_err(err, LSQL_EINVAL, "tag \"%s\" conflicts with the requested version/branch", opts->tag);
    }
    version = tv;
    if (tb && !(ds->branch = lsql_strdup(tb))) {
      json_decref(j);
      return lsql_err_oom(err);
    }
    json_decref(j);
  } else if (branch && strcmp(branch, "main") != 0) {
    if (!(ds->branch = lsql_strdup(branch))) return lsql_err_oom(err);
  }
  if (ds->branch) {
    if (!valid_ref_name(ds->branch, true))
      return lsql_err(err, LSQL_EINVAL, "invalid branch name \"%s\"", ds->branch);
    char *rel = lsql_sprintf("tree/%s", ds->branch);
    ds->dir = rel ? lsql_path_join(ds->root, rel) : NULL;
    lsql_free(rel);
  } else {
    ds->dir = lsql_strdup(ds->root);
  }
  if (!ds->dir) return lsql_err_oom(err);
  if (!version) {
    int rc = latest_version(ds->store, ds->dir, &version, err);
    if (rc == LSQL_ENOTFOUND && ds->branch)
      return lsql_err(err, LSQL_ENOTFOUND, "branch \"%s\" not found", ds->branch);
    if (rc) return rc;
  }
  ds->version = version;
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = read_manifest_bytes(ds->store, ds->dir, version, &data, &len, err);
  if (rc == LSQL_OK) {
    rc = lsql_table_manifest_parse(data, len, &ds->manifest, err);
    lsql_free(data);
  }
  if (rc == LSQL_OK && ds->manifest->version != version)
    rc = lsql_err_corrupt(err, "manifest holds version %" PRIu64, ds->manifest->version);
  if (rc == LSQL_OK) rc = build_schema(ds, err);
  if (rc) return lsql_error_prefix(err, "version %" PRIu64 ": ", version);
  return LSQL_OK;
}

int lsql_table_open(lsql_store *st, const char *uri, const lsql_open_options *opts,
                    lsql_dataset **out, lsql_error *err) {
  *out = NULL;
  if (!uri || !*uri) return lsql_err(err, LSQL_EINVAL, "empty dataset URI");
  lsql_dataset *ds = lsql_calloc(1, sizeof *ds);
  if (!ds) return lsql_err_oom(err);
  ds->refcount = 1;
  ds->uri = lsql_strdup(uri);
  ds->root = lsql_path_normalize(uri);
  ds->spares_max_bytes = LSQL_DATASET_SPARES_MAX_BYTES;
  ds->spares = lsql_calloc(LSQL_DATASET_SPARES_MAX_ENTRIES, sizeof *ds->spares);
  ds->files = lsql_calloc(LSQL_DATASET_FILES_MAX, sizeof *ds->files);
  ds->spares_init = ds->spares && ds->files && pthread_mutex_init(&ds->spares_mu, NULL) == 0;
  if (!ds->uri || !ds->root || !ds->spares_init) {
    dataset_destroy(ds);
    return lsql_err_oom(err);
  }
  int rc;
  if (st) {
    ds->store = lsql_store_ref(st);
    rc = LSQL_OK;
  } else {
    rc = lsql_store_open(ds->root, opts ? opts->storage_options : NULL, &ds->store, err);
  }
  if (rc == LSQL_OK) rc = open_inner(ds, opts, err);
  if (rc) {
    lsql_error_prefix(err, "%s: ", uri);
    dataset_destroy(ds);
    return rc;
  }
  *out = ds;
  return LSQL_OK;
}

int lsql_dataset_open(const char *uri, const lsql_open_options *opts, lsql_dataset **out,
                      lsql_error *err) {
  if (!out) return lsql_err(err, LSQL_EINVAL, "NULL output");
  return lsql_table_open(NULL, uri, opts, out, err);
}

void lsql_dataset_free(lsql_dataset *ds) { lsql_table_unref(ds); }

/* ---- reader buffers kept between scans ----------------------------------------------------- */

lsql_reader_spares *lsql_table_spares_take(lsql_dataset *ds, int32_t field_id) {
  if (!ds) return NULL;
  lsql_reader_spares *sp = NULL;
  pthread_mutex_lock(&ds->spares_mu);
  for (size_t i = ds->n_spares; i-- > 0;) { /* newest first: the warmest buffers */
    if (ds->spares[i].field_id != field_id) continue;
    sp = ds->spares[i].sp;
    ds->spares_bytes -= ds->spares[i].bytes;
    memmove(&ds->spares[i], &ds->spares[i + 1], (ds->n_spares - i - 1) * sizeof *ds->spares);
    ds->n_spares--;
    break;
  }
  pthread_mutex_unlock(&ds->spares_mu);
  return sp;
}

void lsql_table_spares_give(lsql_dataset *ds, int32_t field_id, lsql_reader_spares *sp) {
  if (!sp) return;
  size_t bytes = lsql_reader_spares_bytes(sp);
  if (!ds || bytes > ds->spares_max_bytes) {
    lsql_reader_spares_free(sp);
    return;
  }
  /* Evicted entries are freed after unlocking: munmap of big blocks is slow. */
  lsql_reader_spares *drop[LSQL_DATASET_SPARES_MAX_ENTRIES];
  size_t n_drop = 0;
  pthread_mutex_lock(&ds->spares_mu);
  while (ds->n_spares > 0 && (ds->n_spares >= LSQL_DATASET_SPARES_MAX_ENTRIES ||
                              ds->spares_bytes + bytes > ds->spares_max_bytes)) {
    drop[n_drop++] = ds->spares[0].sp;
    ds->spares_bytes -= ds->spares[0].bytes;
    memmove(&ds->spares[0], &ds->spares[1], (ds->n_spares - 1) * sizeof *ds->spares);
    ds->n_spares--;
  }
  ds->spares[ds->n_spares++] = (lsql_spares_entry){field_id, bytes, sp};
  ds->spares_bytes += bytes;
  pthread_mutex_unlock(&ds->spares_mu);
  for (size_t i = 0; i < n_drop; i++) lsql_reader_spares_free(drop[i]);
}

/* ---- data files kept open between scans ---------------------------------------------------- */

lsql_file *lsql_table_file_take(lsql_dataset *ds, const char *path) {
  if (!ds || !path) return NULL;
  lsql_file *f = NULL;
  char *key = NULL;
  pthread_mutex_lock(&ds->spares_mu);
  for (size_t i = ds->n_files; i-- > 0;) {
    if (strcmp(ds->files[i].path, path) != 0) continue;
    f = ds->files[i].f;
    key = ds->files[i].path;
    memmove(&ds->files[i], &ds->files[i + 1], (ds->n_files - i - 1) * sizeof *ds->files);
    ds->n_files--;
    break;
  }
  pthread_mutex_unlock(&ds->spares_mu);
  lsql_free(key);
  return f;
}

void lsql_table_file_give(lsql_dataset *ds, lsql_file *f) {
  if (!f) return;
  char *key = ds ? lsql_strdup(lsql_file_path(f)) : NULL;
  if (!key) {
    lsql_file_close(f);
    return;
  }
  lsql_file_entry drop = {NULL, NULL};
  pthread_mutex_lock(&ds->spares_mu);
  bool dup = false;
  for (size_t i = 0; i < ds->n_files && !dup; i++) dup = strcmp(ds->files[i].path, key) == 0;
  if (dup) { /* a concurrent scan opened the same file: keep the cached one */
    drop = (lsql_file_entry){key, f};
  } else {
    if (ds->n_files >= LSQL_DATASET_FILES_MAX) {
      drop = ds->files[0];
      memmove(&ds->files[0], &ds->files[1], (ds->n_files - 1) * sizeof *ds->files);
      ds->n_files--;
    }
    ds->files[ds->n_files++] = (lsql_file_entry){key, f};
  }
  pthread_mutex_unlock(&ds->spares_mu);
  lsql_file_close(drop.f); /* outside the lock: closing may do I/O */
  lsql_free(drop.path);
}

void lsql_table_spares_stats(lsql_dataset *ds, size_t *n_entries, size_t *bytes) {
  pthread_mutex_lock(&ds->spares_mu);
  if (n_entries) *n_entries = ds->n_spares;
  if (bytes) *bytes = ds->spares_bytes;
  pthread_mutex_unlock(&ds->spares_mu);
}
uint64_t lsql_dataset_version(const lsql_dataset *ds) { return ds ? ds->version : 0; }
const char *lsql_dataset_uri(const lsql_dataset *ds) { return ds ? ds->uri : NULL; }

/* ---- paths -------------------------------------------------------------------------------- */

static const Lance__Table__BasePath *find_base(const lsql_dataset *ds, uint32_t id) {
  const Lance__Table__Manifest *m = ds->manifest;
  for (size_t i = 0; i < m->n_base_paths; i++)
    if ((m->base_paths[i]->has_id ? m->base_paths[i]->id : 0) == id) return m->base_paths[i];
  return NULL;
}

int lsql_table_data_file_path(const lsql_dataset *ds, const Lance__Table__DataFile *df, char **out,
                              lsql_error *err) {
  *out = NULL;
  if (!df->path || !*df->path) return lsql_err_corrupt(err, "data file without a path");
  char *base = NULL, *rel = NULL;
  if (df->has_base_id) {
    const Lance__Table__BasePath *bp = find_base(ds, df->base_id);
    if (!bp) return lsql_err_corrupt(err, "%s: unknown base path id %" PRIu32, df->path, df->base_id);
    base = lsql_path_normalize(bp->path ? bp->path : "");
    rel = bp->is_dataset_root ? lsql_sprintf("data/%s", df->path) : lsql_strdup(df->path);
  } else {
    base = lsql_strdup(ds->dir);
    rel = lsql_sprintf("data/%s", df->path);
  }
  if (base && rel) *out = lsql_path_join(base, rel);
  lsql_free(base);
  lsql_free(rel);
  return *out ? LSQL_OK : lsql_err_oom(err);
}

int lsql_table_deletion_file_path(const lsql_dataset *ds, const Lance__Table__DataFragment *frag,
                                  char **out, lsql_error *err) {
  *out = NULL;
  const Lance__Table__DeletionFile *d = frag->deletion_file;
  const char *dir = ds->dir;
  char *base = NULL;
  if (d->has_base_id) {
    const Lance__Table__BasePath *bp = find_base(ds, d->base_id);
    if (!bp) return lsql_err_corrupt(err, "deletion file: unknown base path id %" PRIu32, d->base_id);
    if (!bp->is_dataset_root)
      return lsql_err_corrupt(err, "deletion file: base path %" PRIu32 " is not a dataset root", d->base_id);
    if (!(base = lsql_path_normalize(bp->path ? bp->path : ""))) return lsql_err_oom(err);
    dir = base;
  }
  bool bitmap = d->file_type == LANCE__TABLE__DELETION_FILE__DELETION_FILE_TYPE__BITMAP;
  char *rel = lsql_sprintf("_deletions/%" PRIu64 "-%" PRIu64 "-%" PRIu64 ".%s", frag->id,
                           d->read_version, d->id, bitmap ? "bin" : "arrow");
  if (rel) *out = lsql_path_join(dir, rel);
  lsql_free(rel);
  lsql_free(base);
  return *out ? LSQL_OK : lsql_err_oom(err);
}

/* ---- fragments ---------------------------------------------------------------------------- */

int lsql_table_fragment_rows(lsql_dataset *ds, const Lance__Table__DataFragment *frag,
                             uint64_t *out, lsql_error *err) {
  /* Very old writers (no writer_version) stored wrong physical_rows (Lance issue #1531). */
  if (frag->physical_rows > 0 && ds->manifest->writer_version) {
    *out = frag->physical_rows;
    return LSQL_OK;
  }
  if (!frag->n_files) {
    *out = frag->physical_rows;
    return LSQL_OK;
  }
  char *path = NULL;
  LSQL_TRY(lsql_table_data_file_path(ds, frag->files[0], &path, err));
  lsql_file *f = NULL;
  const Lance__Table__DataFile *df = frag->files[0];
  int rc = lsql_file_open(ds->store, path, df->has_file_size_bytes ? df->file_size_bytes : 0, &f, err);
  lsql_free(path);
  if (rc) return rc;
  *out = lsql_file_num_rows(f);
  lsql_file_close(f);
  return LSQL_OK;
}

int lsql_table_fragment_deletions(lsql_dataset *ds, const Lance__Table__DataFragment *frag,
                                  uint64_t n_rows, uint8_t **bits, uint64_t *n_deleted,
                                  lsql_error *err) {
  *bits = NULL;
  *n_deleted = 0;
  if (!frag->deletion_file) return LSQL_OK;
  char *path = NULL;
  LSQL_TRY(lsql_table_deletion_file_path(ds, frag, &path, err));
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = lsql_store_read_all(ds->store, path, &data, &len, err);
  if (rc == LSQL_OK) {
    uint8_t *b = lsql_calloc(lsql_bitmap_bytes(n_rows) + 1, 1);
    if (!b) {
      rc = lsql_err_oom(err);
    } else {
      if (frag->deletion_file->file_type == LANCE__TABLE__DELETION_FILE__DELETION_FILE_TYPE__BITMAP)
        rc = lsql_table_deletion_parse_roaring(data, len, n_rows, b, n_deleted, err);
      else
        rc = lsql_table_deletion_parse_arrow(data, len, n_rows, b, n_deleted, err);
      if (rc) lsql_free(b);
      else *bits = b;
    }
    lsql_free(data);
  }
  if (rc) {
    const char *slash = strrchr(path, '/');
    lsql_error_prefix(err, "_deletions/%s: ", slash ? slash + 1 : path);
  }
  lsql_free(path);
  return rc;
}

int lsql_table_fragment_rowids(lsql_dataset *ds, const Lance__Table__DataFragment *frag,
                               uint64_t n_rows, uint64_t **ids, lsql_error *err) {
  *ids = NULL;
  const uint8_t *data;
  size_t len;
  uint8_t *owned = NULL;
  if (frag->row_id_sequence_case == LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE_INLINE_ROW_IDS) {
    data = frag->inline_row_ids.data;
    len = frag->inline_row_ids.len;
  } else if (frag->row_id_sequence_case == LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE_EXTERNAL_ROW_IDS) {
    const Lance__Table__ExternalFile *x = frag->external_row_ids;
    if (!x->path || !*x->path || x->size > ((uint64_t)1 << 32))
      return lsql_err_corrupt(err, "external row ids: bad reference");
    char *path = lsql_path_join(ds->dir, x->path);
    if (!path) return lsql_err_oom(err);
    lsql_rfile *rf = NULL;
    int rc = lsql_rfile_open(ds->store, path, 0, &rf, err);
    lsql_free(path);
    if (rc) return rc;
    owned = lsql_malloc((size_t)x->size);
    if (!owned) rc = lsql_err_oom(err);
    else rc = lsql_rfile_read(rf, x->offset, x->size, owned, err);
    lsql_rfile_close(rf);
    if (rc) {
      lsql_free(owned);
      return rc;
    }
    data = owned;
    len = (size_t)x->size;
  } else {
    return LSQL_OK;
  }
  uint64_t *v = lsql_calloc(n_rows ? n_rows : 1, sizeof *v);
  int rc = v ? lsql_table_rowids_decode(data, len, n_rows, v, err) : lsql_err_oom(err);
  lsql_free(owned);
  if (rc) {
    lsql_free(v);
    return rc;
  }
  *ids = v;
  return LSQL_OK;
}

/* ---- public metadata API ------------------------------------------------------------------ */

int lsql_dataset_count_rows(lsql_dataset *ds, uint64_t *out, lsql_error *err) {
  if (!ds || !out) return lsql_err(err, LSQL_EINVAL, "NULL argument");
  uint64_t total = 0;
  const Lance__Table__Manifest *m = ds->manifest;
  for (size_t i = 0; i < m->n_fragments; i++) {
    const Lance__Table__DataFragment *f = m->fragments[i];
    uint64_t n = 0, del = 0;
    int rc = lsql_table_fragment_rows(ds, f, &n, err);
    if (rc == LSQL_OK && f->deletion_file) {
      if (f->deletion_file->num_deleted_rows > 0) {
        del = f->deletion_file->num_deleted_rows;
      } else { /* 0 = unknown: read the file */
        uint8_t *bits = NULL;
        rc = lsql_table_fragment_deletions(ds, f, n, &bits, &del, err);
        lsql_free(bits);
      }
    }
    if (rc)
      return lsql_error_prefix(err, "%s: version %" PRIu64 ": fragment %" PRIu64 ": ", ds->uri,
                               ds->version, f->id);
    total += n > del ? n - del : 0;
  }
  *out = total;
  return LSQL_OK;
}

/* The declared schema, like pylance's Dataset.schema (blob columns as declared). */
int lsql_dataset_schema(lsql_dataset *ds, struct ArrowSchema *out, lsql_error *err) {
  if (!ds || !out) return lsql_err(err, LSQL_EINVAL, "NULL argument");
  int rc = lsql_schema_to_arrow_declared(&ds->schema, out, err);
  if (rc) lsql_error_prefix(err, "%s: version %" PRIu64 ": ", ds->uri, ds->version);
  return rc;
}

int lsql_table_scan_schema(lsql_dataset *ds, struct ArrowSchema *out, lsql_error *err) {
  if (!ds || !out) return lsql_err(err, LSQL_EINVAL, "NULL argument");
  int rc = lsql_schema_to_arrow(&ds->schema, out, err);
  if (rc) lsql_error_prefix(err, "%s: version %" PRIu64 ": ", ds->uri, ds->version);
  return rc;
}

static int cmp_version(const void *a, const void *b) {
  uint64_t x = ((const lsql_version_info *)a)->version, y = ((const lsql_version_info *)b)->version;
  return x < y ? -1 : x > y;
}

int lsql_dataset_versions(lsql_dataset *ds, lsql_version_info **out, size_t *n_out,
                          lsql_error *err) {
  if (!ds || !out || !n_out) return lsql_err(err, LSQL_EINVAL, "NULL argument");
  *out = NULL;
  *n_out = 0;
  version_entry *v = NULL;
  size_t n = 0;
  int rc = list_versions(ds->store, ds->dir, &v, &n, err);
  if (rc) return lsql_error_prefix(err, "%s: ", ds->uri);
  lsql_version_info *info = lsql_calloc(n ? n : 1, sizeof *info);
  if (!info) {
    lsql_free(v);
    return lsql_err_oom(err);
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    /* A version may be listed under both naming schemes during a migration: keep one. */
    bool dup = false;
    for (size_t j = 0; j < k && !dup; j++) dup = info[j].version == v[i].version;
    if (dup) continue;
    uint8_t *data = NULL;
    size_t len = 0;
    Lance__Table__Manifest *m = NULL;
    rc = read_manifest_bytes(ds->store, ds->dir, v[i].version, &data, &len, err);
    if (rc == LSQL_OK) {
      rc = lsql_table_manifest_parse(data, len, &m, err);
      lsql_free(data);
    }
    if (rc == LSQL_EUNSUPPORTED) rc = LSQL_OK; /* still a version; timestamp unknown */
    if (rc) {
      lsql_error_prefix(err, "%s: version %" PRIu64 ": ", ds->uri, v[i].version);
      lsql_free(v);
      lsql_free(info);
      return rc;
    }
    info[k].version = v[i].version;
    if (m && m->timestamp)
      info[k].timestamp_us = m->timestamp->seconds * 1000000 + m->timestamp->nanos / 1000;
    lsql_table_manifest_free(m);
    k++;
  }
  lsql_free(v);
  qsort(info, k, sizeof *info, cmp_version);
  *out = info;
  *n_out = k;
  return LSQL_OK;
}
