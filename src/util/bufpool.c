/* Bounded buffer cache: a short array under a mutex (a handful of entries per column, so a
 * linear best-fit search is cheaper than any structure). */
#include <pthread.h>
#include <stdatomic.h>

#include "bufpool.h"

typedef struct pool_entry {
  void *buf;
  size_t cap;
} pool_entry;

struct lsql_bufpool {
  _Atomic size_t refs;
  pthread_mutex_t mu;
  size_t max_buffers, max_bytes;
  size_t n, bytes;          /* cached entries and their total capacity */
  pool_entry *entries;      /* max_buffers slots */
};

lsql_bufpool *lsql_bufpool_new(size_t max_buffers, size_t max_bytes) {
  lsql_bufpool *p = lsql_calloc(1, sizeof *p);
  if (!p) return NULL;
  if (max_buffers && !(p->entries = lsql_calloc(max_buffers, sizeof *p->entries))) {
    lsql_free(p);
    return NULL;
  }
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    lsql_free(p->entries);
    lsql_free(p);
    return NULL;
  }
  atomic_init(&p->refs, 1);
  p->max_buffers = max_buffers;
  p->max_bytes = max_bytes;
  return p;
}

lsql_bufpool *lsql_bufpool_ref(lsql_bufpool *p) {
  if (p) atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  return p;
}

void lsql_bufpool_unref(lsql_bufpool *p) {
  if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1) return;
  for (size_t i = 0; i < p->n; i++) lsql_free(p->entries[i].buf);
  pthread_mutex_destroy(&p->mu);
  lsql_free(p->entries);
  lsql_free(p);
}

void *lsql_bufpool_get(lsql_bufpool *p, size_t min_size, size_t *cap) {
  if (p) {
    void *buf = NULL;
    pthread_mutex_lock(&p->mu);
    size_t best = p->n;
    for (size_t i = 0; i < p->n; i++)
      if (p->entries[i].cap >= min_size && (best == p->n || p->entries[i].cap < p->entries[best].cap))
        best = i;
    if (best < p->n) {
      buf = p->entries[best].buf;
      *cap = p->entries[best].cap;
      p->bytes -= *cap;
      p->entries[best] = p->entries[--p->n];
    }
    pthread_mutex_unlock(&p->mu);
    if (buf) return buf;
  }
  void *buf = lsql_malloc(min_size);
  *cap = buf ? min_size : 0;
  return buf;
}

void lsql_bufpool_put(lsql_bufpool *p, void *buf, size_t cap) {
  if (!buf) return;
  if (!p || cap > p->max_bytes) {
    lsql_free(buf);
    return;
  }
  void *drop = buf;
  pthread_mutex_lock(&p->mu);
  if (p->n < p->max_buffers && p->bytes + cap <= p->max_bytes) {
    p->entries[p->n++] = (pool_entry){buf, cap};
    p->bytes += cap;
    drop = NULL;
  } else if (p->n > 0) {
    /* Full: keep the bigger buffers, so a pool warmed on small batches adapts to growth. */
    size_t small = 0;
    for (size_t i = 1; i < p->n; i++)
      if (p->entries[i].cap < p->entries[small].cap) small = i;
    if (p->entries[small].cap < cap && p->bytes - p->entries[small].cap + cap <= p->max_bytes) {
      drop = p->entries[small].buf;
      p->bytes = p->bytes - p->entries[small].cap + cap;
      p->entries[small] = (pool_entry){buf, cap};
    }
  }
  pthread_mutex_unlock(&p->mu);
  lsql_free(drop);
}

size_t lsql_bufpool_bytes(lsql_bufpool *p) {
  if (!p) return 0;
  pthread_mutex_lock(&p->mu);
  size_t n = p->bytes;
  pthread_mutex_unlock(&p->mu);
  return n;
}

int lsql_buf_init_pooled(lsql_buf *b, lsql_bufpool *pool, size_t min_size) {
  size_t cap = 0;
  b->len = 0;
  b->data = lsql_bufpool_get(pool, min_size, &cap);
  b->cap = b->data ? cap : 0;
  return b->data ? LSQL_OK : LSQL_ENOMEM;
}
