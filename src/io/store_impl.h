/* Private to src/io: the store and file structs and the S3 back end's entry points. */
#ifndef LSQL_IO_STORE_IMPL_H
#define LSQL_IO_STORE_IMPL_H

#include <stdatomic.h>

#include "io.h"

enum { LSQL_STORE_LOCAL = 1, LSQL_STORE_S3 = 2 };

/* Request counters (every attempt counts as a request, retries included). */
typedef struct lsql_store_counters {
  _Atomic uint64_t requests;
  _Atomic uint64_t bytes;
  _Atomic uint64_t retries;
} lsql_store_counters;

struct lsql_store {
  _Atomic int refs;
  int kind;
  lsql_store_counters stats;
  void *impl;                          /* back-end state (S3 config) */
  void (*destroy)(lsql_store *st);     /* frees impl */
};

struct lsql_rfile {
  lsql_store *store;
  char *path;
  uint64_t size;
  int fd;       /* local */
  void *impl;   /* S3 */
};

int lsql_s3_store_open(const char *root, const char *const *options, lsql_store **out, lsql_error *err);
int lsql_s3_rfile_open(lsql_store *st, const char *path, uint64_t size_hint, lsql_rfile **out, lsql_error *err);
void lsql_s3_rfile_close(lsql_rfile *f);
int lsql_s3_rfile_read(lsql_rfile *f, uint64_t off, uint64_t len, void *dst, lsql_error *err);
int lsql_s3_rfile_read_ranges(lsql_rfile *f, lsql_range *ranges, size_t n, lsql_error *err);
int lsql_s3_exists(lsql_store *st, const char *path, int *exists, lsql_error *err);
int lsql_s3_read_all(lsql_store *st, const char *path, uint8_t **data, size_t *len, lsql_error *err);
int lsql_s3_list(lsql_store *st, const char *dir, lsql_dirent **out, size_t *n_out, lsql_error *err);

/* Adds to the process-wide counters (lsql_io_stats_global). */
void lsql_io_count_global(uint64_t requests, uint64_t bytes);

#define LSQL_S3_VERSION "0.1"

#endif
