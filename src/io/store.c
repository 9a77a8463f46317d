/* Store dispatch, path helpers and the local-disk back end (pread; the OS page cache makes
 * coalescing nearby ranges the main win, so ranges closer than LSQL_COALESCE_GAP are merged). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"
#include "store_impl.h"

#define LSQL_COALESCE_GAP (64 * 1024)

char *lsql_path_join(const char *base, const char *rel) {
  size_t bl = strlen(base);
  while (bl > 1 && base[bl - 1] == '/') bl--;
  while (*rel == '/') rel++;
  return lsql_sprintf("%.*s/%s", (int)bl, base, rel);
}

char *lsql_path_normalize(const char *loc) {
  if (strncmp(loc, "file://", 7) == 0) loc += 7;
  size_t n = strlen(loc);
  while (n > 1 && loc[n - 1] == '/') n--;
  return lsql_strndup(loc, n);
}

/* ---- request statistics ------------------------------------------------------------------- */

static _Atomic uint64_t g_requests, g_bytes;

void lsql_io_count_global(uint64_t requests, uint64_t bytes) {
  if (requests) atomic_fetch_add(&g_requests, requests);
  if (bytes) atomic_fetch_add(&g_bytes, bytes);
}

void lsql_io_stats_global(lsql_store_stats *out) {
  out->requests = atomic_load(&g_requests);
  out->bytes = atomic_load(&g_bytes);
  out->retries = 0;
}

void lsql_store_stats_get(const lsql_store *st, lsql_store_stats *out) {
  lsql_store *m = (lsql_store *)st; /* atomics are read-only here */
  out->requests = atomic_load(&m->stats.requests);
  out->bytes = atomic_load(&m->stats.bytes);
  out->retries = atomic_load(&m->stats.retries);
}

static void count(lsql_store *st, uint64_t bytes) {
  atomic_fetch_add(&st->stats.requests, 1);
  if (bytes) atomic_fetch_add(&st->stats.bytes, bytes);
  lsql_io_count_global(1, bytes);
}

static bool is_s3(const char *p) { return strncmp(p, "s3://", 5) == 0; }

int lsql_store_open(const char *root, const char *const *options, lsql_store **out, lsql_error *err) {
  *out = NULL;
  if (!root || !*root) return lsql_err(err, LSQL_EINVAL, "empty storage location");
  if (is_s3(root)) return lsql_s3_store_open(root, options, out, err);
  if (strstr(root, "://") && strncmp(root, "file://", 7) != 0)
    return lsql_err(err, LSQL_EUNSUPPORTED, "%s: unsupported storage scheme", root);
  lsql_store *st = lsql_calloc(1, sizeof *st);
  if (!st) return lsql_err_oom(err);
  st->refs = 1;
  st->kind = LSQL_STORE_LOCAL;
  *out = st;
  return LSQL_OK;
}

lsql_store *lsql_store_ref(lsql_store *st) {
  if (st) atomic_fetch_add(&st->refs, 1);
  return st;
}

void lsql_store_unref(lsql_store *st) {
  if (!st || atomic_fetch_sub(&st->refs, 1) != 1) return;
  /* LSQL_IO_STATS=1 reports each store's traffic when it closes (benchmarks, debugging). */
  const char *env = getenv("LSQL_IO_STATS");
  if (env && *env && strcmp(env, "0") != 0)
    fprintf(stderr, "lancesql io: %s store: %llu requests, %llu bytes, %llu retries\n",
            lsql_store_scheme(st), (unsigned long long)atomic_load(&st->stats.requests),
            (unsigned long long)atomic_load(&st->stats.bytes),
            (unsigned long long)atomic_load(&st->stats.retries));
  if (st->destroy) st->destroy(st);
  lsql_free(st);
}

const char *lsql_store_scheme(const lsql_store *st) {
  return st->kind == LSQL_STORE_S3 ? "s3" : "file";
}

