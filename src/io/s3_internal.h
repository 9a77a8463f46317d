/* Private to src/io (and tests/unit/io): the pieces of the S3 back end that are pure functions,
 * exposed so they can be tested without a server: SigV4 signing, URI encoding, the minimal
 * S3 XML reader, location and option parsing. */
#ifndef LSQL_IO_S3_INTERNAL_H
#define LSQL_IO_S3_INTERNAL_H

#include "io.h"
#include "util/util.h"

/* ---- hashing and SigV4 (sigv4.c) ----------------------------------------------------------- */

/* Lower-case hex SHA-256 of data; out gets 64 chars + NUL. */
void lsql_sha256_hex(const void *data, size_t n, char out[65]);
/* SHA-256 of the empty string: the payload hash of every body-less request. */
#define LSQL_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Appends the AWS URI encoding of s[0..n): unreserved characters (A-Z a-z 0-9 - _ . ~) as is,
 * '/' as is when keep_slash, everything else as %XX (upper-case hex). */
int lsql_s3_uri_encode(lsql_buf *b, const char *s, size_t n, bool keep_slash);

typedef struct lsql_s3_header {
  const char *name;  /* lower-case */
  const char *value; /* trimmed */
} lsql_s3_header;

typedef struct lsql_sigv4_request {
  const char *method;          /* "GET", "HEAD" */
  const char *canonical_uri;   /* the encoded path, e.g. "/bucket/a%20b" */
  const char *canonical_query; /* sorted, encoded "k=v&k2=v2" (or "") */
  const lsql_s3_header *headers; /* sorted by name; must include host and x-amz-date */
  size_t n_headers;
  const char *payload_hash;    /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
  const char *amz_date;        /* "20130524T000000Z" */
  const char *region;
  const char *service;         /* "s3" */
} lsql_sigv4_request;

/* Computes the SigV4 signature (hex, 64 chars + NUL) and, if auth_out is non-NULL, the complete
 * Authorization header value (caller frees). canonical_out/sts_out (optional, caller frees)
 * return the canonical request and string to sign, for tests. */
int lsql_sigv4_sign(const lsql_sigv4_request *rq, const char *access_key, const char *secret_key,
                    char signature[65], char **auth_out, char **canonical_out, char **sts_out);

/* ---- S3 XML (s3xml.c) ------------------------------------------------------------------------ */

typedef struct lsql_s3_list_page {
  char **keys;      /* Contents/Key (decoded) */
  uint64_t *sizes;  /* Contents/Size */
  size_t n_keys;
  char **prefixes;  /* CommonPrefixes/Prefix (decoded) */
  size_t n_prefixes;
  int truncated;    /* IsTruncated == true */
  char *next_token; /* NextContinuationToken, or NULL */
} lsql_s3_list_page;

/* Parses a ListObjectsV2 response body. Malformed XML is LSQL_ECORRUPT. */
int lsql_s3_parse_list(const char *xml, size_t n, lsql_s3_list_page *page, lsql_error *err);
void lsql_s3_list_page_free(lsql_s3_list_page *page);
/* Extracts the text of the first <tag>...</tag> (entity-decoded, truncated to cap-1 bytes) from an
 * S3 error body; out[0] = 0 when absent or malformed. */
void lsql_s3_xml_text(const char *xml, size_t n, const char *tag, char *out, size_t cap);
/* Decodes XML character/entity references in s[0..n) into a new NUL-terminated string.
 * Unknown entities or a decoded NUL are LSQL_ECORRUPT. */
int lsql_xml_decode(const char *s, size_t n, char **out, lsql_error *err);

/* ---- locations and options (s3.c) --------------------------------------------------------- */

/* Splits "s3://bucket/key..." into bucket and key (key without leading '/'; may be ""). */
int lsql_s3_split(const char *loc, char **bucket, char **key, lsql_error *err);
/* Parses a Lance duration ("30s", "500ms", "5m", "1h", "1m30s", or plain seconds) to ms. */
int lsql_parse_duration_ms(const char *s, uint64_t *ms);

typedef struct lsql_s3_url {
  char *url;           /* full URL to request */
  char *host;          /* Host header value */
  char *canonical_uri; /* encoded path used for signing */
} lsql_s3_url;
/* Builds the URL for `key` in the store's bucket (key "" = the bucket itself). `query` is the
 * canonical query string ("" for none). */
struct lsql_s3_store;
int lsql_s3_build_url(const struct lsql_s3_store *s, const char *key, const char *query,
                      lsql_s3_url *out);
void lsql_s3_url_free(lsql_s3_url *u);
/* The resolved configuration of an S3 store (for tests); NULL if st is not an S3 store. */
typedef struct lsql_s3_config_view {
  const char *bucket, *region, *endpoint, *key_id;
  int virtual_hosted, anonymous, has_token, max_retries;
  uint64_t connect_timeout_ms, request_timeout_ms;
} lsql_s3_config_view;
int lsql_s3_config(const lsql_store *st, lsql_s3_config_view *out);

#endif
