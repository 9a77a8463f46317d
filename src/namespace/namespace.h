/* Namespaces: a small vtable shared by the "dir" (directory + __manifest) and "rest" (REST
 * catalog client) implementations, the connect() registry, and the id / pagination / JSON
 * helpers they share. Public entry points live in namespace.c and dispatch through the vtable. */
#ifndef LSQL_NAMESPACE_H
#define LSQL_NAMESPACE_H

#include <stdatomic.h>

#include "util/util.h"

typedef struct lsql_ns_vtable {
  const char *name; /* "dir", "rest" */
  int (*list_namespaces)(lsql_namespace *ns, const char *const *id, size_t id_len,
                         const char *page_token, int32_t limit, lsql_string_list *out,
                         lsql_error *err);
  int (*list_tables)(lsql_namespace *ns, const char *const *id, size_t id_len,
                     const char *page_token, int32_t limit, lsql_string_list *out, lsql_error *err);
  int (*describe_table)(lsql_namespace *ns, const char *const *id, size_t id_len,
                        lsql_table_desc *out, lsql_error *err);
  int (*namespace_exists)(lsql_namespace *ns, const char *const *id, size_t id_len, int *exists,
                          lsql_error *err);
  int (*table_exists)(lsql_namespace *ns, const char *const *id, size_t id_len, int *exists,
                      lsql_error *err);
  int (*describe_namespace)(lsql_namespace *ns, const char *const *id, size_t id_len,
                            char ***properties, lsql_error *err);
  void (*destroy)(void *impl);
} lsql_ns_vtable;

struct lsql_namespace {
  const lsql_ns_vtable *vt;
  atomic_int refs;
  void *impl;
  /* Storage options applied when opening tables (dir: storage.* stripped; rest: none). */
  char **storage_options;
};

/* Reference counting: the SQL session keeps its own references. unref(NULL) is a no-op. */
lsql_namespace *lsql_namespace_ref(lsql_namespace *ns);
void lsql_namespace_unref(lsql_namespace *ns);
/* Implementation name ("dir" / "rest"). */
const char *lsql_namespace_impl(const lsql_namespace *ns);

/* Implementation constructors (take the property list of lsql_connect). */
int lsql_ns_dir_connect(const char *const *props, lsql_namespace **out, lsql_error *err);
int lsql_ns_rest_connect(const char *const *props, lsql_namespace **out, lsql_error *err);
/* Wraps impl into a new handle with one reference; on failure calls vt->destroy(impl). */
int lsql_ns_wrap(const lsql_ns_vtable *vt, void *impl, char **storage_options,
                 lsql_namespace **out, lsql_error *err);

/* ---- ids ------------------------------------------------------------------------------------ */

/* Checks one id component: non-empty, no '/', '\\', control NUL, not "." or "..", and none of
 * the characters in `forbidden` (e.g. "$" for the dir namespace, the REST delimiter). */
int lsql_ns_check_component(const char *c, size_t len, const char *forbidden, lsql_error *err);
/* Checks every component of an id (a NULL array is only valid with id_len 0). */
int lsql_ns_check_id(const char *const *id, size_t id_len, const char *forbidden,
                     lsql_error *err);
/* "a.b.c" for messages (root: "(root)"); writes into buf (truncated), returns buf. */
const char *lsql_ns_id_dotted(const char *const *id, size_t id_len, char *buf, size_t cap);
/* Joins components with `delim`; the root (id_len 0) is the delimiter itself. Caller frees. */
char *lsql_ns_id_join(const char *const *id, size_t id_len, const char *delim);
/* Form-url-encodes bytes (keeps A-Z a-z 0-9 * - . _, space -> '+', rest %XX), as the reference
 * REST client does, appending to b. */
int lsql_ns_url_encode(lsql_buf *b, const char *s);
/* Checks a table location read from __manifest: relative, non-empty, no "..", "." or empty
 * segments, no '\\', no scheme, no leading '/'. */
int lsql_ns_check_relative_location(const char *loc, lsql_error *err);

/* ---- lists ---------------------------------------------------------------------------------- */

/* Sorts names (byte order), removes duplicates, keeps names strictly after page_token, truncates
 * to limit (> 0) and sets next_page_token to the last kept name when more remain. Takes
 * ownership of names[0..n) (and the array) in all cases. */
int lsql_ns_paginate(char **names, size_t n, const char *page_token, int32_t limit,
                     lsql_string_list *out, lsql_error *err);
/* Builds a list from a borrowed array of names (copied). */
int lsql_ns_list_from(const char *const *names, size_t n, const char *next_token,
                      lsql_string_list *out, lsql_error *err);

/* ---- __manifest rows (dir namespace) ------------------------------------------------------- */

typedef struct lsql_ns_manifest_row {
  char *object_id; /* `$`-joined id */
  int is_table;    /* 1: object_type "table", 0: "namespace" (other types are skipped) */
  char *location;  /* tables: relative to root (validated when used); may be NULL */
  char *metadata;  /* JSON object string, may be NULL */
} lsql_ns_manifest_row;
void lsql_ns_manifest_rows_free(lsql_ns_manifest_row *rows, size_t n);
/* Appends the rows of one Arrow batch (a struct with utf8/large-utf8 children object_id,
 * object_type, location, metadata; other columns ignored) to rows[0..*n) (capacity *cap).
 * Malformed arrays or object ids are LSQL_ECORRUPT. */
int lsql_ns_manifest_add_batch(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                               lsql_ns_manifest_row **rows, size_t *n, size_t *cap,
                               lsql_error *err);
/* Version number of a `_versions/` entry name (V1 `{v}.manifest` or V2 `{u64max - v:020}
 * .manifest`); false for anything else (detached, staging, hints). */
bool lsql_ns_manifest_file_version(const char *name, uint64_t *version);
/* Parses a JSON object of string values into a NULL-terminated key/value list. */
int lsql_ns_parse_properties(const char *json, size_t len, char ***props, lsql_error *err);

/* ---- REST reply parsers (exposed for unit tests and fuzzing) -------------------------------- */

/* Parses {"<key>": [names], "page_token": str|null} (also accepts "next_page_token"). */
int lsql_ns_rest_parse_list(const char *body, size_t len, const char *key, lsql_string_list *out,
                            lsql_error *err);
/* Parses a DescribeTableResponse: location (required), storage_options, version. */
int lsql_ns_rest_parse_table(const char *body, size_t len, lsql_table_desc *out, lsql_error *err);
/* Parses a DescribeNamespaceResponse: properties object (or null) -> key/value list. */
int lsql_ns_rest_parse_namespace(const char *body, size_t len, char ***props, lsql_error *err);
/* Turns a non-2xx reply into a status + message. `what` is "table a.b" / "namespace a" and
 * `url` is the request URL without credentials. Returns the status it set in err. */
int lsql_ns_rest_error(long http_status, const char *body, size_t len, const char *what,
                       const char *url, lsql_error *err);
/* Parses {code, error, detail}; returns the code or -1 when the body is not an error object. */
int lsql_ns_rest_error_code(const char *body, size_t len);

#endif
