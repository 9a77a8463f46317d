/* Profiling driver: scans one dataset (optionally some columns) with lsql_dataset_scan and
 * consumes every batch. Used by bench/profile/profile.sh under callgrind or perf.
 *   scan_driver URI [n_threads] [iterations] [col,col,...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lancesql.h"

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s URI [threads] [iters] [cols]\n", argv[0]); return 2; }
  int threads = argc > 2 ? atoi(argv[2]) : 1, iters = argc > 3 ? atoi(argv[3]) : 1;
  const char *cols[64] = {0};
  char *colbuf = argc > 4 ? strdup(argv[4]) : NULL;
  int nc = 0;
  for (char *t = colbuf ? strtok(colbuf, ",") : NULL; t && nc < 63; t = strtok(NULL, ",")) cols[nc++] = t;
  lsql_error err = {0};
  lsql_dataset *ds = NULL;
  if (lsql_dataset_open(argv[1], NULL, &ds, &err)) { fprintf(stderr, "open: %s\n", err.message); return 1; }
  long long rows = 0;
  for (int it = 0; it < iters; it++) {
    lsql_scan_options so = {0};
    so.columns = nc ? cols : NULL;
    so.n_threads = threads;
    struct ArrowArrayStream st;
    if (lsql_dataset_scan(ds, &so, &st, &err)) { fprintf(stderr, "scan: %s\n", err.message); return 1; }
    for (;;) {
      struct ArrowArray a;
      if (st.get_next(&st, &a)) { fprintf(stderr, "next: %s\n", st.get_last_error(&st)); return 1; }
      if (!a.release) break;
      rows += a.length;
      a.release(&a);
    }
    st.release(&st);
  }
  lsql_dataset_free(ds);
  printf("%lld rows\n", rows);
  free(colbuf);
  return 0;
}
