/* Fuzzes the REST namespace reply parsers (list, describe table, describe namespace, error
 * replies). The first byte selects the parser; the rest is the reply body. */
#include <stdint.h>
#include <stdlib.h>

#include "namespace/namespace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *body = (const char *)data + 1;
  size_t len = size - 1;
  lsql_error err = {0};
  switch (data[0] % 5) {
    case 0:
    case 1: {
      lsql_string_list l;
      if (lsql_ns_rest_parse_list(body, len, data[0] % 5 ? "tables" : "namespaces", &l, &err) ==
          LSQL_OK) {
        for (size_t i = 0; i < l.n_items; i++)
          if (!l.items[i] || !l.items[i][0]) abort();
        lsql_string_list_free(&l);
      }
      break;
    }
    case 2: {
      lsql_table_desc d;
      if (lsql_ns_rest_parse_table(body, len, &d, &err) == LSQL_OK) {
        if (!d.location || !d.storage_options) abort();
        lsql_table_desc_free(&d);
      } else if (d.location || d.storage_options) {
        abort();
      }
      break;
    }
    case 3: {
      char **p;
      if (lsql_ns_rest_parse_namespace(body, len, &p, &err) == LSQL_OK) lsql_strv_free(p);
      break;
    }
    default: {
      int rc = lsql_ns_rest_error(500, body, len, "table a.b", "http://h/v1", &err);
      if (rc == LSQL_OK || !err.message[0]) abort();
      break;
    }
  }
  return 0;
}
