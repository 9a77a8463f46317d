/* A one-code-at-a-time FSST reference decoder: the oracle of fuzz_enc_fsst and of the FSST unit
 * tests (tests/unit/encoding/test_fsst.c), so both check lsql_fsst_decode against the same rules. */
#ifndef LSQL_FUZZ_FSST_REF_H
#define LSQL_FUZZ_FSST_REF_H

#include "format/encoding/kernels.h"

/* Decodes strings [0, n) with offsets offs[0..n] into `in` (len bytes), appending to out and
 * writing n+1 output offsets to oo (oo[0] = out->len). Returns 0, or -1 for bad offsets, a code
 * >= n_symbols or an escape that ends a string. */
static inline int fsst_ref_decode(const lsql_fsst_table *t, const uint64_t *offs, const uint8_t *in,
                                  size_t len, size_t n, lsql_buf *out, uint64_t *oo) {
  if (offs[0] > len) return -1;
  oo[0] = out->len;
  for (size_t i = 0; i < n; i++) {
    if (offs[i + 1] < offs[i] || offs[i + 1] > len) return -1;
    if (!t->compressed) {
      if (lsql_buf_append(out, in + offs[i], offs[i + 1] - offs[i])) return -1;
    } else {
      for (uint64_t p = offs[i]; p < offs[i + 1]; p++) {
        const uint8_t c = in[p];
        if (c == 255) {
          if (p + 1 >= offs[i + 1]) return -1;
          if (lsql_buf_append(out, &in[++p], 1)) return -1;
        } else {
          if (c >= t->n_symbols) return -1;
          uint8_t sym[8];
          lsql_store_le64(sym, t->symbols[c]);
          if (lsql_buf_append(out, sym, t->lens[c])) return -1;
        }
      }
    }
    oo[i + 1] = out->len;
  }
  return 0;
}

#endif
