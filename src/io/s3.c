/* S3-compatible object store back end: libcurl + our own SigV4 signing (sigv4.c).
 * - configuration from Lance's storage option names (case-insensitive, with aliases) and AWS_*
 *   environment variables; path-style URLs unless virtual_hosted_style_request is set;
 * - HEAD for sizes, ranged GET, ListObjectsV2 with '/' delimiter and continuation tokens;
 * - bounded retries with exponential backoff and jitter on 5xx, 429 and transport errors;
 * - a per-store pool of easy handles (each keeps its connections alive) sharing DNS and TLS
 *   sessions, and a few worker threads for the ranges of lsql_rfile_read_ranges.
 * Secrets (secret key, session token) never appear in messages: errors name the location, the
 * HTTP status and S3's own Code/Message only. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "s3_internal.h"
#include "store_impl.h"

#define S3_COALESCE_GAP (1u << 20)     /* merge ranges closer than this (one request is ~ms) */
#define S3_PART_SIZE (8u << 20)        /* split larger reads into parts fetched in parallel */
#define S3_MAX_PARALLEL 8
#define S3_POOL_MAX 16
#define S3_ERRBODY_MAX 16384
#define S3_TAIL_SIZE (64u << 10)      /* the file tail fetched once (footers, small files) */
#define S3_SMALL_READ (64u << 10)     /* reads below this fetch a whole read-ahead window... */
#define S3_WINDOW (256u << 10)        /* ...of this size (a request costs latency, not bytes) */
#define S3_WINDOWS 4                  /* windows kept per file (concurrent column readers) */
#define S3_BACKOFF_INIT_MS 100
#define S3_BACKOFF_MAX_MS 15000

struct lsql_s3_store {
  char *root;          /* the location the store was opened with (messages only) */
  char *bucket;
  char *scheme;        /* "http" or "https" */
  char *hostport;      /* endpoint host[:port] */
  char *base_path;     /* endpoint path prefix without trailing '/' (usually "") */
  bool virtual_hosted;
  bool custom_endpoint;
  char *region, *key_id, *secret, *token;
  bool anonymous, insecure_tls;
  uint64_t connect_timeout_ms, request_timeout_ms, retry_timeout_ms;
  int max_retries;
  pthread_mutex_t mu;  /* guards pool */
  CURL *pool[S3_POOL_MAX];
  int npool;
  CURLSH *share;
  pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};
typedef struct lsql_s3_store s3_store;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- options ------------------------------------------------------------------------------ */

/* Case-insensitive lookup of any of `names` in a key/value list; empty values count as unset. */
static const char *opt_get(const char *const *kv, const char *const *names) {
  if (!kv) return NULL;
  for (const char *const *n = names; *n; n++)
    for (size_t i = 0; kv[i] && kv[i + 1]; i += 2)
      if (strcasecmp(kv[i], *n) == 0 && kv[i + 1][0]) return kv[i + 1];
  return NULL;
}

static const char *env_get(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static int parse_bool(const char *s, bool *out) {
  if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
    *out = true;
    return 0;
  }
  if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
    *out = false;
    return 0;
  }
  return -1;
}

int lsql_parse_duration_ms(const char *s, uint64_t *ms) {
  uint64_t total = 0;
  bool any = false;
  const char *p = s;
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    if (*p < '0' || *p > '9') return -1;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
      if (lsql_mul_overflow_u64(v, 10, &v) || lsql_add_overflow_u64(v, (uint64_t)(*p - '0'), &v))
        return -1;
      p++;
    }
    while (*p == ' ') p++;
    const char *u = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) p++;
    size_t ul = (size_t)(p - u);
    uint64_t mul_num = 1000, mul_den = 1; /* default unit: seconds */
#define UNIT(str) (ul == strlen(str) && strncasecmp(u, str, ul) == 0)
    if (ul == 0 || UNIT("s") || UNIT("sec") || UNIT("secs") || UNIT("second") || UNIT("seconds")) {
      if (ul == 0 && any) return -1; /* "1m30" is ambiguous */
    } else if (UNIT("ms") || UNIT("msec") || UNIT("millis")) {
      mul_num = 1;
    } else if (UNIT("us") || UNIT("usec")) {
      mul_num = 1, mul_den = 1000;
    } else if (UNIT("ns") || UNIT("nsec")) {
      mul_num = 1, mul_den = 1000000;
    } else if (UNIT("m") || UNIT("min") || UNIT("mins") || UNIT("minute") || UNIT("minutes")) {
      mul_num = 60000;
    } else if (UNIT("h") || UNIT("hr") || UNIT("hour") || UNIT("hours")) {
      mul_num = 3600000;
    } else {
      return -1;
    }
#undef UNIT
    if (lsql_mul_overflow_u64(v, mul_num, &v)) return -1;
    v /= mul_den;
    if (lsql_add_overflow_u64(total, v, &total)) return -1;
    any = true;
  }
  if (!any) return -1;
  *ms = total;
  return 0;
}

int lsql_s3_split(const char *loc, char **bucket, char **key, lsql_error *err) {
  *bucket = *key = NULL;
  if (strncmp(loc, "s3://", 5) != 0)
    return lsql_err(err, LSQL_EINVAL, "%s: not an s3:// location", loc);
  const char *b = loc + 5, *slash = strchr(b, '/');
  size_t bl = slash ? (size_t)(slash - b) : strlen(b);
  if (bl == 0) return lsql_err(err, LSQL_EINVAL, "%s: no bucket name in the location", loc);
  const char *k = slash ? slash : b + bl;
  while (*k == '/') k++;
  *bucket = lsql_strndup(b, bl);
  *key = lsql_strdup(k);
  if (!*bucket || !*key) {
    lsql_free(*bucket);
    lsql_free(*key);
    *bucket = *key = NULL;
    return lsql_err_oom(err);
  }
  return LSQL_OK;
}

static void s3_free(s3_store *s) {
  if (!s) return;
  for (int i = 0; i < s->npool; i++) curl_easy_cleanup(s->pool[i]);
  if (s->share) curl_share_cleanup(s->share);
  pthread_mutex_destroy(&s->mu);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_destroy(&s->share_mu[i]);
  if (s->secret) OPENSSL_cleanse(s->secret, strlen(s->secret));
  if (s->token) OPENSSL_cleanse(s->token, strlen(s->token));
  lsql_free(s->root);
  lsql_free(s->bucket);
  lsql_free(s->scheme);
  lsql_free(s->hostport);
  lsql_free(s->base_path);
  lsql_free(s->region);
  lsql_free(s->key_id);
  lsql_free(s->secret);
  lsql_free(s->token);
  lsql_free(s);
}

static void s3_destroy(lsql_store *st) { s3_free(st->impl); }

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u) {
  (void)h; (void)a;
  pthread_mutex_lock(&((s3_store *)u)->share_mu[d]);
}
static void share_unlock(CURL *h, curl_lock_data d, void *u) {
  (void)h;
  pthread_mutex_unlock(&((s3_store *)u)->share_mu[d]);
}