bool lsql_rfile_cheap_reads(const lsql_rfile *f) { return f && f->store->kind != LSQL_STORE_S3; }

/* ---- local files -------------------------------------------------------------------------- */

static const char *local_path(const char *p) { return strncmp(p, "file://", 7) == 0 ? p + 7 : p; }

static int errno_status(int e) {
  if (e == ENOENT || e == ENOTDIR) return LSQL_ENOTFOUND;
  if (e == EACCES || e == EPERM) return LSQL_EPERM;
  if (e == ENOMEM) return LSQL_ENOMEM;
  return LSQL_EIO;
}

int lsql_rfile_open(lsql_store *st, const char *path, uint64_t size_hint, lsql_rfile **out,
                    lsql_error *err) {
  *out = NULL;
  if (st->kind == LSQL_STORE_S3) return lsql_s3_rfile_open(st, path, size_hint, out, err);
  lsql_rfile *f = lsql_calloc(1, sizeof *f);
  if (!f) return lsql_err_oom(err);
  f->path = lsql_strdup(path);
  if (!f->path) {
    lsql_free(f);
    return lsql_err_oom(err);
  }
  f->fd = open(local_path(path), O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) {
    int e = errno;
    lsql_free(f->path);
    lsql_free(f);
    return lsql_err(err, errno_status(e), "%s: %s", path, strerror(e));
  }
  struct stat sb;
  if (fstat(f->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    int e = errno;
    close(f->fd);
    lsql_free(f->path);
    lsql_free(f);
    return lsql_err(err, LSQL_EIO, "%s: %s", path, S_ISDIR(sb.st_mode) ? "is a directory" : strerror(e));
  }
  (void)size_hint; /* the local size is authoritative and free */
  count(st, 0);
  f->size = (uint64_t)sb.st_size;
  f->store = lsql_store_ref(st);
  *out = f;
  return LSQL_OK;
}

void lsql_rfile_close(lsql_rfile *f) {
  if (!f) return;
  if (f->store && f->store->kind == LSQL_STORE_S3) lsql_s3_rfile_close(f);
  if (f->fd > 0) close(f->fd);
  lsql_store_unref(f->store);
  lsql_free(f->path);
  lsql_free(f);
}

uint64_t lsql_rfile_size(const lsql_rfile *f) { return f->size; }
const char *lsql_rfile_path(const lsql_rfile *f) { return f->path; }

/* Large destinations are usually fresh mmapped memory that the read faults in page by page;
 * asking for transparent huge pages makes that 512 times fewer faults (a hint: may be ignored). */
#define HUGE_READ ((uint64_t)4 << 20)
static void advise_huge(void *dst, uint64_t len) {
#ifdef MADV_HUGEPAGE
  if (len < HUGE_READ) return;
  uintptr_t a = ((uintptr_t)dst + 4095) & ~(uintptr_t)4095, b = ((uintptr_t)dst + (uintptr_t)len) & ~(uintptr_t)4095;
  if (b > a) (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
  (void)dst;
  (void)len;
#endif
}

int lsql_rfile_read(lsql_rfile *f, uint64_t off, uint64_t len, void *dst, lsql_error *err) {
  if (lsql_range_bad(off, len, f->size))
    return lsql_err(err, LSQL_ECORRUPT, "%s: read of %llu bytes at %llu is past the end (%llu bytes)",
                    f->path, (unsigned long long)len, (unsigned long long)off,
                    (unsigned long long)f->size);
  if (f->store->kind == LSQL_STORE_S3) return lsql_s3_rfile_read(f, off, len, dst, err);
  count(f->store, len);
  advise_huge(dst, len);
  uint8_t *p = dst;
  while (len > 0) {
    ssize_t n = pread(f->fd, p, len > (1u << 30) ? (1u << 30) : (size_t)len, (off_t)off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return lsql_err(err, LSQL_EIO, "%s: read failed: %s", f->path, strerror(errno));
    }
    if (n == 0) return lsql_err(err, LSQL_ECORRUPT, "%s: unexpected end of file", f->path);
    p += n;
    off += (uint64_t)n;
    len -= (uint64_t)n;
  }
  return LSQL_OK;
}

static int cmp_range(const void *a, const void *b) {
  const lsql_range *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Reads the file span at off into iov[0..n) (which it fills exactly), retrying short reads. */
static int preadv_full(lsql_rfile *f, struct iovec *iov, int n, uint64_t off, lsql_error *err) {
  while (n > 0) {
    ssize_t got = preadv(f->fd, iov, n, (off_t)off);
    if (got < 0) {
      if (errno == EINTR) continue;
      return lsql_err(err, LSQL_EIO, "%s: read failed: %s", f->path, strerror(errno));
    }
    if (got == 0) return lsql_err(err, LSQL_ECORRUPT, "%s: unexpected end of file", f->path);
    off += (uint64_t)got;
    size_t left = (size_t)got;
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return LSQL_OK;
}

/* Reads a run of sorted, non-overlapping ranges r[0..n) with vectored reads straight into their
 * destinations; the bytes between ranges (less than the coalescing gap) land in `gap`. */
static int read_run_vectored(lsql_rfile *f, const lsql_range *r, size_t n, uint8_t *gap, lsql_error *err) {
  enum { MAX_IOV = 256 };
  struct iovec iov[MAX_IOV];
  for (size_t i = 0; i < n;) {
    int k = 0;
    uint64_t start = r[i].off, pos = start;
    for (; i < n && k + 2 <= MAX_IOV; i++) {
      if (r[i].off > pos) iov[k++] = (struct iovec){gap, (size_t)(r[i].off - pos)};
      if (r[i].len) iov[k++] = (struct iovec){r[i].dst, (size_t)r[i].len};
      advise_huge(r[i].dst, r[i].len);
      pos = r[i].off + r[i].len;
    }
    if (k) LSQL_TRY(preadv_full(f, iov, k, start, err));
  }
  return LSQL_OK;
}

int lsql_rfile_read_ranges(lsql_rfile *f, lsql_range *ranges, size_t n, lsql_error *err) {
  if (n == 0) return LSQL_OK;
  if (f->store->kind == LSQL_STORE_S3) return lsql_s3_rfile_read_ranges(f, ranges, n, err);
  /* Sort a copy by offset, then read runs of nearby ranges with one (vectored) read each. */
  lsql_range *r = lsql_malloc(n * sizeof *r);
  if (!r) return lsql_err_oom(err);
  memcpy(r, ranges, n * sizeof *r);
  qsort(r, n, sizeof *r, cmp_range);
  int rc = LSQL_OK;
  uint8_t *tmp = NULL, *gap = NULL;
  for (size_t i = 0; i < n && rc == LSQL_OK;) {
    size_t j = i + 1;
    uint64_t end = r[i].off + r[i].len;
    bool overlap = false;
    while (j < n && r[j].off <= end + LSQL_COALESCE_GAP) {
      overlap |= r[j].off < end;
      if (r[j].off + r[j].len > end) end = r[j].off + r[j].len;
      j++;
    }
    if (j == i + 1) {
      rc = lsql_rfile_read(f, r[i].off, r[i].len, r[i].dst, err);
    } else if (lsql_range_bad(r[i].off, end - r[i].off, f->size)) {
      rc = lsql_err(err, LSQL_ECORRUPT, "%s: read of %llu bytes at %llu is past the end (%llu bytes)", f->path,
                    (unsigned long long)(end - r[i].off), (unsigned long long)r[i].off, (unsigned long long)f->size);
    } else if (!overlap) {
      /* no intermediate buffer: each range is read in place (one request for the run) */
      if (!gap && !(gap = lsql_malloc(LSQL_COALESCE_GAP))) { rc = lsql_err_oom(err); break; }
      count(f->store, end - r[i].off);
      rc = read_run_vectored(f, r + i, j - i, gap, err);
    } else {
      uint64_t span = end - r[i].off;
      uint8_t *t = lsql_realloc(tmp, span ? span : 1);
      if (!t) { rc = lsql_err_oom(err); break; }
      tmp = t;
      rc = lsql_rfile_read(f, r[i].off, span, tmp, err);
      for (size_t k = i; k < j && rc == LSQL_OK; k++)
        if (r[k].len) memcpy(r[k].dst, tmp + (r[k].off - r[i].off), r[k].len);
    }
    i = j;
  }
  lsql_free(tmp);
  lsql_free(gap);
  lsql_free(r);
  return rc;
}

int lsql_store_read_all(lsql_store *st, const char *path, uint8_t **data, size_t *len,
                        lsql_error *err) {
  *data = NULL;
  *len = 0;
  if (st->kind == LSQL_STORE_S3) return lsql_s3_read_all(st, path, data, len, err);
  lsql_rfile *f;
  LSQL_TRY(lsql_rfile_open(st, path, 0, &f, err));
  uint64_t size = lsql_rfile_size(f);
  uint8_t *d = lsql_malloc(size ? size : 1);
  if (!d) {
    lsql_rfile_close(f);
    return lsql_err_oom(err);
  }
  int rc = lsql_rfile_read(f, 0, size, d, err);
  lsql_rfile_close(f);
  if (rc != LSQL_OK) {
    lsql_free(d);
    return rc;
  }
  *data = d;
  *len = (size_t)size;
  return LSQL_OK;
}

int lsql_store_exists(lsql_store *st, const char *path, int *exists, lsql_error *err) {
  if (st->kind == LSQL_STORE_S3) return lsql_s3_exists(st, path, exists, err);
  count(st, 0);
  struct stat sb;
  if (stat(local_path(path), &sb) == 0) {
    *exists = 1;
    return LSQL_OK;
  }
  *exists = 0;
  if (errno == ENOENT || errno == ENOTDIR) return LSQL_OK;
  return lsql_err(err, errno_status(errno), "%s: %s", path, strerror(errno));
}

static int cmp_dirent(const void *a, const void *b) {
  return strcmp(((const lsql_dirent *)a)->name, ((const lsql_dirent *)b)->name);
}

void lsql_dirents_free(lsql_dirent *ents, size_t n) {
  if (!ents) return;
  for (size_t i = 0; i < n; i++) lsql_free(ents[i].name);
  lsql_free(ents);
}

int lsql_store_list(lsql_store *st, const char *dir, lsql_dirent **out, size_t *n_out,
                    lsql_error *err) {
  *out = NULL;
  *n_out = 0;
  if (st->kind == LSQL_STORE_S3) return lsql_s3_list(st, dir, out, n_out, err);
  count(st, 0);
  DIR *d = opendir(local_path(dir));
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return LSQL_OK;
    return lsql_err(err, errno_status(errno), "%s: %s", dir, strerror(errno));
  }
  int dfd = dirfd(d);
  lsql_dirent *ents = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  int rc = LSQL_OK;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 32;
      lsql_dirent *ne = lsql_realloc(ents, nc * sizeof *ne);
      if (!ne) { rc = lsql_err_oom(err); break; }
      ents = ne;
      cap = nc;
    }
    struct stat sb;
    if (fstatat(dfd, e->d_name, &sb, 0) != 0) continue; /* vanished or dangling: skip */
    ents[n].name = lsql_strdup(e->d_name);
    if (!ents[n].name) { rc = lsql_err_oom(err); break; }
    ents[n].is_dir = S_ISDIR(sb.st_mode);
    ents[n].size = ents[n].is_dir ? 0 : (uint64_t)sb.st_size;
    n++;
  }
  closedir(d);
  if (rc != LSQL_OK) {
    lsql_dirents_free(ents, n);
    return rc;
  }
  if (n) qsort(ents, n, sizeof *ents, cmp_dirent);
  *out = ents;
  *n_out = n;
  return LSQL_OK;
}
