/* Allocation through one swappable process-wide allocator (the SQLite model): simple for callers,
 * and it lets the tests inject failures at every call site. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void *libc_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n); }
static void libc_free(void *ctx, void *p) { (void)ctx; free(p); }

static lsql_allocator g_alloc = {libc_realloc, libc_free, NULL};
static _Atomic int64_t g_fail_after = -1;

void lsql_set_allocator(const lsql_allocator *a) {
  if (a && a->realloc && a->free) g_alloc = *a;
  else g_alloc = (lsql_allocator){libc_realloc, libc_free, NULL};
}

void lsql_alloc_fail_after(int64_t n) { atomic_store(&g_fail_after, n); }

static bool should_fail(void) {
  int64_t left = atomic_load_explicit(&g_fail_after, memory_order_relaxed);
  if (LSQL_LIKELY(left < 0)) return false;
  while (left > 0) {
    if (atomic_compare_exchange_weak(&g_fail_after, &left, left - 1)) return false;
    if (left < 0) return false;
  }
  return true;
}

void *lsql_realloc(void *p, size_t n) {
  if (should_fail()) return NULL;
  return g_alloc.realloc(g_alloc.ctx, p, n ? n : 1);
}

void *lsql_malloc(size_t n) { return lsql_realloc(NULL, n); }

void *lsql_calloc(size_t count, size_t size) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) return NULL;
  void *p = lsql_malloc(n);
  if (p) memset(p, 0, n ? n : 1);
  return p;
}

void lsql_free(void *p) {
  if (p) g_alloc.free(g_alloc.ctx, p);
}

char *lsql_strndup(const char *s, size_t n) {
  if (!s) return NULL;
  size_t len = strnlen(s, n);
  char *d = lsql_malloc(len + 1);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

char *lsql_strdup(const char *s) { return s ? lsql_strndup(s, strlen(s)) : NULL; }

char *lsql_sprintf(const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = NULL;
  if (n >= 0 && (s = lsql_malloc((size_t)n + 1)) != NULL) vsnprintf(s, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return s;
}

const char *lsql_kv_get(const char *const *kv, const char *key) {
  if (!kv) return NULL;
  for (size_t i = 0; kv[i] && kv[i + 1]; i += 2)
    if (strcmp(kv[i], key) == 0) return kv[i + 1];
  return NULL;
}

size_t lsql_strv_len(const char *const *v) {
  size_t n = 0;
  while (v && v[n]) n++;
  return n;
}

char **lsql_strv_dup(const char *const *v) {
  size_t n = lsql_strv_len(v);
  char **out = lsql_calloc(n + 1, sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (!(out[i] = lsql_strdup(v[i]))) {
      lsql_strv_free(out);
      return NULL;
    }
  }
  return out;
}

void lsql_strv_free(char **v) {
  if (!v) return;
  for (size_t i = 0; v[i]; i++) lsql_free(v[i]);
  lsql_free(v);
}

int lsql_num_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (int)n;
}

uint64_t lsql_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
