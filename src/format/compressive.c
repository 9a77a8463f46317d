/* Interpreting 2.1+ CompressiveEncoding trees in the three contexts the format uses: mini-block
 * chunks (values of one chunk), blocks (rep/def levels, dictionaries) and the tree description. */
#include "format/encoding/kernels.h"
#include "format/internal.h"
#include "util/arrow.h"

#define C(x) LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_##x

static int codec_of(const Lance__Encodings21__BufferCompression *bc) {
  if (!bc) return LSQL_CODEC_NONE;
  switch (bc->scheme) {
    case LANCE__ENCODINGS21__COMPRESSION_SCHEME__COMPRESSION_ALGORITHM_LZ4: return LSQL_CODEC_LZ4;
    case LANCE__ENCODINGS21__COMPRESSION_SCHEME__COMPRESSION_ALGORITHM_ZSTD: return LSQL_CODEC_ZSTD;
    default: return LSQL_CODEC_NONE;
  }
}

#define MAX_DECOMPRESSED ((size_t)1 << 34)

/* Decompresses buffer-level compression (Flat.data / Variable.values) into tmp, returning it. */
static int maybe_decompress(const Lance__Encodings21__BufferCompression *bc, const uint8_t **p, size_t *len,
                            lsql_buf *tmp, lsql_error *err) {
  int codec = codec_of(bc);
  if (codec == LSQL_CODEC_NONE) return LSQL_OK;
  LSQL_TRY(lsql_decompress(codec, *p, *len, MAX_DECOMPRESSED, tmp, err));
  if (lsql_buf_reserve(tmp, 8) != LSQL_OK) return lsql_err_oom(err);
  memset(tmp->data + tmp->len, 0, 8);
  *p = tmp->data;
  *len = tmp->len;
  return LSQL_OK;
}

/* Bits and shape of what an encoding decodes to. */
int lsql_cenc_bits(const lsql_cenc *e, uint32_t *bits, bool *var, uint32_t *dim) {
  if (!e) return -1;
  switch (e->compression_case) {
    case C(FLAT): *bits = (uint32_t)e->flat->bits_per_value; *var = false; return 0;
    case C(VARIABLE): case C(FSST): *bits = 0; *var = true; return 0;
    case C(INLINE_BITPACKING): *bits = (uint32_t)e->inline_bitpacking->uncompressed_bits_per_value; *var = false; return 0;
    case C(OUT_OF_LINE_BITPACKING): *bits = (uint32_t)e->out_of_line_bitpacking->uncompressed_bits_per_value; *var = false; return 0;
    case C(RLE): return lsql_cenc_bits(e->rle->values, bits, var, dim);
    case C(BYTE_STREAM_SPLIT): return lsql_cenc_bits(e->byte_stream_split->values, bits, var, dim);
    case C(GENERAL): return lsql_cenc_bits(e->general->values, bits, var, dim);
    case C(PACKED_STRUCT): {
      uint32_t s = 0;
      for (size_t i = 0; i < e->packed_struct->n_bits_per_value; i++) s += (uint32_t)e->packed_struct->bits_per_value[i];
      *bits = s; *var = false; return 0;
    }
    case C(FIXED_SIZE_LIST): {
      if (lsql_cenc_bits(e->fixed_size_list->values, bits, var, dim) || *var) return -1;
      *bits *= (uint32_t)e->fixed_size_list->items_per_value;
      if (dim) *dim = (uint32_t)e->fixed_size_list->items_per_value;
      return 0;
    }
    case C(DICTIONARY): return lsql_cenc_bits(e->dictionary->items, bits, var, dim);
    default: return -1;
  }
}

static int check_bits(uint64_t b) { return b == 8 || b == 16 || b == 32 || b == 64; }

/* Decodes fixed-width values from one buffer into out (which has out->bits set). */
static int fixed_from(const uint8_t *p, size_t len, uint64_t n, uint32_t bits, lsql_vals *out, lsql_error *err) {
  uint64_t need = bits == 1 ? (n + 7) / 8 : n * (bits / 8);
  if (bits != 1 && bits % 8) return lsql_err(err, LSQL_EUNSUPPORTED, "flat values of %u bits", bits);
  if (need > len) return lsql_err_corrupt(err, "flat buffer holds %zu bytes, %llu needed", len, (unsigned long long)need);
  return lsql_vals_append_fixed(out, p, n, err);
}

