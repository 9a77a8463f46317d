/* Decoded value containers (lsql_vals): appending, slicing and dictionary gathers. */
#include "format/internal.h"
#include "util/arrow.h"

void lsql_vals_free(lsql_vals *v) {
  lsql_buf_free(&v->data);
  lsql_buf_free(&v->offs);
  lsql_buf_free(&v->ivalid);
  lsql_buf_free(&v->valid);
  v->n = 0;
}

static int ensure_offs0(lsql_vals *d) {
  if (d->offs.len == 0) {
    uint64_t z = 0;
    return lsql_buf_append(&d->offs, &z, 8);
  }
  return LSQL_OK;
}

int lsql_vals_append_fixed(lsql_vals *d, const uint8_t *src, uint64_t n, lsql_error *err) {
  if (d->bits == 1) {
    size_t need = lsql_bitmap_bytes(d->n + n);
    if (lsql_buf_resize(&d->data, need) != LSQL_OK) return lsql_err_oom(err);
    lsql_bitmap_copy(d->data.data, d->n, src, 0, n);
  } else {
    uint64_t bytes;
    if (lsql_mul_overflow_u64(n, d->bits / 8, &bytes) || bytes > SIZE_MAX) return lsql_err_corrupt(err, "value count overflow");
    if (lsql_buf_append(&d->data, src, (size_t)bytes) != LSQL_OK) return lsql_err_oom(err);
  }
  d->n += n;
  return LSQL_OK;
}

int lsql_vals_append_constant(lsql_vals *d, const uint8_t *value, size_t w, uint64_t n, lsql_error *err) {
  uint64_t bytes;
  if (lsql_mul_overflow_u64(n, w, &bytes) || bytes > SIZE_MAX) return lsql_err_corrupt(err, "value count overflow");
  d->bits = (uint32_t)(w * 8);
  if (lsql_buf_reserve(&d->data, (size_t)bytes) != LSQL_OK) return lsql_err_oom(err);
  uint8_t *dst = d->data.data + d->data.len;
  if (n) memcpy(dst, value, w);
  /* Doubling copies: log2(n) memcpy calls instead of one per value. */
  for (uint64_t done = n ? 1 : 0; done < n;) {
    uint64_t k = LSQL_MIN(done, n - done);
    memcpy(dst + done * w, dst, (size_t)(k * w));
    done += k;
  }
  d->data.len += (size_t)bytes;
  d->n += n;
  return LSQL_OK;
}

int lsql_vals_append_var(lsql_vals *d, unsigned off_bits, const uint8_t *offs, const uint8_t *bytes,
                         size_t bytes_len, uint64_t n, lsql_error *err) {
  if (ensure_offs0(d) != LSQL_OK || lsql_buf_reserve(&d->offs, (size_t)n * 8) != LSQL_OK)
    return lsql_err_oom(err);
  uint64_t first = off_bits == 32 ? lsql_load_le32(offs) : lsql_load_le64(offs);
  uint64_t last = off_bits == 32 ? lsql_load_le32(offs + 4 * n) : lsql_load_le64(offs + 8 * n);
  if (first > last || last > bytes_len) return lsql_err_corrupt(err, "string offsets [%llu, %llu] out of range (%zu bytes)",
                                                             (unsigned long long)first, (unsigned long long)last, bytes_len);
  uint64_t base = (uint64_t)d->data.len;
  uint64_t *o = (uint64_t *)(d->offs.data + d->offs.len);
  uint64_t prev = first;
  if (off_bits == 32) {
    for (uint64_t i = 1; i <= n; i++) {
      uint64_t v = lsql_load_le32(offs + 4 * i);
      if (v < prev) return lsql_err_corrupt(err, "string offsets decrease");
      prev = v;
      o[i - 1] = base + (v - first);
    }
  } else {
    for (uint64_t i = 1; i <= n; i++) {
      uint64_t v = lsql_load_le64(offs + 8 * i);
      if (v < prev) return lsql_err_corrupt(err, "string offsets decrease");
      prev = v;
      o[i - 1] = base + (v - first);
    }
  }
  if (lsql_buf_append(&d->data, bytes + first, (size_t)(last - first)) != LSQL_OK) return lsql_err_oom(err);
  d->offs.len += (size_t)n * 8;
  d->n += n;
  return LSQL_OK;
}

int lsql_vals_append(lsql_vals *d, const lsql_vals *s, uint64_t a, uint64_t b, lsql_error *err) {
  if (b <= a) {
    if (s->var && ensure_offs0(d) != LSQL_OK) return lsql_err_oom(err);
    return LSQL_OK;
  }
  uint64_t n = b - a;
  if (s->var) {
    const uint64_t *so = (const uint64_t *)s->offs.data;
    if (ensure_offs0(d) != LSQL_OK || lsql_buf_reserve(&d->offs, (size_t)n * 8) != LSQL_OK)
      return lsql_err_oom(err);
    uint64_t base = d->data.len, first = so[a];
    uint64_t *o = (uint64_t *)(d->offs.data + d->offs.len);
    for (uint64_t i = 0; i < n; i++) o[i] = base + (so[a + 1 + i] - first);
    d->offs.len += (size_t)n * 8;
    if (lsql_buf_append(&d->data, s->data.data + first, (size_t)(so[b] - first)) != LSQL_OK)
      return lsql_err_oom(err);
    d->n += n;
  } else if (s->bits == 1) {
    if (lsql_buf_resize(&d->data, lsql_bitmap_bytes(d->n + n)) != LSQL_OK) return lsql_err_oom(err);
    lsql_bitmap_copy(d->data.data, d->n, s->data.data, a, n);
    d->n += n;
  } else if (s->bits) {
    size_t w = s->bits / 8;
    if (lsql_buf_append(&d->data, s->data.data + a * w, (size_t)n * w) != LSQL_OK) return lsql_err_oom(err);
    d->n += n;
  } else {
    d->n += n;
  }
  if (s->ivalid.len) {
    uint64_t dim = s->dim;
    if (lsql_buf_resize(&d->ivalid, lsql_bitmap_bytes((d->n) * dim)) != LSQL_OK) return lsql_err_oom(err);
    lsql_bitmap_copy(d->ivalid.data, (d->n - n) * dim, s->ivalid.data, a * dim, n * dim);
  }
  return LSQL_OK;
}

