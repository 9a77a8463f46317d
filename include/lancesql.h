/*
 * lancesql: SQL over Lance datasets organised in Lance Namespaces.
 *
 * Conventions (the same for every function below):
 *  - Functions that can fail return an int status: LSQL_OK (0) or an lsql_status code.
 *  - The last parameter is `lsql_error *err`, owned by the caller. It may be NULL. It is written
 *    only on failure, with the code and a message that carries context
 *    ("retail.sales.orders: data/ab.lance: page 3 of column 7: bitpacked width 70 > 64").
 *  - Handles are opaque. Each `lsql_x_new`/`open` has a matching `lsql_x_free`; `_free(NULL)` does
 *    nothing. On failure, out-parameters are set to NULL and nothing is left for the caller to free.
 *  - Strings passed in are borrowed for the duration of the call unless a comment says otherwise.
 *  - Property lists are NULL-terminated arrays of alternating keys and values:
 *    (const char *[]){"root", "/data/lake", NULL}.
 *  - Results are exported through the Arrow C data interface (ArrowSchema/ArrowArray/
 *    ArrowArrayStream); the consumer calls `release`.
 */
#ifndef LANCESQL_H
#define LANCESQL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LSQL_API __declspec(dllexport)
#else
#define LSQL_API __attribute__((visibility("default")))
#endif

#define LSQL_VERSION_MAJOR 0
#define LSQL_VERSION_MINOR 1
#define LSQL_VERSION_PATCH 0
#define LSQL_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------------------------------------
 * Arrow C data interface (the standard ABI, https://arrow.apache.org/docs/format/CDataInterface.html)
 * ------------------------------------------------------------------------------------------- */
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4
struct ArrowSchema {
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;
  void (*release)(struct ArrowSchema *);
  void *private_data;
};
struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;
  void (*release)(struct ArrowArray *);
  void *private_data;
};
#endif
#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);
  void (*release)(struct ArrowArrayStream *);
  void *private_data;
};
#endif

/* ---------------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------------- */
enum lsql_status {
  LSQL_OK = 0,
  LSQL_EINVAL = 1,       /* invalid argument or option */
  LSQL_ENOMEM = 2,       /* allocation failed */
  LSQL_EIO = 3,          /* I/O failure (file system, network) */
  LSQL_ENOTFOUND = 4,    /* dataset, version, tag, namespace, table, catalog or file not found */
  LSQL_ECORRUPT = 5,     /* malformed bytes: footer, protobuf, page, deletion file, JSON reply */
  LSQL_EUNSUPPORTED = 6, /* a valid feature this build does not read (e.g. legacy 0.1 files) */
  LSQL_EREADONLY = 7,    /* a write, DDL or sandbox escape was refused */
  LSQL_ESQL = 8,         /* the SQL engine reported an error (syntax, binder, ...) */
  LSQL_ECANCELLED = 9,   /* the operation was interrupted */
  LSQL_EPERM = 10,       /* permission denied / authentication failure */
  LSQL_EREMOTE = 11,     /* a remote service (REST namespace, object store) reported an error */
  LSQL_ELIMIT = 12       /* a resource limit was exceeded */
};

#define LSQL_ERROR_MESSAGE_LEN 512
typedef struct lsql_error {
  int code;                              /* an lsql_status; LSQL_OK when unset */
  char message[LSQL_ERROR_MESSAGE_LEN];  /* NUL-terminated, truncated if needed */
} lsql_error;

/* Short name of a status code ("ENOTFOUND"). Static string, never NULL. */
LSQL_API const char *lsql_status_name(int code);
/* Version of the library ("0.1.0"). Static string. */
LSQL_API const char *lsql_version(void);

/* ---------------------------------------------------------------------------------------------
 * Memory. All allocation goes through one process-wide allocator, libc by default. Install a
 * different one before any other call (not thread-safe against concurrent use of the library).
 * ------------------------------------------------------------------------------------------- */
typedef struct lsql_allocator {
  void *(*realloc)(void *ctx, void *ptr, size_t size); /* size 0 is never requested */
  void (*free)(void *ctx, void *ptr);
  void *ctx;
} lsql_allocator;
/* Installs `a` (copied), or restores libc when `a` is NULL. */
LSQL_API void lsql_set_allocator(const lsql_allocator *a);
/* Frees memory that the library returned to the caller (strings, lists). NULL is a no-op. */
LSQL_API void lsql_free(void *ptr);

/* ---------------------------------------------------------------------------------------------
 * Datasets (a single Lance table, opened by URI)
 * ------------------------------------------------------------------------------------------- */
typedef struct lsql_dataset lsql_dataset;

typedef struct lsql_open_options {
  int64_t version;                     /* > 0: open this version; 0: latest */
  const char *tag;                     /* non-NULL: open the version this tag names */
  const char *branch;                  /* non-NULL: open the latest version of this branch */
  const char *const *storage_options;  /* NULL-terminated key/value list, may be NULL */
} lsql_open_options;

