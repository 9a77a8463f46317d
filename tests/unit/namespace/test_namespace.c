/* Unit tests for src/namespace: ids, paths, pagination, REST reply parsing and error mapping,
 * __manifest row extraction, and the dir namespace in listing mode on a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "namespace/namespace.h"

#define IDS(...) ((const char *const[]){__VA_ARGS__})

LSQL_TEST(test_id_validation) {
  lsql_error err = {0};
  CHECK_OK(lsql_ns_check_id(IDS("retail", "sales"), 2, "$", &err), err);
  CHECK_OK(lsql_ns_check_id(NULL, 0, "$", &err), err);
  CHECK_OK(lsql_ns_check_id(IDS("a b", "x.y", "..."), 3, "$", &err), err);
  CHECK_FAILS(lsql_ns_check_id(IDS(""), 1, "$", &err), LSQL_EINVAL, "empty", err);
  CHECK_FAILS(lsql_ns_check_id(IDS("a", "."), 2, "$", &err), LSQL_EINVAL, "'.'", err);
  CHECK_FAILS(lsql_ns_check_id(IDS(".."), 1, "$", &err), LSQL_EINVAL, "'..'", err);
  CHECK_FAILS(lsql_ns_check_id(IDS("a/b"), 1, "$", &err), LSQL_EINVAL, "'/'", err);
  CHECK_FAILS(lsql_ns_check_id(IDS("a\\b"), 1, "$", &err), LSQL_EINVAL, "'\\'", err);
  CHECK_FAILS(lsql_ns_check_id(IDS("a$b"), 1, "$", &err), LSQL_EINVAL, "'$'", err);
  CHECK_OK(lsql_ns_check_id(IDS("a$b"), 1, NULL, &err), err);
  CHECK_FAILS(lsql_ns_check_component("a\0b", 3, NULL, &err), LSQL_EINVAL, "NUL", err);
}

LSQL_TEST(test_paths) {
  char buf[64];
  CHECK(strcmp(lsql_ns_id_dotted(IDS("a", "b", "c"), 3, buf, sizeof buf), "a.b.c") == 0);
  CHECK(strcmp(lsql_ns_id_dotted(NULL, 0, buf, sizeof buf), "(root)") == 0);
  CHECK(strcmp(lsql_ns_id_dotted(IDS("abcdef"), 1, buf, 4), "abc") == 0);
  char *j = lsql_ns_id_join(IDS("a", "b"), 2, "$");
  CHECK(j && strcmp(j, "a$b") == 0);
  lsql_free(j);
  j = lsql_ns_id_join(NULL, 0, "::");
  CHECK(j && strcmp(j, "::") == 0);
  lsql_free(j);
  lsql_buf b = LSQL_BUF_INIT;
  CHECK_EQ_INT(lsql_ns_url_encode(&b, "a$b c/d*-._~%"), LSQL_OK);
  lsql_buf_append(&b, "", 1);
  CHECK(strcmp((char *)b.data, "a%24b+c%2Fd*-._%7E%25") == 0);
  lsql_buf_free(&b);

  lsql_error err = {0};
  CHECK_OK(lsql_ns_check_relative_location("f7df6ce5_retail$sales$orders", &err), err);
  CHECK_OK(lsql_ns_check_relative_location("top.lance", &err), err);
  CHECK_OK(lsql_ns_check_relative_location("sub/dir.lance/", &err), err);
  CHECK_FAILS(lsql_ns_check_relative_location("/etc/passwd", &err), LSQL_ECORRUPT, "relative", err);
  CHECK_FAILS(lsql_ns_check_relative_location("../other", &err), LSQL_ECORRUPT, "escapes", err);
  CHECK_FAILS(lsql_ns_check_relative_location("a/../../b", &err), LSQL_ECORRUPT, "escapes", err);
  CHECK_FAILS(lsql_ns_check_relative_location("a//b", &err), LSQL_ECORRUPT, "escapes", err);
  CHECK_FAILS(lsql_ns_check_relative_location("s3://bucket/x", &err), LSQL_ECORRUPT, "", err);
  CHECK_FAILS(lsql_ns_check_relative_location("a\\..\\b", &err), LSQL_ECORRUPT, "", err);
  CHECK_FAILS(lsql_ns_check_relative_location("", &err), LSQL_ECORRUPT, "", err);
}

static char **names_of(const char *const *v, size_t n) {
  char **out = lsql_calloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) out[i] = lsql_strdup(v[i]);
  return out;
}

LSQL_TEST(test_pagination) {
  lsql_error err = {0};
  lsql_string_list l;
  const char *const v[] = {"d", "b", "a", "c", "b"};
  CHECK_OK(lsql_ns_paginate(names_of(v, 5), 5, NULL, 0, &l, &err), err);
  CHECK_EQ_INT(l.n_items, 4);
  CHECK(l.n_items == 4 && strcmp(l.items[0], "a") == 0 && strcmp(l.items[3], "d") == 0);
  CHECK(l.next_page_token == NULL);
  lsql_string_list_free(&l);

  CHECK_OK(lsql_ns_paginate(names_of(v, 5), 5, NULL, 2, &l, &err), err);
  CHECK(l.n_items == 2 && strcmp(l.items[1], "b") == 0);
  CHECK(l.next_page_token && strcmp(l.next_page_token, "b") == 0);
  lsql_string_list_free(&l);

  CHECK_OK(lsql_ns_paginate(names_of(v, 5), 5, "b", 2, &l, &err), err);
  CHECK(l.n_items == 2 && strcmp(l.items[0], "c") == 0 && strcmp(l.items[1], "d") == 0);
  CHECK(l.next_page_token == NULL); /* nothing remains after d */
  lsql_string_list_free(&l);

  CHECK_OK(lsql_ns_paginate(names_of(v, 5), 5, "zz", 0, &l, &err), err);
  CHECK(l.n_items == 0 && l.items == NULL && l.next_page_token == NULL);
  lsql_string_list_free(&l);
  CHECK_OK(lsql_ns_paginate(NULL, 0, NULL, 3, &l, &err), err);
  CHECK_EQ_INT(l.n_items, 0);
  lsql_string_list_free(&l);
  lsql_string_list_free(NULL);
}

