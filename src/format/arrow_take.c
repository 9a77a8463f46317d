/* Gathering rows out of Arrow arrays built by this layer (offset 0, lancesql-owned buffers):
 * used to answer row-list selections on 2.0 files, which are read as one enclosing range. */
#include "format/internal.h"
#include "util/arrow.h"

static int take_validity(const struct ArrowArray *a, const uint64_t *idx, uint64_t n, struct ArrowArray *out) {
  const uint8_t *v = a->n_buffers ? a->buffers[0] : NULL;
  if (!v || a->null_count == 0) return LSQL_OK;
  uint8_t *b = lsql_calloc(lsql_bitmap_bytes(n) + 1, 1);
  if (!b) return LSQL_ENOMEM;
  int64_t nulls = 0;
  for (uint64_t i = 0; i < n; i++) {
    bool ok = lsql_bit_get(v, idx[i]);
    if (ok) lsql_bit_set(b, i);
    else nulls++;
  }
  lsql_arrow_array_set_buffer(out, 0, nulls ? b : NULL);
  if (!nulls) lsql_free(b);
  out->null_count = nulls;
  return LSQL_OK;
}

static int take(const lsql_field *f, const struct ArrowArray *a, const uint64_t *idx, uint64_t n, struct ArrowArray *out,
                lsql_error *err);

static int take_var(const struct ArrowArray *a, bool large, const uint64_t *idx, uint64_t n, struct ArrowArray *out,
                    lsql_error *err) {
  size_t ow = large ? 8 : 4;
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t k = idx[i];
    total += large ? (uint64_t)(((const int64_t *)a->buffers[1])[k + 1] - ((const int64_t *)a->buffers[1])[k])
                   : (uint64_t)(((const int32_t *)a->buffers[1])[k + 1] - ((const int32_t *)a->buffers[1])[k]);
  }
  uint8_t *o = lsql_malloc((size_t)(n + 1) * ow), *d = lsql_malloc((size_t)total + 1);
  if (!o || !d) { lsql_free(o); lsql_free(d); return lsql_err_oom(err); }
  uint64_t pos = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t k = idx[i], s, e;
    if (large) s = (uint64_t)((const int64_t *)a->buffers[1])[k], e = (uint64_t)((const int64_t *)a->buffers[1])[k + 1];
    else s = (uint64_t)((const int32_t *)a->buffers[1])[k], e = (uint64_t)((const int32_t *)a->buffers[1])[k + 1];
    if (large) ((int64_t *)o)[i] = (int64_t)pos; else ((int32_t *)o)[i] = (int32_t)pos;
    memcpy(d + pos, (const uint8_t *)a->buffers[2] + s, (size_t)(e - s));
    pos += e - s;
  }
  if (large) ((int64_t *)o)[n] = (int64_t)pos; else ((int32_t *)o)[n] = (int32_t)pos;
  lsql_arrow_array_set_buffer(out, 1, o);
  lsql_arrow_array_set_buffer(out, 2, d);
  return LSQL_OK;
}

static int take_children(const lsql_field *f, const struct ArrowArray *a, const uint64_t *idx, uint64_t n,
                         struct ArrowArray *out, lsql_error *err) {
  for (int64_t c = 0; c < a->n_children; c++) {
    const lsql_field *cf = (f->blob && f->type != LSQL_TYPE_STRUCT) ? NULL : &f->children[c];
    if (!cf) {
      /* blob descriptions: two uint64 children */
      uint64_t *d = lsql_malloc((size_t)n * 8 + 8);
      if (!d) return lsql_err_oom(err);
      for (uint64_t i = 0; i < n; i++) d[i] = ((const uint64_t *)a->children[c]->buffers[1])[idx[i]];
      if (lsql_arrow_array_init(out->children[c], 2, 0) != LSQL_OK) { lsql_free(d); return lsql_err_oom(err); }
      out->children[c]->length = (int64_t)n;
      lsql_arrow_array_set_buffer(out->children[c], 1, d);
      continue;
    }
    LSQL_TRY(take(cf, a->children[c], idx, n, out->children[c], err));
  }
  return LSQL_OK;
}