/* Opens the dataset at `uri` (a local path, file:// or s3:// URI). `opts` may be NULL (latest).
 * Caller owns *out; free with lsql_dataset_free. Thread-safe: a dataset may be scanned by many
 * threads at once. */
LSQL_API int lsql_dataset_open(const char *uri, const lsql_open_options *opts, lsql_dataset **out,
                               lsql_error *err);
LSQL_API void lsql_dataset_free(lsql_dataset *ds);
/* The version this handle was opened at. */
LSQL_API uint64_t lsql_dataset_version(const lsql_dataset *ds);
/* The dataset's URI as given to lsql_dataset_open. Borrowed; valid until lsql_dataset_free. */
LSQL_API const char *lsql_dataset_uri(const lsql_dataset *ds);
/* Exact number of live rows (physical rows minus deletions), from metadata only when possible. */
LSQL_API int lsql_dataset_count_rows(lsql_dataset *ds, uint64_t *out, lsql_error *err);
/* Arrow schema of the dataset (without virtual columns). Caller releases *out. */
LSQL_API int lsql_dataset_schema(lsql_dataset *ds, struct ArrowSchema *out, lsql_error *err);

typedef struct lsql_version_info {
  uint64_t version;
  int64_t timestamp_us;  /* commit time, microseconds since the epoch (UTC) */
} lsql_version_info;
/* Lists the dataset's versions, ascending. Caller frees *out with lsql_free. */
LSQL_API int lsql_dataset_versions(lsql_dataset *ds, lsql_version_info **out, size_t *n_out,
                                   lsql_error *err);

typedef struct lsql_scan_options {
  const char *const *columns; /* NULL-terminated top-level column names; NULL = all columns.
                                 May include "_rowid" and "_rowaddr". */
  int n_threads;              /* decoding threads: the caller of get_next plus n_threads - 1
                                 workers (1 = the caller decodes alone); 0 = one per core */
  int64_t batch_size;         /* rows per batch; 0 = default (8192) */
  int ordered;                /* non-zero: batches in fragment order, rows in physical order */
  int64_t readahead_bytes;    /* bound on decoded data buffered ahead; 0 = default (256 MiB) */
} lsql_scan_options;

/* Scans the dataset into an Arrow stream. `opts` may be NULL. The stream keeps its own reference
 * to the dataset, so the dataset may be freed before the stream. Caller releases *out. */
LSQL_API int lsql_dataset_scan(lsql_dataset *ds, const lsql_scan_options *opts,
                               struct ArrowArrayStream *out, lsql_error *err);

/* Describes a dataset as JSON: versions, schema, fragments, row counts, deletions, and for each
 * data file its file version and, per column, the page layouts and compression schemes found.
 * Used by `lancesql inspect` and by the encoding coverage test. Caller frees *json with lsql_free. */
LSQL_API int lsql_dataset_inspect(lsql_dataset *ds, char **json, lsql_error *err);

/* Reads a single standalone .lance data file (v2.x) with the schema stored in the file, into an
 * Arrow stream. `columns` (NULL-terminated top-level names) may be NULL for all columns. For
 * debugging and for reading files outside a dataset. Caller releases *out. */
LSQL_API int lsql_file_scan(const char *path, const char *const *columns,
                            struct ArrowArrayStream *out, lsql_error *err);
/* Describes a standalone data file as JSON (version, rows, per column pages, layouts and
 * compression schemes). Caller frees *json with lsql_free. */
LSQL_API int lsql_file_inspect(const char *path, char **json, lsql_error *err);

/* ---------------------------------------------------------------------------------------------
 * Namespaces
 * ------------------------------------------------------------------------------------------- */
typedef struct lsql_namespace lsql_namespace;

/* Connects to a namespace implementation: "dir" (properties: root, manifest_enabled,
 * dir_listing_enabled, storage.*) or "rest" (uri, delimiter, header.*, timeout_ms, retries).
 * Caller owns *out; free with lsql_namespace_free. Handles are reference counted internally, so a
 * session built from a namespace stays valid after the caller frees its handle. Thread-safe. */
LSQL_API int lsql_connect(const char *impl, const char *const *properties, lsql_namespace **out,
                          lsql_error *err);
LSQL_API void lsql_namespace_free(lsql_namespace *ns);

/* A list of strings returned by the namespace functions. Free with lsql_string_list_free. */
typedef struct lsql_string_list {
  char **items;
  size_t n_items;
  char *next_page_token; /* NULL when this is the last page */
} lsql_string_list;
LSQL_API void lsql_string_list_free(lsql_string_list *list);

/* Ids are arrays of `id_len` components; the root namespace is id_len == 0.
 * page_token may be NULL; limit <= 0 means no limit. On success *out is filled (caller frees). */