/* Parses the endpoint URL into scheme, host[:port] and a path prefix. */
static int set_endpoint(s3_store *s, const char *ep, bool allow_http, lsql_error *err) {
  const char *rest;
  if (strncasecmp(ep, "https://", 8) == 0) {
    rest = ep + 8;
    s->scheme = lsql_strdup("https");
  } else if (strncasecmp(ep, "http://", 7) == 0) {
    if (!allow_http)
      return lsql_err(err, LSQL_EINVAL,
                      "%s: endpoint %s uses plain HTTP: set the storage option allow_http=true",
                      s->root, ep);
    rest = ep + 7;
    s->scheme = lsql_strdup("http");
  } else {
    return lsql_err(err, LSQL_EINVAL, "%s: endpoint '%s' must start with http:// or https://",
                    s->root, ep);
  }
  const char *slash = strchr(rest, '/');
  size_t hl = slash ? (size_t)(slash - rest) : strlen(rest);
  if (hl == 0) return lsql_err(err, LSQL_EINVAL, "%s: endpoint '%s' has no host", s->root, ep);
  s->hostport = lsql_strndup(rest, hl);
  const char *path = slash ? slash : "";
  size_t pl = strlen(path);
  while (pl > 0 && path[pl - 1] == '/') pl--;
  s->base_path = lsql_strndup(path, pl);
  if (!s->scheme || !s->hostport || !s->base_path) return lsql_err_oom(err);
  return LSQL_OK;
}

static const char *const K_KEY_ID[] = {"aws_access_key_id", "access_key_id", NULL};
static const char *const K_SECRET[] = {"aws_secret_access_key", "secret_access_key", NULL};
static const char *const K_TOKEN[] = {"aws_session_token", "session_token", "aws_token", "token", NULL};
static const char *const K_REGION[] = {"aws_region", "region", "aws_default_region", NULL};
static const char *const K_ENDPOINT[] = {"aws_endpoint", "endpoint", "aws_endpoint_url", "endpoint_url", NULL};
static const char *const K_ALLOW_HTTP[] = {"allow_http", "aws_allow_http", NULL};
static const char *const K_VHOST[] = {"aws_virtual_hosted_style_request", "virtual_hosted_style_request", NULL};
static const char *const K_INSECURE[] = {"allow_invalid_certificates", "aws_allow_invalid_certificates", NULL};
static const char *const K_SKIP_SIG[] = {"aws_skip_signature", "skip_signature", NULL};
static const char *const K_CONNECT_TO[] = {"connect_timeout", NULL};
static const char *const K_REQUEST_TO[] = {"request_timeout", "timeout", NULL};
static const char *const K_RETRIES[] = {"client_max_retries", "max_retries", NULL};
static const char *const K_RETRY_TO[] = {"client_retry_timeout", "retry_timeout", NULL};

static int bool_opt(const char *const *kv, const char *const *names, const char *env, bool *out,
                    const char *root, lsql_error *err) {
  const char *v = opt_get(kv, names);
  if (!v && env) v = env_get(env);
  if (!v) return LSQL_OK;
  if (parse_bool(v, out) != 0)
    return lsql_err(err, LSQL_EINVAL, "%s: storage option %s: expected true or false, got '%s'", root,
                    names[0], v);
  return LSQL_OK;
}

static int duration_opt(const char *const *kv, const char *const *names, uint64_t *out,
                        const char *root, lsql_error *err) {
  const char *v = opt_get(kv, names);
  if (v && lsql_parse_duration_ms(v, out) != 0)
    return lsql_err(err, LSQL_EINVAL, "%s: storage option %s: invalid duration '%s' (e.g. 30s, 500ms, 5m)",
                    root, names[0], v);
  return LSQL_OK;
}

static int configure(s3_store *s, const char *const *kv, lsql_error *err) {
  /* Credentials: the options as a set, else the environment as a set (never a key id from one
   * place with a secret or token from the other). */
  const char *kid = opt_get(kv, K_KEY_ID), *sec = opt_get(kv, K_SECRET), *tok = opt_get(kv, K_TOKEN);
  if (!kid && !sec) {
    kid = env_get("AWS_ACCESS_KEY_ID");
    sec = env_get("AWS_SECRET_ACCESS_KEY");
    tok = tok ? tok : env_get("AWS_SESSION_TOKEN");
  }
  bool skip = false;
  LSQL_TRY(bool_opt(kv, K_SKIP_SIG, "AWS_SKIP_SIGNATURE", &skip, s->root, err));
  if (!skip) {
    if (!kid && !sec)
      return lsql_err(err, LSQL_EPERM,
                      "%s: no AWS credentials: set aws_access_key_id/aws_secret_access_key (storage "
                      "options) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (environment), or "
                      "skip_signature=true for a public bucket", s->root);
    if (!kid || !sec)
      return lsql_err(err, LSQL_EINVAL, "%s: incomplete AWS credentials: %s is set but %s is not",
                      s->root, kid ? "aws_access_key_id" : "aws_secret_access_key",
                      kid ? "aws_secret_access_key" : "aws_access_key_id");
    s->key_id = lsql_strdup(kid);
    s->secret = lsql_strdup(sec);
    if (tok) s->token = lsql_strdup(tok);
    if (!s->key_id || !s->secret || (tok && !s->token)) return lsql_err_oom(err);
  }
  s->anonymous = skip;

  const char *region = opt_get(kv, K_REGION);
  if (!region) region = env_get("AWS_REGION");
  if (!region) region = env_get("AWS_DEFAULT_REGION");
  s->region = lsql_strdup(region ? region : "us-east-1");
  if (!s->region) return lsql_err_oom(err);

  bool allow_http = false, vhost = false, insecure = false;
  LSQL_TRY(bool_opt(kv, K_ALLOW_HTTP, "AWS_ALLOW_HTTP", &allow_http, s->root, err));
  LSQL_TRY(bool_opt(kv, K_VHOST, "AWS_VIRTUAL_HOSTED_STYLE_REQUEST", &vhost, s->root, err));
  LSQL_TRY(bool_opt(kv, K_INSECURE, NULL, &insecure, s->root, err));
  s->virtual_hosted = vhost;
  s->insecure_tls = insecure;

  const char *ep = opt_get(kv, K_ENDPOINT);
  if (!ep) ep = env_get("AWS_ENDPOINT_URL");
  if (!ep) ep = env_get("AWS_ENDPOINT");
  if (ep) {
    s->custom_endpoint = true;
    LSQL_TRY(set_endpoint(s, ep, allow_http, err));
  } else {
    s->scheme = lsql_strdup("https");
    s->hostport = lsql_sprintf("s3.%s.amazonaws.com", s->region);
    s->base_path = lsql_strdup("");
    if (!s->scheme || !s->hostport || !s->base_path) return lsql_err_oom(err);
  }

  s->connect_timeout_ms = 5000;
  s->request_timeout_ms = 30000;
  s->retry_timeout_ms = 180000;
  s->max_retries = 10;
  LSQL_TRY(duration_opt(kv, K_CONNECT_TO, &s->connect_timeout_ms, s->root, err));
  LSQL_TRY(duration_opt(kv, K_REQUEST_TO, &s->request_timeout_ms, s->root, err));
  LSQL_TRY(duration_opt(kv, K_RETRY_TO, &s->retry_timeout_ms, s->root, err));
  const char *mr = opt_get(kv, K_RETRIES);
  if (mr) {
    char *end;
    long v = strtol(mr, &end, 10);
    if (*end || v < 0 || v > 100)
      return lsql_err(err, LSQL_EINVAL, "%s: storage option client_max_retries: invalid count '%s'",
                      s->root, mr);
    s->max_retries = (int)v;
  }
  return LSQL_OK;
}

