/* Arrow IPC stream output (--format arrow): a schema message, one record batch message per Arrow
 * batch, then the end-of-stream marker. The flatbuffer metadata is built front to back: every
 * table is written before the objects it points at, so each uoffset points forward as the
 * format requires. Dictionary-encoded, view and union columns are not supported. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- a tiny forward flatbuffer builder ------------------------------------------------------- */

typedef struct fb {
  uint8_t *d;
  size_t len, cap;
} fb;

static void fb_reserve(fb *b, size_t n) {
  if (b->len + n <= b->cap) return;
  size_t cap = b->cap ? b->cap * 2 : 1024;
  while (cap < b->len + n) cap *= 2;
  b->d = cli_xrealloc(b->d, cap);
  memset(b->d + b->cap, 0, cap - b->cap);
  b->cap = cap;
}
static size_t fb_pad(fb *b, size_t align) {
  size_t n = (align - b->len % align) % align;
  if (!n) return b->len;
  fb_reserve(b, n);
  memset(b->d + b->len, 0, n);
  b->len += n;
  return b->len;
}
static size_t fb_put(fb *b, const void *p, size_t n) {
  fb_reserve(b, n);
  size_t at = b->len;
  memcpy(b->d + at, p, n);
  b->len += n;
  return at;
}
static void fb_patch(fb *b, size_t field_pos, size_t target) {
  uint32_t off = (uint32_t)(target - field_pos);
  memcpy(b->d + field_pos, &off, 4);
}

/* Field kinds for a table: scalar of size 1/2/4/8, or a 4-byte offset patched later. */
typedef struct fbf {
  int present;
  int size;
  int64_t value;
  size_t pos; /* out: where it was written */
} fbf;

/* Writes a vtable and its table; returns the table position. Field positions land in f[i].pos. */
static size_t fb_table(fb *b, fbf *f, int n) {
  /* vtable: u16 vt_size, u16 tbl_size, u16 offs[n] */
  fb_pad(b, 2);
  size_t vt = b->len;
  uint16_t vsz = (uint16_t)(4 + 2 * n);
  fb_reserve(b, vsz);
  b->len += vsz;
  fb_pad(b, 8);
  size_t tbl = b->len;
  int32_t soff = (int32_t)(tbl - vt);
  fb_put(b, &soff, 4);
  for (int size = 8; size >= 1; size /= 2)
    for (int i = 0; i < n; i++) {
      if (!f[i].present || f[i].size != size) continue;
      fb_pad(b, (size_t)size);
      f[i].pos = fb_put(b, &f[i].value, (size_t)size); /* little-endian host */
    }
  uint16_t tsz = (uint16_t)(b->len - tbl);
  memcpy(b->d + vt, &vsz, 2);
  memcpy(b->d + vt + 2, &tsz, 2);
  for (int i = 0; i < n; i++) {
    uint16_t o = f[i].present ? (uint16_t)(f[i].pos - tbl) : 0;
    memcpy(b->d + vt + 4 + 2 * i, &o, 2);
  }
  return tbl;
}

static size_t fb_string(fb *b, const char *s) {
  fb_pad(b, 4);
  uint32_t n = (uint32_t)strlen(s);
  size_t at = fb_put(b, &n, 4);
  fb_put(b, s, n + 1);
  return at;
}

/* A vector of n 4-byte offsets; returns the vector position; slot i is at pos + 4 + 4 * i. */
static size_t fb_offset_vector(fb *b, uint32_t n) {
  fb_pad(b, 4);
  size_t at = fb_put(b, &n, 4);
  fb_reserve(b, 4 * (size_t)n);
  memset(b->d + b->len, 0, 4 * (size_t)n);
  b->len += 4 * (size_t)n;
  return at;
}

/* A vector of n 16-byte structs (two int64 each), 8-aligned elements. */
static size_t fb_struct16_vector(fb *b, const int64_t *pairs, uint32_t n) {
  while ((b->len + 4) % 8) {
    uint8_t z = 0;
    fb_put(b, &z, 1);
  }
  size_t at = fb_put(b, &n, 4);
  fb_put(b, pairs, 16 * (size_t)n);
  return at;
}

