/* Helpers shared by the SQL unit tests: fixture paths and result rendering. */
#ifndef LSQL_SQL_TEST_UTIL_H
#define LSQL_SQL_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lancesql.h"

/* Folder holding the seed namespaces seed_root/ and seed_crm/: $LSQL_FIXTURES/namespaces when
 * present, otherwise written once into a temporary folder with examples/make_examples.py.
 * NULL when neither works (tests then fail loudly). */
const char *sql_test_seed_dir(void);
/* Runs `sql` and renders the result as "v1,v2\n" per row. Caller frees with free(). NULL on
 * failure (err set). */
char *sql_test_rows(lsql_session *s, const char *sql, lsql_error *err);
/* Builds a session over seed_root (+ crm mounted at ["crm"]) with optional defaults. */
lsql_session *sql_test_seed_session(const char *def_cat, const char *def_schema,
                                    const char *const *options);

/* Expects `sql` to return exactly the rendered rows `want` (see sql_test_rows). */
#define SQL_EXPECT_ROWS(s, sql, want)                                                         \
  do {                                                                                        \
    lsql_error e_ = {0};                                                                      \
    char *got_ = sql_test_rows((s), (sql), &e_);                                              \
    if (!got_) {                                                                              \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, (sql),                \
              lsql_status_name(e_.code), e_.message);                                         \
      lsql_test_failures++;                                                                   \
    } else if (strcmp(got_, (want)) != 0) {                                                   \
      fprintf(stderr, "%s:%d: %s\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, (sql), got_, \
              (want));                                                                        \
      lsql_test_failures++;                                                                   \
    }                                                                                         \
    free(got_);                                                                               \
  } while (0)

#endif