#define S(x) x, strlen(x)

LSQL_TEST(test_rest_parse_list) {
  lsql_error err = {0};
  lsql_string_list l;
  CHECK_OK(lsql_ns_rest_parse_list(S("{\"namespaces\":[\"a\",\"b\"],\"page_token\":null}"),
                                   "namespaces", &l, &err), err);
  CHECK(l.n_items == 2 && strcmp(l.items[1], "b") == 0 && !l.next_page_token);
  lsql_string_list_free(&l);
  CHECK_OK(lsql_ns_rest_parse_list(S("{\"tables\":[\"x\"],\"page_token\":\"x\",\"extra\":1}"),
                                   "tables", &l, &err), err);
  CHECK(l.n_items == 1 && l.next_page_token && strcmp(l.next_page_token, "x") == 0);
  lsql_string_list_free(&l);
  CHECK_OK(lsql_ns_rest_parse_list(S("{\"tables\":[],\"next_page_token\":\"t\"}"), "tables", &l,
                                   &err), err);
  CHECK(l.n_items == 0 && l.next_page_token && strcmp(l.next_page_token, "t") == 0);
  lsql_string_list_free(&l);
  CHECK_FAILS(lsql_ns_rest_parse_list(S("{\"tables\":[1]}"), "tables", &l, &err), LSQL_ECORRUPT,
              "not a non-empty string", err);
  CHECK_FAILS(lsql_ns_rest_parse_list(S("{\"tables\":[\"\"]}"), "tables", &l, &err), LSQL_ECORRUPT,
              "", err);
  CHECK_FAILS(lsql_ns_rest_parse_list(S("{\"tables\":[\"a\\u0000b\"]}"), "tables", &l, &err),
              LSQL_ECORRUPT, "", err);
  CHECK_FAILS(lsql_ns_rest_parse_list(S("{\"namespaces\":{}}"), "namespaces", &l, &err),
              LSQL_ECORRUPT, "no 'namespaces' array", err);
  CHECK_FAILS(lsql_ns_rest_parse_list(S("{\"tables\":[\"a\"],\"page_token\":5}"), "tables", &l,
                                      &err), LSQL_ECORRUPT, "page_token", err);
  CHECK_FAILS(lsql_ns_rest_parse_list(S("not json"), "tables", &l, &err), LSQL_ECORRUPT,
              "malformed JSON", err);
  CHECK_FAILS(lsql_ns_rest_parse_list(S("[1,2]"), "tables", &l, &err), LSQL_ECORRUPT, "", err);
  CHECK_FAILS(lsql_ns_rest_parse_list(NULL, 0, "tables", &l, &err), LSQL_ECORRUPT, "", err);
  CHECK(l.items == NULL && l.n_items == 0);
}

