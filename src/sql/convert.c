/* Arrow arrays -> DuckDB vectors. Fixed-width values are memcpy'd, booleans unpacked, strings
 * copied into the vector's heap, validity copied word by word when aligned; nested types recurse
 * into the child vectors. Every offset read from an array is bounds-checked against its parent. */
#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"
#include "util/arrow.h"

/* ---- types -------------------------------------------------------------------------------- */

static int parse_decimal(const char *fmt, int *prec, int *scale, int *bits) {
  /* "d:P,S" or "d:P,S,BITS" */
  char *end;
  long p = strtol(fmt + 2, &end, 10);
  if (*end != ',') return -1;
  long sc = strtol(end + 1, &end, 10);
  long b = 128;
  if (*end == ',') b = strtol(end + 1, &end, 10);
  if (*end != '\0' || p < 1 || p > 76 || sc < 0 || sc > p) return -1;
  *prec = (int)p;
  *scale = (int)sc;
  *bits = (int)b;
  return 0;
}

static bool ts_has_tz(const char *fmt) { return fmt[4] != '\0'; } /* "tsu:" + zone */

int lsql_sql_arrow_to_duckdb_type(const struct ArrowSchema *s, duckdb_logical_type *out,
                                  lsql_error *err) {
  *out = NULL;
  if (s->dictionary) return lsql_sql_arrow_to_duckdb_type(s->dictionary, out, err);
  const char *f = s->format;
  duckdb_type t = DUCKDB_TYPE_INVALID;
  if (!f) return lsql_err(err, LSQL_EINVAL, "Arrow schema without format");
  if (f[0] && f[1] == '\0') {
    switch (f[0]) {
      case 'n': t = DUCKDB_TYPE_INTEGER; break; /* all-NULL column */
      case 'b': t = DUCKDB_TYPE_BOOLEAN; break;
      case 'c': t = DUCKDB_TYPE_TINYINT; break;
      case 'C': t = DUCKDB_TYPE_UTINYINT; break;
      case 's': t = DUCKDB_TYPE_SMALLINT; break;
      case 'S': t = DUCKDB_TYPE_USMALLINT; break;
      case 'i': t = DUCKDB_TYPE_INTEGER; break;
      case 'I': t = DUCKDB_TYPE_UINTEGER; break;
      case 'l': t = DUCKDB_TYPE_BIGINT; break;
      case 'L': t = DUCKDB_TYPE_UBIGINT; break;
      case 'e': case 'f': t = DUCKDB_TYPE_FLOAT; break;
      case 'g': t = DUCKDB_TYPE_DOUBLE; break;
      case 'u': case 'U': t = DUCKDB_TYPE_VARCHAR; break;
      case 'z': case 'Z': t = DUCKDB_TYPE_BLOB; break;
      default: break;
    }
  } else if (!strcmp(f, "vu")) {
    t = DUCKDB_TYPE_VARCHAR;
  } else if (!strcmp(f, "vz") || !strncmp(f, "w:", 2)) {
    t = DUCKDB_TYPE_BLOB;
  } else if (!strcmp(f, "tdD") || !strcmp(f, "tdm")) {
    t = DUCKDB_TYPE_DATE;
  } else if (!strncmp(f, "tt", 2) && f[2] && !f[3]) {
    t = DUCKDB_TYPE_TIME;
  } else if (!strncmp(f, "ts", 2) && f[2] && f[3] == ':') {
    if (ts_has_tz(f)) t = DUCKDB_TYPE_TIMESTAMP_TZ;
    else if (f[2] == 's') t = DUCKDB_TYPE_TIMESTAMP_S;
    else if (f[2] == 'm') t = DUCKDB_TYPE_TIMESTAMP_MS;
    else if (f[2] == 'u') t = DUCKDB_TYPE_TIMESTAMP;
    else if (f[2] == 'n') t = DUCKDB_TYPE_TIMESTAMP_NS;
  } else if (!strncmp(f, "tD", 2) && f[2] && !f[3]) {
    t = DUCKDB_TYPE_INTERVAL;
  } else if (f[0] == 'd' && f[1] == ':') {
    int p, sc, bits;
    if (parse_decimal(f, &p, &sc, &bits) == 0 && p <= 38 && (bits == 128 || bits == 64 || bits == 32)) {
      *out = duckdb_create_decimal_type((uint8_t)p, (uint8_t)sc);
      return LSQL_OK;
    }
  } else if (!strcmp(f, "+l") || !strcmp(f, "+L")) {
    if (s->n_children != 1) return lsql_err(err, LSQL_ECORRUPT, "list without child");
    duckdb_logical_type c;
    LSQL_TRY(lsql_sql_arrow_to_duckdb_type(s->children[0], &c, err));
    *out = duckdb_create_list_type(c);
    duckdb_destroy_logical_type(&c);
    return LSQL_OK;
  } else if (!strncmp(f, "+w:", 3)) {
    long n = strtol(f + 3, NULL, 10);
    if (s->n_children != 1 || n <= 0) return lsql_err(err, LSQL_ECORRUPT, "bad fixed-size list");
    duckdb_logical_type c;
    LSQL_TRY(lsql_sql_arrow_to_duckdb_type(s->children[0], &c, err));
    *out = duckdb_create_array_type(c, (idx_t)n);
    duckdb_destroy_logical_type(&c);
    return LSQL_OK;
  } else if (!strcmp(f, "+s")) {
    int64_t n = s->n_children;
    if (n == 0) return lsql_err(err, LSQL_EUNSUPPORTED, "empty struct");
    duckdb_logical_type *ct = lsql_calloc((size_t)n, sizeof *ct);
    const char **names = lsql_calloc((size_t)n, sizeof *names);
    int rc = (ct && names) ? LSQL_OK : lsql_err_oom(err);
    for (int64_t i = 0; rc == LSQL_OK && i < n; i++) {
      rc = lsql_sql_arrow_to_duckdb_type(s->children[i], &ct[i], err);
      names[i] = s->children[i]->name ? s->children[i]->name : "";
    }
    if (rc == LSQL_OK) *out = duckdb_create_struct_type(ct, names, (idx_t)n);
    for (int64_t i = 0; ct && i < n; i++)
      if (ct[i]) duckdb_destroy_logical_type(&ct[i]);
    lsql_free(ct);
    lsql_free(names);
    return rc;
  } else if (!strcmp(f, "+m")) {
    const struct ArrowSchema *e = s->n_children == 1 ? s->children[0] : NULL;
    if (!e || e->n_children != 2) return lsql_err(err, LSQL_ECORRUPT, "bad map schema");
    duckdb_logical_type k, v;
    LSQL_TRY(lsql_sql_arrow_to_duckdb_type(e->children[0], &k, err));
    int rc = lsql_sql_arrow_to_duckdb_type(e->children[1], &v, err);
    if (rc != LSQL_OK) {
      duckdb_destroy_logical_type(&k);
      return rc;
    }
    *out = duckdb_create_map_type(k, v);
    duckdb_destroy_logical_type(&k);
    duckdb_destroy_logical_type(&v);
    return LSQL_OK;
  }
  if (t == DUCKDB_TYPE_INVALID)
    return lsql_err(err, LSQL_EUNSUPPORTED, "Arrow type '%s' is not supported in SQL", f);
  *out = duckdb_create_logical_type(t);
  return LSQL_OK;
}

