/* Object-store tests: SigV4 against AWS's published S3 examples, URI encoding, the S3 XML reader,
 * option/URL resolution, local-store statistics. With LSQL_S3_TEST_ENDPOINT set (the conformance
 * test tests/conformance/test_s3.py does this against moto), also exercises a live S3 store. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "io/io.h"
#include "io/s3_internal.h"
#include "io/store_impl.h"

/* The AWS documentation's example credentials and request date ("Signature Calculations for the
 * Authorization Header: Transferring Payload in a Single Chunk", S3 API reference). */
#define EX_KEY "AKIAIOSFODNN7EXAMPLE"
#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_DATE "20130524T000000Z"

LSQL_TEST(sha256_known) {
  char h[65];
  lsql_sha256_hex("", 0, h);
  CHECK(strcmp(h, LSQL_EMPTY_SHA256) == 0);
  lsql_sha256_hex("abc", 3, h);
  CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
}

LSQL_TEST(sigv4_get_object_example) {
  /* GET /test.txt, Range: bytes=0-9 */
  lsql_s3_header hs[] = {{"host", "examplebucket.s3.amazonaws.com"},
                         {"range", "bytes=0-9"},
                         {"x-amz-content-sha256", LSQL_EMPTY_SHA256},
                         {"x-amz-date", EX_DATE}};
  lsql_sigv4_request rq = {"GET", "/test.txt", "", hs, 4, LSQL_EMPTY_SHA256, EX_DATE, "us-east-1", "s3"};
  char sig[65];
  char *auth, *canon, *sts;
  CHECK(lsql_sigv4_sign(&rq, EX_KEY, EX_SECRET, sig, &auth, &canon, &sts) == LSQL_OK);
  CHECK(strcmp(canon,
               "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
               "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
               "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
  CHECK(strcmp(sts, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972") == 0);
  CHECK(strcmp(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") == 0);
  CHECK(strcmp(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                     "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") == 0);
  lsql_free(auth);
  lsql_free(canon);
  lsql_free(sts);
}

LSQL_TEST(sigv4_list_objects_example) {
  /* GET /?max-keys=2&prefix=J (the documentation's ListObjects example) */
  lsql_s3_header hs[] = {{"host", "examplebucket.s3.amazonaws.com"},
                         {"x-amz-content-sha256", LSQL_EMPTY_SHA256},
                         {"x-amz-date", EX_DATE}};
  lsql_sigv4_request rq = {"GET", "/", "max-keys=2&prefix=J", hs, 3, LSQL_EMPTY_SHA256, EX_DATE,
                           "us-east-1", "s3"};
  char sig[65];
  CHECK(lsql_sigv4_sign(&rq, EX_KEY, EX_SECRET, sig, NULL, NULL, NULL) == LSQL_OK);
  CHECK(strcmp(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == 0);
}

LSQL_TEST(sigv4_lifecycle_example) {
  /* GET /?lifecycle: a query parameter without a value signs as "lifecycle=" */
  lsql_s3_header hs[] = {{"host", "examplebucket.s3.amazonaws.com"},
                         {"x-amz-content-sha256", LSQL_EMPTY_SHA256},
                         {"x-amz-date", EX_DATE}};
  lsql_sigv4_request rq = {"GET", "/", "lifecycle=", hs, 3, LSQL_EMPTY_SHA256, EX_DATE, "us-east-1", "s3"};
  char sig[65];
  CHECK(lsql_sigv4_sign(&rq, EX_KEY, EX_SECRET, sig, NULL, NULL, NULL) == LSQL_OK);
  CHECK(strcmp(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") == 0);
}

static char *enc(const char *s, bool keep_slash) {
  lsql_buf b = LSQL_BUF_INIT;
  lsql_s3_uri_encode(&b, s, strlen(s), keep_slash);
  return lsql_buf_detach(&b);
}

LSQL_TEST(uri_encoding) {
  char *e = enc("data/a b+c~d_e-f.g/\xc3\xa9=&?%", true);
  CHECK(strcmp(e, "data/a%20b%2Bc~d_e-f.g/%C3%A9%3D%26%3F%25") == 0);
  lsql_free(e);
  e = enc("ds/_versions/", false);
  CHECK(strcmp(e, "ds%2F_versions%2F") == 0);
  lsql_free(e);
  e = enc("", false);
  CHECK(strcmp(e, "") == 0);
  lsql_free(e);
}

static const char LIST_XML[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bucket</Name><Prefix>ds/</Prefix><KeyCount>4</KeyCount><MaxKeys>1000</MaxKeys>"
    "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
    "<Contents><Key>ds/a&amp;b&lt;c&gt;&quot;&apos;&#233;&#x41;.lance</Key>"
    "<LastModified>2025-01-01T00:00:00.000Z</LastModified><ETag>&quot;x&quot;</ETag>"
    "<Size>12345678901</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>ds/z</Key><Size>0</Size></Contents>"
    "<CommonPrefixes><Prefix>ds/_versions/</Prefix></CommonPrefixes>"
    "<CommonPrefixes><Prefix>ds/data/</Prefix></CommonPrefixes>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "</ListBucketResult>";

LSQL_TEST(xml_list_parse) {
  lsql_error err = {0};
  lsql_s3_list_page pg;
  CHECK_OK(lsql_s3_parse_list(LIST_XML, sizeof LIST_XML - 1, &pg, &err), err);
  CHECK_EQ_INT(pg.n_keys, 2);
  CHECK_EQ_INT(pg.n_prefixes, 2);
  if (pg.n_keys == 2 && pg.n_prefixes == 2) {
    CHECK(strcmp(pg.keys[0], "ds/a&b<c>\"'\xc3\xa9" "A.lance") == 0);
    CHECK(pg.sizes[0] == 12345678901ull);
    CHECK(strcmp(pg.keys[1], "ds/z") == 0);
    CHECK(pg.sizes[1] == 0);
    CHECK(strcmp(pg.prefixes[0], "ds/_versions/") == 0);
    CHECK(strcmp(pg.prefixes[1], "ds/data/") == 0);
  }
  CHECK(pg.truncated);
  CHECK(pg.next_token && strcmp(pg.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=") == 0);
  lsql_s3_list_page_free(&pg);

  /* many entries (array growth), not truncated, self-closing elements tolerated */
  lsql_buf b = LSQL_BUF_INIT;
  lsql_buf_append_str(&b, "<ListBucketResult><IsTruncated>false</IsTruncated><Prefix/>");
  for (int i = 0; i < 100; i++) lsql_buf_appendf(&b, "<Contents><Key>k%03d</Key><Size>%d</Size></Contents>", i, i);
  lsql_buf_append_str(&b, "</ListBucketResult>");
  CHECK_OK(lsql_s3_parse_list((const char *)b.data, b.len, &pg, &err), err);
  CHECK_EQ_INT(pg.n_keys, 100);
  CHECK(!pg.truncated && !pg.next_token);
  if (pg.n_keys == 100) CHECK(strcmp(pg.keys[99], "k099") == 0 && pg.sizes[99] == 99);
  lsql_s3_list_page_free(&pg);
  lsql_buf_free(&b);
}

LSQL_TEST(xml_list_malformed) {
  lsql_error err = {0};
  lsql_s3_list_page pg;
  const char *bad[] = {
      "",
      "<Error><Code>x</Code></Error>",
      "<ListBucketResult><Contents><Key>a</Key><Size>1</Size></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a&#0;</Key><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a&#xD800;</Key><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a&amp</Key><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
      "<ListBucketResult><CommonPrefixes></CommonPrefixes></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    /* parse from an exact-size heap copy so reads past the end are caught by sanitizers */
    size_t n = strlen(bad[i]);
    char *copy = lsql_malloc(n ? n : 1);
    memcpy(copy, bad[i], n);
    int rc = lsql_s3_parse_list(copy, n, &pg, &err);
    if (rc != LSQL_ECORRUPT) fprintf(stderr, "case %zu: %s\n", i, bad[i]);
    CHECK_EQ_INT(rc, LSQL_ECORRUPT);
    lsql_free(copy);
  }
}

LSQL_TEST(xml_error_text) {
  const char *x = "<?xml version=\"1.0\"?><Error><Code>AuthorizationHeaderMalformed</Code>"
                  "<Message>the region &apos;us-east-1&apos; is wrong; expecting &apos;eu-west-1&apos;</Message>"
                  "<Region>eu-west-1</Region><RequestId>1</RequestId></Error>";
  char code[64], msg[128], region[8];
  lsql_s3_xml_text(x, strlen(x), "Code", code, sizeof code);
  lsql_s3_xml_text(x, strlen(x), "Message", msg, sizeof msg);
  lsql_s3_xml_text(x, strlen(x), "Region", region, sizeof region);
  CHECK(strcmp(code, "AuthorizationHeaderMalformed") == 0);
  CHECK(strcmp(msg, "the region 'us-east-1' is wrong; expecting 'eu-west-1'") == 0);
  CHECK(strcmp(region, "eu-west") == 0); /* truncated to the buffer */
  lsql_s3_xml_text(x, strlen(x), "Missing", code, sizeof code);
  CHECK(code[0] == 0);
  lsql_s3_xml_text(NULL, 0, "Code", code, sizeof code);
  CHECK(code[0] == 0);
}

LSQL_TEST(durations) {
  uint64_t ms = 0;
  CHECK(lsql_parse_duration_ms("30s", &ms) == 0 && ms == 30000);
  CHECK(lsql_parse_duration_ms("500ms", &ms) == 0 && ms == 500);
  CHECK(lsql_parse_duration_ms("5m", &ms) == 0 && ms == 300000);
  CHECK(lsql_parse_duration_ms("1h", &ms) == 0 && ms == 3600000);
  CHECK(lsql_parse_duration_ms("1m 30s", &ms) == 0 && ms == 90000);
  CHECK(lsql_parse_duration_ms("1m30s", &ms) == 0 && ms == 90000);
  CHECK(lsql_parse_duration_ms("7", &ms) == 0 && ms == 7000);
  CHECK(lsql_parse_duration_ms("", &ms) != 0);
  CHECK(lsql_parse_duration_ms("s", &ms) != 0);
  CHECK(lsql_parse_duration_ms("3 parsecs", &ms) != 0);
  CHECK(lsql_parse_duration_ms("-1s", &ms) != 0);
  CHECK(lsql_parse_duration_ms("99999999999999999999s", &ms) != 0);
}

LSQL_TEST(split_location) {
  lsql_error err = {0};
  char *b, *k;
  CHECK_OK(lsql_s3_split("s3://bkt/a/b.lance", &b, &k, &err), err);
  CHECK(strcmp(b, "bkt") == 0 && strcmp(k, "a/b.lance") == 0);
  lsql_free(b);
  lsql_free(k);
  CHECK_OK(lsql_s3_split("s3://bkt", &b, &k, &err), err);
  CHECK(strcmp(b, "bkt") == 0 && strcmp(k, "") == 0);
  lsql_free(b);
  lsql_free(k);
  CHECK_FAILS(lsql_s3_split("s3:///x", &b, &k, &err), LSQL_EINVAL, "no bucket", err);
}

/* Saves and clears the AWS_* variables so the tests see only their own configuration. */
static const char *AWS_VARS[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT",
                                 "AWS_ALLOW_HTTP", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
                                 "AWS_SKIP_SIGNATURE"};
static void clear_aws_env(void) {
  for (size_t i = 0; i < sizeof AWS_VARS / sizeof AWS_VARS[0]; i++) unsetenv(AWS_VARS[i]);
}

LSQL_TEST(s3_config_and_urls) {
  clear_aws_env();
  lsql_error err = {0};
  lsql_store *st = NULL;
  const char *opts[] = {"AWS_ACCESS_KEY_ID", "AKID", "aws_secret_access_key", "SECRETVALUE",
                        "Region", "eu-west-1", "endpoint", "http://127.0.0.1:9000/", "allow_http", "true",
                        "connect_timeout", "2s", "request_timeout", "1m", "client_max_retries", "3", NULL};
  CHECK_OK(lsql_store_open("s3://bkt/prefix/ds", opts, &st, &err), err);
  if (st) {
    CHECK(strcmp(lsql_store_scheme(st), "s3") == 0);
    lsql_s3_config_view v;
    CHECK(lsql_s3_config(st, &v) == LSQL_OK);
    CHECK(strcmp(v.bucket, "bkt") == 0 && strcmp(v.region, "eu-west-1") == 0);
    CHECK(strcmp(v.endpoint, "127.0.0.1:9000") == 0 && strcmp(v.key_id, "AKID") == 0);
    CHECK(!v.virtual_hosted && !v.anonymous && !v.has_token && v.max_retries == 3);
    CHECK(v.connect_timeout_ms == 2000 && v.request_timeout_ms == 60000);
    lsql_s3_url u;
    CHECK(lsql_s3_build_url(st->impl, "prefix/ds/a b.lance", "", &u) == LSQL_OK);
    CHECK(strcmp(u.url, "http://127.0.0.1:9000/bkt/prefix/ds/a%20b.lance") == 0);
    CHECK(strcmp(u.canonical_uri, "/bkt/prefix/ds/a%20b.lance") == 0);
    CHECK(strcmp(u.host, "127.0.0.1:9000") == 0);
    lsql_s3_url_free(&u);
    CHECK(lsql_s3_build_url(st->impl, "", "delimiter=%2F&list-type=2&prefix=", &u) == LSQL_OK);
    CHECK(strcmp(u.url, "http://127.0.0.1:9000/bkt?delimiter=%2F&list-type=2&prefix=") == 0);
    lsql_s3_url_free(&u);
    /* a path outside the bucket is refused */
    lsql_rfile *f;
    CHECK_FAILS(lsql_rfile_open(st, "s3://other/x", 10, &f, &err), LSQL_EINVAL, "outside", err);
  }
  lsql_store_unref(st);

  /* AWS defaults: https, path-style, default port dropped from Host; virtual-hosted on request */
  const char *opts2[] = {"aws_access_key_id", "AKID", "aws_secret_access_key", "S", "aws_session_token",
                         "TOK", "aws_virtual_hosted_style_request", "true", NULL};
  setenv("AWS_REGION", "ap-south-1", 1);
  CHECK_OK(lsql_store_open("s3://bkt", opts2, &st, &err), err);
  if (st) {
    lsql_s3_config_view v;
    lsql_s3_config(st, &v);
    CHECK(v.has_token && v.virtual_hosted && strcmp(v.region, "ap-south-1") == 0);
    lsql_s3_url u;
    CHECK(lsql_s3_build_url(st->impl, "k/v", "", &u) == LSQL_OK);
    CHECK(strcmp(u.url, "https://bkt.s3.ap-south-1.amazonaws.com/k/v") == 0);
    CHECK(strcmp(u.host, "bkt.s3.ap-south-1.amazonaws.com") == 0);
    CHECK(strcmp(u.canonical_uri, "/k/v") == 0);
    lsql_s3_url_free(&u);
  }
  lsql_store_unref(st);
  const char *opts3[] = {"aws_access_key_id", "AKID", "aws_secret_access_key", "S", "endpoint",
                         "https://minio.local:443", NULL};
  CHECK_OK(lsql_store_open("s3://bkt", opts3, &st, &err), err);
  if (st) {
    lsql_s3_url u;
    CHECK(lsql_s3_build_url(st->impl, "k", "", &u) == LSQL_OK);
    CHECK(strcmp(u.host, "minio.local") == 0);
    CHECK(strcmp(u.url, "https://minio.local:443/bkt/k") == 0);
    lsql_s3_url_free(&u);
  }
  lsql_store_unref(st);

  /* environment credentials */
  setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
  setenv("AWS_ENDPOINT_URL", "http://localhost:1234", 1);
  setenv("AWS_ALLOW_HTTP", "true", 1);
  CHECK_OK(lsql_store_open("s3://bkt", NULL, &st, &err), err);
  if (st) {
    lsql_s3_config_view v;
    lsql_s3_config(st, &v);
    CHECK(strcmp(v.key_id, "ENVKEY") == 0 && strcmp(v.endpoint, "localhost:1234") == 0);
  }
  lsql_store_unref(st);
  clear_aws_env();
}

LSQL_TEST(s3_config_errors) {
  clear_aws_env();
  lsql_error err = {0};
  lsql_store *st = NULL;
  CHECK_FAILS(lsql_store_open("s3://bkt/ds", NULL, &st, &err), LSQL_EPERM,
              "s3://bkt/ds: no AWS credentials: set aws_access_key_id", err);
  CHECK(strstr(err.message, "AWS_ACCESS_KEY_ID") != NULL);
  const char *half[] = {"aws_access_key_id", "AKID", NULL};
  CHECK_FAILS(lsql_store_open("s3://bkt/ds", half, &st, &err), LSQL_EINVAL, "incomplete", err);
  const char *http[] = {"aws_access_key_id", "AKID", "aws_secret_access_key", "TOPSECRET",
                        "aws_endpoint", "http://127.0.0.1:1", NULL};
  CHECK_FAILS(lsql_store_open("s3://bkt/ds", http, &st, &err), LSQL_EINVAL, "allow_http", err);
  CHECK(strstr(err.message, "TOPSECRET") == NULL);
  const char *bad_to[] = {"aws_access_key_id", "AKID", "aws_secret_access_key", "S",
                          "request_timeout", "soon", NULL};
  CHECK_FAILS(lsql_store_open("s3://bkt/ds", bad_to, &st, &err), LSQL_EINVAL, "request_timeout", err);
  const char *bad_bool[] = {"aws_access_key_id", "AKID", "aws_secret_access_key", "S",
                            "allow_http", "maybe", NULL};
  CHECK_FAILS(lsql_store_open("s3://bkt/ds", bad_bool, &st, &err), LSQL_EINVAL, "allow_http", err);
  const char *anon[] = {"skip_signature", "true", NULL};
  CHECK_OK(lsql_store_open("s3://bkt/ds", anon, &st, &err), err);
  lsql_store_unref(st);
  CHECK_FAILS(lsql_store_open("gs://bkt/ds", NULL, &st, &err), LSQL_EUNSUPPORTED, "scheme", err);
}

LSQL_TEST(s3_unreachable_server_is_eio) {
  /* Port 1 on loopback refuses connections: EIO after the configured retries, no secret leaked. */
  clear_aws_env();
  lsql_error err = {0};
  lsql_store *st = NULL;
  const char *opts[] = {"aws_access_key_id", "AKID", "aws_secret_access_key", "TOPSECRET",
                        "aws_session_token", "SESSIONTOKEN", "aws_endpoint", "http://127.0.0.1:1",
                        "allow_http", "true", "client_max_retries", "2", "connect_timeout", "1s", NULL};
  CHECK_OK(lsql_store_open("s3://bkt/ds", opts, &st, &err), err);
  if (!st) return;
  lsql_rfile *f = NULL;
  CHECK_FAILS(lsql_rfile_open(st, "s3://bkt/ds/x", 0, &f, &err), LSQL_EIO, "after 3 attempts", err);
  CHECK(strstr(err.message, "TOPSECRET") == NULL && strstr(err.message, "SESSIONTOKEN") == NULL);
  lsql_store_stats s;
  lsql_store_stats_get(st, &s);
  CHECK_EQ_INT(s.requests, 3);
  CHECK_EQ_INT(s.retries, 2);
  lsql_store_unref(st);
}

/* Opens a local store on /tmp and writes `data` to a fresh temp file named in path (a
 * "/tmp/lsql_io_test_XXXXXX" buffer). Returns false (after a failed CHECK) when it cannot. */
static bool temp_file_store(lsql_store **st, char *path, const void *data, size_t len) {
  lsql_error err = {0};
  *st = NULL;
  CHECK_OK(lsql_store_open("/tmp", NULL, st, &err), err);
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0 || !*st) return false;
  CHECK(write(fd, data, len) == (ssize_t)len);
  close(fd);
  return true;
}

LSQL_TEST(local_stats) {
  lsql_error err = {0};
  lsql_store *st = NULL;
  char path[] = "/tmp/lsql_io_test_XXXXXX";
  char data[256];
  for (int i = 0; i < 256; i++) data[i] = (char)i;
  if (!temp_file_store(&st, path, data, sizeof data)) { lsql_store_unref(st); return; }
  lsql_rfile *f = NULL;
  CHECK_OK(lsql_rfile_open(st, path, 0, &f, &err), err);
  if (f) {
    char a[4], b[4], c[8];
    lsql_range r[] = {{200, 4, a}, {0, 4, b}, {10, 8, c}};
    CHECK_OK(lsql_rfile_read_ranges(f, r, 3, &err), err);
    CHECK(a[0] == (char)200 && b[3] == 3 && c[0] == 10);
    lsql_rfile_close(f);
  }
  lsql_store_stats s;
  lsql_store_stats_get(st, &s);
  CHECK_EQ_INT(s.requests, 2); /* open + one coalesced read */
  CHECK_EQ_INT(s.bytes, 204);
  unlink(path);
  lsql_store_unref(st);
}

/* Coalesced local reads: many ranges (more than one vectored read holds), gaps, a zero-length
 * range, and a run with overlapping ranges (read through a bounce buffer). */
LSQL_TEST(local_read_ranges_vectored) {
  lsql_error err = {0};
  lsql_store *st = NULL;
  char path[] = "/tmp/lsql_io_test_XXXXXX";
  enum { SZ = 1 << 20, NR = 400 };
  uint8_t *data = lsql_malloc(SZ), *dst = lsql_calloc(NR, 300);
  CHECK(data && dst);
  if (!data || !dst) { lsql_free(data); lsql_free(dst); return; }
  for (int i = 0; i < SZ; i++) data[i] = (uint8_t)((i * 7) % 251);
  if (!temp_file_store(&st, path, data, SZ)) { lsql_free(data); lsql_free(dst); lsql_store_unref(st); return; }
  lsql_rfile *f = NULL;
  CHECK_OK(lsql_rfile_open(st, path, 0, &f, &err), err);
  if (f) {
    lsql_range r[NR];
    for (int k = 0; k < NR; k++) /* reverse order, 100..299 bytes, gaps of 0..99 bytes */
      r[NR - 1 - k] = (lsql_range){(uint64_t)k * 400 + (uint64_t)(k % 100), (uint64_t)(k == 7 ? 0 : 100 + k % 200), dst + k * 300};
    CHECK_OK(lsql_rfile_read_ranges(f, r, NR, &err), err);
    int ok = 1;
    for (int k = 0; k < NR; k++)
      for (uint64_t i = 0; i < r[k].len; i++) ok &= ((uint8_t *)r[k].dst)[i] == data[r[k].off + i];
    CHECK(ok);
    uint8_t a[100], b[100];
    lsql_range o[] = {{5000, 100, a}, {5050, 100, b}};
    CHECK_OK(lsql_rfile_read_ranges(f, o, 2, &err), err);
    CHECK(memcmp(a, data + 5000, 100) == 0 && memcmp(b, data + 5050, 100) == 0);
    lsql_range bad[] = {{SZ - 10, 5, a}, {SZ - 4, 8, b}};
    CHECK_FAILS(lsql_rfile_read_ranges(f, bad, 2, &err), LSQL_ECORRUPT, "past the end", err);
    lsql_rfile_close(f);
  }
  lsql_free(data);
  lsql_free(dst);
  unlink(path);
  lsql_store_unref(st);
}

/* ---- live store (LSQL_S3_TEST_ENDPOINT, LSQL_S3_TEST_BUCKET; objects put by test_s3.py) ------ */

static void *live_reader(void *arg) {
  lsql_rfile *f = arg;
  uint64_t size = lsql_rfile_size(f);
  uintptr_t bad = 0;
  uint8_t b[100];
  for (uint64_t k = 0; k < 200; k++) {
    uint64_t off = (k * 7919 * 131) % (size - 100);
    lsql_error e = {0};
    if (lsql_rfile_read(f, off, 100, b, &e) != LSQL_OK) bad++;
    for (int i = 0; i < 100; i++) bad += b[i] != (uint8_t)(((off + i) * 7) % 251);
  }
  return (void *)bad;
}

static void live_threads(lsql_rfile *f) {
  pthread_t th[6];
  for (int i = 0; i < 6; i++) pthread_create(&th[i], NULL, live_reader, f);
  uintptr_t bad = 0;
  for (int i = 0; i < 6; i++) {
    void *r;
    pthread_join(th[i], &r);
    bad += (uintptr_t)r;
  }
  CHECK_EQ_INT(bad, 0);
}

LSQL_TEST(s3_live) {
  const char *ep = getenv("LSQL_S3_TEST_ENDPOINT"), *bucket = getenv("LSQL_S3_TEST_BUCKET");
  if (!ep || !bucket) {
    fprintf(stderr, "s3_live: skipped (LSQL_S3_TEST_ENDPOINT not set)\n");
    return;
  }
  lsql_error err = {0};
  const char *opts[] = {"aws_access_key_id", "testing", "aws_secret_access_key", "testing",
                        "aws_region", "us-east-1", "aws_endpoint", ep, "allow_http", "true", NULL};
  char *root = lsql_sprintf("s3://%s/live", bucket);
  lsql_store *st = NULL;
  CHECK_OK(lsql_store_open(root, opts, &st, &err), err);
  if (!st) return;
  /* layout written by test_s3.py: live/blob (1 MiB + 17 bytes of i*7 mod 251), live/d/<0..1099>
   * (1100 small objects: two list pages), live/sub/x, "live/sp ace&amp.txt" */
  char *p = lsql_sprintf("%s/blob", root);
  lsql_rfile *f = NULL;
  CHECK_OK(lsql_rfile_open(st, p, 0, &f, &err), err);
  if (f) {
    uint64_t size = lsql_rfile_size(f);
    CHECK_EQ_INT(size, (1 << 20) + 17);
    /* far-apart and nearby ranges, in random order, one overlapping another */
    uint8_t b1[10], b2[100], b3[5000], b4[17], b5[50];
    lsql_range r[] = {{1000000, 10, b1}, {5, 100, b2}, {50, 5000, b3}, {size - 17, 17, b4}, {60, 50, b5}};
    CHECK_OK(lsql_rfile_read_ranges(f, r, 5, &err), err);
    int ok = 1;
    for (size_t k = 0; k < 5; k++)
      for (uint64_t i = 0; i < r[k].len; i++)
        ok &= ((uint8_t *)r[k].dst)[i] == (uint8_t)(((r[k].off + i) * 7) % 251);
    CHECK(ok);
    uint8_t *all = lsql_malloc(size);
    lsql_store_stats s0, s1;
    lsql_store_stats_get(st, &s0);
    CHECK_OK(lsql_rfile_read(f, 0, size, all, &err), err);
    lsql_store_stats_get(st, &s1);
    CHECK_EQ_INT(s1.requests - s0.requests, 1);
    ok = 1;
    for (uint64_t i = 0; i < size; i++) ok &= all[i] == (uint8_t)((i * 7) % 251);
    CHECK(ok);
    lsql_free(all);
    CHECK_FAILS(lsql_rfile_read(f, size - 1, 2, b1, &err), LSQL_ECORRUPT, "past the end", err);
    lsql_rfile_close(f);
  }
  /* small reads: the tail is fetched once, nearby small reads share a read-ahead window, and
   * concurrent readers of one file agree on the bytes */
  CHECK_OK(lsql_rfile_open(st, p, 0, &f, &err), err);
  if (f) {
    uint64_t size = lsql_rfile_size(f);
    lsql_store_stats s0, s1;
    lsql_store_stats_get(st, &s0);
    uint8_t b[64];
    int ok = 1;
    for (int k = 0; k < 20; k++) {
      uint64_t off = size - 40 - (uint64_t)k * 1000;
      CHECK_OK(lsql_rfile_read(f, off, 40, b, &err), err);
      for (int i = 0; i < 40; i++) ok &= b[i] == (uint8_t)(((off + i) * 7) % 251);
    }
    for (int k = 0; k < 20; k++) {
      uint64_t off = 300000 + (uint64_t)k * 3000;
      CHECK_OK(lsql_rfile_read(f, off, 64, b, &err), err);
      for (int i = 0; i < 64; i++) ok &= b[i] == (uint8_t)(((off + i) * 7) % 251);
    }
    CHECK(ok);
    lsql_store_stats_get(st, &s1);
    CHECK_EQ_INT(s1.requests - s0.requests, 2);
    live_threads(f);
    lsql_rfile_close(f);
  }
  /* a wrong size hint (longer than the object) is a short read, not garbage */
  CHECK_OK(lsql_rfile_open(st, p, (1 << 20) + 100, &f, &err), err);
  if (f) {
    uint8_t b[200];
    int rc = lsql_rfile_read(f, (1 << 20), 100, b, &err);
    CHECK(rc == LSQL_ECORRUPT);
    lsql_rfile_close(f);
  }
  lsql_free(p);
  /* read_all, exists */
  p = lsql_sprintf("%s/sub/x", root);
  uint8_t *d;
  size_t n;
  CHECK_OK(lsql_store_read_all(st, p, &d, &n, &err), err);
  CHECK(n == 5 && memcmp(d, "hello", 5) == 0);
  lsql_free(d);
  int ex = 0;
  CHECK_OK(lsql_store_exists(st, p, &ex, &err), err);
  CHECK(ex == 1);
  lsql_free(p);
  p = lsql_sprintf("%s/sub", root);
  CHECK_OK(lsql_store_exists(st, p, &ex, &err), err);
  CHECK(ex == 1); /* a "directory" */
  lsql_free(p);
  p = lsql_sprintf("%s/nope", root);
  CHECK_OK(lsql_store_exists(st, p, &ex, &err), err);
  CHECK(ex == 0);
  CHECK_FAILS(lsql_rfile_open(st, p, 0, &f, &err), LSQL_ENOTFOUND, "not found", err);
  CHECK_FAILS(lsql_store_read_all(st, p, &d, &n, &err), LSQL_ENOTFOUND, "not found", err);
  lsql_free(p);
  /* listing: direct children, sorted, with sizes, paged */
  lsql_dirent *ents;
  size_t ne;
  CHECK_OK(lsql_store_list(st, root, &ents, &ne, &err), err);
  CHECK_EQ_INT(ne, 4);
  if (ne == 4) {
    CHECK(strcmp(ents[0].name, "blob") == 0 && !ents[0].is_dir && ents[0].size == (1 << 20) + 17);
    CHECK(strcmp(ents[1].name, "d") == 0 && ents[1].is_dir);
    CHECK(strcmp(ents[2].name, "sp ace&amp.txt") == 0 && ents[2].size == 3);
    CHECK(strcmp(ents[3].name, "sub") == 0 && ents[3].is_dir);
  }
  lsql_dirents_free(ents, ne);
  p = lsql_sprintf("%s/d/", root);
  lsql_store_stats s0, s1;
  lsql_store_stats_get(st, &s0);
  CHECK_OK(lsql_store_list(st, p, &ents, &ne, &err), err);
  lsql_store_stats_get(st, &s1);
  CHECK_EQ_INT(ne, 1100);
  CHECK(s1.requests - s0.requests >= 2); /* more than one page */
  int sorted = 1;
  for (size_t i = 1; i < ne; i++) sorted &= strcmp(ents[i - 1].name, ents[i].name) < 0;
  CHECK(sorted);
  lsql_dirents_free(ents, ne);
  lsql_free(p);
  p = lsql_sprintf("%s/missing-dir", root);
  CHECK_OK(lsql_store_list(st, p, &ents, &ne, &err), err);
  CHECK_EQ_INT(ne, 0);
  lsql_dirents_free(ents, ne);
  lsql_free(p);
  /* the file with special characters */
  p = lsql_sprintf("%s/sp ace&amp.txt", root);
  CHECK_OK(lsql_store_read_all(st, p, &d, &n, &err), err);
  CHECK(n == 3 && memcmp(d, "abc", 3) == 0);
  lsql_free(d);
  lsql_free(p);
  lsql_store_unref(st);
  lsql_free(root);

  /* a missing bucket */
  CHECK_OK(lsql_store_open("s3://no-such-bucket-lsql/x", opts, &st, &err), err);
  if (st) {
    CHECK_FAILS(lsql_store_list(st, "s3://no-such-bucket-lsql/x", &ents, &ne, &err), LSQL_ENOTFOUND,
                "NoSuchBucket", err);
    CHECK_FAILS(lsql_store_exists(st, "s3://no-such-bucket-lsql/x", &ex, &err), LSQL_ENOTFOUND,
                "NoSuchBucket", err);
    lsql_store_unref(st);
  }
}
