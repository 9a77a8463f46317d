/* Opening a v2.x data file: footer, column-metadata and global-buffer offset tables, column
 * metadata protobufs (with each page's encoding unpacked once) and the file schema. */
#include <stdlib.h>

#include "format/internal.h"

#define FOOTER_LEN 40

static void free_cols(lsql_file *f) {
  if (f->cols) {
    for (uint32_t c = 0; c < f->n_cols; c++) {
      lsql_column *col = &f->cols[c];
      for (size_t p = 0; p < col->n_pages; p++) {
        if (col->pages[p].layout) lance__encodings21__page_layout__free_unpacked(col->pages[p].layout, NULL);
        if (col->pages[p].array) lance__encodings__array_encoding__free_unpacked(col->pages[p].array, NULL);
      }
      lsql_free(col->pages);
    }
  }
  lsql_free(f->cols);
  if (f->cm) {
    for (uint32_t c = 0; c < f->n_cols; c++)
      if (f->cm[c]) lance__file__v2__column_metadata__free_unpacked(f->cm[c], NULL);
  }
  lsql_free(f->cm);
}

void lsql_file_close(lsql_file *f) {
  if (!f) return;
  free_cols(f);
  lsql_schema_free(&f->schema);
  lsql_rfile_close(f->rf);
  lsql_free(f->path);
  lsql_free(f);
}

const char *lsql_file_path(const lsql_file *f) { return f->path; }
void lsql_file_version(const lsql_file *f, int *major, int *minor) {
  *major = f->major;
  *minor = f->minor;
}
uint64_t lsql_file_num_rows(const lsql_file *f) { return f->num_rows; }
uint32_t lsql_file_num_columns(const lsql_file *f) { return f->n_cols; }
const lsql_schema *lsql_file_schema(const lsql_file *f) { return &f->schema; }

/* Unpacks an Encoding.direct Any into the page's encoding message. */
static int unpack_page_encoding(lsql_file *f, const Lance__File__V2__Encoding *e, lsql_page *pg,
                                lsql_error *err) {
  if (!e || e->location_case != LANCE__FILE__V2__ENCODING__LOCATION_DIRECT || !e->direct)
    return lsql_err(err, LSQL_EUNSUPPORTED, "page encoding is not stored directly");
  Lance__File__V2__AnyMsg *any =
      lance__file__v2__any_msg__unpack(NULL, e->direct->encoding.len, e->direct->encoding.data);
  if (!any) return lsql_err_corrupt(err, "bad page encoding (Any)");
  int rc = LSQL_OK;
  if (f->major == 2 && f->minor == 0) {
    pg->array = lance__encodings__array_encoding__unpack(NULL, any->value.len, any->value.data);
    if (!pg->array) rc = lsql_err_corrupt(err, "bad ArrayEncoding protobuf");
  } else {
    pg->layout = lance__encodings21__page_layout__unpack(NULL, any->value.len, any->value.data);
    if (!pg->layout) rc = lsql_err_corrupt(err, "bad PageLayout protobuf");
  }
  lance__file__v2__any_msg__free_unpacked(any, NULL);
  return rc;
}

static int column_is_blob20(const Lance__File__V2__ColumnMetadata *cm) {
  const Lance__File__V2__Encoding *e = cm->encoding;
  if (!e || e->location_case != LANCE__FILE__V2__ENCODING__LOCATION_DIRECT || !e->direct) return 0;
  Lance__File__V2__AnyMsg *any =
      lance__file__v2__any_msg__unpack(NULL, e->direct->encoding.len, e->direct->encoding.data);
  if (!any) return -1;
  int r = 0;
  Lance__Encodings__ColumnEncoding *ce =
      lance__encodings__column_encoding__unpack(NULL, any->value.len, any->value.data);
  if (!ce) r = -1;
  else {
    r = ce->column_encoding_case == LANCE__ENCODINGS__COLUMN_ENCODING__COLUMN_ENCODING_BLOB;
    lance__encodings__column_encoding__free_unpacked(ce, NULL);
  }
  lance__file__v2__any_msg__free_unpacked(any, NULL);
  return r;
}

