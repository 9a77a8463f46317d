/* Deletion files (Lance table format, "Deletions"): physical row offsets of a fragment that are
 * deleted. Two encodings: an Arrow IPC *file* with one UInt32 column (small sets, usually
 * zstd-compressed buffers) and a 32-bit Roaring bitmap in the portable format (> 5000 rows).
 * Both decode into a plain bitmap of the fragment's physical rows.
 *
 * Roaring: CRoaring 0.2.66's roaring_bitmap_portable_deserialize_safe() does check the byte
 * lengths, but it allocates through the system malloc (not lsql's allocator, so OOM paths cannot
 * be tested), keeps container contents unvalidated (unsorted keys/values, runs overflowing
 * 65535, bitmap cardinalities that disagree with the header) that later CRoaring operations assume
 * valid, and some builds print to stderr. Decoding the simple portable format straight into our
 * bitmap is short, allocation-free and fully bounds-checked, so we do that instead. */
#include <inttypes.h>
#include <zstd.h>

#include "table/table.h"
#include "util/arrow.h"

/* Marks offset v deleted; counts it once. */
static inline int mark(uint8_t *deleted, uint64_t n_rows, uint64_t v, uint64_t *n_deleted) {
  if (LSQL_UNLIKELY(v >= n_rows)) return -1;
  uint8_t bit = (uint8_t)(1u << (v & 7));
  if (!(deleted[v >> 3] & bit)) {
    deleted[v >> 3] |= bit;
    (*n_deleted)++;
  }
  return 0;
}

/* ---- Roaring portable format (RoaringFormatSpec) ------------------------------------------ */

#define ROARING_COOKIE_NO_RUN 12346u
#define ROARING_COOKIE_RUN 12347u

int lsql_table_deletion_parse_roaring(const uint8_t *data, size_t len, uint64_t n_rows,
                                      uint8_t *deleted, uint64_t *n_deleted, lsql_error *err) {
  *n_deleted = 0;
  size_t p = 0;
  if (len < 4) return lsql_err_corrupt(err, "roaring bitmap: truncated cookie");
  uint32_t cookie = lsql_load_le32(data);
  p = 4;
  uint32_t n;
  const uint8_t *run_flags = NULL;
  bool has_offsets;
  if (cookie == ROARING_COOKIE_NO_RUN) {
    if (len - p < 4) return lsql_err_corrupt(err, "roaring bitmap: truncated container count");
    n = lsql_load_le32(data + p);
    p += 4;
    has_offsets = true;
  } else if ((cookie & 0xFFFF) == ROARING_COOKIE_RUN) {
    n = (cookie >> 16) + 1;
    size_t rb = (n + 7) / 8;
    if (len - p < rb) return lsql_err_corrupt(err, "roaring bitmap: truncated run flags");
    run_flags = data + p;
    p += rb;
    has_offsets = n >= 4;
  } else {
    return lsql_err_corrupt(err, "roaring bitmap: bad cookie 0x%08" PRIx32, cookie);
  }
  if (n > 65536) return lsql_err_corrupt(err, "roaring bitmap: %" PRIu32 " containers", n);
  if ((len - p) / 4 < n) return lsql_err_corrupt(err, "roaring bitmap: truncated header");
  const uint8_t *keycards = data + p;
  p += (size_t)n * 4;
  if (has_offsets) {
    if ((len - p) / 4 < n) return lsql_err_corrupt(err, "roaring bitmap: truncated offsets");
    p += (size_t)n * 4; /* containers follow in order; the offsets are redundant */
  }
  for (uint32_t i = 0; i < n; i++) {
    uint64_t key = (uint64_t)lsql_load_le16(keycards + 4 * (size_t)i) << 16;
    uint32_t card = (uint32_t)lsql_load_le16(keycards + 4 * (size_t)i + 2) + 1;
    bool is_run = run_flags && ((run_flags[i / 8] >> (i % 8)) & 1);
    if (is_run) {
      if (len - p < 2) goto truncated;
      uint32_t nruns = lsql_load_le16(data + p);
      p += 2;
      if ((len - p) / 4 < nruns) goto truncated;
      for (uint32_t r = 0; r < nruns; r++) {
        uint32_t start = lsql_load_le16(data + p + 4 * (size_t)r);
        uint32_t lm1 = lsql_load_le16(data + p + 4 * (size_t)r + 2);
        if (start + lm1 > 0xFFFF)
          return lsql_err_corrupt(err, "roaring bitmap: container %" PRIu32 ": run overflows", i);
        for (uint32_t v = start; v <= start + lm1; v++)
          if (mark(deleted, n_rows, key | v, n_deleted)) goto range;
      }
      p += (size_t)nruns * 4;
    } else if (card > 4096) {
      if (len - p < 8192) goto truncated;
      for (uint32_t w = 0; w < 1024; w++) {
        uint64_t word = lsql_load_le64(data + p + 8 * (size_t)w);
        while (word) {
          uint32_t b = (uint32_t)__builtin_ctzll(word);
          word &= word - 1;
          if (mark(deleted, n_rows, key | (w * 64 + b), n_deleted)) goto range;
        }
      }
      p += 8192;
    } else {
      if ((len - p) / 2 < card) goto truncated;
      for (uint32_t k = 0; k < card; k++)
        if (mark(deleted, n_rows, key | lsql_load_le16(data + p + 2 * (size_t)k), n_deleted))
          goto range;
      p += (size_t)card * 2;
    }
    continue;
  truncated:
    return lsql_err_corrupt(err, "roaring bitmap: container %" PRIu32 " truncated", i);
  }
  return LSQL_OK;
range:
  return lsql_err_corrupt(err, "roaring bitmap: deleted offset beyond the fragment's %" PRIu64 " rows",
                          n_rows);
}

