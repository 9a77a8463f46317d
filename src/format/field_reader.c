/* lsql_field_reader: reads row selections of one top-level field. For 2.1+ each leaf column keeps
 * its current decoded page, so consecutive selections decode every page once; levels of the
 * selected rows are gathered per leaf and unraveled into Arrow arrays at the end. */
#include "format/internal.h"
#include "util/arrow.h"

/* Accumulator buffers started at the previous batch's size (see acc_start). */
enum { LEAF_HINT_DATA, LEAF_HINT_OFFS, LEAF_HINT_IVALID, LEAF_HINT_REP, LEAF_HINT_DEF, LEAF_HINT_N };

typedef struct leaf_state {
  const lsql_field *lf;
  bool missing;
  uint32_t col;
  uint64_t *page_start;     /* n_pages+1 first row of each page */
  size_t cur;               /* index of the decoded page, or SIZE_MAX */
  lsql_prefetch pf;         /* raw buffers of the next pages */
  lsql_dpage dp;
  lsql_leaf_shape shape;
  /* Output buffers of this leaf's batches come from (and return to) this pool, created on the
   * first read and carried to the next fragment's reader with the spares. */
  lsql_bufpool *pool;
  size_t hint[LEAF_HINT_N];   /* buffer sizes of the previous batch */
} leaf_state;

struct lsql_field_reader {
  lsql_file *f;
  const lsql_field *field;
  lsql_reader20 *r20;
  size_t n_leaves;
  leaf_state *leaves;
  bool dict_batches;   /* lsql_field_reader_set_dict_batches, for a var-width top-level leaf */
};

static bool is_leafish(const lsql_field *f) {
  return f->packed || f->blob || f->n_children == 0 || f->type == LSQL_TYPE_DICTIONARY ||
         (f->type == LSQL_TYPE_FIXED_SIZE_LIST && f->children[0].id < 0);
}

static int collect_leaves(lsql_field_reader *r, const lsql_field *f, const lsql_column_map *map, lsql_error *err) {
  if (is_leafish(f)) {
    bool missing = f->id < 0 || (size_t)f->id >= map->n || map->col_by_field_id[f->id] < 0 ||
                   (uint32_t)map->col_by_field_id[f->id] >= r->f->n_cols;
    leaf_state *l = lsql_realloc(r->leaves, (r->n_leaves + 1) * sizeof *l);
    if (!l) return lsql_err_oom(err);
    r->leaves = l;
    leaf_state *s = &l[r->n_leaves++];
    memset(s, 0, sizeof *s);
    s->lf = f;
    s->cur = SIZE_MAX;
    s->missing = missing;
    if (missing) return LSQL_OK; /* a sub-field added after this file was written: nulls */
    s->col = (uint32_t)map->col_by_field_id[f->id];
    s->shape.field = f;
    s->shape.keep_dict = f->type == LSQL_TYPE_DICTIONARY;
    const lsql_column *col = &r->f->cols[s->col];
    s->page_start = lsql_malloc((col->n_pages + 1) * 8);
    if (!s->page_start) return lsql_err_oom(err);
    uint64_t acc = 0;
    for (size_t p = 0; p < col->n_pages; p++) {
      s->page_start[p] = acc;
      acc += col->pages[p].n_rows;
    }
    s->page_start[col->n_pages] = acc;
    return LSQL_OK;
  }
  for (size_t i = 0; i < f->n_children; i++) LSQL_TRY(collect_leaves(r, &f->children[i], map, err));
  return LSQL_OK;
}

void lsql_field_reader_free(lsql_field_reader *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_leaves; i++) {
    lsql_dpage_free(&r->leaves[i].dp);
    if (!r->leaves[i].missing) lsql_prefetch_free(r->f, r->leaves[i].col, &r->leaves[i].pf);
    lsql_free(r->leaves[i].page_start);
    lsql_bufpool_unref(r->leaves[i].pool);
  }
  lsql_free(r->leaves);
  lsql_reader20_free(r->r20);
  lsql_free(r);
}

