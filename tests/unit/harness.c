/* Runs every registered test (or those whose name contains argv[1]) and prints a summary line
 * in the plain "N passed, N failed" form. */
#include <stdlib.h>

#include "harness.h"

#define MAX_TESTS 4096
typedef struct test_entry { const char *name; lsql_test_fn fn; } test_entry;
static test_entry tests[MAX_TESTS];
static int n_tests;
int lsql_test_failures;

void lsql_test_register(const char *name, lsql_test_fn fn) {
  if (n_tests < MAX_TESTS) tests[n_tests++] = (test_entry){name, fn};
}

int main(int argc, char **argv) {
  int passed = 0, failed = 0;
  for (int i = 0; i < n_tests; i++) {
    if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
    int before = lsql_test_failures;
    tests[i].fn();
    if (lsql_test_failures == before) passed++;
    else {
      failed++;
      fprintf(stderr, "FAILED: %s\n", tests[i].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
