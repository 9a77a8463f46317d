/* Unit tests of the dataset's caches of reader buffers (lsql_table_spares_*) and open data files
 * (lsql_table_file_*): repeated scans of one handle reuse them, they stay within their bounds, and
 * they are freed with the dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "harness.h"
#include "table/table.h"

static const char *fixture_ds(const char *rel, char *buf, size_t cap) {
  const char *root = getenv("LSQL_FIXTURES");
  snprintf(buf, cap, "%s/datasets/%s", root ? root : LSQL_SOURCE_DIR "/build/fixtures", rel);
  struct stat st;
  return stat(buf, &st) == 0 ? buf : NULL;
}

/* Scans every column and returns the rows read (-1 on error). */
static int64_t scan_all(lsql_dataset *ds, int n_threads, int64_t batch_size) {
  lsql_scan_options so = {0};
  so.n_threads = n_threads;
  so.batch_size = batch_size;
  struct ArrowArrayStream st;
  lsql_error err = {0};
  if (lsql_dataset_scan(ds, &so, &st, &err)) {
    fprintf(stderr, "scan: %s\n", err.message);
    return -1;
  }
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray a;
    if (st.get_next(&st, &a)) {
      fprintf(stderr, "next: %s\n", st.get_last_error(&st));
      rows = -1;
      break;
    }
    if (!a.release) break;
    rows += a.length;
    a.release(&a);
  }
  st.release(&st);
  return rows;
}

LSQL_TEST(test_spares_cache_reuse_and_bound) {
  static const char *sets[] = {"2.0/types", "2.1/types", "2.2/types", "2.2/fragments", "2.1/long_strings"};
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
    char path[4096];
    if (!fixture_ds(sets[i], path, sizeof path)) {
      fprintf(stderr, "  (skipped %s: no fixtures)\n", sets[i]);
      continue;
    }
    lsql_error err = {0};
    lsql_dataset *ds = NULL;
    CHECK_OK(lsql_dataset_open(path, NULL, &ds, &err), err);
    if (!ds) continue;
    size_t n = 0, bytes = 0;
    lsql_table_spares_stats(ds, &n, &bytes);
    CHECK_EQ_INT(n, 0);
    int64_t rows = scan_all(ds, 1, 0);
    CHECK(rows > 0);
    lsql_table_spares_stats(ds, &n, &bytes);
    CHECK(n > 0); /* the finished scan left its buffers */
    CHECK(n <= LSQL_DATASET_SPARES_MAX_ENTRIES);
    CHECK(bytes <= ds->spares_max_bytes);
    size_t n1 = n;
    /* the scan's data files stay open on the handle, each cached once; taking one removes it */
    CHECK(ds->n_files > 0 && ds->n_files <= LSQL_DATASET_FILES_MAX);
    size_t nf = ds->n_files;
    lsql_file *f0 = ds->n_files ? lsql_table_file_take(ds, ds->files[0].path) : NULL;
    CHECK(f0 != NULL);
    CHECK_EQ_INT(ds->n_files, nf - 1);
    lsql_table_file_give(ds, f0);
    CHECK_EQ_INT(ds->n_files, nf);
    /* repeated scans (one and several threads, other batch sizes) read the same rows and take the
     * cached buffers rather than piling up new entries */
    for (int k = 0; k < 3; k++) {
      CHECK_EQ_INT(scan_all(ds, 1 + k, k == 1 ? 100 : 0), rows);
      lsql_table_spares_stats(ds, &n, &bytes);
      CHECK(n <= n1 * 3);
      CHECK(bytes <= ds->spares_max_bytes);
    }
    /* taking removes: the same field's entries run out, and nothing else is returned */
    CHECK(lsql_table_spares_take(ds, -12345) == NULL);
    lsql_dataset_free(ds); /* frees the cache (leak-checked under ASan) */
    /* tight bounds (set before the first scan): entries that do not fit are evicted (oldest
     * first) or dropped, and the scans still read the same rows */
    static const size_t bounds[] = {256 << 10, 64 << 10, 0};
    for (size_t b = 0; b < 3; b++) {
      ds = NULL;
      CHECK_OK(lsql_dataset_open(path, NULL, &ds, &err), err);
      if (!ds) break;
      ds->spares_max_bytes = bounds[b];
      for (int k = 0; k < 3; k++) {
        CHECK_EQ_INT(scan_all(ds, 1 + k % 2, 0), rows);
        lsql_table_spares_stats(ds, &n, &bytes);
        CHECK(bytes <= bounds[b]);
      }
      lsql_dataset_free(ds);
    }
  }
}

