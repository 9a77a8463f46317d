/* Lance 2.0 data files: one column per field (struct headers, list offsets, leaves); each page's
 * encoding is an ArrayEncoding tree. Leaves decode whole pages into values + validity (cached);
 * lists map their offsets pages onto item rows of the child column. */
#include "format/encoding/kernels.h"
#include "format/internal.h"
#include "util/arrow.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define AE(x) LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_##x

/* A decoded 2.0 page: values and an optional validity bitmap (1 = valid). Its buffers either
 * borrow the page's raw buffers (node20.bufs, uncompressed flat data needs no copy) or are owned
 * (decoded); owned ones become the node's spares when the next page is loaded. */
typedef struct page20 {
  lsql_vals vals;
  lsql_vals dict;
  lsql_buf valid;    /* empty = all valid */
  uint64_t n;
  /* vals are checked u32 indices into dict (a dictionary-encoded page of a plain field): each
   * batch gathers its rows straight from the dictionary into its output (one copy, no page-wide
   * string build). Otherwise a non-empty dict belongs to a dictionary-typed field. */
  bool gather;
} page20;

#define N20_SPARES 4
enum { H20_DATA, H20_OFFS, H20_IVALID, H20_VALID, H20_N };

typedef struct node20 node20;
struct node20 {
  const lsql_field *f;
  int32_t col;
  uint64_t *page_start;   /* n_pages + 1 (rows; items for list item columns) */
  uint64_t *item_start;   /* lists: n_pages + 1 first item of each offsets page */
  size_t cur;
  page20 pg;
  uint8_t **bufs;         /* raw buffers of the current page (its values may borrow them) */
  const lsql_page *bufs_pg;
  size_t bufs_page;
  lsql_prefetch pf;       /* raw buffers of the next pages */
  /* Owned decode buffers of earlier pages (len 0, capacity kept): the next pages decode into
   * them instead of faulting in fresh memory. */
  lsql_buf spare[N20_SPARES];
  /* Output buffers of this node's batches come from (and return to) this pool; hint: the
   * previous batch's buffer sizes, so a steady scan starts each batch at the right size. */
  lsql_bufpool *pool;
  size_t hint[H20_N];
  node20 *children;
  size_t n_children;
  bool leaf;
};

struct lsql_reader20 {
  lsql_file *f;
  node20 root;
};

typedef struct ctx20 {
  lsql_file *f;
  const lsql_page *pg;
  uint8_t **bufs;
  lsql_vals *dict;   /* non-NULL: keep dictionaries (dictionary-typed fields) */
  node20 *nd;
  /* Non-NULL while decoding the page's own values (through Nullable wrappers only): a
   * Dictionary there keeps its items in *gdict and its u32 indices as the values. */
  lsql_vals *gdict;
  bool gathered;     /* set when that happened */
} ctx20;

/* Does p point into one of the node's held raw page buffers (borrowed, not owned)? */
static bool is_raw(const node20 *nd, const uint8_t *p) {
  if (!nd->bufs || !p) return false;
  for (size_t i = 0; i < nd->bufs_pg->n_buffers; i++)
    if (nd->bufs[i] && p >= nd->bufs[i] && p < nd->bufs[i] + nd->bufs_pg->buf_size[i] + 8) return true;
  return false;
}

/* Empties b: an owned buffer becomes a spare (replacing a smaller one), a borrowed one is let go. */
static void drop_buf(node20 *nd, lsql_buf *b) {
  if (b->data && !is_raw(nd, b->data)) {
    int slot = -1;
    for (int i = 0; i < N20_SPARES; i++) {
      if (!nd->spare[i].data) { slot = i; break; }
      if (slot < 0 || nd->spare[i].cap < nd->spare[slot].cap) slot = i;
    }
    if (b->cap >= 4096 && (!nd->spare[slot].data || nd->spare[slot].cap < b->cap)) {
      lsql_buf_free(&nd->spare[slot]);
      nd->spare[slot] = *b;
      nd->spare[slot].len = 0;
    } else {
      lsql_buf_free(b);
    }
  }
  memset(b, 0, sizeof *b);
}

static void drop_vals(node20 *nd, lsql_vals *v) {
  drop_buf(nd, &v->data);
  drop_buf(nd, &v->offs);
  drop_buf(nd, &v->ivalid);
  drop_buf(nd, &v->valid);
  memset(v, 0, sizeof *v);
}

/* Starts an empty, unallocated b on the smallest spare holding `need` bytes (if any). */
static void use_spare(node20 *nd, lsql_buf *b, size_t need) {
  if (b->data) return;
  int best = -1;
  for (int i = 0; i < N20_SPARES; i++)
    if (nd->spare[i].data && nd->spare[i].cap >= need && (best < 0 || nd->spare[i].cap < nd->spare[best].cap)) best = i;
  if (best < 0) return;
  *b = nd->spare[best];
  b->len = 0;
  memset(&nd->spare[best], 0, sizeof nd->spare[best]);
}

/* Lets go of the current page: owned buffers become spares, raw buffers go back to the
 * prefetcher's pool (after the values borrowing them are dropped). */
static void page_release(lsql_file *f, node20 *nd) {
  page20 *p = &nd->pg;
  drop_vals(nd, &p->vals);
  drop_vals(nd, &p->dict);
  drop_buf(nd, &p->valid);
  memset(p, 0, sizeof *p);
  if (nd->bufs) lsql_prefetch_give(f, (uint32_t)nd->col, nd->bufs_page, &nd->pf, nd->bufs);
  nd->bufs = NULL;
  nd->bufs_pg = NULL;
  nd->cur = SIZE_MAX;
}

static void node_free(lsql_file *f, node20 *n) {
  for (size_t i = 0; i < n->n_children; i++) node_free(f, &n->children[i]);
  if (n->col >= 0) {
    page_release(f, n);
    lsql_prefetch_free(f, (uint32_t)n->col, &n->pf);
  } else {
    for (int i = 0; i < LSQL_PREFETCH_POOL; i++) lsql_free(n->pf.pool[i]); /* adopted, never used */
  }
  for (int i = 0; i < N20_SPARES; i++) lsql_buf_free(&n->spare[i]);
  lsql_bufpool_unref(n->pool);
  lsql_free(n->children);
  lsql_free(n->page_start);
  lsql_free(n->item_start);
}

void lsql_reader20_free(lsql_reader20 *r) {
  if (!r) return;
  node_free(r->f, &r->root);
  lsql_free(r);
}

/* ---- buffers carried to the next fragment's reader ------------------------------------------ */

typedef struct node20_spares {
  uint8_t *pool[LSQL_PREFETCH_POOL];
  size_t pool_cap[LSQL_PREFETCH_POOL];
  lsql_buf spare[N20_SPARES];
  lsql_bufpool *bufpool;
  size_t hint[H20_N];
} node20_spares;

struct lsql_reader20_spares {
  size_t n;
  node20_spares *node;
};

static size_t count_nodes(const node20 *n) {
  size_t k = 1;
  for (size_t i = 0; i < n->n_children; i++) k += count_nodes(&n->children[i]);
  return k;
}

/* Moves (keep) or swaps (adopt) the reusable buffers of n's subtree with sp->node[*k...] in
 * pre-order; the same field gives the same tree in every fragment. */
static void node_spares(lsql_file *f, node20 *n, lsql_reader20_spares *sp, size_t *k, bool keep) {
  if (*k >= sp->n) return;
  node20_spares *s = &sp->node[(*k)++];
  if (keep && n->col >= 0) page_release(f, n); /* raw buffers back to the pool, owned ones to spares */
  for (int i = 0; i < LSQL_PREFETCH_POOL; i++) {
    uint8_t *t = n->pf.pool[i];
    size_t c = n->pf.pool_cap[i];
    n->pf.pool[i] = s->pool[i];
    n->pf.pool_cap[i] = s->pool_cap[i];
    s->pool[i] = t;
    s->pool_cap[i] = c;
  }
  for (int i = 0; i < N20_SPARES; i++) {
    lsql_buf t = n->spare[i];
    n->spare[i] = s->spare[i];
    s->spare[i] = t;
  }
  lsql_bufpool *bp = n->pool;
  n->pool = s->bufpool;
  s->bufpool = bp;
  size_t h[H20_N];
  memcpy(h, n->hint, sizeof h);
  memcpy(n->hint, s->hint, sizeof h);
  memcpy(s->hint, h, sizeof h);
  for (size_t i = 0; i < n->n_children; i++) node_spares(f, &n->children[i], sp, k, keep);
}

