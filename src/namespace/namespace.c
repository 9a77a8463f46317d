/* Public namespace API: connect() registry, reference counting, dispatch through the vtable,
 * and the id / pagination helpers shared by the implementations. */
#include <stdio.h>
#include <stdlib.h>

#include "namespace/namespace.h"

/* ---- registry, handles ---------------------------------------------------------------------- */

typedef int (*ns_connect_fn)(const char *const *props, lsql_namespace **out, lsql_error *err);
static const struct {
  const char *name;
  ns_connect_fn fn;
} ns_registry[] = {
    {"dir", lsql_ns_dir_connect},
    {"rest", lsql_ns_rest_connect},
};

LSQL_API int lsql_connect(const char *impl, const char *const *properties, lsql_namespace **out,
                          lsql_error *err) {
  if (!out) return lsql_err(err, LSQL_EINVAL, "connect: out is NULL");
  *out = NULL;
  if (!impl) return lsql_err(err, LSQL_EINVAL, "connect: implementation name is NULL");
  for (size_t i = 0; i < LSQL_ARRAY_LEN(ns_registry); i++)
    if (strcmp(ns_registry[i].name, impl) == 0) return ns_registry[i].fn(properties, out, err);
  return lsql_err(err, LSQL_EINVAL, "connect: unknown namespace implementation '%s' (known: dir, rest)",
                  impl);
}

int lsql_ns_wrap(const lsql_ns_vtable *vt, void *impl, char **storage_options,
                 lsql_namespace **out, lsql_error *err) {
  *out = NULL;
  lsql_namespace *ns = lsql_calloc(1, sizeof *ns);
  if (!ns) {
    vt->destroy(impl);
    lsql_strv_free(storage_options);
    return lsql_err_oom(err);
  }
  ns->vt = vt;
  ns->impl = impl;
  ns->storage_options = storage_options;
  atomic_init(&ns->refs, 1);
  *out = ns;
  return LSQL_OK;
}

lsql_namespace *lsql_namespace_ref(lsql_namespace *ns) {
  if (ns) atomic_fetch_add(&ns->refs, 1);
  return ns;
}

void lsql_namespace_unref(lsql_namespace *ns) {
  if (!ns || atomic_fetch_sub(&ns->refs, 1) != 1) return;
  ns->vt->destroy(ns->impl);
  lsql_strv_free(ns->storage_options);
  lsql_free(ns);
}

LSQL_API void lsql_namespace_free(lsql_namespace *ns) { lsql_namespace_unref(ns); }

const char *lsql_namespace_impl(const lsql_namespace *ns) { return ns ? ns->vt->name : ""; }

LSQL_API void lsql_string_list_free(lsql_string_list *list) {
  if (!list) return;
  for (size_t i = 0; i < list->n_items; i++) lsql_free(list->items[i]);
  lsql_free(list->items);
  lsql_free(list->next_page_token);
  list->items = NULL;
  list->n_items = 0;
  list->next_page_token = NULL;
}

