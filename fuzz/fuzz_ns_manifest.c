/* Fuzzes the dir namespace's __manifest row extraction and the checks applied to its values:
 * the input is split at '\n' into fields, four per row (object_id, object_type, location,
 * metadata); each row becomes a one-row Arrow batch whose string offsets point into the input.
 * Accepted rows then go through the relative-location check and the properties parser, as
 * describe_table / describe_namespace would. Last, the input is tried as a version file name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "namespace/namespace.h"

#define MAX_ROWS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  int32_t offs[4][MAX_ROWS + 1];
  const char *base = (const char *)data;
  size_t pos = 0;
  int nrows = 0;
  static char empty[1];
  for (int c = 0; c < 4; c++) offs[c][0] = 0;
  while (nrows < MAX_ROWS && pos < size) {
    for (int c = 0; c < 4; c++) {
      const char *nl = memchr(base + pos, '\n', size - pos);
      size_t end = nl ? (size_t)(nl - base) : size;
      offs[c][nrows] = (int32_t)pos;
      offs[c][nrows + 1] = (int32_t)end;
      pos = end < size ? end + 1 : size;
    }
    nrows++;
  }
  for (int r = 0; r < nrows; r++) {
    static const char *const names[4] = {"object_id", "object_type", "location", "metadata"};
    struct ArrowSchema ch_s[4], *sch_c[4], sch;
    struct ArrowArray ch_a[4], *arr_c[4], arr;
    const void *bufs[4][3];
    int32_t o[4][2];
    memset(&sch, 0, sizeof sch);
    memset(&arr, 0, sizeof arr);
    for (int c = 0; c < 4; c++) {
      memset(&ch_s[c], 0, sizeof ch_s[c]);
      memset(&ch_a[c], 0, sizeof ch_a[c]);
      ch_s[c].format = "u";
      ch_s[c].name = names[c];
      sch_c[c] = &ch_s[c];
      o[c][0] = offs[c][r];
      o[c][1] = offs[c][r + 1];
      bufs[c][0] = NULL;
      bufs[c][1] = o[c];
      bufs[c][2] = size ? base : empty;
      ch_a[c].length = 1;
      ch_a[c].n_buffers = 3;
      ch_a[c].buffers = bufs[c];
      arr_c[c] = &ch_a[c];
    }
    sch.format = "+s";
    sch.n_children = 4;
    sch.children = sch_c;
    arr.length = 1;
    arr.n_children = 4;
    arr.children = arr_c;
    lsql_ns_manifest_row *rows = NULL;
    size_t n = 0, cap = 0;
    lsql_error err = {0};
    if (lsql_ns_manifest_add_batch(&sch, &arr, &rows, &n, &cap, &err) == LSQL_OK) {
      for (size_t i = 0; i < n; i++) {
        if (rows[i].location && lsql_ns_check_relative_location(rows[i].location, &err) == LSQL_OK) {
          const char *l = rows[i].location;
          if (l[0] == '/' || strcmp(l, "..") == 0 || strncmp(l, "../", 3) == 0 ||
              strstr(l, "/../") || strstr(l, "://"))
            abort();
        }
        char **p = NULL;
        if (rows[i].metadata &&
            lsql_ns_parse_properties(rows[i].metadata, strlen(rows[i].metadata), &p, &err) == LSQL_OK)
          lsql_strv_free(p);
      }
    }
    lsql_ns_manifest_rows_free(rows, n);
  }
  uint64_t v;
  char name[64];
  size_t k = size < sizeof name - 1 ? size : sizeof name - 1;
  memcpy(name, data, k);
  name[k] = 0;
  (void)lsql_ns_manifest_file_version(name, &v);
  return 0;
}