void lsql_reader20_spares_free(lsql_reader20_spares *sp) {
  if (!sp) return;
  for (size_t i = 0; i < sp->n; i++) {
    for (int k = 0; k < LSQL_PREFETCH_POOL; k++) lsql_free(sp->node[i].pool[k]);
    for (int k = 0; k < N20_SPARES; k++) lsql_buf_free(&sp->node[i].spare[k]);
    lsql_bufpool_unref(sp->node[i].bufpool);
  }
  lsql_free(sp->node);
  lsql_free(sp);
}

size_t lsql_reader20_spares_bytes(const lsql_reader20_spares *sp) {
  size_t n = 0;
  for (size_t i = 0; sp && i < sp->n; i++) {
    for (int k = 0; k < LSQL_PREFETCH_POOL; k++) n += sp->node[i].pool[k] ? sp->node[i].pool_cap[k] : 0;
    for (int k = 0; k < N20_SPARES; k++) n += sp->node[i].spare[k].cap;
    n += lsql_bufpool_bytes(sp->node[i].bufpool);
  }
  return n;
}

lsql_reader20_spares *lsql_reader20_keep(lsql_reader20 *r) {
  if (!r) return NULL;
  lsql_reader20_spares *sp = lsql_calloc(1, sizeof *sp);
  if (!sp) return NULL;
  size_t n = count_nodes(&r->root);
  if (!(sp->node = lsql_calloc(n, sizeof *sp->node))) {
    lsql_free(sp);
    return NULL;
  }
  sp->n = n;
  size_t k = 0;
  node_spares(r->f, &r->root, sp, &k, true);
  return sp;
}

void lsql_reader20_adopt(lsql_reader20 *r, lsql_reader20_spares *sp) {
  if (r && sp) {
    size_t k = 0;
    /* a new reader holds no buffers yet: what it had goes to sp and is freed below */
    node_spares(r->f, &r->root, sp, &k, false);
  }
  lsql_reader20_spares_free(sp);
}

static bool leafish(const lsql_field *f) {
  return f->packed || f->blob || f->n_children == 0 || f->type == LSQL_TYPE_DICTIONARY ||
         (f->type == LSQL_TYPE_FIXED_SIZE_LIST && f->children[0].id < 0);
}

static int node_init(lsql_file *f, const lsql_field *fl, const lsql_column_map *map, node20 *n, lsql_error *err) {
  memset(n, 0, sizeof *n);
  n->f = fl;
  n->cur = SIZE_MAX;
  n->leaf = leafish(fl);
  if (fl->id < 0 || (size_t)fl->id >= map->n || map->col_by_field_id[fl->id] < 0 ||
      (uint32_t)map->col_by_field_id[fl->id] >= f->n_cols) {
    /* Absent: a sub-field added after this file was written (read as nulls). A struct header
     * column is never needed, so its children are still looked up. */
    n->col = -1;
    if (fl->type != LSQL_TYPE_STRUCT || n->leaf) return LSQL_OK;
    goto children;
  }
  n->col = map->col_by_field_id[fl->id];
  const lsql_column *col = &f->cols[n->col];
  n->page_start = lsql_malloc((col->n_pages + 1) * 8);
  if (!n->page_start) return lsql_err_oom(err);
  uint64_t acc = 0;
  for (size_t p = 0; p < col->n_pages; p++) {
    n->page_start[p] = acc;
    acc += col->pages[p].n_rows;
    if (!col->pages[p].array) return lsql_err_corrupt(err, "column %d: page %zu has no encoding", n->col, p);
  }
  n->page_start[col->n_pages] = acc;
  if (fl->type == LSQL_TYPE_LIST || fl->type == LSQL_TYPE_LARGE_LIST) {
    n->item_start = lsql_malloc((col->n_pages + 1) * 8);
    if (!n->item_start) return lsql_err_oom(err);
    uint64_t it = 0;
    for (size_t p = 0; p < col->n_pages; p++) {
      const Lance__Encodings__ArrayEncoding *e = col->pages[p].array;
      if (e->array_encoding_case != AE(LIST)) return lsql_err_corrupt(err, "column %d: page %zu: list column without List encoding", n->col, p);
      n->item_start[p] = it;
      it += e->list->num_items;
    }
    n->item_start[col->n_pages] = it;
  }
  if (n->leaf) return LSQL_OK;
children:
  if (fl->type == LSQL_TYPE_MAP) return lsql_err(err, LSQL_EUNSUPPORTED, "map fields in 2.0 files");
  n->children = lsql_calloc(fl->n_children ? fl->n_children : 1, sizeof *n->children);
  if (!n->children) return lsql_err_oom(err);
  for (size_t i = 0; i < fl->n_children; i++) {
    n->n_children = i + 1;
    LSQL_TRY(node_init(f, &fl->children[i], map, &n->children[i], err));
  }
  return LSQL_OK;
}

static bool any_column(const node20 *n) {
  if (n->col >= 0 && (n->leaf || n->f->type != LSQL_TYPE_STRUCT)) return true;
  for (size_t i = 0; i < n->n_children; i++)
    if (any_column(&n->children[i])) return true;
  return false;
}

int lsql_reader20_new(lsql_file *f, const lsql_field *field, const lsql_column_map *map, lsql_reader20 **out,
                      lsql_error *err) {
  *out = NULL;
  lsql_reader20 *r = lsql_calloc(1, sizeof *r);
  if (!r) return lsql_err_oom(err);
  r->f = f;
  int rc = node_init(f, field, map, &r->root, err);
  if (rc == LSQL_OK && !any_column(&r->root))
    rc = lsql_err(err, LSQL_ENOTFOUND, "field \"%s\" (id %d) has no column in this file", field->name, (int)field->id);
  if (rc != LSQL_OK) {
    lsql_reader20_free(r);
    return rc;
  }
  *out = r;
  return LSQL_OK;
}

/* ---- ArrayEncoding decoding ----------------------------------------------------------------- */

static int get_buffer(ctx20 *c, const Lance__Encodings__Buffer *b, const uint8_t **p, size_t *len, lsql_error *err) {
  if (!b) return lsql_err_corrupt(err, "missing buffer reference");
  if (b->buffer_type != LANCE__ENCODINGS__BUFFER__BUFFER_TYPE__page)
    return lsql_err(err, LSQL_EUNSUPPORTED, "column/file buffers in 2.0 pages");
  if (b->buffer_index >= c->pg->n_buffers) return lsql_err_corrupt(err, "buffer index %u >= %zu", b->buffer_index, c->pg->n_buffers);
  *p = c->bufs[b->buffer_index];
  *len = (size_t)c->pg->buf_size[b->buffer_index];
  return LSQL_OK;
}

static int decode_ae(ctx20 *c, const Lance__Encodings__ArrayEncoding *e, uint64_t n, lsql_vals *out, lsql_buf *valid,
                     lsql_error *err);
static int widen_u64(ctx20 *c, lsql_vals *out, uint64_t n, lsql_error *err);

/* Bytes of a Flat encoding's buffer: the raw page buffer itself (zero-padded by 8 bytes), or
 * its decompressed form in *tmp (owned, 8 bytes of slack). */
static int flat_bytes(ctx20 *c, const Lance__Encodings__Flat *fl, const uint8_t **p, size_t *len, lsql_buf *tmp,
                      lsql_error *err) {
  LSQL_TRY(get_buffer(c, fl->buffer, p, len, err));
  if (fl->compression && fl->compression->scheme && *fl->compression->scheme) {
    int codec = lsql_codec_from_name(fl->compression->scheme);
    if (codec < 0) return lsql_err(err, LSQL_EUNSUPPORTED, "compression scheme \"%s\"", fl->compression->scheme);
    if (codec != LSQL_CODEC_NONE) {
      LSQL_TRY(lsql_decompress((enum lsql_codec)codec, *p, *len, (size_t)1 << 34, tmp, err));
      if (lsql_buf_reserve(tmp, 8) != LSQL_OK) return lsql_err_oom(err);
      memset(tmp->data + tmp->len, 0, 8);
      *p = tmp->data;
      *len = tmp->len;
    }
  }
  return LSQL_OK;
}

