/* Arrow C data interface arrays/schemas owned by lancesql. One private block per node holds the
 * buffer pointer table, child pointers and keep-alives, so release is a single walk. */
#include <stdlib.h>

#include "arrow.h"

typedef struct keepalive {
  void *obj;
  void (*destroy)(void *);
} keepalive;

/* What release does with one buffer slot. */
typedef struct buffer_slot {
  bool owned;               /* free (or give back to pool) on release */
  size_t cap;               /* pooled buffers: capacity handed back */
  lsql_bufpool *pool;       /* non-NULL: lsql_bufpool_put instead of lsql_free (holds a ref) */
} buffer_slot;

typedef struct array_private {
  const void **buffers;
  buffer_slot *slots;       /* per buffer: what release does */
  struct ArrowArray **children;
  struct ArrowArray *dictionary;
  keepalive *keep;
  size_t n_keep;
} array_private;

static void drop_slot(array_private *p, int64_t i) {
  buffer_slot *s = &p->slots[i];
  if (s->owned) {
    if (s->pool) lsql_bufpool_put(s->pool, (void *)p->buffers[i], s->cap);
    else lsql_free((void *)p->buffers[i]);
  }
  lsql_bufpool_unref(s->pool);
  *s = (buffer_slot){0};
}

static void array_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  array_private *p = a->private_data;
  if (p) {
    for (int64_t i = 0; i < a->n_buffers; i++) drop_slot(p, i);
    for (int64_t i = 0; i < a->n_children; i++) {
      if (p->children[i]) {
        if (p->children[i]->release) p->children[i]->release(p->children[i]);
        lsql_free(p->children[i]);
      }
    }
    if (p->dictionary) {
      if (p->dictionary->release) p->dictionary->release(p->dictionary);
      lsql_free(p->dictionary);
    }
    for (size_t i = p->n_keep; i-- > 0;) p->keep[i].destroy(p->keep[i].obj);
    lsql_free(p->keep);
    lsql_free(p->buffers);
    lsql_free(p->slots);
    lsql_free(p->children);
    lsql_free(p);
  }
  a->release = NULL;
}

int lsql_arrow_array_init(struct ArrowArray *out, int64_t n_buffers, int64_t n_children) {
  memset(out, 0, sizeof *out);
  array_private *p = lsql_calloc(1, sizeof *p);
  if (!p) return LSQL_ENOMEM;
  p->buffers = lsql_calloc((size_t)n_buffers + 1, sizeof *p->buffers);
  p->slots = lsql_calloc((size_t)n_buffers + 1, sizeof *p->slots);
  p->children = lsql_calloc((size_t)n_children + 1, sizeof *p->children);
  if (!p->buffers || !p->slots || !p->children) goto oom;
  for (int64_t i = 0; i < n_children; i++)
    if (!(p->children[i] = lsql_calloc(1, sizeof(struct ArrowArray)))) goto oom;
  out->n_buffers = n_buffers;
  out->n_children = n_children;
  out->buffers = p->buffers;
  out->children = p->children;
  out->private_data = p;
  out->release = array_release;
  return LSQL_OK;
oom:
  if (p->children)
    for (int64_t i = 0; i < n_children; i++) lsql_free(p->children[i]);
  lsql_free(p->buffers);
  lsql_free(p->slots);
  lsql_free(p->children);
  lsql_free(p);
  return LSQL_ENOMEM;
}

void lsql_arrow_array_set_buffer(struct ArrowArray *a, int64_t i, void *buf) {
  array_private *p = a->private_data;
  drop_slot(p, i);
  p->buffers[i] = buf;
  p->slots[i].owned = buf != NULL;
}

void lsql_arrow_array_set_pooled_buffer(struct ArrowArray *a, int64_t i, void *buf, size_t cap,
                                        lsql_bufpool *pool) {
  array_private *p = a->private_data;
  drop_slot(p, i);
  p->buffers[i] = buf;
  if (buf) p->slots[i] = (buffer_slot){true, cap, lsql_bufpool_ref(pool)};
}