static int load_column(lsql_file *f, uint32_t c, const uint8_t *bytes, size_t len, lsql_error *err) {
  Lance__File__V2__ColumnMetadata *cm = lance__file__v2__column_metadata__unpack(NULL, len, bytes);
  if (!cm) return lsql_err_corrupt(err, "bad column metadata protobuf");
  f->cm[c] = cm;
  lsql_column *col = &f->cols[c];
  col->pages = lsql_calloc(cm->n_pages ? cm->n_pages : 1, sizeof *col->pages);
  if (!col->pages) return lsql_err_oom(err);
  col->n_pages = cm->n_pages;
  if (f->major == 2 && f->minor == 0) {
    int b = column_is_blob20(cm);
    if (b < 0) return lsql_err_corrupt(err, "bad column encoding protobuf");
    col->blob20 = b;
  }
  for (size_t p = 0; p < cm->n_pages; p++) {
    const Lance__File__V2__ColumnMetadata__Page *mp = cm->pages[p];
    lsql_page *pg = &col->pages[p];
    if (mp->n_buffer_offsets != mp->n_buffer_sizes)
      return lsql_err_corrupt(err, "page %zu: %zu buffer offsets but %zu sizes", p,
                              mp->n_buffer_offsets, mp->n_buffer_sizes);
    for (size_t b = 0; b < mp->n_buffer_offsets; b++)
      if (lsql_range_bad(mp->buffer_offsets[b], mp->buffer_sizes[b], f->size))
        return lsql_err_corrupt(err, "page %zu: buffer %zu [%llu, +%llu) outside the file", p, b,
                                (unsigned long long)mp->buffer_offsets[b],
                                (unsigned long long)mp->buffer_sizes[b]);
    pg->n_rows = mp->length;
    pg->n_buffers = mp->n_buffer_offsets;
    pg->buf_off = mp->buffer_offsets;
    pg->buf_size = mp->buffer_sizes;
    if (lsql_add_overflow_u64(col->n_rows, mp->length, &col->n_rows))
      return lsql_err_corrupt(err, "page lengths overflow");
    int rc = unpack_page_encoding(f, mp->encoding, pg, err);
    if (rc != LSQL_OK) return lsql_error_prefix(err, "page %zu: ", p), rc;
  }
  return LSQL_OK;
}

static int load_schema(lsql_file *f, const uint8_t *bytes, size_t len, lsql_error *err) {
  Lance__File__FileDescriptor *fd = lance__file__file_descriptor__unpack(NULL, len, bytes);
  if (!fd) return lsql_err_corrupt(err, "bad file descriptor protobuf (global buffer 0)");
  int rc = LSQL_OK;
  f->num_rows = fd->length;
  const Lance__File__Schema *s = fd->schema;
  size_t n = s ? s->n_fields : 0;
  lsql_pb_field *pf = lsql_calloc(n ? n : 1, sizeof *pf);
  const char **keys = NULL;
  const uint8_t **vals = NULL;
  size_t *lens = NULL, nm = 0;
  for (size_t i = 0; i < n; i++) nm += s->fields[i]->n_metadata;
  keys = lsql_calloc(nm + 1, sizeof *keys);
  vals = lsql_calloc(nm + 1, sizeof *vals);
  lens = lsql_calloc(nm + 1, sizeof *lens);
  if (!pf || !keys || !vals || !lens) {
    rc = lsql_err_oom(err);
    goto done;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const Lance__File__Field *fl = s->fields[i];
    pf[i].name = fl->name;
    pf[i].id = fl->id;
    pf[i].parent_id = fl->parent_id;
    pf[i].logical_type = fl->logical_type;
    pf[i].nullable = fl->nullable;
    pf[i].extension_name = fl->extension_name;
    pf[i].n_metadata = fl->n_metadata;
    pf[i].meta_keys = keys + k;
    pf[i].meta_values = vals + k;
    pf[i].meta_value_lens = lens + k;
    for (size_t m = 0; m < fl->n_metadata; m++, k++) {
      keys[k] = fl->metadata[m]->key;
      vals[k] = fl->metadata[m]->value.data ? fl->metadata[m]->value.data : (const uint8_t *)"";
      lens[k] = fl->metadata[m]->value.len;
    }
  }
  rc = lsql_schema_build(pf, n, &f->schema, err);
  if (rc == LSQL_OK && s && s->n_metadata) {
    lsql_schema *sc = &f->schema;
    sc->meta_keys = lsql_calloc(s->n_metadata, sizeof(char *));
    sc->meta_values = lsql_calloc(s->n_metadata, sizeof(char *));
    sc->meta_value_lens = lsql_calloc(s->n_metadata, sizeof(size_t));
    if (!sc->meta_keys || !sc->meta_values || !sc->meta_value_lens) {
      rc = lsql_err_oom(err);
      goto done;
    }
    for (size_t m = 0; m < s->n_metadata; m++) {
      sc->meta_keys[m] = lsql_strdup(s->metadata[m]->key);
      sc->meta_values[m] = lsql_strndup(s->metadata[m]->value.data ? (const char *)s->metadata[m]->value.data : "",
                                        s->metadata[m]->value.len);
      sc->meta_value_lens[m] = s->metadata[m]->value.len;
      sc->n_metadata++;
      if (!sc->meta_keys[m] || !sc->meta_values[m]) {
        rc = lsql_err_oom(err);
        goto done;
      }
    }
  }
done:
  lsql_free(pf);
  lsql_free(keys);
  lsql_free(vals);
  lsql_free(lens);
  lance__file__file_descriptor__free_unpacked(fd, NULL);
  return rc;
}

