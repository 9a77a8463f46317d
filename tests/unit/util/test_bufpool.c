#include <pthread.h>

#include "harness.h"
#include "util/arrow.h"
#include "util/bufpool.h"

LSQL_TEST(bufpool_get_put_reuses) {
  lsql_bufpool *p = lsql_bufpool_new(4, 1 << 20);
  CHECK(p != NULL);
  size_t cap = 0;
  void *a = lsql_bufpool_get(p, 100, &cap);
  CHECK(a != NULL);
  CHECK_EQ_INT(cap, 100);
  memset(a, 1, cap);
  lsql_bufpool_put(p, a, cap);
  size_t cap2 = 0;
  void *b = lsql_bufpool_get(p, 50, &cap2);
  CHECK(b == a);
  CHECK_EQ_INT(cap2, 100);
  /* Too big for anything cached: fresh block. */
  size_t cap3 = 0;
  void *c = lsql_bufpool_get(p, 200, &cap3);
  CHECK(c != NULL && c != a);
  CHECK_EQ_INT(cap3, 200);
  lsql_bufpool_put(p, b, cap2);
  lsql_bufpool_put(p, c, cap3);
  lsql_bufpool_unref(p);
}

LSQL_TEST(bufpool_best_fit) {
  lsql_bufpool *p = lsql_bufpool_new(8, 1 << 20);
  size_t caps[] = {400, 100, 300, 200}, cap;
  void *bufs[4];
  for (int i = 0; i < 4; i++) bufs[i] = lsql_bufpool_get(p, caps[i], &cap);
  for (int i = 0; i < 4; i++) lsql_bufpool_put(p, bufs[i], caps[i]);
  CHECK(lsql_bufpool_get(p, 150, &cap) == bufs[3]);
  CHECK_EQ_INT(cap, 200);
  lsql_bufpool_put(p, bufs[3], 200);
  CHECK(lsql_bufpool_get(p, 301, &cap) == bufs[0]);
  CHECK_EQ_INT(cap, 400);
  lsql_bufpool_put(p, bufs[0], 400);
  CHECK(lsql_bufpool_get(p, 0, &cap) == bufs[1]);
  lsql_bufpool_put(p, bufs[1], 100);
  lsql_bufpool_unref(p);
}

LSQL_TEST(bufpool_bounds) {
  /* At most 2 buffers / 1000 bytes; a full pool keeps its biggest buffers. */
  lsql_bufpool *p = lsql_bufpool_new(2, 1000);
  size_t cap;
  void *a = lsql_bufpool_get(p, 100, &cap), *b = lsql_bufpool_get(p, 200, &cap);
  void *c = lsql_bufpool_get(p, 300, &cap), *d = lsql_bufpool_get(p, 2000, &cap);
  lsql_bufpool_put(p, a, 100);
  lsql_bufpool_put(p, b, 200);
  lsql_bufpool_put(p, c, 300); /* replaces a */
  lsql_bufpool_put(p, d, 2000); /* over max_bytes: freed */
  CHECK(lsql_bufpool_get(p, 0, &cap) == b);
  CHECK(lsql_bufpool_get(p, 0, &cap) == c);
  void *e = lsql_bufpool_get(p, 10, &cap);
  CHECK(e != a && e != b && e != c);
  CHECK_EQ_INT(cap, 10);
  lsql_bufpool_put(p, b, 200);
  lsql_bufpool_put(p, c, 300);
  lsql_bufpool_put(p, e, 10); /* full, smaller than both cached: freed */
  lsql_bufpool_unref(p);
  /* A zero-sized pool caches nothing; NULL pool is plain malloc/free. */
  p = lsql_bufpool_new(0, 0);
  CHECK(p != NULL);
  a = lsql_bufpool_get(p, 10, &cap);
  lsql_bufpool_put(p, a, cap);
  lsql_bufpool_unref(p);
  a = lsql_bufpool_get(NULL, 10, &cap);
  CHECK(a != NULL && cap == 10);
  lsql_bufpool_put(NULL, a, cap);
  lsql_bufpool_unref(NULL);
  CHECK(lsql_bufpool_ref(NULL) == NULL);
}

LSQL_TEST(bufpool_arrays_hold_refs) {
  lsql_bufpool *p = lsql_bufpool_new(4, 1 << 20);
  lsql_buf b;
  CHECK(lsql_buf_init_pooled(&b, p, 64) == LSQL_OK);
  CHECK(b.len == 0 && b.cap >= 64);
  for (int i = 0; i < 100; i++) CHECK(lsql_buf_append(&b, &i, sizeof i) == LSQL_OK); /* grows */
  struct ArrowArray a;
  CHECK(lsql_arrow_array_init(&a, 2, 0) == LSQL_OK);
  lsql_arrow_array_set_pooled_buffer(&a, 1, b.data, b.cap, p);
  a.length = 100;
  lsql_bufpool_unref(p); /* the array keeps the pool alive */
  CHECK(((const int *)a.buffers[1])[99] == 99);
  a.release(&a); /* gives the buffer back, then frees the pool */
  CHECK(a.release == NULL);
  /* Pooled buffer in a slot that is then replaced goes back to the pool; NULL pool frees. */
  p = lsql_bufpool_new(4, 1 << 20);
  CHECK(lsql_arrow_array_init(&a, 3, 0) == LSQL_OK);
  size_t c1;
  void *x = lsql_bufpool_get(p, 1000, &c1);
  lsql_arrow_array_set_pooled_buffer(&a, 1, x, c1, p);
  lsql_arrow_array_set_buffer(&a, 1, lsql_malloc(8)); /* x back in the pool */
  lsql_arrow_array_set_pooled_buffer(&a, 2, lsql_malloc(16), 16, NULL);
  size_t c2;
  CHECK(lsql_bufpool_get(p, 500, &c2) == x);
  CHECK_EQ_INT(c2, 1000);
  lsql_arrow_array_set_pooled_buffer(&a, 0, x, c2, p);
  a.release(&a);
  CHECK(lsql_bufpool_get(p, 1, &c2) == x);
  lsql_bufpool_put(p, x, c2);
  lsql_bufpool_unref(p);
}

typedef struct pool_worker {
  lsql_bufpool *pool;
  int ok;
} pool_worker;

static void *pool_thread(void *arg) {
  pool_worker *w = arg;
  w->ok = 1;
  for (int i = 0; i < 2000; i++) {
    size_t want = (size_t)(16 + (i * 37) % 4096), cap;
    struct ArrowArray a;
    if (lsql_arrow_array_init(&a, 1, 0) != LSQL_OK) { w->ok = 0; break; }
    uint8_t *buf = lsql_bufpool_get(w->pool, want, &cap);
    if (!buf || cap < want) { w->ok = 0; break; }
    memset(buf, (int)i, want);
    lsql_arrow_array_set_pooled_buffer(&a, 0, buf, cap, w->pool);
    a.release(&a);
  }
  lsql_bufpool_unref(w->pool);
  return NULL;
}

LSQL_TEST(bufpool_threads_smoke) {
  lsql_bufpool *p = lsql_bufpool_new(LSQL_BUFPOOL_MAX_BUFFERS, LSQL_BUFPOOL_MAX_BYTES);
  pthread_t th[4];
  pool_worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i].pool = lsql_bufpool_ref(p);
    pthread_create(&th[i], NULL, pool_thread, &w[i]);
  }
  lsql_bufpool_unref(p); /* the workers hold the last references */
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK(w[i].ok);
  }
}
