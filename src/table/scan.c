/* Dataset scans: an ArrowArrayStream of struct batches, decoded by the callers of get_next and
 * by n_threads - 1 worker threads (none at n_threads = 1: the caller decodes, no hand-offs).
 *
 * Plan: the output is a sequence of batches, fragment by fragment (manifest order), each batch
 * covering `batch_size` physical rows of one fragment (fewer at the fragment's end, and fewer
 * live rows after deletions). Work is split by fragment and by column: one cursor per
 * (fragment, projected data column) owns an lsql_field_reader and decodes that column's chunks in
 * row order (so each page is decoded once). Before its cursors run, a fragment is "prepared"
 * (deletion bitmap, row ids, data files opened) by one thread.
 *
 * Bounded memory: batches live in a ring of slots; threads only decode chunks of batches within
 * a window [head, head + W) where head is the oldest batch not yet returned and W is derived from
 * readahead_bytes and the measured batch size. No thread blocks holding work, so the head batch
 * can always make progress (no deadlock however few threads there are).
 *
 * Hand-offs: a get_next caller with no complete batch runs one unit of work itself and sleeps
 * only when none is available. Sleepers are counted and woken one per thing they could take (a
 * complete batch, a unit of work), never per chunk for everyone. get_next may be called
 * concurrently (the SQL bridge's threads): a batch is marked taken under the lock and assembled
 * outside it; ordered mode hands batches out in order. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "table/table.h"
#include "util/arrow.h"

enum { VIRT_NONE = 0, VIRT_ROWID = 1, VIRT_ROWADDR = 2 };
#define RING_CAP 64

typedef struct proj_col {
  const lsql_field *field; /* NULL for a virtual column */
  int virt;
  int data_idx;            /* index among data columns, -1 for virtual */
} proj_col;

typedef struct frag_state {
  const Lance__Table__DataFragment *pb;
  uint64_t n_rows, first_batch, n_batches;
  int prep;                /* 0 = not started, 1 = running, 2 = done */
  uint8_t *deleted;        /* n_rows bits, NULL = nothing deleted */
  uint64_t *rowids;        /* NULL = row id is the row address */
  lsql_file **files;       /* per data file, NULL when not needed */
  int32_t **maps;          /* per data file: column index by field id */
  int *file_of_col;        /* per data column: data file index, -1 = null-fill */
  int cursors_left;
} frag_state;

typedef struct cursor {
  uint32_t frag, col;
  uint64_t next_chunk;
  lsql_field_reader *reader;
  bool busy, done;
} cursor;

typedef struct slot {
  uint64_t batch;
  struct ArrowArray *cols; /* one per data column */
  int filled;
  bool taken;    /* a consumer is assembling it (outside the lock) */
  bool consumed;
} slot;

typedef struct scan {
  lsql_dataset *ds;
  proj_col *cols;
  size_t n_cols, n_data;
  int32_t *top_of_id;      /* field id -> data column whose subtree holds it, or -1 */
  frag_state *frags;
  size_t n_frags;
  cursor *cursors;         /* fragment-major, column-minor */
  size_t n_cursors, first_live_cursor;
  uint64_t total_batches, batch_size;
  bool ordered, want_rowids;
  bool dict_batches;       /* LSQL_TABLE_SCAN_DICT_BATCHES */
  int64_t readahead;
  /* guarded by mu */
  pthread_mutex_t mu;
  pthread_cond_t cond_work, cond_ready;
  slot ring[RING_CAP];
  uint64_t head, window;
  double est_batch_bytes;
  size_t preps_left, cursors_left, next_prep;
  bool stop;
  int err_code;
  lsql_error err;
  int idle_workers, idle_consumers; /* sleeping on cond_work / cond_ready */
  uint64_t **scratch;    /* free row-offset buffers of get_next callers */
  size_t n_scratch, cap_scratch;
  pthread_t *threads;
  int n_threads;
  bool sync_init;
  lsql_reader_spares **spares; /* per data column, guarded by mu: buffers of the last freed reader */
} scan;

/* ---- helpers ------------------------------------------------------------------------------ */

static void set_error(scan *s, int code, const lsql_error *e, const char *frag_ctx) {
  /* caller holds mu */
  if (s->err_code) return;
  s->err_code = code;
  if (e) s->err = *e;
  s->err.code = code;
  lsql_error_prefix(&s->err, "%s: version %" PRIu64 ": %s", s->ds->uri, s->ds->version,
                    frag_ctx ? frag_ctx : "");
  pthread_cond_broadcast(&s->cond_work);
  pthread_cond_broadcast(&s->cond_ready);
}

/* Physical rows [start, end) of chunk c, and the live ones among them. Returns the number of live
 * rows; *is_range says they are exactly [start, end) (rows[] unused then). */