static int file_open(lsql_file *f, lsql_store *st, uint64_t size_hint, lsql_error *err) {
  LSQL_TRY(lsql_rfile_open(st, f->path, size_hint, &f->rf, err));
  f->size = lsql_rfile_size(f->rf);
  if (f->size < FOOTER_LEN) return lsql_err_corrupt(err, "file too small (%llu bytes)", (unsigned long long)f->size);
  uint8_t ft[FOOTER_LEN];
  LSQL_TRY(lsql_rfile_read(f->rf, f->size - FOOTER_LEN, FOOTER_LEN, ft, err));
  if (memcmp(ft + 36, "LANC", 4) != 0) return lsql_err_corrupt(err, "bad magic (not a Lance file)");
  uint64_t cm_start = lsql_load_le64(ft), cmo_start = lsql_load_le64(ft + 8),
           gbo_start = lsql_load_le64(ft + 16);
  uint32_t n_gb = lsql_load_le32(ft + 24), n_cols = lsql_load_le32(ft + 28);
  int major = lsql_load_le16(ft + 32), minor = lsql_load_le16(ft + 34);
  if (major == 0 && minor < 3) return lsql_err(err, LSQL_EUNSUPPORTED, "unsupported legacy format (%d.%d)", major, minor);
  if (major == 0 && minor == 3) major = 2, minor = 0;
  if (major != 2 || minor > 2)
    return lsql_err(err, LSQL_EUNSUPPORTED, "unsupported file version %d.%d (2.0, 2.1 and 2.2 are supported)", major, minor);
  f->major = major;
  f->minor = minor;
  uint64_t body = f->size - FOOTER_LEN, cmo_len, gbo_len;
  if (n_gb < 1) return lsql_err_corrupt(err, "no global buffers");
  if (lsql_mul_overflow_u64(n_cols, 16, &cmo_len) || lsql_range_bad(cmo_start, cmo_len, body))
    return lsql_err_corrupt(err, "column metadata offset table outside the file");
  if (lsql_mul_overflow_u64(n_gb, 16, &gbo_len) || lsql_range_bad(gbo_start, gbo_len, body))
    return lsql_err_corrupt(err, "global buffer offset table outside the file");
  if (cm_start > cmo_start) return lsql_err_corrupt(err, "column metadata start after its table");
  /* Read the tail from the schema buffer to the footer in one request. */
  uint8_t gbo0[16];
  LSQL_TRY(lsql_rfile_read(f->rf, gbo_start, 16, gbo0, err));
  uint64_t s_off = lsql_load_le64(gbo0), s_len = lsql_load_le64(gbo0 + 8);
  if (lsql_range_bad(s_off, s_len, body)) return lsql_err_corrupt(err, "schema buffer outside the file");
  uint64_t tail_start = LSQL_MIN(s_off, cm_start);
  tail_start = LSQL_MIN(tail_start, cmo_start);
  tail_start = LSQL_MIN(tail_start, gbo_start);
  uint64_t tail_len = body - tail_start;
  uint8_t *tail = lsql_malloc(tail_len ? tail_len : 1);
  if (!tail) return lsql_err_oom(err);
  int rc = lsql_rfile_read(f->rf, tail_start, tail_len, tail, err);
  if (rc == LSQL_OK) rc = load_schema(f, tail + (s_off - tail_start), s_len, err);
  if (rc == LSQL_OK) {
    f->n_cols = n_cols;
    f->cols = lsql_calloc(n_cols ? n_cols : 1, sizeof *f->cols);
    f->cm = lsql_calloc(n_cols ? n_cols : 1, sizeof *f->cm);
    if (!f->cols || !f->cm) rc = lsql_err_oom(err);
  }
  for (uint32_t c = 0; c < n_cols && rc == LSQL_OK; c++) {
    const uint8_t *e = tail + (cmo_start - tail_start) + 16 * (uint64_t)c;
    uint64_t off = lsql_load_le64(e), len = lsql_load_le64(e + 8);
    if (off < tail_start || lsql_range_bad(off, len, body)) {
      rc = lsql_err_corrupt(err, "column %u: metadata [%llu, +%llu) out of range", c,
                            (unsigned long long)off, (unsigned long long)len);
      break;
    }
    rc = load_column(f, c, tail + (off - tail_start), len, err);
    if (rc != LSQL_OK) lsql_error_prefix(err, "column %u: ", c);
  }
  lsql_free(tail);
  return rc;
}

