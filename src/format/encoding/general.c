/* General-purpose buffer compression as written by Lance (encodings/physical/block.rs):
 *   zstd: u64 LE uncompressed length + zstd frame(s); readers also accept a bare frame stream,
 *         recognised like Lance does (< 8 bytes, or zstd magic at offset 0 with the frame
 *         header's reserved bit clear);
 *   lz4:  u32 LE uncompressed length + one raw LZ4 block (lz4 crate, prepend_size = true);
 *   none: the bytes themselves. */
#include <limits.h>
#include <lz4.h>
#include <pthread.h>
#include <zstd.h>

#include "format/encoding/kernels.h"

#define ZSTD_FRAME_MAGIC 0xFD2FB528u

static bool zstd_is_bare_stream(const uint8_t *src, size_t src_len) {
  if (src_len < 8) return true; /* too short to hold the length prefix */
  return lsql_load_le32(src) == ZSTD_FRAME_MAGIC && (src[4] & 0x10) == 0;
}

/* Largest output we reserve up front for src_len compressed bytes: sizes read from the input
 * may claim far more (a 12-byte block "holding" 2 GiB); beyond this we grow as data arrives. */
static size_t plausible_out(size_t src_len) {
  return src_len > (SIZE_MAX >> 6) ? SIZE_MAX : ((size_t)1 << 20) + src_len * 32;
}

/* One zstd decompression context per thread, kept for the thread's life: creating one per page
 * costs more than decompressing a small page (its init runs cpuid, which traps in VMs). */
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static pthread_key_t dctx_key;
static bool dctx_key_ok;
static void dctx_destroy(void *d) { ZSTD_freeDCtx(d); }
static void dctx_key_init(void) { dctx_key_ok = pthread_key_create(&dctx_key, dctx_destroy) == 0; }

/* The calling thread's context, reset; NULL on OOM. */
static ZSTD_DCtx *thread_dctx(void) {
  pthread_once(&dctx_once, dctx_key_init);
  if (!dctx_key_ok) return NULL;
  ZSTD_DCtx *d = pthread_getspecific(dctx_key);
  if (!d) {
    if (!(d = ZSTD_createDCtx())) return NULL;
    if (pthread_setspecific(dctx_key, d) != 0) {
      ZSTD_freeDCtx(d);
      return NULL;
    }
  }
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  return d;
}

/* Streams a bare zstd frame sequence, bounded by max_out. */
static int zstd_stream(const uint8_t *src, size_t src_len, size_t max_out, lsql_buf *out,
                       lsql_error *err) {
  ZSTD_DCtx *dctx = thread_dctx();
  if (!dctx) return lsql_err_oom(err);
  int rc = LSQL_OK;
  const size_t start = out->len;
  unsigned long long hint = ZSTD_getFrameContentSize(src, src_len);
  /* The frame's content size is untrusted: it sizes the first reservation only up to a
   * plausible ratio, then the buffer grows with what is really produced. */
  size_t step = (hint != ZSTD_CONTENTSIZE_UNKNOWN && hint != ZSTD_CONTENTSIZE_ERROR &&
                 hint <= max_out)
                    ? (size_t)LSQL_MIN(hint + 1, (unsigned long long)plausible_out(src_len))
                    : 64 * 1024;
  ZSTD_inBuffer in = {src, src_len, 0};
  size_t ret = 1;
  while (in.pos < in.size || ret != 0) {
    size_t produced = out->len - start;
    if (produced > max_out) {
      rc = lsql_err_corrupt(err, "zstd: decompressed size exceeds the limit of %zu bytes", max_out);
      break;
    }
    size_t room = LSQL_MIN(step, max_out - produced + 1); /* +1 detects overshoot */
    if (lsql_buf_reserve(out, room) != LSQL_OK) { rc = lsql_err_oom(err); break; }
    ZSTD_outBuffer ob = {out->data + out->len, room, 0};
    ret = ZSTD_decompressStream(dctx, &ob, &in);
    if (ZSTD_isError(ret)) {
      rc = lsql_err_corrupt(err, "zstd: %s", ZSTD_getErrorName(ret));
      break;
    }
    out->len += ob.pos;
    if (in.pos == in.size && ob.pos < room && ret != 0) {
      rc = lsql_err_corrupt(err, "zstd: truncated frame");
      break;
    }
    if (step < (SIZE_MAX >> 2)) step *= 2;
  }
  if (rc == LSQL_OK && out->len - start > max_out)
    rc = lsql_err_corrupt(err, "zstd: decompressed size exceeds the limit of %zu bytes", max_out);
  if (rc != LSQL_OK) out->len = start;
  return rc;
}

