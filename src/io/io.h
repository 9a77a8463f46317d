/* Object stores: the only layer that touches files or the network. Paths are full locations:
 * an absolute local path, file:///abs/path, or s3://bucket/key. A store is created for a root
 * location with storage options and serves any path under the same scheme (and bucket).
 * Stores and open files are thread-safe; reads may run concurrently. */
#ifndef LSQL_IO_H
#define LSQL_IO_H

#include "util/util.h"

typedef struct lsql_store lsql_store;
typedef struct lsql_rfile lsql_rfile;

/* Creates a store able to read `root` (and anything under the same scheme/bucket).
 * `options` is a NULL-terminated key/value list of Lance storage options (may be NULL).
 * Caller owns *out (reference count 1). */
int lsql_store_open(const char *root, const char *const *options, lsql_store **out, lsql_error *err);
lsql_store *lsql_store_ref(lsql_store *st);
void lsql_store_unref(lsql_store *st);
/* "file" or "s3". */
const char *lsql_store_scheme(const lsql_store *st);
/* True when small reads of f are cheap (a local file), so a reader may read per batch instead of
 * per page; false for object stores, where every read is a request. */
bool lsql_rfile_cheap_reads(const lsql_rfile *f);

/* Joins a base location and a relative path with exactly one '/'. Caller frees. */
char *lsql_path_join(const char *base, const char *rel);
/* Strips a file:// prefix and trailing slashes; returns a new string. Caller frees. */
char *lsql_path_normalize(const char *location);

/* Opens an object for reading. size_hint > 0 avoids a size lookup (from the manifest).
 * A missing object is LSQL_ENOTFOUND. Caller owns *out. */
int lsql_rfile_open(lsql_store *st, const char *path, uint64_t size_hint, lsql_rfile **out,
                    lsql_error *err);
void lsql_rfile_close(lsql_rfile *f);
uint64_t lsql_rfile_size(const lsql_rfile *f);
const char *lsql_rfile_path(const lsql_rfile *f);
/* Reads exactly len bytes at off into dst; a short object is LSQL_ECORRUPT. */
int lsql_rfile_read(lsql_rfile *f, uint64_t off, uint64_t len, void *dst, lsql_error *err);

typedef struct lsql_range {
  uint64_t off;
  uint64_t len;
  void *dst;
} lsql_range;
/* Reads several ranges; adjacent or nearby ranges are coalesced into one request and requests
 * may run in parallel. Each range is filled completely or the call fails. */
int lsql_rfile_read_ranges(lsql_rfile *f, lsql_range *ranges, size_t n, lsql_error *err);

/* Reads a whole (small) object: manifests, JSON. Caller frees *data with lsql_free. */
int lsql_store_read_all(lsql_store *st, const char *path, uint8_t **data, size_t *len,
                        lsql_error *err);
/* Sets *exists. Errors other than "not found" are returned. */
int lsql_store_exists(lsql_store *st, const char *path, int *exists, lsql_error *err);

typedef struct lsql_dirent {
  char *name;     /* the last path component */
  uint64_t size;  /* 0 for directories */
  int is_dir;     /* a directory or common prefix */
} lsql_dirent;
/* Lists the direct children of directory `dir`, sorted by name (byte order). A missing directory
 * gives an empty list. Caller frees with lsql_dirents_free. */
int lsql_store_list(lsql_store *st, const char *dir, lsql_dirent **out, size_t *n_out,
                    lsql_error *err);
void lsql_dirents_free(lsql_dirent *ents, size_t n);

/* Request statistics, for benchmarks and tests: requests made (HTTP attempts for S3, reads,
 * listings and lookups for local disk), payload bytes read and retries. */
typedef struct lsql_store_stats {
  uint64_t requests;
  uint64_t bytes;
  uint64_t retries;
} lsql_store_stats;
void lsql_store_stats_get(const lsql_store *st, lsql_store_stats *out);
/* The same, summed over every store of the process (never reset). */
void lsql_io_stats_global(lsql_store_stats *out);

#endif
