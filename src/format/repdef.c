/* Turning the repetition/definition levels and visible values of a field's leaves into nested
 * Arrow arrays (lists, large lists, maps, structs, fixed-size lists) and leaf arrays. */
#include "format/internal.h"
#include "util/arrow.h"

static int fixed_width_bits(const lsql_field *f);

/* Gives b's buffer back to the pool (or frees it) and empties b. */
static void buf_give_back(lsql_bufpool *pool, lsql_buf *b) {
  lsql_bufpool_put(pool, b->data, b->cap);
  b->data = NULL;
  b->len = b->cap = 0;
}

static void vals_give_back(lsql_vals *v) {
  buf_give_back(v->pool, &v->data);
  buf_give_back(v->pool, &v->offs);
  buf_give_back(v->pool, &v->ivalid);
  buf_give_back(v->pool, &v->valid);
  v->n = 0;
}

void lsql_leaf_acc_free(lsql_leaf_acc *a) {
  buf_give_back(a->vals.pool, &a->rep);
  buf_give_back(a->vals.pool, &a->def);
  vals_give_back(&a->vals);
  vals_give_back(&a->dict);
  memset(a, 0, sizeof *a);
}

/* ---- leaf arrays ------------------------------------------------------------------------------ */

int lsql_field_fixed_bits(const lsql_field *f) { return fixed_width_bits(f); }

static int fixed_width_bits(const lsql_field *f) {
  switch (f->type) {
    case LSQL_TYPE_BOOL: return 1;
    case LSQL_TYPE_INT8: case LSQL_TYPE_UINT8: return 8;
    case LSQL_TYPE_INT16: case LSQL_TYPE_UINT16: case LSQL_TYPE_FLOAT16: return 16;
    case LSQL_TYPE_INT32: case LSQL_TYPE_UINT32: case LSQL_TYPE_FLOAT32: case LSQL_TYPE_DATE32:
    case LSQL_TYPE_TIME32: return 32;
    case LSQL_TYPE_INT64: case LSQL_TYPE_UINT64: case LSQL_TYPE_FLOAT64: case LSQL_TYPE_DATE64:
    case LSQL_TYPE_TIME64: case LSQL_TYPE_TIMESTAMP: case LSQL_TYPE_DURATION: return 64;
    case LSQL_TYPE_DECIMAL128: return 128;
    case LSQL_TYPE_DECIMAL256: return 256;
    case LSQL_TYPE_FIXED_SIZE_BINARY: return f->width * 8;
    case LSQL_TYPE_FIXED_SIZE_LIST: {
      int b = fixed_width_bits(&f->children[0]);
      return b > 0 ? b * f->width : -1;
    }
    default: return -1;
  }
}

static bool is_var(lsql_type t) {
  return t == LSQL_TYPE_UTF8 || t == LSQL_TYPE_LARGE_UTF8 || t == LSQL_TYPE_BINARY || t == LSQL_TYPE_LARGE_BINARY;
}
static bool is_large(lsql_type t) { return t == LSQL_TYPE_LARGE_UTF8 || t == LSQL_TYPE_LARGE_BINARY; }

/* Validity bitmaps of n slots come from lsql_malloc or `pool` with at least bitmap_bytes(n)
 * bytes: that lower bound is the capacity they go back to the pool with. */
static int set_validity(struct ArrowArray *a, uint8_t *validity, int64_t nulls, uint64_t n, lsql_bufpool *pool) {
  if (validity && nulls > 0) {
    lsql_arrow_array_set_pooled_buffer(a, 0, validity, lsql_bitmap_bytes(n), pool);
    a->null_count = nulls;
  } else {
    lsql_bufpool_put(pool, validity, lsql_bitmap_bytes(n));
    a->null_count = 0;
  }
  return LSQL_OK;
}

/* Takes the first `bytes` bytes of b as an output buffer (of capacity *cap): moves b's buffer
 * when it holds them all, else copies into a buffer from the pool (zero-padded). */
static void *take_bytes(lsql_bufpool *pool, lsql_buf *b, size_t bytes, size_t *cap) {
  if (b->len >= bytes && b->data) {
    void *p = b->data;
    *cap = b->cap;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
  }
  void *p = lsql_bufpool_get(pool, bytes ? bytes : 1, cap);
  if (p) {
    if (b->len >= bytes) {
      if (bytes) memcpy(p, b->data, bytes); /* data may be NULL when empty: memcpy(NULL) is UB */
    }
    else {
      if (b->len) memcpy(p, b->data, b->len);
      memset((uint8_t *)p + b->len, 0, bytes - b->len);
    }
  }
  return p;
}

/* Rewrites n int64 offsets as int32 in place (values checked <= INT32_MAX by the caller), so
 * the same buffer becomes the Arrow offsets. Forward order is safe: entry i is read before
 * bytes [4i, 4i+4) are written, and those only overlap entries <= i. memcpy keeps it legal
 * under strict aliasing. */
static void narrow_offsets(uint8_t *p, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    int32_t v = (int32_t)lsql_load_le64(p + i * 8);
    memcpy(p + i * 4, &v, 4);
  }
}

int lsql_arrow_all_null(const lsql_field *f, uint64_t n, struct ArrowArray *out, lsql_error *err);

/* 2.2 variable packed struct rows: per child, fixed bytes or a u32/u64 length and the bytes
 * (layout checked against the schema when the page was decoded). Null rows are empty. */
