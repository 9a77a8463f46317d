#include "harness.h"
#include "util/arrow.h"
#include "util/util.h"

LSQL_TEST(error_prefix_adds_context) {
  lsql_error err;
  lsql_err(&err, LSQL_ECORRUPT, "page %d: bad width", 3);
  lsql_error_prefix(&err, "column %d: ", 7);
  CHECK(strcmp(err.message, "column 7: page 3: bad width") == 0);
  CHECK_EQ_INT(err.code, LSQL_ECORRUPT);
}

LSQL_TEST(error_prefix_truncates_safely) {
  lsql_error err;
  char big[600];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  lsql_err(&err, LSQL_EIO, "%s", big);
  lsql_error_prefix(&err, "%s", "ctx: ");
  CHECK(strlen(err.message) == LSQL_ERROR_MESSAGE_LEN - 1);
  CHECK(strncmp(err.message, "ctx: xxx", 8) == 0);
}

LSQL_TEST(buf_grows) {
  lsql_buf b = LSQL_BUF_INIT;
  for (int i = 0; i < 1000; i++) CHECK(lsql_buf_appendf(&b, "%d,", i) == LSQL_OK);
  CHECK(b.len > 1000);
  char *s = lsql_buf_detach(&b);
  CHECK(strncmp(s, "0,1,2,", 6) == 0);
  lsql_free(s);
}

LSQL_TEST(alloc_failure_injection) {
  lsql_alloc_fail_after(1);
  void *a = lsql_malloc(10);
  void *b = lsql_malloc(10);
  lsql_alloc_fail_after(-1);
  CHECK(a != NULL);
  CHECK(b == NULL);
  lsql_free(a);
}

LSQL_TEST(arrow_array_owns_buffers) {
  struct ArrowArray a;
  CHECK(lsql_arrow_array_init(&a, 2, 1) == LSQL_OK);
  lsql_arrow_array_set_buffer(&a, 1, lsql_malloc(16));
  CHECK(lsql_arrow_array_init(a.children[0], 1, 0) == LSQL_OK);
  a.release(&a);
  CHECK(a.release == NULL);
}

LSQL_TEST(bitmap_count_and_copy) {
  uint8_t bits[16] = {0xff, 0x0f, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  CHECK_EQ_INT(lsql_bitmap_count_zeros(bits, 0, 16), 4);
  CHECK_EQ_INT(lsql_bitmap_count_zeros(bits, 4, 100), 20);
  uint8_t out[16] = {0};
  lsql_bitmap_copy(out, 3, bits, 0, 16);
  CHECK_EQ_INT(lsql_bitmap_count_zeros(out, 3, 16), 4);
}
