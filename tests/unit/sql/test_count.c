/* count(*) through a session's view is answered from the dataset's exact row count (physical rows
 * minus deletions) without any dataset scan: the view reads __lance_view_scan, whose leading dummy
 * column is what DuckDB projects when a query needs no column. Checked on a dataset written with
 * pylance (3 fragments, 10 000 rows, 1 000 deleted), against the session's scan counter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sql/sql.h"
#include "sql_test_util.h"


/* lake.s.t: k = 0..9999 (int64) in 3 fragments, plus a column named like the views' dummy
 * (the view must pick another dummy name); rows with k % 10 = 3 deleted (version 4). */
static const char WRITE_PY[] =
    "import sys, os\n"
    "os.environ.setdefault('LANCE_LOG', 'error')\n"
    "import pyarrow as pa, lance, lance_namespace as lns\n"
    "root = sys.argv[1]\n"
    "ns = lns.connect('dir', {'root': root})\n"
    "for nid in (['lake'], ['lake', 's']):\n"
    "    ns.create_namespace(lns.CreateNamespaceRequest(id=nid))\n"
    "def part(lo, hi):\n"
    "    return pa.table({'k': pa.array(range(lo, hi), pa.int64()),\n"
    "                     '__LANCE_ROWS': pa.array([str(i) for i in range(lo, hi)])})\n"
    "t = part(0, 4000)\n"
    "sink = pa.BufferOutputStream()\n"
    "with pa.ipc.new_stream(sink, t.schema) as w:\n"
    "    w.write_table(t)\n"
    "loc = ns.create_table(lns.CreateTableRequest(id=['lake', 's', 't']), sink.getvalue().to_pybytes()).location\n"
    "lance.write_dataset(part(4000, 7000), loc, mode='append')\n"
    "lance.write_dataset(part(7000, 10000), loc, mode='append')\n"
    "ds = lance.dataset(loc)\n"
    "ds.delete('k % 10 = 3')\n"
    "assert lance.dataset(loc).count_rows() == 9000\n"
    "open(os.path.join(root, 'loc'), 'w').write(loc)\n";

/* Deletes k < 100 (90 more rows: 8910 left) as a new version. */
static const char DELETE_PY[] =
    "import sys, os\n"
    "os.environ.setdefault('LANCE_LOG', 'error')\n"
    "import lance\n"
    "loc = open(os.path.join(sys.argv[1], 'loc')).read()\n"
    "lance.dataset(loc).delete('k < 100')\n"
    "assert lance.dataset(loc).count_rows() == 8910\n";

static int run_py(const char *dir, const char *code) {
  char py[600], cmd[2048];
  snprintf(py, sizeof py, "%s/w.py", dir);
  FILE *f = fopen(py, "w");
  if (!f) return -1;
  fputs(code, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s/.venv/bin/python %s %s/root", LSQL_SOURCE_DIR, py, dir);
  return system(cmd);
}

static lsql_session *session_over(const char *root, const char *threads) {
  lsql_error err = {0};
  lsql_namespace *ns = NULL;
  lsql_session *s = NULL;
  lsql_session_builder *bld = lsql_session_builder_new();
  int rc = lsql_connect("dir", (const char *[]){"root", root, NULL}, &ns, &err);
  if (!rc) rc = lsql_session_builder_with_root(bld, ns, &err);
  if (!rc) rc = lsql_session_builder_default(bld, "lake", "s", &err);
  if (!rc) rc = lsql_session_builder_set_option(bld, "threads", threads, &err);
  if (!rc) rc = lsql_session_builder_build(bld, &s, &err);
  if (rc) fprintf(stderr, "session: %s: %s\n", lsql_status_name(rc), err.message);
  lsql_session_builder_free(bld);
  lsql_namespace_free(ns);
  return s;
}

static uint64_t scans(lsql_session *s) { return (uint64_t)atomic_load(&s->n_dataset_scans); }

LSQL_TEST(count_star_from_metadata) {
  char dir[256], root[300];
  snprintf(dir, sizeof dir, "/tmp/lsql_sql_count_%d", (int)getpid());
  snprintf(root, sizeof root, "%s/root", dir);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, root);
  CHECK(system(cmd) == 0);
  int py = run_py(dir, WRITE_PY);
  CHECK(py == 0);
  if (py != 0) return;

  /* Expected answers of the filtered counts, computed here. */
  long want7 = 0, want_big = 0;
  for (long k = 0; k < 10000; k++) {
    if (k % 10 == 3) continue;
    want7 += k % 7 == 0;
    want_big += k >= 9500;
  }
  char w7[32], wbig[32];
  snprintf(w7, sizeof w7, "%ld\n", want7);
  snprintf(wbig, sizeof wbig, "%ld\n", want_big);

  const char *threads[] = {"1", "3"};
  for (int ti = 0; ti < 2; ti++) {
    lsql_session *s = session_over(root, threads[ti]);
    CHECK(s != NULL);
    if (!s) continue;
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM lake.s.t", "9000\n");
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM t", "9000\n");
    SQL_EXPECT_ROWS(s, "SELECT count(*), count(*) FILTER (WHERE true) FROM (SELECT * FROM t) x", "9000,9000\n");
    SQL_EXPECT_ROWS(s, "SELECT EXISTS (SELECT * FROM t)", "true\n");
    CHECK_EQ_INT(scans(s), 0); /* answered from count_rows: nothing decoded */

    /* A filter needs its column: scanned, and DuckDB's answer is kept. */
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM t WHERE k % 7 = 0", w7);
    CHECK_EQ_INT(scans(s), 1);
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM t WHERE k >= 9500", wbig);
    SQL_EXPECT_ROWS(s, "SELECT count(k), sum(k)::BIGINT FROM t WHERE k < 20", "18,174\n");
    CHECK_EQ_INT(scans(s), 3);

    /* The view shows exactly the dataset's columns (the dummy is excluded). */
    SQL_EXPECT_ROWS(s, "DESCRIBE t", "k,BIGINT,YES,NULL,NULL,NULL\n__LANCE_ROWS,VARCHAR,YES,NULL,NULL,NULL\n");
    SQL_EXPECT_ROWS(s, "SELECT * FROM t WHERE k = 5", "5,5\n");
    SQL_EXPECT_ROWS(s, "SELECT string_agg(column_name, '|' ORDER BY column_index) FROM duckdb_columns() "
               "WHERE table_name = 't'", "k|__LANCE_ROWS\n");
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM information_schema.columns WHERE table_name = 't'", "2\n");

    /* lance_scan itself keeps its columns; time travel and _rowid go through it. */
    uint64_t before = scans(s);
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM lance_scan('lake.s.t')", "9000\n");
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM lance_scan('t', version => 1)", "4000\n");
    SQL_EXPECT_ROWS(s, "SELECT count(*), max(_rowid) < 4294967296 * 3 FROM lance_scan('t', with_rowid => true)",
            "9000,true\n");
    CHECK_EQ_INT(scans(s) - before, 3);
    lsql_session_free(s);
  }

  /* The view follows a new version (more deletions) and still answers from metadata. */
  lsql_session *s = session_over(root, "2");
  CHECK(s != NULL);
  if (s) {
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM t", "9000\n");
    CHECK(run_py(dir, DELETE_PY) == 0);
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM t", "8910\n");
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM t WHERE k < 200", "90\n");
    CHECK_EQ_INT(scans(s), 1);
    lsql_session_free(s);
  }
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}
