/* Internal interface of the SQL layer: the DuckDB bridge (lance_scan table function, Arrow ->
 * DuckDB vector conversion) and the session state it reads. See docs/sql.md for the design. */
#ifndef LSQL_SQL_H
#define LSQL_SQL_H

#include <pthread.h>
#include <stdatomic.h>

#include "duckdb.h"
#include "util/util.h"

/* Namespace handles are reference counted by the namespace layer. */
#include "namespace/namespace.h"

/* ---- Arrow -> DuckDB conversion (convert.c) ------------------------------------------------ */

/* DuckDB type for an Arrow field (dictionary -> value type, FixedSizeList -> ARRAY, tz
 * timestamps -> TIMESTAMP WITH TIME ZONE, ...). Caller destroys *out. */
int lsql_sql_arrow_to_duckdb_type(const struct ArrowSchema *s, duckdb_logical_type *out,
                                  lsql_error *err);
/* Writes rows [row, row + count) of array `a` (schema `s`, its own offset applied) into vector
 * `v` at rows [out_row, out_row + count). `v` must have the type from the function above and
 * room for the rows (lists reserve their children). */
int lsql_sql_arrow_to_vector(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t row,
                             int64_t count, duckdb_vector v, idx_t out_row, lsql_error *err);

/* ---- sessions (session.c) ------------------------------------------------------------------ */

/* A catalog: either a child of the root namespace (path = [name]) or a mounted namespace. */
typedef struct lsql_sql_catalog {
  char *name;
  lsql_namespace *ns;
  char **path;  /* namespace id of the catalog */
  size_t path_len;
  bool mounted;
} lsql_sql_catalog;

/* A dataset opened by the session; shared by the cache and by running scans. */
typedef struct lsql_sql_table {
  atomic_int refs;
  lsql_dataset *ds;
  uint64_t version;
  uint64_t rows;
  struct ArrowSchema schema;  /* top-level struct schema of the dataset */
  char *key;                  /* cache key: "<quoted name>" or "<quoted name>@v<n>" */
  uint64_t checked_epoch;     /* session epoch of the last latest-version check */
} lsql_sql_table;

void lsql_sql_table_unref(lsql_sql_table *t);

struct lsql_session {
  atomic_int refs;           /* the user's handle + every open result stream */
  duckdb_database db;
  duckdb_connection ddl;     /* runs ATTACH / CREATE SCHEMA / CREATE VIEW; guarded by ddl_mu */
  pthread_mutex_t ddl_mu;    /* catalog creation state */
  pthread_mutex_t cache_mu;  /* dataset cache + catalog list (taken by bind, never while
                                holding it do we call into DuckDB) */
  lsql_namespace *root;      /* may be NULL */
  lsql_sql_catalog *catalogs; /* mounted catalogs + root children seen so far */
  size_t n_catalogs;
  char *default_catalog, *default_schema;
  /* DuckDB objects already created (names "cat" / "cat\x1fsch" / "cat\x1fsch\x1ftbl"). */
  void *created;             /* created_obj[] (session.c) */
  size_t n_created, cap_created;
  lsql_sql_table **cache;
  size_t n_cache, cap_cache;
  int threads;
  int64_t batch_size;
  bool allow_external_access;
  /* Interrupt and progress. */
  atomic_uint_fast64_t epoch;
  atomic_uint cancel_gen;    /* bumped by lsql_session_interrupt */
  atomic_uint_fast64_t n_dataset_opens; /* datasets opened so far (tests check listing opens none) */
  atomic_uint_fast64_t n_dataset_scans; /* lsql_dataset_scan calls by lance_scan (count(*) through a
                                           view makes none) */
  pthread_mutex_t conn_mu;   /* protects queries (for duckdb_interrupt and progress) */
  struct lsql_sql_query **queries; /* open queries, one DuckDB connection each */
  size_t n_queries, cap_queries;
};

/* One lsql_session_sql call: its connection and the progress counters of its scans. Shared
 * (reference counted) by the result stream and the scans' global states. */
typedef struct lsql_sql_query {
  atomic_int refs;
  duckdb_connection con;
  idx_t conn_id;                          /* DuckDB connection id (bind sees it) */
  atomic_uint_fast64_t rows_done;         /* rows emitted by its lance_scans */
  atomic_uint_fast64_t rows_total;        /* exact cardinality of its started lance_scans */
  atomic_bool finished;                   /* its result is fully read */
} lsql_sql_query;

/* The open query running on DuckDB connection `conn_id` with a new reference, or NULL. */
lsql_sql_query *lsql_sql_query_find(lsql_session *s, idx_t conn_id);
void lsql_sql_query_unref(lsql_sql_query *q);

/* Resolves a (possibly 1- or 2-part) table name against the session's catalogs, applying the
 * defaults. On success cat, sch and tbl are set to freshly allocated names (caller frees) and
 * *ns / *id / *id_len describe the table in its namespace (id allocated, free with lsql_strv_free
 * semantics: each component and the array via lsql_free). */
int lsql_sql_resolve(lsql_session *s, const char *const *parts, size_t n_parts, char **cat,
                     char **sch, char **tbl, lsql_namespace **ns, char ***id, size_t *id_len,
                     lsql_error *err);
/* Finds catalog `name` (mounted, or a child of the root that exists now; ENOTFOUND otherwise).
 * *ns is borrowed (catalogs live as long as the session); *path is the catalog's namespace id,
 * allocated with room for 3 more components (free with lsql_strv_free). */
int lsql_sql_find_catalog(lsql_session *s, const char *name, lsql_namespace **ns, char ***path,
                          size_t *path_len, lsql_error *err);
/* Splits "a.b.c" / "\"a.b\".c" into parts (caller frees with lsql_strv_free). */
int lsql_sql_split_name(const char *name, char ***parts, size_t *n_parts, lsql_error *err);
/* Opens (or finds in the cache) the table `name` at `version` (0 = latest) or `tag`. */
int lsql_sql_table_get(lsql_session *s, const char *name, int64_t version, const char *tag,
                       lsql_sql_table **out, lsql_error *err);

/* ---- the lance_scan / lance_tables table functions (scan.c) --------------------------------- */

int lsql_sql_register_functions(lsql_session *s, duckdb_connection con, lsql_error *err);
/* Every table of the mounted namespaces as (catalog, schema, table) triples, names only (opens no
 * dataset). *rows holds 3 * *n strings; caller frees each and the array with lsql_free. */
int lsql_sql_list_all_tables(lsql_session *s, char ***rows, size_t *n, lsql_error *err);

#endif
