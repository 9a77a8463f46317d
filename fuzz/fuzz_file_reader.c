/* Fuzz target: a whole standalone v2.x data file through the public reader: footer, offset tables,
 * column metadata, the schema in global buffer 0, every page decoder (lsql_file_scan) and the
 * describer (lsql_file_inspect). The input is written to a per-process file on tmpfs because the
 * reader goes through an object store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lancesql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[128];

static void drain(struct ArrowArrayStream *st) {
  struct ArrowSchema s;
  if (st->get_schema(st, &s) == 0 && s.release) s.release(&s);
  for (int i = 0; i < 1000; i++) {
    struct ArrowArray a;
    memset(&a, 0, sizeof a);
    if (st->get_next(st, &a) != 0) {
      const char *m = st->get_last_error(st);
      if (!m) __builtin_trap(); /* an error must come with a message */
      break;
    }
    if (!a.release) break;
    a.release(&a);
  }
  st->release(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20)) return 0;
  if (!path[0]) {
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/lsql_fuzz_%d.lance", dir, (int)getpid());
  }
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  if (size) fwrite(data, 1, size, f);
  fclose(f);
  lsql_error err;
  char *json = NULL;
  if (lsql_file_inspect(path, &json, &err) == LSQL_OK) lsql_free(json);
  struct ArrowArrayStream st;
  memset(&st, 0, sizeof st);
  if (lsql_file_scan(path, NULL, &st, &err) == LSQL_OK) drain(&st);
  else if (!err.message[0]) __builtin_trap();
  unlink(path);
  return 0;
}