static int packed_var_rows(const lsql_field *f, lsql_vals *v, uint64_t n, uint8_t *validity, int64_t nulls,
                           struct ArrowArray *out, lsql_error *err) {
  size_t nc = f->n_children;
  if (lsql_arrow_array_init(out, 1, (int64_t)nc) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
  out->length = (int64_t)n;
  set_validity(out, validity, nulls, n, v->pool);
  lsql_vals *cv = lsql_calloc(nc ? nc : 1, sizeof *cv);
  if (!cv) return lsql_err_oom(err);
  int rc = LSQL_OK;
  for (size_t c = 0; c < nc; c++) {
    lsql_type t = f->children[c].type;
    cv[c].var = t == LSQL_TYPE_UTF8 || t == LSQL_TYPE_LARGE_UTF8 || t == LSQL_TYPE_BINARY || t == LSQL_TYPE_LARGE_BINARY;
    cv[c].bits = cv[c].var ? 0 : (uint32_t)fixed_width_bits(&f->children[c]);
    if (cv[c].var && lsql_buf_resize(&cv[c].offs, 8) != LSQL_OK) rc = lsql_err_oom(err);
  }
  const uint64_t *ro = (const uint64_t *)v->offs.data;
  for (uint64_t i = 0; i < n && rc == LSQL_OK; i++) {
    const uint8_t *p = v->data.data + ro[i];
    size_t len = (size_t)(ro[i + 1] - ro[i]), o = 0;
    for (size_t c = 0; c < nc && rc == LSQL_OK; c++) {
      lsql_vals *d = &cv[c];
      lsql_type t = f->children[c].type;
      if (d->var) {
        size_t lw = (t == LSQL_TYPE_LARGE_UTF8 || t == LSQL_TYPE_LARGE_BINARY) ? 8 : 4;
        uint64_t l = 0;
        if (len) {
          if (o + lw > len) { rc = lsql_err_corrupt(err, "packed row %llu truncated", (unsigned long long)i); break; }
          l = lw == 4 ? lsql_load_le32(p + o) : lsql_load_le64(p + o);
          o += lw;
          if (l > len - o) { rc = lsql_err_corrupt(err, "packed row %llu child %zu overflows", (unsigned long long)i, c); break; }
          if (lsql_buf_append(&d->data, p + o, (size_t)l) != LSQL_OK) { rc = lsql_err_oom(err); break; }
          o += (size_t)l;
        }
        uint64_t end = d->data.len;
        if (lsql_buf_append(&d->offs, &end, 8) != LSQL_OK) rc = lsql_err_oom(err);
      } else {
        size_t w = d->bits / 8;
        if (len) {
          if (o + w > len) { rc = lsql_err_corrupt(err, "packed row %llu truncated", (unsigned long long)i); break; }
          if (lsql_buf_append(&d->data, p + o, w) != LSQL_OK) rc = lsql_err_oom(err);
          o += w;
        } else if (lsql_buf_resize(&d->data, d->data.len + w) != LSQL_OK) rc = lsql_err_oom(err);
      }
      d->n++;
    }
  }
  for (size_t c = 0; c < nc && rc == LSQL_OK; c++) rc = lsql_arrow_from_vals(&f->children[c], &cv[c], n, NULL, 0, out->children[c], err);
  for (size_t c = 0; c < nc; c++) lsql_vals_free(&cv[c]);
  lsql_free(cv);
  return rc;
}

static int from_vals(const lsql_field *f, lsql_vals *v, uint64_t n, uint8_t *validity, int64_t nulls,
                     struct ArrowArray *out, lsql_error *err);

/* Builds the leaf array; on failure *out is left released. */
int lsql_arrow_from_vals(const lsql_field *f, lsql_vals *v, uint64_t n, uint8_t *validity, int64_t nulls,
                         struct ArrowArray *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  int rc = from_vals(f, v, n, validity, nulls, out, err);
  if (rc != LSQL_OK) lsql_arrow_array_reset(out);
  return rc;
}

static int from_vals(const lsql_field *f, lsql_vals *v, uint64_t n, uint8_t *validity, int64_t nulls,
                     struct ArrowArray *out, lsql_error *err) {
  int rc = LSQL_OK;
  if (f->type == LSQL_TYPE_NULL) {
    lsql_free(validity);
    if (lsql_arrow_array_init(out, 0, 0) != LSQL_OK) return lsql_err_oom(err);
    out->length = (int64_t)n;
    out->null_count = (int64_t)n;
    return LSQL_OK;
  }
  if (v->n != n) {
    lsql_free(validity);
    return lsql_err_corrupt(err, "%llu values for %llu slots", (unsigned long long)v->n, (unsigned long long)n);
  }
  if (f->blob && f->type != LSQL_TYPE_STRUCT) {
    /* Blob columns read as their descriptions struct<position: uint64, size: uint64>. */
    if (v->bits && v->bits != 128) { lsql_free(validity); return lsql_err_corrupt(err, "blob descriptions of %u bits", v->bits); }
    if (lsql_arrow_array_init(out, 1, 2) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
    out->length = (int64_t)n;
    set_validity(out, validity, nulls, n, v->pool);
    for (int c = 0; c < 2; c++) {
      uint64_t *d = lsql_calloc((size_t)n + 1, 8);
      if (!d) return lsql_err_oom(err);
      if (v->bits)
        for (uint64_t i = 0; i < n; i++) d[i] = lsql_load_le64(v->data.data + i * 16 + c * 8);
      struct ArrowArray *ch = out->children[c];
      if (lsql_arrow_array_init(ch, 2, 0) != LSQL_OK) { lsql_free(d); return lsql_err_oom(err); }
      ch->length = (int64_t)n;
      lsql_arrow_array_set_buffer(ch, 1, d);
    }
    return LSQL_OK;
  }
  if (is_var(f->type)) {
    if (lsql_arrow_array_init(out, 3, 0) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
    out->length = (int64_t)n;
    set_validity(out, validity, nulls, n, v->pool);
    if (!v->var && v->bits == 0) { /* all-null filler */
      size_t ow = is_large(f->type) ? 8 : 4;
      void *o = lsql_calloc((size_t)n + 1, ow);
      if (!o) return lsql_err_oom(err);
      lsql_arrow_array_set_buffer(out, 1, o);
      lsql_arrow_array_set_buffer(out, 2, lsql_malloc(1));
      return LSQL_OK;
    }
    if (!v->var) return lsql_err_corrupt(err, "fixed-width values for string field \"%s\"", f->name);
    if (v->offs.len < (n + 1) * 8) return lsql_err_corrupt(err, "missing offsets");
    if (!is_large(f->type)) {
      if (lsql_load_le64(v->offs.data + n * 8) > INT32_MAX)
        return lsql_err(err, LSQL_ELIMIT, "string data over 2 GiB in one batch");
      narrow_offsets(v->offs.data, n + 1);
    }
    size_t ocap, dcap;
    void *o = take_bytes(v->pool, &v->offs, (size_t)(n + 1) * (is_large(f->type) ? 8 : 4), &ocap);
    lsql_arrow_array_set_pooled_buffer(out, 1, o, ocap, v->pool);
    void *d = take_bytes(v->pool, &v->data, v->data.len, &dcap);
    lsql_arrow_array_set_pooled_buffer(out, 2, d, dcap, v->pool);
    if (!out->buffers[1] || !out->buffers[2]) return lsql_err_oom(err);
    return LSQL_OK;
  }
  if (f->type == LSQL_TYPE_STRUCT && f->packed && v->var) return packed_var_rows(f, v, n, validity, nulls, out, err);
  if (f->type == LSQL_TYPE_STRUCT && f->packed) {
    /* Packed struct: rows are the children's values concatenated. */
    size_t row = 0;
    for (size_t c = 0; c < f->n_children; c++) {
      int b = fixed_width_bits(&f->children[c]);
      if (b <= 0 || b % 8) { lsql_free(validity); return lsql_err(err, LSQL_EUNSUPPORTED, "packed struct child \"%s\"", f->children[c].name); }
      row += (size_t)b / 8;
    }
    if (v->bits && v->bits != row * 8) { lsql_free(validity); return lsql_err_corrupt(err, "packed struct rows of %u bits, %zu expected", v->bits, row * 8); }
    if (lsql_arrow_array_init(out, 1, (int64_t)f->n_children) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
    out->length = (int64_t)n;
    set_validity(out, validity, nulls, n, v->pool);
    size_t off = 0;
    for (size_t c = 0; c < f->n_children; c++) {
      size_t w = (size_t)fixed_width_bits(&f->children[c]) / 8;
      lsql_vals cv = {.bits = (uint32_t)w * 8, .n = n, .pool = v->pool};
      if (lsql_buf_init_pooled(&cv.data, v->pool, (size_t)n * w) != LSQL_OK ||
          lsql_buf_resize(&cv.data, (size_t)n * w) != LSQL_OK) return lsql_err_oom(err);
      if (v->bits)
        for (uint64_t i = 0; i < n; i++) memcpy(cv.data.data + i * w, v->data.data + i * row + off, w);
      off += w;
      rc = lsql_arrow_from_vals(&f->children[c], &cv, n, NULL, 0, out->children[c], err);
      vals_give_back(&cv);
      if (rc != LSQL_OK) return rc;
    }
    return LSQL_OK;
  }
  if (f->type == LSQL_TYPE_DICTIONARY) {
    /* v holds u32 indices; the dictionary is attached by the caller through f's dict vals. */
    lsql_free(validity);
    return lsql_err(err, LSQL_EUNSUPPORTED, "dictionary leaf without dictionary");
  }
  int bits = fixed_width_bits(f);
  if (bits <= 0) { lsql_free(validity); return lsql_err(err, LSQL_EUNSUPPORTED, "leaf type %s", f->logical_type); }
  if (v->bits && (int)v->bits != bits) {
    lsql_free(validity);
    return lsql_err_corrupt(err, "field \"%s\": %u-bit values for a %d-bit type", f->name, v->bits, bits);
  }
  if (f->type == LSQL_TYPE_FIXED_SIZE_LIST) {
    const lsql_field *it = &f->children[0];
    uint64_t ni = n * (uint64_t)f->width;
    if (lsql_arrow_array_init(out, 1, 1) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
    out->length = (int64_t)n;
    set_validity(out, validity, nulls, n, v->pool);
    lsql_vals iv = {.bits = (uint32_t)(bits / f->width), .n = ni, .pool = v->pool};
    iv.data = v->data;
    memset(&v->data, 0, sizeof v->data);
    if (!v->bits) iv.bits = 0;
    uint8_t *ivb = NULL;
    int64_t inull = 0;
    if (v->ivalid.len) {
      size_t icap;
      ivb = take_bytes(v->pool, &v->ivalid, lsql_bitmap_bytes(ni), &icap);
      if (!ivb) { lsql_vals_free(&iv); return lsql_err_oom(err); }
      inull = lsql_bitmap_count_zeros(ivb, 0, ni);
    }
    if (!iv.bits) {
      iv.bits = (uint32_t)(bits / f->width);
      if (lsql_buf_resize(&iv.data, iv.bits == 1 ? lsql_bitmap_bytes(ni) : (size_t)ni * (iv.bits / 8)) != LSQL_OK) { lsql_free(ivb); lsql_vals_free(&iv); return lsql_err_oom(err); }
    }
    rc = lsql_arrow_from_vals(it, &iv, ni, ivb, inull, out->children[0], err);
    vals_give_back(&iv);
    return rc;
  }
  if (lsql_arrow_array_init(out, 2, 0) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
  out->length = (int64_t)n;
  set_validity(out, validity, nulls, n, v->pool);
  size_t bytes = bits == 1 ? lsql_bitmap_bytes(n) : (size_t)n * (size_t)(bits / 8), cap;
  void *d = take_bytes(v->pool, &v->data, bytes, &cap);
  if (!d) return lsql_err_oom(err);
  lsql_arrow_array_set_pooled_buffer(out, 1, d, cap, v->pool);
  return LSQL_OK;
}

static int all_null(const lsql_field *f, uint64_t n, struct ArrowArray *out, lsql_error *err) {
  if (f->type == LSQL_TYPE_NULL) {
    if (lsql_arrow_array_init(out, 0, 0) != LSQL_OK) return lsql_err_oom(err);
    out->length = out->null_count = (int64_t)n;
    return LSQL_OK;
  }
  bool blob = f->blob && f->type != LSQL_TYPE_STRUCT;
  int nb = 2, nc = 0;
  uint64_t child_n = 0;
  size_t data_bytes = 8;
  if (blob) nb = 1, nc = 2, child_n = n;
  else if (is_var(f->type)) nb = 3, data_bytes = (size_t)(n + 1) * (is_large(f->type) ? 8 : 4);
  else if (f->type == LSQL_TYPE_STRUCT) nb = 1, nc = (int)f->n_children, child_n = n;
  else if (f->type == LSQL_TYPE_FIXED_SIZE_LIST) nb = 1, nc = 1, child_n = n * (uint64_t)f->width;
  else if (f->type == LSQL_TYPE_LIST || f->type == LSQL_TYPE_LARGE_LIST || f->type == LSQL_TYPE_MAP)
    nc = 1, data_bytes = (size_t)(n + 1) * (f->type == LSQL_TYPE_LARGE_LIST ? 8 : 4);
  else if (f->type == LSQL_TYPE_DICTIONARY) {
    int ib = f->dict_index == LSQL_TYPE_INT8 || f->dict_index == LSQL_TYPE_UINT8 ? 1
           : f->dict_index == LSQL_TYPE_INT16 || f->dict_index == LSQL_TYPE_UINT16 ? 2
           : f->dict_index == LSQL_TYPE_INT32 || f->dict_index == LSQL_TYPE_UINT32 ? 4 : 8;
    data_bytes = (size_t)n * ib;
  } else {
    int bits = fixed_width_bits(f);
    if (bits <= 0) return lsql_err(err, LSQL_EUNSUPPORTED, "null column of type %s", f->logical_type);
    data_bytes = bits == 1 ? lsql_bitmap_bytes(n) : (size_t)n * (size_t)(bits / 8);
  }
  if (lsql_arrow_array_init(out, nb, nc) != LSQL_OK) return lsql_err_oom(err);
  out->length = out->null_count = (int64_t)n;
  void *v = lsql_calloc(lsql_bitmap_bytes(n) + 1, 1);
  if (!v) return lsql_err_oom(err);
  lsql_arrow_array_set_buffer(out, 0, v);
  for (int i = 1; i < nb; i++) {
    void *z = lsql_calloc(i == 1 ? data_bytes + 1 : 1, 1);
    if (!z) return lsql_err_oom(err);
    lsql_arrow_array_set_buffer(out, i, z);
  }
  if (blob) {
    for (int c = 0; c < 2; c++) {
      if (lsql_arrow_array_init(out->children[c], 2, 0) != LSQL_OK) return lsql_err_oom(err);
      void *z = lsql_calloc((size_t)n + 1, 8);
      if (!z) return lsql_err_oom(err);
      out->children[c]->length = (int64_t)n;
      lsql_arrow_array_set_buffer(out->children[c], 1, z);
    }
    return LSQL_OK;
  }
  for (int i = 0; i < nc; i++) {
    const lsql_field *cf = &f->children[i];
    if (child_n == 0) LSQL_TRY(lsql_arrow_empty(cf, out->children[i], err));
    else LSQL_TRY(all_null(cf, child_n, out->children[i], err));
  }
  if (f->type == LSQL_TYPE_DICTIONARY) {
    struct ArrowArray *d = lsql_arrow_array_alloc_dictionary(out);
    if (!d) return lsql_err_oom(err);
    LSQL_TRY(lsql_arrow_empty(&f->children[0], d, err));
  }
  return LSQL_OK;
}

int lsql_arrow_all_null(const lsql_field *f, uint64_t n, struct ArrowArray *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  int rc = all_null(f, n, out, err);
  if (rc != LSQL_OK) lsql_arrow_array_reset(out);
  return rc;
}

/* ---- unraveling ----------------------------------------------------------------------------- */

#define MAX_DEPTH 16

typedef struct unravel {
  int n_pos;                  /* path length */
  int space[MAX_DEPTH];       /* slot space of each path position */
  bool is_list[MAX_DEPTH];
  lsql_buf valid[MAX_DEPTH];  /* validity bitmap per slot (built only where this leaf represents
                               * the node and it has nulls) */
  int64_t nulls[MAX_DEPTH];
  lsql_buf offs[MAX_DEPTH];   /* list start offsets per slot + final: int32 (int64 for large lists) */
  uint64_t n_slots[MAX_DEPTH + 1];
  lsql_bufpool *pool;         /* borrowed from the leaf's vals */
} unravel;

static void unravel_free(unravel *u) {
  for (int i = 0; i < MAX_DEPTH; i++) {
    buf_give_back(u->pool, &u->valid[i]);
    buf_give_back(u->pool, &u->offs[i]);
  }
}

typedef struct path_node { const lsql_field *f; bool list; } path_node;

/* Per (rep, def) level pair, what it does at one path position. */
enum { UR_HERE = 1, UR_VALID = 2, UR_CHILD = 4, UR_BAD = 8, UR_NULL = 16 };

typedef struct unravel_out {
  uint64_t slots, child;      /* slots at the position, slots of its list's child space */
  int64_t nulls;
  unsigned bad;               /* UR_BAD: a level pair that cannot occur; UR_CHILD: item before any list */
} unravel_out;

/* One pass over the levels for one path position: its slots (validity bits into bm, list start
 * offsets into o32/o64) and, for a list, its child slots and the impossible level pairs.
 * Specialised per shape by unravel_run; the body is branch-free apart from the validity flush. */
static inline __attribute__((always_inline)) void unravel_pass(
    const uint16_t *rep, const uint16_t *def, unsigned R, unsigned D1, const uint8_t *tab, uint64_t n,
    bool list, uint8_t *bm, int ow, void *offs, unravel_out *res) {
  uint64_t word = 0, k = 0, child = 0;
  unsigned nb = 0, bad = 0;
  size_t nw = 0;
  uint32_t *o32 = offs;
  uint64_t *o64 = offs;
  for (uint64_t i = 0; i < n; i++) {
    unsigned e = tab[(rep ? rep[i] : R) * D1 + (def ? def[i] : 0)];
    unsigned here = e & UR_HERE;
    if (ow == 4) o32[k] = (uint32_t)child;
    else if (ow == 8) o64[k] = child;
    if (bm) {
      word |= (uint64_t)((e >> 1) & 1) << nb;
      nb += here;
      if (nb == 64) { memcpy(bm + 8 * nw++, &word, 8); word = 0; nb = 0; }
    }
    k += here;
    if (list) {
      unsigned ch = (e >> 2) & 1;
      child += ch;
      bad |= (e & UR_BAD) | ((ch & (k == 0)) << 2);
    }
  }
  uint64_t valid = k;
  if (bm) {
    memcpy(bm + 8 * nw, &word, 8);
    valid = 0;
    for (size_t w = 0; w <= nw; w++) {
      uint64_t x;
      memcpy(&x, bm + 8 * w, 8);
      valid += (uint64_t)__builtin_popcountll(x);
    }
  }
  if (ow == 4) o32[k] = (uint32_t)child;
  else if (ow == 8) o64[k] = child;
  res->slots = k;
  res->child = child;
  res->nulls = (int64_t)(k - valid);
  res->bad = bad;
}

static void unravel_run(const uint16_t *rep, const uint16_t *def, unsigned R, unsigned D1, const uint8_t *tab,
                        uint64_t n, bool list, uint8_t *bm, int ow, void *offs, unravel_out *res) {
#define UR_PASS(REP, DEF, L, BM, OW, OFFS) unravel_pass(REP, DEF, R, D1, tab, n, L, BM, OW, OFFS, res)
#define UR_SHAPES(REP, DEF)                                                                    \
  do {                                                                                         \
    if (!list) {                                                                               \
      if (bm) UR_PASS(REP, DEF, false, bm, 0, NULL);                                           \
      else UR_PASS(REP, DEF, false, NULL, 0, NULL);                                            \
    } else if (ow == 4) {                                                                      \
      if (bm) UR_PASS(REP, DEF, true, bm, 4, offs);                                            \
      else UR_PASS(REP, DEF, true, NULL, 4, offs);                                             \
    } else if (ow == 8) UR_PASS(REP, DEF, true, bm, 8, offs);                                  \
    else UR_PASS(REP, DEF, true, NULL, 0, NULL);                                               \
  } while (0)
  if (rep && def) UR_SHAPES(rep, def);
  else if (rep) UR_SHAPES(rep, NULL);
  else UR_SHAPES(NULL, def);
#undef UR_SHAPES
#undef UR_PASS
}

/* Runs the levels of one leaf through its path: slot counts, validity bitmaps and list offsets
 * of the path positions in `need` (bit p: this leaf represents the node at position p). Lists
 * are always counted (their child spaces' slot counts validate the levels). */
static int do_unravel(const lsql_leaf_acc *a, const path_node *path, int n_pos, uint32_t need, unravel *u,
                      lsql_error *err) {
  memset(u, 0, sizeof *u);
  u->n_pos = n_pos;
  u->pool = a->vals.pool;
  if (a->n_layers != n_pos)
    return lsql_err_corrupt(err, "leaf has %d rep/def layers, its field path has %d levels", a->n_layers, n_pos);
  int R = 0;
  for (int p = 0; p < n_pos; p++) {
    int layer = a->layers[n_pos - 1 - p];
    u->is_list[p] = lsql_layer_is_list(layer);
    if (u->is_list[p] != path[p].list)
      return lsql_err_corrupt(err, "rep/def layer %d does not match field \"%s\"", layer, path[p].f->name);
    u->space[p] = R;
    if (u->is_list[p]) R++;
  }
  /* def level -> (path position, is_empty) */
  int max_def = 0;
  for (int k = 0; k < n_pos; k++) max_def += lsql_layer_ndef(a->layers[k]);
  int dpos[64];
  bool dempty[64];
  if (max_def >= 64) return lsql_err(err, LSQL_EUNSUPPORTED, "too many definition levels");
  int lvl = 1;
  for (int k = 0; k < n_pos; k++) {
    int layer = a->layers[k], p = n_pos - 1 - k;
    switch (layer) {
      case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM:
      case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_LIST: dpos[lvl] = p; dempty[lvl++] = false; break;
      case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_EMPTYABLE_LIST: dpos[lvl] = p; dempty[lvl++] = true; break;
      case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULL_AND_EMPTY_LIST:
        dpos[lvl] = p; dempty[lvl++] = false;
        dpos[lvl] = p; dempty[lvl++] = true;
        break;
      default: break;
    }
  }
  const uint16_t *rep = a->has_rep ? (const uint16_t *)a->rep.data : NULL;
  const uint16_t *def = a->has_def ? (const uint16_t *)a->def.data : NULL;
  uint64_t n = a->n_levels;
  if ((rep && a->rep.len / 2 < n) || (def && a->def.len / 2 < n))
    return lsql_err_corrupt(err, "%llu levels, fewer stored", (unsigned long long)n);
  if (R > 0 && !rep) return lsql_err_corrupt(err, "list layers without repetition levels");
  /* Range checks first (vectorisable), so the passes index their tables unchecked. */
  unsigned mr = 0, md = 0;
  if (rep)
    for (uint64_t i = 0; i < n; i++) mr = rep[i] > mr ? rep[i] : mr;
  if (def)
    for (uint64_t i = 0; i < n; i++) md = def[i] > md ? def[i] : md;
  if ((int)mr > R) return lsql_err_corrupt(err, "repetition level %u > %d", mr, R);
  if ((int)md > max_def) return lsql_err_corrupt(err, "definition level %u > %d", md, max_def);
  if (rep && n && rep[0] != R) return lsql_err_corrupt(err, "list item before any list");
  const unsigned D1 = (unsigned)max_def + 1;
  uint8_t tab[(MAX_DEPTH + 1) * 64];
  /* Slot space 0 without lists: every level is a slot there. */
  if (R == 0) u->n_slots[0] = n;
  unsigned bad = 0;
  for (int p = 0; p < n_pos; p++) {
    bool want = (need >> p) & 1;
    if (!want && !u->is_list[p]) continue;
    int s = u->space[p];
    bool any_null = false;
    for (int r = 0; r <= R; r++)
      for (int d = 0; d <= max_def; d++) {
        int m0 = R - r, q = d ? dpos[d] : n_pos, m_end = d ? u->space[q] : R;
        bool empty = d ? dempty[d] : false;
        uint8_t e;
        if (m0 > m_end) e = UR_BAD;
        else {
          bool here = m0 <= s && s <= m_end;
          bool null = d && q <= p && !(empty && q == p);
          bool ch = u->is_list[p] && m0 <= s + 1 && s + 1 <= m_end;
          e = (uint8_t)((here ? UR_HERE : 0) | (here && !null ? UR_VALID : 0) | (here && null ? UR_NULL : 0) |
                        (ch ? UR_CHILD : 0));
          any_null |= here && null;
        }
        tab[r * D1 + d] = e;
      }
    /* Positions of the innermost slot space take a slot at every level whose list exists, so
     * their pass needs no rep (the list passes catch impossible pairs); a batch without def
     * levels above 0 needs no def. */
    const uint16_t *prep = s == R ? NULL : rep, *pdef = md ? def : NULL;
    /* Validity bitmaps are written in whole 64-bit words (at most n slots). */
    uint8_t *bm = NULL;
    if (want && any_null && pdef) {
      if (lsql_buf_init_pooled(&u->valid[p], u->pool, (size_t)(n / 64 + 2) * 8) != LSQL_OK) return lsql_err_oom(err);
      bm = u->valid[p].data;
    }
    int ow = 0;
    if (want && u->is_list[p]) {
      ow = path[p].f->type == LSQL_TYPE_LARGE_LIST ? 8 : 4;
      if (ow == 4 && n > INT32_MAX) return lsql_err(err, LSQL_ELIMIT, "list over 2^31 items in one batch");
      if (lsql_buf_init_pooled(&u->offs[p], u->pool, (size_t)(n + 2) * (size_t)ow) != LSQL_OK) return lsql_err_oom(err);
    }
    unravel_out res;
    if (!prep && !pdef) { /* innermost space, no nulls: every level is a valid slot */
      res.slots = n, res.child = 0, res.nulls = 0, res.bad = 0;
    } else unravel_run(prep, pdef, (unsigned)R, D1, tab, n, u->is_list[p], bm, ow, ow ? u->offs[p].data : NULL, &res);
    bad |= res.bad;
    if (bm) u->valid[p].len = (size_t)(res.slots + 7) / 8;
    if (ow) u->offs[p].len = (size_t)(res.slots + 1) * (size_t)ow;
    u->nulls[p] = res.nulls;
    u->n_slots[s] = res.slots;
    if (u->is_list[p]) u->n_slots[s + 1] = res.child;
  }
  if (bad & UR_BAD) return lsql_err_corrupt(err, "a level continues a list that does not exist");
  if (bad & UR_CHILD) return lsql_err_corrupt(err, "list item before any list");
  return LSQL_OK;
}

typedef struct build_ctx {
  lsql_leaf_acc *leaves;
  unravel *u;
  size_t n_leaves;
  size_t next_leaf;
} build_ctx;

static size_t count_leaves(const lsql_field *f) {
  if (f->packed || f->blob || f->n_children == 0 || f->type == LSQL_TYPE_DICTIONARY ||
      (f->type == LSQL_TYPE_FIXED_SIZE_LIST && f->children[0].id < 0))
    return 1;
  size_t n = 0;
  for (size_t i = 0; i < f->n_children; i++) n += count_leaves(&f->children[i]);
  return n;
}

static bool is_leafish(const lsql_field *f) {
  return f->packed || f->blob || f->n_children == 0 || f->type == LSQL_TYPE_DICTIONARY ||
         (f->type == LSQL_TYPE_FIXED_SIZE_LIST && f->children[0].id < 0);
}

/* A dictionary array of ib-byte indices over values of field vf from the leaf's indices and
 * dictionary. `checked`: the indices are u32, each < a->dict.n (dictionary batches of plain
 * fields), so their buffer becomes the int32 indices as is. */
static int dict_array(const lsql_field *vf, int ib, bool checked, lsql_leaf_acc *a, uint64_t n, uint8_t *validity,
                      int64_t nulls, struct ArrowArray *out, lsql_error *err) {
  if (lsql_arrow_array_init(out, 2, 0) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
  out->length = (int64_t)n;
  set_validity(out, validity, nulls, n, a->vals.pool);
  if (a->vals.n != n) return lsql_err_corrupt(err, "%llu dictionary indices for %llu slots", (unsigned long long)a->vals.n, (unsigned long long)n);
  size_t ixcap;
  uint8_t *ix;
  if (checked && ib == 4 && a->vals.bits == 32 && !a->vals.var && a->dict.n <= INT32_MAX) {
    ix = take_bytes(a->vals.pool, &a->vals.data, (size_t)n * 4, &ixcap);
    if (!ix) return lsql_err_oom(err);
  } else {
    ix = lsql_bufpool_get(a->vals.pool, (size_t)n * ib + 1, &ixcap);
    if (!ix) return lsql_err_oom(err);
    /* Indices are u32 from the 2.1 decoder but keep the page's width from the 2.0 one: read by
     * width, after checking the bytes are there (a corrupt 2.0 page overflowed here, found by
     * fuzz_file_reader: crash-3d24864...). */
    const unsigned sw = a->vals.bits / 8;
    if (a->vals.var || (sw != 1 && sw != 2 && sw != 4 && sw != 8) || a->vals.data.len / sw < n) {
      lsql_free(ix);
      return lsql_err_corrupt(err, "dictionary indices of %u bits, %zu bytes for %llu slots", a->vals.bits,
                              a->vals.data.len, (unsigned long long)n);
    }
    const uint8_t *src = a->vals.data.data;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t v = sw == 1 ? src[i] : sw == 2 ? lsql_load_le16(src + 2 * i)
                 : sw == 4 ? lsql_load_le32(src + 4 * i) : lsql_load_le64(src + 8 * i);
      if (a->has_dict && v >= a->dict.n) v = 0;
      memcpy(ix + i * ib, &v, (size_t)ib);
    }
  }
  lsql_arrow_array_set_pooled_buffer(out, 1, ix, ixcap, a->vals.pool);
  struct ArrowArray *d = lsql_arrow_array_alloc_dictionary(out);
  if (!d) return lsql_err_oom(err);
  uint8_t *dv = NULL;
  int64_t dn = 0;
  if (a->dict.valid.len >= lsql_bitmap_bytes(a->dict.n) && a->dict.n) {
    dn = lsql_bitmap_count_zeros(a->dict.valid.data, 0, a->dict.n);
    if (dn) {
      dv = lsql_malloc(a->dict.valid.len);
      if (!dv) return lsql_err_oom(err);
      memcpy(dv, a->dict.valid.data, a->dict.valid.len);
    }
  }
  return lsql_arrow_from_vals(vf, &a->dict, a->dict.n, dv, dn, d, err);
}

static int dict_leaf(const lsql_field *f, lsql_leaf_acc *a, uint64_t n, uint8_t *validity, int64_t nulls,
                     struct ArrowArray *out, lsql_error *err) {
  if (f->type != LSQL_TYPE_DICTIONARY) return dict_array(f, 4, true, a, n, validity, nulls, out, err);
  int ib;
  switch (f->dict_index) {
    case LSQL_TYPE_INT8: case LSQL_TYPE_UINT8: ib = 1; break;
    case LSQL_TYPE_INT16: case LSQL_TYPE_UINT16: ib = 2; break;
    case LSQL_TYPE_INT32: case LSQL_TYPE_UINT32: ib = 4; break;
    default: ib = 8;
  }
  return dict_array(&f->children[0], ib, false, a, n, validity, nulls, out, err);
}

static int build_node(const lsql_field *f, int p, build_ctx *c, uint64_t n_expect, struct ArrowArray *out,
                      lsql_error *err) {
  size_t first = c->next_leaf, nl = count_leaves(f);
  if (first + nl > c->n_leaves) return lsql_err_corrupt(err, "missing leaf for field \"%s\"", f->name);
  size_t rep = first;
  while (rep < first + nl && c->leaves[rep].missing) rep++;
  if (rep == first + nl) {
    /* No column of this subtree is in the file: nulls. */
    c->next_leaf += nl;
    return lsql_arrow_all_null(f, n_expect, out, err);
  }
  unravel *u = &c->u[rep];
  uint64_t n = u->n_slots[u->space[p]];
  if (n != n_expect) return lsql_err_corrupt(err, "field \"%s\": %llu slots, %llu expected", f->name, (unsigned long long)n, (unsigned long long)n_expect);
  int64_t nulls = u->nulls[p];
  uint8_t *validity = NULL;
  if (nulls) {
    if (!u->valid[p].data || u->valid[p].len < lsql_bitmap_bytes(n))
      return lsql_err_corrupt(err, "field \"%s\": missing validity", f->name);
    validity = u->valid[p].data;
    memset(&u->valid[p], 0, sizeof u->valid[p]);
  }
  if (is_leafish(f)) {
    c->next_leaf++;
    if (f->type == LSQL_TYPE_DICTIONARY) return dict_leaf(f, &c->leaves[first], n, validity, nulls, out, err);
    return lsql_arrow_from_vals(f, &c->leaves[first].vals, n, validity, nulls, out, err);
  }
  if (f->type == LSQL_TYPE_STRUCT) {
    if (lsql_arrow_array_init(out, 1, (int64_t)f->n_children) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
    out->length = (int64_t)n;
    set_validity(out, validity, nulls, n, u->pool);
    for (size_t i = 0; i < f->n_children; i++) LSQL_TRY(build_node(&f->children[i], p + 1, c, n, out->children[i], err));
    return LSQL_OK;
  }
  if (f->type == LSQL_TYPE_LIST || f->type == LSQL_TYPE_LARGE_LIST || f->type == LSQL_TYPE_MAP) {
    if (lsql_arrow_array_init(out, 2, 1) != LSQL_OK) { lsql_free(validity); return lsql_err_oom(err); }
    out->length = (int64_t)n;
    set_validity(out, validity, nulls, n, u->pool);
    /* The unravel wrote the Arrow offsets at the list's width: they move over as they are. */
    size_t ow = f->type == LSQL_TYPE_LARGE_LIST ? 8 : 4;
    if (!u->offs[p].data || u->offs[p].len < (n + 1) * ow) return lsql_err_corrupt(err, "field \"%s\": missing list offsets", f->name);
    uint64_t items = ow == 8 ? lsql_load_le64(u->offs[p].data + n * 8) : lsql_load_le32(u->offs[p].data + n * 4);
    size_t ocap;
    void *o = take_bytes(u->pool, &u->offs[p], u->offs[p].len, &ocap);
    if (!o) return lsql_err_oom(err);
    lsql_arrow_array_set_pooled_buffer(out, 1, o, ocap, u->pool);
    return build_node(&f->children[0], p + 1, c, items, out->children[0], err);
  }
  return lsql_err(err, LSQL_EUNSUPPORTED, "field \"%s\" (%s)", f->name, f->logical_type);
}

/* Marks, per leaf, the path positions whose node it represents in build_node (the first leaf
 * of the node's subtree that is in the file): only those get validity and offsets. */
static void mark_needed(const lsql_field *f, int p, const lsql_leaf_acc *leaves, size_t *next, uint32_t *need) {
  size_t first = *next, nl = count_leaves(f), rep = first;
  while (rep < first + nl && leaves[rep].missing) rep++;
  if (rep == first + nl) { *next += nl; return; }
  if (p < 32) need[rep] |= 1u << p;
  if (is_leafish(f)) { (*next)++; return; }
  for (size_t i = 0; i < f->n_children; i++) mark_needed(&f->children[i], p + 1, leaves, next, need);
}

static int leaf_paths(const lsql_field *f, path_node *stack, int depth, path_node (*paths)[MAX_DEPTH], int *lens,
                      size_t *k, size_t max, lsql_error *err) {
  if (depth >= MAX_DEPTH) return lsql_err(err, LSQL_EUNSUPPORTED, "nesting deeper than %d", MAX_DEPTH);
  stack[depth].f = f;
  stack[depth].list = (f->type == LSQL_TYPE_LIST || f->type == LSQL_TYPE_LARGE_LIST || f->type == LSQL_TYPE_MAP) && !is_leafish(f);
  if (is_leafish(f)) {
    if (*k >= max) return lsql_err_corrupt(err, "leaf count mismatch");
    memcpy(paths[*k], stack, sizeof(path_node) * (size_t)(depth + 1));
    lens[*k] = depth + 1;
    (*k)++;
    return LSQL_OK;
  }
  for (size_t i = 0; i < f->n_children; i++) LSQL_TRY(leaf_paths(&f->children[i], stack, depth + 1, paths, lens, k, max, err));
  return LSQL_OK;
}

int lsql_repdef_build(const lsql_field *field, lsql_leaf_acc *leaves, size_t n_leaves, uint64_t n_rows,
                      struct ArrowArray *out, lsql_error *err) {
  size_t nl = count_leaves(field);
  if (nl != n_leaves) return lsql_err_corrupt(err, "field \"%s\" has %zu leaves, %zu read", field->name, nl, n_leaves);
  /* Fast path: a top-level leaf without repetition. */
  if (n_leaves == 1 && leaves[0].missing) return lsql_arrow_all_null(field, n_rows, out, err);
  if (n_leaves == 1 && is_leafish(field) && !leaves[0].has_rep && leaves[0].n_layers <= 1) {
    lsql_leaf_acc *a = &leaves[0];
    if (a->n_levels != n_rows) return lsql_err_corrupt(err, "%llu levels for %llu rows", (unsigned long long)a->n_levels, (unsigned long long)n_rows);
    uint8_t *validity = NULL;
    int64_t nulls = 0;
    if (a->has_def) {
      const uint16_t *d = (const uint16_t *)a->def.data;
      size_t vcap;
      validity = lsql_bufpool_get(a->vals.pool, lsql_bitmap_bytes(n_rows) + 1, &vcap);
      if (!validity) return lsql_err_oom(err);
      memset(validity, 0, lsql_bitmap_bytes(n_rows) + 1);
      for (uint64_t i = 0; i < n_rows; i++) {
        bool ok = d[i] == 0;
        validity[i >> 3] |= (uint8_t)((unsigned)ok << (i & 7));
        nulls += !ok;
      }
    }
    int rc;
    if (field->type == LSQL_TYPE_DICTIONARY || a->has_dict) { /* Lance dictionary, or dictionary batch */
      memset(out, 0, sizeof *out);
      rc = dict_leaf(field, a, n_rows, validity, nulls, out, err);
      if (rc != LSQL_OK) lsql_arrow_array_reset(out);
    } else rc = lsql_arrow_from_vals(field, &a->vals, n_rows, validity, nulls, out, err);
    return rc;
  }
  path_node stack[MAX_DEPTH];
  path_node (*paths)[MAX_DEPTH] = lsql_calloc(n_leaves, sizeof *paths);
  int *lens = lsql_calloc(n_leaves, sizeof *lens);
  unravel *us = lsql_calloc(n_leaves, sizeof *us);
  uint32_t *need = lsql_calloc(n_leaves, sizeof *need);
  int rc = LSQL_OK;
  if (!paths || !lens || !us || !need) rc = lsql_err_oom(err);
  size_t k = 0;
  if (rc == LSQL_OK) rc = leaf_paths(field, stack, 0, paths, lens, &k, n_leaves, err);
  if (rc == LSQL_OK) {
    size_t next = 0;
    mark_needed(field, 0, leaves, &next, need);
  }
  for (size_t i = 0; i < n_leaves && rc == LSQL_OK; i++) {
    if (leaves[i].missing) continue;
    rc = do_unravel(&leaves[i], paths[i], lens[i], need[i], &us[i], err);
    if (rc == LSQL_OK && us[i].n_slots[0] != n_rows)
      rc = lsql_err_corrupt(err, "leaf %zu: %llu rows decoded, %llu expected", i, (unsigned long long)us[i].n_slots[0], (unsigned long long)n_rows);
  }
  if (rc == LSQL_OK) {
    build_ctx c = {leaves, us, n_leaves, 0};
    rc = build_node(field, 0, &c, n_rows, out, err);
    if (rc != LSQL_OK) lsql_arrow_array_reset(out);
  }
  if (us)
    for (size_t i = 0; i < n_leaves; i++) unravel_free(&us[i]);
  lsql_free(us);
  lsql_free(need);
  lsql_free(paths);
  lsql_free(lens);
  return rc;
}

int lsql_arrow_empty(const lsql_field *f, struct ArrowArray *out, lsql_error *err) {
  int nb = 2, nc = 0;
  switch (f->type) {
    case LSQL_TYPE_NULL: nb = 0; break;
    case LSQL_TYPE_UTF8: case LSQL_TYPE_LARGE_UTF8: case LSQL_TYPE_BINARY: case LSQL_TYPE_LARGE_BINARY: nb = 3; break;
    case LSQL_TYPE_STRUCT: nb = 1; nc = (int)f->n_children; break;
    case LSQL_TYPE_FIXED_SIZE_LIST: nb = 1; nc = 1; break;
    case LSQL_TYPE_LIST: case LSQL_TYPE_LARGE_LIST: case LSQL_TYPE_MAP: nb = 2; nc = 1; break;
    default: break;
  }
  if (lsql_arrow_array_init(out, nb, nc) != LSQL_OK) return lsql_err_oom(err);
  for (int i = 1; i < nb; i++) {
    void *z = lsql_calloc(1, 8);
    if (!z) return lsql_err_oom(err);
    lsql_arrow_array_set_buffer(out, i, z);
  }
  for (int i = 0; i < nc; i++) LSQL_TRY(lsql_arrow_empty(&f->children[i], out->children[i], err));
  if (f->type == LSQL_TYPE_DICTIONARY) {
    struct ArrowArray *d = lsql_arrow_array_alloc_dictionary(out);
    if (!d) return lsql_err_oom(err);
    LSQL_TRY(lsql_arrow_empty(&f->children[0], d, err));
  }
  return LSQL_OK;
}