int lsql_cenc_fsst_chunk(const lsql_fsst_table *t, const lsql_cenc *ve, uint8_t *const *bufs,
                         const size_t *lens, size_t nbufs, uint64_t n, lsql_vals *out, lsql_error *err) {
  if (out->offs.len == 0) {
    uint64_t z = 0;
    if (lsql_buf_append(&out->offs, &z, 8) != LSQL_OK) return lsql_err_oom(err);
  }
  if (lsql_buf_reserve(&out->offs, (size_t)n * 8 + 8) != LSQL_OK) return lsql_err_oom(err);
  uint64_t *o = (uint64_t *)(out->offs.data + out->offs.len - 8);
  int rc;
  const lsql_cenc *oe = ve && ve->compression_case == C(VARIABLE) ? ve->variable->offsets : NULL;
  if (oe && !ve->variable->values && oe->compression_case == C(FLAT) && !oe->flat->data &&
      (oe->flat->bits_per_value == 32 || oe->flat->bits_per_value == 64) && nbufs >= 1) {
    /* The usual fsst(variable(flat)): offsets and compressed bytes sit in the chunk's buffer, so
     * decode straight from it into the page's values (no intermediate copy). */
    unsigned w = (unsigned)oe->flat->bits_per_value;
    if ((n + 1) * (w / 8) > lens[0]) return lsql_err_corrupt(err, "variable chunk too small for %llu offsets", (unsigned long long)n + 1);
    rc = lsql_fsst_decode(t, w, bufs[0], bufs[0], lens[0], n, &out->data, o, err);
  } else {
    lsql_vals tmp = {.var = true};
    rc = lsql_cenc_miniblock(ve, bufs, lens, nbufs, n, &tmp, err);
    if (rc == LSQL_OK) rc = lsql_fsst_decode(t, 64, tmp.offs.data, tmp.data.data, tmp.data.len, n, &out->data, o, err);
    lsql_vals_free(&tmp);
  }
  if (rc == LSQL_OK) {
    out->offs.len += (size_t)n * 8;
    out->n += n;
  }
  return rc;
}

