/* The seed cases of lance-namespace-datafusion (tests/sql.rs) with their exact rows, plus
 * defaults, name errors, read-only refusals and the file-access sandbox. */
#include <pthread.h>
#include <stdlib.h>

#include "harness.h"
#include "sql_test_util.h"


#define EXPECT_FAIL(s, sql, want_code, substr)                                       \
  do {                                                                          \
    lsql_error e_ = {0};                                                        \
    char *got_ = sql_test_rows((s), (sql), &e_);                                \
    if (got_ || e_.code != (want_code) || !strstr(e_.message, (substr))) {           \
      fprintf(stderr, "%s:%d: %s: expected %s \"%s\", got %s: %s\n", __FILE__, __LINE__, (sql), \
              lsql_status_name(want_code), (substr), got_ ? "rows" : lsql_status_name(e_.code), e_.message); \
      lsql_test_failures++;                                                     \
    }                                                                           \
    free(got_);                                                                 \
  } while (0)

LSQL_TEST(seed_join_within_catalog) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s,
              "SELECT c.name, o.amount FROM retail.sales.customers c JOIN retail.sales.orders o "
              "ON c.customer_id = o.customer_id WHERE c.customer_id = 2",
              "Bob,200\n");
  lsql_session_free(s);
}

LSQL_TEST(seed_join_across_root_catalogs) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s,
              "SELECT c.name, o.amount FROM retail.sales.customers c JOIN wholesale.sales2.orders2 o "
              "ON c.customer_id = o.customer_id WHERE o.order_id = 202",
              "Bob,250\n");
  lsql_session_free(s);
}

LSQL_TEST(seed_join_across_mounted_catalog) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s,
              "SELECT c.name, d.segment FROM retail.sales.customers c JOIN crm.dim.customers_dim d "
              "ON c.customer_id = d.customer_id WHERE c.customer_id = 3",
              "Carol,Platinum\n");
  lsql_session_free(s);
}

LSQL_TEST(seed_city_totals) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s,
              "SELECT c.city, SUM(o.amount) AS total FROM retail.sales.customers c JOIN "
              "retail.sales.orders o ON c.customer_id = o.customer_id GROUP BY c.city ORDER BY c.city",
              "LA,300\nNY,100\nSF,200\n");
  lsql_session_free(s);
}

LSQL_TEST(seed_cte) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s,
              "WITH customer_orders AS (SELECT c.customer_id, c.name, o.order_id, o.amount "
              "FROM retail.sales.customers c JOIN retail.sales.orders o ON c.customer_id = o.customer_id) "
              "SELECT order_id, name, amount FROM customer_orders WHERE customer_id = 1",
              "101,Alice,100\n");
  lsql_session_free(s);
}

LSQL_TEST(seed_default_catalog_and_schema) {
  lsql_session *s = sql_test_seed_session("retail", "sales", NULL);
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s, "SELECT COUNT(*) AS c FROM sales.orders", "3\n");
  SQL_EXPECT_ROWS(s, "SELECT COUNT(*) AS c FROM orders", "3\n");
  SQL_EXPECT_ROWS(s, "SELECT name FROM customers WHERE customer_id = 3", "Carol\n");
  EXPECT_FAIL(s, "SELECT * FROM bogus.orders", LSQL_ENOTFOUND, "schema retail.bogus not found");
  EXPECT_FAIL(s, "SELECT * FROM nonexistent", LSQL_ENOTFOUND, "table retail.sales.nonexistent not found");
  lsql_session_free(s);
}

LSQL_TEST(seed_default_must_exist) {
  lsql_error err = {0};
  lsql_session *s = sql_test_seed_session("nosuchcatalog", NULL, NULL);
  CHECK(s == NULL);
  lsql_session_free(s);
  lsql_session_builder *b = lsql_session_builder_new();
  CHECK_FAILS(lsql_session_builder_default(b, NULL, "sales", &err), LSQL_EINVAL, "default catalog", err);
  CHECK_FAILS(lsql_session_builder_build(b, &s, &err), LSQL_EINVAL, "root namespace", err);
  CHECK_FAILS(lsql_session_builder_set_option(b, "bogus", "1", &err), LSQL_EINVAL, "bogus", err);
  lsql_session_builder_free(b);
}

