/* A small, bounded, thread-safe cache of heap buffers for recycling Arrow output buffers.
 * One pool per (scan, column): the reader takes buffers from it, the Arrow arrays it produces
 * give them back on release (holding a pool reference), so batches may outlive the reader.
 * Big buffers (> glibc's mmap threshold) would otherwise be mmapped, faulted in and unmapped
 * for every batch. */
#ifndef LSQL_UTIL_BUFPOOL_H
#define LSQL_UTIL_BUFPOOL_H

#include "util.h"

typedef struct lsql_bufpool lsql_bufpool;

/* Default bounds for one column's pool. */
#define LSQL_BUFPOOL_MAX_BUFFERS 8
#define LSQL_BUFPOOL_MAX_BYTES ((size_t)64 << 20)

/* New pool caching at most max_buffers buffers and max_bytes bytes (refcount 1); NULL on OOM. */
lsql_bufpool *lsql_bufpool_new(size_t max_buffers, size_t max_bytes);
/* Adds a reference; returns p (NULL-safe). */
lsql_bufpool *lsql_bufpool_ref(lsql_bufpool *p);
/* Drops a reference; the last one frees the cached buffers and the pool (NULL-safe). */
void lsql_bufpool_unref(lsql_bufpool *p);
/* Returns the smallest cached buffer with capacity >= min_size (its capacity in *cap), or a new
 * lsql_malloc(min_size) block (*cap = min_size); NULL on OOM. p may be NULL (plain malloc). */
void *lsql_bufpool_get(lsql_bufpool *p, size_t min_size, size_t *cap);
/* Gives buf (capacity cap, from lsql_malloc/lsql_realloc) back: cached, or freed when the pool
 * is full (a full pool swaps out its smallest buffer for a bigger one). p NULL => lsql_free. */
void lsql_bufpool_put(lsql_bufpool *p, void *buf, size_t cap);
/* Total capacity of the cached buffers (NULL => 0). */
size_t lsql_bufpool_bytes(lsql_bufpool *p);

/* Starts an empty lsql_buf (len 0) on a buffer from the pool with room for min_size bytes. The
 * buffer stays an ordinary lsql_malloc block: it may grow with lsql_buf_* and be freed with
 * lsql_buf_free, or handed back with lsql_bufpool_put(pool, b->data, b->cap). */
int lsql_buf_init_pooled(lsql_buf *b, lsql_bufpool *pool, size_t min_size);

#endif