int lsql_file_open(lsql_store *st, const char *path, uint64_t size_hint, lsql_file **out,
                   lsql_error *err) {
  *out = NULL;
  lsql_file *f = lsql_calloc(1, sizeof *f);
  if (!f || !(f->path = lsql_strdup(path))) {
    lsql_free(f);
    return lsql_err_oom(err);
  }
  int rc = file_open(f, st, size_hint, err);
  if (rc != LSQL_OK) {
    lsql_error_prefix(err, "%s: ", path);
    lsql_file_close(f);
    return rc;
  }
  *out = f;
  return LSQL_OK;
}

/* Pre-order walk assigning columns: every field in 2.0; leaves, packed structs and blobs in 2.1+. */
static void map_field(const lsql_file *f, const lsql_field *fl, int32_t *map, size_t n, uint32_t *next) {
  bool v20 = f->minor == 0;
  bool leafish = fl->packed || fl->blob || fl->n_children == 0 ||
                 (fl->type == LSQL_TYPE_FIXED_SIZE_LIST && fl->children[0].id < 0) ||
                 (fl->type == LSQL_TYPE_DICTIONARY);
  if (v20 || leafish) {
    if (fl->id >= 0 && (size_t)fl->id < n) map[fl->id] = (int32_t)(*next);
    (*next)++;
  }
  if (leafish) return;
  for (size_t i = 0; i < fl->n_children; i++) map_field(f, &fl->children[i], map, n, next);
}

int lsql_file_default_column_map(const lsql_file *f, lsql_column_map *out, lsql_error *err) {
  int32_t mx = lsql_schema_max_id(&f->schema);
  size_t n = (size_t)(mx + 1);
  int32_t *map = lsql_malloc((n ? n : 1) * sizeof *map);
  if (!map) return lsql_err_oom(err);
  for (size_t i = 0; i < n; i++) map[i] = -1;
  uint32_t next = 0;
  for (size_t i = 0; i < f->schema.n_fields; i++) map_field(f, &f->schema.fields[i], map, n, &next);
  for (size_t i = 0; i < n; i++)
    if (map[i] >= (int32_t)f->n_cols) map[i] = -1;
  out->col_by_field_id = map;
  out->n = n;
  return LSQL_OK;
}