static uint64_t chunk_rows(const scan *s, const frag_state *f, uint64_t c, uint64_t *start,
                           uint64_t *rows, bool *is_range) {
  uint64_t a = c * s->batch_size, e = LSQL_MIN(a + s->batch_size, f->n_rows), k = 0;
  *start = a;
  if (!f->deleted) {
    *is_range = true;
    return e - a;
  }
  for (uint64_t r = a; r < e; r++)
    if (!lsql_bit_get(f->deleted, r)) rows[k++] = r;
  *is_range = k == e - a;
  return k;
}

static size_t approx_bytes(const struct ArrowArray *a) {
  if (!a || !a->release) return 0;
  size_t n = (size_t)a->length * 8 + 64;
  for (int64_t i = 0; i < a->n_children; i++) n += approx_bytes(a->children[i]);
  if (a->dictionary) n += approx_bytes(a->dictionary);
  return n;
}

static void frag_release(scan *s, frag_state *f) {
  if (f->files)
    for (size_t j = 0; j < f->pb->n_files; j++) lsql_table_file_give(s->ds, f->files[j]);
  if (f->maps)
    for (size_t j = 0; j < f->pb->n_files; j++) lsql_free(f->maps[j]);
  lsql_free(f->files);
  lsql_free(f->maps);
  lsql_free(f->file_of_col);
  lsql_free(f->deleted);
  lsql_free(f->rowids);
  f->files = NULL;
  f->maps = NULL;
  f->file_of_col = NULL;
  f->deleted = NULL;
  f->rowids = NULL;
}

/* ---- fragment preparation ------------------------------------------------------------------ */

static int prep_fragment(scan *s, frag_state *f, lsql_error *err) {
  lsql_dataset *ds = s->ds;
  const Lance__Table__DataFragment *pb = f->pb;
  uint64_t n_del = 0;
  LSQL_TRY(lsql_table_fragment_deletions(ds, pb, f->n_rows, &f->deleted, &n_del, err));
  if (s->want_rowids) LSQL_TRY(lsql_table_fragment_rowids(ds, pb, f->n_rows, &f->rowids, err));
  size_t nf = pb->n_files;
  f->files = lsql_calloc(nf ? nf : 1, sizeof *f->files);
  f->maps = lsql_calloc(nf ? nf : 1, sizeof *f->maps);
  f->file_of_col = lsql_calloc(s->n_data ? s->n_data : 1, sizeof *f->file_of_col);
  if (!f->files || !f->maps || !f->file_of_col) return lsql_err_oom(err);
  for (size_t i = 0; i < s->n_data; i++) f->file_of_col[i] = -1;
  size_t n_ids = (size_t)ds->max_field_id + 1;
  for (size_t j = 0; j < nf; j++) {
    const Lance__Table__DataFile *df = pb->files[j];
    bool needed = false;
    for (size_t k = 0; k < df->n_fields; k++) {
      int32_t id = df->fields[k];
      /* -2 = tombstone; ids missing from the schema belong to dropped/retyped columns. */
      if (id < 0 || id > ds->max_field_id || s->top_of_id[id] < 0) continue;
      int col = s->top_of_id[id];
      if (f->file_of_col[col] < 0) f->file_of_col[col] = (int)j;
      if (f->file_of_col[col] == (int)j) needed = true;
    }
    if (!needed) continue;
    if (df->n_column_indices != df->n_fields)
      return lsql_err(err, LSQL_EUNSUPPORTED, "data/%s: legacy (0.1) data files are not supported",
                      df->path);
    int32_t *map = lsql_malloc(n_ids * sizeof *map);
    if (!map) return lsql_err_oom(err);
    f->maps[j] = map;
    for (size_t i = 0; i < n_ids; i++) map[i] = -1;
    for (size_t k = 0; k < df->n_fields; k++) {
      int32_t id = df->fields[k];
      if (id >= 0 && id <= ds->max_field_id) map[id] = df->column_indices[k];
    }
    char *path = NULL;
    LSQL_TRY(lsql_table_data_file_path(ds, df, &path, err));
    /* a file an earlier scan of this handle opened: footer and column metadata already parsed */
    f->files[j] = lsql_table_file_take(ds, path);
    int rc = f->files[j] ? LSQL_OK
                         : lsql_file_open(ds->store, path, df->has_file_size_bytes ? df->file_size_bytes : 0,
                                          &f->files[j], err);
    lsql_free(path);
    if (rc) return rc;
    if (lsql_file_num_rows(f->files[j]) != f->n_rows)
      return lsql_err_corrupt(err, "data/%s: %" PRIu64 " rows, the fragment has %" PRIu64, df->path,
                              lsql_file_num_rows(f->files[j]), f->n_rows);
  }
  return LSQL_OK;
}

