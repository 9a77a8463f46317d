/* S3-compatible object store back end. Not implemented yet (issue "Object storage"): every entry
 * point reports LSQL_EUNSUPPORTED with the location, so callers get a clear error. */
#include "store_impl.h"

int lsql_s3_store_open(const char *root, const char *const *options, lsql_store **out, lsql_error *err) {
  (void)options;
  *out = NULL;
  return lsql_err(err, LSQL_EUNSUPPORTED, "%s: S3 storage is not supported by this build yet", root);
}
int lsql_s3_rfile_open(lsql_store *st, const char *path, uint64_t size_hint, lsql_rfile **out, lsql_error *err) {
  (void)st; (void)size_hint; *out = NULL;
  return lsql_err(err, LSQL_EUNSUPPORTED, "%s: S3 storage is not supported", path);
}
void lsql_s3_rfile_close(lsql_rfile *f) { (void)f; }
int lsql_s3_rfile_read(lsql_rfile *f, uint64_t off, uint64_t len, void *dst, lsql_error *err) {
  (void)off; (void)len; (void)dst;
  return lsql_err(err, LSQL_EUNSUPPORTED, "%s: S3 storage is not supported", f->path);
}
int lsql_s3_rfile_read_ranges(lsql_rfile *f, lsql_range *ranges, size_t n, lsql_error *err) {
  (void)ranges; (void)n;
  return lsql_err(err, LSQL_EUNSUPPORTED, "%s: S3 storage is not supported", f->path);
}
int lsql_s3_exists(lsql_store *st, const char *path, int *exists, lsql_error *err) {
  (void)st; *exists = 0;
  return lsql_err(err, LSQL_EUNSUPPORTED, "%s: S3 storage is not supported", path);
}
int lsql_s3_list(lsql_store *st, const char *dir, lsql_dirent **out, size_t *n_out, lsql_error *err) {
  (void)st; *out = NULL; *n_out = 0;
  return lsql_err(err, LSQL_EUNSUPPORTED, "%s: S3 storage is not supported", dir);
}