static int zstd_prefixed(const uint8_t *src, size_t src_len, size_t max_out, lsql_buf *out,
                         lsql_error *err) {
  const uint64_t len = lsql_load_le64(src);
  if (len > max_out)
    return lsql_err_corrupt(err, "zstd: uncompressed length %llu exceeds the limit of %zu bytes",
                            (unsigned long long)len, max_out);
  if (len > plausible_out(src_len)) {
    /* Do not allocate what the prefix claims: stream, bounded by it, and compare after. */
    const size_t start = out->len;
    LSQL_TRY(zstd_stream(src + 8, src_len - 8, (size_t)len, out, err));
    if (out->len - start != len) {
      size_t got = out->len - start;
      out->len = start;
      return lsql_err_corrupt(err, "zstd: frame decompressed to %zu bytes but the prefix says %llu",
                              got, (unsigned long long)len);
    }
    return LSQL_OK;
  }
  if (lsql_buf_reserve(out, (size_t)len) != LSQL_OK) return lsql_err_oom(err);
  uint8_t one;
  uint8_t *dst = len ? out->data + out->len : &one;
  ZSTD_DCtx *dctx = thread_dctx();
  if (!dctx) return lsql_err_oom(err);
  size_t got = ZSTD_decompressDCtx(dctx, dst, (size_t)len, src + 8, src_len - 8);
  if (ZSTD_isError(got))
    return lsql_err_corrupt(err, "zstd: %s (length prefix %llu)", ZSTD_getErrorName(got),
                            (unsigned long long)len);
  if (got != len)
    return lsql_err_corrupt(err, "zstd: frame decompressed to %zu bytes but the prefix says %llu",
                            got, (unsigned long long)len);
  out->len += (size_t)len;
  return LSQL_OK;
}

static int lz4_block(const uint8_t *src, size_t src_len, size_t max_out, lsql_buf *out,
                     lsql_error *err) {
  if (src_len < 4)
    return lsql_err_corrupt(err, "lz4: %zu bytes is too short for the size prefix", src_len);
  const uint32_t len = lsql_load_le32(src);
  if (len > max_out || len > INT_MAX)
    return lsql_err_corrupt(err, "lz4: uncompressed size %u exceeds the limit of %zu bytes", len,
                            LSQL_MIN(max_out, (size_t)INT_MAX));
  if (src_len - 4 > INT_MAX)
    return lsql_err_corrupt(err, "lz4: compressed block of %zu bytes is too large", src_len - 4);
  /* An LZ4 block expands at most ~255x (each length byte adds <= 255 bytes): a larger claim is
   * corrupt, and must not size an allocation. */
  if ((uint64_t)len > (uint64_t)(src_len - 4) * 255 + 64)
    return lsql_err_corrupt(err, "lz4: uncompressed size %u impossible for a %zu-byte block", len,
                            src_len - 4);
  if (lsql_buf_reserve(out, len) != LSQL_OK) return lsql_err_oom(err);
  char one;
  char *dst = len ? (char *)out->data + out->len : &one;
  int got = LZ4_decompress_safe((const char *)src + 4, dst, (int)(src_len - 4), (int)len);
  if (got < 0) return lsql_err_corrupt(err, "lz4: malformed block (prefix says %u bytes)", len);
  if ((uint32_t)got != len)
    return lsql_err_corrupt(err, "lz4: block decompressed to %d bytes but the prefix says %u", got,
                            len);
  out->len += len;
  return LSQL_OK;
}

int lsql_decompress(enum lsql_codec codec, const uint8_t *src, size_t src_len, size_t max_out,
                    lsql_buf *out, lsql_error *err) {
  switch (codec) {
    case LSQL_CODEC_NONE:
      if (src_len > max_out)
        return lsql_err_corrupt(err, "buffer of %zu bytes exceeds the limit of %zu bytes", src_len,
                                max_out);
      return lsql_buf_append(out, src, src_len) == LSQL_OK ? LSQL_OK : lsql_err_oom(err);
    case LSQL_CODEC_ZSTD:
      if (src_len == 0) return LSQL_OK; /* Lance writes nothing for an empty buffer */
      return zstd_is_bare_stream(src, src_len) ? zstd_stream(src, src_len, max_out, out, err)
                                               : zstd_prefixed(src, src_len, max_out, out, err);
    case LSQL_CODEC_LZ4:
      return lz4_block(src, src_len, max_out, out, err);
  }
  return lsql_err_corrupt(err, "unknown compression codec %d", (int)codec);
}

int lsql_codec_from_name(const char *name) {
  if (!name || !*name || strcmp(name, "none") == 0) return LSQL_CODEC_NONE;
  if (strcmp(name, "zstd") == 0) return LSQL_CODEC_ZSTD;
  if (strcmp(name, "lz4") == 0) return LSQL_CODEC_LZ4;
  return -1;
}