int lsql_s3_store_open(const char *root, const char *const *options, lsql_store **out, lsql_error *err) {
  *out = NULL;
  pthread_once(&curl_once, curl_init_once);
  s3_store *s = lsql_calloc(1, sizeof *s);
  if (!s) return lsql_err_oom(err);
  pthread_mutex_init(&s->mu, NULL);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&s->share_mu[i], NULL);
  s->root = lsql_strdup(root);
  char *key = NULL;
  int rc = s->root ? lsql_s3_split(root, &s->bucket, &key, err) : lsql_err_oom(err);
  lsql_free(key);
  if (rc == LSQL_OK) rc = configure(s, options, err);
  if (rc == LSQL_OK) {
    s->share = curl_share_init();
    if (s->share) {
      curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
      curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
      curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
      curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
  }
  lsql_store *st = rc == LSQL_OK ? lsql_calloc(1, sizeof *st) : NULL;
  if (rc == LSQL_OK && !st) rc = lsql_err_oom(err);
  if (rc != LSQL_OK) {
    s3_free(s);
    return rc;
  }
  st->refs = 1;
  st->kind = LSQL_STORE_S3;
  st->impl = s;
  st->destroy = s3_destroy;
  *out = st;
  return LSQL_OK;
}

int lsql_s3_config(const lsql_store *st, lsql_s3_config_view *v) {
  if (!st || st->kind != LSQL_STORE_S3) return LSQL_EINVAL;
  const s3_store *s = st->impl;
  memset(v, 0, sizeof *v);
  v->bucket = s->bucket;
  v->region = s->region;
  v->endpoint = s->hostport;
  v->key_id = s->key_id;
  v->virtual_hosted = s->virtual_hosted;
  v->anonymous = s->anonymous;
  v->has_token = s->token != NULL;
  v->max_retries = s->max_retries;
  v->connect_timeout_ms = s->connect_timeout_ms;
  v->request_timeout_ms = s->request_timeout_ms;
  return LSQL_OK;
}

/* ---- URLs --------------------------------------------------------------------------------- */

void lsql_s3_url_free(lsql_s3_url *u) {
  lsql_free(u->url);
  lsql_free(u->host);
  lsql_free(u->canonical_uri);
  memset(u, 0, sizeof *u);
}

int lsql_s3_build_url(const s3_store *s, const char *key, const char *query, lsql_s3_url *u) {
  memset(u, 0, sizeof *u);
  lsql_buf path = LSQL_BUF_INIT;
  int rc = lsql_buf_append_str(&path, s->base_path);
  if (rc == LSQL_OK && !s->virtual_hosted) {
    rc = lsql_buf_append_str(&path, "/");
    if (rc == LSQL_OK) rc = lsql_s3_uri_encode(&path, s->bucket, strlen(s->bucket), false);
    if (rc == LSQL_OK && *key) rc = lsql_buf_append_str(&path, "/");
  } else if (rc == LSQL_OK) {
    rc = lsql_buf_append_str(&path, "/");
  }
  if (rc == LSQL_OK) rc = lsql_s3_uri_encode(&path, key, strlen(key), true);
  u->canonical_uri = rc == LSQL_OK ? lsql_buf_detach(&path) : NULL;
  lsql_buf_free(&path);
  /* the Host header omits the scheme's default port, as HTTP clients and servers expect */
  const char *hp = s->hostport;
  size_t hl = strlen(hp);
  const char *dport = strcmp(s->scheme, "https") == 0 ? ":443" : ":80";
  if (hl > strlen(dport) && strcmp(hp + hl - strlen(dport), dport) == 0) hl -= strlen(dport);
  if (s->virtual_hosted)
    u->host = lsql_sprintf("%s.%.*s", s->bucket, (int)hl, hp);
  else
    u->host = lsql_strndup(hp, hl);
  if (u->canonical_uri && u->host)
    u->url = lsql_sprintf("%s://%s%s%s%s%s", s->scheme, s->virtual_hosted ? s->bucket : "",
                          s->virtual_hosted ? "." : "", s->hostport, u->canonical_uri,
                          *query ? "?" : "");
  if (u->url && *query) {
    char *full = lsql_sprintf("%s%s", u->url, query);
    lsql_free(u->url);
    u->url = full;
  }
  if (!u->canonical_uri || !u->host || !u->url) {
    lsql_s3_url_free(u);
    return LSQL_ENOMEM;
  }
  return LSQL_OK;
}

/* ---- one HTTP exchange -------------------------------------------------------------------- */