/* ---- Arrow IPC file (flatbuffers decoded by hand) ------------------------------------------ */

typedef struct fb {
  const uint8_t *b;
  size_t len;
} fb;

/* A flatbuffer table: position, vtable position and sizes, all checked against the buffer. */
typedef struct fb_table {
  size_t pos, vt;
  uint16_t vt_size, t_size;
} fb_table;

static bool fb_open_table(const fb *f, size_t pos, fb_table *t) {
  if (lsql_range_bad(pos, 4, f->len)) return false;
  int32_t soff = (int32_t)lsql_load_le32(f->b + pos);
  int64_t vt = (int64_t)pos - soff;
  if (vt < 0 || lsql_range_bad((uint64_t)vt, 4, f->len)) return false;
  t->pos = pos;
  t->vt = (size_t)vt;
  t->vt_size = lsql_load_le16(f->b + t->vt);
  t->t_size = lsql_load_le16(f->b + t->vt + 2);
  if (t->vt_size < 4 || lsql_range_bad(t->vt, t->vt_size, f->len)) return false;
  if (lsql_range_bad(pos, t->t_size, f->len)) return false;
  return true;
}

/* Absolute position of slot `slot` (0 when absent); `width` bytes must fit in the table. */
static size_t fb_slot(const fb *f, const fb_table *t, unsigned slot, size_t width, bool *bad) {
  size_t e = 4 + 2 * (size_t)slot;
  if (e + 2 > t->vt_size) return 0;
  uint16_t off = lsql_load_le16(f->b + t->vt + e);
  if (!off) return 0;
  if ((size_t)off + width > t->t_size) {
    *bad = true;
    return 0;
  }
  return t->pos + off;
}

static int64_t fb_int(const fb *f, const fb_table *t, unsigned slot, size_t width, int64_t dflt,
                      bool *bad) {
  size_t p = fb_slot(f, t, slot, width, bad);
  if (!p) return dflt;
  switch (width) {
    case 1: return (int8_t)f->b[p];
    case 2: return (int16_t)lsql_load_le16(f->b + p);
    case 4: return (int32_t)lsql_load_le32(f->b + p);
    default: return (int64_t)lsql_load_le64(f->b + p);
  }
}

/* Follows an offset field to a table or vector; returns 0 when absent or out of bounds. */
static size_t fb_ref(const fb *f, const fb_table *t, unsigned slot, bool *bad) {
  size_t p = fb_slot(f, t, slot, 4, bad);
  if (!p) return 0;
  uint64_t target = (uint64_t)p + lsql_load_le32(f->b + p);
  if (target >= f->len) {
    *bad = true;
    return 0;
  }
  return (size_t)target;
}