LSQL_TEST(test_rest_parse_table) {
  lsql_error err = {0};
  lsql_table_desc d;
  CHECK_OK(lsql_ns_rest_parse_table(
               S("{\"table\":\"t\",\"location\":\"s3://b/t.lance\",\"version\":7,"
                 "\"storage_options\":{\"region\":\"eu\",\"expires_at_millis\":\"1\"}}"),
               &d, &err), err);
  CHECK(d.location && strcmp(d.location, "s3://b/t.lance") == 0);
  CHECK_EQ_INT(d.version, 7);
  CHECK(d.storage_options && lsql_kv_get((const char *const *)d.storage_options, "region") &&
        strcmp(lsql_kv_get((const char *const *)d.storage_options, "region"), "eu") == 0);
  lsql_table_desc_free(&d);
  CHECK_OK(lsql_ns_rest_parse_table(S("{\"location\":\"/x\",\"storage_options\":null,"
                                      "\"version\":null}"), &d, &err), err);
  CHECK(d.storage_options && d.storage_options[0] == NULL && d.version == -1);
  lsql_table_desc_free(&d);
  CHECK_FAILS(lsql_ns_rest_parse_table(S("{\"table\":\"t\"}"), &d, &err), LSQL_ECORRUPT,
              "location", err);
  CHECK(d.location == NULL && d.storage_options == NULL);
  CHECK_FAILS(lsql_ns_rest_parse_table(S("{\"location\":\"/x\",\"storage_options\":{\"a\":1}}"),
                                       &d, &err), LSQL_ECORRUPT, "storage_options", err);
  CHECK(d.location == NULL);
  CHECK_FAILS(lsql_ns_rest_parse_table(S("{\"location\":\"/x\",\"version\":\"3\"}"), &d, &err),
              LSQL_ECORRUPT, "version", err);
  CHECK_FAILS(lsql_ns_rest_parse_table(S("{\"location\":"), &d, &err), LSQL_ECORRUPT, "", err);
}

LSQL_TEST(test_rest_parse_namespace) {
  lsql_error err = {0};
  char **p;
  CHECK_OK(lsql_ns_rest_parse_namespace(S("{\"properties\":{\"owner\":\"bob\"}}"), &p, &err), err);
  CHECK(p && p[0] && strcmp(p[0], "owner") == 0 && strcmp(p[1], "bob") == 0 && !p[2]);
  lsql_strv_free(p);
  CHECK_OK(lsql_ns_rest_parse_namespace(S("{}"), &p, &err), err);
  CHECK(p && !p[0]);
  lsql_strv_free(p);
  CHECK_OK(lsql_ns_rest_parse_namespace(S("{\"properties\":null}"), &p, &err), err);
  CHECK(p && !p[0]);
  lsql_strv_free(p);
  CHECK_FAILS(lsql_ns_rest_parse_namespace(S("{\"properties\":[1]}"), &p, &err), LSQL_ECORRUPT,
              "", err);
  CHECK(p == NULL);
}