/* ---- one chunk of one column ---------------------------------------------------------------- */

/* Key of data column col's buffers in the dataset's spares cache: its field id. */
static int32_t data_field_id(const scan *s, size_t col) {
  for (size_t i = 0; i < s->n_cols; i++)
    if (s->cols[i].data_idx == (int)col) return s->cols[i].field->id;
  return -1;
}

static int run_cursor(scan *s, cursor *c, struct ArrowArray *out, uint64_t *rows, lsql_reader_spares **sp,
                      lsql_error *err) {
  frag_state *f = &s->frags[c->frag];
  const lsql_field *field = s->cols[0].field; /* replaced below */
  for (size_t i = 0; i < s->n_cols; i++)
    if (s->cols[i].data_idx == (int)c->col) field = s->cols[i].field;
  uint64_t start;
  bool is_range;
  uint64_t n = chunk_rows(s, f, c->next_chunk, &start, rows, &is_range);
  out->release = NULL;
  if (n == 0) return LSQL_OK; /* every row of the chunk is deleted: the batch is skipped */
  int fi = f->file_of_col[c->col];
  if (fi < 0) return lsql_table_null_array(field, (int64_t)n, out, err);
  if (!c->reader) {
    lsql_column_map map = {f->maps[fi], (size_t)s->ds->max_field_id + 1};
    LSQL_TRY(lsql_field_reader_new(f->files[fi], field, &map, &c->reader, err));
    lsql_field_reader_set_dict_batches(c->reader, s->dict_batches);
    lsql_field_reader_adopt(c->reader, sp); /* buffers of this column's previous fragment */
  }
  lsql_row_selection sel = {start, n, is_range ? NULL : rows};
  LSQL_TRY(lsql_field_reader_read(c->reader, &sel, out, err));
  if (out->length != (int64_t)n) {
    lsql_arrow_array_reset(out);
    return lsql_err_corrupt(err, "column %s: reader returned %" PRId64 " rows, expected %" PRIu64,
                            field->name, out->length, n);
  }
  return LSQL_OK;
}

/* ---- scheduling ---------------------------------------------------------------------------- */

static uint64_t cursor_batch(const scan *s, const cursor *c) {
  return s->frags[c->frag].first_batch + c->next_chunk;
}

/* Index of the (non-empty) fragment holding batch b. */
static size_t frag_of_batch(const scan *s, uint64_t b) {
  size_t lo = 0, hi = s->n_frags;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (s->frags[mid].first_batch <= b) lo = mid;
    else hi = mid;
  }
  while (lo < s->n_frags && s->frags[lo].n_batches == 0) lo++;
  return lo;
}

/* A batch is complete when all its data columns arrived and its fragment is prepared (caller
 * holds mu). */
static bool slot_complete(const scan *s, const slot *sl, uint64_t b) {
  if (sl->filled != (int)s->n_data) return false;
  if (s->n_data) return true; /* a column chunk exists only once the fragment was prepared */
  return s->frags[frag_of_batch(s, b)].prep == 2;
}

/* Counts (up to `limit`) complete batches a consumer may take now, the first in *first: in
 * ordered mode only the oldest batches not yet taken, in order. Caller holds mu. */
static int count_ready(const scan *s, int limit, uint64_t *first) {
  int n = 0;
  uint64_t wend = LSQL_MIN(s->head + s->window, s->total_batches);
  for (uint64_t b = s->head; b < wend && n < limit; b++) {
    const slot *sl = &s->ring[b % RING_CAP];
    if (sl->taken) continue;
    if (slot_complete(s, sl, b)) {
      if (n++ == 0) *first = b;
    } else if (s->ordered) {
      break;
    }
  }
  return n;
}

/* One unit of work: prepare a fragment, or decode the next chunk of one cursor. */
typedef struct unit {
  frag_state *prep;
  cursor *cur;
} unit;

/* Counts (up to `limit`) units that may run now within the window [head, head + window); the
 * first goes to *u. Caller holds mu. */