static void fb_set(fbf *f, int i, int size, int64_t v) {
  f[i].present = 1;
  f[i].size = size;
  f[i].value = v;
}

/* ---- schema ------------------------------------------------------------------------------- */

enum { T_NULL = 1, T_INT, T_FLOAT, T_BINARY, T_UTF8, T_BOOL, T_DECIMAL, T_DATE, T_TIME, T_TIMESTAMP,
       T_INTERVAL, T_LIST, T_STRUCT, T_UNION, T_FSB, T_FSL, T_MAP, T_DURATION, T_LBINARY, T_LUTF8,
       T_LLIST };

static int time_unit(char c) { return c == 's' ? 0 : c == 'm' ? 1 : c == 'u' ? 2 : 3; }

/* Writes the Type table for format f; returns its position, or 0 when unsupported. */
static size_t write_type(fb *b, const char *f, int *type_id) {
  fbf t[3];
  memset(t, 0, sizeof t);
  int n = 0;
  if (f[1] == 0 && strchr("cCsSiIlL", f[0])) {
    int w = strchr("cC", f[0]) ? 8 : strchr("sS", f[0]) ? 16 : strchr("iI", f[0]) ? 32 : 64;
    fb_set(t, 0, 4, w);
    fb_set(t, 1, 1, f[0] >= 'a');
    *type_id = T_INT;
    n = 2;
  } else if (f[1] == 0 && strchr("efg", f[0])) {
    fb_set(t, 0, 2, f[0] == 'e' ? 0 : f[0] == 'f' ? 1 : 2);
    *type_id = T_FLOAT;
    n = 1;
  } else if (f[1] == 0) {
    switch (f[0]) {
      case 'n': *type_id = T_NULL; break;
      case 'b': *type_id = T_BOOL; break;
      case 'z': *type_id = T_BINARY; break;
      case 'u': *type_id = T_UTF8; break;
      case 'Z': *type_id = T_LBINARY; break;
      case 'U': *type_id = T_LUTF8; break;
      default: return 0;
    }
  } else if (f[0] == 'd' && f[1] == ':') {
    int p = 0, s = 0, bw = 128;
    sscanf(f + 2, "%d,%d,%d", &p, &s, &bw);
    fb_set(t, 0, 4, p);
    fb_set(t, 1, 4, s);
    fb_set(t, 2, 4, bw);
    *type_id = T_DECIMAL;
    n = 3;
  } else if (f[0] == 'w' && f[1] == ':') {
    fb_set(t, 0, 4, atoi(f + 2));
    *type_id = T_FSB;
    n = 1;
  } else if (f[0] == 't' && f[1] == 'd') {
    fb_set(t, 0, 2, f[2] == 'D' ? 0 : 1);
    *type_id = T_DATE;
    n = 1;
  } else if (f[0] == 't' && f[1] == 't') {
    fb_set(t, 0, 2, time_unit(f[2]));
    fb_set(t, 1, 4, (f[2] == 's' || f[2] == 'm') ? 32 : 64);
    *type_id = T_TIME;
    n = 2;
  } else if (f[0] == 't' && f[1] == 's') {
    fb_set(t, 0, 2, time_unit(f[2]));
    *type_id = T_TIMESTAMP;
    n = 1;
    if (f[3] == ':' && f[4]) fb_set(t, 1, 4, 0), n = 2;
  } else if (f[0] == 't' && f[1] == 'D') {
    fb_set(t, 0, 2, time_unit(f[2]));
    *type_id = T_DURATION;
    n = 1;
  } else if (f[0] == 't' && f[1] == 'i') {
    fb_set(t, 0, 2, f[2] == 'M' ? 0 : f[2] == 'D' ? 1 : 2);
    *type_id = T_INTERVAL;
    n = 1;
  } else if (f[0] == '+') {
    switch (f[1]) {
      case 'l': *type_id = T_LIST; break;
      case 'L': *type_id = T_LLIST; break;
      case 's': *type_id = T_STRUCT; break;
      case 'm': fb_set(t, 0, 1, 0); n = 1; *type_id = T_MAP; break;
      case 'w':
        fb_set(t, 0, 4, atoi(f + 3));
        n = 1;
        *type_id = T_FSL;
        break;
      default: return 0;
    }
  } else {
    return 0;
  }
  size_t pos = fb_table(b, t, n);
  if (*type_id == T_TIMESTAMP && n == 2) fb_patch(b, t[1].pos, fb_string(b, f + 4));
  return pos;
}

