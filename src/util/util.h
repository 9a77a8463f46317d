/* Internal utilities shared by every layer: errors, allocation, growable buffers, endian loads,
 * overflow-checked arithmetic. Nothing here depends on another lancesql layer. */
#ifndef LSQL_UTIL_H
#define LSQL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lancesql.h"

#define LSQL_LIKELY(x) __builtin_expect(!!(x), 1)
#define LSQL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LSQL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LSQL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LSQL_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Propagates a non-zero status. */
#define LSQL_TRY(expr)          \
  do {                          \
    int lsql_try_rc_ = (expr);  \
    if (lsql_try_rc_ != LSQL_OK) return lsql_try_rc_; \
  } while (0)

/* ---- errors ------------------------------------------------------------------------------- */

/* Sets err (if non-NULL) to `code` and a printf-style message; returns `code`. Never allocates. */
int lsql_err(lsql_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int lsql_verr(lsql_error *err, int code, const char *fmt, va_list ap);
/* Prepends printf-style context to an existing message ("fragment 3: " + "page 7: ...").
 * Returns err->code (or LSQL_OK when err is NULL... callers pass the code through themselves). */
int lsql_error_prefix(lsql_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Shorthand for the most common failures. */
#define lsql_err_oom(err) lsql_err((err), LSQL_ENOMEM, "out of memory")
#define lsql_err_corrupt(err, ...) lsql_err((err), LSQL_ECORRUPT, __VA_ARGS__)

/* ---- allocation (through the process-wide lsql_allocator) ------------------------------- */

void *lsql_malloc(size_t n);             /* NULL on failure or n == 0 -> returns a valid 1-byte block */
void *lsql_calloc(size_t count, size_t size); /* overflow-checked */
void *lsql_realloc(void *p, size_t n);
/* lsql_free is public (lancesql.h). */
char *lsql_strdup(const char *s);        /* NULL when s is NULL or on failure */
char *lsql_strndup(const char *s, size_t n);
char *lsql_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* caller frees */

/* Test hook: after `n` more successful allocations, every allocation fails (n < 0: never).
 * Used by the failing-allocator tests; lives here so every entry point sees it. */
void lsql_alloc_fail_after(int64_t n);

/* ---- overflow-checked arithmetic ----------------------------------------------------------- */

static inline bool lsql_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out) {
  return __builtin_add_overflow(a, b, out);
}
static inline bool lsql_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out) {
  return __builtin_mul_overflow(a, b, out);
}
/* True when [off, off+len) does not fit inside a buffer of `size` bytes. */
static inline bool lsql_range_bad(uint64_t off, uint64_t len, uint64_t size) {
  return off > size || len > size - off;
}

/* ---- little-endian loads (memcpy compiles to a single load) --------------------------------- */

static inline uint16_t lsql_load_le16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t lsql_load_le32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t lsql_load_le64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void lsql_store_le32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void lsql_store_le64(void *p, uint64_t v) { memcpy(p, &v, 8); }

/* ---- growable byte buffer ----------------------------------------------------------------- */

typedef struct lsql_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} lsql_buf;

#define LSQL_BUF_INIT {NULL, 0, 0}
/* Ensures room for `extra` more bytes. */
int lsql_buf_reserve(lsql_buf *b, size_t extra);
int lsql_buf_append(lsql_buf *b, const void *src, size_t n);
int lsql_buf_append_str(lsql_buf *b, const char *s);
int lsql_buf_appendf(lsql_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Resizes to exactly n bytes (new bytes zeroed). */
int lsql_buf_resize(lsql_buf *b, size_t n);
void lsql_buf_free(lsql_buf *b);
/* Hands the bytes over to the caller (NUL-terminated for convenience) and resets b. */
char *lsql_buf_detach(lsql_buf *b);

/* ---- small string helpers ------------------------------------------------------------------ */

/* Looks up `key` in a NULL-terminated key/value list; NULL if absent. */
const char *lsql_kv_get(const char *const *kv, const char *key);
/* Deep-copies a NULL-terminated key/value (or plain) string vector. NULL input -> empty vector. */
char **lsql_strv_dup(const char *const *v);
size_t lsql_strv_len(const char *const *v);
/* lsql_strv_free is public. */

/* Number of online CPUs (>= 1). */
int lsql_num_cpus(void);
/* Monotonic clock in nanoseconds. */
uint64_t lsql_now_ns(void);

#endif
