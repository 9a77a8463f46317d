/*
 * lancesql._lancesql: the CPython extension over include/lancesql.h.
 *
 * Thin on purpose: handles (Namespace, Dataset, Session, Stream) and the blocking calls live
 * here; the friendly API (NamespaceSession, QueryResult, pyarrow conversion) is pure Python in
 * lancesql/__init__.py. Results cross into Python as Arrow PyCapsules ("arrow_schema",
 * "arrow_array", "arrow_array_stream"), so pyarrow, polars and DuckDB import them without a copy.
 *
 * Every call that may do I/O or run a query releases the GIL. Calls that may run for long
 * (a query, a batch fetch) run on a helper thread while this thread waits in short slices and
 * polls for signals, so Ctrl-C interrupts the session (lsql_session_interrupt) and raises
 * KeyboardInterrupt.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lancesql.h"

/* ---- errors --------------------------------------------------------------------------------- */

static PyObject *Error;             /* lancesql.Error */
static PyObject *code_exc[16];      /* status code -> exception class (NULL: Error) */

static const struct {
  int code;
  const char *name;
  const char *doc;
} exc_table[] = {
    {LSQL_EINVAL, "InvalidArgumentError", "An argument or option was invalid (EINVAL)."},
    {LSQL_ENOMEM, "OutOfMemoryError", "An allocation failed (ENOMEM)."},
    {LSQL_EIO, "IoError", "A file system or network operation failed (EIO)."},
    {LSQL_ENOTFOUND, "NotFoundError",
     "A dataset, version, tag, namespace, table, catalog or file was not found (ENOTFOUND)."},
    {LSQL_ECORRUPT, "CorruptError", "Malformed bytes were read (ECORRUPT)."},
    {LSQL_EUNSUPPORTED, "UnsupportedError", "A valid feature this build does not read (EUNSUPPORTED)."},
    {LSQL_EREADONLY, "ReadOnlyError", "A write, DDL or sandbox escape was refused (EREADONLY)."},
    {LSQL_ESQL, "SQLError", "The SQL engine reported an error (ESQL)."},
    {LSQL_ECANCELLED, "CancelledError", "The operation was interrupted (ECANCELLED)."},
    {LSQL_EPERM, "PermissionDeniedError", "Permission denied or authentication failed (EPERM)."},
    {LSQL_EREMOTE, "RemoteError", "A remote service reported an error (EREMOTE)."},
    {LSQL_ELIMIT, "LimitError", "A resource limit was exceeded (ELIMIT)."},
};

/* Raises the exception class for `code` with `message`; attributes .code, .status, .message. */
static PyObject *raise_status(int code, const char *message) {
  PyObject *cls = (code > 0 && code < 16 && code_exc[code]) ? code_exc[code] : Error;
  if (!message || !*message) message = lsql_status_name(code);
  PyObject *msg = PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace");
  if (!msg) return NULL;
  PyObject *inst = PyObject_CallOneArg(cls, msg);
  if (inst) {
    PyObject *c = PyLong_FromLong(code);
    PyObject *s = PyUnicode_FromString(lsql_status_name(code));
    if (c && s) {
      PyObject_SetAttrString(inst, "code", c);
      PyObject_SetAttrString(inst, "status", s);
      PyObject_SetAttrString(inst, "message", msg);
    }
    Py_XDECREF(c);
    Py_XDECREF(s);
    PyErr_SetObject(cls, inst);
    Py_DECREF(inst);
  }
  Py_DECREF(msg);
  return NULL;
}

static PyObject *raise_lsql(const lsql_error *e) {
  return raise_status(e->code ? e->code : LSQL_EIO, e->message);
}

/* Arrow streams report errno values; recover the lancesql status where we can. A message that
 * starts with a status name ("ESQL: ...") wins over the errno. */
static PyObject *raise_stream_error(int rc, const char *message) {
  int code;
  switch (rc) {
    case ENOMEM: code = LSQL_ENOMEM; break;
    case EINVAL: code = LSQL_EINVAL; break;
    case ENOENT: code = LSQL_ENOTFOUND; break;
    case ECANCELED: code = LSQL_ECANCELLED; break;
    case EPERM: case EACCES: code = LSQL_EPERM; break;
    case EROFS: code = LSQL_EREADONLY; break;
    case ENOTSUP: code = LSQL_EUNSUPPORTED; break;
    case EILSEQ: code = LSQL_ECORRUPT; break;
    default: code = LSQL_EIO; break;
  }
  if (message) {
    for (int c = 1; c < 16; c++) {
      const char *n = lsql_status_name(c);
      size_t len = strlen(n);
      if (len > 1 && strncmp(message, n, len) == 0 && message[len] == ':') {
        code = c;
        break;
      }
    }
  }
  return raise_status(code, message);
}

/* ---- string vectors copied out of Python objects (usable without the GIL) --------------------- */

typedef struct {
  char **v;  /* NULL-terminated */
  size_t n;
} strv;

static void strv_free(strv *s) {
  if (!s->v) return;
  for (size_t i = 0; i < s->n; i++) PyMem_RawFree(s->v[i]);
  PyMem_RawFree(s->v);
  s->v = NULL;
  s->n = 0;
}

static int strv_push(strv *s, const char *str, size_t cap) {
  size_t len = strlen(str);
  char *copy = PyMem_RawMalloc(len + 1);
  if (!copy) return -1;
  memcpy(copy, str, len + 1);
  s->v[s->n++] = copy;
  s->v[s->n] = NULL;
  (void)cap;
  return 0;
}

/* Converts a value to its property-string form: str as is, bool as "true"/"false", else str(). */
static PyObject *prop_str(PyObject *o) {
  if (PyUnicode_Check(o)) return Py_NewRef(o);
  if (PyBool_Check(o)) return PyUnicode_FromString(o == Py_True ? "true" : "false");
  return PyObject_Str(o);
}