typedef struct leaf_spares {
  lsql_buf spare[LSQL_DPAGE_SPARE_N];
  uint8_t *pool[LSQL_PREFETCH_POOL];
  size_t pool_cap[LSQL_PREFETCH_POOL];
  lsql_bufpool *bufpool;
  size_t hint[LEAF_HINT_N];
} leaf_spares;

struct lsql_reader_spares {
  size_t n;
  leaf_spares *leaf;
  lsql_reader20_spares *r20;   /* 2.0 files: the 2.0 reader's buffers */
};

void lsql_reader_spares_free(lsql_reader_spares *sp) {
  if (!sp) return;
  for (size_t i = 0; i < sp->n; i++) {
    for (int k = 0; k < LSQL_DPAGE_SPARE_N; k++) lsql_buf_free(&sp->leaf[i].spare[k]);
    for (int k = 0; k < LSQL_PREFETCH_POOL; k++) lsql_free(sp->leaf[i].pool[k]);
    lsql_bufpool_unref(sp->leaf[i].bufpool);
  }
  lsql_reader20_spares_free(sp->r20);
  lsql_free(sp->leaf);
  lsql_free(sp);
}

size_t lsql_reader_spares_bytes(const lsql_reader_spares *sp) {
  if (!sp) return 0;
  size_t n = lsql_reader20_spares_bytes(sp->r20);
  for (size_t i = 0; i < sp->n; i++) {
    for (int k = 0; k < LSQL_DPAGE_SPARE_N; k++) n += sp->leaf[i].spare[k].cap;
    for (int k = 0; k < LSQL_PREFETCH_POOL; k++) n += sp->leaf[i].pool[k] ? sp->leaf[i].pool_cap[k] : 0;
    n += lsql_bufpool_bytes(sp->leaf[i].bufpool);
  }
  return n;
}

void lsql_field_reader_free_keep(lsql_field_reader *r, lsql_reader_spares **spares) {
  if (!r) return; /* nothing to keep: *spares stays */
  lsql_reader_spares_free(*spares);
  *spares = NULL;
  lsql_reader_spares *sp = r->n_leaves || r->r20 ? lsql_calloc(1, sizeof *sp) : NULL;
  if (sp && !(sp->leaf = lsql_calloc(r->n_leaves ? r->n_leaves : 1, sizeof *sp->leaf))) {
    lsql_free(sp);
    sp = NULL;
  }
  for (size_t i = 0; sp && i < r->n_leaves; i++) {
    leaf_state *l = &r->leaves[i];
    if (l->missing) continue;
    lsql_dpage_recycle(&l->dp);
    memcpy(sp->leaf[i].spare, l->dp.spare, sizeof l->dp.spare);
    memset(l->dp.spare, 0, sizeof l->dp.spare);
    memcpy(sp->leaf[i].pool, l->pf.pool, sizeof l->pf.pool);
    memcpy(sp->leaf[i].pool_cap, l->pf.pool_cap, sizeof l->pf.pool_cap);
    memset(l->pf.pool, 0, sizeof l->pf.pool);
    sp->leaf[i].bufpool = l->pool;
    l->pool = NULL;
    memcpy(sp->leaf[i].hint, l->hint, sizeof l->hint);
  }
  if (sp) sp->n = r->n_leaves;
  if (sp && r->r20) sp->r20 = lsql_reader20_keep(r->r20);
  lsql_field_reader_free(r);
  *spares = sp;
}

