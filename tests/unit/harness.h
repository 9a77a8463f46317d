/* A tiny unit-test harness: LSQL_TEST(name) defines and registers a test; CHECK* record failures
 * with file:line and keep going. One executable per layer (tests/unit/<layer>/). */
#ifndef LSQL_TEST_HARNESS_H
#define LSQL_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

#include "lancesql.h"

typedef void (*lsql_test_fn)(void);
void lsql_test_register(const char *name, lsql_test_fn fn);
extern int lsql_test_failures;

#define LSQL_TEST(name)                                                     \
  static void name(void);                                                   \
  __attribute__((constructor)) static void name##_register(void) {          \
    lsql_test_register(#name, name);                                        \
  }                                                                         \
  static void name(void)

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      lsql_test_failures++;                                                 \
    }                                                                       \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                  \
  do {                                                                      \
    long long a_ = (long long)(a), b_ = (long long)(b);                     \
    if (a_ != b_) {                                                         \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); \
      lsql_test_failures++;                                                 \
    }                                                                       \
  } while (0)

/* Expects LSQL_OK; prints the error message otherwise. `err` must be an lsql_error. */
#define CHECK_OK(expr, err)                                                 \
  do {                                                                      \
    int rc_ = (expr);                                                       \
    if (rc_ != LSQL_OK) {                                                   \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #expr, \
              lsql_status_name(rc_), (err).message);                        \
      lsql_test_failures++;                                                 \
    }                                                                       \
  } while (0)

/* Expects a specific failure code and (if non-NULL) a substring of the message. */
#define CHECK_FAILS(expr, code, substr, err)                                \
  do {                                                                      \
    int rc_ = (expr);                                                       \
    if (rc_ != (code) || ((substr) && !strstr((err).message, (substr)))) {  \
      fprintf(stderr, "%s:%d: %s: expected %s containing \"%s\", got %s: %s\n", __FILE__, __LINE__, \
              #expr, lsql_status_name(code), (substr) ? (substr) : "", lsql_status_name(rc_), \
              (err).message);                                               \
      lsql_test_failures++;                                                 \
    }                                                                       \
  } while (0)

#endif