/* A sequence of str (a namespace/table id, or a column list) -> strv. None -> empty (v NULL). */
static int strv_from_seq(PyObject *seq, strv *out, const char *what) {
  out->v = NULL;
  out->n = 0;
  if (!seq || seq == Py_None) return 0;
  if (PyUnicode_Check(seq)) {
    PyErr_Format(PyExc_TypeError, "%s must be a sequence of str, not str", what);
    return -1;
  }
  PyObject *fast = PySequence_Fast(seq, what);
  if (!fast) return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  out->v = PyMem_RawCalloc((size_t)n + 1, sizeof(char *));
  if (!out->v) goto nomem;
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
    if (!PyUnicode_Check(item)) {
      PyErr_Format(PyExc_TypeError, "%s must contain only str", what);
      goto fail;
    }
    const char *u = PyUnicode_AsUTF8(item);
    if (!u || strv_push(out, u, (size_t)n) < 0) goto nomem;
  }
  Py_DECREF(fast);
  return 0;
nomem:
  if (!PyErr_Occurred()) PyErr_NoMemory();
fail:
  Py_DECREF(fast);
  strv_free(out);
  return -1;
}

/* A dict of properties -> NULL-terminated alternating key/value strv. None -> NULL list. */
static int strv_from_dict(PyObject *dict, strv *out, const char *what) {
  out->v = NULL;
  out->n = 0;
  if (!dict || dict == Py_None) return 0;
  if (!PyDict_Check(dict)) {
    PyErr_Format(PyExc_TypeError, "%s must be a dict", what);
    return -1;
  }
  Py_ssize_t n = PyDict_Size(dict), pos = 0;
  out->v = PyMem_RawCalloc(2 * (size_t)n + 1, sizeof(char *));
  if (!out->v) {
    PyErr_NoMemory();
    return -1;
  }
  PyObject *k, *v;
  while (PyDict_Next(dict, &pos, &k, &v)) {
    PyObject *ks = prop_str(k), *vs = ks ? prop_str(v) : NULL;
    const char *ku = vs ? PyUnicode_AsUTF8(ks) : NULL, *vu = ku ? PyUnicode_AsUTF8(vs) : NULL;
    int bad = !vu || strv_push(out, ku, 0) < 0 || strv_push(out, vu, 0) < 0;
    Py_XDECREF(ks);
    Py_XDECREF(vs);
    if (bad) {
      if (!PyErr_Occurred()) PyErr_NoMemory();
      strv_free(out);
      return -1;
    }
  }
  return 0;
}

static PyObject *list_from_string_list(const lsql_string_list *l) {
  PyObject *items = PyList_New((Py_ssize_t)l->n_items);
  if (!items) return NULL;
  for (size_t i = 0; i < l->n_items; i++) {
    PyObject *s = PyUnicode_FromString(l->items[i] ? l->items[i] : "");
    if (!s) {
      Py_DECREF(items);
      return NULL;
    }
    PyList_SET_ITEM(items, (Py_ssize_t)i, s);
  }
  PyObject *tok = l->next_page_token ? PyUnicode_FromString(l->next_page_token) : Py_NewRef(Py_None);
  if (!tok) {
    Py_DECREF(items);
    return NULL;
  }
  return Py_BuildValue("(NN)", items, tok);
}

/* NULL-terminated key/value list -> dict. */
static PyObject *dict_from_kv(char **kv) {
  PyObject *d = PyDict_New();
  if (!d) return NULL;
  for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
    PyObject *v = PyUnicode_FromString(kv[i + 1]);
    if (!v || PyDict_SetItemString(d, kv[i], v) < 0) {
      Py_XDECREF(v);
      Py_DECREF(d);
      return NULL;
    }
    Py_DECREF(v);
  }
  return d;
}

/* ---- interruptible blocking calls ----------------------------------------------------------- */

typedef struct {
  int (*fn)(void *arg);
  void *arg;
  int rc;
  int done;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} job;

static void *job_main(void *p) {
  job *j = p;
  int rc = j->fn(j->arg);
  pthread_mutex_lock(&j->mu);
  j->rc = rc;
  j->done = 1;
  pthread_cond_signal(&j->cv);
  pthread_mutex_unlock(&j->mu);
  return NULL;
}

/* Runs fn(arg) with the GIL released. Called with the GIL held. While it runs, polls for signals
 * every 50 ms; when a signal handler raises (KeyboardInterrupt), interrupts `session` (if any),
 * waits for fn to return, and sets *raised. Returns fn's result. */
static int run_blocking(int (*fn)(void *), void *arg, lsql_session *session, int *raised) {
  *raised = 0;
  job j = {.fn = fn, .arg = arg};
  pthread_t th;
  pthread_mutex_init(&j.mu, NULL);
  pthread_cond_init(&j.cv, NULL);
  int started = pthread_create(&th, NULL, job_main, &j) == 0;
  if (!started) {
    /* No thread available: run inline, still without the GIL. */
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = fn(arg);
    Py_END_ALLOW_THREADS
    pthread_mutex_destroy(&j.mu);
    pthread_cond_destroy(&j.cv);
    return rc;
  }
  Py_BEGIN_ALLOW_THREADS
  pthread_mutex_lock(&j.mu);
  while (!j.done) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec += 1;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&j.cv, &j.mu, &ts);
    if (j.done || *raised) continue;
    pthread_mutex_unlock(&j.mu);
    Py_BLOCK_THREADS
    if (PyErr_CheckSignals() < 0) *raised = 1;
    Py_UNBLOCK_THREADS
    if (*raised && session) lsql_session_interrupt(session);
    pthread_mutex_lock(&j.mu);
  }
  pthread_mutex_unlock(&j.mu);
  pthread_join(th, NULL);
  Py_END_ALLOW_THREADS
  pthread_mutex_destroy(&j.mu);
  pthread_cond_destroy(&j.cv);
  return j.rc;
}

/* ---- Arrow capsules ------------------------------------------------------------------------- */