static int find_units(scan *s, int limit, unit *u) {
  int n = 0;
  uint64_t wend = s->head + s->window;
  while (s->next_prep < s->n_frags && s->frags[s->next_prep].n_batches == 0 &&
         s->frags[s->next_prep].prep == 0) {
    s->frags[s->next_prep].prep = 2; /* empty fragment: nothing to read */
    s->preps_left--;
    s->next_prep++;
  }
  /* 1. the next fragment whose batches are (nearly) in the window */
  if (s->next_prep < s->n_frags && s->frags[s->next_prep].first_batch < wend) {
    *u = (unit){&s->frags[s->next_prep], NULL};
    if (++n >= limit) return n;
  }
  /* 2. cursors whose next chunk is inside the window */
  while (s->first_live_cursor < s->n_cursors && s->cursors[s->first_live_cursor].done)
    s->first_live_cursor++;
  for (size_t i = s->first_live_cursor; i < s->n_cursors; i++) {
    cursor *c = &s->cursors[i];
    if (s->frags[c->frag].first_batch >= wend) break;
    if (c->done || c->busy || s->frags[c->frag].prep != 2 || cursor_batch(s, c) >= wend) continue;
    if (n == 0) *u = (unit){NULL, c};
    if (++n >= limit) return n;
  }
  return n;
}

/* Wakes one sleeping thread per thing it could take: `keep_work` units and `keep_ready` batches
 * are left out because the caller goes on to take them itself (no herd of wake-ups per chunk).
 * Idle workers get work first; consumers get complete batches, or work when no worker sleeps.
 * Caller holds mu. */
static void kick(scan *s, int keep_work, int keep_ready) {
  if (s->idle_workers == 0 && s->idle_consumers == 0) return;
  int woken_consumers = 0;
  if (s->idle_consumers > 0) {
    uint64_t b;
    int r = count_ready(s, keep_ready + s->idle_consumers, &b) - keep_ready;
    for (; r > 0 && woken_consumers < s->idle_consumers; r--, woken_consumers++)
      pthread_cond_signal(&s->cond_ready);
  }
  unit u;
  int w = find_units(s, keep_work + 1, &u) - keep_work;
  if (w <= 0) return;
  if (s->idle_workers > 0) pthread_cond_signal(&s->cond_work);
  else if (s->idle_consumers > woken_consumers) pthread_cond_signal(&s->cond_ready);
}

/* Row-offset scratch buffers (batch_size entries) for callers of get_next that decode or
 * assemble; kept for reuse. Caller holds mu. */
static uint64_t *scratch_get(scan *s) {
  if (s->n_scratch) return s->scratch[--s->n_scratch];
  return lsql_malloc((size_t)s->batch_size * sizeof(uint64_t));
}

static void scratch_put(scan *s, uint64_t *p) {
  if (!p) return;
  if (s->n_scratch == s->cap_scratch) {
    size_t nc = s->cap_scratch ? 2 * s->cap_scratch : 4;
    uint64_t **a = lsql_realloc(s->scratch, nc * sizeof *a);
    if (!a) {
      lsql_free(p);
      return;
    }
    s->scratch = a;
    s->cap_scratch = nc;
  }
  s->scratch[s->n_scratch++] = p;
}

/* Runs unit u (found by find_units) outside the lock; `consumer` says the caller goes on to look
 * for a complete batch itself. Called and returns with mu held. */
