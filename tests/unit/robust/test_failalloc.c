/* Injected allocation failures: for N = 0, 1, 2, ... every entry point is run with
 * lsql_alloc_fail_after(N) until it succeeds. Each failing run must return a clean error
 * (LSQL_ENOMEM, or another status with a message) and leave nothing behind: run under ASan with
 * detect_leaks=1 (make SANITIZE=1 unit) to check the "leak nothing" half.
 * Data: the committed example namespace examples/lake (small datasets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/util.h"

#define LAKE LSQL_SOURCE_DIR "/examples/lake"
#define CUSTOMERS LAKE "/5cfa4b20_retail$sales$customers"
#define MAX_STEPS 200000

/* Drains a stream; returns rows or -1 on a stream error. */
static int64_t drain(struct ArrowArrayStream *st) {
  int64_t rows = 0;
  struct ArrowSchema s;
  if (st->get_schema(st, &s) != 0) return -1;
  s.release(&s);
  for (;;) {
    struct ArrowArray a;
    memset(&a, 0, sizeof a);
    if (st->get_next(st, &a) != 0) {
      const char *m = st->get_last_error(st);
      if (!m || !*m) {
        fprintf(stderr, "stream error without a message\n");
        lsql_test_failures++;
      }
      return -1;
    }
    if (!a.release) return rows;
    rows += a.length;
    a.release(&a);
  }
}

/* Each scenario returns LSQL_OK or an error, with everything it made freed. */
typedef int (*scenario)(lsql_error *err, int64_t *rows);

static int sc_open_scan(lsql_error *err, int64_t *rows) {
  lsql_dataset *ds = NULL;
  int rc = lsql_dataset_open(CUSTOMERS, NULL, &ds, err);
  if (rc != LSQL_OK) {
    if (ds) { fprintf(stderr, "open failed but *out is set\n"); lsql_test_failures++; }
    return rc;
  }
  uint64_t n = 0;
  if ((rc = lsql_dataset_count_rows(ds, &n, err)) == LSQL_OK) {
    struct ArrowArrayStream st;
    memset(&st, 0, sizeof st);
    lsql_scan_options o = {0};
    o.n_threads = 2;
    o.ordered = 1;
    if ((rc = lsql_dataset_scan(ds, &o, &st, err)) == LSQL_OK) {
      *rows = drain(&st);
      st.release(&st);
      if (*rows < 0) rc = lsql_err(err, LSQL_ENOMEM, "stream failed");
    }
  }
  if (rc == LSQL_OK) {
    char *json = NULL;
    rc = lsql_dataset_inspect(ds, &json, err);
    lsql_free(json);
  }
  if (rc == LSQL_OK) {
    struct ArrowSchema s;
    if ((rc = lsql_dataset_schema(ds, &s, err)) == LSQL_OK) s.release(&s);
  }
  lsql_dataset_free(ds);
  return rc;
}

static int sc_connect_list(lsql_error *err, int64_t *rows) {
  lsql_namespace *ns = NULL;
  const char *props[] = {"root", LAKE, NULL};
  int rc = lsql_connect("dir", props, &ns, err);
  if (rc != LSQL_OK) return rc;
  lsql_string_list l;
  memset(&l, 0, sizeof l);
  const char *id[] = {"retail", "sales"};
  if ((rc = lsql_namespace_list_namespaces(ns, NULL, 0, NULL, 0, &l, err)) == LSQL_OK) {
    *rows = (int64_t)l.n_items;
    lsql_string_list_free(&l);
    if ((rc = lsql_namespace_list_tables(ns, id, 2, NULL, 0, &l, err)) == LSQL_OK) {
      *rows += (int64_t)l.n_items;
      lsql_string_list_free(&l);
    }
  }
  if (rc == LSQL_OK) {
    const char *tid[] = {"retail", "sales", "customers"};
    lsql_table_desc d;
    memset(&d, 0, sizeof d);
    if ((rc = lsql_namespace_describe_table(ns, tid, 3, &d, err)) == LSQL_OK) lsql_table_desc_free(&d);
  }
  lsql_namespace_free(ns);
  return rc;
}