static void schema_capsule_free(PyObject *cap) {
  struct ArrowSchema *s = PyCapsule_GetPointer(cap, "arrow_schema");
  if (!s) {
    PyErr_Clear();
    return;
  }
  if (s->release) s->release(s);
  PyMem_RawFree(s);
}

static void array_capsule_free(PyObject *cap) {
  struct ArrowArray *a = PyCapsule_GetPointer(cap, "arrow_array");
  if (!a) {
    PyErr_Clear();
    return;
  }
  if (a->release) a->release(a);
  PyMem_RawFree(a);
}

static void stream_capsule_free(PyObject *cap) {
  struct ArrowArrayStream *s = PyCapsule_GetPointer(cap, "arrow_array_stream");
  if (!s) {
    PyErr_Clear();
    return;
  }
  if (s->release) {
    Py_BEGIN_ALLOW_THREADS
    s->release(s);
    Py_END_ALLOW_THREADS
  }
  PyMem_RawFree(s);
}

/* Moves *schema into a new "arrow_schema" capsule (schema left released). */
static PyObject *schema_capsule(struct ArrowSchema *schema) {
  struct ArrowSchema *s = PyMem_RawMalloc(sizeof *s);
  if (!s) {
    schema->release(schema);
    return PyErr_NoMemory();
  }
  *s = *schema;
  schema->release = NULL;
  PyObject *cap = PyCapsule_New(s, "arrow_schema", schema_capsule_free);
  if (!cap) {
    s->release(s);
    PyMem_RawFree(s);
  }
  return cap;
}

static PyObject *array_capsule(struct ArrowArray *array) {
  struct ArrowArray *a = PyMem_RawMalloc(sizeof *a);
  if (!a) {
    array->release(array);
    return PyErr_NoMemory();
  }
  *a = *array;
  array->release = NULL;
  PyObject *cap = PyCapsule_New(a, "arrow_array", array_capsule_free);
  if (!cap) {
    a->release(a);
    PyMem_RawFree(a);
  }
  return cap;
}

/* A stream that hands out one already-fetched batch before continuing with the inner stream
 * (the first batch is fetched eagerly so that query errors and Ctrl-C surface in sql()). */
typedef struct {
  struct ArrowArrayStream inner;
  struct ArrowArray pending;
} prefetch_private;

static int prefetch_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  prefetch_private *p = s->private_data;
  return p->inner.get_schema(&p->inner, out);
}
static int prefetch_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  prefetch_private *p = s->private_data;
  if (p->pending.release) {
    *out = p->pending;
    p->pending.release = NULL;
    return 0;
  }
  return p->inner.get_next(&p->inner, out);
}
static const char *prefetch_get_last_error(struct ArrowArrayStream *s) {
  prefetch_private *p = s->private_data;
  return p->inner.get_last_error ? p->inner.get_last_error(&p->inner) : NULL;
}
static void prefetch_release(struct ArrowArrayStream *s) {
  prefetch_private *p = s->private_data;
  if (p->pending.release) p->pending.release(&p->pending);
  if (p->inner.release) p->inner.release(&p->inner);
  free(p);
  s->release = NULL;
}

/* ---- Stream --------------------------------------------------------------------------------- */

typedef struct {
  PyObject_HEAD
  struct ArrowArrayStream stream; /* release == NULL once exported or closed */
  struct ArrowArray pending;      /* a batch fetched ahead (release == NULL: none) */
  int exhausted;                  /* the end (or pending-only) was reached */
  int busy;
  lsql_session *session;          /* for interrupts; kept alive by `owner` */
  PyObject *owner;                /* Session or Dataset object */
} StreamObject;

static PyTypeObject StreamType;

static int stream_check_open(StreamObject *self) {
  if (self->busy) {
    PyErr_SetString(PyExc_RuntimeError, "the stream is in use by another thread");
    return -1;
  }
  if (!self->stream.release) {
    PyErr_SetString(Error, "the stream was already consumed or closed");
    return -1;
  }
  return 0;
}

typedef struct {
  struct ArrowArrayStream *stream;
  struct ArrowArray *out;
} next_args;

static int do_get_next(void *p) {
  next_args *a = p;
  return a->stream->get_next(a->stream, a->out);
}

static void stream_close_impl(StreamObject *self) {
  if (self->pending.release) self->pending.release(&self->pending);
  self->pending.release = NULL;
  if (self->stream.release) {
    struct ArrowArrayStream *s = &self->stream;
    Py_BEGIN_ALLOW_THREADS
    s->release(s);
    Py_END_ALLOW_THREADS
    s->release = NULL;
  }
}

/* Fetches the next batch into *out (release NULL at the end). Returns 0, or -1 with an
 * exception set. Called with the GIL held and the stream open. */
static int stream_fetch(StreamObject *self, struct ArrowArray *out) {
  memset(out, 0, sizeof *out);
  if (self->pending.release) {
    *out = self->pending;
    self->pending.release = NULL;
    return 0;
  }
  if (self->exhausted) return 0;
  next_args a = {&self->stream, out};
  int raised;
  self->busy = 1;
  int rc = run_blocking(do_get_next, &a, self->session, &raised);
  self->busy = 0;
  if (raised) {
    if (rc == 0 && out->release) out->release(out);
    out->release = NULL;
    stream_close_impl(self); /* an interrupted stream cannot go on */
    return -1;
  }
  if (rc != 0) {
    const char *msg = self->stream.get_last_error ? self->stream.get_last_error(&self->stream) : NULL;
    raise_stream_error(rc, msg);
    stream_close_impl(self);
    return -1;
  }
  if (!out->release) self->exhausted = 1;
  return 0;
}

static PyObject *Stream_schema(StreamObject *self, PyObject *unused) {
  if (stream_check_open(self) < 0) return NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArrayStream *s = &self->stream;
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = s->get_schema(s, &schema);
  Py_END_ALLOW_THREADS
  if (rc != 0) return raise_stream_error(rc, s->get_last_error ? s->get_last_error(s) : NULL);
  return schema_capsule(&schema);
}