LSQL_TEST(test_rest_errors) {
  lsql_error err = {0};
  CHECK_EQ_INT(lsql_ns_rest_error_code(S("{\"error\":\"x\",\"code\":4}")), 4);
  CHECK_EQ_INT(lsql_ns_rest_error_code(S("oops")), -1);
  CHECK_EQ_INT(lsql_ns_rest_error_code(S("{\"code\":\"4\"}")), -1);
  CHECK_FAILS(lsql_ns_rest_error(404, S("{\"error\":\"table id 'a$t'\",\"code\":4}"), "table a.t",
                                 "http://h/v1", &err), LSQL_ENOTFOUND, "table a.t not found", err);
  CHECK_FAILS(lsql_ns_rest_error(404, S("{\"error\":\"zz\",\"code\":1}"), "namespace zz",
                                 "http://h/v1", &err), LSQL_ENOTFOUND, "namespace zz not found", err);
  CHECK_FAILS(lsql_ns_rest_error(400, S("{\"error\":\"bad\",\"code\":13,\"detail\":\"d\"}"), "t",
                                 "u", &err), LSQL_EINVAL, "bad: d", err);
  CHECK_FAILS(lsql_ns_rest_error(500, S("{\"error\":\"boom\",\"code\":18}"), "t", "http://h/x",
                                 &err), LSQL_EREMOTE, "HTTP 500 from http://h/x", err);
  CHECK_FAILS(lsql_ns_rest_error(500, S("<html>"), "t", "http://h/x", &err), LSQL_EREMOTE,
              "HTTP 500", err);
  CHECK_FAILS(lsql_ns_rest_error(403, S(""), "t", "u", &err), LSQL_EPERM, "", err);
  CHECK_FAILS(lsql_ns_rest_error(404, NULL, 0, "table x", "u", &err), LSQL_ENOTFOUND, "table x", err);
  CHECK_FAILS(lsql_ns_rest_error(406, S("{\"code\":0,\"error\":\"no\"}"), "t", "u", &err),
              LSQL_EUNSUPPORTED, "", err);
}

LSQL_TEST(test_manifest_file_version) {
  uint64_t v = 0;
  CHECK(lsql_ns_manifest_file_version("3.manifest", &v) && v == 3);
  CHECK(lsql_ns_manifest_file_version("18446744073709551614.manifest", &v) && v == 1);
  CHECK(lsql_ns_manifest_file_version("18446744073709551605.manifest", &v) && v == 10);
  CHECK(!lsql_ns_manifest_file_version("0.manifest", &v));
  CHECK(!lsql_ns_manifest_file_version("d5.manifest", &v));
  CHECK(!lsql_ns_manifest_file_version("5.manifest-1234", &v));
  CHECK(!lsql_ns_manifest_file_version("latest_version_hint.json", &v));
  CHECK(!lsql_ns_manifest_file_version(".manifest", &v));
  CHECK(!lsql_ns_manifest_file_version("99999999999999999999.manifest", &v));
}

/* A hand-built struct batch of utf8 columns (offsets/data are static). */
typedef struct fake_batch {
  struct ArrowSchema sch, *sch_children[4], ch_s[4];
  struct ArrowArray arr, *arr_children[4], ch_a[4];
  const void *bufs[4][3];
  int32_t offs[4][8];
  char data[4][256];
} fake_batch;

static void fake_build(fake_batch *f, const char *const *names, int ncols,
                       const char *const rows[][4], int nrows) {
  memset(f, 0, sizeof *f);
  f->sch.format = "+s";
  f->sch.n_children = ncols;
  f->sch.children = f->sch_children;
  f->arr.length = nrows;
  f->arr.n_children = ncols;
  f->arr.children = f->arr_children;
  for (int c = 0; c < ncols; c++) {
    f->sch_children[c] = &f->ch_s[c];
    f->ch_s[c].format = "u";
    f->ch_s[c].name = names[c];
    f->arr_children[c] = &f->ch_a[c];
    int32_t pos = 0;
    for (int r = 0; r < nrows; r++) {
      f->offs[c][r] = pos;
      const char *s = rows[r][c] ? rows[r][c] : "";
      memcpy(f->data[c] + pos, s, strlen(s));
      pos += (int32_t)strlen(s);
    }
    f->offs[c][nrows] = pos;
    f->bufs[c][1] = f->offs[c];
    f->bufs[c][2] = f->data[c];
    f->ch_a[c].length = nrows;
    f->ch_a[c].n_buffers = 3;
    f->ch_a[c].buffers = f->bufs[c];
  }
}