static int sc_session_query(lsql_error *err, int64_t *rows) {
  lsql_namespace *ns = NULL;
  const char *props[] = {"root", LAKE, NULL};
  int rc = lsql_connect("dir", props, &ns, err);
  if (rc != LSQL_OK) return rc;
  lsql_session_builder *b = lsql_session_builder_new();
  lsql_session *s = NULL;
  if (!b) rc = lsql_err(err, LSQL_ENOMEM, "builder");
  if (rc == LSQL_OK) rc = lsql_session_builder_with_root(b, ns, err);
  if (rc == LSQL_OK) rc = lsql_session_builder_set_option(b, "threads", "1", err);
  if (rc == LSQL_OK) rc = lsql_session_builder_build(b, &s, err);
  lsql_session_builder_free(b);
  lsql_namespace_free(ns);
  if (rc == LSQL_OK) {
    struct ArrowArrayStream st;
    memset(&st, 0, sizeof st);
    rc = lsql_session_sql(s, "SELECT customer_id, name FROM retail.sales.customers ORDER BY 1", &st, err);
    if (rc == LSQL_OK) {
      *rows = drain(&st);
      st.release(&st);
      if (*rows < 0) rc = lsql_err(err, LSQL_ENOMEM, "stream failed");
    }
  }
  lsql_session_free(s);
  return rc;
}

static void run(const char *name, scenario fn) {
  lsql_error err;
  int64_t rows = 0, want = -1;
  /* Reference run without failures. */
  memset(&err, 0, sizeof err);
  int rc = fn(&err, &want);
  if (rc != LSQL_OK) {
    fprintf(stderr, "%s: reference run failed: %s: %s\n", name, lsql_status_name(rc), err.message);
    lsql_test_failures++;
    return;
  }
  int64_t n, enomem = 0, other = 0;
  int seen[16] = {0};
  for (n = 0; n < MAX_STEPS; n++) {
    memset(&err, 0, sizeof err);
    rows = 0;
    lsql_alloc_fail_after(n);
    rc = fn(&err, &rows);
    lsql_alloc_fail_after(-1);
    if (rc == LSQL_OK) break;
    if (rc == LSQL_ENOMEM) enomem++;
    else {
      other++;
      /* Allowed (a protobuf-c unpack that runs out of memory looks like a bad message), but
       * shown once per status so misreported codes stay visible. */
      if (rc > 0 && rc < 16 && !seen[rc]++)
        fprintf(stderr, "%s: N=%lld: %s: %s\n", name, (long long)n, lsql_status_name(rc), err.message);
    }
    if (!err.message[0] || err.code != rc) {
      fprintf(stderr, "%s: N=%lld: status %s with err.code %d and message \"%s\"\n", name, (long long)n,
              lsql_status_name(rc), err.code, err.message);
      lsql_test_failures++;
    }
  }
  if (n == MAX_STEPS) {
    fprintf(stderr, "%s: still failing after %d allocations\n", name, MAX_STEPS);
    lsql_test_failures++;
  } else if (rows != want) {
    fprintf(stderr, "%s: first successful run (N=%lld) gave %lld rows, want %lld\n", name, (long long)n,
            (long long)rows, (long long)want);
    lsql_test_failures++;
  }
  fprintf(stderr, "%s: succeeded at N=%lld (%lld ENOMEM, %lld other errors)\n", name, (long long)n,
          (long long)enomem, (long long)other);
}

LSQL_TEST(failalloc_dataset_open_scan) { run("dataset_open_scan", sc_open_scan); }
LSQL_TEST(failalloc_connect_list) { run("connect_list", sc_connect_list); }
LSQL_TEST(failalloc_session_query) { run("session_query", sc_session_query); }