int lsql_cenc_miniblock(const lsql_cenc *e, uint8_t *const *bufs, const size_t *lens, size_t nbufs,
                        uint64_t n, lsql_vals *out, lsql_error *err) {
  if (!e) return lsql_err_corrupt(err, "missing value compression");
  if (nbufs < 1 && e->compression_case != C(CONSTANT)) return lsql_err_corrupt(err, "mini-block chunk without value buffers");
  switch (e->compression_case) {
    case C(FLAT): {
      const uint8_t *p = bufs[0];
      size_t len = lens[0];
      lsql_buf tmp = LSQL_BUF_INIT;
      int rc = maybe_decompress(e->flat->data, &p, &len, &tmp, err);
      if (rc == LSQL_OK) rc = fixed_from(p, len, n, (uint32_t)e->flat->bits_per_value, out, err);
      lsql_buf_free(&tmp);
      return rc;
    }
    case C(INLINE_BITPACKING): {
      uint64_t t = e->inline_bitpacking->uncompressed_bits_per_value;
      if (!check_bits(t)) return lsql_err_corrupt(err, "inline bitpacking of %llu-bit values", (unsigned long long)t);
      if (lsql_buf_reserve(&out->data, (size_t)(n * (t / 8))) != LSQL_OK) return lsql_err_oom(err);
      LSQL_TRY(lsql_inline_bitpack_decode((unsigned)t, bufs[0], lens[0], n, out->data.data + out->data.len, err));
      out->data.len += (size_t)(n * (t / 8));
      out->n += n;
      return LSQL_OK;
    }
    case C(VARIABLE): {
      const lsql_cenc *oe = e->variable->offsets;
      if (!oe || oe->compression_case != C(FLAT) || (oe->flat->bits_per_value != 32 && oe->flat->bits_per_value != 64))
        return lsql_err(err, LSQL_EUNSUPPORTED, "variable offsets must be flat 32/64-bit");
      unsigned w = (unsigned)oe->flat->bits_per_value;
      if ((n + 1) * (w / 8) > lens[0]) return lsql_err_corrupt(err, "variable chunk too small for %llu offsets", (unsigned long long)n + 1);
      return lsql_vals_append_var(out, w, bufs[0], bufs[0], lens[0], n, err);
    }
    case C(FSST): {
      lsql_fsst_table t;
      LSQL_TRY(lsql_fsst_table_parse(e->fsst->symbol_table.data, e->fsst->symbol_table.len, &t, err));
      return lsql_cenc_fsst_chunk(&t, e->fsst->values, bufs, lens, nbufs, n, out, err);
    }
    case C(RLE): {
      const lsql_cenc *ve = e->rle->values;
      if (!ve || ve->compression_case != C(FLAT) || !check_bits(ve->flat->bits_per_value))
        return lsql_err(err, LSQL_EUNSUPPORTED, "rle values must be flat 8/16/32/64-bit");
      if (nbufs < 2) return lsql_err_corrupt(err, "rle chunk needs 2 buffers");
      unsigned t = (unsigned)ve->flat->bits_per_value;
      if (lsql_buf_reserve(&out->data, (size_t)(n * (t / 8))) != LSQL_OK) return lsql_err_oom(err);
      LSQL_TRY(lsql_rle_decode(t, bufs[0], lens[0], bufs[1], lens[1], n, out->data.data + out->data.len, err));
      out->data.len += (size_t)(n * (t / 8));
      out->n += n;
      return LSQL_OK;
    }
    case C(BYTE_STREAM_SPLIT): {
      const lsql_cenc *ve = e->byte_stream_split->values;
      if (!ve || ve->compression_case != C(FLAT) || ve->flat->bits_per_value % 8 || !ve->flat->bits_per_value)
        return lsql_err(err, LSQL_EUNSUPPORTED, "byte stream split of non-flat values");
      unsigned w = (unsigned)ve->flat->bits_per_value / 8;
      if (lsql_buf_reserve(&out->data, (size_t)(n * w)) != LSQL_OK) return lsql_err_oom(err);
      LSQL_TRY(lsql_bss_decode(w, bufs[0], lens[0], n, out->data.data + out->data.len, err));
      out->data.len += (size_t)(n * w);
      out->n += n;
      return LSQL_OK;
    }
    case C(GENERAL): {
      lsql_buf tmp = LSQL_BUF_INIT;
      int rc = lsql_decompress(codec_of(e->general->compression), bufs[0], lens[0], MAX_DECOMPRESSED, &tmp, err);
      if (rc == LSQL_OK && lsql_buf_reserve(&tmp, 8) != LSQL_OK) rc = lsql_err_oom(err);
      if (rc == LSQL_OK) {
        memset(tmp.data + tmp.len, 0, 8);
        uint8_t *nb[16];
        size_t nl[16];
        if (nbufs > 16) rc = lsql_err_corrupt(err, "too many chunk buffers");
        else {
          for (size_t i = 0; i < nbufs; i++) nb[i] = bufs[i], nl[i] = lens[i];
          nb[0] = tmp.data;
          nl[0] = tmp.len;
          rc = lsql_cenc_miniblock(e->general->values, nb, nl, nbufs, n, out, err);
        }
      }
      lsql_buf_free(&tmp);
      return rc;
    }
    case C(PACKED_STRUCT): {
      uint32_t bits; bool var;
      if (lsql_cenc_bits(e, &bits, &var, NULL) || bits % 8) return lsql_err(err, LSQL_EUNSUPPORTED, "packed struct of non-byte widths");
      return fixed_from(bufs[0], lens[0], n, bits, out, err);
    }
    case C(FIXED_SIZE_LIST): {
      const Lance__Encodings21__FixedSizeList *fl = e->fixed_size_list;
      uint64_t dim = fl->items_per_value, ni;
      if (!dim || lsql_mul_overflow_u64(n, dim, &ni)) return lsql_err_corrupt(err, "bad fixed-size-list dimension");
      size_t skip = 0;
      if (fl->has_validity) {
        if (nbufs < 2) return lsql_err_corrupt(err, "fixed-size-list validity buffer missing");
        if (lens[0] < lsql_bitmap_bytes(ni)) return lsql_err_corrupt(err, "fixed-size-list validity too small");
        uint64_t base = out->n * dim;
        out->dim = (uint32_t)dim;
        if (lsql_buf_resize(&out->ivalid, lsql_bitmap_bytes(base + ni)) != LSQL_OK) return lsql_err_oom(err);
        lsql_bitmap_copy(out->ivalid.data, base, bufs[0], 0, ni);
        skip = 1;
      }
      /* Decode the items as a flat sequence of n*dim values into the same byte buffer. */
      lsql_vals inner = {.bits = 0};
      bool var;
      uint32_t ib;
      if (lsql_cenc_bits(fl->values, &ib, &var, NULL) || var) return lsql_err(err, LSQL_EUNSUPPORTED, "fixed-size-list of variable items");
      inner.bits = ib;
      int rc = lsql_cenc_miniblock(fl->values, bufs + skip, lens + skip, nbufs - skip, ni, &inner, err);
      if (rc == LSQL_OK) {
        if (ib == 1) {
          if (lsql_buf_resize(&out->data, lsql_bitmap_bytes((out->n + n) * dim)) != LSQL_OK) rc = lsql_err_oom(err);
          else lsql_bitmap_copy(out->data.data, out->n * dim, inner.data.data, 0, ni);
        } else if (lsql_buf_append(&out->data, inner.data.data, inner.data.len) != LSQL_OK) rc = lsql_err_oom(err);
        out->n += n;
      }
      lsql_vals_free(&inner);
      return rc;
    }
    case C(CONSTANT): {
      uint32_t w = out->bits / 8;
      if (!w || e->constant->value.len != w) return lsql_err_corrupt(err, "constant of %zu bytes for %u-bit values", e->constant->value.len, out->bits);
      if (lsql_buf_reserve(&out->data, (size_t)(n * w)) != LSQL_OK) return lsql_err_oom(err);
      for (uint64_t i = 0; i < n; i++) memcpy(out->data.data + out->data.len + i * w, e->constant->value.data, w);
      out->data.len += (size_t)(n * w);
      out->n += n;
      return LSQL_OK;
    }
    default:
      return lsql_err(err, LSQL_EUNSUPPORTED, "mini-block value encoding %d", (int)e->compression_case);
  }
}