LSQL_TEST(test_manifest_rows) {
  lsql_error err = {0};
  static const char *const names[] = {"object_id", "object_type", "location", "metadata"};
  static const char *const rows[][4] = {
      {"retail", "namespace", NULL, "{\"owner\":\"bob\"}"},
      {"retail$sales$orders", "table", "f7df6ce5_retail$sales$orders", NULL},
      {"orders$3", "table_version", NULL, NULL},
      {"top", "table", "top.lance", NULL},
  };
  fake_batch f;
  fake_build(&f, names, 4, rows, 4);
  lsql_ns_manifest_row *out = NULL;
  size_t n = 0, cap = 0;
  CHECK_OK(lsql_ns_manifest_add_batch(&f.sch, &f.arr, &out, &n, &cap, &err), err);
  CHECK_EQ_INT(n, 3);
  if (n == 3) {
    CHECK(!out[0].is_table && strcmp(out[0].object_id, "retail") == 0 && out[0].metadata);
    CHECK(out[1].is_table && strcmp(out[1].location, "f7df6ce5_retail$sales$orders") == 0);
    CHECK(out[2].is_table && strcmp(out[2].object_id, "top") == 0);
  }
  lsql_ns_manifest_rows_free(out, n);

  static const char *const bad[][4] = {{"a$$b", "table", "x", NULL}};
  fake_build(&f, names, 4, bad, 1);
  out = NULL, n = 0, cap = 0;
  CHECK_FAILS(lsql_ns_manifest_add_batch(&f.sch, &f.arr, &out, &n, &cap, &err), LSQL_ECORRUPT,
              "object_id", err);
  lsql_ns_manifest_rows_free(out, n);

  /* Missing required column, wrong type, corrupt offsets. */
  fake_build(&f, names + 2, 2, rows, 1);
  out = NULL, n = 0, cap = 0;
  CHECK_FAILS(lsql_ns_manifest_add_batch(&f.sch, &f.arr, &out, &n, &cap, &err), LSQL_ECORRUPT,
              "missing column object_id", err);
  fake_build(&f, names, 4, rows, 2);
  f.ch_s[1].format = "i";
  CHECK_FAILS(lsql_ns_manifest_add_batch(&f.sch, &f.arr, &out, &n, &cap, &err), LSQL_ECORRUPT,
              "string column", err);
  fake_build(&f, names, 4, rows, 2);
  f.offs[0][1] = -5;
  CHECK_FAILS(lsql_ns_manifest_add_batch(&f.sch, &f.arr, &out, &n, &cap, &err), LSQL_ECORRUPT,
              "offsets", err);
  lsql_ns_manifest_rows_free(out, n);
  fake_build(&f, names, 4, rows, 2);
  f.ch_a[2].length = 1; /* shorter than the batch */
  out = NULL, n = 0, cap = 0;
  CHECK_FAILS(lsql_ns_manifest_add_batch(&f.sch, &f.arr, &out, &n, &cap, &err), LSQL_ECORRUPT,
              "malformed", err);

  char **p;
  CHECK_OK(lsql_ns_parse_properties(S("{\"a\":\"1\",\"b\":\"2\"}"), &p, &err), err);
  CHECK(p && lsql_strv_len((const char *const *)p) == 4);
  lsql_strv_free(p);
  CHECK_FAILS(lsql_ns_parse_properties(S("{\"a\":1}"), &p, &err), LSQL_ECORRUPT, "not a string", err);
  CHECK_FAILS(lsql_ns_parse_properties(S("{\"a\":\"1\",\"a\":\"2\"}"), &p, &err), LSQL_ECORRUPT, "", err);
}

/* ---- dir namespace, listing mode --------------------------------------------------------- */

static void touch(const char *dir, const char *rel) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  FILE *f = fopen(p, "w");
  if (f) fclose(f);
}
static void mkd(const char *dir, const char *rel) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  mkdir(p, 0755);
}

