/* Decoding one 2.1+ page (mini-block, full-zip, constant/all-null, blob) into levels and visible
 * values (lsql_dpage). Pages are decoded whole and cached by the field reader. */
#include "format/encoding/kernels.h"
#include "format/internal.h"
#include "util/arrow.h"

#define L(x) LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_##x

void lsql_dpage_free(lsql_dpage *p) {
  lsql_free(p->rep);
  lsql_free(p->def);
  lsql_free(p->row_level);
  lsql_free(p->row_vis);
  lsql_vals_free(&p->vals);
  lsql_vals_free(&p->dict);
  for (int i = 0; i < LSQL_DPAGE_SPARE_N; i++) lsql_buf_free(&p->spare[i]);
  memset(p, 0, sizeof *p);
}

/* Keeps *b (emptied) in spare slot `slot` of p, keeping the larger of it and the slot's buffer. */
static void stash(lsql_dpage *p, int slot, lsql_buf *b) {
  lsql_buf *s = &p->spare[slot];
  if (b->cap > s->cap) {
    lsql_buf_free(s);
    *s = *b;
    s->len = 0;
  } else lsql_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Takes spare slot `slot` of p (an empty buffer, possibly with capacity). */
static lsql_buf take_spare(lsql_dpage *p, int slot) {
  lsql_buf b = p->spare[slot];
  p->spare[slot] = (lsql_buf)LSQL_BUF_INIT;
  b.len = 0;
  return b;
}

void lsql_dpage_recycle(lsql_dpage *p) {
  stash(p, LSQL_DPAGE_SP_DATA, &p->vals.data);
  stash(p, LSQL_DPAGE_SP_OFFS, &p->vals.offs);
  if (p->rep && p->rep_cap) {
    lsql_buf b = {(uint8_t *)p->rep, 0, p->rep_cap};
    stash(p, LSQL_DPAGE_SP_REP, &b);
    p->rep = NULL;
  }
  if (p->def && p->def_cap) {
    lsql_buf b = {(uint8_t *)p->def, 0, p->def_cap};
    stash(p, LSQL_DPAGE_SP_DEF, &b);
    p->def = NULL;
  }
  if (p->row_level) {
    lsql_buf b = {(uint8_t *)p->row_level, 0, p->row_level_cap};
    stash(p, LSQL_DPAGE_SP_ROWL, &b);
    p->row_level = NULL;
  }
  if (p->row_vis) {
    lsql_buf b = {(uint8_t *)p->row_vis, 0, p->row_vis_cap};
    stash(p, LSQL_DPAGE_SP_ROWV, &b);
    p->row_vis = NULL;
  }
  lsql_buf keep[LSQL_DPAGE_SPARE_N];
  memcpy(keep, p->spare, sizeof keep);
  memset(p->spare, 0, sizeof p->spare);
  lsql_dpage_free(p);
  memcpy(p->spare, keep, sizeof keep);
}

static int set_layers(lsql_dpage *out, const Lance__Encodings21__RepDefLayer *ls, size_t n, lsql_error *err) {
  if (n > 16) return lsql_err(err, LSQL_EUNSUPPORTED, "%zu rep/def layers", n);
  out->n_layers = (int)n;
  for (size_t i = 0; i < n; i++) {
    if (ls[i] < 1 || ls[i] > 6) return lsql_err_corrupt(err, "bad rep/def layer %d", (int)ls[i]);
    out->layers[i] = ls[i];
  }
  return LSQL_OK;
}

/* Derives the row index (row starts, visible counts) from the levels. */
static int index_rows(lsql_dpage *p, uint64_t page_rows, lsql_error *err) {
  int max_rep = 0, max_vis = 0;
  bool seen_list = false;
  for (int i = 0; i < p->n_layers; i++) {
    if (lsql_layer_is_list(p->layers[i])) { max_rep++; seen_list = true; }
    else if (!seen_list) max_vis += lsql_layer_ndef(p->layers[i]);
    if (lsql_layer_is_list(p->layers[i]) && !seen_list) {}
  }
  /* visible = def <= sum of def levels before the first list layer */
  max_vis = 0;
  for (int i = 0; i < p->n_layers && !lsql_layer_is_list(p->layers[i]); i++) max_vis += lsql_layer_ndef(p->layers[i]);
  int max_def = 0;
  for (int i = 0; i < p->n_layers; i++) max_def += lsql_layer_ndef(p->layers[i]);
  /* Validation and the row index are branch-free passes: list pages have a level per item and
   * row starts are unpredictable. */
  if (p->def) {
    unsigned mx = 0;
    for (uint64_t i = 0; i < p->n_levels; i++) mx = p->def[i] > mx ? p->def[i] : mx;
    if ((int)mx > max_def) return lsql_err_corrupt(err, "definition level %u > max %d", mx, max_def);
  }
  if (p->rep) {
    if (!max_rep) return lsql_err_corrupt(err, "repetition levels without list layers");
    uint64_t rows = 0;
    unsigned mx = 0;
    for (uint64_t i = 0; i < p->n_levels; i++) {
      unsigned v = p->rep[i];
      mx = v > mx ? v : mx;
      rows += v == (unsigned)max_rep;
    }
    if ((int)mx > max_rep) return lsql_err_corrupt(err, "repetition level %u > max %d", mx, max_rep);
    if (p->n_levels && p->rep[0] != max_rep) return lsql_err_corrupt(err, "page does not start a row");
    if (rows != page_rows) return lsql_err_corrupt(err, "levels hold %llu rows, page says %llu", (unsigned long long)rows, (unsigned long long)page_rows);
    /* The previous page's row index buffers (spares) take this page's. */
    lsql_buf bl = take_spare(p, LSQL_DPAGE_SP_ROWL), bv = take_spare(p, LSQL_DPAGE_SP_ROWV);
    if (lsql_buf_reserve(&bl, (size_t)(rows + 1) * 8) != LSQL_OK || lsql_buf_reserve(&bv, (size_t)(rows + 1) * 8) != LSQL_OK) {
      lsql_buf_free(&bl);
      lsql_buf_free(&bv);
      return lsql_err_oom(err);
    }
    p->row_level = (uint64_t *)bl.data, p->row_level_cap = bl.cap;
    p->row_vis = (uint64_t *)bv.data, p->row_vis_cap = bv.cap;
    /* r <= rows throughout (rows counted above), so the unconditional stores stay in bounds; a
     * slot written for a non-start level is overwritten by the next row start (or below). */
    uint64_t r = 0, vis = 0;
    const uint16_t *rep = p->rep, *def = p->def;
    uint64_t *rl = p->row_level, *rv = p->row_vis;
    if (def) {
      for (uint64_t i = 0; i < p->n_levels; i++) {
        rl[r] = i;
        rv[r] = vis;
        r += rep[i] == max_rep;
        vis += def[i] <= max_vis;
      }
    } else {
      for (uint64_t i = 0; i < p->n_levels; i++) {
        rl[r] = i;
        rv[r] = i;
        r += rep[i] == max_rep;
      }
      vis = p->n_levels;
    }
    p->row_level[rows] = p->n_levels;
    p->row_vis[rows] = vis;
    if (vis != p->vals.n) return lsql_err_corrupt(err, "%llu visible items but %llu values", (unsigned long long)vis, (unsigned long long)p->vals.n);
  } else {
    if (max_rep) return lsql_err_corrupt(err, "list layers without repetition levels");
    if (p->n_levels != page_rows) return lsql_err_corrupt(err, "%llu levels for %llu rows", (unsigned long long)p->n_levels, (unsigned long long)page_rows);
    if (p->vals.n != page_rows && !(p->vals.n == 0 && p->vals.bits == 0 && !p->vals.var))
      return lsql_err_corrupt(err, "%llu values for %llu rows", (unsigned long long)p->vals.n, (unsigned long long)page_rows);
  }
  p->n_rows = page_rows;
  return LSQL_OK;
}

static int vals_shape(const lsql_cenc *e, lsql_vals *v, lsql_error *err) {
  uint32_t bits = 0, dim = 0;
  bool var = false;
  if (lsql_cenc_bits(e, &bits, &var, &dim)) return lsql_err(err, LSQL_EUNSUPPORTED, "value compression %d", e ? (int)e->compression_case : -1);
  v->bits = bits;
  v->var = var;
  return LSQL_OK;
}

static uint64_t rd_word(const uint8_t *p, int w) { return w == 2 ? lsql_load_le16(p) : lsql_load_le32(p); }

static int decode_miniblock(lsql_file *f, const lsql_page *pg, const Lance__Encodings21__MiniBlockLayout *mb,
                            const lsql_leaf_shape *shape, uint8_t **bufs, lsql_dpage *out, lsql_error *err) {
  LSQL_TRY(set_layers(out, mb->layers, mb->n_layers, err));
  size_t need = 2 + (mb->dictionary ? 1 : 0) + (mb->repetition_index_depth ? 1 : 0);
  if (pg->n_buffers < need) return lsql_err_corrupt(err, "mini-block page has %zu buffers, %zu needed", pg->n_buffers, need);
  if (mb->num_buffers > 16) return lsql_err_corrupt(err, "mini-block chunks with %llu buffers", (unsigned long long)mb->num_buffers);
  int ww = mb->has_large_chunk ? 4 : 2;
  size_t meta_len = pg->buf_size[0], data_len = pg->buf_size[1];
  if (meta_len % ww) return lsql_err_corrupt(err, "chunk metadata size %zu not a multiple of %d", meta_len, ww);
  size_t n_chunks = meta_len / ww;
  const uint8_t *meta = bufs[0], *data = bufs[1];
  /* Dictionary first: values may be gathered through it. */
  lsql_vals dict = {0};
  bool use_dict = mb->dictionary != NULL;
  int rc = LSQL_OK;
  if (use_dict) {
    rc = lsql_cenc_block(mb->dictionary, bufs[2], pg->buf_size[2], mb->num_dictionary_items, &dict, err);
    if (rc != LSQL_OK) {
      lsql_vals_free(&dict);
      return lsql_error_prefix(err, "dictionary: "), rc;
    }
    if (dict.n != mb->num_dictionary_items) {
      lsql_vals_free(&dict);
      return lsql_err_corrupt(err, "dictionary holds %llu items, %llu expected", (unsigned long long)dict.n,
                              (unsigned long long)mb->num_dictionary_items);
    }
  }
  lsql_vals idx = {0};
  if (use_dict) idx.data = take_spare(out, LSQL_DPAGE_SP_IDX);
  lsql_buf ixb = LSQL_BUF_INIT;
  lsql_vals *vdst = use_dict ? &idx : &out->vals;
  if ((rc = vals_shape(mb->value_compression, vdst, err)) != LSQL_OK) goto done;
  if (!use_dict && vdst->var && lsql_buf_reserve(&vdst->data, data_len) != LSQL_OK) { rc = lsql_err_oom(err); goto done; }
  if (!use_dict && !vdst->var && vdst->bits >= 8 && lsql_buf_reserve(&vdst->data, (size_t)mb->num_items * (vdst->bits / 8)) != LSQL_OK) { rc = lsql_err_oom(err); goto done; }
  /* FSST values: parse the symbol table once per page, not once per chunk. */
  lsql_fsst_table fsst;
  const lsql_cenc *vc = mb->value_compression;
  bool is_fsst = !use_dict && vc && vc->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FSST;
  if (is_fsst && (rc = lsql_fsst_table_parse(vc->fsst->symbol_table.data, vc->fsst->symbol_table.len, &fsst, err)) != LSQL_OK) goto done;
  /* Fixed-size lists of flat items (vectors): copy each chunk's values once, straight into the
   * page, instead of decoding the items into a temporary first. */
  const Lance__Encodings21__FixedSizeList *vfl =
      vc && vc->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FIXED_SIZE_LIST ? vc->fixed_size_list : NULL;
  bool fsl_flat = !use_dict && vfl && !vfl->has_validity && vfl->values &&
                  vfl->values->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT &&
                  !vfl->values->flat->data && vfl->values->flat->bits_per_value % 8 == 0 && vfl->values->flat->bits_per_value &&
                  vfl->items_per_value && !vdst->var && vdst->bits && vdst->bits % 8 == 0 && mb->num_buffers >= 1;
  bool has_rep = mb->rep_compression != NULL, has_def = mb->def_compression != NULL;
  lsql_buf rep = has_rep ? take_spare(out, LSQL_DPAGE_SP_REP) : (lsql_buf)LSQL_BUF_INIT;
  lsql_buf def = has_def ? take_spare(out, LSQL_DPAGE_SP_DEF) : (lsql_buf)LSQL_BUF_INIT;
  uint64_t pos = 0, values_seen = 0, levels = 0;
  for (size_t c = 0; c < n_chunks && rc == LSQL_OK; c++) {
    uint64_t w = rd_word(meta + c * ww, ww);
    uint64_t bytes = ((w >> 4) + 1) * 8, nv;
    unsigned lg = (unsigned)(w & 15);
    if (c + 1 < n_chunks) nv = (uint64_t)1 << lg;
    else {
      if (values_seen > mb->num_items) { rc = lsql_err_corrupt(err, "chunks hold more than %llu items", (unsigned long long)mb->num_items); break; }
      nv = mb->num_items - values_seen;
    }
    values_seen += nv;
    if (lsql_range_bad(pos, bytes, data_len)) {
      /* The last chunk's padding may run past the unpadded buffer size. */
      if (pos > data_len) { rc = lsql_err_corrupt(err, "chunk %zu at %llu past the data buffer", c, (unsigned long long)pos); break; }
      bytes = data_len - pos;
    }
    const uint8_t *ch = data + pos;
    pos += bytes;
    size_t hdr = 2 + (has_rep ? 2 : 0) + (has_def ? 2 : 0) + (size_t)mb->num_buffers * (ww == 4 ? 4 : 2);
    if (hdr > bytes) { rc = lsql_err_corrupt(err, "chunk %zu header larger than the chunk", c); break; }
    size_t o = 0;
    uint64_t nl = lsql_load_le16(ch);
    o += 2;
    uint64_t rep_sz = 0, def_sz = 0;
    if (has_rep) rep_sz = lsql_load_le16(ch + o), o += 2;
    if (has_def) def_sz = lsql_load_le16(ch + o), o += 2;
    uint64_t bsz[16];
    for (uint64_t b = 0; b < mb->num_buffers; b++) {
      bsz[b] = ww == 4 ? lsql_load_le32(ch + o) : lsql_load_le16(ch + o);
      o += ww == 4 ? 4 : 2;
    }
    o = (o + 7) & ~(size_t)7;
    const uint8_t *rp = NULL, *dp = NULL;
    if (has_rep) {
      if (lsql_range_bad(o, rep_sz, bytes)) { rc = lsql_err_corrupt(err, "chunk %zu: rep buffer out of range", c); break; }
      rp = ch + o;
      o = (o + rep_sz + 7) & ~(size_t)7;
    }
    if (has_def) {
      if (lsql_range_bad(o, def_sz, bytes)) { rc = lsql_err_corrupt(err, "chunk %zu: def buffer out of range", c); break; }
      dp = ch + o;
      o = (o + def_sz + 7) & ~(size_t)7;
    }
    uint8_t *vb[16];
    size_t vl[16];
    for (uint64_t b = 0; b < mb->num_buffers; b++) {
      if (lsql_range_bad(o, bsz[b], bytes)) { rc = lsql_err_corrupt(err, "chunk %zu: value buffer %llu out of range", c, (unsigned long long)b); goto chunk_fail; }
      vb[b] = (uint8_t *)ch + o;
      vl[b] = (size_t)bsz[b];
      o = (o + bsz[b] + 7) & ~(size_t)7;
    }
    if (has_rep || has_def) {
      if (has_rep) {
        if (lsql_buf_reserve(&rep, (size_t)nl * 2 + 2) != LSQL_OK) /* +2: never NULL when nl == 0 */ { rc = lsql_err_oom(err); break; }
        if ((rc = lsql_cenc_levels(mb->rep_compression, rp, rep_sz, nl, (uint16_t *)(rep.data + rep.len), err)) != LSQL_OK) { lsql_error_prefix(err, "chunk %zu: rep: ", c); break; }
        rep.len += nl * 2;
      }
      if (has_def) {
        if (lsql_buf_reserve(&def, (size_t)nl * 2 + 2) != LSQL_OK) /* +2: never NULL when nl == 0 */ { rc = lsql_err_oom(err); break; }
        if ((rc = lsql_cenc_levels(mb->def_compression, dp, def_sz, nl, (uint16_t *)(def.data + def.len), err)) != LSQL_OK) { lsql_error_prefix(err, "chunk %zu: def: ", c); break; }
        def.len += nl * 2;
      }
      levels += nl;
    } else {
      levels += nv;
    }
    if (nv && fsl_flat) {
      uint64_t vbytes;
      if (lsql_mul_overflow_u64(nv, vdst->bits / 8, &vbytes) || vbytes > vl[0]) {
        rc = lsql_err_corrupt(err, "chunk %zu: flat buffer holds %zu bytes for %llu values", c, vl[0], (unsigned long long)nv);
        break;
      }
      if ((rc = lsql_vals_append_fixed(vdst, vb[0], nv, err)) != LSQL_OK) break;
      continue;
    }
    if (nv && (rc = is_fsst ? lsql_cenc_fsst_chunk(&fsst, vc->fsst->values, vb, vl, (size_t)mb->num_buffers, nv, vdst, err)
                            : lsql_cenc_miniblock(vc, vb, vl, (size_t)mb->num_buffers, nv, vdst, err)) != LSQL_OK) {
      lsql_error_prefix(err, "chunk %zu: ", c);
      break;
    }
    continue;
  chunk_fail:
    break;
  }
  if (rc == LSQL_OK && values_seen != mb->num_items && n_chunks)
    rc = lsql_err_corrupt(err, "chunks hold %llu items, %llu expected", (unsigned long long)values_seen, (unsigned long long)mb->num_items);
  if (rc == LSQL_OK && !n_chunks && mb->num_items) rc = lsql_err_corrupt(err, "no chunks for %llu items", (unsigned long long)mb->num_items);
  out->n_levels = levels;
  out->rep = has_rep ? (uint16_t *)rep.data : NULL;
  out->def = has_def ? (uint16_t *)def.data : NULL;
  out->rep_cap = has_rep ? rep.cap : 0;
  out->def_cap = has_def ? def.cap : 0;
  if (!has_rep) lsql_buf_free(&rep);
  if (!has_def) lsql_buf_free(&def);
  if (rc == LSQL_OK && use_dict) {
    /* Indices to u32 (checked here, once), then either keep them with the dictionary (the
     * reader gathers each batch from it) or, for dictionaries it cannot gather, gather now. */
    ixb = take_spare(out, LSQL_DPAGE_SP_IX);
    if (lsql_buf_reserve(&ixb, (size_t)idx.n * 4 + 4) != LSQL_OK) rc = lsql_err_oom(err);
    else {
      uint32_t *ix = (uint32_t *)ixb.data;
      const uint8_t *s = idx.data.data;
      uint64_t ni = idx.n, mx = 0;
      uint32_t m32 = 0;
      /* the index width switch is outside the per-value loops; the max folds the check in */
      switch (idx.bits) {
        case 8: for (uint64_t i = 0; i < ni; i++) { uint32_t v = s[i]; ix[i] = v; m32 = v > m32 ? v : m32; } break;
        case 16: for (uint64_t i = 0; i < ni; i++) { uint32_t v = lsql_load_le16(s + 2 * i); ix[i] = v; m32 = v > m32 ? v : m32; } break;
        case 32: {
          /* already u32 (little-endian host): take the decoded buffer over, no copy */
          if (!ni) break;
          lsql_buf t = ixb;
          ixb = idx.data;
          idx.data = t;
          ix = (uint32_t *)ixb.data;
          for (uint64_t i = 0; i < ni; i++) m32 = ix[i] > m32 ? ix[i] : m32;
          break;
        }
        case 64:
          for (uint64_t i = 0; i < ni; i++) {
            uint64_t v = lsql_load_le64(s + 8 * i);
            ix[i] = (uint32_t)v;
            mx = v > mx ? v : mx;
          }
          break;
        default: rc = lsql_err_corrupt(err, "dictionary indices of %u bits", idx.bits);
      }
      mx = mx > m32 ? mx : m32;
      /* An empty fixed-width dictionary gathers zeros whatever the indices (all rows null). */
      bool empty_fixed = dict.n == 0 && !dict.var;
      if (rc == LSQL_OK && !shape->keep_dict && ni && !empty_fixed && mx >= dict.n)
        rc = lsql_err_corrupt(err, "dictionary index %llu >= %llu", (unsigned long long)mx, (unsigned long long)dict.n);
      /* The reader gathers fixed byte widths and strings; anything else is gathered here. */
      bool gatherable = dict.var || (dict.bits && dict.bits % 8 == 0);
      if (rc == LSQL_OK && (shape->keep_dict || gatherable)) {
        /* the indices become the page's values; its (empty) value buffer becomes the scratch */
        stash(out, LSQL_DPAGE_SP_IX, &out->vals.data);
        out->vals.bits = 32;
        out->vals.n = idx.n;
        out->vals.data = ixb;
        out->vals.data.len = (size_t)idx.n * 4;
        ixb = (lsql_buf)LSQL_BUF_INIT;
        out->dict = dict;
        memset(&dict, 0, sizeof dict);
        if (shape->keep_dict) out->has_dict = true;
        else out->gather_dict = true;
      } else if (rc == LSQL_OK) {
        out->vals.bits = dict.bits;
        out->vals.var = dict.var;
        rc = lsql_vals_gather_checked(&out->vals, &dict, ix, idx.n, err);
      }
    }
  }
done:
  stash(out, LSQL_DPAGE_SP_IX, &ixb);
  if (use_dict) stash(out, LSQL_DPAGE_SP_IDX, &idx.data);
  lsql_vals_free(&idx);
  lsql_vals_free(&dict);
  (void)f;
  return rc;
}

/* The Arrow builder splits packed rows using the schema; check the file agrees with it. */
static int check_var_packed(const Lance__Encodings21__VariablePackedStruct *vp, const lsql_field *f, lsql_error *err) {
  if (!f->packed || f->type != LSQL_TYPE_STRUCT || vp->n_fields != f->n_children)
    return lsql_err_corrupt(err, "variable packed struct does not match field \"%s\"", f->name);
  for (size_t i = 0; i < vp->n_fields; i++) {
    const Lance__Encodings21__VariablePackedStruct__FieldEncoding *fe = vp->fields[i];
    const lsql_field *c = &f->children[i];
    bool large = c->type == LSQL_TYPE_LARGE_UTF8 || c->type == LSQL_TYPE_LARGE_BINARY;
    bool var = large || c->type == LSQL_TYPE_UTF8 || c->type == LSQL_TYPE_BINARY;
    int want = lsql_field_fixed_bits(c);
    const lsql_cenc *ve = fe->value;
    bool raw = !ve || ve->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT ||
               ve->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE ||
               (var && ve->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FSST);
    if (!raw) return lsql_err(err, LSQL_EUNSUPPORTED, "compressed packed struct child %zu (encoding %d)", i, (int)ve->compression_case);
    if (var) {
      if (fe->layout_case != LANCE__ENCODINGS21__VARIABLE_PACKED_STRUCT__FIELD_ENCODING__LAYOUT_BITS_PER_LENGTH ||
          fe->bits_per_length != (large ? 64u : 32u))
        return lsql_err(err, LSQL_EUNSUPPORTED, "packed struct child %zu length prefix", i);
    } else if (fe->layout_case != LANCE__ENCODINGS21__VARIABLE_PACKED_STRUCT__FIELD_ENCODING__LAYOUT_BITS_PER_VALUE ||
               want <= 0 || want % 8 || fe->bits_per_value != (uint64_t)want)
      return lsql_err(err, LSQL_EUNSUPPORTED, "packed struct child %zu width", i);
  }
  return LSQL_OK;
}

/* Full-zip fixed-size lists with item validity: each visible value is ceil(dim/8) bytes of item
 * validity (LSB first) followed by dim item values. */
static int fullzip_fsl_validity(const lsql_page *pg, const Lance__Encodings21__FullZipLayout *fz, uint8_t **bufs,
                                unsigned cw, int max_vis, lsql_dpage *out, lsql_error *err) {
  const Lance__Encodings21__FixedSizeList *fl = fz->value_compression->fixed_size_list;
  const lsql_cenc *ie = fl->values;
  uint64_t dim = fl->items_per_value;
  if (!ie || ie->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT || !dim || dim > (1u << 20) ||
      ie->flat->bits_per_value % 8 || !ie->flat->bits_per_value || ie->flat->data)
    return lsql_err(err, LSQL_EUNSUPPORTED, "full-zip nested fixed-size-list with validity");
  uint64_t vb = (dim + 7) / 8, db = dim * (ie->flat->bits_per_value / 8);
  if (fz->bits_per_value != (vb + db) * 8) return lsql_err_corrupt(err, "full-zip value width %u, %llu expected", fz->bits_per_value, (unsigned long long)((vb + db) * 8));
  lsql_vals *v = &out->vals;
  v->bits = (uint32_t)(db * 8);
  v->dim = (uint32_t)dim;
  const uint8_t *p = bufs[0];
  size_t len = pg->buf_size[0], o = 0;
  uint64_t n = fz->num_items;
  if (cw) {
    out->rep = fz->bits_rep ? lsql_malloc((size_t)n * 2 + 2) : NULL;
    out->def = fz->bits_def ? lsql_malloc((size_t)n * 2 + 2) : NULL;
    if ((fz->bits_rep && !out->rep) || (fz->bits_def && !out->def)) return lsql_err_oom(err);
  }
  out->n_levels = n;
  uint32_t dmask = (1u << fz->bits_def) - 1;
  for (uint64_t i = 0; i < n; i++) {
    uint32_t df = 0;
    if (cw) {
      if (o + cw > len) return lsql_err_corrupt(err, "full-zip item %llu past the buffer", (unsigned long long)i);
      uint32_t word = cw == 1 ? p[o] : cw == 2 ? lsql_load_le16(p + o) : lsql_load_le32(p + o);
      o += cw;
      df = word & dmask;
      if (out->rep) out->rep[i] = (uint16_t)(word >> fz->bits_def);
      if (out->def) out->def[i] = (uint16_t)df;
    }
    if ((int)df > max_vis) continue;
    if (vb + db > len - o || o > len) return lsql_err_corrupt(err, "full-zip item %llu past the buffer", (unsigned long long)i);
    if (lsql_buf_resize(&v->ivalid, lsql_bitmap_bytes((v->n + 1) * dim)) != LSQL_OK ||
        lsql_buf_append(&v->data, p + o + vb, (size_t)db) != LSQL_OK)
      return lsql_err_oom(err);
    lsql_bitmap_copy(v->ivalid.data, v->n * dim, p + o, 0, dim);
    v->n++;
    o += vb + db;
  }
  return LSQL_OK;
}

/* Copies one variable packed struct row, expanding FSST-compressed children. */
static int vps_row(const Lance__Encodings21__VariablePackedStruct *vps, const lsql_fsst_table *vft, const lsql_field *f,
                   const uint8_t *p, size_t len, lsql_buf *out, lsql_error *err) {
  size_t o = 0;
  for (size_t i = 0; i < vps->n_fields; i++) {
    const Lance__Encodings21__VariablePackedStruct__FieldEncoding *fe = vps->fields[i];
    if (fe->layout_case == LANCE__ENCODINGS21__VARIABLE_PACKED_STRUCT__FIELD_ENCODING__LAYOUT_BITS_PER_VALUE) {
      size_t w = (size_t)fe->bits_per_value / 8;
      if (o + w > len) return lsql_err_corrupt(err, "packed row truncated");
      if (lsql_buf_append(out, p + o, w) != LSQL_OK) return lsql_err_oom(err);
      o += w;
      continue;
    }
    size_t lw = fe->bits_per_length == 64 ? 8 : 4;
    if (o + lw > len) return lsql_err_corrupt(err, "packed row truncated");
    uint64_t l = lw == 4 ? lsql_load_le32(p + o) : lsql_load_le64(p + o);
    o += lw;
    if (l > len - o) return lsql_err_corrupt(err, "packed row child %zu overflows the row", i);
    if (vft[i].n_symbols & 0x80000000u) {
      lsql_fsst_table t = vft[i];
      t.n_symbols &= 0x7fffffffu;
      size_t at = out->len;
      if (lsql_buf_resize(out, at + lw) != LSQL_OK) return lsql_err_oom(err);
      uint64_t io[2] = {0, l}, oo[2];
      LSQL_TRY(lsql_fsst_decode(&t, 64, io, p + o, (size_t)l, 1, out, oo, err));
      uint64_t dl = oo[1] - oo[0];
      if (lw == 4) lsql_store_le32(out->data + at, (uint32_t)dl);
      else lsql_store_le64(out->data + at, dl);
    } else {
      if (lsql_buf_append(out, p + o - lw, (size_t)(lw + l)) != LSQL_OK) return lsql_err_oom(err);
    }
    o += (size_t)l;
  }
  (void)f;
  return LSQL_OK;
}

static int decode_fullzip(const lsql_page *pg, const Lance__Encodings21__FullZipLayout *fz, const lsql_leaf_shape *shape,
                          uint8_t **bufs, lsql_dpage *out, lsql_error *err) {
  LSQL_TRY(set_layers(out, fz->layers, fz->n_layers, err));
  if (pg->n_buffers < 1) return lsql_err_corrupt(err, "full-zip page without buffers");
  if (fz->bits_rep > 16 || fz->bits_def > 16) return lsql_err_corrupt(err, "full-zip control word bits %u/%u", fz->bits_rep, fz->bits_def);
  unsigned cw_bits = fz->bits_rep + fz->bits_def;
  unsigned cw = cw_bits == 0 ? 0 : cw_bits <= 8 ? 1 : cw_bits <= 16 ? 2 : 4;
  int max_vis = 0;
  for (int i = 0; i < out->n_layers && !lsql_layer_is_list(out->layers[i]); i++) max_vis += lsql_layer_ndef(out->layers[i]);
  const uint8_t *p = bufs[0];
  size_t len = pg->buf_size[0], o = 0;
  uint64_t n = fz->num_items;
  const lsql_cenc *vc = fz->value_compression;
  bool fixed = fz->details_case == LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__DETAILS_BITS_PER_VALUE;
  if (!fixed && fz->details_case != LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__DETAILS_BITS_PER_OFFSET)
    return lsql_err_corrupt(err, "full-zip layout without value width");
  if (!vc) return lsql_err_corrupt(err, "full-zip layout without value compression");
  int rc = LSQL_OK;
  if (cw) {
    out->rep = fz->bits_rep ? lsql_malloc((size_t)n * 2 + 2) : NULL;
    out->def = fz->bits_def ? lsql_malloc((size_t)n * 2 + 2) : NULL;
    if ((fz->bits_rep && !out->rep) || (fz->bits_def && !out->def)) return lsql_err_oom(err);
  }
  out->n_levels = n;
  uint32_t dmask = (1u << fz->bits_def) - 1;
  lsql_vals *v = &out->vals;
  /* Per-value codecs. */
  int kind = 0; /* 0 = raw, 1 = fsst, 2 = general, 3 = variable packed struct */
  lsql_fsst_table ft;
  const Lance__Encodings21__VariablePackedStruct *vps = NULL;
  lsql_fsst_table *vft = NULL;
  int codec = 0;
  if (fixed) {
    uint32_t bits; bool var; 
    if (vc->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FIXED_SIZE_LIST && vc->fixed_size_list->has_validity) {
      /* fullzip_fsl_validity allocates its own rep/def levels: drop ours (leaked before). */
      lsql_free(out->rep);
      lsql_free(out->def);
      out->rep = out->def = NULL;
      return fullzip_fsl_validity(pg, fz, bufs, cw, max_vis, out, err);
    }
    if (lsql_cenc_bits(vc, &bits, &var, NULL) || var || bits != fz->bits_per_value || bits % 8 || !bits)
      return lsql_err(err, LSQL_EUNSUPPORTED, "full-zip fixed value encoding (%u bits)", fz->bits_per_value);
    v->bits = bits;
    if (!cw) {
      uint64_t need;
      if (lsql_mul_overflow_u64(n, bits / 8, &need) || need > len) return lsql_err_corrupt(err, "full-zip buffer holds %zu bytes, %llu needed", len, (unsigned long long)need);
      /* Plain values: take the page buffer over instead of copying it. */
      stash(out, LSQL_DPAGE_SP_DATA, &v->data);
      v->data.data = bufs[0];
      v->data.len = (size_t)need;
      v->data.cap = len + 8;
      v->n = n;
      bufs[0] = NULL;
      return LSQL_OK;
    }
    if (lsql_buf_reserve(&v->data, (size_t)fz->num_visible_items * (bits / 8)) != LSQL_OK) return lsql_err_oom(err);
  } else {
    if (fz->bits_per_offset != 32 && fz->bits_per_offset != 64) return lsql_err_corrupt(err, "full-zip offset width %u", fz->bits_per_offset);
    v->var = true;
    switch (vc->compression_case) {
      case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE: kind = 0; break;
      case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FSST:
        kind = 1;
        LSQL_TRY(lsql_fsst_table_parse(vc->fsst->symbol_table.data, vc->fsst->symbol_table.len, &ft, err));
        break;
      case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_GENERAL:
        kind = 2;
        codec = vc->general->compression && vc->general->compression->scheme == LANCE__ENCODINGS21__COMPRESSION_SCHEME__COMPRESSION_ALGORITHM_LZ4 ? LSQL_CODEC_LZ4 : LSQL_CODEC_ZSTD;
        break;
      case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE_PACKED_STRUCT:
        kind = 3; /* rows kept whole (FSST children expanded); split when building Arrow (repdef.c) */
        LSQL_TRY(check_var_packed(vc->variable_packed_struct, shape->field, err));
        vps = vc->variable_packed_struct;
        vft = lsql_calloc(vps->n_fields + 1, sizeof *vft);
        if (!vft) return lsql_err_oom(err);
        for (size_t i = 0; i < vps->n_fields; i++) {
          const lsql_cenc *ve = vps->fields[i]->value;
          if (ve && ve->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FSST) {
            int r2 = lsql_fsst_table_parse(ve->fsst->symbol_table.data, ve->fsst->symbol_table.len, &vft[i], err);
            if (r2 != LSQL_OK) { lsql_free(vft); return r2; }
            vft[i].n_symbols |= 0x80000000u; /* marks "this child is FSST" */
          }
        }
        break;
      default: return lsql_err(err, LSQL_EUNSUPPORTED, "full-zip variable value encoding %d", (int)vc->compression_case);
    }
    uint64_t z = 0;
    if (lsql_buf_append(&v->offs, &z, 8) != LSQL_OK || lsql_buf_reserve(&v->offs, (size_t)fz->num_visible_items * 8) != LSQL_OK ||
        lsql_buf_reserve(&v->data, len) != LSQL_OK) {
      lsql_free(vft);
      return lsql_err_oom(err);
    }
  }
  size_t vw = fixed ? fz->bits_per_value / 8 : 0, lw = fixed ? 0 : fz->bits_per_offset / 8;
  for (uint64_t i = 0; i < n; i++) {
    uint32_t word = 0, rp = 0, df = 0;
    if (cw) {
      if (o + cw > len) { rc = lsql_err_corrupt(err, "full-zip item %llu past the buffer", (unsigned long long)i); break; }
      word = cw == 1 ? p[o] : cw == 2 ? lsql_load_le16(p + o) : lsql_load_le32(p + o);
      o += cw;
      rp = word >> fz->bits_def;
      df = word & dmask;
      if (out->rep) out->rep[i] = (uint16_t)rp;
      if (out->def) out->def[i] = (uint16_t)df;
    }
    if ((int)df > max_vis) continue; /* invisible: null/empty list marker */
    if (fixed) {
      if (o + vw > len) { rc = lsql_err_corrupt(err, "full-zip item %llu past the buffer", (unsigned long long)i); break; }
      if (lsql_buf_append(&v->data, p + o, vw) != LSQL_OK) { rc = lsql_err_oom(err); break; }
      v->n++;
      o += vw;
    } else {
      uint64_t l = 0;
      if (df == 0) {
        if (o + lw > len) { rc = lsql_err_corrupt(err, "full-zip item %llu past the buffer", (unsigned long long)i); break; }
        l = lw == 4 ? lsql_load_le32(p + o) : lsql_load_le64(p + o);
        o += lw;
        if (l > len - o) { rc = lsql_err_corrupt(err, "full-zip item %llu length %llu past the buffer", (unsigned long long)i, (unsigned long long)l); break; }
        if (kind == 0) {
          if (lsql_buf_append(&v->data, p + o, (size_t)l) != LSQL_OK) { rc = lsql_err_oom(err); break; }
        } else if (kind == 3) {
          if ((rc = vps_row(vps, vft, shape->field, p + o, (size_t)l, &v->data, err)) != LSQL_OK) break;
        } else if (kind == 2) {
          if ((rc = lsql_decompress(codec, p + o, (size_t)l, (size_t)1 << 34, &v->data, err)) != LSQL_OK) break;
        } else {
          uint64_t io[2] = {0, l}, oo[2];
          if ((rc = lsql_fsst_decode(&ft, 64, io, p + o, (size_t)l, 1, &v->data, oo, err)) != LSQL_OK) break;
        }
        o += l;
      }
      uint64_t end = v->data.len;
      if (lsql_buf_append(&v->offs, &end, 8) != LSQL_OK) { rc = lsql_err_oom(err); break; }
      v->n++;
    }
  }
  lsql_free(vft);
  return rc;
}

/* Parses a 2.2+ constant scalar value buffer (u32 count, u32 lengths, bytes) into one value. */
static int parse_scalar_buffer(const uint8_t *p, size_t len, const lsql_field *lf, lsql_vals *one, lsql_error *err) {
  if (len < 4) return lsql_err_corrupt(err, "constant value buffer too small");
  uint32_t nb = lsql_load_le32(p);
  if (nb > 4 || 4 + (size_t)nb * 4 > len) return lsql_err_corrupt(err, "constant value buffer with %u buffers", nb);
  const uint8_t *b[4];
  size_t bl[4], o = 4 + (size_t)nb * 4;
  for (uint32_t i = 0; i < nb; i++) {
    bl[i] = lsql_load_le32(p + 4 + 4 * i);
    if (lsql_range_bad(o, bl[i], len)) return lsql_err_corrupt(err, "constant value buffer %u out of range", i);
    b[i] = p + o;
    o += bl[i];
  }
  bool var = lf->type == LSQL_TYPE_UTF8 || lf->type == LSQL_TYPE_LARGE_UTF8 || lf->type == LSQL_TYPE_BINARY ||
             lf->type == LSQL_TYPE_LARGE_BINARY;
  if (var) {
    if (nb != 2 || (bl[0] != 8 && bl[0] != 16)) return lsql_err_corrupt(err, "constant string scalar layout");
    unsigned w = bl[0] == 8 ? 32 : 64;
    one->var = true;
    return lsql_vals_append_var(one, w, b[0], b[1], bl[1], 1, err);
  }
  if (nb != 1 || bl[0] == 0 || bl[0] > 1024) return lsql_err_corrupt(err, "constant scalar layout");
  one->bits = (uint32_t)bl[0] * 8;
  return lsql_vals_append_fixed(one, b[0], 1, err);
}

static int decode_constant(const lsql_page *pg, const Lance__Encodings21__ConstantLayout *cl, const lsql_leaf_shape *shape,
                           uint8_t **bufs, lsql_dpage *out, lsql_error *err) {
  LSQL_TRY(set_layers(out, cl->layers, cl->n_layers, err));
  bool inl = cl->inline_value.len > 0, has_scalar = false;
  size_t lv0 = 0; /* index of the rep buffer */
  size_t nbuf = pg->n_buffers;
  if (inl) {
    if (nbuf != 0 && nbuf != 2) return lsql_err_corrupt(err, "constant layout with an inline value and %zu buffers", nbuf);
  } else if (nbuf == 1 || nbuf == 3) {
    has_scalar = true;
    lv0 = 1;
  } else if (nbuf != 0 && nbuf != 2) return lsql_err_corrupt(err, "constant layout with %zu buffers", nbuf);
  uint64_t nrep = 0, ndef = 0;
  for (size_t which = 0; which < 2 && lv0 + which < nbuf; which++) {
    size_t bi = lv0 + which;
    size_t len = pg->buf_size[bi];
    const lsql_cenc *ce = which == 0 ? cl->rep_compression : cl->def_compression;
    uint64_t cnt = ce ? (which == 0 ? cl->num_rep_values : cl->num_def_values) : len / 2;
    if (!ce && len % 2) return lsql_err_corrupt(err, "odd level buffer size %zu", len);
    if (!cnt) continue;
    uint16_t *lv = lsql_malloc((size_t)cnt * 2);
    if (!lv) return lsql_err_oom(err);
    int rc = ce ? lsql_cenc_levels(ce, bufs[bi], len, cnt, lv, err) : (memcpy(lv, bufs[bi], (size_t)cnt * 2), LSQL_OK);
    if (rc != LSQL_OK) { lsql_free(lv); return rc; }
    if (which == 0) out->rep = lv, nrep = cnt;
    else out->def = lv, ndef = cnt;
  }
  if (out->rep && out->def && nrep != ndef) return lsql_err_corrupt(err, "%llu rep levels but %llu def levels", (unsigned long long)nrep, (unsigned long long)ndef);
  out->n_levels = out->rep ? nrep : out->def ? ndef : pg->n_rows;
  if (!out->rep && !out->def && !inl && !has_scalar) {
    /* Simple all-null: every row is null at the leaf layer. */
    out->def = lsql_malloc((size_t)pg->n_rows * 2 + 2);
    if (!out->def) return lsql_err_oom(err);
    for (uint64_t i = 0; i < pg->n_rows; i++) out->def[i] = 1;
    if (out->n_layers == 0 || lsql_layer_ndef(out->layers[0]) == 0) {
      out->n_layers = 1;
      out->layers[0] = LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM;
    }
  }
  int max_vis = 0;
  for (int i = 0; i < out->n_layers && !lsql_layer_is_list(out->layers[i]); i++) max_vis += lsql_layer_ndef(out->layers[i]);
  uint64_t vis = 0;
  for (uint64_t i = 0; i < out->n_levels; i++) vis += !out->def || out->def[i] <= max_vis;
  lsql_vals *v = &out->vals;
  const lsql_field *lf = shape->field;
  if (inl || has_scalar) {
    lsql_vals one = {0};
    int rc;
    if (inl) {
      if (lf->type == LSQL_TYPE_BOOL) {
        one.bits = 1;
        uint8_t bit = cl->inline_value.data[0] & 1;
        rc = lsql_vals_append_fixed(&one, &bit, 1, err);
      } else {
        one.bits = (uint32_t)cl->inline_value.len * 8;
        rc = lsql_vals_append_fixed(&one, cl->inline_value.data, 1, err);
      }
    } else rc = parse_scalar_buffer(bufs[0], pg->buf_size[0], lf, &one, err);
    if (rc == LSQL_OK) {
      v->bits = one.bits;
      v->var = one.var;
      for (uint64_t i = 0; i < vis && rc == LSQL_OK; i++) rc = lsql_vals_append(v, &one, 0, 1, err);
    }
    lsql_vals_free(&one);
    return rc;
  }
  /* Null filler values of the leaf's shape. */
  bool var = lf->type == LSQL_TYPE_UTF8 || lf->type == LSQL_TYPE_LARGE_UTF8 || lf->type == LSQL_TYPE_BINARY ||
             lf->type == LSQL_TYPE_LARGE_BINARY;
  if (var) {
    v->var = true;
    if (lsql_buf_resize(&v->offs, (size_t)(vis + 1) * 8) != LSQL_OK) return lsql_err_oom(err);
  } else {
    v->bits = 0; /* typeless filler: the Arrow builder writes zeros */
  }
  v->n = vis;
  return LSQL_OK;
}

/* 2.1 blob pages: the inner layout holds (position, size) descriptions; null rows carry their
 * def level in the position's upper bits. The output stays 128-bit descriptions. */
static int decode_blob(lsql_file *f, const lsql_page *pg, const Lance__Encodings21__BlobLayout *bl,
                       const lsql_leaf_shape *shape, uint8_t **bufs, lsql_dpage *out, lsql_error *err) {
  if (!bl->inner_layout || bl->inner_layout->layout_case == L(BLOB_LAYOUT)) return lsql_err_corrupt(err, "blob layout without a valid inner layout");
  lsql_page inner = *pg;
  inner.layout = bl->inner_layout;
  lsql_dpage d = {0};
  /* the inner layout describes the same page buffers: no second read */
  LSQL_TRY(lsql_decode_page21(f, &inner, shape, bufs, &d, err));
  int rc = LSQL_OK;
  if (d.gather_dict) {
    /* descriptions are rewritten in place below: gather them out of the dictionary first */
    lsql_vals g = {.bits = d.dict.bits, .var = d.dict.var};
    rc = lsql_vals_gather_checked(&g, &d.dict, (const uint32_t *)d.vals.data.data, d.vals.n, err);
    lsql_vals_free(&d.vals);
    d.vals = g;
    d.gather_dict = false;
    if (rc != LSQL_OK) {
      lsql_dpage_free(&d);
      return rc;
    }
  }
  if (d.rep || d.vals.var || (d.vals.bits != 128 && d.vals.n)) rc = lsql_err(err, LSQL_EUNSUPPORTED, "blob descriptions of this shape");
  else if (d.n_levels != d.vals.n) rc = lsql_err_corrupt(err, "blob descriptions: %llu levels, %llu values", (unsigned long long)d.n_levels, (unsigned long long)d.vals.n);
  if (rc == LSQL_OK) rc = set_layers(out, bl->layers, bl->n_layers, err);
  uint64_t n = d.vals.n;
  if (rc == LSQL_OK && !(out->def = lsql_malloc((size_t)n * 2 + 2))) rc = lsql_err_oom(err);
  for (uint64_t i = 0; i < n && rc == LSQL_OK; i++) {
    uint8_t *p = d.vals.data.data + i * 16;
    uint64_t pos = lsql_load_le64(p), size = lsql_load_le64(p + 8);
    out->def[i] = 0;
    if (size == 0 && pos != 0) {
      if (pos & 0xFFFF) rc = lsql_err(err, LSQL_EUNSUPPORTED, "blob descriptions with repetition");
      out->def[i] = (uint16_t)(pos >> 16);
      memset(p, 0, 16);
    }
  }
  if (rc == LSQL_OK) {
    out->n_levels = n;
    lsql_vals_free(&out->vals);
    out->vals = d.vals;
    memset(&d.vals, 0, sizeof d.vals);
  }
  lsql_dpage_free(&d);
  return rc;
}

int lsql_decode_page21(lsql_file *f, const lsql_page *pg, const lsql_leaf_shape *shape, uint8_t **bufs,
                       lsql_dpage *out, lsql_error *err) {
  lsql_buf keep[LSQL_DPAGE_SPARE_N];
  memcpy(keep, out->spare, sizeof keep);
  memset(out, 0, sizeof *out);
  memcpy(out->spare, keep, sizeof keep);
  out->vals.data = take_spare(out, LSQL_DPAGE_SP_DATA);
  out->vals.offs = take_spare(out, LSQL_DPAGE_SP_OFFS);
  const Lance__Encodings21__PageLayout *pl = pg->layout;
  if (!pl) return lsql_err_corrupt(err, "page has no layout");
  int rc;
  switch (pl->layout_case) {
    case L(MINI_BLOCK_LAYOUT): rc = decode_miniblock(f, pg, pl->mini_block_layout, shape, bufs, out, err); break;
    case L(FULL_ZIP_LAYOUT): rc = decode_fullzip(pg, pl->full_zip_layout, shape, bufs, out, err); break;
    case L(CONSTANT_LAYOUT): rc = decode_constant(pg, pl->constant_layout, shape, bufs, out, err); break;
    case L(BLOB_LAYOUT): rc = decode_blob(f, pg, pl->blob_layout, shape, bufs, out, err); break;
    case L(SPARSE_LAYOUT): rc = lsql_err(err, LSQL_EUNSUPPORTED, "sparse layout (file version 2.3)"); break;
    default: rc = lsql_err_corrupt(err, "unknown page layout %d", (int)pl->layout_case);
  }
  if (rc == LSQL_OK) rc = index_rows(out, pg->n_rows, err);
  if (rc != LSQL_OK) lsql_dpage_free(out);
  return rc;
}