/* Field: name 0, nullable 1, type_type 2, type 3, dictionary 4, children 5. */
static int write_field(fb *b, const struct ArrowSchema *s, size_t *out, lsql_error *err) {
  if (s->dictionary)
    return cli_err_set(err, LSQL_EUNSUPPORTED, "arrow output: dictionary columns are not supported");
  fbf f[6];
  memset(f, 0, sizeof f);
  f[0].present = 1, f[0].size = 4;
  fb_set(f, 1, 1, (s->flags & ARROW_FLAG_NULLABLE) != 0);
  f[2].present = 1, f[2].size = 1;
  f[3].present = 1, f[3].size = 4;
  f[5].present = 1, f[5].size = 4;
  /* type id must be known before the table is written: probe it with a scratch buffer. */
  fb scratch = {0};
  int type_id = 0;
  size_t ok = write_type(&scratch, s->format, &type_id);
  free(scratch.d);
  if (!ok)
    return cli_err_set(err, LSQL_EUNSUPPORTED, "arrow output: type '%s' of column '%s' is not supported",
                       s->format, s->name ? s->name : "");
  f[2].value = type_id;
  size_t tbl = fb_table(b, f, 6);
  fb_patch(b, f[0].pos, fb_string(b, s->name ? s->name : ""));
  fb_patch(b, f[3].pos, write_type(b, s->format, &type_id));
  size_t vec = fb_offset_vector(b, (uint32_t)s->n_children);
  fb_patch(b, f[5].pos, vec);
  for (int64_t i = 0; i < s->n_children; i++) {
    size_t child;
    int rc = write_field(b, s->children[i], &child, err);
    if (rc) return rc;
    fb_patch(b, vec + 4 + 4 * (size_t)i, child);
  }
  *out = tbl;
  return 0;
}

/* Message: version 0, header_type 1, header 2, bodyLength 3. Returns the header field pos. */
static size_t write_message(fb *b, int header_type, int64_t body_len) {
  uint32_t root = 0;
  fb_put(b, &root, 4);
  fbf m[4];
  memset(m, 0, sizeof m);
  fb_set(m, 0, 2, 4); /* MetadataVersion V5 */
  fb_set(m, 1, 1, header_type);
  m[2].present = 1, m[2].size = 4;
  fb_set(m, 3, 8, body_len);
  size_t tbl = fb_table(b, m, 4);
  fb_patch(b, 0, tbl);
  return m[2].pos;
}

static void emit(FILE *out, fb *meta, const uint8_t *body, size_t body_len) {
  /* metadata padded so that the body starts 8-aligned */
  size_t padded = (meta->len + 8 + 7) / 8 * 8 - 8;
  fb_reserve(meta, padded - meta->len);
  memset(meta->d + meta->len, 0, padded - meta->len);
  uint32_t cont = 0xFFFFFFFFu;
  int32_t len = (int32_t)padded;
  fwrite(&cont, 4, 1, out);
  fwrite(&len, 4, 1, out);
  fwrite(meta->d, 1, padded, out);
  if (body_len) fwrite(body, 1, body_len, out);
}

/* ---- record batches --------------------------------------------------------------------- */

typedef struct batch_acc {
  int64_t *nodes;   /* pairs: length, null_count */
  size_t n_nodes;
  int64_t *bufs;    /* pairs: offset, length */
  size_t n_bufs;
  fb body;
} batch_acc;