/* Sets out->data to `len` bytes at p without copying: a view of the raw page buffer (borrowed
 * until the page is released) or the decompressed tmp (taken over). out->data must be empty. */
static void flat_take(ctx20 *c, lsql_vals *out, const uint8_t *p, size_t len, lsql_buf *tmp) {
  drop_buf(c->nd, &out->data);
  if (tmp->data && p == tmp->data) {
    out->data = *tmp;
    memset(tmp, 0, sizeof *tmp);
  } else {
    out->data.data = (uint8_t *)p;
    out->data.cap = len;
  }
  out->data.len = len;
}

/* Decodes n u64 values (binary indices / list offsets). */
static int decode_u64s(ctx20 *c, const Lance__Encodings__ArrayEncoding *e, uint64_t n, lsql_vals *out, lsql_error *err) {
  lsql_buf valid = LSQL_BUF_INIT;
  int rc = decode_ae(c, e, n, out, &valid, err);
  drop_buf(c->nd, &valid);
  if (rc == LSQL_OK) rc = widen_u64(c, out, n, err);
  return rc;
}

static int widen_u64(ctx20 *c, lsql_vals *out, uint64_t n, lsql_error *err) {
  if (out->var || out->n != n) return lsql_err_corrupt(err, "indices decode to %llu values, %llu expected", (unsigned long long)out->n, (unsigned long long)n);
  if (out->bits != 64) {
    if (out->bits != 32 && out->bits != 16 && out->bits != 8) return lsql_err_corrupt(err, "offsets of %u bits", out->bits);
    lsql_buf w = LSQL_BUF_INIT;
    use_spare(c->nd, &w, (size_t)n * 8 + 8);
    if (lsql_buf_reserve(&w, (size_t)n * 8 + 8) != LSQL_OK) return lsql_err_oom(err);
    w.len = (size_t)n * 8;
    uint64_t *d = (uint64_t *)w.data;
    const uint8_t *s = out->data.data;
    if (out->bits == 32) for (uint64_t i = 0; i < n; i++) d[i] = lsql_load_le32(s + i * 4);
    else if (out->bits == 16) for (uint64_t i = 0; i < n; i++) d[i] = lsql_load_le16(s + i * 2);
    else for (uint64_t i = 0; i < n; i++) d[i] = s[i];
    drop_buf(c->nd, &out->data);
    out->data = w;
    out->bits = 64;
  }
  return LSQL_OK;
}

static int decode_binary(ctx20 *c, const Lance__Encodings__Binary *b, uint64_t n, lsql_vals *out, lsql_buf *valid,
                         lsql_error *err) {
  lsql_vals idx = {0};
  int rc = decode_u64s(c, b->indices, n, &idx, err);
  lsql_vals bytes = {0};
  lsql_buf bv = LSQL_BUF_INIT;
  if (rc == LSQL_OK) {
    if (!b->bytes || b->bytes->array_encoding_case != AE(FLAT)) {
      /* bytes may be wrapped (Nullable{no_nulls{Flat}}) */
      rc = decode_ae(c, b->bytes, UINT64_MAX, &bytes, &bv, err);
    } else {
      const uint8_t *p;
      size_t len;
      lsql_buf tmp = LSQL_BUF_INIT;
      rc = flat_bytes(c, b->bytes->flat, &p, &len, &tmp, err);
      if (rc == LSQL_OK) flat_take(c, &bytes, p, len, &tmp);
      drop_buf(c->nd, &tmp);
    }
  }
  if (rc == LSQL_OK) {
    const uint64_t *ix = (const uint64_t *)idx.data.data;
    uint64_t adj = b->null_adjustment;
    out->var = true;
    out->bits = 0;
    bool any_null = false;
    if (adj)
      for (uint64_t i = 0; i < n; i++) any_null |= ix[i] >= adj;
    if (any_null) {
      drop_buf(c->nd, valid);
      use_spare(c->nd, valid, lsql_bitmap_bytes(n));
      if (lsql_buf_resize(valid, lsql_bitmap_bytes(n)) != LSQL_OK) rc = lsql_err_oom(err);
      else memset(valid->data, 0xff, valid->len);
    }
    /* The offsets (n + 1 ends, a leading 0) are written over the indices when their buffer has
     * room for one more u64: a raw page buffer always has (8 bytes of zeroed slack). */
    lsql_buf o = LSQL_BUF_INIT;
    bool in_place = idx.data.len == (size_t)n * 8 && (is_raw(c->nd, idx.data.data) || idx.data.cap >= (size_t)(n + 1) * 8);
    if (rc == LSQL_OK && in_place) {
      o = idx.data;
      memset(&idx.data, 0, sizeof idx.data);
    } else if (rc == LSQL_OK) {
      use_spare(c->nd, &o, (size_t)(n + 1) * 8);
      if (lsql_buf_reserve(&o, (size_t)(n + 1) * 8) != LSQL_OK) rc = lsql_err_oom(err);
    }
    if (rc == LSQL_OK) {
      o.len = (size_t)(n + 1) * 8;
      uint64_t *od = (uint64_t *)o.data;
      /* Backwards: entry i + 1 is written after index i is read (same buffer when in place). */
      uint64_t bad = 0, lim = bytes.data.len;
      if (any_null) {
        for (uint64_t i = n; i-- > 0;) {
          uint64_t end = ix[i];
          if (end >= adj) {
            end -= adj;
            lsql_bit_clear(valid->data, i);
          }
          bad |= end > lim;
          od[i + 1] = end;
        }
      } else {
        for (uint64_t i = n; i-- > 0;) {
          uint64_t end = ix[i] - (adj && ix[i] >= adj ? adj : 0);
          bad |= end > lim;
          od[i + 1] = end;
        }
      }
      od[0] = 0;
      /* ends must not decrease */
      for (uint64_t i = 0; i < n && !bad; i++) bad |= od[i + 1] < od[i];
      if (bad) rc = lsql_err_corrupt(err, "binary offsets out of range");
    }
    if (rc == LSQL_OK) {
      drop_buf(c->nd, &out->offs);
      out->offs = o;
      memset(&o, 0, sizeof o);
      drop_buf(c->nd, &out->data);
      out->data = bytes.data;
      memset(&bytes.data, 0, sizeof bytes.data);
      out->n = n;
    }
    drop_buf(c->nd, &o);
  }
  drop_vals(c->nd, &idx);
  drop_vals(c->nd, &bytes);
  drop_buf(c->nd, &bv);
  return rc;
}

/* Width in bits of a fixed-width encoding tree (0 when not fixed width). */
static uint64_t ae_fixed_bits(const Lance__Encodings__ArrayEncoding *e) {
  if (!e) return 0;
  switch (e->array_encoding_case) {
    case AE(FLAT): return e->flat->bits_per_value;
    case AE(NULLABLE):
      if (e->nullable->nullability_case == LANCE__ENCODINGS__NULLABLE__NULLABILITY_NO_NULLS) return ae_fixed_bits(e->nullable->no_nulls->values);
      if (e->nullable->nullability_case == LANCE__ENCODINGS__NULLABLE__NULLABILITY_SOME_NULLS) return ae_fixed_bits(e->nullable->some_nulls->values);
      return 0;
    case AE(FIXED_SIZE_LIST): return ae_fixed_bits(e->fixed_size_list->items) * e->fixed_size_list->dimension;
    default: return 0;
  }
}

/* Converts n dictionary indices (8 to 64 bits) to u32 positions into `items` dictionary items:
 * as written (keep: Arrow dictionaries, index < items) or index 0 = null, k >= 1 = items[k - 1].
 * *zero tells whether any index is 0 (a null row unless keep). */