/* A vector of `elem`-byte elements: *count and position of element 0. */
static bool fb_vector(const fb *f, size_t pos, size_t elem, uint32_t *count, size_t *first) {
  if (lsql_range_bad(pos, 4, f->len)) return false;
  *count = lsql_load_le32(f->b + pos);
  *first = pos + 4;
  uint64_t bytes;
  if (lsql_mul_overflow_u64(*count, elem, &bytes)) return false;
  return !lsql_range_bad(*first, bytes, f->len);
}

static bool fb_sub_table(const fb *f, const fb_table *t, unsigned slot, fb_table *out, bool *bad) {
  size_t p = fb_ref(f, t, slot, bad);
  return p && fb_open_table(f, p, out);
}

/* Checks that the schema has exactly one 32-bit integer column (Lance writes UInt32 "row_id"). */
static int check_schema(const fb *f, const fb_table *footer, lsql_error *err) {
  bool bad = false;
  fb_table schema, field, type;
  uint32_t nf;
  size_t first;
  if (!fb_sub_table(f, footer, 1, &schema, &bad))
    return lsql_err_corrupt(err, "deletion file: missing schema");
  size_t fv = fb_ref(f, &schema, 1, &bad);
  if (!fv || !fb_vector(f, fv, 4, &nf, &first) || nf != 1)
    return lsql_err_corrupt(err, "deletion file: expected one column");
  size_t fpos = first + lsql_load_le32(f->b + first);
  if (fpos >= f->len || !fb_open_table(f, fpos, &field))
    return lsql_err_corrupt(err, "deletion file: bad field");
  int64_t type_type = fb_int(f, &field, 2, 1, 0, &bad);
  if (type_type != 2 /* Type.Int */ || !fb_sub_table(f, &field, 3, &type, &bad) || bad)
    return lsql_err_corrupt(err, "deletion file: column is not an integer");
  int64_t bits = fb_int(f, &type, 0, 4, 0, &bad);
  if (bits != 32 || bad)
    return lsql_err_corrupt(err, "deletion file: column is %" PRId64 "-bit, expected 32", bits);
  return LSQL_OK;
}