void lsql_field_reader_adopt(lsql_field_reader *r, lsql_reader_spares **spares) {
  lsql_reader_spares *sp = *spares;
  *spares = NULL;
  if (!sp) return;
  if (r && r->r20) {
    lsql_reader20_adopt(r->r20, sp->r20);
    sp->r20 = NULL;
  }
  for (size_t i = 0; r && i < sp->n && i < r->n_leaves; i++) {
    leaf_state *l = &r->leaves[i];
    if (l->missing) continue;
    /* a new reader's leaves hold no buffers yet; swap so that leftovers are freed below */
    for (int k = 0; k < LSQL_DPAGE_SPARE_N; k++) {
      lsql_buf t = l->dp.spare[k];
      l->dp.spare[k] = sp->leaf[i].spare[k];
      sp->leaf[i].spare[k] = t;
    }
    for (int k = 0; k < LSQL_PREFETCH_POOL; k++) {
      uint8_t *t = l->pf.pool[k];
      size_t c = l->pf.pool_cap[k];
      l->pf.pool[k] = sp->leaf[i].pool[k];
      l->pf.pool_cap[k] = sp->leaf[i].pool_cap[k];
      sp->leaf[i].pool[k] = t;
      sp->leaf[i].pool_cap[k] = c;
    }
    lsql_bufpool *bp = l->pool;
    l->pool = sp->leaf[i].bufpool;
    sp->leaf[i].bufpool = bp;
    memcpy(l->hint, sp->leaf[i].hint, sizeof l->hint);
  }
  lsql_reader_spares_free(sp);
}

int lsql_field_reader_new(lsql_file *f, const lsql_field *field, const lsql_column_map *map,
                          lsql_field_reader **out, lsql_error *err) {
  *out = NULL;
  lsql_field_reader *r = lsql_calloc(1, sizeof *r);
  if (!r) return lsql_err_oom(err);
  r->f = f;
  r->field = field;
  int rc;
  if (f->minor == 0) rc = lsql_reader20_new(f, field, map, &r->r20, err);
  else {
    rc = collect_leaves(r, field, map, err);
    bool any = false;
    for (size_t i = 0; i < r->n_leaves; i++) any |= !r->leaves[i].missing;
    if (rc == LSQL_OK && !any)
      rc = lsql_err(err, LSQL_ENOTFOUND, "field \"%s\" (id %d) has no column in this file", field->name, (int)field->id);
  }
  if (rc != LSQL_OK) {
    lsql_error_prefix(err, "%s: ", f->path);
    lsql_field_reader_free(r);
    return rc;
  }
  *out = r;
  return LSQL_OK;
}

void lsql_field_reader_set_dict_batches(lsql_field_reader *r, bool on) {
  if (!r) return;
  lsql_type t = r->field->type;
  bool var = t == LSQL_TYPE_UTF8 || t == LSQL_TYPE_LARGE_UTF8 || t == LSQL_TYPE_BINARY || t == LSQL_TYPE_LARGE_BINARY;
  r->dict_batches = on && !r->r20 && r->n_leaves == 1 && !r->leaves[0].missing && r->leaves[0].lf == r->field &&
                    var && !r->field->blob;
}

/* Canonical def numbering (lists: null+empty, items: nullable) used when pages disagree. */
static int canon_layer(int layer) {
  return lsql_layer_is_list(layer) ? LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULL_AND_EMPTY_LIST
                                   : LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM;
}

/* Maps def levels of `from` layers onto `to` layers (same shape). */
static int def_map(const int *from, const int *to, int n, uint16_t *map, int cap, lsql_error *err) {
  int lf = 1, lt = 1;
  map[0] = 0;
  for (int k = 0; k < n; k++) {
    int nf = lsql_layer_ndef(from[k]), nt = lsql_layer_ndef(to[k]);
    bool from_empty_only = from[k] == LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_EMPTYABLE_LIST;
    for (int j = 0; j < nf; j++) {
      if (lf >= cap) return lsql_err(err, LSQL_EUNSUPPORTED, "too many definition levels");
      bool is_empty = from_empty_only || (nf == 2 && j == 1);
      int target;
      if (nt == 2) target = lt + (is_empty ? 1 : 0);
      else if (nt == 1) target = lt;
      else return lsql_err_corrupt(err, "rep/def layers differ between pages");
      map[lf++] = (uint16_t)target;
    }
    lt += nt;
  }
  return LSQL_OK;
}