/* ---- values ------------------------------------------------------------------------------- */

static void copy_validity(const struct ArrowArray *a, int64_t start, int64_t count, duckdb_vector v,
                          idx_t out_row) {
  const uint8_t *bits = a->buffers[0];
  if (!bits || a->null_count == 0) return;
  duckdb_vector_ensure_validity_writable(v);
  uint64_t *mask = duckdb_vector_get_validity(v);
  if (((uint64_t)start & 63) == 0 && (out_row & 63) == 0) {
    int64_t words = count / 64;
    memcpy(mask + out_row / 64, bits + start / 8, (size_t)words * 8);
    for (int64_t i = words * 64; i < count; i++)
      if (!lsql_bit_get(bits, (uint64_t)(start + i))) duckdb_validity_set_row_invalid(mask, out_row + (idx_t)i);
    return;
  }
  for (int64_t i = 0; i < count; i++)
    if (!lsql_bit_get(bits, (uint64_t)(start + i))) duckdb_validity_set_row_invalid(mask, out_row + (idx_t)i);
}

static inline bool is_valid(const struct ArrowArray *a, int64_t i) {
  const uint8_t *bits = a->buffers[0];
  return !bits || a->null_count == 0 || lsql_bit_get(bits, (uint64_t)i);
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: normalise */
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) { man <<= 1; exp--; }
      man &= 0x3ff;
      bits = sign | (exp << 23) | (man << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
  }
  float fl;
  memcpy(&fl, &bits, 4);
  return fl;
}