LSQL_TEST(seed_missing_names) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  EXPECT_FAIL(s, "SELECT * FROM bogus.sales.orders", LSQL_ENOTFOUND, "catalog 'bogus' not found");
  EXPECT_FAIL(s, "SELECT * FROM retail.nosuch.orders", LSQL_ENOTFOUND, "schema retail.nosuch not found");
  EXPECT_FAIL(s, "SELECT * FROM retail.sales.nonexistent", LSQL_ENOTFOUND,
              "table retail.sales.nonexistent not found");
  EXPECT_FAIL(s, "SELECT * FROM orders", LSQL_ENOTFOUND, "no default");
  EXPECT_FAIL(s, "SELECT * FROM lance_scan('bogus.a.b')", LSQL_ENOTFOUND, "catalog 'bogus' not found");
  EXPECT_FAIL(s, "SELEC 1", LSQL_ESQL, "syntax");
  /* The session stays usable after errors. */
  SQL_EXPECT_ROWS(s, "SELECT count(*) FROM retail.sales.orders", "3\n");
  lsql_session_free(s);
}

LSQL_TEST(seed_read_only) {
  lsql_session *s = sql_test_seed_session("retail", "sales", NULL);
  CHECK(s != NULL);
  if (!s) return;
  EXPECT_FAIL(s, "INSERT INTO retail.sales.orders VALUES (1, 1, 1)", LSQL_EREADONLY,
              "read-only session: INSERT statements are not allowed");
  EXPECT_FAIL(s, "UPDATE orders SET amount = 0", LSQL_EREADONLY, "UPDATE statements are not allowed");
  EXPECT_FAIL(s, "DELETE FROM orders", LSQL_EREADONLY, "DELETE");
  EXPECT_FAIL(s, "CREATE TABLE t AS SELECT 1", LSQL_EREADONLY, "CREATE");
  EXPECT_FAIL(s, "DROP VIEW retail.sales.orders", LSQL_EREADONLY, "DROP");
  EXPECT_FAIL(s, "ATTACH '/tmp/x.duckdb' AS x", LSQL_EREADONLY, "ATTACH");
  EXPECT_FAIL(s, "DETACH retail", LSQL_EREADONLY, "DETACH");
  EXPECT_FAIL(s, "COPY (SELECT 1) TO '/tmp/lsql_copy.csv'", LSQL_EREADONLY, "COPY");
  EXPECT_FAIL(s, "INSTALL httpfs", LSQL_EREADONLY, "INSTALL");
  EXPECT_FAIL(s, "LOAD httpfs", LSQL_EREADONLY, "LOAD");
  EXPECT_FAIL(s, "SET threads = 1", LSQL_EREADONLY, "SET");
  EXPECT_FAIL(s, "PRAGMA threads = 1", LSQL_EREADONLY, "PRAGMA");
  EXPECT_FAIL(s, "USE crm.dim", LSQL_EREADONLY, "USE");
  EXPECT_FAIL(s, "SELECT 1; DELETE FROM orders", LSQL_EREADONLY, "DELETE");
  EXPECT_FAIL(s, "  /* c */ -- x\n insert into orders values (1,1,1)", LSQL_EREADONLY, "INSERT");
  EXPECT_FAIL(s, "WITH x AS (SELECT 1) INSERT INTO orders SELECT 1, 1, 1", LSQL_EREADONLY, "");
  EXPECT_FAIL(s, "PIVOT orders ON customer_id USING sum(amount)", LSQL_EREADONLY, "PIVOT");
  /* Still readable, and nothing was changed. */
  SQL_EXPECT_ROWS(s, "SELECT count(*) FROM orders; SELECT sum(amount) FROM orders", "600\n");
  lsql_error e = {0};
  char *plan = sql_test_rows(s, "EXPLAIN SELECT sum(amount) FROM orders", &e);
  CHECK(plan != NULL && strstr(plan, "physical_plan") != NULL);
  if (!plan || !strstr(plan, "physical_plan")) fprintf(stderr, "EXPLAIN: %s %s\n", e.message, plan ? plan : "");
  free(plan);
  lsql_session_free(s);
}

LSQL_TEST(seed_file_access_refused) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  EXPECT_FAIL(s, "SELECT * FROM read_csv('/etc/passwd')", LSQL_EREADONLY, "disabled");
  EXPECT_FAIL(s, "SELECT * FROM '/etc/passwd'", LSQL_ESQL, "does not exist");
  EXPECT_FAIL(s, "SELECT * FROM read_text('/etc/hostname')", LSQL_EREADONLY, "");
  lsql_session_free(s);
}