static bool same_layers(const lsql_leaf_acc *a, const lsql_dpage *p) {
  if (a->n_layers != p->n_layers) return false;
  for (int i = 0; i < a->n_layers; i++)
    if (a->layers[i] != p->layers[i]) return false;
  return true;
}

static int acc_make_canonical(lsql_leaf_acc *a, lsql_error *err) {
  int to[16];
  for (int i = 0; i < a->n_layers; i++) to[i] = canon_layer(a->layers[i]);
  uint16_t map[64];
  LSQL_TRY(def_map(a->layers, to, a->n_layers, map, 64, err));
  if (!a->has_def) {
    if (lsql_buf_resize(&a->def, (size_t)a->n_levels * 2) != LSQL_OK) return lsql_err_oom(err);
    a->has_def = true;
  } else {
    uint16_t *d = (uint16_t *)a->def.data;
    for (uint64_t i = 0; i < a->n_levels; i++) d[i] = map[d[i]];
  }
  memcpy(a->layers, to, sizeof to);
  return LSQL_OK;
}

/* Appends values [va, vb) of the page, reconciling filler (typeless) values. */
static int acc_vals(lsql_leaf_acc *a, const lsql_vals *s, uint64_t va, uint64_t vb, lsql_error *err) {
  lsql_vals *d = &a->vals;
  if (d->n == 0 && d->data.len == 0 && d->offs.len == 0) {
    d->bits = s->bits;
    d->var = s->var;
    d->dim = s->dim;
  }
  if (s->var != d->var && !(s->bits == 0 && !s->var) && !(d->bits == 0 && !d->var))
    return lsql_err_corrupt(err, "pages disagree on value shape");
  if (!s->var && s->bits == 0 && (d->bits || d->var)) {
    /* filler values from an all-null page */
    uint64_t n = vb - va;
    if (d->var) {
      if (d->offs.len == 0 && lsql_buf_resize(&d->offs, 8) != LSQL_OK) return lsql_err_oom(err);
      uint64_t end = d->data.len;
      for (uint64_t i = 0; i < n; i++)
        if (lsql_buf_append(&d->offs, &end, 8) != LSQL_OK) return lsql_err_oom(err);
    } else if (d->bits == 1) {
      if (lsql_buf_resize(&d->data, lsql_bitmap_bytes(d->n + n)) != LSQL_OK) return lsql_err_oom(err);
    } else if (lsql_buf_resize(&d->data, d->data.len + (size_t)n * (d->bits / 8)) != LSQL_OK) return lsql_err_oom(err);
    d->n += n;
    return LSQL_OK;
  }
  if (!d->var && d->bits == 0 && (s->bits || s->var)) {
    /* accumulated filler so far: materialize it in the real shape */
    uint64_t n = d->n;
    d->bits = s->bits;
    d->var = s->var;
    d->dim = s->dim;
    if (d->var) {
      if (lsql_buf_resize(&d->offs, (size_t)(n + 1) * 8) != LSQL_OK) return lsql_err_oom(err);
    } else if (lsql_buf_resize(&d->data, d->bits == 1 ? lsql_bitmap_bytes(n) : (size_t)n * (d->bits / 8)) != LSQL_OK)
      return lsql_err_oom(err);
  }
  if (!d->var && d->bits != s->bits) return lsql_err_corrupt(err, "pages disagree on value width (%u vs %u bits)", d->bits, s->bits);
  if (s->ivalid.len) {
    d->dim = s->dim;
    if (d->ivalid.len == 0 && d->n) {
      if (lsql_buf_resize(&d->ivalid, lsql_bitmap_bytes(d->n * d->dim)) != LSQL_OK) return lsql_err_oom(err);
      memset(d->ivalid.data, 0xff, d->ivalid.len);
    }
  } else if (d->ivalid.len && vb > va) {
    uint64_t old = d->n * d->dim, add = (vb - va) * d->dim;
    if (lsql_buf_resize(&d->ivalid, lsql_bitmap_bytes(old + add)) != LSQL_OK) return lsql_err_oom(err);
    for (uint64_t i = old; i < old + add; i++) lsql_bit_set(d->ivalid.data, i);
  }
  return lsql_vals_append(d, s, va, vb, err);
}