int lsql_cenc_block(const lsql_cenc *e, const uint8_t *buf, size_t len, uint64_t n, lsql_vals *out, lsql_error *err) {
  if (!e) return lsql_err_corrupt(err, "missing block compression");
  switch (e->compression_case) {
    case C(FLAT): {
      lsql_buf tmp = LSQL_BUF_INIT;
      int rc = maybe_decompress(e->flat->data, &buf, &len, &tmp, err);
      out->bits = (uint32_t)e->flat->bits_per_value;
      if (rc == LSQL_OK) rc = fixed_from(buf, len, n, out->bits, out, err);
      lsql_buf_free(&tmp);
      return rc;
    }
    case C(INLINE_BITPACKING): case C(OUT_OF_LINE_BITPACKING): {
      bool inl = e->compression_case == C(INLINE_BITPACKING);
      uint64_t t = inl ? e->inline_bitpacking->uncompressed_bits_per_value : e->out_of_line_bitpacking->uncompressed_bits_per_value;
      if (!check_bits(t)) return lsql_err_corrupt(err, "bitpacking of %llu-bit values", (unsigned long long)t);
      out->bits = (uint32_t)t;
      if (lsql_buf_reserve(&out->data, (size_t)(n * (t / 8)) + 8) != LSQL_OK) return lsql_err_oom(err);
      uint8_t *dst = out->data.data + out->data.len;
      if (inl) {
        LSQL_TRY(lsql_inline_bitpack_decode((unsigned)t, buf, len, n, dst, err));
      } else {
        const lsql_cenc *v = e->out_of_line_bitpacking->values;
        if (!v || v->compression_case != C(FLAT) || v->flat->bits_per_value > t)
          return lsql_err_corrupt(err, "out-of-line bitpacking needs a flat width <= %llu", (unsigned long long)t);
        LSQL_TRY(lsql_out_of_line_bitpack_decode((unsigned)t, (unsigned)v->flat->bits_per_value, buf, len, n, dst, err));
      }
      out->data.len += (size_t)(n * (t / 8));
      out->n += n;
      return LSQL_OK;
    }
    case C(CONSTANT): {
      size_t w = e->constant->value.len;
      if (!w || w > 32) return lsql_err_corrupt(err, "constant of %zu bytes", w);
      return lsql_vals_append_constant(out, e->constant->value.data, w, n, err);
    }
    case C(VARIABLE): {
      lsql_buf tmp = LSQL_BUF_INIT;
      int rc = maybe_decompress(e->variable->values, &buf, &len, &tmp, err);
      out->var = true;
      out->bits = 0;
      if (rc == LSQL_OK) {
        if (len < 8) rc = lsql_err_corrupt(err, "variable block too small");
        else {
          unsigned w = lsql_load_le32(buf);
          uint64_t start, hdr;
          if (w == 32) start = lsql_load_le32(buf + 4), hdr = 8;
          else if (w == 64 && len >= 16) start = lsql_load_le64(buf + 8), hdr = 16;
          else { rc = lsql_err_corrupt(err, "variable block offset width %u", w); goto vdone; }
          uint64_t need = hdr + (n + 1) * (w / 8);
          if (start < need || start > len) { rc = lsql_err_corrupt(err, "variable block bytes start %llu out of range", (unsigned long long)start); goto vdone; }
          /* Offsets index the bytes region that starts at `start`. */
          rc = lsql_vals_append_var(out, w, buf + hdr, buf + start, len - start, n, err);
        }
      }
    vdone:
      lsql_buf_free(&tmp);
      return rc;
    }
    case C(GENERAL): {
      lsql_buf tmp = LSQL_BUF_INIT;
      int rc = lsql_decompress(codec_of(e->general->compression), buf, len, MAX_DECOMPRESSED, &tmp, err);
      if (rc == LSQL_OK && lsql_buf_reserve(&tmp, 8) != LSQL_OK) rc = lsql_err_oom(err);
      if (rc == LSQL_OK) {
        memset(tmp.data + tmp.len, 0, 8);
        rc = lsql_cenc_block(e->general->values, tmp.data, tmp.len, n, out, err);
      }
      lsql_buf_free(&tmp);
      return rc;
    }
    case C(FIXED_SIZE_LIST): {
      uint64_t dim = e->fixed_size_list->items_per_value, ni;
      if (!dim || lsql_mul_overflow_u64(n, dim, &ni) || e->fixed_size_list->has_validity)
        return lsql_err(err, LSQL_EUNSUPPORTED, "fixed-size-list block");
      lsql_vals in = {0};
      int rc = lsql_cenc_block(e->fixed_size_list->values, buf, len, ni, &in, err);
      if (rc == LSQL_OK) {
        out->bits = in.bits * (uint32_t)dim;
        if (lsql_buf_append(&out->data, in.data.data, in.data.len) != LSQL_OK) rc = lsql_err_oom(err);
        out->n += n;
      }
      lsql_vals_free(&in);
      return rc;
    }
    case C(RLE): {
      /* Block frame: u64 LE size of the run values, the run values, then the run lengths. */
      const lsql_cenc *ve = e->rle->values, *le = e->rle->run_lengths;
      if (!ve || ve->compression_case != C(FLAT) || !check_bits(ve->flat->bits_per_value) || ve->flat->data ||
          !le || le->compression_case != C(FLAT) || le->flat->data ||
          (le->flat->bits_per_value != 8 && le->flat->bits_per_value != 16 && le->flat->bits_per_value != 32))
        return lsql_err(err, LSQL_EUNSUPPORTED, "rle block with non-flat children");
      if (len < 8) return lsql_err_corrupt(err, "rle block too small");
      uint64_t vsz = lsql_load_le64(buf);
      if (vsz > len - 8) return lsql_err_corrupt(err, "rle block values size %llu out of range", (unsigned long long)vsz);
      unsigned t = (unsigned)ve->flat->bits_per_value, lw = (unsigned)le->flat->bits_per_value / 8;
      const uint8_t *vals = buf + 8, *lens = buf + 8 + vsz;
      size_t lens_len = len - 8 - (size_t)vsz;
      out->bits = t;
      if (lsql_buf_reserve(&out->data, (size_t)(n * (t / 8)) + 8) != LSQL_OK) return lsql_err_oom(err);
      uint8_t *dst = out->data.data + out->data.len;
      if (lw == 1) {
        LSQL_TRY(lsql_rle_decode(t, vals, (size_t)vsz, lens, lens_len, n, dst, err));
      } else {
        size_t w = t / 8, runs = (size_t)vsz / w;
        if (vsz % w || lens_len / lw < runs) return lsql_err_corrupt(err, "rle block runs do not match");
        uint64_t k = 0;
        for (size_t r = 0; r < runs; r++) {
          uint64_t l = lw == 2 ? lsql_load_le16(lens + r * 2) : lsql_load_le32(lens + r * 4);
          if (!l || l > n - k) return lsql_err_corrupt(err, "rle block run %zu overflows %llu values", r, (unsigned long long)n);
          for (uint64_t j = 0; j < l; j++) memcpy(dst + (k + j) * w, vals + r * w, w);
          k += l;
        }
        if (k != n) return lsql_err_corrupt(err, "rle block holds %llu values, %llu expected", (unsigned long long)k, (unsigned long long)n);
      }
      out->data.len += (size_t)(n * (t / 8));
      out->n += n;
      return LSQL_OK;
    }
    default:
      return lsql_err(err, LSQL_EUNSUPPORTED, "block encoding %d", (int)e->compression_case);
  }
}