/* Strings of up to 12 bytes are written inline into the vector's string_t (no heap, no call);
 * longer ones are copied into the vector's heap by DuckDB. `readable`: bytes known to be readable
 * from p; with at least 12, an inline value is built from two fixed loads masked to its length
 * (the bytes past it must be zero), so no memset/memcpy call per value. */
static inline void put_string(duckdb_vector v, duckdb_string_t *slot, idx_t row, const char *p,
                              uint32_t len, int64_t readable) {
  if (len > 12) {
    duckdb_vector_assign_string_element_len(v, row, p, len);
  } else if (readable >= 12) {
    uint64_t lo = lsql_load_le64(p), hi = lsql_load_le32(p + 8);
    if (len < 8) {
      lo &= ((uint64_t)1 << (len * 8)) - 1; /* len 0 gives mask 0 */
      hi = 0;
    } else {
      hi &= ((uint64_t)1 << ((len - 8) * 8)) - 1;
    }
    uint64_t w[2] = {(uint64_t)len | (lo << 32), (lo >> 32) | (hi << 32)};
    memcpy(slot, w, 16); /* little-endian: u32 length, then inline bytes 0..11 */
  } else {
    memset(slot, 0, sizeof *slot);
    slot->value.inlined.length = len;
    memcpy(slot->value.inlined.inlined, p, len);
  }
}

/* Multiplier that turns a value of the given unit letter into microseconds (or divisor for ns). */
static int64_t unit_to_us_mul(char u) { return u == 's' ? 1000000 : u == 'm' ? 1000 : 1; }

/* Copies one dictionary-encoded column by looking up each index (strings fast path): indices of
 * format `ixfmt`, values of schema `ds`. */
static int convert_dictionary(const char *ixfmt, const struct ArrowSchema *ds, const struct ArrowArray *a, int64_t start,
                              int64_t count, duckdb_vector v, idx_t out_row, lsql_error *err) {
  const struct ArrowArray *da = a->dictionary;
  if (!da) return lsql_err(err, LSQL_ECORRUPT, "dictionary array without dictionary");
  if (a->n_buffers < 2 || !a->buffers[1]) return lsql_err(err, LSQL_ECORRUPT, "dictionary array without indices");
  int w;
  switch (ixfmt[0]) {
    case 'c': case 'C': w = 1; break;
    case 's': case 'S': w = 2; break;
    case 'i': case 'I': w = 4; break;
    case 'l': case 'L': w = 8; break;
    default: return lsql_err(err, LSQL_ECORRUPT, "bad dictionary index type '%s'", ixfmt);
  }
  const uint8_t *ix = a->buffers[1];
  bool str = !strcmp(ds->format, "u") || !strcmp(ds->format, "z");
  const int32_t *doff = str ? (const int32_t *)da->buffers[1] + da->offset : NULL;
  const char *ddata = str ? da->buffers[2] : NULL;
  const int64_t ddata_end = str && da->length > 0 ? doff[da->length] : 0; /* readable data bytes */
  copy_validity(a, start, count, v, out_row);
  uint64_t *mask = NULL;
  for (int64_t i = 0; i < count; i++) {
    if (!is_valid(a, start + i)) continue;
    int64_t k;
    const uint8_t *p = ix + (size_t)(start + i) * (size_t)w;
    switch (w) {
      case 1: k = ixfmt[0] == 'c' ? (int8_t)*p : *p; break;
      case 2: k = (int16_t)lsql_load_le16(p); break;
      case 4: k = (int32_t)lsql_load_le32(p); break;
      default: k = (int64_t)lsql_load_le64(p); break;
    }
    if (k < 0 || k >= da->length) return lsql_err(err, LSQL_ECORRUPT, "dictionary index %lld out of range", (long long)k);
    if (str) {
      if (!is_valid(da, da->offset + k)) {
        if (!mask) { duckdb_vector_ensure_validity_writable(v); mask = duckdb_vector_get_validity(v); }
        duckdb_validity_set_row_invalid(mask, out_row + (idx_t)i);
        continue;
      }
      int32_t b = doff[k], e = doff[k + 1];
      if (b < 0 || e < b) return lsql_err(err, LSQL_ECORRUPT, "bad dictionary offsets");
      if (e > INT32_MAX) return lsql_err(err, LSQL_ECORRUPT, "bad dictionary offsets");
      duckdb_string_t *slot = (duckdb_string_t *)duckdb_vector_get_data(v) + out_row + i;
      put_string(v, slot, out_row + (idx_t)i, ddata + b, (uint32_t)(e - b), ddata_end - b);
    } else {
      LSQL_TRY(lsql_sql_arrow_to_vector(ds, da, k, 1, v, out_row + (idx_t)i, err));
    }
  }
  return LSQL_OK;
}