LSQL_API void lsql_table_desc_free(lsql_table_desc *desc) {
  if (!desc) return;
  lsql_free(desc->location);
  lsql_strv_free(desc->storage_options);
  desc->location = NULL;
  desc->storage_options = NULL;
  desc->version = -1;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static int check_args(lsql_namespace *ns, const char *const *id, size_t id_len, const void *out,
                      lsql_error *err) {
  if (!ns) return lsql_err(err, LSQL_EINVAL, "namespace handle is NULL");
  if (!out) return lsql_err(err, LSQL_EINVAL, "output pointer is NULL");
  if (id_len > 0 && !id) return lsql_err(err, LSQL_EINVAL, "id is NULL but id_len is %zu", id_len);
  return LSQL_OK;
}

LSQL_API int lsql_namespace_list_namespaces(lsql_namespace *ns, const char *const *id,
                                            size_t id_len, const char *page_token, int32_t limit,
                                            lsql_string_list *out, lsql_error *err) {
  if (out) memset(out, 0, sizeof *out);
  LSQL_TRY(check_args(ns, id, id_len, out, err));
  return ns->vt->list_namespaces(ns, id, id_len, page_token, limit, out, err);
}

LSQL_API int lsql_namespace_list_tables(lsql_namespace *ns, const char *const *id, size_t id_len,
                                        const char *page_token, int32_t limit,
                                        lsql_string_list *out, lsql_error *err) {
  if (out) memset(out, 0, sizeof *out);
  LSQL_TRY(check_args(ns, id, id_len, out, err));
  return ns->vt->list_tables(ns, id, id_len, page_token, limit, out, err);
}

LSQL_API int lsql_namespace_exists(lsql_namespace *ns, const char *const *id, size_t id_len,
                                   int *exists, lsql_error *err) {
  if (exists) *exists = 0;
  LSQL_TRY(check_args(ns, id, id_len, exists, err));
  return ns->vt->namespace_exists(ns, id, id_len, exists, err);
}

LSQL_API int lsql_namespace_table_exists(lsql_namespace *ns, const char *const *id, size_t id_len,
                                         int *exists, lsql_error *err) {
  if (exists) *exists = 0;
  LSQL_TRY(check_args(ns, id, id_len, exists, err));
  if (id_len == 0) return lsql_err(err, LSQL_EINVAL, "table id is empty");
  return ns->vt->table_exists(ns, id, id_len, exists, err);
}

LSQL_API int lsql_namespace_describe_table(lsql_namespace *ns, const char *const *id,
                                           size_t id_len, lsql_table_desc *out, lsql_error *err) {
  if (out) {
    memset(out, 0, sizeof *out);
    out->version = -1;
  }
  LSQL_TRY(check_args(ns, id, id_len, out, err));
  if (id_len == 0) return lsql_err(err, LSQL_EINVAL, "table id is empty");
  int rc = ns->vt->describe_table(ns, id, id_len, out, err);
  if (rc != LSQL_OK) lsql_table_desc_free(out);
  return rc;
}

LSQL_API int lsql_namespace_describe_namespace(lsql_namespace *ns, const char *const *id,
                                               size_t id_len, char ***properties,
                                               lsql_error *err) {
  if (properties) *properties = NULL;
  LSQL_TRY(check_args(ns, id, id_len, properties, err));
  return ns->vt->describe_namespace(ns, id, id_len, properties, err);
}

/* Appends key/value pairs of `kv` to `dst` (n pairs so far), replacing existing keys. */
static int kv_merge(char ***dst, size_t *n, const char *const *kv) {
  for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
    size_t j = 0;
    while (j < *n && strcmp((*dst)[2 * j], kv[i]) != 0) j++;
    char *v = lsql_strdup(kv[i + 1]);
    if (!v) return LSQL_ENOMEM;
    if (j < *n) {
      lsql_free((*dst)[2 * j + 1]);
      (*dst)[2 * j + 1] = v;
      continue;
    }
    char **grown = lsql_realloc(*dst, (2 * *n + 3) * sizeof(char *));
    if (!grown) {
      lsql_free(v);
      return LSQL_ENOMEM;
    }
    *dst = grown;
    grown[2 * *n] = lsql_strdup(kv[i]);
    grown[2 * *n + 1] = v;
    grown[2 * *n + 2] = NULL;
    if (!grown[2 * *n]) {
      lsql_free(v);
      grown[2 * *n + 1] = NULL;
      return LSQL_ENOMEM;
    }
    (*n)++;
  }
  return LSQL_OK;
}

LSQL_API int lsql_namespace_open_table(lsql_namespace *ns, const char *const *id, size_t id_len,
                                       const lsql_open_options *opts, lsql_dataset **out,
                                       lsql_error *err) {
  if (out) *out = NULL;
  LSQL_TRY(check_args(ns, id, id_len, out, err));
  lsql_table_desc desc;
  LSQL_TRY(lsql_namespace_describe_table(ns, id, id_len, &desc, err));
  /* Precedence: caller's options < the namespace's own < what describe_table returned
   * (the namespace may vend fresher credentials). */
  char **merged = lsql_calloc(1, sizeof(char *));
  size_t n = 0;
  int rc = merged ? LSQL_OK : LSQL_ENOMEM;
  if (rc == LSQL_OK && opts) rc = kv_merge(&merged, &n, opts->storage_options);
  if (rc == LSQL_OK) rc = kv_merge(&merged, &n, (const char *const *)ns->storage_options);
  if (rc == LSQL_OK) rc = kv_merge(&merged, &n, (const char *const *)desc.storage_options);
  if (rc != LSQL_OK) {
    lsql_strv_free(merged);
    lsql_table_desc_free(&desc);
    return lsql_err_oom(err);
  }
  lsql_open_options o = {0};
  if (opts) o = *opts;
  o.storage_options = (const char *const *)merged;
  rc = lsql_dataset_open(desc.location, &o, out, err);
  if (rc != LSQL_OK) {
    char buf[256];
    lsql_error_prefix(err, "table %s: ", lsql_ns_id_dotted(id, id_len, buf, sizeof buf));
  }
  lsql_strv_free(merged);
  lsql_table_desc_free(&desc);
  return rc;
}

/* ---- ids ------------------------------------------------------------------------------------ */

