/* Fuzz target: manifest files (footer, Manifest protobuf, feature flags) and the row-id
 * sequences they carry inline. */
#include "table/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Lance__Table__Manifest *m = NULL;
  lsql_error err;
  if (lsql_table_manifest_parse(data, size, &m, &err) != LSQL_OK) return 0;
  for (size_t i = 0; i < m->n_fragments; i++) {
    const Lance__Table__DataFragment *f = m->fragments[i];
    if (f->row_id_sequence_case != LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE_INLINE_ROW_IDS) continue;
    uint64_t n = f->physical_rows > 100000 ? 100000 : f->physical_rows;
    uint64_t *ids = lsql_calloc(n ? n : 1, sizeof *ids);
    if (ids) lsql_table_rowids_decode(f->inline_row_ids.data, f->inline_row_ids.len, n, ids, &err);
    lsql_free(ids);
  }
  lsql_table_manifest_free(m);
  return 0;
}