/* Appends values [va, vb) of a page that kept its dictionary (p->gather_dict): gathers them
 * straight from the dictionary into the accumulator (the page holds only checked indices). */
static int acc_gather_dict(lsql_leaf_acc *a, const lsql_dpage *p, uint64_t va, uint64_t vb, lsql_error *err) {
  /* zero values of the dictionary's shape: reconciles the accumulator's shape (filler, widths) */
  lsql_vals shape = {.bits = p->dict.bits, .var = p->dict.var, .dim = p->dict.dim};
  LSQL_TRY(acc_vals(a, &shape, 0, 0, err));
  lsql_vals *d = &a->vals;
  uint64_t n = vb - va;
  if (d->ivalid.len && n) {
    /* earlier pages had item validity; a dictionary's items are all valid */
    uint64_t old = d->n * d->dim, add = n * d->dim;
    if (lsql_buf_resize(&d->ivalid, lsql_bitmap_bytes(old + add)) != LSQL_OK) return lsql_err_oom(err);
    for (uint64_t i = old; i < old + add; i++) lsql_bit_set(d->ivalid.data, i);
  }
  return lsql_vals_gather_checked(d, &p->dict, (const uint32_t *)p->vals.data.data + va, n, err);
}

/* A dictionary batch meets a page without a dictionary (or its dictionary is too big): gathers
 * the indices accumulated so far into plain values; the batch stays plain from here on. */
static int acc_dict_to_plain(lsql_leaf_acc *a, lsql_error *err) {
  a->dict_batch = 2;
  if (!a->has_dict) return LSQL_OK;
  lsql_vals *ix = &a->vals;
  lsql_vals g = {.bits = a->dict.bits, .var = a->dict.var, .dim = a->dict.dim, .pool = ix->pool};
  /* the (unused) pooled offsets buffer of the indices takes the gathered offsets */
  g.offs = ix->offs;
  g.offs.len = 0;
  memset(&ix->offs, 0, sizeof ix->offs);
  int rc = lsql_buf_init_pooled(&g.data, ix->pool, a->dict.var ? 64 : (size_t)ix->n * (a->dict.bits / 8) + 64);
  if (rc == LSQL_OK) rc = lsql_vals_gather_checked(&g, &a->dict, (const uint32_t *)ix->data.data, ix->n, err);
  else rc = lsql_err_oom(err);
  lsql_bufpool_put(ix->pool, ix->data.data, ix->data.cap);
  memset(&ix->data, 0, sizeof ix->data);
  if (rc != LSQL_OK) {
    lsql_bufpool_put(g.pool, g.data.data, g.data.cap);
    lsql_bufpool_put(g.pool, g.offs.data, g.offs.cap);
    return rc;
  }
  lsql_bufpool_put(ix->pool, ix->ivalid.data, ix->ivalid.cap);
  lsql_bufpool_put(ix->pool, ix->valid.data, ix->valid.cap);
  *ix = g;
  lsql_vals_free(&a->dict);
  a->has_dict = false;
  return LSQL_OK;
}