static PyObject *Stream_next_batch(StreamObject *self, PyObject *unused) {
  if (stream_check_open(self) < 0) return NULL;
  struct ArrowArray out;
  if (stream_fetch(self, &out) < 0) return NULL;
  if (!out.release) Py_RETURN_NONE;
  return array_capsule(&out);
}

static PyObject *Stream_arrow_c_stream(StreamObject *self, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"requested_schema", NULL};
  PyObject *requested = Py_None;
  /* The requested schema is a hint; we return the stream as is and the consumer casts. */
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:__arrow_c_stream__", kwlist, &requested))
    return NULL;
  if (stream_check_open(self) < 0) return NULL;
  struct ArrowArrayStream *out = PyMem_RawMalloc(sizeof *out);
  if (!out) return PyErr_NoMemory();
  if (self->pending.release) {
    prefetch_private *p = calloc(1, sizeof *p);
    if (!p) {
      PyMem_RawFree(out);
      return PyErr_NoMemory();
    }
    p->inner = self->stream;
    p->pending = self->pending;
    self->pending.release = NULL;
    out->get_schema = prefetch_get_schema;
    out->get_next = prefetch_get_next;
    out->get_last_error = prefetch_get_last_error;
    out->release = prefetch_release;
    out->private_data = p;
  } else {
    *out = self->stream;
  }
  self->stream.release = NULL;
  return PyCapsule_New(out, "arrow_array_stream", stream_capsule_free);
}

static PyObject *Stream_close(StreamObject *self, PyObject *unused) {
  if (self->busy) {
    PyErr_SetString(PyExc_RuntimeError, "the stream is in use by another thread");
    return NULL;
  }
  stream_close_impl(self);
  Py_RETURN_NONE;
}

static PyObject *Stream_get_closed(StreamObject *self, void *unused) {
  return PyBool_FromLong(self->stream.release == NULL);
}

static void Stream_dealloc(StreamObject *self) {
  stream_close_impl(self);
  Py_CLEAR(self->owner);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Stream_methods[] = {
    {"schema", (PyCFunction)Stream_schema, METH_NOARGS,
     "schema() -> PyCapsule('arrow_schema')\n\nThe stream's schema as an Arrow C schema capsule."},
    {"next_batch", (PyCFunction)Stream_next_batch, METH_NOARGS,
     "next_batch() -> PyCapsule('arrow_array') | None\n\nFetches the next batch (None at the end). "
     "Releases the GIL; Ctrl-C interrupts a running query."},
    {"__arrow_c_stream__", (PyCFunction)(void (*)(void))Stream_arrow_c_stream,
     METH_VARARGS | METH_KEYWORDS,
     "__arrow_c_stream__(requested_schema=None) -> PyCapsule('arrow_array_stream')\n\n"
     "Hands the stream over (once) through the Arrow PyCapsule interface."},
    {"close", (PyCFunction)Stream_close, METH_NOARGS, "Releases the stream."},
    {NULL}};

static PyGetSetDef Stream_getset[] = {
    {"closed", (getter)Stream_get_closed, NULL, "True once consumed or closed.", NULL}, {NULL}};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lancesql._lancesql.Stream",
    .tp_basicsize = sizeof(StreamObject),
    .tp_dealloc = (destructor)Stream_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A one-shot stream of Arrow record batches (from a query or a dataset scan).",
    .tp_methods = Stream_methods,
    .tp_getset = Stream_getset,
};

static StreamObject *stream_new(struct ArrowArrayStream *src, lsql_session *session, PyObject *owner) {
  StreamObject *self = PyObject_New(StreamObject, &StreamType);
  if (!self) {
    src->release(src);
    return NULL;
  }
  self->stream = *src;
  src->release = NULL;
  memset(&self->pending, 0, sizeof self->pending);
  self->exhausted = 0;
  self->busy = 0;
  self->session = session;
  self->owner = Py_XNewRef(owner);
  return self;
}

/* ---- Namespace ------------------------------------------------------------------------------ */

typedef struct {
  PyObject_HEAD
  lsql_namespace *ns;
} NamespaceObject;

static PyTypeObject NamespaceType;

static void Namespace_dealloc(NamespaceObject *self) {
  lsql_namespace_free(self->ns);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *mod_connect(PyObject *mod, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"impl", "properties", NULL};
  const char *impl;
  PyObject *props = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O:connect", kwlist, &impl, &props)) return NULL;
  strv kv;
  if (strv_from_dict(props, &kv, "properties") < 0) return NULL;
  static const char *const empty[] = {NULL};
  lsql_namespace *ns = NULL;
  lsql_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_connect(impl, kv.v ? (const char *const *)kv.v : empty, &ns, &err);
  Py_END_ALLOW_THREADS
  strv_free(&kv);
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  NamespaceObject *self = PyObject_New(NamespaceObject, &NamespaceType);
  if (!self) {
    lsql_namespace_free(ns);
    return NULL;
  }
  self->ns = ns;
  return (PyObject *)self;
}

typedef int (*list_fn)(lsql_namespace *, const char *const *, size_t, const char *, int32_t,
                       lsql_string_list *, lsql_error *);

static PyObject *namespace_list(NamespaceObject *self, PyObject *args, PyObject *kwargs, list_fn fn,
                                const char *fname) {
  static char *kwlist[] = {"id", "page_token", "limit", NULL};
  PyObject *id = Py_None;
  const char *token = NULL;
  int limit = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|Ozi", kwlist, &id, &token, &limit)) return NULL;
  strv ids;
  if (strv_from_seq(id, &ids, "id") < 0) return NULL;
  char *tok = NULL;
  if (token && !(tok = PyMem_RawMalloc(strlen(token) + 1))) {
    strv_free(&ids);
    return PyErr_NoMemory();
  }
  if (tok) strcpy(tok, token);
  lsql_string_list out = {0};
  lsql_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = fn(self->ns, (const char *const *)ids.v, ids.n, tok, limit, &out, &err);
  Py_END_ALLOW_THREADS
  strv_free(&ids);
  PyMem_RawFree(tok);
  (void)fname;
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  PyObject *res = list_from_string_list(&out);
  lsql_string_list_free(&out);
  return res;
}