int lsql_sql_arrow_to_vector(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t row,
                             int64_t count, duckdb_vector v, idx_t out_row, lsql_error *err) {
  if (count <= 0) return LSQL_OK;
  if (row < 0 || row + count > a->length)
    return lsql_err(err, LSQL_ECORRUPT, "array slice [%lld, +%lld) outside length %lld",
                    (long long)row, (long long)count, (long long)a->length);
  int64_t start = a->offset + row;
  if (s->dictionary) return convert_dictionary(s->format, s->dictionary, a, start, count, v, out_row, err);
  /* a dictionary batch of a plain column (LSQL_TABLE_SCAN_DICT_BATCHES): int32 indices into
   * values of the column's own type */
  if (a->dictionary) return convert_dictionary("i", s, a, start, count, v, out_row, err);
  const char *f = s->format;
  if (f[0] == 'n' && f[1] == '\0') {
    duckdb_vector_ensure_validity_writable(v);
    uint64_t *mask = duckdb_vector_get_validity(v);
    for (int64_t i = 0; i < count; i++) duckdb_validity_set_row_invalid(mask, out_row + (idx_t)i);
    return LSQL_OK;
  }
  copy_validity(a, start, count, v, out_row);
  uint8_t *out = duckdb_vector_get_data(v);
  const uint8_t *src = a->n_buffers > 1 ? a->buffers[1] : NULL;
  size_t w = 0;
  if (f[1] == '\0') {
    switch (f[0]) {
      case 'b': {
        bool *o = (bool *)out + out_row;
        for (int64_t i = 0; i < count; i++) o[i] = lsql_bit_get(src, (uint64_t)(start + i));
        return LSQL_OK;
      }
      case 'c': case 'C': w = 1; break;
      case 's': case 'S': w = 2; break;
      case 'i': case 'I': case 'f': w = 4; break;
      case 'l': case 'L': case 'g': w = 8; break;
      case 'e': {
        float *o = (float *)out + out_row;
        for (int64_t i = 0; i < count; i++) o[i] = half_to_float(lsql_load_le16(src + 2 * (start + i)));
        return LSQL_OK;
      }
      case 'u': case 'z': case 'U': case 'Z': {
        const uint8_t *data = a->buffers[2];
        bool large = f[0] == 'U' || f[0] == 'Z';
        bool nulls = a->buffers[0] && a->null_count != 0;
        duckdb_string_t *o = (duckdb_string_t *)out + out_row;
        /* Bytes of the data buffer known to be readable: up to the array's last offset. */
        const int64_t data_end = large ? ((const int64_t *)src)[a->offset + a->length]
                                       : ((const int32_t *)src)[a->offset + a->length];
        for (int64_t i = 0; i < count; i++) {
          if (nulls && !lsql_bit_get(a->buffers[0], (uint64_t)(start + i))) continue;
          int64_t b, e;
          if (large) {
            b = ((const int64_t *)src)[start + i];
            e = ((const int64_t *)src)[start + i + 1];
          } else {
            b = ((const int32_t *)src)[start + i];
            e = ((const int32_t *)src)[start + i + 1];
          }
          if (b < 0 || e < b || e - b > UINT32_MAX) return lsql_err(err, LSQL_ECORRUPT, "bad string offsets");
          put_string(v, o + i, out_row + (idx_t)i, (const char *)data + b, (uint32_t)(e - b), data_end - b);
        }
        return LSQL_OK;
      }
      default: break;
    }
    if (w) {
      memcpy(out + out_row * w, src + (size_t)start * w, (size_t)count * w);
      return LSQL_OK;
    }
  }
  if (!strcmp(f, "vu") || !strcmp(f, "vz")) {
    /* 16-byte views: length, then 12 inline bytes or prefix + buffer index + offset. */
    for (int64_t i = 0; i < count; i++) {
      if (!is_valid(a, start + i)) continue;
      const uint8_t *view = src + 16 * (size_t)(start + i);
      int32_t len = (int32_t)lsql_load_le32(view);
      const char *p;
      if (len < 0) return lsql_err(err, LSQL_ECORRUPT, "bad string view");
      if (len <= 12) {
        p = (const char *)view + 4;
      } else {
        int32_t bi = (int32_t)lsql_load_le32(view + 8), off = (int32_t)lsql_load_le32(view + 12);
        if (bi < 0 || 2 + (int64_t)bi >= a->n_buffers - 1 || off < 0)
          return lsql_err(err, LSQL_ECORRUPT, "bad string view buffer");
        p = (const char *)a->buffers[2 + bi] + off;
      }
      put_string(v, (duckdb_string_t *)out + out_row + i, out_row + (idx_t)i, p, (uint32_t)len, len);
    }
    return LSQL_OK;
  }
  if (!strncmp(f, "w:", 2)) {
    long bw = strtol(f + 2, NULL, 10);
    for (int64_t i = 0; i < count; i++)
      if (is_valid(a, start + i))
        duckdb_vector_assign_string_element_len(v, out_row + (idx_t)i, (const char *)src + (size_t)(start + i) * (size_t)bw, (idx_t)bw);
    return LSQL_OK;
  }
  if (!strcmp(f, "tdD")) {
    memcpy(out + out_row * 4, src + (size_t)start * 4, (size_t)count * 4);
    return LSQL_OK;
  }
  if (!strcmp(f, "tdm")) {
    int32_t *o = (int32_t *)out + out_row;
    for (int64_t i = 0; i < count; i++) {
      int64_t ms = ((const int64_t *)src)[start + i];
      o[i] = (int32_t)(ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000));
    }
    return LSQL_OK;
  }
  if (f[0] == 't' && f[1] == 't') { /* time32 s/ms, time64 us/ns -> micros */
    int64_t *o = (int64_t *)out + out_row;
    for (int64_t i = 0; i < count; i++) {
      int64_t x = (f[2] == 's' || f[2] == 'm') ? ((const int32_t *)src)[start + i] : ((const int64_t *)src)[start + i];
      o[i] = f[2] == 'n' ? x / 1000 : x * unit_to_us_mul(f[2]);
    }
    return LSQL_OK;
  }
  if (f[0] == 't' && f[1] == 's') {
    const int64_t *x = (const int64_t *)src + start;
    int64_t *o = (int64_t *)out + out_row;
    if (!ts_has_tz(f) || f[2] == 'u') {
      memcpy(o, x, (size_t)count * 8);
    } else if (f[2] == 'n') {
      for (int64_t i = 0; i < count; i++) o[i] = x[i] >= 0 ? x[i] / 1000 : -((-x[i] + 999) / 1000);
    } else {
      int64_t m = unit_to_us_mul(f[2]);
      for (int64_t i = 0; i < count; i++) o[i] = x[i] * m;
    }
    return LSQL_OK;
  }
  if (f[0] == 't' && f[1] == 'D') {
    duckdb_interval *o = (duckdb_interval *)out + out_row;
    for (int64_t i = 0; i < count; i++) {
      int64_t x = ((const int64_t *)src)[start + i];
      o[i].months = 0;
      o[i].days = 0;
      o[i].micros = f[2] == 'n' ? x / 1000 : x * unit_to_us_mul(f[2]);
    }
    return LSQL_OK;
  }
  if (f[0] == 'd' && f[1] == ':') {
    int p, sc, bits;
    if (parse_decimal(f, &p, &sc, &bits) != 0) return lsql_err(err, LSQL_ECORRUPT, "bad decimal '%s'", f);
    size_t in_w = (size_t)bits / 8;
    if (p > 9 && p <= 18 && in_w >= 8) { /* the common case (e.g. decimal(15,2)): low 8 bytes */
      int64_t *o = (int64_t *)out + out_row;
      const uint8_t *q = src + (size_t)start * in_w;
      for (int64_t i = 0; i < count; i++) o[i] = (int64_t)lsql_load_le64(q + (size_t)i * in_w);
      return LSQL_OK;
    }
    for (int64_t i = 0; i < count; i++) {
      const uint8_t *q = src + (size_t)(start + i) * in_w;
      int64_t lo = in_w == 4 ? (int32_t)lsql_load_le32(q) : (int64_t)lsql_load_le64(q);
      idx_t r = out_row + (idx_t)i;
      if (p <= 4) ((int16_t *)out)[r] = (int16_t)lo;
      else if (p <= 9) ((int32_t *)out)[r] = (int32_t)lo;
      else if (p <= 18) ((int64_t *)out)[r] = lo;
      else {
        duckdb_hugeint h;
        h.lower = (uint64_t)lo;
        h.upper = in_w == 16 ? (int64_t)lsql_load_le64(q + 8) : (lo < 0 ? -1 : 0);
        ((duckdb_hugeint *)out)[r] = h;
      }
    }
    return LSQL_OK;
  }
  if (!strcmp(f, "+l") || !strcmp(f, "+L") || !strcmp(f, "+m")) {
    bool large = f[1] == 'L';
    const struct ArrowArray *ca = a->children[0];
    const struct ArrowSchema *cs = s->children[0];
    int64_t b0 = large ? ((const int64_t *)src)[start] : ((const int32_t *)src)[start];
    int64_t e0 = large ? ((const int64_t *)src)[start + count] : ((const int32_t *)src)[start + count];
    if (b0 < 0 || e0 < b0 || e0 > ca->length) return lsql_err(err, LSQL_ECORRUPT, "bad list offsets");
    idx_t base = duckdb_list_vector_get_size(v);
    if (duckdb_list_vector_reserve(v, base + (idx_t)(e0 - b0)) != DuckDBSuccess) return lsql_err_oom(err);
    duckdb_list_entry *le = (duckdb_list_entry *)duckdb_vector_get_data(v) + out_row;
    for (int64_t i = 0; i < count; i++) {
      int64_t b = large ? ((const int64_t *)src)[start + i] : ((const int32_t *)src)[start + i];
      int64_t e = large ? ((const int64_t *)src)[start + i + 1] : ((const int32_t *)src)[start + i + 1];
      if (b < b0 || e < b || e > e0) return lsql_err(err, LSQL_ECORRUPT, "bad list offsets");
      le[i].offset = base + (uint64_t)(b - b0);
      le[i].length = (uint64_t)(e - b);
    }
    duckdb_vector child = duckdb_list_vector_get_child(v);
    if (f[1] == 'm') {
      /* MAP = LIST<STRUCT<key, value>>: the Arrow entries struct maps onto the child. */
      LSQL_TRY(lsql_sql_arrow_to_vector(cs, ca, b0, e0 - b0, child, base, err));
    } else {
      LSQL_TRY(lsql_sql_arrow_to_vector(cs, ca, b0, e0 - b0, child, base, err));
    }
    duckdb_list_vector_set_size(v, base + (idx_t)(e0 - b0));
    return LSQL_OK;
  }
  if (!strncmp(f, "+w:", 3)) {
    int64_t n = strtol(f + 3, NULL, 10);
    const struct ArrowArray *ca = a->children[0];
    if (n <= 0 || (start + count) * n > ca->length) return lsql_err(err, LSQL_ECORRUPT, "bad fixed-size list");
    duckdb_vector child = duckdb_array_vector_get_child(v);
    return lsql_sql_arrow_to_vector(s->children[0], ca, start * n, count * n, child, out_row * (idx_t)n, err);
  }
  if (!strcmp(f, "+s")) {
    uint64_t *mask = NULL;
    for (int64_t k = 0; k < s->n_children; k++) {
      duckdb_vector cv = duckdb_struct_vector_get_child(v, (idx_t)k);
      if (a->children[k]->length < start + count) return lsql_err(err, LSQL_ECORRUPT, "struct child too short");
      LSQL_TRY(lsql_sql_arrow_to_vector(s->children[k], a->children[k], start, count, cv, out_row, err));
      /* A NULL struct has NULL children too (DuckDB's verification expects it). */
      if (a->buffers[0] && a->null_count != 0) {
        duckdb_vector_ensure_validity_writable(cv);
        mask = duckdb_vector_get_validity(cv);
        for (int64_t i = 0; i < count; i++)
          if (!is_valid(a, start + i)) duckdb_validity_set_row_invalid(mask, out_row + (idx_t)i);
      }
    }
    return LSQL_OK;
  }
  return lsql_err(err, LSQL_EUNSUPPORTED, "Arrow type '%s' is not supported in SQL", f);
}
