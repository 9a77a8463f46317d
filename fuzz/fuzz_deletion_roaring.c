/* Fuzz target: roaring deletion files decoded into a fragment's deleted-row bitmap. */
#include "table/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A fragment of 2^20 rows; offsets beyond it must be rejected, not written. */
  static uint8_t bits[(1u << 20) / 8];
  memset(bits, 0, sizeof bits);
  uint64_t n = 0;
  lsql_error err;
  lsql_table_deletion_parse_roaring(data, size, (uint64_t)1 << 20, bits, &n, &err);
  return 0;
}