LSQL_TEST(test_dir_listing) {
  char root[] = "/tmp/lsql_ns_test_XXXXXX";
  if (!mkdtemp(root)) {
    CHECK(0);
    return;
  }
  mkd(root, "b.lance");
  touch(root, "b.lance/x");
  mkd(root, "a.lance");
  mkd(root, "a.lance/_versions");
  mkd(root, "empty.lance");
  mkd(root, "gone.lance");
  touch(root, "gone.lance/.lance-deregistered");
  touch(root, "gone.lance/y");
  mkd(root, "plain");
  touch(root, "file.lance");
  mkd(root, "bad$name.lance");
  touch(root, "bad$name.lance/z");

  lsql_error err = {0};
  lsql_namespace *ns = NULL;
  CHECK_FAILS(lsql_connect("dir", IDS("manifest_enabled", "false", NULL), &ns, &err), LSQL_EINVAL,
              "root", err);
  CHECK(ns == NULL);
  CHECK_FAILS(lsql_connect("dir", IDS("root", root, "manifest_enabled", "maybe", NULL), &ns, &err),
              LSQL_EINVAL, "boolean", err);
  CHECK_FAILS(lsql_connect("nope", NULL, &ns, &err), LSQL_EINVAL, "unknown", err);
  CHECK_OK(lsql_connect("dir", IDS("root", root, "storage.region", "eu", "other", "x", NULL), &ns,
                        &err), err);
  if (!ns) return;
  CHECK(strcmp(lsql_namespace_impl(ns), "dir") == 0);

  lsql_string_list l;
  /* As the reference: every `*.lance` entry but deregistered directories is listed (empty
   * directories, plain files, names that are not valid ids); describe_table then decides. */
  static const char *const want_tables[] = {"a", "b", "bad$name", "empty", "file"};
  CHECK_OK(lsql_namespace_list_tables(ns, NULL, 0, NULL, 0, &l, &err), err);
  CHECK_EQ_INT(l.n_items, 5);
  for (size_t i = 0; i < l.n_items && i < 5; i++) CHECK(strcmp(l.items[i], want_tables[i]) == 0);
  CHECK(!l.next_page_token);
  lsql_string_list_free(&l);
  CHECK_OK(lsql_namespace_list_tables(ns, NULL, 0, NULL, 1, &l, &err), err);
  CHECK(l.n_items == 1 && l.next_page_token && strcmp(l.next_page_token, "a") == 0);
  lsql_string_list_free(&l);
  CHECK_OK(lsql_namespace_list_tables(ns, NULL, 0, "a", 1, &l, &err), err);
  CHECK(l.n_items == 1 && strcmp(l.items[0], "b") == 0 && l.next_page_token &&
        strcmp(l.next_page_token, "b") == 0);
  lsql_string_list_free(&l);
  CHECK_OK(lsql_namespace_list_tables(ns, NULL, 0, "empty", 2, &l, &err), err);
  CHECK(l.n_items == 1 && strcmp(l.items[0], "file") == 0 && !l.next_page_token);
  lsql_string_list_free(&l);
  CHECK_OK(lsql_namespace_list_namespaces(ns, NULL, 0, NULL, 0, &l, &err), err);
  CHECK_EQ_INT(l.n_items, 0);
  lsql_string_list_free(&l);
  /* No __manifest: child namespaces are "not found" (the reference's NamespaceNotFound). */
  CHECK_FAILS(lsql_namespace_list_tables(ns, IDS("retail"), 1, NULL, 0, &l, &err), LSQL_ENOTFOUND,
              "namespace retail not found", err);
  CHECK_FAILS(lsql_namespace_list_namespaces(ns, IDS("retail"), 1, NULL, 0, &l, &err),
              LSQL_ENOTFOUND, "__manifest", err);

  lsql_table_desc d;
  CHECK_OK(lsql_namespace_describe_table(ns, IDS("b"), 1, &d, &err), err);
  char want[600];
  snprintf(want, sizeof want, "%s/b.lance", root);
  CHECK(d.location && strcmp(d.location, want) == 0);
  /* No storage options, as the reference (open_table applies the namespace's own). */
  CHECK(d.storage_options && !d.storage_options[0]);
  lsql_table_desc_free(&d);
  CHECK_FAILS(lsql_namespace_describe_table(ns, IDS("empty"), 1, &d, &err), LSQL_ENOTFOUND,
              "table empty not found", err);
  CHECK(d.location == NULL);
  CHECK_FAILS(lsql_namespace_describe_table(ns, IDS("gone"), 1, &d, &err), LSQL_ENOTFOUND, "", err);
  CHECK_FAILS(lsql_namespace_describe_table(ns, IDS("file"), 1, &d, &err), LSQL_ENOTFOUND, "", err);
  CHECK_FAILS(lsql_namespace_describe_table(ns, IDS("retail", "t"), 2, &d, &err), LSQL_ENOTFOUND,
              "table retail.t not found", err);
  CHECK_FAILS(lsql_namespace_describe_table(ns, IDS("..", "b"), 2, &d, &err), LSQL_EINVAL, "", err);
  CHECK_FAILS(lsql_namespace_describe_table(ns, IDS("bad$name"), 1, &d, &err), LSQL_EINVAL, "'$'", err);
  CHECK_FAILS(lsql_namespace_describe_table(ns, NULL, 0, &d, &err), LSQL_EINVAL, "", err);

  int ex = -1;
  CHECK_OK(lsql_namespace_table_exists(ns, IDS("a"), 1, &ex, &err), err);
  CHECK_EQ_INT(ex, 1);
  CHECK_OK(lsql_namespace_table_exists(ns, IDS("gone"), 1, &ex, &err), err);
  CHECK_EQ_INT(ex, 0);
  CHECK_OK(lsql_namespace_exists(ns, NULL, 0, &ex, &err), err);
  CHECK_EQ_INT(ex, 1);
  CHECK_OK(lsql_namespace_exists(ns, IDS("retail"), 1, &ex, &err), err);
  CHECK_EQ_INT(ex, 0);
  char **props = NULL;
  CHECK_OK(lsql_namespace_describe_namespace(ns, NULL, 0, &props, &err), err);
  CHECK(props && !props[0]);
  lsql_strv_free(props);
  CHECK_FAILS(lsql_namespace_describe_namespace(ns, IDS("retail"), 1, &props, &err), LSQL_ENOTFOUND,
              "namespace retail not found", err);

  /* References: the handle stays valid while another reference exists. */
  lsql_namespace *r2 = lsql_namespace_ref(ns);
  lsql_namespace_free(ns);
  CHECK_OK(lsql_namespace_exists(r2, NULL, 0, &ex, &err), err);
  lsql_namespace_unref(r2);
  lsql_namespace_free(NULL);

  /* Listing only: child ids are unsupported. */
  CHECK_OK(lsql_connect("dir", IDS("root", root, "manifest_enabled", "false", NULL), &ns, &err), err);
  if (ns) {
    CHECK_FAILS(lsql_namespace_list_tables(ns, IDS("x"), 1, NULL, 0, &l, &err), LSQL_EUNSUPPORTED,
                "manifest", err);
    CHECK_OK(lsql_namespace_list_tables(ns, NULL, 0, NULL, 0, &l, &err), err);
    CHECK_EQ_INT(l.n_items, 5);
    lsql_string_list_free(&l);
    lsql_namespace_free(ns);
  }
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  CHECK_EQ_INT(system(cmd), 0);
}

