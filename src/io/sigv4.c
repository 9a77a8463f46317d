/* AWS Signature Version 4 (header-based auth, as S3 documents it): canonical request ->
 * string to sign -> HMAC-SHA256 key derivation (date, region, service, "aws4_request") ->
 * signature. SHA-256 and HMAC come from OpenSSL's libcrypto (already linked by libcurl). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "s3_internal.h"

static const char HEX[] = "0123456789abcdef";

static void to_hex(const unsigned char *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = HEX[d[i] >> 4];
    out[2 * i + 1] = HEX[d[i] & 15];
  }
  out[2 * n] = '\0';
}

void lsql_sha256_hex(const void *data, size_t n, char out[65]) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(data, n, md);
  to_hex(md, sizeof md, out);
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32]) {
  unsigned int olen = 32;
  return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &olen)
             ? 0 : -1;
}

static bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int lsql_s3_uri_encode(lsql_buf *b, const char *s, size_t n, bool keep_slash) {
  static const char UHEX[] = "0123456789ABCDEF";
  LSQL_TRY(lsql_buf_reserve(b, n * 3 + 1));
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (unreserved(c) || (keep_slash && c == '/')) {
      b->data[b->len++] = c;
    } else {
      b->data[b->len++] = '%';
      b->data[b->len++] = (uint8_t)UHEX[c >> 4];
      b->data[b->len++] = (uint8_t)UHEX[c & 15];
    }
  }
  return LSQL_OK;
}

int lsql_sigv4_sign(const lsql_sigv4_request *rq, const char *access_key, const char *secret_key,
                    char signature[65], char **auth_out, char **canonical_out, char **sts_out) {
  if (auth_out) *auth_out = NULL;
  if (canonical_out) *canonical_out = NULL;
  if (sts_out) *sts_out = NULL;
  if (strlen(rq->amz_date) != 16) return LSQL_EINVAL;
  char date[9];
  memcpy(date, rq->amz_date, 8);
  date[8] = '\0';

  /* 1. Canonical request. */
  lsql_buf cr = LSQL_BUF_INIT, signed_hdrs = LSQL_BUF_INIT;
  int rc = lsql_buf_appendf(&cr, "%s\n%s\n%s\n", rq->method, rq->canonical_uri, rq->canonical_query);
  for (size_t i = 0; i < rq->n_headers && rc == LSQL_OK; i++) {
    rc = lsql_buf_appendf(&cr, "%s:%s\n", rq->headers[i].name, rq->headers[i].value);
    if (rc == LSQL_OK)
      rc = lsql_buf_appendf(&signed_hdrs, "%s%s", i ? ";" : "", rq->headers[i].name);
  }
  if (rc == LSQL_OK && !signed_hdrs.data) rc = lsql_buf_append_str(&signed_hdrs, "");
  char *sh = rc == LSQL_OK ? lsql_buf_detach(&signed_hdrs) : NULL;
  if (rc == LSQL_OK && !sh) rc = LSQL_ENOMEM;
  if (rc == LSQL_OK) rc = lsql_buf_appendf(&cr, "\n%s\n%s", sh, rq->payload_hash);
  char *canonical = rc == LSQL_OK ? lsql_buf_detach(&cr) : NULL;
  lsql_buf_free(&cr);
  lsql_buf_free(&signed_hdrs);
  if (!canonical) {
    lsql_free(sh);
    return LSQL_ENOMEM;
  }

  /* 2. String to sign. */
  char cr_hash[65];
  lsql_sha256_hex(canonical, strlen(canonical), cr_hash);
  char *scope = lsql_sprintf("%s/%s/%s/aws4_request", date, rq->region, rq->service);
  char *sts = scope ? lsql_sprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", rq->amz_date, scope, cr_hash)
                    : NULL;

  /* 3. Signing key and signature. */
  char *k0 = sts ? lsql_sprintf("AWS4%s", secret_key) : NULL;
  rc = k0 ? LSQL_OK : LSQL_ENOMEM;
  unsigned char k[32], sig[32];
  if (rc == LSQL_OK &&
      (hmac(k0, strlen(k0), date, k) || hmac(k, 32, rq->region, k) || hmac(k, 32, rq->service, k) ||
       hmac(k, 32, "aws4_request", k) || hmac(k, 32, sts, sig)))
    rc = LSQL_EIO;
  if (k0) {
    /* the derived key material is secret: do not leave it in freed memory */
    OPENSSL_cleanse(k0, strlen(k0));
    lsql_free(k0);
  }
  OPENSSL_cleanse(k, sizeof k);
  if (rc == LSQL_OK) {
    to_hex(sig, 32, signature);
    if (auth_out) {
      *auth_out = lsql_sprintf("AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s",
                               access_key, scope, sh, signature);
      if (!*auth_out) rc = LSQL_ENOMEM;
    }
  }
  if (rc == LSQL_OK && canonical_out) {
    *canonical_out = canonical;
    canonical = NULL;
  }
  if (rc == LSQL_OK && sts_out) {
    *sts_out = sts;
    sts = NULL;
  }
  lsql_free(canonical);
  lsql_free(sts);
  lsql_free(scope);
  lsql_free(sh);
  return rc;
}
