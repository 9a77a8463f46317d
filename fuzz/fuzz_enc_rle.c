/* Fuzzes RLE (mini-block and block forms) and byte stream split.
 * Input: [mode][t index][len width][n lo][n hi][split] then the buffer. */
#include <stdlib.h>

#include "format/encoding/kernels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6) return 0;
  static const unsigned ts[4] = {8, 16, 32, 64}, ls[3] = {8, 16, 32};
  const unsigned mode = data[0] % 3, t = ts[data[1] % 4], lb = ls[data[2] % 3];
  const uint64_t n = (uint64_t)data[3] | ((uint64_t)data[4] << 8); /* < 65536 values */
  const uint8_t *src = data + 6;
  const size_t len = size - 6;
  uint8_t *dst = malloc((size_t)n * 16 + 1);
  if (!dst) return 0;
  lsql_error err;
  if (mode == 0) { /* mini-block: two buffers split at a fuzzed point */
    size_t split = len ? (size_t)data[5] * len / 256 : 0;
    lsql_rle_decode_ex(t, src, split, src + split, len - split, lb, data[5] & 1, n, dst, &err);
    lsql_rle_decode(t, src, split, src + split, len - split, n, dst, &err);
  } else if (mode == 1) { /* block frame */
    const uint8_t *v, *l;
    size_t vl, ll;
    if (lsql_rle_block_split(src, len, &v, &vl, &l, &ll, &err) == LSQL_OK)
      lsql_rle_decode_ex(t, v, vl, l, ll, lb, false, n, dst, &err);
  } else {
    unsigned width = data[5] % 17;
    lsql_bss_decode(width, src, len, n, dst, &err);
  }
  free(dst);
  return 0;
}