int lsql_page_read_buffers(lsql_file *f, const lsql_page *pg, uint8_t ***bufs_out, lsql_error *err) {
  size_t n = pg->n_buffers;
  uint8_t **bufs = lsql_calloc(n + 1, sizeof *bufs);
  lsql_range *r = lsql_calloc(n + 1, sizeof *r);
  int rc = LSQL_OK;
  if (!bufs || !r) rc = lsql_err_oom(err);
  for (size_t i = 0; i < n && rc == LSQL_OK; i++) {
    /* +8 slack: kernels may read whole words at the tail. */
    bufs[i] = lsql_malloc((size_t)pg->buf_size[i] + 8);
    if (!bufs[i]) rc = lsql_err_oom(err);
    else memset(bufs[i] + pg->buf_size[i], 0, 8);
    r[i] = (lsql_range){pg->buf_off[i], pg->buf_size[i], bufs[i]};
  }
  if (rc == LSQL_OK && n) rc = lsql_rfile_read_ranges(f->rf, r, n, err);
  lsql_free(r);
  if (rc != LSQL_OK) {
    if (bufs) lsql_page_free_buffers(pg, bufs);
    return rc;
  }
  *bufs_out = bufs;
  return LSQL_OK;
}

void lsql_page_free_buffers(const lsql_page *pg, uint8_t **bufs) {
  if (!bufs) return;
  for (size_t i = 0; i < pg->n_buffers; i++) lsql_free(bufs[i]);
  lsql_free(bufs);
}

/* Read-ahead bounds: the window starts small (a LIMIT query or a take reads little extra) and
 * doubles while pages are taken in order. Pages the current request needs are always read, up
 * to PREFETCH_NEED_MAX bytes per refill. */
#define PREFETCH_MIN ((uint64_t)256 << 10)
#define PREFETCH_MAX ((uint64_t)1 << 20)
#define PREFETCH_NEED_MAX ((uint64_t)64 << 20)
#define PREFETCH_PAGES 256

static uint64_t page_bytes(const lsql_page *pg) {
  uint64_t b = 0;
  for (size_t i = 0; i < pg->n_buffers; i++) b += pg->buf_size[i];
  return b;
}

static void prefetch_drop(const lsql_column *c, lsql_prefetch *pf) {
  for (size_t i = 0; i < pf->n; i++)
    if (pf->bufs[i]) lsql_page_free_buffers(&c->pages[pf->first + i], pf->bufs[i]);
  lsql_free(pf->bufs);
  pf->bufs = NULL;
  pf->first = pf->n = 0;
}

void lsql_prefetch_free(lsql_file *f, uint32_t col, lsql_prefetch *pf) {
  if (!pf || !f || col >= f->n_cols) return;
  prefetch_drop(&f->cols[col], pf);
  for (int i = 0; i < LSQL_PREFETCH_POOL; i++) lsql_free(pf->pool[i]);
  memset(pf, 0, sizeof *pf);
}

/* Allocation size of a read buffer of n bytes: large ones round up to 1/8 of their power of two,
 * so the next, slightly larger page of the column still fits, and a given-back buffer's size
 * follows from its page's buffer size. */
static size_t pool_size(size_t n) {
  if (n < ((size_t)64 << 10) || n > SIZE_MAX / 4) return n;
  size_t step = (size_t)1 << (63 - __builtin_clzll((unsigned long long)n) - 3);
  return (n + step - 1) & ~(step - 1);
}

/* A read buffer of at least `need` bytes: the smallest pooled one that fits, else a new one. */
static uint8_t *pool_get(lsql_prefetch *pf, size_t need, size_t *cap) {
  int best = -1;
  for (int i = 0; i < LSQL_PREFETCH_POOL; i++)
    if (pf->pool[i] && pf->pool_cap[i] >= need && (best < 0 || pf->pool_cap[i] < pf->pool_cap[best])) best = i;
  if (best >= 0) {
    uint8_t *d = pf->pool[best];
    *cap = pf->pool_cap[best];
    pf->pool[best] = NULL;
    return d;
  }
  size_t c = pool_size(need);
  *cap = c;
  return lsql_malloc(c);
}

/* Keeps a buffer of `cap` bytes, replacing the smallest pooled one when the pool is full. */
static void pool_put(lsql_prefetch *pf, uint8_t *d, size_t cap) {
  int slot = -1;
  for (int i = 0; i < LSQL_PREFETCH_POOL; i++) {
    if (!pf->pool[i]) { slot = i; break; }
    if (slot < 0 || pf->pool_cap[i] < pf->pool_cap[slot]) slot = i;
  }
  if (pf->pool[slot] && pf->pool_cap[slot] >= cap) {
    lsql_free(d);
    return;
  }
  lsql_free(pf->pool[slot]);
  pf->pool[slot] = d;
  pf->pool_cap[slot] = cap;
}