int lsql_table_deletion_parse_arrow(const uint8_t *data, size_t len, uint64_t n_rows,
                                    uint8_t *deleted, uint64_t *n_deleted, lsql_error *err) {
  *n_deleted = 0;
  bool bad = false;
  if (len < 6 + 4 + 6 || memcmp(data, "ARROW1", 6) != 0 || memcmp(data + len - 6, "ARROW1", 6) != 0)
    return lsql_err_corrupt(err, "deletion file: not an Arrow IPC file");
  int32_t footer_len = (int32_t)lsql_load_le32(data + len - 10);
  if (footer_len <= 0 || (size_t)footer_len > len - 16)
    return lsql_err_corrupt(err, "deletion file: bad footer length %" PRId32, footer_len);
  /* The footer is its own flatbuffer; view it with offsets relative to its start. */
  fb ff = {data + len - 10 - footer_len, (size_t)footer_len};
  fb_table footer, msg, rb, comp;
  if (ff.len < 4 || !fb_open_table(&ff, lsql_load_le32(ff.b), &footer))
    return lsql_err_corrupt(err, "deletion file: bad footer");
  LSQL_TRY(check_schema(&ff, &footer, err));
  uint32_t nb;
  size_t first;
  size_t bv = fb_ref(&ff, &footer, 3, &bad);
  if (!bv || !fb_vector(&ff, bv, 24, &nb, &first) || nb != 1)
    return lsql_err_corrupt(err, "deletion file: expected exactly one record batch");
  uint64_t boff = lsql_load_le64(ff.b + first);
  int32_t meta_len = (int32_t)lsql_load_le32(ff.b + first + 8);
  uint64_t body_len = lsql_load_le64(ff.b + first + 16);
  if (meta_len < 8 || lsql_range_bad(boff, (uint64_t)meta_len, len) ||
      lsql_range_bad(boff + (uint64_t)meta_len, body_len, len))
    return lsql_err_corrupt(err, "deletion file: record batch block outside the file");
  /* Message: [0xFFFFFFFF][i32 len][flatbuffer] (older writers omit the continuation marker). */
  size_t mpos = (size_t)boff + 4;
  if (lsql_load_le32(data + boff) == 0xFFFFFFFFu) mpos += 4;
  if (mpos >= boff + (uint64_t)meta_len) return lsql_err_corrupt(err, "deletion file: bad message");
  fb mf = {data + mpos, (size_t)(boff + (uint64_t)meta_len - mpos)};
  if (mf.len < 4 || !fb_open_table(&mf, lsql_load_le32(mf.b), &msg))
    return lsql_err_corrupt(err, "deletion file: bad message");
  if (fb_int(&mf, &msg, 1, 1, 0, &bad) != 3 /* MessageHeader.RecordBatch */ ||
      !fb_sub_table(&mf, &msg, 2, &rb, &bad) || bad)
    return lsql_err_corrupt(err, "deletion file: message is not a record batch");
  int64_t length = fb_int(&mf, &rb, 0, 8, 0, &bad);
  if (length < 0 || (uint64_t)length > n_rows)
    return lsql_err_corrupt(err, "deletion file: %" PRId64 " deleted rows in a fragment of %" PRIu64,
                            length, n_rows);
  uint32_t nn, nbuf;
  size_t nodes, bufs;
  size_t np = fb_ref(&mf, &rb, 1, &bad), bp = fb_ref(&mf, &rb, 2, &bad);
  if (!np || !bp || !fb_vector(&mf, np, 16, &nn, &nodes) || !fb_vector(&mf, bp, 16, &nbuf, &bufs) ||
      nn != 1 || nbuf != 2)
    return lsql_err_corrupt(err, "deletion file: expected one column with two buffers");
  if ((int64_t)lsql_load_le64(mf.b + nodes) != length || lsql_load_le64(mf.b + nodes + 8) != 0)
    return lsql_err_corrupt(err, "deletion file: column length or null count mismatch");
  int codec = -1;
  if (fb_sub_table(&mf, &rb, 3, &comp, &bad)) codec = (int)fb_int(&mf, &comp, 0, 1, 0, &bad);
  if (bad) return lsql_err_corrupt(err, "deletion file: bad record batch");
  if (codec > 1 || codec == 0)
    return lsql_err(err, LSQL_EUNSUPPORTED, "deletion file: unsupported buffer compression %d", codec);
  uint64_t voff = lsql_load_le64(mf.b + bufs + 16), vlen = lsql_load_le64(mf.b + bufs + 24);
  if (lsql_range_bad(voff, vlen, body_len))
    return lsql_err_corrupt(err, "deletion file: values buffer outside the body");
  const uint8_t *vals = data + boff + (uint64_t)meta_len + voff;
  uint64_t need = (uint64_t)length * 4;
  uint8_t *owned = NULL;
  if (codec == 1 && vlen > 0) {
    /* Compressed buffers: i64 uncompressed length, -1 = stored raw (Arrow IPC BodyCompression). */
    if (vlen < 8) return lsql_err_corrupt(err, "deletion file: truncated compressed buffer");
    int64_t ulen = (int64_t)lsql_load_le64(vals);
    vals += 8;
    vlen -= 8;
    if (ulen != -1) {
      if (ulen < 0 || (uint64_t)ulen != need)
        return lsql_err_corrupt(err, "deletion file: uncompressed length %" PRId64 ", expected %" PRIu64,
                                ulen, need);
      owned = lsql_malloc((size_t)need);
      if (!owned) return lsql_err_oom(err);
      size_t got = ZSTD_decompress(owned, (size_t)need, vals, (size_t)vlen);
      if (ZSTD_isError(got) || got != need) {
        lsql_free(owned);
        return lsql_err_corrupt(err, "deletion file: zstd: %s",
                                ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short output");
      }
      vals = owned;
      vlen = need;
    }
  }
  if (vlen < need) {
    lsql_free(owned);
    return lsql_err_corrupt(err, "deletion file: values buffer holds %" PRIu64 " bytes, need %" PRIu64,
                            vlen, need);
  }
  int rc = LSQL_OK;
  for (int64_t i = 0; i < length; i++)
    if (mark(deleted, n_rows, lsql_load_le32(vals + 4 * i), n_deleted)) {
      rc = lsql_err_corrupt(err, "deletion file: deleted offset %" PRIu32 " beyond the fragment's %" PRIu64
                            " rows", lsql_load_le32(vals + 4 * i), n_rows);
      break;
    }
  lsql_free(owned);
  return rc;
}
