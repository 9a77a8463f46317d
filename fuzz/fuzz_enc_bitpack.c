/* Fuzzes the bit-packing kernels. Input: [mode][t index][w][n lo][n hi][flags] then the buffer. */
#include <stdlib.h>

#include "format/encoding/kernels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6) return 0;
  static const unsigned ts[4] = {8, 16, 32, 64};
  const unsigned mode = data[0] % 5, t = ts[data[1] % 4], w = data[2] % 72; /* > T on purpose */
  const uint64_t n = (uint64_t)data[3] | ((uint64_t)(data[4] & 0x1f) << 8); /* < 8192 values */
  const bool flag = data[5] & 1;
  const uint8_t *src = data + 6;
  const size_t len = size - 6;
  uint8_t *dst = malloc((size_t)(n + 1024) * 8);
  if (!dst) return 0;
  lsql_error err;
  switch (mode) {
    case 0: lsql_inline_bitpack_decode(t, src, len, n, dst, &err); break;
    case 1: lsql_out_of_line_bitpack_decode(t, w, src, len, n, dst, &err); break;
    case 2: lsql_bitpack_for_non_neg_decode(t, w, src, len, n, dst, &err); break;
    case 3: lsql_bitunpack_decode(t, w, flag, src, len, n, dst, &err); break;
    default: /* the raw kernel: the caller's checks, done here */
      if (w <= t && len >= (size_t)128 * w) lsql_fastlanes_unpack(t, w, src, dst);
      break;
  }
  free(dst);
  return 0;
}