static int dict_indices(const lsql_vals *idx, uint64_t n, uint64_t items, bool keep, uint32_t *ix, bool *zero,
                        lsql_error *err) {
  if (idx->var || idx->n != n) return lsql_err_corrupt(err, "dictionary indices decode to %llu values, %llu expected", (unsigned long long)idx->n, (unsigned long long)n);
  const uint8_t *s = idx->data.data;
  uint64_t mx = 0, mn = UINT64_MAX;
  uint32_t dec = keep ? 0 : 1;
  /* Blocks of 16 with branch-free bodies (vectorised); 64-bit indices above 2^32 - 1 only need
   * to be caught by the bound check, so their upper halves go into the max separately. */
#define DICT_IX(T, LOAD)                                                  \
  {                                                                       \
    T m = 0, z = (T)~(T)0;                                                \
    uint64_t i = 0;                                                       \
    for (; i + 16 <= n; i += 16)                                          \
      for (int j = 0; j < 16; j++) {                                      \
        T k = LOAD(i + j);                                                \
        m = k > m ? k : m;                                                \
        z = k < z ? k : z;                                                \
        ix[i + j] = (uint32_t)k - (dec & (uint32_t)(k != 0));             \
      }                                                                   \
    for (; i < n; i++) {                                                  \
      T k = LOAD(i);                                                      \
      m = k > m ? k : m;                                                  \
      z = k < z ? k : z;                                                  \
      ix[i] = (uint32_t)k - (dec & (uint32_t)(k != 0));                   \
    }                                                                     \
    mx = m;                                                               \
    mn = z;                                                               \
  }
#define LD8(i) s[i]
#define LD16(i) lsql_load_le16(s + 2 * (i))
#define LD32(i) lsql_load_le32(s + 4 * (i))
#define LD64(i) lsql_load_le64(s + 8 * (i))
  switch (idx->bits) {
    case 8: {
      uint64_t i0 = 0;
      uint8_t m8 = 0, z8 = 0xff;
#if defined(__SSE2__)
      /* 16 indices a step: k - 1 saturating at 0 (or k), widened to u32; running max and min */
      __m128i vm = _mm_setzero_si128(), vz = _mm_set1_epi8((char)0xff), vd = _mm_set1_epi8((char)dec);
      __m128i zero = _mm_setzero_si128();
      for (; i0 + 16 <= n; i0 += 16) {
        __m128i k = _mm_loadu_si128((const __m128i *)(s + i0));
        vm = _mm_max_epu8(vm, k);
        vz = _mm_min_epu8(vz, k);
        __m128i v = _mm_subs_epu8(k, vd);
        __m128i lo = _mm_unpacklo_epi8(v, zero), hi = _mm_unpackhi_epi8(v, zero);
        _mm_storeu_si128((__m128i *)(ix + i0), _mm_unpacklo_epi16(lo, zero));
        _mm_storeu_si128((__m128i *)(ix + i0 + 4), _mm_unpackhi_epi16(lo, zero));
        _mm_storeu_si128((__m128i *)(ix + i0 + 8), _mm_unpacklo_epi16(hi, zero));
        _mm_storeu_si128((__m128i *)(ix + i0 + 12), _mm_unpackhi_epi16(hi, zero));
      }
      uint8_t bm[16], bz[16];
      _mm_storeu_si128((__m128i *)bm, vm);
      _mm_storeu_si128((__m128i *)bz, vz);
      for (int j = 0; j < 16; j++) {
        m8 = bm[j] > m8 ? bm[j] : m8;
        z8 = bz[j] < z8 ? bz[j] : z8;
      }
#endif
      for (uint64_t i = i0; i < n; i++) {
        uint8_t k = s[i];
        m8 = k > m8 ? k : m8;
        z8 = k < z8 ? k : z8;
        ix[i] = (uint32_t)k - (dec & (uint32_t)(k != 0));
      }
      mx = m8;
      mn = z8;
      break;
    }
    case 16: DICT_IX(uint16_t, LD16) break;
    case 32: DICT_IX(uint32_t, LD32) break;
    case 64: DICT_IX(uint64_t, LD64) break;
    default: return lsql_err_corrupt(err, "dictionary indices of %u bits", idx->bits);
  }
#undef DICT_IX
  *zero = n && mn == 0;
  if (n && keep && items && mx >= items)
    return lsql_err_corrupt(err, "dictionary index %llu >= %llu items", (unsigned long long)mx, (unsigned long long)items);
  if (n && !keep && mx > items)
    return lsql_err_corrupt(err, "dictionary index %llu > %llu items", (unsigned long long)mx, (unsigned long long)items);
  return LSQL_OK;
}

/* Validity bitmap (len bitmap_bytes(n)) of dictionary indices: index 0 is a null row. */
static void dict_validity(const lsql_vals *idx, uint64_t n, uint8_t *v) {
  const uint8_t *s = idx->data.data;
  uint64_t full = n / 8;
#define DICT_VALID(LOAD)                                                  \
  for (uint64_t j = 0; j < full; j++) {                                   \
    unsigned b = 0;                                                       \
    for (int k = 0; k < 8; k++) b |= (unsigned)(LOAD(j * 8 + k) != 0) << k; \
    v[j] = (uint8_t)b;                                                    \
  }                                                                       \
  if (n % 8) {                                                            \
    unsigned b = 0;                                                       \
    for (uint64_t i = full * 8; i < n; i++) b |= (unsigned)(LOAD(i) != 0) << (i % 8); \
    v[full] = (uint8_t)b;                                                 \
  }
  switch (idx->bits) {
    case 8: DICT_VALID(LD8) break;
    case 16: DICT_VALID(LD16) break;
    case 32: DICT_VALID(LD32) break;
    default: DICT_VALID(LD64) break;
  }
#undef DICT_VALID
}
#undef LD8
#undef LD16
#undef LD32
#undef LD64

static int decode_ae_in(ctx20 *c, const Lance__Encodings__ArrayEncoding *e, uint64_t n, lsql_vals *out, lsql_buf *valid,
                        lsql_error *err);

/* Decoders fill an empty `out` (and `valid`); buffers they let go of become the node's spares.
 * Only Nullable wrappers pass the page's gather target (c->gdict) on to their values. */
static int decode_ae(ctx20 *c, const Lance__Encodings__ArrayEncoding *e, uint64_t n, lsql_vals *out, lsql_buf *valid,
                     lsql_error *err) {
  lsql_vals *gd = c->gdict;
  if (e && e->array_encoding_case != AE(NULLABLE) && e->array_encoding_case != AE(DICTIONARY)) c->gdict = NULL;
  int rc = decode_ae_in(c, e, n, out, valid, err);
  c->gdict = gd;
  return rc;
}

