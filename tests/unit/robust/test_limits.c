/* Refusal to allocate from untrusted sizes: decoders given a few bytes that claim a huge output
 * must fail with LSQL_ECORRUPT/ELIMIT without asking the allocator for that size. A recording
 * allocator checks the largest request. */
#include <stdlib.h>
#include <string.h>

#include "format/encoding/kernels.h"
#include "harness.h"

static size_t largest;
static void *rec_realloc(void *ctx, void *p, size_t n) {
  (void)ctx;
  if (n > largest) largest = n;
  return n > ((size_t)64 << 20) ? NULL : realloc(p, n); /* > 64 MiB: refuse, as a small box would */
}
static void rec_free(void *ctx, void *p) { (void)ctx; free(p); }

static void with_recorder(void) {
  lsql_allocator a = {rec_realloc, rec_free, NULL};
  lsql_set_allocator(&a);
  largest = 0;
}

/* Decompresses src (allowing up to 16 GiB of output) under the recording allocator and returns
 * the status; `largest` then holds the biggest allocation it asked for. */
static int decompress_recorded(enum lsql_codec codec, const uint8_t *src, size_t len) {
  lsql_buf out = LSQL_BUF_INIT;
  lsql_error err;
  with_recorder();
  int rc = lsql_decompress(codec, src, len, (size_t)1 << 34, &out, &err);
  lsql_set_allocator(NULL);
  lsql_buf_free(&out);
  return rc;
}

/* lz4 block "holding" 2 GiB in 8 bytes (found by fuzz_file_reader: oom-bfd0d37...). */
LSQL_TEST(limits_lz4_claimed_size) {
  uint8_t src[12] = {0};
  lsql_store_le32(src, 0x7fffffffu);
  memset(src + 4, 0x11, 8);
  int rc = decompress_recorded(LSQL_CODEC_LZ4, src, sizeof src);
  CHECK_EQ_INT(rc, LSQL_ECORRUPT);
  CHECK(largest < ((size_t)1 << 20));
}

/* zstd with a u64 length prefix of 8 GiB followed by a tiny frame. */
LSQL_TEST(limits_zstd_prefix_claimed_size) {
  /* prefix = 8 GiB, then a bare empty-content zstd frame (magic, FHD, block header "last, raw, 0") */
  uint8_t src[8 + 9] = {0};
  lsql_store_le64(src, (uint64_t)8 << 30);
  const uint8_t frame[9] = {0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x00, 0x01, 0x00, 0x00};
  memcpy(src + 8, frame, sizeof frame);
  int rc = decompress_recorded(LSQL_CODEC_ZSTD, src, sizeof src);
  CHECK(rc == LSQL_ECORRUPT);
  CHECK(largest < ((size_t)64 << 20));
}

/* A bare zstd frame whose header claims a 4 GiB content size. */
LSQL_TEST(limits_zstd_frame_content_size) {
  /* FHD 0xE0: single segment, 8-byte FCS; then a last raw block of 0 bytes */
  uint8_t src[4 + 1 + 8 + 3] = {0x28, 0xB5, 0x2F, 0xFD, 0xE0};
  lsql_store_le64(src + 5, (uint64_t)4 << 30);
  src[13] = 0x01;
  int rc = decompress_recorded(LSQL_CODEC_ZSTD, src, sizeof src);
  CHECK(rc == LSQL_ECORRUPT);
  CHECK(largest < ((size_t)64 << 20));
}