static PyObject *Namespace_list_namespaces(NamespaceObject *self, PyObject *args, PyObject *kw) {
  return namespace_list(self, args, kw, lsql_namespace_list_namespaces, "list_namespaces");
}
static PyObject *Namespace_list_tables(NamespaceObject *self, PyObject *args, PyObject *kw) {
  return namespace_list(self, args, kw, lsql_namespace_list_tables, "list_tables");
}

typedef int (*exists_fn)(lsql_namespace *, const char *const *, size_t, int *, lsql_error *);

static PyObject *namespace_exists_impl(NamespaceObject *self, PyObject *id, exists_fn fn) {
  strv ids;
  if (strv_from_seq(id, &ids, "id") < 0) return NULL;
  int exists = 0, rc;
  lsql_error err = {0};
  Py_BEGIN_ALLOW_THREADS
  rc = fn(self->ns, (const char *const *)ids.v, ids.n, &exists, &err);
  Py_END_ALLOW_THREADS
  strv_free(&ids);
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  return PyBool_FromLong(exists);
}
static PyObject *Namespace_namespace_exists(NamespaceObject *self, PyObject *id) {
  return namespace_exists_impl(self, id, lsql_namespace_exists);
}
static PyObject *Namespace_table_exists(NamespaceObject *self, PyObject *id) {
  return namespace_exists_impl(self, id, lsql_namespace_table_exists);
}

static PyObject *Namespace_describe_table(NamespaceObject *self, PyObject *id) {
  strv ids;
  if (strv_from_seq(id, &ids, "id") < 0) return NULL;
  lsql_table_desc desc = {0};
  lsql_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_namespace_describe_table(self->ns, (const char *const *)ids.v, ids.n, &desc, &err);
  Py_END_ALLOW_THREADS
  strv_free(&ids);
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  PyObject *opts = dict_from_kv(desc.storage_options);
  PyObject *res = NULL;
  if (opts) {
    PyObject *ver = desc.version >= 0 ? PyLong_FromLongLong(desc.version) : Py_NewRef(Py_None);
    if (ver)
      res = Py_BuildValue("{s:s,s:N,s:N}", "location", desc.location ? desc.location : "",
                          "storage_options", opts, "version", ver);
    else
      Py_DECREF(opts);
  }
  lsql_table_desc_free(&desc);
  return res;
}

static PyObject *Namespace_describe_namespace(NamespaceObject *self, PyObject *id) {
  strv ids;
  if (strv_from_seq(id, &ids, "id") < 0) return NULL;
  char **props = NULL;
  lsql_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_namespace_describe_namespace(self->ns, (const char *const *)ids.v, ids.n, &props, &err);
  Py_END_ALLOW_THREADS
  strv_free(&ids);
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  PyObject *res = dict_from_kv(props);
  lsql_strv_free(props);
  return res;
}

static PyObject *dataset_wrap(lsql_dataset *ds);

/* Shared by open_table and open_dataset: version/tag/branch/storage_options keyword args. */
typedef struct {
  lsql_open_options opts;
  char *tag, *branch;
  strv storage;
} open_args;

static void open_args_free(open_args *o) {
  PyMem_RawFree(o->tag);
  PyMem_RawFree(o->branch);
  strv_free(&o->storage);
}

static char *raw_strdup(const char *s) {
  if (!s) return NULL;
  char *c = PyMem_RawMalloc(strlen(s) + 1);
  if (c) strcpy(c, s);
  return c;
}

static int open_args_init(open_args *o, long long version, const char *tag, const char *branch,
                          PyObject *storage_options) {
  memset(o, 0, sizeof *o);
  if (version < 0) {
    PyErr_SetString(PyExc_ValueError, "version must be positive");
    return -1;
  }
  if (strv_from_dict(storage_options, &o->storage, "storage_options") < 0) return -1;
  o->tag = raw_strdup(tag);
  o->branch = raw_strdup(branch);
  if ((tag && !o->tag) || (branch && !o->branch)) {
    open_args_free(o);
    PyErr_NoMemory();
    return -1;
  }
  o->opts.version = version;
  o->opts.tag = o->tag;
  o->opts.branch = o->branch;
  o->opts.storage_options = (const char *const *)o->storage.v;
  return 0;
}

static PyObject *Namespace_open_table(NamespaceObject *self, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"id", "version", "tag", "branch", NULL};
  PyObject *id;
  long long version = 0;
  const char *tag = NULL, *branch = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|Lzz:open_table", kwlist, &id, &version, &tag,
                                   &branch))
    return NULL;
  strv ids;
  if (strv_from_seq(id, &ids, "id") < 0) return NULL;
  open_args o;
  if (open_args_init(&o, version, tag, branch, Py_None) < 0) {
    strv_free(&ids);
    return NULL;
  }
  lsql_dataset *ds = NULL;
  lsql_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_namespace_open_table(self->ns, (const char *const *)ids.v, ids.n, &o.opts, &ds, &err);
  Py_END_ALLOW_THREADS
  strv_free(&ids);
  open_args_free(&o);
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  return dataset_wrap(ds);
}