/* Appends rows [a, b) of the leaf's current page. */
static int acc_page_rows(lsql_leaf_acc *acc, const lsql_dpage *p, uint64_t a, uint64_t b, bool first, lsql_error *err) {
  uint64_t la = p->row_level ? p->row_level[a] : a, lb = p->row_level ? p->row_level[b] : b;
  uint64_t va = p->row_vis ? p->row_vis[a] : a, vb = p->row_vis ? p->row_vis[b] : b;
  if (first) {
    acc->n_layers = p->n_layers;
    memcpy(acc->layers, p->layers, sizeof acc->layers);
  } else if (!same_layers(acc, p)) {
    if (acc->n_layers != p->n_layers) return lsql_err_corrupt(err, "pages have %d and %d rep/def layers", acc->n_layers, p->n_layers);
    bool canon = true;
    for (int i = 0; i < acc->n_layers; i++) canon &= acc->layers[i] == canon_layer(acc->layers[i]);
    if (!canon) LSQL_TRY(acc_make_canonical(acc, err));
  }
  uint64_t n = lb - la;
  /* rep */
  if (p->rep) {
    if (!acc->has_rep && acc->n_levels) return lsql_err_corrupt(err, "pages disagree on repetition");
    acc->has_rep = true;
    if (lsql_buf_append(&acc->rep, p->rep + la, (size_t)n * 2) != LSQL_OK) return lsql_err_oom(err);
  } else if (acc->has_rep) return lsql_err_corrupt(err, "pages disagree on repetition");
  /* def (mapped when the page's layers differ from the accumulator's) */
  bool need_map = !same_layers(acc, p);
  if (p->def || need_map || acc->has_def) {
    if (!acc->has_def) {
      if (lsql_buf_resize(&acc->def, (size_t)acc->n_levels * 2) != LSQL_OK) return lsql_err_oom(err);
      acc->has_def = true;
    }
    size_t old = acc->def.len;
    if (lsql_buf_resize(&acc->def, old + (size_t)n * 2) != LSQL_OK) return lsql_err_oom(err);
    uint16_t *d = (uint16_t *)(acc->def.data + old);
    if (p->def) {
      if (need_map) {
        uint16_t map[64];
        LSQL_TRY(def_map(p->layers, acc->layers, p->n_layers, map, 64, err));
        int mx = 0;
        for (int i = 0; i < p->n_layers; i++) mx += lsql_layer_ndef(p->layers[i]);
        for (uint64_t i = 0; i < n; i++) d[i] = p->def[la + i] <= mx ? map[p->def[la + i]] : 0;
      } else memcpy(d, p->def + la, (size_t)n * 2);
    }
  }
  acc->n_levels += n;
  acc->n_rows += b - a;
  if (acc->dict_batch == 1 && !p->gather_dict) LSQL_TRY(acc_dict_to_plain(acc, err));
  if (p->has_dict || (p->gather_dict && acc->dict_batch == 1)) {
    /* Offset this page's indices past the dictionaries already gathered. */
    uint64_t base = acc->dict.n;
    if (acc->dict.n == 0 && acc->dict.data.len == 0) {
      acc->dict.bits = p->dict.bits;
      acc->dict.var = p->dict.var;
    }
    LSQL_TRY(lsql_vals_append(&acc->dict, &p->dict, 0, p->dict.n, err));
    acc->has_dict = true;
    size_t old = acc->vals.data.len;
    LSQL_TRY(acc_vals(acc, &p->vals, va, vb, err));
    uint32_t *ix = (uint32_t *)(acc->vals.data.data + old);
    for (uint64_t i = 0; i < vb - va; i++) ix[i] += (uint32_t)base;
    return LSQL_OK;
  }
  if (p->gather_dict) return acc_gather_dict(acc, p, va, vb, err);
  return acc_vals(acc, &p->vals, va, vb, err);
}

