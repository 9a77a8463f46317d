/* Helpers to build Arrow C data interface arrays and schemas whose memory lancesql owns.
 * Buffers handed to an array must come from lsql_malloc (or a lsql_bufpool); the array's release
 * frees them (or gives them back to their pool), its children, its dictionary, and any
 * keep-alive objects. */
#ifndef LSQL_UTIL_ARROW_H
#define LSQL_UTIL_ARROW_H

#include "bufpool.h"
#include "util.h"

/* Initialises *out as an empty array (length 0) with n_buffers NULL buffers and n_children child
 * slots, each pointing at a zeroed struct ArrowArray the caller fills in (children[i]->release
 * NULL means "not filled": release skips it). */
int lsql_arrow_array_init(struct ArrowArray *out, int64_t n_buffers, int64_t n_children);
/* Transfers ownership of `buf` (from lsql_malloc, may be NULL) into buffer slot i; frees any
 * previous owned buffer in that slot. */
void lsql_arrow_array_set_buffer(struct ArrowArray *a, int64_t i, void *buf);
/* Like set_buffer for a buffer of capacity `cap` taken from `pool` (lsql_bufpool_get or a
 * pooled lsql_buf): release gives it back with lsql_bufpool_put. The array holds a pool
 * reference until then. pool NULL behaves as set_buffer. */
void lsql_arrow_array_set_pooled_buffer(struct ArrowArray *a, int64_t i, void *buf, size_t cap,
                                        lsql_bufpool *pool);
/* Points buffer slot i at memory owned by someone else (kept alive with a keep-alive object). */
void lsql_arrow_array_set_foreign_buffer(struct ArrowArray *a, int64_t i, const void *buf);
/* Allocates an owned dictionary array slot (zeroed) and returns it, or NULL on OOM. */
struct ArrowArray *lsql_arrow_array_alloc_dictionary(struct ArrowArray *a);
/* Runs destroy(obj) when the array is released (zero-copy slices of shared buffers). */
int lsql_arrow_array_add_keepalive(struct ArrowArray *a, void *obj, void (*destroy)(void *));
/* Moves src into dst (dst must be released/empty); src is left released. */
void lsql_arrow_array_move(struct ArrowArray *src, struct ArrowArray *dst);
/* Releases if set; leaves a->release NULL. */
void lsql_arrow_array_reset(struct ArrowArray *a);

/* Initialises a schema node with copies of format and name (name may be NULL). */
int lsql_arrow_schema_init(struct ArrowSchema *out, const char *format, const char *name,
                           int64_t flags, int64_t n_children);
/* Sets metadata from parallel arrays of keys and values (values may contain NUL bytes, hence the
 * explicit lengths; vlen NULL means strlen). Replaces existing metadata. */
int lsql_arrow_schema_set_metadata(struct ArrowSchema *s, size_t n, const char *const *keys,
                                   const char *const *values, const size_t *vlen);
/* Allocates the dictionary schema slot (zeroed) and returns it, or NULL on OOM. */
struct ArrowSchema *lsql_arrow_schema_alloc_dictionary(struct ArrowSchema *s);
int lsql_arrow_schema_copy(const struct ArrowSchema *src, struct ArrowSchema *dst);
void lsql_arrow_schema_move(struct ArrowSchema *src, struct ArrowSchema *dst);
void lsql_arrow_schema_reset(struct ArrowSchema *s);

/* ---- validity bitmaps (LSB first, 1 = valid) ---------------------------------------------- */
static inline bool lsql_bit_get(const uint8_t *bits, uint64_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
static inline void lsql_bit_set(uint8_t *bits, uint64_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static inline void lsql_bit_clear(uint8_t *bits, uint64_t i) { bits[i >> 3] &= (uint8_t)~(1u << (i & 7)); }
static inline void lsql_bit_put(uint8_t *bits, uint64_t i, bool v) {
  if (v) lsql_bit_set(bits, i); else lsql_bit_clear(bits, i);
}
static inline size_t lsql_bitmap_bytes(uint64_t n) { return (size_t)((n + 7) / 8); }
/* Number of zero bits in [offset, offset + n). */
int64_t lsql_bitmap_count_zeros(const uint8_t *bits, uint64_t offset, uint64_t n);
/* Copies n bits from src at src_off to dst at dst_off. */
void lsql_bitmap_copy(uint8_t *dst, uint64_t dst_off, const uint8_t *src, uint64_t src_off, uint64_t n);

#endif