static PyMethodDef Namespace_methods[] = {
    {"list_namespaces", (PyCFunction)(void (*)(void))Namespace_list_namespaces,
     METH_VARARGS | METH_KEYWORDS,
     "list_namespaces(id=None, page_token=None, limit=0) -> (list[str], next_page_token)"},
    {"list_tables", (PyCFunction)(void (*)(void))Namespace_list_tables, METH_VARARGS | METH_KEYWORDS,
     "list_tables(id=None, page_token=None, limit=0) -> (list[str], next_page_token)"},
    {"namespace_exists", (PyCFunction)Namespace_namespace_exists, METH_O,
     "namespace_exists(id) -> bool"},
    {"table_exists", (PyCFunction)Namespace_table_exists, METH_O, "table_exists(id) -> bool"},
    {"describe_table", (PyCFunction)Namespace_describe_table, METH_O,
     "describe_table(id) -> {'location', 'storage_options', 'version'}"},
    {"describe_namespace", (PyCFunction)Namespace_describe_namespace, METH_O,
     "describe_namespace(id) -> dict of properties"},
    {"open_table", (PyCFunction)(void (*)(void))Namespace_open_table, METH_VARARGS | METH_KEYWORDS,
     "open_table(id, version=0, tag=None, branch=None) -> Dataset"},
    {NULL}};

static PyTypeObject NamespaceType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lancesql._lancesql.Namespace",
    .tp_basicsize = sizeof(NamespaceObject),
    .tp_dealloc = (destructor)Namespace_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A connected Lance namespace (from connect()).",
    .tp_methods = Namespace_methods,
};

/* ---- Dataset -------------------------------------------------------------------------------- */

typedef struct {
  PyObject_HEAD
  lsql_dataset *ds;
} DatasetObject;

static PyTypeObject DatasetType;

static PyObject *dataset_wrap(lsql_dataset *ds) {
  DatasetObject *self = PyObject_New(DatasetObject, &DatasetType);
  if (!self) {
    lsql_dataset_free(ds);
    return NULL;
  }
  self->ds = ds;
  return (PyObject *)self;
}

static void Dataset_dealloc(DatasetObject *self) {
  lsql_dataset *ds = self->ds;
  Py_BEGIN_ALLOW_THREADS
  lsql_dataset_free(ds);
  Py_END_ALLOW_THREADS
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *mod_open_dataset(PyObject *mod, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"uri", "version", "tag", "branch", "storage_options", NULL};
  const char *uri;
  long long version = 0;
  const char *tag = NULL, *branch = NULL;
  PyObject *storage = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|LzzO:open_dataset", kwlist, &uri, &version,
                                   &tag, &branch, &storage))
    return NULL;
  open_args o;
  if (open_args_init(&o, version, tag, branch, storage) < 0) return NULL;
  char *u = raw_strdup(uri);
  if (!u) {
    open_args_free(&o);
    return PyErr_NoMemory();
  }
  lsql_dataset *ds = NULL;
  lsql_error err = {0};
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_dataset_open(u, &o.opts, &ds, &err);
  Py_END_ALLOW_THREADS
  PyMem_RawFree(u);
  open_args_free(&o);
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  return dataset_wrap(ds);
}

static PyObject *Dataset_get_version(DatasetObject *self, void *unused) {
  return PyLong_FromUnsignedLongLong(lsql_dataset_version(self->ds));
}
static PyObject *Dataset_get_uri(DatasetObject *self, void *unused) {
  const char *u = lsql_dataset_uri(self->ds);
  return PyUnicode_FromString(u ? u : "");
}

static PyObject *Dataset_count_rows(DatasetObject *self, PyObject *unused) {
  uint64_t n = 0;
  lsql_error err = {0};
  int rc;
  lsql_dataset *ds = self->ds;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_dataset_count_rows(ds, &n, &err);
  Py_END_ALLOW_THREADS
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  return PyLong_FromUnsignedLongLong(n);
}

static PyObject *Dataset_schema(DatasetObject *self, PyObject *unused) {
  struct ArrowSchema s = {0};
  lsql_error err = {0};
  int rc;
  lsql_dataset *ds = self->ds;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_dataset_schema(ds, &s, &err);
  Py_END_ALLOW_THREADS
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  return schema_capsule(&s);
}

static PyObject *Dataset_versions(DatasetObject *self, PyObject *unused) {
  lsql_version_info *v = NULL;
  size_t n = 0;
  lsql_error err = {0};
  int rc;
  lsql_dataset *ds = self->ds;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_dataset_versions(ds, &v, &n, &err);
  Py_END_ALLOW_THREADS
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  PyObject *list = PyList_New((Py_ssize_t)n);
  for (size_t i = 0; list && i < n; i++) {
    PyObject *t = Py_BuildValue("(KL)", (unsigned long long)v[i].version, (long long)v[i].timestamp_us);
    if (!t) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, (Py_ssize_t)i, t);
  }
  lsql_free(v);
  return list;
}

static PyObject *Dataset_inspect(DatasetObject *self, PyObject *unused) {
  char *json = NULL;
  lsql_error err = {0};
  int rc;
  lsql_dataset *ds = self->ds;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_dataset_inspect(ds, &json, &err);
  Py_END_ALLOW_THREADS
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  PyObject *res = PyUnicode_FromString(json ? json : "");
  lsql_free(json);
  return res;
}

static PyObject *Dataset_scan(DatasetObject *self, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"columns", "batch_size", "n_threads", "ordered", NULL};
  PyObject *columns = Py_None;
  long long batch_size = 0;
  int n_threads = 0, ordered = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OLip:scan", kwlist, &columns, &batch_size,
                                   &n_threads, &ordered))
    return NULL;
  strv cols;
  if (strv_from_seq(columns, &cols, "columns") < 0) return NULL;
  static const char *const no_columns[] = {NULL};
  lsql_scan_options opts = {0};
  opts.columns = cols.v ? (const char *const *)cols.v : (columns == Py_None ? NULL : no_columns);
  opts.n_threads = n_threads;
  opts.batch_size = batch_size;
  opts.ordered = ordered;
  struct ArrowArrayStream st = {0};
  lsql_error err = {0};
  int rc;
  lsql_dataset *ds = self->ds;
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_dataset_scan(ds, &opts, &st, &err);
  Py_END_ALLOW_THREADS
  strv_free(&cols);
  if (rc != LSQL_OK) {
    if (!err.code) err.code = rc;
    return raise_lsql(&err);
  }
  return (PyObject *)stream_new(&st, NULL, (PyObject *)self);
}