/* Dictionaries up to this size are copied (padded) to the stack for string gathers. */
#define GATHER_PAD_DICT 2048

/* Largest index (0 when n == 0): one branch-free pass the compiler vectorises. */
static uint32_t max_index(const uint32_t *idx, uint64_t n) {
  uint32_t m = 0;
  for (uint64_t i = 0; i < n; i++) m = idx[i] > m ? idx[i] : m;
  return m;
}

int lsql_vals_gather(lsql_vals *d, const lsql_vals *dict, const uint32_t *idx, uint64_t n, lsql_error *err) {
  /* An empty fixed-width dictionary gathers zeros (all values are null); anything else must index it. */
  if (n && (dict->var || dict->n)) {
    uint32_t m = max_index(idx, n);
    if (m >= dict->n) return lsql_err_corrupt(err, "dictionary index %u >= %llu", m, (unsigned long long)dict->n);
  }
  return lsql_vals_gather_checked(d, dict, idx, n, err);
}

int lsql_vals_gather_checked(lsql_vals *d, const lsql_vals *dict, const uint32_t *idx, uint64_t n, lsql_error *err) {
  if (dict->var) {
    const uint64_t *so = (const uint64_t *)dict->offs.data;
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) total += so[idx[i] + 1] - so[idx[i]];
    if (total > SIZE_MAX - 64) return lsql_err_corrupt(err, "gathered strings too large");
    if (ensure_offs0(d) != LSQL_OK || lsql_buf_reserve(&d->offs, (size_t)n * 8) != LSQL_OK ||
        lsql_buf_reserve(&d->data, (size_t)total + 32) != LSQL_OK)
      return lsql_err_oom(err);
    uint64_t *o = (uint64_t *)(d->offs.data + d->offs.len);
    uint8_t *p = d->data.data + d->data.len;
    uint64_t pos = d->data.len;
    const uint8_t *src = dict->data.data;
    uint64_t slen = dict->data.len;
    /* A small dictionary is copied once with 32 readable bytes after it, so that its last values
     * take the fast path too (random indices would otherwise mispredict on them). */
    uint8_t padded[GATHER_PAD_DICT + 32];
    if (slen <= GATHER_PAD_DICT && n > 64) {
      if (slen) memcpy(padded, src, (size_t)slen);
      memset(padded + slen, 0, 32);
      src = padded;
      slen += 32;
    }
    for (uint64_t i = 0; i < n; i++) {
      uint64_t s = so[idx[i]], l = so[idx[i] + 1] - s;
      /* Short values: two fixed 16-byte copies (inlined, no length-dependent branch) when the
       * source has 32 readable bytes; the destination has 32 spare bytes (reserve above) and the
       * next value overwrites the excess. Others take one exact memcpy. */
      if (LSQL_LIKELY(l <= 32 && 32 <= slen - s)) {
        memcpy(p, src + s, 16);
        memcpy(p + 16, src + s + 16, 16);
      } else memcpy(p, src + s, l);
      p += l;
      pos += l;
      o[i] = pos;
    }
    d->offs.len += n * 8;
    d->data.len = pos;
    d->n += n;
    return LSQL_OK;
  }
  if (dict->bits % 8) return lsql_err(err, LSQL_EUNSUPPORTED, "dictionary of %u-bit values", dict->bits);
  size_t w = dict->bits / 8;
  if (lsql_buf_reserve(&d->data, (size_t)n * w) != LSQL_OK) return lsql_err_oom(err);
  uint8_t *p = d->data.data + d->data.len;
  if (dict->n == 0) {
    if (n) memset(p, 0, (size_t)n * w);
  } else {
    const uint8_t *src = dict->data.data;
    /* constant widths so that each copy is an inlined load/store */
#define GATHER_W(W) for (uint64_t i = 0; i < n; i++) memcpy(p + i * (W), src + (size_t)idx[i] * (W), (W))
    switch (w) {
      case 1: for (uint64_t i = 0; i < n; i++) p[i] = src[idx[i]]; break;
      case 2: GATHER_W(2); break;
      case 4: GATHER_W(4); break;
      case 8: GATHER_W(8); break;
      case 16: GATHER_W(16); break;
      default: GATHER_W(w); break;
    }
#undef GATHER_W
  }
  d->data.len += n * w;
  d->n += n;
  return LSQL_OK;
}