typedef struct s3_xfer {
  /* request */
  const char *method;
  bool ranged;
  uint64_t off, len;
  uint8_t *dst;        /* fixed destination of a ranged read; NULL: collect into body */
  /* response */
  long status;
  uint64_t got, skipped;
  bool overflow, done_early;
  lsql_buf body;       /* the body (dst == NULL) or an error body */
  uint64_t content_length;
  bool have_length;
  char region_hdr[64];
  char s3code[64];
} s3_xfer;

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  s3_xfer *x = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
    const char *sp = memchr(buf, ' ', len);
    x->status = 0;
    if (sp) {
      for (const char *p = sp + 1; p < buf + len && *p >= '0' && *p <= '9' && x->status < 1000; p++)
        x->status = x->status * 10 + (*p - '0');
    }
    x->have_length = false;
    x->region_hdr[0] = '\0';
    return len;
  }
  const char *colon = memchr(buf, ':', len);
  if (!colon) return len;
  size_t nl = (size_t)(colon - buf);
  const char *v = colon + 1, *e = buf + len;
  while (v < e && (*v == ' ' || *v == '\t')) v++;
  while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
  if (nl == 14 && strncasecmp(buf, "content-length", 14) == 0) {
    uint64_t cl = 0;
    bool ok = v < e;
    for (const char *p = v; p < e && ok; p++)
      ok = *p >= '0' && *p <= '9' && !lsql_mul_overflow_u64(cl, 10, &cl) &&
           !lsql_add_overflow_u64(cl, (uint64_t)(*p - '0'), &cl);
    x->have_length = ok;
    x->content_length = ok ? cl : 0;
  } else if (nl == 19 && strncasecmp(buf, "x-amz-bucket-region", 19) == 0) {
    size_t l = LSQL_MIN((size_t)(e - v), sizeof x->region_hdr - 1);
    memcpy(x->region_hdr, v, l);
    x->region_hdr[l] = '\0';
  }
  return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  s3_xfer *x = ud;
  size_t len = size * n;
  if (x->status < 200 || x->status >= 300) { /* error document: keep the start of it */
    size_t room = S3_ERRBODY_MAX - LSQL_MIN(x->body.len, (size_t)S3_ERRBODY_MAX);
    if (room && lsql_buf_append(&x->body, data, LSQL_MIN(room, len)) != LSQL_OK) return 0;
    return len;
  }
  if (!x->dst) return lsql_buf_append(&x->body, data, len) == LSQL_OK ? len : 0;
  const char *p = data;
  size_t m = len;
  if (x->ranged && x->status == 200 && x->skipped < x->off) {
    /* the server ignored Range and sends the whole object: drop the bytes before off */
    size_t take = (size_t)LSQL_MIN((uint64_t)m, x->off - x->skipped);
    x->skipped += take;
    p += take;
    m -= take;
  }
  uint64_t room = x->len - x->got;
  if (m > room) {
    if (x->ranged && x->status == 200) {
      memcpy(x->dst + x->got, p, (size_t)room);
      x->got += room;
      x->done_early = true; /* we have our bytes; stop the transfer */
    } else {
      x->overflow = true;
    }
    return 0;
  }
  memcpy(x->dst + x->got, p, m);
  x->got += m;
  return len;
}

static CURL *pool_get(s3_store *s) {
  pthread_mutex_lock(&s->mu);
  CURL *h = s->npool ? s->pool[--s->npool] : NULL;
  pthread_mutex_unlock(&s->mu);
  return h ? h : curl_easy_init();
}

static void pool_put(s3_store *s, CURL *h) {
  pthread_mutex_lock(&s->mu);
  if (s->npool < S3_POOL_MAX) {
    s->pool[s->npool++] = h;
    h = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  if (h) curl_easy_cleanup(h);
}

static bool retryable_curl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR: case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

static void sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
}

/* Signs and performs one attempt. */
static CURLcode attempt(s3_store *s, CURL *h, const lsql_s3_url *u, s3_xfer *x, char *errbuf,
                        int *oom) {
  char amz_date[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
  char range[64] = "";
  if (x->ranged)
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)x->off,
             (unsigned long long)(x->off + x->len - 1));
  lsql_s3_header hs[5];
  size_t nh = 0;
  hs[nh++] = (lsql_s3_header){"host", u->host};
  if (x->ranged) hs[nh++] = (lsql_s3_header){"range", range};
  hs[nh++] = (lsql_s3_header){"x-amz-content-sha256", LSQL_EMPTY_SHA256};
  hs[nh++] = (lsql_s3_header){"x-amz-date", amz_date};
  if (s->token) hs[nh++] = (lsql_s3_header){"x-amz-security-token", s->token};

  struct curl_slist *hdrs = NULL, *t;
  char *auth = NULL;
  *oom = 0;
  if (!s->anonymous) {
    const char *q = strchr(u->url, '?');
    lsql_sigv4_request rq = {x->method, u->canonical_uri, q ? q + 1 : "", hs, nh,
                             LSQL_EMPTY_SHA256, amz_date, s->region, "s3"};
    char sig[65];
    if (lsql_sigv4_sign(&rq, s->key_id, s->secret, sig, &auth, NULL, NULL) != LSQL_OK) {
      *oom = 1;
      return CURLE_OUT_OF_MEMORY;
    }
  }
  for (size_t i = 0; i < nh + 1; i++) {
    char *line;
    if (i == nh) {
      if (!auth) break;
      line = lsql_sprintf("Authorization: %s", auth);
    } else if (s->anonymous && strncmp(hs[i].name, "x-amz-", 6) == 0) {
      continue;
    } else {
      line = lsql_sprintf("%s: %s", hs[i].name, hs[i].value);
    }
    t = line ? curl_slist_append(hdrs, line) : NULL;
    if (line) {
      OPENSSL_cleanse(line, strlen(line)); /* may hold the session token */
      lsql_free(line);
    }
    if (!t) {
      *oom = 1;
      curl_slist_free_all(hdrs);
      lsql_free(auth);
      return CURLE_OUT_OF_MEMORY;
    }
    hdrs = t;
  }
  lsql_free(auth);

  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, u->url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)s->request_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "lancesql/" LSQL_S3_VERSION);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
  if (s->share) curl_easy_setopt(h, CURLOPT_SHARE, s->share);
  if (strcmp(x->method, "HEAD") == 0) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (s->insecure_tls) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  errbuf[0] = '\0';
  CURLcode c = curl_easy_perform(h);
  curl_slist_free_all(hdrs);
  return c;
}

static void xfer_reset(s3_xfer *x) {
  x->status = 0;
  x->got = x->skipped = 0;
  x->overflow = x->done_early = false;
  x->body.len = 0;
  x->have_length = false;
  x->content_length = 0;
  x->region_hdr[0] = x->s3code[0] = '\0';
}

/* Maps a final non-2xx reply to a status and message. */
static int http_error(s3_store *s, const char *loc, s3_xfer *x, lsql_error *err) {
  char msg[200], region[64];
  const char *xml = (const char *)x->body.data;
  size_t xl = x->body.len;
  lsql_s3_xml_text(xml, xl, "Code", x->s3code, sizeof x->s3code);
  lsql_s3_xml_text(xml, xl, "Message", msg, sizeof msg);
  lsql_s3_xml_text(xml, xl, "Region", region, sizeof region);
  if (!region[0] && x->region_hdr[0]) snprintf(region, sizeof region, "%s", x->region_hdr);
  const char *code = x->s3code;
  char detail[300];
  if (code[0])
    snprintf(detail, sizeof detail, "%s%s%s", code, msg[0] ? ": " : "", msg);
  else
    snprintf(detail, sizeof detail, "HTTP %ld", x->status);
  bool region_err = strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
                    strcmp(code, "PermanentRedirect") == 0 ||
                    strcmp(code, "IllegalLocationConstraintException") == 0 ||
                    x->status == 301 ||
                    (region[0] && strcmp(region, s->region) != 0 && (x->status == 400 || x->status == 307));
  if (region_err) {
    if (region[0] && strcmp(region, s->region) != 0)
      return lsql_err(err, LSQL_EINVAL,
                      "%s: wrong region: bucket '%s' is in '%s' but the store uses '%s'; set the "
                      "storage option aws_region=%s (%s)", loc, s->bucket, region, s->region, region,
                      detail);
    return lsql_err(err, LSQL_EINVAL,
                    "%s: wrong region or endpoint for bucket '%s' (store region '%s'): set aws_region "
                    "or aws_endpoint (%s)", loc, s->bucket, s->region, detail);
  }
  switch (x->status) {
    case 404:
      if (strcmp(code, "NoSuchBucket") == 0)
        return lsql_err(err, LSQL_ENOTFOUND, "%s: bucket '%s' does not exist (NoSuchBucket)", loc,
                        s->bucket);
      return lsql_err(err, LSQL_ENOTFOUND, "%s: not found", loc);
    case 401:
    case 403:
      return lsql_err(err, LSQL_EPERM, "%s: access denied (%s)", loc, detail);
    case 416:
      return lsql_err(err, LSQL_ECORRUPT, "%s: requested range is past the end of the object (%s)",
                      loc, detail);
    default:
      return lsql_err(err, LSQL_EREMOTE, "%s: S3 %s failed with HTTP %ld (%s)", loc, x->method,
                      x->status, detail);
  }
}