static PyMethodDef Dataset_methods[] = {
    {"count_rows", (PyCFunction)Dataset_count_rows, METH_NOARGS, "count_rows() -> int (live rows)"},
    {"schema", (PyCFunction)Dataset_schema, METH_NOARGS, "schema() -> PyCapsule('arrow_schema')"},
    {"versions", (PyCFunction)Dataset_versions, METH_NOARGS,
     "versions() -> list[(version, timestamp_us)], ascending"},
    {"inspect", (PyCFunction)Dataset_inspect, METH_NOARGS, "inspect() -> JSON text"},
    {"scan", (PyCFunction)(void (*)(void))Dataset_scan, METH_VARARGS | METH_KEYWORDS,
     "scan(columns=None, batch_size=0, n_threads=0, ordered=True) -> Stream"},
    {NULL}};

static PyGetSetDef Dataset_getset[] = {
    {"version", (getter)Dataset_get_version, NULL, "The version this handle was opened at.", NULL},
    {"uri", (getter)Dataset_get_uri, NULL, "The dataset's URI.", NULL},
    {NULL}};

static PyTypeObject DatasetType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lancesql._lancesql.Dataset",
    .tp_basicsize = sizeof(DatasetObject),
    .tp_dealloc = (destructor)Dataset_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An opened Lance dataset at one version.",
    .tp_methods = Dataset_methods,
    .tp_getset = Dataset_getset,
};

/* ---- Session -------------------------------------------------------------------------------- */

typedef struct {
  PyObject_HEAD
  lsql_session *s;
} SessionObject;

static PyTypeObject SessionType;

static void Session_dealloc(SessionObject *self) {
  lsql_session *s = self->s;
  Py_BEGIN_ALLOW_THREADS
  lsql_session_free(s);
  Py_END_ALLOW_THREADS
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static lsql_namespace *as_namespace(PyObject *o, const char *what) {
  if (!PyObject_TypeCheck(o, &NamespaceType)) {
    PyErr_Format(PyExc_TypeError, "%s must be a lancesql Namespace (from lancesql.connect), not %.100s",
                 what, Py_TYPE(o)->tp_name);
    return NULL;
  }
  return ((NamespaceObject *)o)->ns;
}

/* build_session(root, catalogs, default_catalog, default_schema, options)
 * catalogs: list of (name, Namespace, path list or None). Builder calls are quick (no I/O is
 * promised by the header before build), build itself runs without the GIL. */
static PyObject *mod_build_session(PyObject *mod, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"root", "catalogs", "default_catalog", "default_schema", "options", NULL};
  PyObject *root = Py_None, *catalogs = Py_None, *options = Py_None;
  const char *dcat = NULL, *dschema = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OOzzO:build_session", kwlist, &root, &catalogs,
                                   &dcat, &dschema, &options))
    return NULL;
  lsql_session_builder *b = lsql_session_builder_new();
  if (!b) return PyErr_NoMemory();
  lsql_error err = {0};
  int rc = LSQL_OK;
  PyObject *fast = NULL;
  lsql_session *s = NULL;

  if (root != Py_None) {
    lsql_namespace *ns = as_namespace(root, "root");
    if (!ns) goto fail;
    if ((rc = lsql_session_builder_with_root(b, ns, &err)) != LSQL_OK) goto lsql_fail;
  }
  if (catalogs != Py_None) {
    fast = PySequence_Fast(catalogs, "catalogs must be a sequence of (name, namespace, path)");
    if (!fast) goto fail;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
      PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
      const char *name;
      PyObject *nso, *path;
      if (!PyArg_ParseTuple(item, "sOO:catalog", &name, &nso, &path)) goto fail;
      lsql_namespace *ns = as_namespace(nso, "a catalog's namespace");
      if (!ns) goto fail;
      strv p;
      if (strv_from_seq(path, &p, "a catalog's path") < 0) goto fail;
      rc = lsql_session_builder_add_catalog(b, name, ns, (const char *const *)p.v, p.n, &err);
      strv_free(&p);
      if (rc != LSQL_OK) goto lsql_fail;
    }
  }
  if (dcat || dschema) {
    if (!dcat) {
      PyErr_SetString(PyExc_ValueError, "default_schema needs default_catalog");
      goto fail;
    }
    if ((rc = lsql_session_builder_default(b, dcat, dschema, &err)) != LSQL_OK) goto lsql_fail;
  }
  if (options != Py_None) {
    strv kv;
    if (strv_from_dict(options, &kv, "config") < 0) goto fail;
    for (size_t i = 0; i + 1 < kv.n; i += 2) {
      if ((rc = lsql_session_builder_set_option(b, kv.v[i], kv.v[i + 1], &err)) != LSQL_OK) break;
    }
    strv_free(&kv);
    if (rc != LSQL_OK) goto lsql_fail;
  }
  Py_BEGIN_ALLOW_THREADS
  rc = lsql_session_builder_build(b, &s, &err);
  Py_END_ALLOW_THREADS
  if (rc != LSQL_OK) goto lsql_fail;
  Py_XDECREF(fast);
  lsql_session_builder_free(b);
  SessionObject *self = PyObject_New(SessionObject, &SessionType);
  if (!self) {
    lsql_session_free(s);
    return NULL;
  }
  self->s = s;
  return (PyObject *)self;

lsql_fail:
  if (!err.code) err.code = rc;
  raise_lsql(&err);
fail:
  Py_XDECREF(fast);
  lsql_session_builder_free(b);
  return NULL;
}

typedef struct {
  lsql_session *s;
  const char *sql;
  struct ArrowArrayStream *out;
  struct ArrowArray *first;
  lsql_error *err;
  int stream_rc; /* errno from the first get_next */
} sql_args;

/* Runs the query and fetches its first batch, so that both execution errors and the (usually
 * longest) wait for the first rows happen where Ctrl-C can reach them. */
