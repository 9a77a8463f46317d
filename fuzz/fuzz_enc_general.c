/* Fuzzes zstd / lz4 / none decompression. Input: [codec][max_out lo][max_out hi] then the buffer
 * (max_out < 1 MiB keeps the fuzzer's memory bounded). */
#include "format/encoding/kernels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  const enum lsql_codec codec = (enum lsql_codec)(data[0] % 3);
  const size_t max_out = ((size_t)data[1] | ((size_t)data[2] << 8)) * 16;
  lsql_buf out = LSQL_BUF_INIT;
  lsql_error err;
  int rc = lsql_decompress(codec, data + 3, size - 3, max_out, &out, &err);
  if (rc == LSQL_OK && out.len > max_out) __builtin_trap();
  lsql_buf_free(&out);
  char name[8] = {0};
  memcpy(name, data, size < 7 ? size : 7);
  (void)lsql_codec_from_name(name);
  return 0;
}