/* LSQL_IO_TRACE=1 prints one line per S3 request to stderr (no headers, so no secrets). */
static bool trace_enabled(void) {
  const char *e = getenv("LSQL_IO_TRACE");
  return e && *e && strcmp(e, "0") != 0;
}

/* Performs a request with retries. `loc` names the object in messages. */
static int s3_request(lsql_store *st, const char *key, const char *query, s3_xfer *x,
                      const char *loc, lsql_error *err) {
  s3_store *s = st->impl;
  lsql_s3_url u;
  if (lsql_s3_build_url(s, key, query, &u) != LSQL_OK) return lsql_err_oom(err);
  uint64_t t0 = lsql_now_ns();
  CURLcode c = CURLE_OK;
  char errbuf[CURL_ERROR_SIZE];
  int rc = LSQL_OK, tries = 0;
  for (;;) {
    xfer_reset(x);
    CURL *h = pool_get(s);
    if (!h) {
      rc = lsql_err_oom(err);
      break;
    }
    int oom = 0;
    c = attempt(s, h, &u, x, errbuf, &oom);
    pool_put(s, h);
    tries++;
    if (trace_enabled())
      fprintf(stderr, "lancesql s3: %s %s%s%s range=%llu+%llu -> %ld%s%s\n", x->method, s->bucket,
              *key ? "/" : "", key, x->ranged ? (unsigned long long)x->off : 0ull,
              x->ranged ? (unsigned long long)x->len : 0ull, x->status, *query ? " ?" : "", query);
    atomic_fetch_add(&st->stats.requests, 1);
    lsql_io_count_global(1, 0);
    if (oom) {
      rc = lsql_err_oom(err);
      break;
    }
    bool retry;
    if (c == CURLE_WRITE_ERROR && x->done_early) c = CURLE_OK;
    if (c != CURLE_OK)
      retry = retryable_curl(c);
    else
      retry = x->status >= 500 || x->status == 429;
    if (retry && tries <= s->max_retries) {
      uint64_t backoff = S3_BACKOFF_INIT_MS << LSQL_MIN(tries - 1, 20);
      if (backoff > S3_BACKOFF_MAX_MS) backoff = S3_BACKOFF_MAX_MS;
      backoff = backoff / 2 + (lsql_now_ns() / 1000) % (backoff / 2 + 1); /* jitter */
      uint64_t elapsed_ms = (lsql_now_ns() - t0) / 1000000;
      if (elapsed_ms + backoff <= s->retry_timeout_ms) {
        atomic_fetch_add(&st->stats.retries, 1);
        sleep_ms(backoff);
        continue;
      }
    }
    break;
  }
  lsql_s3_url_free(&u);
  if (rc != LSQL_OK) return rc;
  if (c != CURLE_OK) {
    if (c == CURLE_WRITE_ERROR && x->overflow)
      return lsql_err(err, LSQL_ECORRUPT, "%s: the server sent more bytes than requested", loc);
    if (c == CURLE_WRITE_ERROR)
      return lsql_err_oom(err);
    return lsql_err(err, LSQL_EIO, "%s: S3 %s failed after %d attempt%s: %s%s%s", loc, x->method,
                    tries, tries == 1 ? "" : "s", curl_easy_strerror(c), errbuf[0] ? ": " : "",
                    errbuf);
  }
  if (x->status < 200 || x->status >= 300) {
    rc = http_error(s, loc, x, err);
    if (x->status >= 500 || x->status == 429)
      lsql_error_prefix(err, "after %d attempt%s: ", tries, tries == 1 ? "" : "s");
    return rc;
  }
  return LSQL_OK;
}

/* ---- the store entry points --------------------------------------------------------------- */

/* The key of `path` inside the store's bucket (caller frees). */
static int key_of(lsql_store *st, const char *path, char **key, lsql_error *err) {
  s3_store *s = st->impl;
  char *bucket;
  LSQL_TRY(lsql_s3_split(path, &bucket, key, err));
  int same = strcmp(bucket, s->bucket) == 0;
  lsql_free(bucket);
  if (!same) {
    lsql_free(*key);
    *key = NULL;
    return lsql_err(err, LSQL_EINVAL, "%s: outside the store's bucket '%s'", path, s->bucket);
  }
  return LSQL_OK;
}

/* An open S3 object. Readers start with the footer at the end of a file and then read it in
 * small pieces; the last S3_TAIL_SIZE bytes (or the whole small file) are fetched once, on the
 * first read that falls inside them, and served from memory afterwards. */
typedef struct s3_file {
  char *key;
  pthread_mutex_t mu; /* guards tail */
  uint8_t *tail;      /* NULL until loaded */
  uint64_t tail_off;
  struct {            /* read-ahead windows for small reads; guarded by mu */
    uint8_t *data;
    uint64_t off, len, used;
    bool loading;     /* being fetched; data is NULL */
  } win[S3_WINDOWS];
  pthread_cond_t cv;  /* signalled when a window finishes loading */
  uint64_t clock;
} s3_file;

