/* Growable byte buffer: reserve once, then append without per-byte checks. */
#include <stdio.h>

#include "util.h"

int lsql_buf_reserve(lsql_buf *b, size_t extra) {
  size_t need;
  if (__builtin_add_overflow(b->len, extra, &need)) return LSQL_ENOMEM;
  if (need <= b->cap) return LSQL_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) { cap = need; break; }
    cap *= 2;
  }
  uint8_t *p = lsql_realloc(b->data, cap);
  if (!p) return LSQL_ENOMEM;
  b->data = p;
  b->cap = cap;
  return LSQL_OK;
}

int lsql_buf_append(lsql_buf *b, const void *src, size_t n) {
  if (n == 0) return LSQL_OK;
  LSQL_TRY(lsql_buf_reserve(b, n));
  memcpy(b->data + b->len, src, n);
  b->len += n;
  return LSQL_OK;
}

int lsql_buf_append_str(lsql_buf *b, const char *s) { return lsql_buf_append(b, s, strlen(s)); }

int lsql_buf_appendf(lsql_buf *b, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  int rc = LSQL_OK;
  if (n < 0) rc = LSQL_EINVAL;
  else if ((rc = lsql_buf_reserve(b, (size_t)n + 1)) == LSQL_OK) {
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
  }
  va_end(ap2);
  return rc;
}

int lsql_buf_resize(lsql_buf *b, size_t n) {
  if (n > b->len) {
    LSQL_TRY(lsql_buf_reserve(b, n - b->len));
    memset(b->data + b->len, 0, n - b->len);
  }
  b->len = n;
  return LSQL_OK;
}

void lsql_buf_free(lsql_buf *b) {
  lsql_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *lsql_buf_detach(lsql_buf *b) {
  if (lsql_buf_reserve(b, 1) != LSQL_OK) return NULL;
  b->data[b->len] = '\0';
  char *s = (char *)b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}