int lsql_ns_check_component(const char *c, size_t len, const char *forbidden, lsql_error *err) {
  if (!c || len == 0) return lsql_err(err, LSQL_EINVAL, "invalid id: empty component");
  if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
    return lsql_err(err, LSQL_EINVAL, "invalid id component '%.*s'", (int)len, c);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)c[i];
    if (ch == 0) return lsql_err(err, LSQL_EINVAL, "invalid id component: contains NUL");
    if (ch == '/' || ch == '\\' || (forbidden && strchr(forbidden, ch)))
      return lsql_err(err, LSQL_EINVAL, "invalid id component '%.*s': contains '%c'", (int)len, c,
                      ch);
  }
  return LSQL_OK;
}

int lsql_ns_check_id(const char *const *id, size_t id_len, const char *forbidden,
                     lsql_error *err) {
  for (size_t i = 0; i < id_len; i++)
    LSQL_TRY(lsql_ns_check_component(id[i], id[i] ? strlen(id[i]) : 0, forbidden, err));
  return LSQL_OK;
}

const char *lsql_ns_id_dotted(const char *const *id, size_t id_len, char *buf, size_t cap) {
  if (cap == 0) return buf;
  buf[0] = 0;
  if (id_len == 0) {
    snprintf(buf, cap, "(root)");
    return buf;
  }
  size_t used = 0;
  for (size_t i = 0; i < id_len && used + 1 < cap; i++) {
    int w = snprintf(buf + used, cap - used, "%s%s", i ? "." : "", id[i] ? id[i] : "");
    if (w < 0) break;
    used += (size_t)w;
  }
  return buf;
}

char *lsql_ns_id_join(const char *const *id, size_t id_len, const char *delim) {
  if (id_len == 0) return lsql_strdup(delim);
  lsql_buf b = LSQL_BUF_INIT;
  for (size_t i = 0; i < id_len; i++) {
    if ((i && lsql_buf_append_str(&b, delim) != LSQL_OK) || lsql_buf_append_str(&b, id[i]) != LSQL_OK) {
      lsql_buf_free(&b);
      return NULL;
    }
  }
  return lsql_buf_detach(&b);
}

int lsql_ns_url_encode(lsql_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' ||
        c == '-' || c == '.' || c == '_') {
      LSQL_TRY(lsql_buf_append(b, &c, 1));
    } else if (c == ' ') {
      LSQL_TRY(lsql_buf_append(b, "+", 1));
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      LSQL_TRY(lsql_buf_append(b, e, 3));
    }
  }
  return LSQL_OK;
}

int lsql_ns_check_relative_location(const char *loc, lsql_error *err) {
  if (!loc || !*loc) return lsql_err(err, LSQL_ECORRUPT, "empty table location");
  if (loc[0] == '/' || strstr(loc, "://") || strchr(loc, '\\'))
    return lsql_err(err, LSQL_ECORRUPT,
                    "table location '%s' is not a path relative to the namespace root", loc);
  const char *p = loc;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
      return lsql_err(err, LSQL_ECORRUPT, "table location '%s' escapes the namespace root", loc);
    p += n;
    if (*p == '/') {
      p++;
      if (!*p) break; /* one trailing '/' is harmless */
    }
  }
  return LSQL_OK;
}

/* ---- lists ---------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int lsql_ns_paginate(char **names, size_t n, const char *page_token, int32_t limit,
                     lsql_string_list *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  if (n > 1) qsort(names, n, sizeof *names, cmp_str);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    bool drop = (k > 0 && strcmp(names[k - 1], names[i]) == 0) ||
                (page_token && *page_token && strcmp(names[i], page_token) <= 0);
    if (drop) {
      lsql_free(names[i]);
      continue;
    }
    names[k++] = names[i];
  }
  if (limit > 0 && k > (size_t)limit) {
    for (size_t i = (size_t)limit; i < k; i++) lsql_free(names[i]);
    k = (size_t)limit;
    out->next_page_token = lsql_strdup(names[k - 1]);
    if (!out->next_page_token) {
      for (size_t i = 0; i < k; i++) lsql_free(names[i]);
      lsql_free(names);
      return lsql_err_oom(err);
    }
  }
  if (k == 0) {
    lsql_free(names);
    names = NULL;
  }
  out->items = names;
  out->n_items = k;
  return LSQL_OK;
}

int lsql_ns_list_from(const char *const *names, size_t n, const char *next_token,
                      lsql_string_list *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  if (n > 0) {
    out->items = lsql_calloc(n, sizeof(char *));
    if (!out->items) return lsql_err_oom(err);
  }
  for (size_t i = 0; i < n; i++) {
    out->items[i] = lsql_strdup(names[i]);
    if (!out->items[i]) goto oom;
    out->n_items = i + 1;
  }
  if (next_token && *next_token && !(out->next_page_token = lsql_strdup(next_token))) goto oom;
  return LSQL_OK;
oom:
  lsql_string_list_free(out);
  return lsql_err_oom(err);
}