int lsql_cenc_levels(const lsql_cenc *e, const uint8_t *buf, size_t len, uint64_t n, uint16_t *out, lsql_error *err) {
  lsql_vals v = {0};
  int rc = lsql_cenc_block(e, buf, len, n, &v, err);
  if (rc == LSQL_OK) {
    if (v.var || v.n != n) rc = lsql_err_corrupt(err, "levels decode to %llu values, %llu expected", (unsigned long long)v.n, (unsigned long long)n);
    else if (v.bits == 16) { if (n) memcpy(out, v.data.data, (size_t)n * 2); }
    else if (v.bits == 8) for (uint64_t i = 0; i < n; i++) out[i] = v.data.data[i];
    else if (v.bits == 32) for (uint64_t i = 0; i < n; i++) out[i] = (uint16_t)lsql_load_le32(v.data.data + 4 * i);
    else if (v.bits == 64) for (uint64_t i = 0; i < n; i++) out[i] = (uint16_t)lsql_load_le64(v.data.data + 8 * i);
    else rc = lsql_err_corrupt(err, "levels of %u bits", v.bits);
  }
  lsql_vals_free(&v);
  return rc;
}

static const char *codec_name(const Lance__Encodings21__BufferCompression *bc) {
  int c = codec_of(bc);
  return c == LSQL_CODEC_LZ4 ? "lz4" : c == LSQL_CODEC_ZSTD ? "zstd" : "none";
}