static int leaf_read(lsql_field_reader *r, leaf_state *s, lsql_leaf_acc *acc, uint64_t start, uint64_t end, bool *first,
                     lsql_error *err) {
  const lsql_column *col = &r->f->cols[s->col];
  uint64_t row = start;
  size_t need = end > start && col->n_pages ? lsql_page_of_row(s->page_start, col->n_pages, end - 1) : 0;
  while (row < end) {
    /* the page holding `row`: usually the current one */
    size_t lo = s->cur != SIZE_MAX && row >= s->page_start[s->cur] && row < s->page_start[s->cur + 1]
                    ? s->cur : lsql_page_of_row(s->page_start, col->n_pages, row);
    if (lo >= col->n_pages)
      return lsql_err_corrupt(err, "column %u: row %llu past its %llu rows", s->col, (unsigned long long)row, (unsigned long long)s->page_start[col->n_pages]);
    if (s->cur != lo) {
      lsql_dpage_recycle(&s->dp); /* keeps the page's buffers for the next decode */
      s->cur = SIZE_MAX;
      uint8_t **bufs = NULL;
      int rc = lsql_prefetch_take(r->f, s->col, lo, need, &s->pf, &bufs, err);
      if (rc == LSQL_OK) rc = lsql_decode_page21(r->f, &col->pages[lo], &s->shape, bufs, &s->dp, err);
      lsql_prefetch_give(r->f, s->col, lo, &s->pf, bufs);
      if (rc != LSQL_OK) return lsql_error_prefix(err, "column %u: page %zu: ", s->col, lo), rc;
      s->cur = lo;
    }
    uint64_t p0 = s->page_start[lo], p1 = s->page_start[lo + 1];
    uint64_t a = row - p0, b = LSQL_MIN(end, p1) - p0;
    int rc = acc_page_rows(acc, &s->dp, a, b, *first, err);
    if (rc != LSQL_OK) return lsql_error_prefix(err, "column %u: page %zu: ", s->col, lo), rc;
    *first = false;
    row = p0 + b;
  }
  return LSQL_OK;
}

/* Starts the leaf's accumulator on pooled buffers the size of the previous batch's (plus some
 * slack for variable-width data), so a steady scan neither faults fresh memory nor regrows. */
static int acc_start(leaf_state *s, lsql_leaf_acc *acc, lsql_error *err) {
  if (!s->pool && !(s->pool = lsql_bufpool_new(LSQL_BUFPOOL_MAX_BUFFERS, LSQL_BUFPOOL_MAX_BYTES)))
    return lsql_err_oom(err);
  acc->vals.pool = s->pool;
  lsql_buf *b[LEAF_HINT_N] = {&acc->vals.data, &acc->vals.offs, &acc->vals.ivalid, &acc->rep, &acc->def};
  for (int k = 0; k < LEAF_HINT_N; k++) {
    size_t h = s->hint[k];
    if (h && lsql_buf_init_pooled(b[k], s->pool, h + h / 8 + 64) != LSQL_OK) return lsql_err_oom(err);
  }
  return LSQL_OK;
}

static void acc_remember(leaf_state *s, const lsql_leaf_acc *acc) {
  s->hint[LEAF_HINT_DATA] = acc->vals.data.len;
  s->hint[LEAF_HINT_OFFS] = acc->vals.offs.len;
  s->hint[LEAF_HINT_IVALID] = acc->vals.ivalid.len;
  s->hint[LEAF_HINT_REP] = acc->rep.len;
  s->hint[LEAF_HINT_DEF] = acc->def.len;
}