static int decode_ae_in(ctx20 *c, const Lance__Encodings__ArrayEncoding *e, uint64_t n, lsql_vals *out, lsql_buf *valid,
                        lsql_error *err) {
  if (!e) return lsql_err_corrupt(err, "missing array encoding");
  node20 *nd = c->nd;
  switch (e->array_encoding_case) {
    case AE(FLAT): {
      const uint8_t *p;
      size_t len;
      lsql_buf tmp = LSQL_BUF_INIT;
      int rc = flat_bytes(c, e->flat, &p, &len, &tmp, err);
      uint64_t bits = e->flat->bits_per_value;
      if (rc == LSQL_OK) {
        if (n == UINT64_MAX) { /* raw bytes (binary data) */
          out->bits = 8;
          flat_take(c, out, p, len, &tmp);
          out->n = len;
        } else if (bits == 0 || (bits != 1 && bits % 8) || bits > 4096) {
          rc = lsql_err(err, LSQL_EUNSUPPORTED, "flat values of %llu bits", (unsigned long long)bits);
        } else {
          uint64_t need;
          if (bits == 1) need = (n + 7) / 8;
          else if (lsql_mul_overflow_u64(n, bits / 8, &need)) need = UINT64_MAX;
          if (need > len) rc = lsql_err_corrupt(err, "flat buffer holds %zu bytes, %llu needed", len, (unsigned long long)need);
          else {
            /* no copy: the values stay in the page buffer (or the decompressed one) */
            out->bits = (uint32_t)bits;
            flat_take(c, out, p, (size_t)need, &tmp);
            out->n = n;
          }
        }
      }
      drop_buf(nd, &tmp);
      return rc;
    }
    case AE(NULLABLE): {
      const Lance__Encodings__Nullable *nl = e->nullable;
      switch (nl->nullability_case) {
        case LANCE__ENCODINGS__NULLABLE__NULLABILITY_NO_NULLS: return decode_ae(c, nl->no_nulls->values, n, out, valid, err);
        case LANCE__ENCODINGS__NULLABLE__NULLABILITY_SOME_NULLS: {
          lsql_vals v = {0};
          lsql_buf vv = LSQL_BUF_INIT;
          lsql_vals *gd = c->gdict;
          c->gdict = NULL;
          int rc = decode_ae(c, nl->some_nulls->validity, n, &v, &vv, err);
          c->gdict = gd;
          if (rc == LSQL_OK && (v.bits != 1 || v.n != n)) rc = lsql_err_corrupt(err, "validity is not a bitmap of %llu bits", (unsigned long long)n);
          drop_buf(nd, &vv);
          if (rc == LSQL_OK) {
            drop_buf(nd, valid);
            *valid = v.data;
            memset(&v.data, 0, sizeof v.data);
            lsql_buf inner = LSQL_BUF_INIT;
            rc = decode_ae(c, nl->some_nulls->values, n, out, &inner, err);
            drop_buf(nd, &inner);
          }
          drop_vals(nd, &v);
          return rc;
        }
        case LANCE__ENCODINGS__NULLABLE__NULLABILITY_ALL_NULLS:
          drop_buf(nd, valid);
          use_spare(nd, valid, lsql_bitmap_bytes(n));
          if (lsql_buf_resize(valid, lsql_bitmap_bytes(n)) != LSQL_OK) return lsql_err_oom(err);
          memset(valid->data, 0, valid->len);
          out->n = n; /* typeless filler */
          return LSQL_OK;
        default: return lsql_err_corrupt(err, "nullable encoding without a case");
      }
    }
    case AE(FIXED_SIZE_LIST): {
      const Lance__Encodings__FixedSizeList *fl = e->fixed_size_list;
      uint64_t ni;
      if (!fl->dimension || lsql_mul_overflow_u64(n, fl->dimension, &ni)) return lsql_err_corrupt(err, "bad fixed-size-list dimension");
      lsql_vals in = {0};
      lsql_buf iv = LSQL_BUF_INIT;
      int rc = decode_ae(c, fl->items, ni, &in, &iv, err);
      if (rc == LSQL_OK && in.var) rc = lsql_err(err, LSQL_EUNSUPPORTED, "fixed-size-list of variable items");
      if (rc == LSQL_OK) {
        out->bits = in.bits * fl->dimension;
        drop_buf(nd, &out->data);
        out->data = in.data;
        memset(&in.data, 0, sizeof in.data);
        out->n = n;
        if (iv.len) {
          drop_buf(nd, &out->ivalid);
          out->ivalid = iv;
          out->dim = fl->dimension;
          memset(&iv, 0, sizeof iv);
        }
      }
      drop_vals(nd, &in);
      drop_buf(nd, &iv);
      return rc;
    }
    case AE(BINARY): return decode_binary(c, e->binary, n, out, valid, err);
    case AE(FSST): {
      lsql_fsst_table t;
      LSQL_TRY(lsql_fsst_table_parse(e->fsst->symbol_table.data, e->fsst->symbol_table.len, &t, err));
      lsql_vals tmp = {0};
      int rc = decode_ae(c, e->fsst->binary, n, &tmp, valid, err);
      if (rc == LSQL_OK && !tmp.var) rc = lsql_err_corrupt(err, "fsst over non-binary data");
      if (rc == LSQL_OK) {
        out->var = true;
        use_spare(nd, &out->offs, (size_t)(n + 1) * 8);
        use_spare(nd, &out->data, tmp.data.len);
        if (lsql_buf_resize(&out->offs, (size_t)(n + 1) * 8) != LSQL_OK) rc = lsql_err_oom(err);
        else rc = lsql_fsst_decode(&t, 64, tmp.offs.data, tmp.data.data, tmp.data.len, n, &out->data, (uint64_t *)out->offs.data, err);
        out->n = n;
      }
      drop_vals(nd, &tmp);
      return rc;
    }
    case AE(DICTIONARY): {
      /* Index 0 is null; k >= 1 selects items[k-1] (Arrow dictionaries: indices as written). */
      const Lance__Encodings__Dictionary *d = e->dictionary;
      lsql_vals *gd = c->gdict;
      c->gdict = NULL;
      bool keep = c->dict != NULL;
      lsql_vals idx = {0}, items = {0};
      lsql_buf itv = LSQL_BUF_INIT, idxv = LSQL_BUF_INIT, ixb = LSQL_BUF_INIT;
      int rc = decode_ae(c, d->indices, n, &idx, &idxv, err);
      if (rc == LSQL_OK && idxv.len) {
        drop_buf(nd, valid);
        *valid = idxv;
        memset(&idxv, 0, sizeof idxv);
      }
      drop_buf(nd, &idxv);
      if (rc == LSQL_OK) rc = decode_ae(c, d->items, d->num_dictionary_items, &items, &itv, err);
      if (rc == LSQL_OK && items.n > UINT32_MAX) rc = lsql_err(err, LSQL_ELIMIT, "dictionary of %llu items", (unsigned long long)items.n);
      if (rc == LSQL_OK && n > (SIZE_MAX - 8) / 4) rc = lsql_err_corrupt(err, "dictionary page of %llu values", (unsigned long long)n);
      if (rc == LSQL_OK) {
        use_spare(nd, &ixb, (size_t)n * 4 + 4);
        if (lsql_buf_reserve(&ixb, (size_t)n * 4 + 4) != LSQL_OK) rc = lsql_err_oom(err);
      }
      uint32_t *ix = (uint32_t *)ixb.data;
      bool zero = false;
      if (rc == LSQL_OK) rc = dict_indices(&idx, n, items.n, keep, ix, &zero, err);
      if (rc == LSQL_OK && zero && !keep) {
        drop_buf(nd, valid); /* (any earlier bits are all overwritten) */
        use_spare(nd, valid, lsql_bitmap_bytes(n));
        if (lsql_buf_resize(valid, lsql_bitmap_bytes(n)) != LSQL_OK) rc = lsql_err_oom(err);
        else dict_validity(&idx, n, valid->data);
      }
      if (rc == LSQL_OK && keep && itv.len) {
        /* An index pointing at a null dictionary item is a null row (as pylance reads it). */
        for (uint64_t i = 0; i < n && rc == LSQL_OK; i++) {
          if (ix[i] < items.n && !lsql_bit_get(itv.data, ix[i])) {
            if (!valid->len) {
              drop_buf(nd, valid);
              use_spare(nd, valid, lsql_bitmap_bytes(n));
              if (lsql_buf_resize(valid, lsql_bitmap_bytes(n)) != LSQL_OK) { rc = lsql_err_oom(err); break; }
              memset(valid->data, 0xff, valid->len);
            }
            lsql_bit_clear(valid->data, i);
          }
        }
        items.valid = itv;
        memset(&itv, 0, sizeof itv);
      }
      /* Strings and whole-byte values are gathered per batch by the reader (when this is the
       * page's own value encoding); other shapes are gathered here, once. */
      bool gatherable = items.var || (items.bits && items.bits % 8 == 0);
      if (rc == LSQL_OK && (keep || (gd && items.n && gatherable))) {
        out->bits = 32;
        out->var = false;
        out->n = n;
        drop_buf(nd, &out->data);
        out->data = ixb;
        out->data.len = (size_t)n * 4;
        memset(&ixb, 0, sizeof ixb);
        if (keep) *c->dict = items;
        else {
          drop_vals(nd, gd);
          *gd = items;
          c->gathered = true;
        }
        memset(&items, 0, sizeof items);
      } else if (rc == LSQL_OK) {
        if (items.n == 0) { out->n = n; } /* all null */
        else {
          out->bits = items.bits;
          out->var = items.var;
          rc = lsql_vals_gather_checked(out, &items, ix, n, err);
        }
      }
      c->gdict = gd;
      drop_buf(nd, &ixb);
      drop_vals(nd, &idx);
      drop_vals(nd, &items);
      drop_buf(nd, &itv);
      return rc;
    }
    case AE(PACKED_STRUCT): {
      const Lance__Encodings__PackedStruct *ps = e->packed_struct;
      uint64_t bits = 0;
      for (size_t i = 0; i < ps->n_inner; i++) {
        uint64_t b = ae_fixed_bits(ps->inner[i]);
        if (!b) return lsql_err(err, LSQL_EUNSUPPORTED, "packed struct child encoding %d", ps->inner[i] ? (int)ps->inner[i]->array_encoding_case : -1);
        bits += b;
      }
      if (!bits || bits % 8) return lsql_err(err, LSQL_EUNSUPPORTED, "packed struct of %llu bits", (unsigned long long)bits);
      const uint8_t *p = NULL;
      size_t len = 0;
      LSQL_TRY(get_buffer(c, ps->buffer, &p, &len, err));
      uint64_t need;
      if (lsql_mul_overflow_u64(n, bits / 8, &need) || need > len)
        return lsql_err_corrupt(err, "packed struct buffer too small");
      out->bits = (uint32_t)bits;
      lsql_buf none = LSQL_BUF_INIT;
      flat_take(c, out, p, (size_t)need, &none);
      out->n = n;
      return LSQL_OK;
    }
    case AE(BITPACKED): case AE(BITPACKED_FOR_NON_NEG): {
      bool sgn = e->array_encoding_case == AE(BITPACKED) && e->bitpacked->signed_;
      uint64_t w = e->array_encoding_case == AE(BITPACKED) ? e->bitpacked->compressed_bits_per_value : e->bitpacked_for_non_neg->compressed_bits_per_value;
      uint64_t t = e->array_encoding_case == AE(BITPACKED) ? e->bitpacked->uncompressed_bits_per_value : e->bitpacked_for_non_neg->uncompressed_bits_per_value;
      const Lance__Encodings__Buffer *b = e->array_encoding_case == AE(BITPACKED) ? e->bitpacked->buffer : e->bitpacked_for_non_neg->buffer;
      if ((t != 8 && t != 16 && t != 32 && t != 64) || w > t) return lsql_err_corrupt(err, "bitpacked %llu of %llu bits", (unsigned long long)w, (unsigned long long)t);
      const uint8_t *p = NULL;
      size_t len = 0;
      LSQL_TRY(get_buffer(c, b, &p, &len, err));
      if (n > SIZE_MAX / 8) return lsql_err_corrupt(err, "bitpacked page of %llu values", (unsigned long long)n);
      out->bits = (uint32_t)t;
      use_spare(nd, &out->data, (size_t)(n * (t / 8)));
      if (lsql_buf_reserve(&out->data, (size_t)(n * (t / 8))) != LSQL_OK) return lsql_err_oom(err);
      /* Bitpacked is plain LSB-first packing; BitpackedForNonNeg is FastLanes 1024-value blocks. */
      if (e->array_encoding_case == AE(BITPACKED))
        LSQL_TRY(lsql_bitunpack_decode((unsigned)t, (unsigned)w, sgn, p, len, n, out->data.data + out->data.len, err));
      else
        LSQL_TRY(lsql_bitpack_for_non_neg_decode((unsigned)t, (unsigned)w, p, len, n, out->data.data + out->data.len, err));
      out->data.len += (size_t)(n * (t / 8));
      out->n += n;
      return LSQL_OK;
    }
    case AE(CONSTANT): {
      size_t w = e->constant->value.len;
      if (!w || w > 1024) return lsql_err_corrupt(err, "constant of %zu bytes", w);
      if (n <= SIZE_MAX / w) use_spare(nd, &out->data, (size_t)n * w);
      return lsql_vals_append_constant(out, e->constant->value.data, w, n, err);
    }
    default:
      return lsql_err(err, LSQL_EUNSUPPORTED, "2.0 array encoding %d", (int)e->array_encoding_case);
  }
}