int lsql_s3_rfile_open(lsql_store *st, const char *path, uint64_t size_hint, lsql_rfile **out,
                       lsql_error *err) {
  *out = NULL;
  char *key;
  LSQL_TRY(key_of(st, path, &key, err));
  if (!*key) {
    lsql_free(key);
    return lsql_err(err, LSQL_EINVAL, "%s: not an object (no key)", path);
  }
  uint64_t size = size_hint;
  if (size == 0) {
    s3_xfer x = {0};
    x.method = "HEAD";
    int rc = s3_request(st, key, "", &x, path, err);
    lsql_buf_free(&x.body);
    if (rc == LSQL_OK && !x.have_length)
      rc = lsql_err(err, LSQL_ECORRUPT, "%s: HEAD reply without Content-Length", path);
    if (rc != LSQL_OK) {
      lsql_free(key);
      return rc;
    }
    size = x.content_length;
  }
  lsql_rfile *f = lsql_calloc(1, sizeof *f);
  s3_file *sf = lsql_calloc(1, sizeof *sf);
  char *p = lsql_strdup(path);
  if (!f || !p || !sf) {
    lsql_free(f);
    lsql_free(sf);
    lsql_free(p);
    lsql_free(key);
    return lsql_err_oom(err);
  }
  sf->key = key;
  pthread_mutex_init(&sf->mu, NULL);
  pthread_cond_init(&sf->cv, NULL);
  f->path = p;
  f->size = size;
  f->fd = -1;
  f->impl = sf;
  f->store = lsql_store_ref(st);
  *out = f;
  return LSQL_OK;
}

void lsql_s3_rfile_close(lsql_rfile *f) {
  s3_file *sf = f->impl;
  if (sf) {
    pthread_mutex_destroy(&sf->mu);
    pthread_cond_destroy(&sf->cv);
    lsql_free(sf->key);
    lsql_free(sf->tail);
    for (int i = 0; i < S3_WINDOWS; i++) lsql_free(sf->win[i].data);
    lsql_free(sf);
  }
  f->impl = NULL;
}

typedef struct s3_part {
  uint64_t off, len;
  uint8_t *dst;
} s3_part;

static int read_part(lsql_rfile *f, const s3_part *p, lsql_error *err) {
  s3_xfer x = {0};
  x.method = "GET";
  x.ranged = true;
  x.off = p->off;
  x.len = p->len;
  x.dst = p->dst;
  int rc = s3_request(f->store, ((s3_file *)f->impl)->key, "", &x, f->path, err);
  lsql_buf_free(&x.body);
  if (rc == LSQL_OK && x.got != p->len)
    rc = lsql_err(err, LSQL_ECORRUPT, "%s: short read: %llu of %llu bytes at offset %llu", f->path,
                  (unsigned long long)x.got, (unsigned long long)p->len, (unsigned long long)p->off);
  if (rc == LSQL_OK) {
    atomic_fetch_add(&f->store->stats.bytes, p->len);
    lsql_io_count_global(0, p->len);
  }
  return rc;
}

typedef struct s3_job {
  lsql_rfile *f;
  s3_part *parts;
  size_t n;
  _Atomic size_t next;
  _Atomic int failed;
  pthread_mutex_t mu;
  lsql_error err;
  int rc;
} s3_job;

static void *worker(void *arg) {
  s3_job *j = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&j->next, 1);
    if (i >= j->n || atomic_load(&j->failed)) break;
    lsql_error e = {0};
    int rc = read_part(j->f, &j->parts[i], &e);
    if (rc != LSQL_OK) {
      pthread_mutex_lock(&j->mu);
      if (j->rc == LSQL_OK) {
        j->rc = rc;
        j->err = e;
      }
      pthread_mutex_unlock(&j->mu);
      atomic_store(&j->failed, 1);
    }
  }
  return NULL;
}

static int run_parts(lsql_rfile *f, s3_part *parts, size_t n, lsql_error *err) {
  if (n == 1) return read_part(f, &parts[0], err);
  s3_job j = {.f = f, .parts = parts, .n = n, .rc = LSQL_OK};
  atomic_init(&j.next, 0);
  atomic_init(&j.failed, 0);
  pthread_mutex_init(&j.mu, NULL);
  pthread_t th[S3_MAX_PARALLEL - 1];
  size_t nth = 0, want = LSQL_MIN(n, (size_t)S3_MAX_PARALLEL) - 1;
  while (nth < want && pthread_create(&th[nth], NULL, worker, &j) == 0) nth++;
  worker(&j); /* the calling thread works too (and alone if no thread could start) */
  for (size_t i = 0; i < nth; i++) pthread_join(th[i], NULL);
  pthread_mutex_destroy(&j.mu);
  if (j.rc != LSQL_OK && err) *err = j.err;
  return j.rc;
}