static void run_unit(scan *s, unit u, uint64_t *rows, bool consumer) {
  if (u.prep) {
    frag_state *pf = u.prep;
    s->next_prep++;
    pf->prep = 1;
    kick(s, 0, 0); /* another fragment or cursor may be waiting for a sleeper */
    pthread_mutex_unlock(&s->mu);
    lsql_error e = {0};
    int rc = prep_fragment(s, pf, &e);
    pthread_mutex_lock(&s->mu);
    if (rc) {
      char ctx[64];
      snprintf(ctx, sizeof ctx, "fragment %" PRIu64 ": ", pf->pb->id);
      set_error(s, rc, &e, ctx);
      return;
    }
    pf->prep = 2;
    s->preps_left--;
    kick(s, 1, consumer ? 1 : 0); /* its cursors are new work */
    return;
  }
  cursor *pick = u.cur;
  pick->busy = true;
  kick(s, 0, 0); /* chain: one new unit (say a prepared fragment's cursors) woke one sleeper */
  lsql_reader_spares *sp = NULL;
  if (!pick->reader && s->spares) {
    sp = s->spares[pick->col];
    s->spares[pick->col] = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  int32_t fid = data_field_id(s, pick->col);
  /* no buffers from this column's previous fragment: those of an earlier scan of the dataset */
  if (!pick->reader && !sp) sp = lsql_table_spares_take(s->ds, fid);
  struct ArrowArray arr = {0};
  lsql_error e = {0};
  int rc = run_cursor(s, pick, &arr, rows, &sp, &e);
  frag_state *f = &s->frags[pick->frag];
  bool last = pick->next_chunk + 1 >= f->n_batches;
  if (last || rc) {
    lsql_field_reader_free_keep(pick->reader, &sp);
    pick->reader = NULL;
  }
  if (last && pick->frag == s->cursors[s->n_cursors - 1].frag) {
    lsql_table_spares_give(s->ds, fid, sp); /* the column is done: the next scan may take them */
    sp = NULL;
  }
  pthread_mutex_lock(&s->mu);
  if (sp && s->spares && !s->spares[pick->col]) {
    s->spares[pick->col] = sp;
    sp = NULL;
  }
  lsql_table_spares_give(s->ds, fid, sp);
  if (rc) {
    char ctx[64];
    snprintf(ctx, sizeof ctx, "fragment %" PRIu64 ": ", f->pb->id);
    set_error(s, rc, &e, ctx);
    if (arr.release) arr.release(&arr);
    return;
  }
  slot *sl = &s->ring[cursor_batch(s, pick) % RING_CAP];
  lsql_arrow_array_move(&arr, &sl->cols[pick->col]);
  sl->filled++;
  pick->next_chunk++;
  pick->busy = false;
  if (last) {
    pick->done = true;
    s->cursors_left--;
    if (--f->cursors_left == 0) {
      /* All columns of the fragment are decoded: close its files now (bounded open files). */
      lsql_file **files = f->files;
      f->files = NULL;
      pthread_mutex_unlock(&s->mu);
      if (files)
        for (size_t j = 0; j < f->pb->n_files; j++) lsql_table_file_give(s->ds, files[j]);
      lsql_free(files);
      pthread_mutex_lock(&s->mu);
    }
    if (s->cursors_left == 0 && s->preps_left == 0 && s->idle_workers)
      pthread_cond_broadcast(&s->cond_work); /* nothing left: idle workers exit */
  }
  kick(s, 1, consumer ? 1 : 0);
}

static void *worker(void *arg) {
  scan *s = arg;
  uint64_t *rows = lsql_malloc((size_t)s->batch_size * sizeof *rows);
  pthread_mutex_lock(&s->mu);
  if (!rows) {
    lsql_error e = {LSQL_ENOMEM, "out of memory"};
    set_error(s, LSQL_ENOMEM, &e, NULL);
  }
  while (!s->stop && !s->err_code) {
    unit u;
    if (find_units(s, 1, &u)) {
      run_unit(s, u, rows, false);
      continue;
    }
    if (s->cursors_left == 0 && s->preps_left == 0) break;
    s->idle_workers++;
    pthread_cond_wait(&s->cond_work, &s->mu);
    s->idle_workers--;
  }
  pthread_mutex_unlock(&s->mu);
  lsql_free(rows);
  return NULL;
}

/* ---- stream callbacks --------------------------------------------------------------------- */

static int export_schema(scan *s, struct ArrowSchema *out, lsql_error *err) {
  int rc = lsql_arrow_schema_init(out, "+s", "", 0, (int64_t)s->n_cols);
  if (rc) return lsql_err_oom(err);
  for (size_t i = 0; i < s->n_cols && !rc; i++) {
    if (s->cols[i].field) {
      rc = lsql_field_to_arrow(s->cols[i].field, out->children[i], err);
    } else {
      rc = lsql_arrow_schema_init(out->children[i], "L",
                                  s->cols[i].virt == VIRT_ROWID ? "_rowid" : "_rowaddr",
                                  ARROW_FLAG_NULLABLE, 0);
      if (rc) lsql_err_oom(err);
    }
  }
  if (rc == LSQL_OK && s->ds->schema.n_metadata)
    rc = lsql_arrow_schema_set_metadata(out, s->ds->schema.n_metadata,
                                        (const char *const *)s->ds->schema.meta_keys,
                                        (const char *const *)s->ds->schema.meta_values,
                                        s->ds->schema.meta_value_lens);
  if (rc) lsql_arrow_schema_reset(out);
  return rc;
}

static int stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  scan *s = st->private_data;
  lsql_error e = {0};
  int rc = export_schema(s, out, &e);
  if (rc) {
    pthread_mutex_lock(&s->mu);
    set_error(s, rc, &e, NULL);
    pthread_mutex_unlock(&s->mu);
    return rc == LSQL_ENOMEM ? ENOMEM : EIO;
  }
  return 0;
}

static int virtual_column(const scan *s, const frag_state *f, int virt, uint64_t start, uint64_t n,
                          const uint64_t *rows, bool is_range, struct ArrowArray *out) {
  if (lsql_arrow_array_init(out, 2, 0)) return LSQL_ENOMEM;
  uint64_t *v = lsql_malloc((size_t)(n ? n : 1) * sizeof *v);
  if (!v) {
    lsql_arrow_array_reset(out);
    return LSQL_ENOMEM;
  }
  uint64_t frag_bits = f->pb->id << 32;
  bool use_ids = virt == VIRT_ROWID && f->rowids;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t off = is_range ? start + i : rows[i];
    v[i] = use_ids ? f->rowids[off] : (frag_bits | off);
  }
  lsql_arrow_array_set_buffer(out, 1, v);
  out->length = (int64_t)n;
  return LSQL_OK;
}