/* ---- reading rows ------------------------------------------------------------------------- */

/* Decodes page p; `need` is the last page the current request reads (fetched together). */
static int load_page(lsql_file *f, node20 *nd, size_t p, size_t need, lsql_error *err) {
  if (nd->cur == p) return LSQL_OK;
  page_release(f, nd);
  const lsql_page *pg = &f->cols[nd->col].pages[p];
  bool keep = nd->f->type == LSQL_TYPE_DICTIONARY;
  ctx20 c = {f, pg, NULL, keep ? &nd->pg.dict : NULL, nd, keep ? NULL : &nd->pg.dict, false};
  LSQL_TRY(lsql_prefetch_take(f, (uint32_t)nd->col, p, need, &nd->pf, &c.bufs, err));
  /* held until the next page: the decoded values may borrow them */
  nd->bufs = c.bufs;
  nd->bufs_pg = pg;
  nd->bufs_page = p;
  int rc = decode_ae(&c, pg->array, pg->n_rows, &nd->pg.vals, &nd->pg.valid, err);
  if (rc == LSQL_OK && nd->pg.vals.n != pg->n_rows)
    rc = lsql_err_corrupt(err, "page decodes to %llu values, %llu rows", (unsigned long long)nd->pg.vals.n, (unsigned long long)pg->n_rows);
  if (rc != LSQL_OK) {
    page_release(f, nd);
    return lsql_error_prefix(err, "column %d: page %zu: ", nd->col, p), rc;
  }
  nd->pg.n = pg->n_rows;
  nd->pg.gather = c.gathered;
  nd->cur = p;
  return LSQL_OK;
}

static int read_node(lsql_file *f, node20 *nd, uint64_t start, uint64_t count, struct ArrowArray *out, lsql_error *err);

/* Appends rows [a, b) of the current page to d (same shape): copied, or gathered from the
 * page's dictionary. */
static int page_append(lsql_vals *d, const page20 *pg, uint64_t a, uint64_t b, lsql_error *err) {
  if (!pg->gather) return lsql_vals_append(d, &pg->vals, a, b, err);
  uint64_t n = b > a ? b - a : 0;
  if (d->ivalid.len && n) {
    /* earlier pages had item validity; a dictionary's items are all valid */
    uint64_t old = d->n * d->dim, add = n * d->dim;
    if (lsql_buf_resize(&d->ivalid, lsql_bitmap_bytes(old + add)) != LSQL_OK) return lsql_err_oom(err);
    for (uint64_t i = old; i < old + add; i++) lsql_bit_set(d->ivalid.data, i);
  }
  return lsql_vals_gather_checked(d, &pg->dict, (const uint32_t *)pg->vals.data.data + a, n, err);
}

/* Pages at least this large whose values are plain fixed-width bytes are not read whole: each
 * batch reads its rows straight from the file into its output (no page-sized fresh buffer to
 * fault in, no second copy). */
#define DIRECT_MIN ((uint64_t)8 << 20)

/* Byte width of each value when page pg is uncompressed fixed-width data in one page buffer
 * (Flat or a fixed-size list of Flat, under no-null Nullable wrappers), else 0. */
static uint64_t direct_width(const lsql_page *pg, uint32_t *buf) {
  const Lance__Encodings__ArrayEncoding *e = pg->array;
  uint64_t dim = 1;
  for (int depth = 0; e && depth < 8; depth++) {
    switch (e->array_encoding_case) {
      case AE(NULLABLE):
        if (e->nullable->nullability_case != LANCE__ENCODINGS__NULLABLE__NULLABILITY_NO_NULLS) return 0;
        e = e->nullable->no_nulls->values;
        continue;
      case AE(FIXED_SIZE_LIST):
        if (!e->fixed_size_list->dimension || e->fixed_size_list->dimension > 4096 || dim > 4096) return 0;
        dim *= e->fixed_size_list->dimension;
        e = e->fixed_size_list->items;
        continue;
      case AE(FLAT): {
        const Lance__Encodings__Flat *fl = e->flat;
        if (fl->compression && fl->compression->scheme && *fl->compression->scheme &&
            lsql_codec_from_name(fl->compression->scheme) != LSQL_CODEC_NONE) return 0;
        if (!fl->buffer || fl->buffer->buffer_type != LANCE__ENCODINGS__BUFFER__BUFFER_TYPE__page ||
            fl->buffer->buffer_index >= pg->n_buffers) return 0;
        if (!fl->bits_per_value || fl->bits_per_value % 8 || fl->bits_per_value > 4096) return 0;
        uint64_t w = fl->bits_per_value / 8 * dim, need;
        if (lsql_mul_overflow_u64(w, pg->n_rows, &need) || need > pg->buf_size[fl->buffer->buffer_index] ||
            need < DIRECT_MIN) return 0;
        *buf = fl->buffer->buffer_index;
        return w;
      }
      default: return 0;
    }
  }
  return 0;
}