LSQL_TEST(test_rest_connect_and_down) {
  lsql_error err = {0};
  lsql_namespace *ns = NULL;
  CHECK_FAILS(lsql_connect("rest", IDS("delimiter", "$", NULL), &ns, &err), LSQL_EINVAL, "uri", err);
  CHECK_FAILS(lsql_connect("rest", IDS("uri", "ftp://x", NULL), &ns, &err), LSQL_EINVAL, "http", err);
  CHECK_FAILS(lsql_connect("rest", IDS("uri", "http://x", "retries", "-1", NULL), &ns, &err),
              LSQL_EINVAL, "retries", err);
  CHECK_FAILS(lsql_connect("rest", IDS("uri", "http://x", "header.A\r\nB", "v", NULL), &ns, &err),
              LSQL_EINVAL, "header", err);
  /* Port 1 on loopback: connection refused at once. Credentials must not leak into errors. */
  CHECK_OK(lsql_connect("rest", IDS("uri", "http://user:pw@127.0.0.1:1/", "retries", "1",
                                    "header.Authorization", "Bearer SECRET", "timeout_ms", "2000",
                                    NULL), &ns, &err), err);
  if (!ns) return;
  lsql_string_list l;
  uint64_t t0 = lsql_now_ns();
  CHECK_FAILS(lsql_namespace_list_namespaces(ns, NULL, 0, NULL, 0, &l, &err), LSQL_EIO,
              "http://127.0.0.1:1/v1/namespace/%24/list?delimiter=%24", err);
  CHECK(!strstr(err.message, "SECRET") && !strstr(err.message, "pw"));
  CHECK(lsql_now_ns() - t0 < 3000000000ull);
  CHECK_FAILS(lsql_namespace_list_tables(ns, IDS("a$b"), 1, NULL, 0, &l, &err), LSQL_EINVAL,
              "delimiter", err);
  lsql_namespace_free(ns);
}
