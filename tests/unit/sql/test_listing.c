/* SHOW [ALL] TABLES and lance_tables() list every table of the mounted namespaces without
 * opening any dataset: checked with the session's open counter and with a table whose manifest
 * is corrupt (listing still succeeds; only a query of that table fails). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sql/sql.h"
#include "sql_test_util.h"


/* A private copy of the seed namespaces whose retail.sales.orders manifest is garbage. */
static const char *corrupt_copy(void) {
  static char dir[256];
  const char *seed = sql_test_seed_dir();
  if (!seed) return NULL;
  snprintf(dir, sizeof dir, "/tmp/lsql_sql_listing_%d", (int)getpid());
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "rm -rf %s && mkdir -p %s && cp -r %s/seed_root %s/seed_crm %s/ && "
           "for f in %s/seed_root/*orders/_versions/*.manifest; do "
           "case \"$f\" in *orders2*) ;; *) printf 'not a manifest' > \"$f\";; esac; done",
           dir, dir, seed, seed, dir, dir);
  if (system(cmd) != 0) return NULL;
  return dir;
}

static lsql_session *session_over(const char *dir, const char *def_cat, const char *def_sch) {
  char root[512], crm[512];
  snprintf(root, sizeof root, "%s/seed_root", dir);
  snprintf(crm, sizeof crm, "%s/seed_crm", dir);
  lsql_error err = {0};
  lsql_namespace *a = NULL, *b = NULL;
  lsql_session *s = NULL;
  lsql_session_builder *bld = lsql_session_builder_new();
  int rc = lsql_connect("dir", (const char *[]){"root", root, NULL}, &a, &err);
  if (!rc) rc = lsql_connect("dir", (const char *[]){"root", crm, NULL}, &b, &err);
  if (!rc) rc = lsql_session_builder_with_root(bld, a, &err);
  if (!rc) rc = lsql_session_builder_add_catalog(bld, "crm", b, (const char *[]){"crm"}, 1, &err);
  if (!rc && def_cat) rc = lsql_session_builder_default(bld, def_cat, def_sch, &err);
  if (!rc) rc = lsql_session_builder_build(bld, &s, &err);
  if (rc) fprintf(stderr, "session: %s: %s\n", lsql_status_name(rc), err.message);
  lsql_session_builder_free(bld);
  lsql_namespace_free(a);
  lsql_namespace_free(b);
  return s;
}

LSQL_TEST(show_all_tables_opens_no_dataset) {
  const char *dir = corrupt_copy();
  CHECK(dir != NULL);
  if (!dir) return;
  lsql_session *s = session_over(dir, "retail", "sales");
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s, "SHOW ALL TABLES",
          "crm,dim,customers_dim,NULL,NULL,false\nretail,sales,customers,NULL,NULL,false\n"
          "retail,sales,orders,NULL,NULL,false\nwholesale,sales2,orders2,NULL,NULL,false\n");
  SQL_EXPECT_ROWS(s, "SHOW TABLES", "customers\norders\n");
  SQL_EXPECT_ROWS(s, "SHOW TABLES FROM crm", "customers_dim\n");
  SQL_EXPECT_ROWS(s, "show tables from \"wholesale\".sales2 -- comment", "orders2\n");
  SQL_EXPECT_ROWS(s, "SHOW TABLES FROM sales", "customers\norders\n"); /* schema of the default catalog */
  SQL_EXPECT_ROWS(s, "SELECT count(*) FROM lance_tables(catalog := 'retail', schema := 'sales')", "2\n");
  CHECK_EQ_INT(atomic_load(&s->n_dataset_opens), 0);

  lsql_error e = {0};
  struct ArrowArrayStream st;
  CHECK_FAILS(lsql_session_sql(s, "SHOW TABLES FROM nosuch", &st, &e), LSQL_ENOTFOUND, "nosuch", e);
  e = (lsql_error){0};
  CHECK_FAILS(lsql_session_sql(s, "SHOW TABLES FROM bogus.sales", &st, &e), LSQL_ENOTFOUND, "bogus", e);
  /* Only a query of the corrupt table opens (and fails on) it. */
  e = (lsql_error){0};
  CHECK(lsql_session_sql(s, "SELECT * FROM retail.sales.orders", &st, &e) != LSQL_OK);
  CHECK(atomic_load(&s->n_dataset_opens) >= 1);

  /* A resolved table shows its columns; several statements with a SHOW last. */
  SQL_EXPECT_ROWS(s, "SELECT count(*) FROM customers", "3\n");
  SQL_EXPECT_ROWS(s, "SELECT 1; SHOW ALL TABLES",
          "crm,dim,customers_dim,NULL,NULL,false\nretail,sales,customers,<+l>,<+l>,false\n"
          "retail,sales,orders,NULL,NULL,false\nwholesale,sales2,orders2,NULL,NULL,false\n");
  SQL_EXPECT_ROWS(s, "SELECT 1; SHOW TABLES FROM crm.dim", "customers_dim\n");
  lsql_session_free(s);

  /* No default catalog: SHOW TABLES is empty, as DuckDB's memory.main would be. */
  s = session_over(dir, NULL, NULL);
  CHECK(s != NULL);
  if (s) {
    SQL_EXPECT_ROWS(s, "SHOW TABLES", "");
    SQL_EXPECT_ROWS(s, "SELECT count(*) FROM lance_tables()", "4\n");
    CHECK_EQ_INT(atomic_load(&s->n_dataset_opens), 0);
    lsql_session_free(s);
  }
  /* information_schema needs column types: it opens every readable table's manifest and lists
   * it; the corrupt one is left out instead of failing the query. */
  s = session_over(dir, NULL, NULL);
  CHECK(s != NULL);
  if (s) {
    SQL_EXPECT_ROWS(s,
            "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema <> 'main' ORDER BY ALL",
            "crm,dim,customers_dim\nretail,sales,customers\nwholesale,sales2,orders2\n");
    SQL_EXPECT_ROWS(s,
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'crm' "
            "ORDER BY ordinal_position",
            "customer_id\nsegment\n");
    lsql_session_free(s);
  }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}