static int cmp_range_off(const void *a, const void *b) {
  const lsql_range *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Serves the ranges from the cached tail when they all fall inside it (loading it on first use).
 * Returns 1 when served, 0 when the ranges must be fetched, or a negative value on failure. */
static int from_tail(lsql_rfile *f, lsql_range *r, size_t n, lsql_error *err, int *rc) {
  s3_file *sf = f->impl;
  uint64_t toff = f->size > S3_TAIL_SIZE ? f->size - S3_TAIL_SIZE : 0;
  for (size_t i = 0; i < n; i++)
    if (r[i].len && r[i].off < toff) return 0;
  pthread_mutex_lock(&sf->mu);
  if (!sf->tail) {
    uint8_t *t = lsql_malloc((size_t)(f->size - toff) + 1);
    if (!t) {
      pthread_mutex_unlock(&sf->mu);
      *rc = lsql_err_oom(err);
      return -1;
    }
    s3_part p = {toff, f->size - toff, t};
    *rc = f->size > toff ? read_part(f, &p, err) : LSQL_OK;
    if (*rc != LSQL_OK) {
      lsql_free(t);
      pthread_mutex_unlock(&sf->mu);
      return -1;
    }
    sf->tail = t;
    sf->tail_off = toff;
  }
  pthread_mutex_unlock(&sf->mu);
  /* the tail never changes once set, so copying outside the lock is safe */
  for (size_t i = 0; i < n; i++)
    if (r[i].len) memcpy(r[i].dst, sf->tail + (r[i].off - sf->tail_off), (size_t)r[i].len);
  return 1;
}

/* Copies [off, off+len) from a cached window if one holds it (caller holds sf->mu). */
static bool window_copy(s3_file *sf, uint64_t off, uint64_t len, void *dst) {
  for (int i = 0; i < S3_WINDOWS; i++) {
    if (sf->win[i].data && off >= sf->win[i].off && off + len <= sf->win[i].off + sf->win[i].len) {
      memcpy(dst, sf->win[i].data + (off - sf->win[i].off), (size_t)len);
      sf->win[i].used = ++sf->clock;
      return true;
    }
  }
  return false;
}

/* A small read: served from (or through) a read-ahead window, since readers walk pages in many
 * small dependent reads and each request costs a round trip. Windows start at a 64 KiB boundary
 * so neighbouring reads share one; a read covered by a window being fetched waits for it. */
static int small_read(lsql_rfile *f, uint64_t off, uint64_t len, void *dst, lsql_error *err) {
  s3_file *sf = f->impl;
  uint64_t start = off & ~(uint64_t)(S3_SMALL_READ - 1);
  uint64_t wlen = LSQL_MIN((uint64_t)S3_WINDOW, f->size - start);
  pthread_mutex_lock(&sf->mu);
  for (;;) {
    if (window_copy(sf, off, len, dst)) {
      pthread_mutex_unlock(&sf->mu);
      return LSQL_OK;
    }
    bool wait = false;
    for (int i = 0; i < S3_WINDOWS; i++)
      wait |= sf->win[i].loading && off >= sf->win[i].off && off + len <= sf->win[i].off + sf->win[i].len;
    if (!wait) break;
    pthread_cond_wait(&sf->cv, &sf->mu);
  }
  int victim = -1;
  for (int i = 0; i < S3_WINDOWS; i++)
    if (!sf->win[i].loading && (victim < 0 || sf->win[i].used < sf->win[victim].used)) victim = i;
  if (victim >= 0) {
    lsql_free(sf->win[victim].data);
    sf->win[victim].data = NULL;
    sf->win[victim].off = start;
    sf->win[victim].len = wlen;
    sf->win[victim].loading = true;
  }
  pthread_mutex_unlock(&sf->mu);
  /* fetched without the lock: other readers go on */
  uint8_t *w = lsql_malloc((size_t)wlen);
  s3_part p = {start, wlen, w};
  int rc = w ? read_part(f, &p, err) : lsql_err_oom(err);
  if (rc == LSQL_OK) memcpy(dst, w + (off - start), (size_t)len);
  if (victim >= 0) {
    pthread_mutex_lock(&sf->mu);
    sf->win[victim].loading = false;
    if (rc == LSQL_OK) {
      sf->win[victim].data = w;
      sf->win[victim].used = ++sf->clock;
      w = NULL;
    }
    pthread_cond_broadcast(&sf->cv);
    pthread_mutex_unlock(&sf->mu);
  }
  lsql_free(w);
  return rc;
}

int lsql_s3_rfile_read_ranges(lsql_rfile *f, lsql_range *ranges, size_t n, lsql_error *err) {
  for (size_t i = 0; i < n; i++)
    if (lsql_range_bad(ranges[i].off, ranges[i].len, f->size))
      return lsql_err(err, LSQL_ECORRUPT, "%s: read of %llu bytes at %llu is past the end (%llu bytes)",
                      f->path, (unsigned long long)ranges[i].len, (unsigned long long)ranges[i].off,
                      (unsigned long long)f->size);
  int trc = LSQL_OK, served = from_tail(f, ranges, n, err, &trc);
  if (served != 0) return served > 0 ? LSQL_OK : trc;
  /* Sort a copy, group ranges closer than the gap into one span, then cut spans into parts of
   * at most S3_PART_SIZE; parts are fetched in parallel. A span holding a single range is read
   * straight into its destination; others go through a temporary buffer. */
  lsql_range *r = lsql_malloc(n * sizeof *r);
  if (!r) return lsql_err_oom(err);
  size_t m = 0;
  s3_file *sf = f->impl;
  pthread_mutex_lock(&sf->mu);
  for (size_t i = 0; i < n; i++) {
    const lsql_range *q = &ranges[i];
    if (!q->len) continue;
    if (sf->tail && q->off >= sf->tail_off) /* the tail runs to the end of the file */
      memcpy(q->dst, sf->tail + (q->off - sf->tail_off), (size_t)q->len);
    else if (!window_copy(sf, q->off, q->len, q->dst))
      r[m++] = *q;
  }
  pthread_mutex_unlock(&sf->mu);
  if (m == 0 || (m == 1 && r[0].len < S3_SMALL_READ)) {
    int rc2 = m ? small_read(f, r[0].off, r[0].len, r[0].dst, err) : LSQL_OK;
    lsql_free(r);
    return rc2;
  }
  qsort(r, m, sizeof *r, cmp_range_off);
  typedef struct span { uint64_t off, end; size_t first, last; uint8_t *buf; } span;
  span *sp = lsql_malloc(m * sizeof *sp);
  s3_part *parts = NULL;
  int rc = sp ? LSQL_OK : lsql_err_oom(err);
  size_t ns = 0, np = 0, cap = 0;
  for (size_t i = 0; i < m && rc == LSQL_OK;) {
    size_t j = i + 1;
    uint64_t end = r[i].off + r[i].len;
    while (j < m && r[j].off <= end + S3_COALESCE_GAP) {
      if (r[j].off + r[j].len > end) end = r[j].off + r[j].len;
      j++;
    }
    span *s = &sp[ns++];
    s->off = r[i].off;
    s->end = end;
    s->first = i;
    s->last = j;
    if (j == i + 1) {
      s->buf = r[i].dst;
    } else if (end - s->off > SIZE_MAX || !(s->buf = lsql_malloc((size_t)(end - s->off)))) {
      ns--;
      rc = lsql_err_oom(err);
      break;
    }
    for (uint64_t o = s->off; o < end && rc == LSQL_OK; o += S3_PART_SIZE) {
      if (np == cap) {
        size_t nc = cap ? cap * 2 : 16;
        s3_part *np2 = lsql_realloc(parts, nc * sizeof *np2);
        if (!np2) {
          rc = lsql_err_oom(err);
          break;
        }
        parts = np2;
        cap = nc;
      }
      parts[np++] = (s3_part){o, LSQL_MIN((uint64_t)S3_PART_SIZE, end - o), s->buf + (o - s->off)};
    }
    i = j;
  }
  if (rc == LSQL_OK) rc = run_parts(f, parts, np, err);
  for (size_t k = 0; k < ns; k++) {
    if (sp[k].last == sp[k].first + 1) continue;
    for (size_t q = sp[k].first; q < sp[k].last && rc == LSQL_OK; q++)
      memcpy(r[q].dst, sp[k].buf + (r[q].off - sp[k].off), (size_t)r[q].len);
    lsql_free(sp[k].buf);
  }
  lsql_free(parts);
  lsql_free(sp);
  lsql_free(r);
  return rc;
}

int lsql_s3_rfile_read(lsql_rfile *f, uint64_t off, uint64_t len, void *dst, lsql_error *err) {
  if (len == 0) return LSQL_OK;
  lsql_range r = {off, len, dst};
  return lsql_s3_rfile_read_ranges(f, &r, 1, err);
}

int lsql_s3_read_all(lsql_store *st, const char *path, uint8_t **data, size_t *len, lsql_error *err) {
  *data = NULL;
  *len = 0;
  char *key;
  LSQL_TRY(key_of(st, path, &key, err));
  s3_xfer x = {0};
  x.method = "GET";
  int rc = s3_request(st, key, "", &x, path, err);
  lsql_free(key);
  if (rc != LSQL_OK) {
    lsql_buf_free(&x.body);
    return rc;
  }
  if (x.have_length && x.content_length != x.body.len) {
    lsql_buf_free(&x.body);
    return lsql_err(err, LSQL_ECORRUPT, "%s: got %zu of %llu bytes", path, x.body.len,
                    (unsigned long long)x.content_length);
  }
  *len = x.body.len;
  atomic_fetch_add(&st->stats.bytes, x.body.len);
  lsql_io_count_global(0, x.body.len);
  if (lsql_buf_reserve(&x.body, 1) != LSQL_OK) {
    lsql_buf_free(&x.body);
    return lsql_err_oom(err);
  }
  *data = x.body.data;
  return LSQL_OK;
}

/* One ListObjectsV2 page. */
static int list_page(lsql_store *st, const char *prefix, const char *token, int max_keys,
                     const char *loc, lsql_s3_list_page *pg, lsql_error *err) {
  /* parameters in canonical (sorted) order */
  lsql_buf q = LSQL_BUF_INIT;
  int rc = LSQL_OK;
  if (token) {
    rc = lsql_buf_append_str(&q, "continuation-token=");
    if (rc == LSQL_OK) rc = lsql_s3_uri_encode(&q, token, strlen(token), false);
    if (rc == LSQL_OK) rc = lsql_buf_append_str(&q, "&");
  }
  if (rc == LSQL_OK) rc = lsql_buf_append_str(&q, "delimiter=%2F&list-type=2&");
  if (rc == LSQL_OK && max_keys > 0) rc = lsql_buf_appendf(&q, "max-keys=%d&", max_keys);
  if (rc == LSQL_OK) rc = lsql_buf_append_str(&q, "prefix=");
  if (rc == LSQL_OK) rc = lsql_s3_uri_encode(&q, prefix, strlen(prefix), false);
  char *query = rc == LSQL_OK ? lsql_buf_detach(&q) : NULL;
  lsql_buf_free(&q);
  if (!query) return lsql_err_oom(err);
  s3_xfer x = {0};
  x.method = "GET";
  rc = s3_request(st, "", query, &x, loc, err);
  lsql_free(query);
  if (rc == LSQL_OK) {
    rc = lsql_s3_parse_list((const char *)x.body.data, x.body.len, pg, err);
    if (rc != LSQL_OK) lsql_error_prefix(err, "%s: ", loc);
  }
  lsql_buf_free(&x.body);
  return rc;
}

int lsql_s3_exists(lsql_store *st, const char *path, int *exists, lsql_error *err) {
  *exists = 0;
  char *key;
  LSQL_TRY(key_of(st, path, &key, err));
  int rc = LSQL_OK;
  size_t kl = strlen(key);
  while (kl > 0 && key[kl - 1] == '/') key[--kl] = '\0';
  if (kl > 0) {
    s3_xfer x = {0};
    x.method = "HEAD";
    lsql_error e = {0};
    rc = s3_request(st, key, "", &x, path, &e);
    lsql_buf_free(&x.body);
    if (rc == LSQL_OK) {
      *exists = 1;
      lsql_free(key);
      return LSQL_OK;
    }
    if (rc != LSQL_ENOTFOUND) {
      lsql_free(key);
      if (err) *err = e;
      return rc;
    }
  }
  /* Not an object: a "directory" exists when some key starts with "path/" (one short listing,
   * which also tells a missing bucket apart). */
  char *prefix = kl ? lsql_sprintf("%s/", key) : lsql_strdup("");
  lsql_free(key);
  if (!prefix) return lsql_err_oom(err);
  lsql_s3_list_page pg;
  rc = list_page(st, prefix, NULL, 1, path, &pg, err);
  lsql_free(prefix);
  if (rc != LSQL_OK) return rc;
  *exists = pg.n_keys + pg.n_prefixes > 0 || kl == 0;
  lsql_s3_list_page_free(&pg);
  return LSQL_OK;
}

static int cmp_ent(const void *a, const void *b) {
  return strcmp(((const lsql_dirent *)a)->name, ((const lsql_dirent *)b)->name);
}

static int add_ent(lsql_dirent **ents, size_t *n, size_t *cap, const char *name, size_t nl,
                   uint64_t size, int is_dir) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 32;
    lsql_dirent *ne = lsql_realloc(*ents, nc * sizeof *ne);
    if (!ne) return LSQL_ENOMEM;
    *ents = ne;
    *cap = nc;
  }
  char *s = lsql_strndup(name, nl);
  if (!s) return LSQL_ENOMEM;
  (*ents)[*n] = (lsql_dirent){s, is_dir ? 0 : size, is_dir};
  (*n)++;
  return LSQL_OK;
}