void lsql_arrow_array_set_foreign_buffer(struct ArrowArray *a, int64_t i, const void *buf) {
  array_private *p = a->private_data;
  drop_slot(p, i);
  p->buffers[i] = buf;
}

struct ArrowArray *lsql_arrow_array_alloc_dictionary(struct ArrowArray *a) {
  array_private *p = a->private_data;
  if (!p->dictionary && !(p->dictionary = lsql_calloc(1, sizeof(struct ArrowArray)))) return NULL;
  a->dictionary = p->dictionary;
  return p->dictionary;
}

int lsql_arrow_array_add_keepalive(struct ArrowArray *a, void *obj, void (*destroy)(void *)) {
  array_private *p = a->private_data;
  keepalive *k = lsql_realloc(p->keep, (p->n_keep + 1) * sizeof *k);
  if (!k) return LSQL_ENOMEM;
  p->keep = k;
  k[p->n_keep++] = (keepalive){obj, destroy};
  return LSQL_OK;
}

void lsql_arrow_array_move(struct ArrowArray *src, struct ArrowArray *dst) {
  memcpy(dst, src, sizeof *dst);
  src->release = NULL;
}

void lsql_arrow_array_reset(struct ArrowArray *a) {
  if (a->release) a->release(a);
  a->release = NULL;
}

/* ---- schemas ------------------------------------------------------------------------------ */

typedef struct schema_private {
  char *format, *name, *metadata;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;
} schema_private;

static void schema_release(struct ArrowSchema *s) {
  if (!s || !s->release) return;
  schema_private *p = s->private_data;
  if (p) {
    for (int64_t i = 0; i < s->n_children; i++) {
      if (p->children[i]) {
        if (p->children[i]->release) p->children[i]->release(p->children[i]);
        lsql_free(p->children[i]);
      }
    }
    if (p->dictionary) {
      if (p->dictionary->release) p->dictionary->release(p->dictionary);
      lsql_free(p->dictionary);
    }
    lsql_free(p->format);
    lsql_free(p->name);
    lsql_free(p->metadata);
    lsql_free(p->children);
    lsql_free(p);
  }
  s->release = NULL;
}

int lsql_arrow_schema_init(struct ArrowSchema *out, const char *format, const char *name,
                           int64_t flags, int64_t n_children) {
  memset(out, 0, sizeof *out);
  schema_private *p = lsql_calloc(1, sizeof *p);
  if (!p) return LSQL_ENOMEM;
  p->format = lsql_strdup(format);
  p->name = name ? lsql_strdup(name) : NULL;
  p->children = lsql_calloc((size_t)n_children + 1, sizeof *p->children);
  if (!p->format || (name && !p->name) || !p->children) goto oom;
  for (int64_t i = 0; i < n_children; i++)
    if (!(p->children[i] = lsql_calloc(1, sizeof(struct ArrowSchema)))) goto oom;
  out->format = p->format;
  out->name = p->name;
  out->flags = flags;
  out->n_children = n_children;
  out->children = p->children;
  out->private_data = p;
  out->release = schema_release;
  return LSQL_OK;
oom:
  if (p->children)
    for (int64_t i = 0; i < n_children; i++) lsql_free(p->children[i]);
  lsql_free(p->children);
  lsql_free(p->format);
  lsql_free(p->name);
  lsql_free(p);
  return LSQL_ENOMEM;
}

int lsql_arrow_schema_set_metadata(struct ArrowSchema *s, size_t n, const char *const *keys,
                                   const char *const *values, const size_t *vlen) {
  schema_private *p = s->private_data;
  lsql_free(p->metadata);
  p->metadata = NULL;
  s->metadata = NULL;
  if (n == 0) return LSQL_OK;
  lsql_buf b = LSQL_BUF_INIT;
  int32_t cnt = (int32_t)n;
  int rc = lsql_buf_append(&b, &cnt, 4);
  for (size_t i = 0; i < n && rc == LSQL_OK; i++) {
    int32_t kl = (int32_t)strlen(keys[i]);
    int32_t vl = (int32_t)(vlen ? vlen[i] : strlen(values[i]));
    rc = lsql_buf_append(&b, &kl, 4);
    if (rc == LSQL_OK) rc = lsql_buf_append(&b, keys[i], (size_t)kl);
    if (rc == LSQL_OK) rc = lsql_buf_append(&b, &vl, 4);
    if (rc == LSQL_OK) rc = lsql_buf_append(&b, values[i], (size_t)vl);
  }
  if (rc != LSQL_OK) {
    lsql_buf_free(&b);
    return rc;
  }
  p->metadata = (char *)b.data;
  s->metadata = p->metadata;
  return LSQL_OK;
}