/* Builds the output batch b from its complete slot (outside the lock: the slot is taken).
 * `rows` is scratch for the live row offsets. */
static int assemble(scan *s, slot *sl, uint64_t b, uint64_t *rows, struct ArrowArray *out,
                    int64_t *n_out) {
  frag_state *f = &s->frags[frag_of_batch(s, b)];
  uint64_t start;
  bool is_range;
  uint64_t n = chunk_rows(s, f, b - f->first_batch, &start, rows, &is_range);
  *n_out = (int64_t)n;
  if (n == 0) return LSQL_OK;
  if (lsql_arrow_array_init(out, 1, (int64_t)s->n_cols)) return LSQL_ENOMEM;
  out->length = (int64_t)n;
  for (size_t i = 0; i < s->n_cols; i++) {
    if (s->cols[i].virt) {
      if (virtual_column(s, f, s->cols[i].virt, start, n, rows, is_range, out->children[i])) {
        lsql_arrow_array_reset(out);
        return LSQL_ENOMEM;
      }
    } else {
      lsql_arrow_array_move(&sl->cols[s->cols[i].data_idx], out->children[i]);
    }
  }
  return LSQL_OK;
}

/* Moves head past consumed batches, recycling their slots (caller holds mu and then wakes
 * sleepers: the window moved). */
static void advance_head(scan *s) {
  while (s->head < s->total_batches && s->ring[s->head % RING_CAP].consumed) {
    slot *sl = &s->ring[s->head % RING_CAP];
    sl->consumed = false;
    sl->taken = false;
    sl->filled = 0;
    sl->batch = s->head + RING_CAP;
    s->head++;
  }
  if (s->head >= s->total_batches) pthread_cond_broadcast(&s->cond_ready); /* end of stream */
}

/* Safe for concurrent callers (the SQL bridge's threads): a caller takes a complete batch under
 * the lock and assembles it outside; with no complete batch it decodes one unit of work itself
 * (the same pick as a worker), and sleeps only when there is nothing to do. */
static int stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  scan *s = st->private_data;
  out->release = NULL;
  pthread_mutex_lock(&s->mu);
  uint64_t *rows = NULL;
  int ret = 0;
  for (;;) {
    if (s->err_code) {
      ret = s->err_code == LSQL_ENOMEM ? ENOMEM : EIO;
      break;
    }
    if (s->head >= s->total_batches) break; /* end of stream: out->release == NULL */
    if (!rows && !(rows = scratch_get(s))) {
      lsql_error e = {LSQL_ENOMEM, "out of memory"};
      set_error(s, LSQL_ENOMEM, &e, NULL);
      continue;
    }
    uint64_t b;
    if (count_ready(s, 1, &b) == 0) {
      unit u;
      if (find_units(s, 1, &u)) {
        run_unit(s, u, rows, true);
      } else {
        s->idle_consumers++;
        pthread_cond_wait(&s->cond_ready, &s->mu);
        s->idle_consumers--;
      }
      continue;
    }
    slot *sl = &s->ring[b % RING_CAP];
    sl->taken = true;
    kick(s, 0, 0); /* more batches or work for sleepers */
    pthread_mutex_unlock(&s->mu);
    int64_t n = 0;
    int rc = assemble(s, sl, b, rows, out, &n);
    size_t bytes = approx_bytes(out);
    for (size_t i = 0; i < s->n_data; i++) lsql_arrow_array_reset(&sl->cols[i]);
    pthread_mutex_lock(&s->mu);
    sl->consumed = true;
    advance_head(s);
    if (rc) {
      lsql_error e = {rc, "out of memory"};
      set_error(s, rc, &e, NULL);
      continue;
    }
    if (n > 0) {
      /* Re-derive the window from the measured batch size (readahead_bytes bound). */
      s->est_batch_bytes = s->est_batch_bytes * 0.75 + (double)bytes * 0.25;
      double w = (double)s->readahead / (s->est_batch_bytes > 1 ? s->est_batch_bytes : 1);
      s->window = (uint64_t)LSQL_MAX(1.0, LSQL_MIN((double)RING_CAP, w));
      kick(s, 0, 0); /* the window moved */
      break;
    }
    kick(s, 1, 1); /* every row of the batch was deleted: the window moved, we look on */
  }
  scratch_put(s, rows);
  pthread_mutex_unlock(&s->mu);
  return ret;
}

static const char *stream_get_last_error(struct ArrowArrayStream *st) {
  scan *s = st->private_data;
  return s && s->err_code ? s->err.message : NULL;
}