const char *lsql_cenc_describe(const lsql_cenc *e, lsql_buf *o) {
  if (!e) { lsql_buf_append_str(o, "none"); return NULL; }
  switch (e->compression_case) {
    case C(FLAT):
      lsql_buf_appendf(o, "flat(%llu", (unsigned long long)e->flat->bits_per_value);
      if (e->flat->data) lsql_buf_appendf(o, ", %s", codec_name(e->flat->data));
      lsql_buf_append_str(o, ")");
      break;
    case C(VARIABLE): lsql_buf_append_str(o, "variable("); lsql_cenc_describe(e->variable->offsets, o); lsql_buf_append_str(o, ")"); break;
    case C(CONSTANT): lsql_buf_append_str(o, "constant"); break;
    case C(OUT_OF_LINE_BITPACKING): lsql_buf_append_str(o, "out_of_line_bitpacking"); break;
    case C(INLINE_BITPACKING): lsql_buf_append_str(o, "inline_bitpacking"); break;
    case C(FSST): lsql_buf_append_str(o, "fsst("); lsql_cenc_describe(e->fsst->values, o); lsql_buf_append_str(o, ")"); break;
    case C(DICTIONARY): lsql_buf_append_str(o, "dictionary"); break;
    case C(RLE): lsql_buf_append_str(o, "rle"); break;
    case C(BYTE_STREAM_SPLIT): lsql_buf_append_str(o, "byte_stream_split"); break;
    case C(GENERAL):
      lsql_buf_appendf(o, "general(%s, ", codec_name(e->general->compression));
      lsql_cenc_describe(e->general->values, o);
      lsql_buf_append_str(o, ")");
      break;
    case C(FIXED_SIZE_LIST):
      lsql_buf_appendf(o, "fixed_size_list(%llu%s, ", (unsigned long long)e->fixed_size_list->items_per_value,
                       e->fixed_size_list->has_validity ? ", validity" : "");
      lsql_cenc_describe(e->fixed_size_list->values, o);
      lsql_buf_append_str(o, ")");
      break;
    case C(PACKED_STRUCT): lsql_buf_append_str(o, "packed_struct"); break;
    case C(VARIABLE_PACKED_STRUCT): lsql_buf_append_str(o, "variable_packed_struct"); break;
    case C(RANGE): lsql_buf_append_str(o, "range"); break;
    case C(DELTA): lsql_buf_append_str(o, "delta"); break;
    default: lsql_buf_append_str(o, "unknown");
  }
  return NULL;
}
