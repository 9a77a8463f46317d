/* Fuzzes the FSST symbol table parser and decoder.
 * Input: [flags][n strings] then either a full 2312-byte table (flags & 1) or [n_symbols] and
 * 9-byte (symbol, length) records for a synthetic table; then offsets are derived from the
 * remaining bytes (flags & 2: raw 32-bit offsets taken from the input, else lengths; flags & 8:
 * passed as 64-bit offsets). The result is checked against a one-code-at-a-time reference. */
#include <stdlib.h>

#include "format/encoding/kernels.h"
#include "fsst_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TABLE_SIZE 2312

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  const uint8_t flags = data[0];
  const unsigned n = data[1];
  data += 2;
  size -= 2;
  uint8_t tab[TABLE_SIZE] = {0};
  if (flags & 1) {
    if (size < TABLE_SIZE) return 0;
    memcpy(tab, data, TABLE_SIZE);
    data += TABLE_SIZE;
    size -= TABLE_SIZE;
  } else {
    unsigned ns = data[0];
    data++;
    size--;
    if ((size_t)ns * 9 > size) ns = (unsigned)(size / 9);
    uint64_t hdr = (UINT64_C(0x46535354) << 32) | ((uint64_t)((flags >> 2) & 1 ? 0 : 1) << 24) | ns;
    memcpy(tab, &hdr, 8);
    for (unsigned i = 0; i < ns; i++) {
      memcpy(tab + 8 + 8 * i, data + 9 * i, 8);
      tab[8 + 8 * ns + i] = (uint8_t)(data[9 * i + 8] % 9); /* 0 is invalid on purpose */
    }
    data += (size_t)ns * 9;
    size -= (size_t)ns * 9;
  }
  lsql_fsst_table t;
  lsql_error err;
  if (lsql_fsst_table_parse(tab, sizeof tab, &t, &err) != LSQL_OK) return 0;
  uint32_t *offs = malloc((n + 1) * sizeof *offs);
  uint64_t *oo = malloc((n + 1) * sizeof *oo), *ro = NULL;
  lsql_buf out = LSQL_BUF_INIT, ref = LSQL_BUF_INIT;
  int rc;
  if (!offs || !oo) goto done;
  if (flags & 2) { /* raw offsets from the input: exercises validation */
    if (size < (size_t)(n + 1) * 4) goto done;
    memcpy(offs, data, (size_t)(n + 1) * 4);
    data += (size_t)(n + 1) * 4;
    size -= (size_t)(n + 1) * 4;
  } else { /* split the rest into n strings of pseudo-random lengths */
    offs[0] = 0;
    uint32_t pos = 0;
    for (unsigned i = 0; i < n; i++) {
      uint32_t l = size ? (uint32_t)(((uint64_t)(i * 2654435761u) >> 7) % 17) : 0;
      pos = pos + l > size ? (uint32_t)size : pos + l;
      offs[i + 1] = pos;
    }
    offs[n] = (uint32_t)size;
  }
  if (flags & 8) {
    uint64_t *o64 = malloc((n + 1) * sizeof *o64);
    if (!o64) goto done;
    for (unsigned i = 0; i <= n; i++) o64[i] = offs[i];
    rc = lsql_fsst_decode(&t, 64, o64, data, size, n, &out, oo, &err);
    free(o64);
  } else {
    rc = lsql_fsst_decode(&t, 32, offs, data, size, n, &out, oo, &err);
  }
  ro = malloc((n + 1) * sizeof *ro);
  if (!ro) goto done;
  uint64_t *r64 = malloc((n + 1) * sizeof *r64);
  if (!r64) goto done;
  for (unsigned i = 0; i <= n; i++) r64[i] = offs[i];
  const int rr = fsst_ref_decode(&t, r64, data, size, n, &ref, ro);
  free(r64);
  if ((rc == LSQL_OK) != (rr == 0)) abort();
  if (rc == LSQL_OK && (out.len != ref.len || (out.len && memcmp(out.data, ref.data, out.len)) ||
                        memcmp(oo, ro, (n + 1) * sizeof *oo)))
    abort();
  if (rc != LSQL_OK && out.len != 0) abort();
done:
  lsql_buf_free(&out);
  lsql_buf_free(&ref);
  free(offs);
  free(oo);
  free(ro);
  return 0;
}