LSQL_API int lsql_namespace_list_namespaces(lsql_namespace *ns, const char *const *id, size_t id_len,
                                            const char *page_token, int32_t limit,
                                            lsql_string_list *out, lsql_error *err);
LSQL_API int lsql_namespace_list_tables(lsql_namespace *ns, const char *const *id, size_t id_len,
                                        const char *page_token, int32_t limit,
                                        lsql_string_list *out, lsql_error *err);
/* Sets *exists to 1 or 0. A missing namespace is not an error here. */
LSQL_API int lsql_namespace_exists(lsql_namespace *ns, const char *const *id, size_t id_len,
                                   int *exists, lsql_error *err);
LSQL_API int lsql_namespace_table_exists(lsql_namespace *ns, const char *const *id, size_t id_len,
                                         int *exists, lsql_error *err);

typedef struct lsql_table_desc {
  char *location;         /* URI or absolute path of the dataset */
  char **storage_options; /* NULL-terminated key/value list (may be empty, never NULL) */
  int64_t version;        /* version reported by the namespace, or -1 */
} lsql_table_desc;
/* Describes a table: its location and the storage options to open it with. Caller frees *out
 * with lsql_table_desc_free. */
LSQL_API int lsql_namespace_describe_table(lsql_namespace *ns, const char *const *id, size_t id_len,
                                           lsql_table_desc *out, lsql_error *err);
LSQL_API void lsql_table_desc_free(lsql_table_desc *desc);
/* Describes a namespace: its properties as a NULL-terminated key/value list (caller frees with
 * lsql_free on each string and on the array, or lsql_strv_free). */
LSQL_API int lsql_namespace_describe_namespace(lsql_namespace *ns, const char *const *id,
                                               size_t id_len, char ***properties, lsql_error *err);
/* Frees a NULL-terminated array of strings returned by the library. NULL is a no-op. */
LSQL_API void lsql_strv_free(char **strv);
/* Opens the table `id` of a namespace (describe + lsql_dataset_open). `opts` may be NULL. */
LSQL_API int lsql_namespace_open_table(lsql_namespace *ns, const char *const *id, size_t id_len,
                                       const lsql_open_options *opts, lsql_dataset **out,
                                       lsql_error *err);

/* ---------------------------------------------------------------------------------------------
 * SQL sessions
 * ------------------------------------------------------------------------------------------- */
typedef struct lsql_session_builder lsql_session_builder;
typedef struct lsql_session lsql_session;

/* Returns a new builder, or NULL when out of memory. Free with lsql_session_builder_free. */
LSQL_API lsql_session_builder *lsql_session_builder_new(void);
LSQL_API void lsql_session_builder_free(lsql_session_builder *b);
/* The root namespace: its child namespaces become catalogs, their children schemas. The builder
 * takes its own reference to `ns`. */
LSQL_API int lsql_session_builder_with_root(lsql_session_builder *b, lsql_namespace *ns,
                                            lsql_error *err);
/* Mounts namespace `path` (path_len components; 0 = the namespace's root) of `ns` as catalog
 * `name`; its children become schemas. The builder takes its own reference to `ns`. */
LSQL_API int lsql_session_builder_add_catalog(lsql_session_builder *b, const char *name,
                                              lsql_namespace *ns, const char *const *path,
                                              size_t path_len, lsql_error *err);
/* Default catalog and schema for one- and two-part names. schema may be NULL. */
LSQL_API int lsql_session_builder_default(lsql_session_builder *b, const char *catalog,
                                          const char *schema, lsql_error *err);
/* Session options: "threads" (default: cores), "memory_limit" (DuckDB syntax, e.g. "4GB"),
 * "allow_external_access" ("false" by default: no file access outside the namespaces),
 * "batch_size". */
LSQL_API int lsql_session_builder_set_option(lsql_session_builder *b, const char *key,
                                             const char *value, lsql_error *err);
/* Builds the session. The builder stays valid and may be freed afterwards. Caller owns *out. */
LSQL_API int lsql_session_builder_build(lsql_session_builder *b, lsql_session **out,
                                        lsql_error *err);
LSQL_API void lsql_session_free(lsql_session *s);

/* Runs one or more SQL statements (read-only) and streams the result of the last one. The stream
 * is produced incrementally; it keeps the session alive until released. Several queries may run
 * at once on one session from different threads. Caller releases *out. */
LSQL_API int lsql_session_sql(lsql_session *s, const char *sql, struct ArrowArrayStream *out,
                              lsql_error *err);
/* Interrupts every query running on the session (safe from any thread or a signal handler's
 * helper thread). Interrupted queries fail with LSQL_ECANCELLED. */
LSQL_API void lsql_session_interrupt(lsql_session *s);
/* Progress of the running queries in [0, 1], or -1 when unknown. */
LSQL_API double lsql_session_progress(lsql_session *s);

#ifdef __cplusplus
}
#endif
#endif /* LANCESQL_H */