int lsql_s3_list(lsql_store *st, const char *dir, lsql_dirent **out, size_t *n_out, lsql_error *err) {
  *out = NULL;
  *n_out = 0;
  char *key;
  LSQL_TRY(key_of(st, dir, &key, err));
  size_t kl = strlen(key);
  while (kl > 0 && key[kl - 1] == '/') key[--kl] = '\0';
  char *prefix = kl ? lsql_sprintf("%s/", key) : lsql_strdup("");
  lsql_free(key);
  if (!prefix) return lsql_err_oom(err);
  size_t pl = strlen(prefix);
  lsql_dirent *ents = NULL;
  size_t n = 0, cap = 0;
  char *token = NULL;
  int rc = LSQL_OK;
  for (int pages = 0;; pages++) {
    lsql_s3_list_page pg;
    rc = list_page(st, prefix, token, 0, dir, &pg, err);
    if (rc != LSQL_OK) break;
    for (size_t i = 0; i < pg.n_keys && rc == LSQL_OK; i++) {
      const char *k = pg.keys[i];
      if (strncmp(k, prefix, pl) != 0) continue; /* not ours: ignore rather than trust */
      const char *name = k + pl;
      if (!*name || strchr(name, '/')) continue; /* the directory marker itself */
      if (add_ent(&ents, &n, &cap, name, strlen(name), pg.sizes[i], 0)) rc = lsql_err_oom(err);
    }
    for (size_t i = 0; i < pg.n_prefixes && rc == LSQL_OK; i++) {
      const char *p = pg.prefixes[i];
      if (strncmp(p, prefix, pl) != 0) continue;
      const char *name = p + pl;
      size_t nl = strlen(name);
      while (nl > 0 && name[nl - 1] == '/') nl--;
      if (nl == 0 || memchr(name, '/', nl)) continue;
      if (add_ent(&ents, &n, &cap, name, nl, 0, 1)) rc = lsql_err_oom(err);
    }
    bool more = pg.truncated;
    if (more && token && strcmp(token, pg.next_token) == 0)
      rc = lsql_err(err, LSQL_ECORRUPT, "%s: S3 listing repeats its continuation token", dir);
    lsql_free(token);
    token = pg.next_token;
    pg.next_token = NULL;
    lsql_s3_list_page_free(&pg);
    if (rc != LSQL_OK || !more) break;
  }
  lsql_free(token);
  lsql_free(prefix);
  if (rc != LSQL_OK) {
    lsql_dirents_free(ents, n);
    return rc;
  }
  if (n > 1) qsort(ents, n, sizeof *ents, cmp_ent);
  *out = ents;
  *n_out = n;
  return LSQL_OK;
}