static void add_buffer(batch_acc *a, const void *p, size_t n) {
  a->bufs = cli_xrealloc(a->bufs, (a->n_bufs + 1) * 16);
  a->bufs[2 * a->n_bufs] = (int64_t)a->body.len;
  a->bufs[2 * a->n_bufs + 1] = (int64_t)n;
  a->n_bufs++;
  if (n) {
    if (p) {
      fb_put(&a->body, p, n);
    } else {
      fb_reserve(&a->body, n);
      memset(a->body.d + a->body.len, 0, n);
      a->body.len += n;
    }
  }
  fb_pad(&a->body, 8);
}

static int fixed_width(const char *f) {
  if (f[1] == 0) {
    switch (f[0]) {
      case 'c': case 'C': return 1;
      case 's': case 'S': case 'e': return 2;
      case 'i': case 'I': case 'f': return 4;
      case 'l': case 'L': case 'g': return 8;
    }
    return 0;
  }
  if (f[0] == 'd' && f[1] == ':') {
    int p, s, bw = 128;
    if (sscanf(f + 2, "%d,%d,%d", &p, &s, &bw) < 2) return 0;
    return bw / 8;
  }
  if (f[0] == 'w' && f[1] == ':') return atoi(f + 2);
  if (f[0] == 't') {
    if (f[1] == 'd') return f[2] == 'D' ? 4 : 8;
    if (f[1] == 't') return (f[2] == 's' || f[2] == 'm') ? 4 : 8;
    if (f[1] == 's' || f[1] == 'D') return 8;
    if (f[1] == 'i') return f[2] == 'M' ? 4 : f[2] == 'D' ? 8 : 16;
  }
  return 0;
}

static int add_array(batch_acc *acc, const struct ArrowSchema *s, const struct ArrowArray *a,
                     lsql_error *err) {
  if (a->offset != 0)
    return cli_err_set(err, LSQL_EUNSUPPORTED, "arrow output: sliced arrays are not supported");
  const char *f = s->format;
  int64_t n = a->length;
  acc->nodes = cli_xrealloc(acc->nodes, (acc->n_nodes + 1) * 16);
  acc->nodes[2 * acc->n_nodes] = n;
  acc->nodes[2 * acc->n_nodes + 1] = a->null_count < 0 ? 0 : a->null_count;
  size_t node = acc->n_nodes++;
  if (f[0] == 'n' && f[1] == 0) {
    acc->nodes[2 * node + 1] = n;
    return 0; /* the null type has no buffers */
  }
  const void *valid = a->n_buffers > 0 ? a->buffers[0] : NULL;
  if (a->null_count < 0 && valid) {
    int64_t nulls = 0;
    for (int64_t i = 0; i < n; i++) nulls += !((((const uint8_t *)valid)[i >> 3] >> (i & 7)) & 1);
    acc->nodes[2 * node + 1] = nulls;
  }
  if (acc->nodes[2 * node + 1] == 0) valid = NULL;
  add_buffer(acc, valid, valid ? (size_t)(n + 7) / 8 : 0);
  int w = fixed_width(f);
  if (w) {
    add_buffer(acc, a->buffers[1], (size_t)(n * w));
    return 0;
  }
  if (f[0] == 'b' && f[1] == 0) {
    add_buffer(acc, a->buffers[1], (size_t)(n + 7) / 8);
    return 0;
  }
  if (f[1] == 0 && (f[0] == 'u' || f[0] == 'z' || f[0] == 'U' || f[0] == 'Z')) {
    int large = f[0] == 'U' || f[0] == 'Z';
    size_t ow = large ? 8 : 4;
    const void *off = a->buffers[1];
    int64_t end = 0;
    if (off && n > 0) end = large ? ((const int64_t *)off)[n] : ((const int32_t *)off)[n];
    add_buffer(acc, off, (size_t)(n + 1) * ow);
    add_buffer(acc, a->buffers[2], (size_t)end);
    return 0;
  }
  if (f[0] == '+' && (f[1] == 'l' || f[1] == 'L' || f[1] == 'm')) {
    size_t ow = f[1] == 'L' ? 8 : 4;
    add_buffer(acc, a->buffers[1], (size_t)(n + 1) * ow);
    return add_array(acc, s->children[0], a->children[0], err);
  }
  if (f[0] == '+' && (f[1] == 's' || f[1] == 'w')) {
    for (int64_t i = 0; i < s->n_children; i++) {
      int rc = add_array(acc, s->children[i], a->children[i], err);
      if (rc) return rc;
    }
    return 0;
  }
  return cli_err_set(err, LSQL_EUNSUPPORTED, "arrow output: type '%s' is not supported", f);
}