static int take(const lsql_field *f, const struct ArrowArray *a, const uint64_t *idx, uint64_t n, struct ArrowArray *out,
                lsql_error *err) {
  if (a->offset != 0) return lsql_err(err, LSQL_EUNSUPPORTED, "taking rows of a sliced array");
  if (lsql_arrow_array_init(out, a->n_buffers, a->n_children) != LSQL_OK) return lsql_err_oom(err);
  out->length = (int64_t)n;
  if (a->n_buffers == 0) { out->null_count = (int64_t)n; return LSQL_OK; }
  if (take_validity(a, idx, n, out) != LSQL_OK) return lsql_err_oom(err);
  switch (f->type) {
    case LSQL_TYPE_UTF8: case LSQL_TYPE_BINARY: return take_var(a, false, idx, n, out, err);
    case LSQL_TYPE_LARGE_UTF8: case LSQL_TYPE_LARGE_BINARY:
      if (f->blob) break;
      return take_var(a, true, idx, n, out, err);
    case LSQL_TYPE_STRUCT: return take_children(f, a, idx, n, out, err);
    case LSQL_TYPE_LIST: case LSQL_TYPE_LARGE_LIST: case LSQL_TYPE_MAP: {
      bool large = f->type == LSQL_TYPE_LARGE_LIST;
      uint64_t total = 0;
      for (uint64_t i = 0; i < n; i++) {
        uint64_t k = idx[i];
        total += large ? (uint64_t)(((const int64_t *)a->buffers[1])[k + 1] - ((const int64_t *)a->buffers[1])[k])
                       : (uint64_t)(((const int32_t *)a->buffers[1])[k + 1] - ((const int32_t *)a->buffers[1])[k]);
      }
      uint8_t *o = lsql_malloc((size_t)(n + 1) * (large ? 8 : 4));
      uint64_t *ci = lsql_malloc((size_t)total * 8 + 8);
      if (!o || !ci) { lsql_free(o); lsql_free(ci); return lsql_err_oom(err); }
      uint64_t pos = 0;
      for (uint64_t i = 0; i < n; i++) {
        uint64_t k = idx[i], s, e;
        if (large) s = (uint64_t)((const int64_t *)a->buffers[1])[k], e = (uint64_t)((const int64_t *)a->buffers[1])[k + 1];
        else s = (uint64_t)((const int32_t *)a->buffers[1])[k], e = (uint64_t)((const int32_t *)a->buffers[1])[k + 1];
        if (large) ((int64_t *)o)[i] = (int64_t)pos; else ((int32_t *)o)[i] = (int32_t)pos;
        for (uint64_t j = s; j < e; j++) ci[pos++] = j;
      }
      if (large) ((int64_t *)o)[n] = (int64_t)pos; else ((int32_t *)o)[n] = (int32_t)pos;
      lsql_arrow_array_set_buffer(out, 1, o);
      int rc = take(&f->children[0], a->children[0], ci, total, out->children[0], err);
      lsql_free(ci);
      return rc;
    }
    case LSQL_TYPE_FIXED_SIZE_LIST: {
      uint64_t w = (uint64_t)f->width, t = n * w;
      uint64_t *ci = lsql_malloc((size_t)t * 8 + 8);
      if (!ci) return lsql_err_oom(err);
      for (uint64_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < w; j++) ci[i * w + j] = idx[i] * w + j;
      int rc = take(&f->children[0], a->children[0], ci, t, out->children[0], err);
      lsql_free(ci);
      return rc;
    }
    case LSQL_TYPE_DICTIONARY: {
      /* gather the indices, share nothing: copy the dictionary through an identity take */
      size_t w = f->dict_index == LSQL_TYPE_INT8 || f->dict_index == LSQL_TYPE_UINT8 ? 1
               : f->dict_index == LSQL_TYPE_INT16 || f->dict_index == LSQL_TYPE_UINT16 ? 2
               : f->dict_index == LSQL_TYPE_INT32 || f->dict_index == LSQL_TYPE_UINT32 ? 4 : 8;
      uint8_t *d = lsql_malloc((size_t)n * w + 1);
      if (!d) return lsql_err_oom(err);
      for (uint64_t i = 0; i < n; i++) memcpy(d + i * w, (const uint8_t *)a->buffers[1] + idx[i] * w, w);
      lsql_arrow_array_set_buffer(out, 1, d);
      struct ArrowArray *od = lsql_arrow_array_alloc_dictionary(out);
      if (!od) return lsql_err_oom(err);
      uint64_t dn = (uint64_t)a->dictionary->length;
      uint64_t *all = lsql_malloc((size_t)dn * 8 + 8);
      if (!all) return lsql_err_oom(err);
      for (uint64_t i = 0; i < dn; i++) all[i] = i;
      int rc = take(&f->children[0], a->dictionary, all, dn, od, err);
      lsql_free(all);
      return rc;
    }
    default: break;
  }
  if (f->blob) return take_children(f, a, idx, n, out, err);
  if (f->type == LSQL_TYPE_NULL) return LSQL_OK;
  int bits = lsql_field_fixed_bits(f);
  if (bits <= 0) return lsql_err(err, LSQL_EUNSUPPORTED, "taking rows of %s", f->logical_type);
  if (bits == 1) {
    uint8_t *d = lsql_calloc(lsql_bitmap_bytes(n) + 1, 1);
    if (!d) return lsql_err_oom(err);
    for (uint64_t i = 0; i < n; i++)
      if (lsql_bit_get(a->buffers[1], idx[i])) lsql_bit_set(d, i);
    lsql_arrow_array_set_buffer(out, 1, d);
    return LSQL_OK;
  }
  size_t w = (size_t)bits / 8;
  uint8_t *d = lsql_malloc((size_t)n * w + 1);
  if (!d) return lsql_err_oom(err);
  const uint8_t *s = a->buffers[1];
  switch (w) {
    case 4: for (uint64_t i = 0; i < n; i++) memcpy(d + i * 4, s + idx[i] * 4, 4); break;
    case 8: for (uint64_t i = 0; i < n; i++) memcpy(d + i * 8, s + idx[i] * 8, 8); break;
    default: for (uint64_t i = 0; i < n; i++) memcpy(d + i * w, s + idx[i] * w, w);
  }
  lsql_arrow_array_set_buffer(out, 1, d);
  return LSQL_OK;
}

int lsql_arrow_take(const lsql_field *f, const struct ArrowArray *a, const uint64_t *idx, uint64_t n,
                    struct ArrowArray *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  int rc = take(f, a, idx, n, out, err);
  if (rc != LSQL_OK) lsql_arrow_array_reset(out);
  return rc;
}