void lsql_prefetch_give(lsql_file *f, uint32_t col, size_t p, lsql_prefetch *pf, uint8_t **bufs) {
  if (!bufs) return;
  const lsql_page *pg = &f->cols[col].pages[p];
  for (size_t i = 0; i < pg->n_buffers; i++)
    /* a lower bound of the allocation when pool_get handed out a larger pooled buffer */
    if (bufs[i]) pool_put(pf, bufs[i], pool_size((size_t)pg->buf_size[i] + 8));
  lsql_free(bufs);
}

int lsql_prefetch_take(lsql_file *f, uint32_t col, size_t p, size_t need, lsql_prefetch *pf,
                       uint8_t ***bufs_out, lsql_error *err) {
  *bufs_out = NULL;
  const lsql_column *c = &f->cols[col];
  if (p >= c->n_pages) return lsql_err_corrupt(err, "column %u: page %zu of %zu", col, p, c->n_pages);
  if (p >= pf->first && p < pf->first + pf->n && pf->bufs[p - pf->first]) {
    *bufs_out = pf->bufs[p - pf->first];
    pf->bufs[p - pf->first] = NULL;
    pf->next = p + 1;
    return LSQL_OK;
  }
  bool in_order = pf->window && p == pf->next;
  prefetch_drop(c, pf);
  pf->window = in_order ? LSQL_MIN(pf->window * 2, PREFETCH_MAX) : PREFETCH_MIN;
  if (need < p) need = p;
  if (need >= c->n_pages) need = c->n_pages - 1;
  /* pages p..last: the needed ones (bounded), then read-ahead within the window */
  size_t last = p;
  uint64_t bytes = page_bytes(&c->pages[p]), extra = 0;
  while (last < need && last + 1 - p < PREFETCH_PAGES) {
    uint64_t b = page_bytes(&c->pages[last + 1]);
    if (bytes + b > PREFETCH_NEED_MAX) break;
    bytes += b;
    last++;
  }
  while (last == need && last + 1 < c->n_pages && last + 1 - p < PREFETCH_PAGES) {
    uint64_t b = page_bytes(&c->pages[last + 1]);
    if (extra + b > pf->window) break;
    extra += b;
    need = ++last;
  }
  size_t np = last - p + 1, nr = 0;
  for (size_t i = p; i <= last; i++) nr += c->pages[i].n_buffers;
  uint8_t ***all = lsql_calloc(np, sizeof *all);
  lsql_range *r = lsql_calloc(nr + 1, sizeof *r);
  int rc = all && r ? LSQL_OK : lsql_err_oom(err);
  size_t k = 0;
  for (size_t i = 0; i < np && rc == LSQL_OK; i++) {
    const lsql_page *pg = &c->pages[p + i];
    if (!(all[i] = lsql_calloc(pg->n_buffers + 1, sizeof **all))) rc = lsql_err_oom(err);
    for (size_t b = 0; b < pg->n_buffers && rc == LSQL_OK; b++) {
      /* +8 slack: kernels may read whole words at the tail. */
      size_t cap;
      uint8_t *d = pool_get(pf, (size_t)pg->buf_size[b] + 8, &cap);
      if (!d) { rc = lsql_err_oom(err); break; }
      memset(d + pg->buf_size[b], 0, 8);
      all[i][b] = d;
      r[k++] = (lsql_range){pg->buf_off[b], pg->buf_size[b], d};
    }
  }
  if (rc == LSQL_OK && k) rc = lsql_rfile_read_ranges(f->rf, r, k, err);
  lsql_free(r);
  if (rc != LSQL_OK) {
    for (size_t i = 0; all && i < np; i++)
      if (all[i]) lsql_page_free_buffers(&c->pages[p + i], all[i]);
    lsql_free(all);
    return rc;
  }
  pf->bufs = all;
  pf->first = p;
  pf->n = np;
  *bufs_out = all[0];
  all[0] = NULL;
  pf->next = p + 1;
  return LSQL_OK;
}