static int read_leaf(lsql_file *f, node20 *nd, uint64_t start, uint64_t count, struct ArrowArray *out, lsql_error *err) {
  const lsql_column *col = &f->cols[nd->col];
  lsql_leaf_acc acc;
  memset(&acc, 0, sizeof acc);
  lsql_buf valid = LSQL_BUF_INIT;   /* built only once a page has nulls */
  bool any_null = false;
  int rc = LSQL_OK;
  /* Start on pooled buffers the size of the previous batch's (plus slack for variable-width
   * data): a steady scan neither faults in fresh memory nor regrows. */
  if (!nd->pool && !(nd->pool = lsql_bufpool_new(LSQL_BUFPOOL_MAX_BUFFERS, LSQL_BUFPOOL_MAX_BYTES)))
    return lsql_err_oom(err);
  acc.vals.pool = nd->pool;
  lsql_buf *hb[3] = {&acc.vals.data, &acc.vals.offs, &acc.vals.ivalid};
  for (int k = 0; k < 3; k++) {
    size_t h = nd->hint[k];
    if (h && lsql_buf_init_pooled(hb[k], nd->pool, h + h / 8 + 64) != LSQL_OK) return lsql_err_oom(err);
  }
  uint64_t row = start, end = start + count, got = 0;
  size_t need = count ? lsql_page_of_row(nd->page_start, col->n_pages, end - 1) : 0;
  while (row < end && rc == LSQL_OK) {
    size_t p = lsql_page_of_row(nd->page_start, col->n_pages, row);
    if (p >= col->n_pages) { rc = lsql_err_corrupt(err, "column %d: row %llu past its pages", nd->col, (unsigned long long)row); break; }
    uint64_t a = row - nd->page_start[p], b = LSQL_MIN(end, nd->page_start[p + 1]) - nd->page_start[p];
    uint32_t db = 0;
    /* per-batch reads only where a read is cheap: on an object store each would be a request */
    uint64_t w = nd->f->type == LSQL_TYPE_DICTIONARY || !lsql_rfile_cheap_reads(f->rf)
                     ? 0 : direct_width(&col->pages[p], &db);
    lsql_vals *dv = &acc.vals;
    if (w && !dv->var && !dv->ivalid.len && (dv->bits == w * 8 || (!dv->bits && !dv->n))) {
      /* bounds: a < b <= n_rows and n_rows * w <= the buffer's size (direct_width) */
      size_t len = (size_t)((b - a) * w);
      if (lsql_buf_reserve(&dv->data, len) != LSQL_OK) { rc = lsql_err_oom(err); break; }
      rc = lsql_rfile_read(f->rf, col->pages[p].buf_off[db] + a * w, len, dv->data.data + dv->data.len, err);
      if (rc != LSQL_OK) { lsql_error_prefix(err, "column %d: page %zu: ", nd->col, p); break; }
      dv->data.len += len;
      dv->bits = (uint32_t)(w * 8);
      dv->n += b - a;
      got += b - a;
      row = nd->page_start[p] + b;
      continue;
    }
    if ((rc = load_page(f, nd, p, need, err)) != LSQL_OK) break;
    page20 *pg = &nd->pg;
    if (!pg->gather && (pg->dict.n || pg->dict.data.len || pg->dict.offs.len)) {
      uint64_t base = acc.dict.n;
      if (!acc.has_dict) { acc.dict.bits = pg->dict.bits; acc.dict.var = pg->dict.var; acc.has_dict = true; }
      uint64_t dn0 = acc.dict.n;
      if ((rc = lsql_vals_append(&acc.dict, &pg->dict, 0, pg->dict.n, err)) != LSQL_OK) break;
      if (pg->dict.valid.len || acc.dict.valid.len) {
        /* keep the dictionary's value validity in step */
        size_t old_len = acc.dict.valid.len;
        if (lsql_buf_resize(&acc.dict.valid, lsql_bitmap_bytes(acc.dict.n)) != LSQL_OK) { rc = lsql_err_oom(err); break; }
        if (!old_len)
          for (uint64_t i = 0; i < dn0; i++) lsql_bit_set(acc.dict.valid.data, i);
        for (uint64_t i = 0; i < pg->dict.n; i++)
          lsql_bit_put(acc.dict.valid.data, dn0 + i, !pg->dict.valid.len || lsql_bit_get(pg->dict.valid.data, i));
      }
      size_t old = acc.vals.data.len;
      if (!acc.vals.bits) acc.vals.bits = 32;
      if ((rc = lsql_vals_append(&acc.vals, &pg->vals, a, b, err)) != LSQL_OK) break;
      uint32_t *ix = (uint32_t *)(acc.vals.data.data + old);
      for (uint64_t i = 0; i < b - a; i++) ix[i] += (uint32_t)base;
    } else {
      /* reconcile filler (all-null) pages with typed ones */
      lsql_vals *d = &acc.vals;
      /* a gathered page has its dictionary's shape */
      lsql_vals shape = {.bits = pg->dict.bits, .var = pg->dict.var, .dim = pg->dict.dim};
      const lsql_vals *s = pg->gather ? &shape : &pg->vals;
      if (d->n == 0 && !d->data.len && !d->offs.len) { d->bits = s->bits; d->var = s->var; d->dim = s->dim; }
      if (!s->var && !s->bits && (d->bits || d->var)) {
        lsql_vals z = {.bits = d->bits, .var = d->var};
        uint64_t k = b - a;
        if (z.var) rc = lsql_buf_resize(&z.offs, (size_t)(k + 1) * 8) == LSQL_OK ? LSQL_OK : lsql_err_oom(err);
        else rc = lsql_buf_resize(&z.data, z.bits == 1 ? lsql_bitmap_bytes(k) : (size_t)k * (z.bits / 8)) == LSQL_OK ? LSQL_OK : lsql_err_oom(err);
        z.n = k;
        if (rc == LSQL_OK) rc = lsql_vals_append(d, &z, 0, k, err);
        lsql_vals_free(&z);
      } else if (!d->var && !d->bits && (s->bits || s->var)) {
        uint64_t k = d->n;
        lsql_vals_free(d);
        d->bits = s->bits; d->var = s->var; d->dim = s->dim;
        lsql_vals z = {.bits = s->bits, .var = s->var};
        if (z.var) rc = lsql_buf_resize(&z.offs, (size_t)(k + 1) * 8) == LSQL_OK ? LSQL_OK : lsql_err_oom(err);
        else rc = lsql_buf_resize(&z.data, z.bits == 1 ? lsql_bitmap_bytes(k) : (size_t)k * (z.bits / 8)) == LSQL_OK ? LSQL_OK : lsql_err_oom(err);
        z.n = k;
        if (rc == LSQL_OK) rc = lsql_vals_append(d, &z, 0, k, err);
        lsql_vals_free(&z);
        if (rc == LSQL_OK) rc = page_append(d, pg, a, b, err);
      } else if (s->var != d->var || (!s->var && s->bits != d->bits)) {
        rc = lsql_err_corrupt(err, "column %d: pages disagree on value width", nd->col);
      } else {
        rc = page_append(d, pg, a, b, err);
      }
      if (rc != LSQL_OK) break;
    }
    if (pg->valid.len) {
      if (!any_null) {
        size_t vbytes = lsql_bitmap_bytes(count);
        if (lsql_buf_init_pooled(&valid, nd->pool, vbytes) != LSQL_OK) { rc = lsql_err_oom(err); break; }
        memset(valid.data, 0xff, vbytes); /* rows of pages without nulls stay valid */
        valid.len = vbytes;
        any_null = true;
      }
      lsql_bitmap_copy(valid.data, got, pg->valid.data, a, b - a);
    }
    got += b - a;
    row = nd->page_start[p] + b;
  }
  if (rc == LSQL_OK) {
    nd->hint[H20_DATA] = acc.vals.data.len;
    nd->hint[H20_OFFS] = acc.vals.offs.len;
    nd->hint[H20_IVALID] = acc.vals.ivalid.len;
    uint8_t *vb = NULL;
    int64_t nulls = 0;
    if (any_null) {
      nulls = lsql_bitmap_count_zeros(valid.data, 0, count);
      if (nulls) {
        vb = (uint8_t *)valid.data;
        memset(&valid, 0, sizeof valid);
      }
    }
    if (nd->f->type == LSQL_TYPE_DICTIONARY) {
      /* Reuse the 2.1 path: a top-level leaf with its def levels standing for validity. */
      acc.n_levels = count;
      acc.n_rows = count;
      if (vb) {
        if (lsql_buf_resize(&acc.def, (size_t)count * 2) != LSQL_OK) rc = lsql_err_oom(err);
        else {
          uint16_t *d = (uint16_t *)acc.def.data;
          for (uint64_t i = 0; i < count; i++) d[i] = !lsql_bit_get(vb, i);
          acc.has_def = true;
        }
        lsql_free(vb);
      }
      if (!acc.has_dict) { acc.dict.var = nd->f->children[0].type == LSQL_TYPE_UTF8 || nd->f->children[0].type == LSQL_TYPE_LARGE_UTF8 || nd->f->children[0].type == LSQL_TYPE_BINARY || nd->f->children[0].type == LSQL_TYPE_LARGE_BINARY; if (acc.dict.var) lsql_buf_resize(&acc.dict.offs, 8); }
      if (rc == LSQL_OK) rc = lsql_repdef_build(nd->f, &acc, 1, count, out, err);
    } else {
      rc = lsql_arrow_from_vals(nd->f, &acc.vals, count, vb, nulls, out, err);
      if (rc != LSQL_OK) lsql_arrow_array_reset(out);
    }
  }
  lsql_leaf_acc_free(&acc);
  lsql_bufpool_put(nd->pool, valid.data, valid.cap);
  return rc;
}

