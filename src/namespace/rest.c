/* The "rest" namespace: a libcurl client of the Lance Namespace REST spec, sending the same paths,
 * query parameters and JSON bodies as the reference Rust client (lance-namespace-impls rest.rs).
 * Adds timeouts and retries with exponential backoff (the reference has neither). Header values
 * (credentials) never reach error messages. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <time.h>

#include "namespace/namespace.h"

#define REST_MAX_REPLY (64u << 20) /* a listing larger than this is refused, not buffered */

typedef struct rest_ns {
  char *uri;      /* base endpoint, trailing '/' stripped */
  char *uri_safe; /* the same without user:password@, for messages */
  char *delim;
  char **headers; /* "Name: value" lines, NULL-terminated */
  long timeout_ms, connect_timeout_ms;
  int retries;
  char *ca_file, *cert_file, *key_file;
  bool verify_host;
} rest_ns;

static void rest_destroy(void *p) {
  rest_ns *r = p;
  if (!r) return;
  lsql_free(r->uri);
  lsql_free(r->uri_safe);
  lsql_free(r->delim);
  lsql_strv_free(r->headers);
  lsql_free(r->ca_file);
  lsql_free(r->cert_file);
  lsql_free(r->key_file);
  lsql_free(r);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- transport ------------------------------------------------------------------------------ */

typedef struct reply {
  lsql_buf body;
  bool too_big;
} reply;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud) {
  reply *r = ud;
  size_t n = size * nmemb;
  if (r->body.len + n > REST_MAX_REPLY) {
    r->too_big = true;
    return 0;
  }
  return lsql_buf_append(&r->body, ptr, n) == LSQL_OK ? n : 0;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static bool retryable_curl(CURLcode c) {
  return c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT || c == CURLE_SEND_ERROR ||
         c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING || c == CURLE_COULDNT_RESOLVE_HOST ||
         c == CURLE_PARTIAL_FILE;
}

/* Sends one request (retrying transport failures, 5xx and 429). On LSQL_OK *status holds the
 * final HTTP status and out->body the reply (caller frees with lsql_buf_free). */
static int rest_call(rest_ns *r, const char *method, const char *path, const char *body,
                     long *status, lsql_buf *out, lsql_error *err) {
  pthread_once(&curl_once, curl_init_once);
  *status = 0;
  char *url = lsql_sprintf("%s%s", r->uri, path);
  if (!url) return lsql_err_oom(err);
  struct curl_slist *hdrs = NULL, *h2;
  int rc = LSQL_OK;
  const char *fixed[] = {"Accept: application/json",
                         body ? "Content-Type: application/json" : NULL};
  for (size_t i = 0; i < 2 && rc == LSQL_OK; i++) {
    if (!fixed[i]) continue;
    if (!(h2 = curl_slist_append(hdrs, fixed[i]))) rc = lsql_err_oom(err);
    else hdrs = h2;
  }
  for (size_t i = 0; rc == LSQL_OK && r->headers[i]; i++) {
    if (!(h2 = curl_slist_append(hdrs, r->headers[i]))) rc = lsql_err_oom(err);
    else hdrs = h2;
  }
  long backoff = 100;
  for (int attempt = 0; rc == LSQL_OK; attempt++) {
    CURL *c = curl_easy_init();
    if (!c) {
      rc = lsql_err_oom(err);
      break;
    }
    reply rp = {LSQL_BUF_INIT, false};
    char ebuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (r->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
    if (r->cert_file) curl_easy_setopt(c, CURLOPT_SSLCERT, r->cert_file);
    if (r->key_file) curl_easy_setopt(c, CURLOPT_SSLKEY, r->key_file);
    if (!r->verify_host) curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    if (body) {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "POST") == 0) {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    CURLcode cc = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    bool retry_left = attempt < r->retries;
    if (cc != CURLE_OK) {
      lsql_buf_free(&rp.body);
      if (rp.too_big) {
        rc = lsql_err(err, LSQL_ELIMIT, "%s %s%s: reply larger than %u bytes", method,
                      r->uri_safe, path, REST_MAX_REPLY);
        break;
      }
      if (retry_left && retryable_curl(cc)) {
        sleep_ms(backoff);
        backoff = LSQL_MIN(backoff * 2, 5000);
        continue;
      }
      rc = lsql_err(err, LSQL_EIO, "%s %s%s: %s (after %d attempt%s)", method, r->uri_safe, path,
                    ebuf[0] ? ebuf : curl_easy_strerror(cc), attempt + 1, attempt ? "s" : "");
      break;
    }
    if ((st >= 500 || st == 429) && retry_left) {
      lsql_buf_free(&rp.body);
      sleep_ms(backoff);
      backoff = LSQL_MIN(backoff * 2, 5000);
      continue;
    }
    *status = st;
    *out = rp.body;
    break;
  }
  curl_slist_free_all(hdrs);
  lsql_free(url);
  return rc;
}

/* ---- request building ----------------------------------------------------------------------- */

static int rest_check_id(rest_ns *r, const char *const *id, size_t id_len, lsql_error *err) {
  LSQL_TRY(lsql_ns_check_id(id, id_len, NULL, err));
  for (size_t i = 0; i < id_len; i++)
    if (strstr(id[i], r->delim))
      return lsql_err(err, LSQL_EINVAL, "invalid id component '%s': contains the delimiter '%s'",
                      id[i], r->delim);
  return LSQL_OK;
}

/* "/v1/<kind>/<encoded id><suffix>?delimiter=<encoded delimiter>" */
static int rest_path(rest_ns *r, lsql_buf *b, const char *kind, const char *const *id,
                     size_t id_len, const char *suffix) {
  char *joined = lsql_ns_id_join(id, id_len, r->delim);
  if (!joined) return LSQL_ENOMEM;
  int rc = lsql_buf_appendf(b, "/v1/%s/", kind);
  if (rc == LSQL_OK) rc = lsql_ns_url_encode(b, joined);
  if (rc == LSQL_OK) rc = lsql_buf_appendf(b, "%s?delimiter=", suffix);
  if (rc == LSQL_OK) rc = lsql_ns_url_encode(b, r->delim);
  lsql_free(joined);
  return rc;
}

/* {"id": [...]} plus optional extra members (a JSON fragment starting with ','). */
static char *rest_body(const char *const *id, size_t id_len, const char *extra) {
  json_t *arr = json_array();
  if (!arr) return NULL;
  for (size_t i = 0; i < id_len; i++)
    if (json_array_append_new(arr, json_string(id[i])) != 0) {
      json_decref(arr);
      return NULL;
    }
  char *ids = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  if (!ids) return NULL;
  char *s = lsql_sprintf("{\"id\":%s%s}", ids, extra ? extra : "");
  free(ids); /* jansson's allocator */
  return s;
}

static const char *what_of(const char *kind, const char *const *id, size_t id_len, char *buf,
                           size_t cap) {
  char d[200];
  snprintf(buf, cap, "%s %s", kind, lsql_ns_id_dotted(id, id_len, d, sizeof d));
  return buf;
}

/* Runs a request and returns the 2xx body, or maps the error reply. */
static int rest_do(rest_ns *r, const char *method, lsql_buf *path, const char *body,
                   const char *what, bool *missing, lsql_buf *out, lsql_error *err) {
  *out = (lsql_buf)LSQL_BUF_INIT;
  if (missing) *missing = false;
  if (!path->data) return lsql_err_oom(err);
  long status;
  int rc = rest_call(r, method, (const char *)path->data, body, &status, out, err);
  if (rc != LSQL_OK) return rc;
  if (status >= 200 && status < 300) return LSQL_OK;
  if (missing) {
    int code = lsql_ns_rest_error_code((const char *)out->data, out->len);
    if (code == 1 || code == 4 || (code < 0 && status == 404)) {
      *missing = true;
      lsql_buf_free(out);
      return LSQL_OK;
    }
  }
  char *url = lsql_sprintf("%s%s", r->uri_safe, (const char *)path->data);
  rc = lsql_ns_rest_error(status, (const char *)out->data, out->len, what, url ? url : r->uri_safe,
                          err);
  lsql_free(url);
  lsql_buf_free(out);
  return rc;
}

static int rest_list(lsql_namespace *ns, const char *const *id, size_t id_len,
                     const char *page_token, int32_t limit, bool tables, lsql_string_list *out,
                     lsql_error *err) {
  rest_ns *r = ns->impl;
  LSQL_TRY(rest_check_id(r, id, id_len, err));
  lsql_buf path = LSQL_BUF_INIT, reply;
  int rc = rest_path(r, &path, "namespace", id, id_len, tables ? "/table/list" : "/list");
  if (rc == LSQL_OK && page_token) {
    rc = lsql_buf_append_str(&path, "&page_token=");
    if (rc == LSQL_OK) rc = lsql_ns_url_encode(&path, page_token);
  }
  if (rc == LSQL_OK && limit > 0) rc = lsql_buf_appendf(&path, "&limit=%d", (int)limit);
  if (rc == LSQL_OK && tables) rc = lsql_buf_append_str(&path, "&include_declared=true");
  if (rc == LSQL_OK) rc = lsql_buf_append(&path, "", 1);
  if (rc != LSQL_OK) {
    lsql_buf_free(&path);
    return lsql_err_oom(err);
  }
  char what[256];
  rc = rest_do(r, "GET", &path, NULL, what_of("namespace", id, id_len, what, sizeof what), NULL,
               &reply, err);
  if (rc == LSQL_OK) {
    rc = lsql_ns_rest_parse_list((const char *)reply.data, reply.len,
                                 tables ? "tables" : "namespaces", out, err);
    if (rc != LSQL_OK) lsql_error_prefix(err, "GET %s%s: ", r->uri_safe, (const char *)path.data);
  }
  lsql_buf_free(&reply);
  lsql_buf_free(&path);
  return rc;
}

static int rest_list_namespaces(lsql_namespace *ns, const char *const *id, size_t id_len,
                                const char *page_token, int32_t limit, lsql_string_list *out,
                                lsql_error *err) {
  return rest_list(ns, id, id_len, page_token, limit, false, out, err);
}

static int rest_list_tables(lsql_namespace *ns, const char *const *id, size_t id_len,
                            const char *page_token, int32_t limit, lsql_string_list *out,
                            lsql_error *err) {
  return rest_list(ns, id, id_len, page_token, limit, true, out, err);
}

/* POST /v1/<kind>/<id><suffix> with the id body; *reply holds the 2xx body. */
static int rest_post(rest_ns *r, const char *kind, const char *const *id, size_t id_len,
                     const char *suffix, const char *query, const char *extra, bool *missing,
                     lsql_buf *reply, lsql_error *err) {
  LSQL_TRY(rest_check_id(r, id, id_len, err));
  lsql_buf path = LSQL_BUF_INIT;
  int rc = rest_path(r, &path, kind, id, id_len, suffix);
  if (rc == LSQL_OK && query) rc = lsql_buf_append_str(&path, query);
  if (rc == LSQL_OK) rc = lsql_buf_append(&path, "", 1);
  char *body = rc == LSQL_OK ? rest_body(id, id_len, extra) : NULL;
  if (!body) {
    lsql_buf_free(&path);
    return lsql_err_oom(err);
  }
  char what[256];
  rc = rest_do(r, "POST", &path, body, what_of(kind, id, id_len, what, sizeof what), missing,
               reply, err);
  lsql_free(body);
  lsql_buf_free(&path);
  return rc;
}

static int rest_describe_table(lsql_namespace *ns, const char *const *id, size_t id_len,
                               lsql_table_desc *out, lsql_error *err) {
  rest_ns *r = ns->impl;
  lsql_buf reply;
  LSQL_TRY(rest_post(r, "table", id, id_len, "/describe",
                     "&with_table_uri=false&check_declared=false",
                     ",\"with_table_uri\":false,\"check_declared\":false", NULL, &reply, err));
  int rc = lsql_ns_rest_parse_table((const char *)reply.data, reply.len, out, err);
  if (rc != LSQL_OK) {
    char d[200];
    lsql_error_prefix(err, "describe table %s at %s: ", lsql_ns_id_dotted(id, id_len, d, sizeof d),
                      r->uri_safe);
  }
  lsql_buf_free(&reply);
  return rc;
}

static int rest_exists(lsql_namespace *ns, const char *kind, const char *const *id,
                       size_t id_len, int *exists, lsql_error *err) {
  rest_ns *r = ns->impl;
  lsql_buf reply;
  bool missing;
  LSQL_TRY(rest_post(r, kind, id, id_len, "/exists", NULL, NULL, &missing, &reply, err));
  lsql_buf_free(&reply);
  *exists = !missing;
  return LSQL_OK;
}

static int rest_table_exists(lsql_namespace *ns, const char *const *id, size_t id_len,
                             int *exists, lsql_error *err) {
  return rest_exists(ns, "table", id, id_len, exists, err);
}

static int rest_namespace_exists(lsql_namespace *ns, const char *const *id, size_t id_len,
                                 int *exists, lsql_error *err) {
  return rest_exists(ns, "namespace", id, id_len, exists, err);
}

static int rest_describe_namespace(lsql_namespace *ns, const char *const *id, size_t id_len,
                                   char ***props, lsql_error *err) {
  rest_ns *r = ns->impl;
  lsql_buf reply;
  LSQL_TRY(rest_post(r, "namespace", id, id_len, "/describe", NULL, NULL, NULL, &reply, err));
  int rc = lsql_ns_rest_parse_namespace((const char *)reply.data, reply.len, props, err);
  if (rc != LSQL_OK) {
    char d[200];
    lsql_error_prefix(err, "describe namespace %s at %s: ",
                      lsql_ns_id_dotted(id, id_len, d, sizeof d), r->uri_safe);
  }
  lsql_buf_free(&reply);
  return rc;
}

static const lsql_ns_vtable rest_vtable = {
    .name = "rest",
    .list_namespaces = rest_list_namespaces,
    .list_tables = rest_list_tables,
    .describe_table = rest_describe_table,
    .namespace_exists = rest_namespace_exists,
    .table_exists = rest_table_exists,
    .describe_namespace = rest_describe_namespace,
    .destroy = rest_destroy,
};

/* ---- reply parsing -------------------------------------------------------------------------- */

static json_t *load_object(const char *body, size_t len, lsql_error *err) {
  json_error_t je;
  json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, &je);
  if (!root) {
    lsql_err(err, LSQL_ECORRUPT, "malformed JSON reply: %s (line %d)", je.text, je.line);
    return NULL;
  }
  if (!json_is_object(root)) {
    json_decref(root);
    lsql_err(err, LSQL_ECORRUPT, "malformed reply: expected a JSON object");
    return NULL;
  }
  return root;
}

/* A JSON string without embedded NUL bytes, or NULL. */
static const char *plain_string(json_t *v) {
  if (!json_is_string(v)) return NULL;
  const char *s = json_string_value(v);
  return strlen(s) == json_string_length(v) ? s : NULL;
}

int lsql_ns_rest_parse_list(const char *body, size_t len, const char *key, lsql_string_list *out,
                            lsql_error *err) {
  memset(out, 0, sizeof *out);
  json_t *root = load_object(body, len, err);
  if (!root) return LSQL_ECORRUPT;
  int rc = LSQL_OK;
  json_t *arr = json_object_get(root, key);
  json_t *tok = json_object_get(root, "page_token");
  if (!tok || json_is_null(tok)) tok = json_object_get(root, "next_page_token");
  const char *token = NULL;
  if (!json_is_array(arr)) rc = lsql_err(err, LSQL_ECORRUPT, "malformed reply: no '%s' array", key);
  else if (tok && !json_is_null(tok) && !(token = plain_string(tok)))
    rc = lsql_err(err, LSQL_ECORRUPT, "malformed reply: page_token is not a string");
  size_t n = rc == LSQL_OK ? json_array_size(arr) : 0;
  const char **names = n ? lsql_calloc(n, sizeof(char *)) : NULL;
  if (n && !names) rc = lsql_err_oom(err);
  for (size_t i = 0; rc == LSQL_OK && i < n; i++) {
    names[i] = plain_string(json_array_get(arr, i));
    if (!names[i] || !*names[i])
      rc = lsql_err(err, LSQL_ECORRUPT, "malformed reply: '%s'[%zu] is not a non-empty string", key, i);
  }
  if (rc == LSQL_OK) rc = lsql_ns_list_from(names, n, token, out, err);
  lsql_free(names);
  json_decref(root);
  return rc;
}

int lsql_ns_rest_parse_table(const char *body, size_t len, lsql_table_desc *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  out->version = -1;
  json_t *root = load_object(body, len, err);
  if (!root) return LSQL_ECORRUPT;
  int rc = LSQL_OK;
  const char *loc = plain_string(json_object_get(root, "location"));
  json_t *so = json_object_get(root, "storage_options"), *ver = json_object_get(root, "version");
  if (!loc || !*loc) rc = lsql_err(err, LSQL_ECORRUPT, "malformed reply: no 'location' string");
  else if (so && !json_is_null(so) && !json_is_object(so))
    rc = lsql_err(err, LSQL_ECORRUPT, "malformed reply: storage_options is not an object");
  else if (ver && !json_is_null(ver) && (!json_is_integer(ver) || json_integer_value(ver) < 0))
    rc = lsql_err(err, LSQL_ECORRUPT, "malformed reply: version is not a non-negative integer");
  if (rc == LSQL_OK) {
    if (ver && json_is_integer(ver)) out->version = (int64_t)json_integer_value(ver);
    if (!(out->location = lsql_strdup(loc))) rc = lsql_err_oom(err);
  }
  if (rc == LSQL_OK) {
    char *s = NULL;
    if (so && json_is_object(so) && !(s = json_dumps(so, JSON_COMPACT))) rc = lsql_err_oom(err);
    if (rc == LSQL_OK)
      rc = lsql_ns_parse_properties(s ? s : "null", s ? strlen(s) : 4, &out->storage_options, err);
    if (rc != LSQL_OK && rc != LSQL_ENOMEM) lsql_error_prefix(err, "storage_options: ");
    free(s);
  }
  json_decref(root);
  if (rc != LSQL_OK) lsql_table_desc_free(out);
  return rc;
}

int lsql_ns_rest_parse_namespace(const char *body, size_t len, char ***props, lsql_error *err) {
  *props = NULL;
  json_t *root = load_object(body, len, err);
  if (!root) return LSQL_ECORRUPT;
  int rc = LSQL_OK;
  json_t *p = json_object_get(root, "properties");
  char *s = NULL;
  if (p && !json_is_null(p) && !json_is_object(p))
    rc = lsql_err(err, LSQL_ECORRUPT, "malformed reply: properties is not an object");
  else if (p && json_is_object(p) && !(s = json_dumps(p, JSON_COMPACT)))
    rc = lsql_err_oom(err);
  if (rc == LSQL_OK) {
    rc = lsql_ns_parse_properties(s ? s : "null", s ? strlen(s) : 4, props, err);
    if (rc != LSQL_OK && rc != LSQL_ENOMEM) lsql_error_prefix(err, "properties: ");
  }
  free(s);
  json_decref(root);
  return rc;
}

int lsql_ns_rest_error_code(const char *body, size_t len) {
  if (!body || len == 0) return -1;
  json_t *root = json_loadb(body, len, 0, NULL);
  int code = -1;
  json_t *c = root && json_is_object(root) ? json_object_get(root, "code") : NULL;
  if (json_is_integer(c) && json_integer_value(c) >= 0 && json_integer_value(c) < 1000)
    code = (int)json_integer_value(c);
  json_decref(root);
  return code;
}

int lsql_ns_rest_error(long http_status, const char *body, size_t len, const char *what,
                       const char *url, lsql_error *err) {
  int code = lsql_ns_rest_error_code(body, len);
  char msg[240] = "";
  if (code >= 0) {
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *e = plain_string(json_object_get(root, "error"));
    const char *d = plain_string(json_object_get(root, "detail"));
    snprintf(msg, sizeof msg, "%s%s%s", e ? e : "", e && d ? ": " : "", d ? d : "");
    json_decref(root);
    for (char *p = msg; *p; p++)
      if ((unsigned char)*p < 0x20) *p = ' ';
  }
  switch (code) {
    case 1: case 4: case 6: case 8: case 10: case 11: case 12: case 22:
      return lsql_err(err, LSQL_ENOTFOUND, "%s not found (%s)", what, msg);
    case 13: case 20:
      return lsql_err(err, LSQL_EINVAL, "%s: invalid input: %s", what, msg);
    case 0:
      return lsql_err(err, LSQL_EUNSUPPORTED, "%s: unsupported by the server: %s", what, msg);
    case 15: case 16:
      return lsql_err(err, LSQL_EPERM, "%s: permission denied (HTTP %ld from %s): %s", what,
                      http_status, url, msg);
    case -1:
      break;
    default:
      return lsql_err(err, LSQL_EREMOTE, "%s: HTTP %ld from %s: error %d: %s", what, http_status,
                      url, code, msg);
  }
  if (http_status == 404) return lsql_err(err, LSQL_ENOTFOUND, "%s not found (HTTP 404 from %s)", what, url);
  if (http_status == 401 || http_status == 403)
    return lsql_err(err, LSQL_EPERM, "%s: permission denied (HTTP %ld from %s)", what, http_status, url);
  return lsql_err(err, LSQL_EREMOTE, "%s: HTTP %ld from %s", what, http_status, url);
}

/* ---- connect -------------------------------------------------------------------------------- */

static int parse_long(const char *key, const char *v, long def, long lo, long hi, long *out,
                      lsql_error *err) {
  if (!v) return (*out = def), LSQL_OK;
  char *end;
  long x = strtol(v, &end, 10);
  if (!*v || *end || x < lo || x > hi)
    return lsql_err(err, LSQL_EINVAL, "rest namespace: property %s: '%s' is not an integer in [%ld, %ld]",
                    key, v, lo, hi);
  *out = x;
  return LSQL_OK;
}

static char *strip_userinfo(const char *uri) {
  const char *auth = strstr(uri, "://");
  if (!auth) return lsql_strdup(uri);
  auth += 3;
  const char *end = auth + strcspn(auth, "/?#"), *at = NULL;
  for (const char *p = auth; p < end; p++)
    if (*p == '@') at = p;
  if (!at) return lsql_strdup(uri);
  return lsql_sprintf("%.*s%s", (int)(auth - uri), uri, at + 1);
}

int lsql_ns_rest_connect(const char *const *props, lsql_namespace **out, lsql_error *err) {
  *out = NULL;
  const char *uri = lsql_kv_get(props, "uri");
  if (!uri || !*uri) return lsql_err(err, LSQL_EINVAL, "rest namespace: property 'uri' is required");
  if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
    return lsql_err(err, LSQL_EINVAL, "rest namespace: uri must start with http:// or https://");
  const char *delim = lsql_kv_get(props, "delimiter");
  if (delim && !*delim) return lsql_err(err, LSQL_EINVAL, "rest namespace: empty delimiter");
  rest_ns *r = lsql_calloc(1, sizeof *r);
  if (!r) return lsql_err_oom(err);
  long retries = 3;
  int rc = parse_long("timeout_ms", lsql_kv_get(props, "timeout_ms"), 30000, 1, 86400000L,
                      &r->timeout_ms, err);
  if (rc == LSQL_OK)
    rc = parse_long("connect_timeout_ms", lsql_kv_get(props, "connect_timeout_ms"), 10000, 1,
                    86400000L, &r->connect_timeout_ms, err);
  if (rc == LSQL_OK) rc = parse_long("retries", lsql_kv_get(props, "retries"), 3, 0, 20, &retries, err);
  r->retries = (int)retries;
  const char *ah = lsql_kv_get(props, "tls.assert_hostname");
  r->verify_host = !(ah && (strcasecmp(ah, "false") == 0 || strcmp(ah, "0") == 0));
  size_t ul = strlen(uri);
  while (ul > 0 && uri[ul - 1] == '/') ul--;
  if (rc == LSQL_OK && (!(r->uri = lsql_strndup(uri, ul)) || !(r->uri_safe = strip_userinfo(r->uri)) ||
                        !(r->delim = lsql_strdup(delim ? delim : "$"))))
    rc = lsql_err_oom(err);
  const char *tls[3][2] = {{"tls.ssl_ca_cert", NULL}, {"tls.cert_file", NULL}, {"tls.key_file", NULL}};
  char **tls_out[3] = {&r->ca_file, &r->cert_file, &r->key_file};
  for (size_t i = 0; rc == LSQL_OK && i < 3; i++)
    if ((tls[i][1] = lsql_kv_get(props, tls[i][0])) && !(*tls_out[i] = lsql_strdup(tls[i][1])))
      rc = lsql_err_oom(err);
  /* header.<Name> / headers.<Name> -> "Name: value" (names and values without CR/LF). */
  size_t nh = 0;
  if (rc == LSQL_OK && !(r->headers = lsql_calloc(lsql_strv_len(props) / 2 + 1, sizeof(char *))))
    rc = lsql_err_oom(err);
  for (size_t i = 0; rc == LSQL_OK && props && props[i] && props[i + 1]; i += 2) {
    const char *name = NULL;
    if (strncmp(props[i], "header.", 7) == 0) name = props[i] + 7;
    else if (strncmp(props[i], "headers.", 8) == 0) name = props[i] + 8;
    if (!name) continue;
    if (!*name || strpbrk(name, "\r\n: ") || strpbrk(props[i + 1], "\r\n")) {
      rc = lsql_err(err, LSQL_EINVAL, "rest namespace: invalid header property '%s'", props[i]);
      break;
    }
    if (!(r->headers[nh++] = lsql_sprintf("%s: %s", name, props[i + 1]))) rc = lsql_err_oom(err);
  }
  if (rc != LSQL_OK) {
    rest_destroy(r);
    return rc;
  }
  char **so = lsql_calloc(1, sizeof(char *));
  if (!so) {
    rest_destroy(r);
    return lsql_err_oom(err);
  }
  return lsql_ns_wrap(&rest_vtable, r, so, out, err);
}