LSQL_TEST(seed_lance_scan_options) {
  lsql_session *s = sql_test_seed_session("retail", "sales", NULL);
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s, "SELECT count(*) FROM lance_scan('retail.sales.orders', version => 1)", "3\n");
  SQL_EXPECT_ROWS(s, "SELECT sum(amount) FROM lance_scan('orders')", "600\n");
  SQL_EXPECT_ROWS(s, "SELECT order_id, _rowid FROM lance_scan('sales.orders', with_rowid => true) ORDER BY order_id",
              "101,0\n102,1\n103,2\n");
  EXPECT_FAIL(s, "SELECT * FROM lance_scan('retail.sales.orders', version => 99)", LSQL_ENOTFOUND, "");
  EXPECT_FAIL(s, "SELECT * FROM lance_scan('retail.sales.orders', tag => 'nope')", LSQL_ENOTFOUND, "");
  lsql_session_free(s);
}

LSQL_TEST(seed_listing) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  SQL_EXPECT_ROWS(s, "SELECT catalog, schema, name FROM lance_tables() ORDER BY ALL",
              "crm,dim,customers_dim\nretail,sales,customers\nretail,sales,orders\nwholesale,sales2,orders2\n");
  /* information_schema lists every table of the namespaces, with its columns. */
  SQL_EXPECT_ROWS(s,
              "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
              "WHERE table_catalog = 'retail' ORDER BY ALL",
              "retail,sales,customers\nretail,sales,orders\n");
  SQL_EXPECT_ROWS(s, "SELECT column_name FROM (DESCRIBE retail.sales.customers)", "customer_id\nname\ncity\n");
  lsql_session_free(s);
}

typedef struct par_arg { lsql_session *s; int ok; } par_arg;

static void *par_query(void *p) {
  par_arg *a = p;
  a->ok = 1;
  for (int i = 0; i < 5; i++) {
    lsql_error e = {0};
    char *r = sql_test_rows(a->s,
                            "SELECT c.city, SUM(o.amount) FROM retail.sales.customers c JOIN "
                            "retail.sales.orders o USING (customer_id) GROUP BY 1 ORDER BY 1", &e);
    if (!r || strcmp(r, "LA,300\nNY,100\nSF,200\n")) a->ok = 0;
    free(r);
  }
  return NULL;
}

LSQL_TEST(seed_concurrent_queries) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, (const char *[]){"threads", "2", NULL});
  CHECK(s != NULL);
  if (!s) return;
  pthread_t th[4];
  par_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i].s = s;
    pthread_create(&th[i], NULL, par_query, &args[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK(args[i].ok);
  }
  /* Two open streams on one session at once. */
  lsql_error err = {0};
  struct ArrowArrayStream a, b;
  CHECK_OK(lsql_session_sql(s, "SELECT * FROM retail.sales.orders", &a, &err), err);
  CHECK_OK(lsql_session_sql(s, "SELECT * FROM crm.dim.customers_dim", &b, &err), err);
  struct ArrowArray x;
  int64_t rows = 0;
  while (a.get_next(&a, &x) == 0 && x.release) { rows += x.length; x.release(&x); }
  while (b.get_next(&b, &x) == 0 && x.release) { rows += x.length; x.release(&x); }
  CHECK_EQ_INT(rows, 6);
  /* Streams keep the session alive. */
  lsql_session_free(s);
  a.release(&a);
  b.release(&b);
}

LSQL_TEST(seed_interrupt_and_progress) {
  lsql_session *s = sql_test_seed_session(NULL, NULL, NULL);
  CHECK(s != NULL);
  if (!s) return;
  CHECK(lsql_session_progress(s) == -1.0);
  lsql_session_interrupt(s); /* nothing running: harmless */
  SQL_EXPECT_ROWS(s, "SELECT count(*) FROM retail.sales.orders", "3\n");
  lsql_error err = {0};
  struct ArrowArrayStream a;
  CHECK_OK(lsql_session_sql(s, "SELECT * FROM retail.sales.orders", &a, &err), err);
  double p = lsql_session_progress(s);
  CHECK(p == -1.0 || (p >= 0.0 && p <= 1.0));
  a.release(&a);
  lsql_session_free(s);
}