LSQL_TEST(test_spares_cache_give_take) {
  char path[4096];
  if (!fixture_ds("2.2/types", path, sizeof path)) return;
  lsql_error err = {0};
  lsql_dataset *ds = NULL;
  CHECK_OK(lsql_dataset_open(path, NULL, &ds, &err), err);
  if (!ds) return;
  CHECK(scan_all(ds, 1, 0) > 0);
  size_t n = 0, bytes = 0;
  lsql_table_spares_stats(ds, &n, &bytes);
  /* every entry can be taken exactly once; given back, they are counted again */
  lsql_reader_spares *got[LSQL_DATASET_SPARES_MAX_ENTRIES];
  int32_t ids[LSQL_DATASET_SPARES_MAX_ENTRIES];
  size_t k = 0;
  for (int32_t id = 0; id <= ds->max_field_id; id++) {
    lsql_reader_spares *sp;
    while (k < LSQL_DATASET_SPARES_MAX_ENTRIES && (sp = lsql_table_spares_take(ds, id))) {
      for (size_t j = 0; j < k; j++) CHECK(got[j] != sp);
      ids[k] = id;
      got[k++] = sp;
    }
  }
  CHECK_EQ_INT(k, n);
  size_t n2 = 0, b2 = 0;
  lsql_table_spares_stats(ds, &n2, &b2);
  CHECK_EQ_INT(n2, 0);
  CHECK_EQ_INT(b2, 0);
  for (size_t j = 0; j < k; j++) lsql_table_spares_give(ds, ids[j], got[j]);
  lsql_table_spares_give(ds, 1, NULL); /* no-op */
  lsql_table_spares_stats(ds, &n2, &b2);
  CHECK_EQ_INT(n2, n);
  CHECK(b2 <= ds->spares_max_bytes);
  lsql_dataset_free(ds);
}

typedef struct conc_arg {
  lsql_dataset *ds;
  int64_t rows;
  int id;
  int bad;
} conc_arg;

static void *conc_scan(void *p) {
  conc_arg *a = p;
  for (int k = 0; k < 3; k++)
    if (scan_all(a->ds, 1 + (a->id + k) % 2, 0) != a->rows) a->bad++;
  return NULL;
}

LSQL_TEST(test_spares_cache_concurrent_scans) {
  char path[4096];
  if (!fixture_ds("2.2/fragments", path, sizeof path)) return;
  lsql_error err = {0};
  lsql_dataset *ds = NULL;
  CHECK_OK(lsql_dataset_open(path, NULL, &ds, &err), err);
  if (!ds) return;
  int64_t rows = scan_all(ds, 1, 0);
  CHECK(rows > 0);
  pthread_t t[4];
  conc_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (conc_arg){ds, rows, i, 0};
    CHECK(pthread_create(&t[i], NULL, conc_scan, &args[i]) == 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    CHECK_EQ_INT(args[i].bad, 0);
  }
  size_t n = 0, bytes = 0;
  lsql_table_spares_stats(ds, &n, &bytes);
  CHECK(n <= LSQL_DATASET_SPARES_MAX_ENTRIES);
  CHECK(bytes <= ds->spares_max_bytes);
  lsql_dataset_free(ds);
}
