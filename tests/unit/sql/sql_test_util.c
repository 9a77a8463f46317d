#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "sql_test_util.h"

static char seed_dir[1024];

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *sql_test_seed_dir(void) {
  if (seed_dir[0]) return seed_dir;
  const char *fx = getenv("LSQL_FIXTURES");
  char p[1100];
  snprintf(seed_dir, sizeof seed_dir, "%s/namespaces", fx ? fx : LSQL_SOURCE_DIR "/build/fixtures");
  snprintf(p, sizeof p, "%s/seed_root/__manifest", seed_dir);
  if (is_dir(p)) return seed_dir;
  /* Fall back to writing the same data with pylance (examples/make_examples.py). */
  snprintf(seed_dir, sizeof seed_dir, "/tmp/lsql_sql_seed");
  snprintf(p, sizeof p, "%s/seed_crm/__manifest", seed_dir);
  if (is_dir(p)) return seed_dir;
  char cmd[8192];
  snprintf(cmd, sizeof cmd,
           "rm -rf %s && %s/.venv/bin/python %s/examples/make_examples.py --out %s >/dev/null 2>&1 && "
           "mv %s/lake %s/seed_root && mv %s/crm %s/seed_crm",
           seed_dir, LSQL_SOURCE_DIR, LSQL_SOURCE_DIR, seed_dir, seed_dir, seed_dir, seed_dir, seed_dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "could not write the seed namespaces (%s)\n", cmd);
    seed_dir[0] = 0;
    return NULL;
  }
  return seed_dir;
}

static void cell(char **out, size_t *len, size_t *cap, const struct ArrowSchema *s,
                 const struct ArrowArray *a, int64_t i) {
  char tmp[256];
  int64_t j = a->offset + i;
  const uint8_t *valid = a->buffers[0];
  const char *text = tmp;
  size_t tl;
  if (valid && !((valid[j / 8] >> (j % 8)) & 1)) {
    text = "NULL";
  } else if (!strcmp(s->format, "i")) {
    snprintf(tmp, sizeof tmp, "%d", ((const int32_t *)a->buffers[1])[j]);
  } else if (!strcmp(s->format, "l")) {
    snprintf(tmp, sizeof tmp, "%lld", (long long)((const int64_t *)a->buffers[1])[j]);
  } else if (!strcmp(s->format, "L")) {
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)((const uint64_t *)a->buffers[1])[j]);
  } else if (!strcmp(s->format, "g")) {
    snprintf(tmp, sizeof tmp, "%g", ((const double *)a->buffers[1])[j]);
  } else if (!strncmp(s->format, "d:", 2)) {
    int64_t lo;
    memcpy(&lo, (const uint8_t *)a->buffers[1] + 16 * j, 8);
    snprintf(tmp, sizeof tmp, "%lld", (long long)lo);
  } else if (!strcmp(s->format, "u")) {
    const int32_t *off = a->buffers[1];
    snprintf(tmp, sizeof tmp, "%.*s", (int)(off[j + 1] - off[j]), (const char *)a->buffers[2] + off[j]);
  } else if (!strcmp(s->format, "b")) {
    snprintf(tmp, sizeof tmp, "%s", ((((const uint8_t *)a->buffers[1])[j / 8] >> (j % 8)) & 1) ? "true" : "false");
  } else {
    snprintf(tmp, sizeof tmp, "<%s>", s->format);
  }
  tl = strlen(text);
  if (*len + tl + 2 > *cap) {
    *cap = (*len + tl + 2) * 2;
    *out = realloc(*out, *cap);
  }
  memcpy(*out + *len, text, tl);
  *len += tl;
  (*out)[*len] = 0;
}

char *sql_test_rows(lsql_session *s, const char *sql, lsql_error *err) {
  struct ArrowArrayStream st;
  if (lsql_session_sql(s, sql, &st, err) != LSQL_OK) return NULL;
  struct ArrowSchema sc;
  if (st.get_schema(&st, &sc) != 0) {
    lsql_err_set:
    if (err) {
      err->code = LSQL_ESQL;
      snprintf(err->message, sizeof err->message, "%s", st.get_last_error(&st) ? st.get_last_error(&st) : "?");
    }
    st.release(&st);
    return NULL;
  }
  size_t len = 0, cap = 64;
  char *out = calloc(1, cap);
  for (;;) {
    struct ArrowArray a;
    if (st.get_next(&st, &a) != 0) {
      sc.release(&sc);
      free(out);
      goto lsql_err_set;
    }
    if (!a.release) break;
    for (int64_t i = 0; i < a.length; i++) {
      for (int64_t c = 0; c < a.n_children; c++) {
        if (c) {
          char comma[2] = ",";
          if (len + 2 > cap) out = realloc(out, cap *= 2);
          memcpy(out + len++, comma, 2);
        }
        cell(&out, &len, &cap, sc.children[c], a.children[c], i);
      }
      if (len + 2 > cap) out = realloc(out, cap *= 2);
      out[len++] = '\n';
      out[len] = 0;
    }
    a.release(&a);
  }
  sc.release(&sc);
  st.release(&st);
  return out;
}

lsql_session *sql_test_seed_session(const char *def_cat, const char *def_schema,
                                    const char *const *options) {
  const char *dir = sql_test_seed_dir();
  if (!dir) return NULL;
  char root[1200], crm[1200];
  snprintf(root, sizeof root, "%s/seed_root", dir);
  snprintf(crm, sizeof crm, "%s/seed_crm", dir);
  lsql_error err = {0};
  lsql_namespace *ns1 = NULL, *ns2 = NULL;
  lsql_session *s = NULL;
  lsql_session_builder *b = lsql_session_builder_new();
  int rc = lsql_connect("dir", (const char *[]){"root", root, NULL}, &ns1, &err);
  if (!rc) rc = lsql_connect("dir", (const char *[]){"root", crm, NULL}, &ns2, &err);
  if (!rc) rc = lsql_session_builder_with_root(b, ns1, &err);
  if (!rc) rc = lsql_session_builder_add_catalog(b, "crm", ns2, (const char *[]){"crm"}, 1, &err);
  if (!rc && def_cat) rc = lsql_session_builder_default(b, def_cat, def_schema, &err);
  for (size_t i = 0; !rc && options && options[i]; i += 2)
    rc = lsql_session_builder_set_option(b, options[i], options[i + 1], &err);
  if (!rc) rc = lsql_session_builder_build(b, &s, &err);
  if (rc) fprintf(stderr, "seed session: %s: %s\n", lsql_status_name(rc), err.message);
  lsql_session_builder_free(b);
  /* The session keeps its own references. */
  lsql_namespace_free(ns1);
  lsql_namespace_free(ns2);
  return s;
}