struct ArrowSchema *lsql_arrow_schema_alloc_dictionary(struct ArrowSchema *s) {
  schema_private *p = s->private_data;
  if (!p->dictionary && !(p->dictionary = lsql_calloc(1, sizeof(struct ArrowSchema)))) return NULL;
  s->dictionary = p->dictionary;
  return p->dictionary;
}

static size_t metadata_len(const char *m) {
  if (!m) return 0;
  int32_t n;
  memcpy(&n, m, 4);
  size_t off = 4;
  for (int32_t i = 0; i < n; i++) {
    int32_t l;
    memcpy(&l, m + off, 4);
    off += 4 + (size_t)l;
    memcpy(&l, m + off, 4);
    off += 4 + (size_t)l;
  }
  return off;
}

int lsql_arrow_schema_copy(const struct ArrowSchema *src, struct ArrowSchema *dst) {
  LSQL_TRY(lsql_arrow_schema_init(dst, src->format, src->name, src->flags, src->n_children));
  schema_private *p = dst->private_data;
  if (src->metadata) {
    size_t ml = metadata_len(src->metadata);
    if (!(p->metadata = lsql_malloc(ml))) goto oom;
    memcpy(p->metadata, src->metadata, ml);
    dst->metadata = p->metadata;
  }
  for (int64_t i = 0; i < src->n_children; i++)
    if (lsql_arrow_schema_copy(src->children[i], dst->children[i]) != LSQL_OK) goto oom;
  if (src->dictionary) {
    struct ArrowSchema *d = lsql_arrow_schema_alloc_dictionary(dst);
    if (!d || lsql_arrow_schema_copy(src->dictionary, d) != LSQL_OK) goto oom;
  }
  return LSQL_OK;
oom:
  dst->release(dst);
  return LSQL_ENOMEM;
}

void lsql_arrow_schema_move(struct ArrowSchema *src, struct ArrowSchema *dst) {
  memcpy(dst, src, sizeof *dst);
  src->release = NULL;
}

void lsql_arrow_schema_reset(struct ArrowSchema *s) {
  if (s->release) s->release(s);
  s->release = NULL;
}

/* ---- bitmaps ------------------------------------------------------------------------------ */

int64_t lsql_bitmap_count_zeros(const uint8_t *bits, uint64_t offset, uint64_t n) {
  int64_t ones = 0;
  uint64_t i = offset, end = offset + n;
  while (i < end && (i & 7)) ones += lsql_bit_get(bits, i++);
  while (i + 64 <= end) {
    uint64_t w;
    memcpy(&w, bits + (i >> 3), 8);
    ones += __builtin_popcountll(w);
    i += 64;
  }
  while (i < end) ones += lsql_bit_get(bits, i++);
  return (int64_t)n - ones;
}

void lsql_bitmap_copy(uint8_t *dst, uint64_t dst_off, const uint8_t *src, uint64_t src_off, uint64_t n) {
  if (n == 0) return; /* buffers may be NULL then (found by fuzz_file_reader: crash-8afd614...) */
  if (((dst_off | src_off) & 7) == 0) {
    memcpy(dst + (dst_off >> 3), src + (src_off >> 3), (size_t)(n >> 3));
    for (uint64_t i = n & ~(uint64_t)7; i < n; i++)
      lsql_bit_put(dst, dst_off + i, lsql_bit_get(src, src_off + i));
    return;
  }
  for (uint64_t i = 0; i < n; i++) lsql_bit_put(dst, dst_off + i, lsql_bit_get(src, src_off + i));
}