static void scan_free(scan *s) {
  if (!s) return;
  if (s->threads) {
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cond_work);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_threads; i++) pthread_join(s->threads[i], NULL);
    lsql_free(s->threads);
  }
  for (size_t i = 0; i < RING_CAP; i++) {
    if (!s->ring[i].cols) continue;
    for (size_t j = 0; j < s->n_data; j++) lsql_arrow_array_reset(&s->ring[i].cols[j]);
    lsql_free(s->ring[i].cols);
  }
  /* Buffers of readers still open (the consumer stopped early) and of finished ones go to the
   * dataset's cache for its next scan. */
  for (size_t i = 0; i < s->n_cursors; i++) {
    cursor *c = &s->cursors[i];
    if (c->reader && s->spares && !s->spares[c->col]) lsql_field_reader_free_keep(c->reader, &s->spares[c->col]);
    else lsql_field_reader_free(c->reader);
  }
  for (size_t i = 0; s->spares && i < s->n_data; i++) lsql_table_spares_give(s->ds, data_field_id(s, i), s->spares[i]);
  lsql_free(s->spares);
  for (size_t i = 0; i < s->n_frags; i++) frag_release(s, &s->frags[i]);
  if (s->sync_init) {
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond_work);
    pthread_cond_destroy(&s->cond_ready);
  }
  lsql_free(s->cursors);
  lsql_free(s->frags);
  lsql_free(s->cols);
  lsql_free(s->top_of_id);
  for (size_t i = 0; i < s->n_scratch; i++) lsql_free(s->scratch[i]);
  lsql_free(s->scratch);
  lsql_table_unref(s->ds);
  lsql_free(s);
}

static void stream_release(struct ArrowArrayStream *st) {
  if (!st || !st->release) return;
  scan_free(st->private_data);
  st->release = NULL;
  st->private_data = NULL;
}

/* ---- planning ----------------------------------------------------------------------------- */

static void mark_subtree(scan *s, const lsql_field *f, int col) {
  if (f->id >= 0 && f->id <= s->ds->max_field_id) s->top_of_id[f->id] = col;
  for (size_t i = 0; i < f->n_children; i++) mark_subtree(s, &f->children[i], col);
}

static int plan(scan *s, const lsql_scan_options *opts, lsql_error *err) {
  lsql_dataset *ds = s->ds;
  const lsql_schema *sc = &ds->schema;
  size_t n = 0;
  if (opts && opts->columns) {
    while (opts->columns[n]) n++;
  } else {
    n = sc->n_fields;
  }
  s->cols = lsql_calloc(n ? n : 1, sizeof *s->cols);
  s->top_of_id = lsql_malloc(((size_t)ds->max_field_id + 2) * sizeof *s->top_of_id);
  if (!s->cols || !s->top_of_id) return lsql_err_oom(err);
  for (int32_t i = 0; i <= ds->max_field_id; i++) s->top_of_id[i] = -1;
  s->n_cols = n;
  for (size_t i = 0; i < n; i++) {
    proj_col *c = &s->cols[i];
    c->data_idx = -1;
    if (opts && opts->columns) {
      const char *name = opts->columns[i];
      if (strcmp(name, "_rowid") == 0) c->virt = VIRT_ROWID;
      else if (strcmp(name, "_rowaddr") == 0) c->virt = VIRT_ROWADDR;
      else if (!(c->field = lsql_schema_find(sc, name)))
        return lsql_err(err, LSQL_EINVAL, "no column named \"%s\"", name);
    } else {
      c->field = &sc->fields[i];
    }
    if (c->field) {
      c->data_idx = (int)s->n_data++;
      mark_subtree(s, c->field, c->data_idx);
    }
    if (c->virt == VIRT_ROWID && (ds->manifest->reader_feature_flags & LSQL_TABLE_FLAG_STABLE_ROW_IDS))
      s->want_rowids = true;
  }
  const Lance__Table__Manifest *m = ds->manifest;
  /* n_frags only once frags exists: scan_free walks frags[0..n_frags) on this error path. */
  s->frags = lsql_calloc(m->n_fragments ? m->n_fragments : 1, sizeof *s->frags);
  if (!s->frags) return lsql_err_oom(err);
  s->n_frags = m->n_fragments;
  uint64_t b = 0;
  for (size_t i = 0; i < s->n_frags; i++) {
    frag_state *f = &s->frags[i];
    f->pb = m->fragments[i];
    int rc = lsql_table_fragment_rows(ds, f->pb, &f->n_rows, err);
    if (rc) return lsql_error_prefix(err, "fragment %" PRIu64 ": ", f->pb->id);
    f->first_batch = b;
    f->n_batches = (f->n_rows + s->batch_size - 1) / s->batch_size;
    f->cursors_left = f->n_batches ? (int)s->n_data : 0;
    b += f->n_batches;
  }
  s->total_batches = b;
  s->preps_left = s->n_frags;
  size_t nc = 0;
  for (size_t i = 0; i < s->n_frags; i++)
    if (s->frags[i].n_batches) nc += s->n_data;
  s->cursors = lsql_calloc(nc ? nc : 1, sizeof *s->cursors);
  s->spares = lsql_calloc(s->n_data ? s->n_data : 1, sizeof *s->spares);
  if (!s->cursors || !s->spares) return lsql_err_oom(err);
  for (size_t i = 0; i < s->n_frags; i++) {
    if (!s->frags[i].n_batches) continue;
    for (size_t c = 0; c < s->n_data; c++)
      s->cursors[s->n_cursors++] = (cursor){.frag = (uint32_t)i, .col = (uint32_t)c};
  }
  s->cursors_left = s->n_cursors;
  for (size_t i = 0; i < RING_CAP; i++) {
    s->ring[i].batch = i;
    if (!(s->ring[i].cols = lsql_calloc(s->n_data ? s->n_data : 1, sizeof(struct ArrowArray))))
      return lsql_err_oom(err);
  }
  return LSQL_OK;
}