static int write_batch(FILE *out, const struct ArrowSchema *sc, const struct ArrowArray *arr,
                       lsql_error *err) {
  batch_acc acc;
  memset(&acc, 0, sizeof acc);
  int rc = 0;
  for (int64_t c = 0; c < sc->n_children && !rc; c++)
    rc = add_array(&acc, sc->children[c], arr->children[c], err);
  if (!rc) {
    fb b = {0};
    size_t hdr = write_message(&b, 3, (int64_t)acc.body.len);
    /* RecordBatch: length 0, nodes 1, buffers 2 */
    fbf r[3];
    memset(r, 0, sizeof r);
    fb_set(r, 0, 8, arr->length);
    r[1].present = 1, r[1].size = 4;
    r[2].present = 1, r[2].size = 4;
    size_t tbl = fb_table(&b, r, 3);
    fb_patch(&b, hdr, tbl);
    fb_patch(&b, r[1].pos, fb_struct16_vector(&b, acc.nodes, (uint32_t)acc.n_nodes));
    fb_patch(&b, r[2].pos, fb_struct16_vector(&b, acc.bufs, (uint32_t)acc.n_bufs));
    emit(out, &b, acc.body.d, acc.body.len);
    free(b.d);
  }
  free(acc.nodes);
  free(acc.bufs);
  free(acc.body.d);
  return rc;
}

int cli_write_ipc(struct ArrowArrayStream *s, FILE *out, lsql_error *err) {
  struct ArrowSchema sc;
  memset(&sc, 0, sizeof sc);
  int e = s->get_schema(s, &sc);
  if (e) {
    const char *m = s->get_last_error ? s->get_last_error(s) : NULL;
    return cli_err_set(err, LSQL_ESQL, "%s", m && *m ? m : "could not read the result schema");
  }
  fb b = {0};
  size_t hdr = write_message(&b, 1, 0);
  /* Schema: endianness 0, fields 1 */
  fbf sf[2];
  memset(sf, 0, sizeof sf);
  fb_set(sf, 0, 2, 0);
  sf[1].present = 1, sf[1].size = 4;
  size_t tbl = fb_table(&b, sf, 2);
  fb_patch(&b, hdr, tbl);
  size_t vec = fb_offset_vector(&b, (uint32_t)sc.n_children);
  fb_patch(&b, sf[1].pos, vec);
  int rc = 0;
  for (int64_t i = 0; i < sc.n_children && !rc; i++) {
    size_t fpos;
    rc = write_field(&b, sc.children[i], &fpos, err);
    if (!rc) fb_patch(&b, vec + 4 + 4 * (size_t)i, fpos);
  }
  if (!rc) {
    cli_output_begin();
    emit(out, &b, NULL, 0);
  }
  free(b.d);
  while (!rc) {
    struct ArrowArray arr;
    memset(&arr, 0, sizeof arr);
    e = s->get_next(s, &arr);
    if (e) {
      const char *m = s->get_last_error ? s->get_last_error(s) : NULL;
      rc = cli_err_set(err, (m && strstr(m, "nterrupt")) ? LSQL_ECANCELLED : LSQL_ESQL, "%s",
                       m && *m ? m : "query failed while reading results");
      break;
    }
    if (!arr.release) break;
    rc = write_batch(out, &sc, &arr, err);
    arr.release(&arr);
  }
  if (!rc) {
    uint32_t eos[2] = {0xFFFFFFFFu, 0};
    fwrite(eos, 4, 2, out);
  }
  if (sc.release) sc.release(&sc);
  fflush(out);
  return rc;
}