static int do_sql(void *p) {
  sql_args *a = p;
  int rc = lsql_session_sql(a->s, a->sql, a->out, a->err);
  if (rc != LSQL_OK) return rc;
  a->stream_rc = a->out->get_next(a->out, a->first);
  return LSQL_OK;
}

static PyObject *Session_sql(SessionObject *self, PyObject *args) {
  const char *sql;
  if (!PyArg_ParseTuple(args, "s:sql", &sql)) return NULL;
  char *q = raw_strdup(sql);
  if (!q) return PyErr_NoMemory();
  struct ArrowArrayStream st = {0};
  struct ArrowArray first = {0};
  lsql_error err = {0};
  sql_args a = {self->s, q, &st, &first, &err, 0};
  int raised;
  int rc = run_blocking(do_sql, &a, self->s, &raised);
  PyMem_RawFree(q);
  if (raised || rc != LSQL_OK || a.stream_rc != 0) {
    if (rc == LSQL_OK && !raised && a.stream_rc != 0)
      raise_stream_error(a.stream_rc, st.get_last_error ? st.get_last_error(&st) : NULL);
    else if (rc != LSQL_OK && !raised) {
      if (!err.code) err.code = rc;
      raise_lsql(&err);
    }
    if (first.release) first.release(&first);
    if (st.release) {
      Py_BEGIN_ALLOW_THREADS
      st.release(&st);
      Py_END_ALLOW_THREADS
    }
    return NULL;
  }
  StreamObject *so = stream_new(&st, self->s, (PyObject *)self);
  if (!so) {
    if (first.release) first.release(&first);
    return NULL;
  }
  if (first.release)
    so->pending = first;
  else
    so->exhausted = 1;
  return (PyObject *)so;
}

static PyObject *Session_interrupt(SessionObject *self, PyObject *unused) {
  lsql_session_interrupt(self->s);
  Py_RETURN_NONE;
}

static PyObject *Session_progress(SessionObject *self, PyObject *unused) {
  return PyFloat_FromDouble(lsql_session_progress(self->s));
}

static PyMethodDef Session_methods[] = {
    {"sql", (PyCFunction)Session_sql, METH_VARARGS,
     "sql(query) -> Stream\n\nRuns the statements (read-only) and streams the last one's result. "
     "Releases the GIL; Ctrl-C interrupts the query and raises KeyboardInterrupt."},
    {"interrupt", (PyCFunction)Session_interrupt, METH_NOARGS,
     "Interrupts every query running on the session (from any thread)."},
    {"progress", (PyCFunction)Session_progress, METH_NOARGS,
     "Progress of the running queries in [0, 1], or -1 when unknown."},
    {NULL}};

static PyTypeObject SessionType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lancesql._lancesql.Session",
    .tp_basicsize = sizeof(SessionObject),
    .tp_dealloc = (destructor)Session_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A built SQL session over namespaces (see build_session()).",
    .tp_methods = Session_methods,
};

/* ---- module --------------------------------------------------------------------------------- */

static PyObject *mod_version(PyObject *mod, PyObject *unused) {
  return PyUnicode_FromString(lsql_version());
}

static PyObject *mod_status_name(PyObject *mod, PyObject *arg) {
  long c = PyLong_AsLong(arg);
  if (c == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(lsql_status_name((int)c));
}

static PyMethodDef module_methods[] = {
    {"connect", (PyCFunction)(void (*)(void))mod_connect, METH_VARARGS | METH_KEYWORDS,
     "connect(impl, properties=None) -> Namespace\n\nConnects to a namespace implementation "
     "(\"dir\" or \"rest\")."},
    {"open_dataset", (PyCFunction)(void (*)(void))mod_open_dataset, METH_VARARGS | METH_KEYWORDS,
     "open_dataset(uri, version=0, tag=None, branch=None, storage_options=None) -> Dataset"},
    {"build_session", (PyCFunction)(void (*)(void))mod_build_session, METH_VARARGS | METH_KEYWORDS,
     "build_session(root=None, catalogs=None, default_catalog=None, default_schema=None, "
     "options=None) -> Session\n\ncatalogs: sequence of (name, Namespace, path or None)."},
    {"library_version", mod_version, METH_NOARGS, "Version of liblancesql."},
    {"status_name", mod_status_name, METH_O, "Short name of a status code."},
    {NULL}};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "lancesql._lancesql",
    "C extension over liblancesql (include/lancesql.h). Use the lancesql package instead.", -1,
    module_methods};

PyMODINIT_FUNC PyInit__lancesql(void) {
  PyTypeObject *types[] = {&StreamType, &NamespaceType, &DatasetType, &SessionType};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (PyType_Ready(types[i]) < 0) return NULL;
  PyObject *m = PyModule_Create(&moduledef);
  if (!m) return NULL;
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    const char *name = strrchr(types[i]->tp_name, '.') + 1;
    if (PyModule_AddObjectRef(m, name, (PyObject *)types[i]) < 0) goto fail;
  }
  Error = PyErr_NewExceptionWithDoc(
      "lancesql.Error", "Base class of lancesql errors; .code, .status and .message say what failed.",
      PyExc_Exception, NULL);
  if (!Error || PyModule_AddObjectRef(m, "Error", Error) < 0) goto fail;
  for (size_t i = 0; i < sizeof exc_table / sizeof *exc_table; i++) {
    char qual[96];
    snprintf(qual, sizeof qual, "lancesql.%s", exc_table[i].name);
    PyObject *cls = PyErr_NewExceptionWithDoc(qual, exc_table[i].doc, Error, NULL);
    if (!cls || PyModule_AddObjectRef(m, exc_table[i].name, cls) < 0) goto fail;
    code_exc[exc_table[i].code] = cls;
  }
  if (PyModule_AddStringConstant(m, "HEADER_VERSION", LSQL_VERSION_STRING) < 0) goto fail;
  return m;
fail:
  Py_DECREF(m);
  return NULL;
}