static int read_list(lsql_file *f, node20 *nd, uint64_t start, uint64_t count, struct ArrowArray *out, lsql_error *err) {
  const lsql_column *col = &f->cols[nd->col];
  bool large = nd->f->type == LSQL_TYPE_LARGE_LIST;
  int64_t *offs = lsql_malloc((size_t)(count + 1) * 8);
  uint8_t *valid = lsql_calloc(lsql_bitmap_bytes(count) + 1, 1);
  int64_t nulls = 0;
  int rc = (offs && valid) ? LSQL_OK : lsql_err_oom(err);
  uint64_t row = start, end = start + count, got = 0, item_first = 0;
  int64_t acc = 0;
  if (rc == LSQL_OK) offs[0] = 0;
  size_t need = count ? lsql_page_of_row(nd->page_start, col->n_pages, end - 1) : 0;
  while (row < end && rc == LSQL_OK) {
    size_t p = lsql_page_of_row(nd->page_start, col->n_pages, row);
    if (p >= col->n_pages) { rc = lsql_err_corrupt(err, "column %d: row %llu past its pages", nd->col, (unsigned long long)row); break; }
    const lsql_page *pg = &col->pages[p];
    const Lance__Encodings__List *le = pg->array->list;
    if (nd->cur != p) {
      page_release(f, nd);
      ctx20 c = {f, pg, NULL, NULL, nd, NULL, false};
      if ((rc = lsql_prefetch_take(f, (uint32_t)nd->col, p, need, &nd->pf, &c.bufs, err)) != LSQL_OK) break;
      nd->bufs = c.bufs;
      nd->bufs_pg = pg;
      nd->bufs_page = p;
      rc = decode_u64s(&c, le->offsets, pg->n_rows, &nd->pg.vals, err);
      if (rc != LSQL_OK) { page_release(f, nd); lsql_error_prefix(err, "column %d: page %zu: ", nd->col, p); break; }
      nd->cur = p;
    }
    const uint64_t *o = (const uint64_t *)nd->pg.vals.data.data;
    uint64_t adj = le->null_offset_adjustment, a = row - nd->page_start[p], b = LSQL_MIN(end, nd->page_start[p + 1]) - nd->page_start[p];
    uint64_t prev = a ? (adj ? o[a - 1] % adj : o[a - 1]) : 0;
    uint64_t first = prev;
    if (got == 0) item_first = nd->item_start[p] + first;
    else if (nd->item_start[p] + first != item_first + (uint64_t)acc) { rc = lsql_err_corrupt(err, "column %d: list items not contiguous", nd->col); break; }
    for (uint64_t i = a; i < b; i++) {
      uint64_t v = o[i];
      bool null = adj && v >= adj;
      uint64_t e = adj ? v % adj : v;
      if (e < prev || e > le->num_items) { rc = lsql_err_corrupt(err, "column %d: page %zu: list offset %llu out of range", nd->col, p, (unsigned long long)e); break; }
      acc += (int64_t)(e - prev);
      prev = e;
      offs[got + 1] = acc;
      if (null) nulls++;
      else lsql_bit_set(valid, got);
      got++;
    }
    row = nd->page_start[p] + b;
  }
  if (rc == LSQL_OK && !large && acc > INT32_MAX) rc = lsql_err(err, LSQL_ELIMIT, "list over 2^31 items in one batch");
  if (rc == LSQL_OK && lsql_arrow_array_init(out, 2, 1) != LSQL_OK) rc = lsql_err_oom(err);
  if (rc != LSQL_OK) {
    lsql_free(offs);
    lsql_free(valid);
    return rc;
  }
  out->length = (int64_t)count;
  if (nulls) {
    lsql_arrow_array_set_buffer(out, 0, valid);
    out->null_count = nulls;
  } else lsql_free(valid);
  if (large) lsql_arrow_array_set_buffer(out, 1, offs);
  else {
    int32_t *o32 = (int32_t *)offs;
    for (uint64_t i = 0; i <= count; i++) o32[i] = (int32_t)offs[i];
    lsql_arrow_array_set_buffer(out, 1, offs);
  }
  return read_node(f, &nd->children[0], item_first, (uint64_t)acc, out->children[0], err);
}

static int read_node(lsql_file *f, node20 *nd, uint64_t start, uint64_t count, struct ArrowArray *out, lsql_error *err) {
  if (!nd->leaf && nd->f->type == LSQL_TYPE_STRUCT) {
    if (lsql_arrow_array_init(out, 1, (int64_t)nd->n_children) != LSQL_OK) return lsql_err_oom(err);
    out->length = (int64_t)count;
    for (size_t i = 0; i < nd->n_children; i++) LSQL_TRY(read_node(f, &nd->children[i], start, count, out->children[i], err));
    return LSQL_OK;
  }
  if (nd->col < 0) return lsql_arrow_all_null(nd->f, count, out, err);
  uint64_t total = nd->page_start[f->cols[nd->col].n_pages];
  if (start + count > total) return lsql_err_corrupt(err, "column %d holds %llu rows, %llu needed", nd->col, (unsigned long long)total, (unsigned long long)(start + count));
  if (count == 0) return lsql_arrow_empty(nd->f, out, err);
  if (nd->leaf) return read_leaf(f, nd, start, count, out, err);
  if (nd->f->type == LSQL_TYPE_LIST || nd->f->type == LSQL_TYPE_LARGE_LIST) return read_list(f, nd, start, count, out, err);
  return lsql_err(err, LSQL_EUNSUPPORTED, "field \"%s\" in a 2.0 file", nd->f->name);
}

int lsql_reader20_read(lsql_reader20 *r, uint64_t start, uint64_t count, struct ArrowArray *out, lsql_error *err) {
  memset(out, 0, sizeof *out);
  int rc = read_node(r->f, &r->root, start, count, out, err);
  if (rc != LSQL_OK) lsql_arrow_array_reset(out);
  return rc;
}