int lsql_field_reader_read(lsql_field_reader *r, const lsql_row_selection *sel, struct ArrowArray *out,
                           lsql_error *err) {
  memset(out, 0, sizeof *out);
  uint64_t total = r->f->num_rows;
  if (!sel->rows) {
    uint64_t e;
    if (lsql_add_overflow_u64(sel->start, sel->count, &e) || e > total)
      return lsql_err(err, LSQL_EINVAL, "%s: rows [%llu, +%llu) outside the file's %llu rows", r->f->path,
                      (unsigned long long)sel->start, (unsigned long long)sel->count, (unsigned long long)total);
  } else {
    for (uint64_t i = 0; i < sel->count; i++)
      if (sel->rows[i] >= total || (i && sel->rows[i] <= sel->rows[i - 1]))
        return lsql_err(err, LSQL_EINVAL, "%s: bad row selection at %llu", r->f->path, (unsigned long long)i);
  }
  if (r->r20) {
    int rc;
    if (!sel->rows) rc = lsql_reader20_read(r->r20, sel->start, sel->count, out, err);
    else if (sel->count == 0) rc = lsql_reader20_read(r->r20, 0, 0, out, err);
    else {
      /* Read the enclosing range once, then gather the listed rows. */
      uint64_t first = sel->rows[0], span = sel->rows[sel->count - 1] - first + 1;
      struct ArrowArray whole;
      rc = lsql_reader20_read(r->r20, first, span, &whole, err);
      if (rc == LSQL_OK) {
        if (span == sel->count) lsql_arrow_array_move(&whole, out);
        else {
          uint64_t *idx = lsql_malloc((size_t)sel->count * 8);
          if (!idx) rc = lsql_err_oom(err);
          else {
            for (uint64_t i = 0; i < sel->count; i++) idx[i] = sel->rows[i] - first;
            rc = lsql_arrow_take(r->field, &whole, idx, sel->count, out, err);
            lsql_free(idx);
          }
          lsql_arrow_array_reset(&whole);
        }
      }
    }
    if (rc != LSQL_OK) lsql_error_prefix(err, "%s: ", r->f->path);
    return rc;
  }
  lsql_leaf_acc *accs = lsql_calloc(r->n_leaves ? r->n_leaves : 1, sizeof *accs);
  if (!accs) return lsql_err_oom(err);
  int rc = LSQL_OK;
  uint64_t n_rows = sel->count;
  for (size_t l = 0; l < r->n_leaves && rc == LSQL_OK; l++) {
    bool first = true;
    if (r->leaves[l].missing) {
      accs[l].missing = true;
      continue;
    }
    rc = acc_start(&r->leaves[l], &accs[l], err);
    if (rc != LSQL_OK) break;
    accs[l].dict_batch = r->dict_batches ? 1 : 0;
    if (!sel->rows) rc = leaf_read(r, &r->leaves[l], &accs[l], sel->start, sel->start + sel->count, &first, err);
    else
      for (uint64_t i = 0; i < sel->count && rc == LSQL_OK;) {
        uint64_t j = i + 1;
        while (j < sel->count && sel->rows[j] == sel->rows[j - 1] + 1) j++;
        rc = leaf_read(r, &r->leaves[l], &accs[l], sel->rows[i], sel->rows[j - 1] + 1, &first, err);
        i = j;
      }
    if (rc == LSQL_OK && first) {
      /* zero rows selected: shape from the column's first page layers is irrelevant */
      accs[l].n_layers = 0;
    }
    /* A dictionary batch stays one when the dictionary is small next to it (a DuckDB dictionary
     * vector then saves a copy per row); else it is gathered as usual. */
    lsql_leaf_acc *a = &accs[l];
    if (rc == LSQL_OK && a->dict_batch == 1 && a->has_dict &&
        (a->dict.n > n_rows / 2 || a->has_rep || a->n_layers > 1 || a->vals.ivalid.len))
      rc = acc_dict_to_plain(a, err);
    if (rc == LSQL_OK && sel->count) acc_remember(&r->leaves[l], &accs[l]);
  }
  if (rc == LSQL_OK) {
    if (n_rows == 0) {
      rc = lsql_arrow_empty(r->field, out, err);
    } else
      rc = lsql_repdef_build(r->field, accs, r->n_leaves, n_rows, out, err);
  }
  for (size_t l = 0; l < r->n_leaves; l++) lsql_leaf_acc_free(&accs[l]);
  lsql_free(accs);
  if (rc != LSQL_OK) lsql_error_prefix(err, "%s: ", r->f->path);
  return rc;
}