int lsql_dataset_scan(lsql_dataset *ds, const lsql_scan_options *opts, struct ArrowArrayStream *out,
                      lsql_error *err) {
  return lsql_table_scan(ds, opts, 0, out, err);
}

int lsql_table_scan(lsql_dataset *ds, const lsql_scan_options *opts, unsigned flags, struct ArrowArrayStream *out,
                    lsql_error *err) {
  if (!ds || !out) return lsql_err(err, LSQL_EINVAL, "NULL argument");
  memset(out, 0, sizeof *out);
  scan *s = lsql_calloc(1, sizeof *s);
  if (!s) return lsql_err_oom(err);
  s->ds = lsql_table_ref(ds);
  s->dict_batches = (flags & LSQL_TABLE_SCAN_DICT_BATCHES) != 0;
  s->batch_size = opts && opts->batch_size > 0 ? (uint64_t)opts->batch_size : 8192;
  if (s->batch_size > ((uint64_t)1 << 30)) s->batch_size = (uint64_t)1 << 30;
  s->ordered = opts ? opts->ordered != 0 : true;
  /* Ordered output costs nothing here (the window advances in order anyway), so it is always on
   * unless explicitly disabled... which only lets later complete batches overtake. */
  s->readahead = opts && opts->readahead_bytes > 0 ? opts->readahead_bytes : (int64_t)256 << 20;
  int rc = plan(s, opts, err);
  uint64_t *rows0 = rc == LSQL_OK ? lsql_malloc((size_t)s->batch_size * sizeof(uint64_t)) : NULL;
  if (rc == LSQL_OK && !rows0) rc = lsql_err_oom(err);
  if (rc == LSQL_OK) {
    scratch_put(s, rows0); /* the consumer's first scratch (no lock needed yet) */
    if (!s->n_scratch) rc = lsql_err_oom(err);
  }
  if (rc) {
    lsql_error_prefix(err, "%s: version %" PRIu64 ": ", ds->uri, ds->version);
    scan_free(s);
    return rc;
  }
  s->est_batch_bytes = (double)s->batch_size * (double)(s->n_data * 8 + 8);
  double w = (double)s->readahead / s->est_batch_bytes;
  s->window = (uint64_t)LSQL_MAX(1.0, LSQL_MIN((double)RING_CAP, w));
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cond_work, NULL);
  pthread_cond_init(&s->cond_ready, NULL);
  s->sync_init = true;
  /* n_threads decoding threads = the caller of get_next plus n_threads - 1 workers. */
  int nt = opts && opts->n_threads > 0 ? opts->n_threads : lsql_num_cpus();
  nt = LSQL_MIN(nt, 64) - 1;
  if (s->total_batches == 0) nt = 0;
  if (nt > 0) {
    s->threads = lsql_calloc((size_t)nt, sizeof *s->threads);
    if (!s->threads) {
      scan_free(s);
      return lsql_err_oom(err);
    }
    for (int i = 0; i < nt; i++) {
      if (pthread_create(&s->threads[i], NULL, worker, s) != 0) break;
      s->n_threads++;
    }
    /* fewer workers than asked (thread limits) still work: get_next decodes too */
  }
  out->get_schema = stream_get_schema;
  out->get_next = stream_get_next;
  out->get_last_error = stream_get_last_error;
  out->release = stream_release;
  out->private_data = s;
  return LSQL_OK;
}
