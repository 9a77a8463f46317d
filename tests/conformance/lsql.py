"""ctypes binding of include/lancesql.h for the conformance tests.

Loads $LSQL_BUILD_DIR/liblancesql.so (default /work/main/build). Results come back as pyarrow
objects through the Arrow C data interface; failures raise LsqlError(code, name, message).

    import lsql
    with lsql.Dataset("/data/t.lance", version=2) as ds:
        table = ds.scan(columns=["a"], ordered=True)
"""
import ctypes
import json
import os

import pyarrow as pa

# ---------------------------------------------------------------------------- C structs

OK, EINVAL, ENOMEM, EIO, ENOTFOUND, ECORRUPT, EUNSUPPORTED, EREADONLY, ESQL, ECANCELLED, EPERM, \
    EREMOTE, ELIMIT = range(13)


class ArrowSchema(ctypes.Structure):
    pass


ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowSchema))),
    ("dictionary", ctypes.POINTER(ArrowSchema)),
    ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


class ArrowArrayStream(ctypes.Structure):
    _fields_ = [("get_schema", ctypes.c_void_p), ("get_next", ctypes.c_void_p),
                ("get_last_error", ctypes.c_void_p), ("release", ctypes.c_void_p),
                ("private_data", ctypes.c_void_p)]


class Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512)]


class OpenOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_int64), ("tag", ctypes.c_char_p), ("branch", ctypes.c_char_p),
                ("storage_options", ctypes.POINTER(ctypes.c_char_p))]


class VersionInfo(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint64), ("timestamp_us", ctypes.c_int64)]


class ScanOptions(ctypes.Structure):
    _fields_ = [("columns", ctypes.POINTER(ctypes.c_char_p)), ("n_threads", ctypes.c_int),
                ("batch_size", ctypes.c_int64), ("ordered", ctypes.c_int),
                ("readahead_bytes", ctypes.c_int64)]


class StringList(ctypes.Structure):
    _fields_ = [("items", ctypes.POINTER(ctypes.c_char_p)), ("n_items", ctypes.c_size_t),
                ("next_page_token", ctypes.c_char_p)]


class TableDesc(ctypes.Structure):
    _fields_ = [("location", ctypes.c_char_p), ("storage_options", ctypes.POINTER(ctypes.c_char_p)),
                ("version", ctypes.c_int64)]


# ---------------------------------------------------------------------------- library

class LsqlError(Exception):
    """A failed call: .code (lsql_status), .name ("ENOTFOUND"), .message."""

    def __init__(self, code, name, message):
        super().__init__(f"{name}: {message}")
        self.code, self.name, self.message = code, name, message


_P = ctypes.c_void_p
_ERR = ctypes.POINTER(Error)
_STRV = ctypes.POINTER(ctypes.c_char_p)
_SIGNATURES = {
    "lsql_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "lsql_version": (ctypes.c_char_p, []),
    "lsql_free": (None, [_P]),
    "lsql_dataset_open": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(OpenOptions), ctypes.POINTER(_P), _ERR]),
    "lsql_dataset_free": (None, [_P]),
    "lsql_dataset_version": (ctypes.c_uint64, [_P]),
    "lsql_dataset_uri": (ctypes.c_char_p, [_P]),
    "lsql_dataset_count_rows": (ctypes.c_int, [_P, ctypes.POINTER(ctypes.c_uint64), _ERR]),
    "lsql_dataset_schema": (ctypes.c_int, [_P, ctypes.POINTER(ArrowSchema), _ERR]),
    "lsql_dataset_versions": (ctypes.c_int, [_P, ctypes.POINTER(ctypes.POINTER(VersionInfo)),
                                             ctypes.POINTER(ctypes.c_size_t), _ERR]),
    "lsql_dataset_scan": (ctypes.c_int, [_P, ctypes.POINTER(ScanOptions), ctypes.POINTER(ArrowArrayStream), _ERR]),
    "lsql_dataset_inspect": (ctypes.c_int, [_P, ctypes.POINTER(_P), _ERR]),
    "lsql_file_scan": (ctypes.c_int, [ctypes.c_char_p, _STRV, ctypes.POINTER(ArrowArrayStream), _ERR]),
    "lsql_file_inspect": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_P), _ERR]),
    "lsql_connect": (ctypes.c_int, [ctypes.c_char_p, _STRV, ctypes.POINTER(_P), _ERR]),
    "lsql_namespace_free": (None, [_P]),
    "lsql_string_list_free": (None, [ctypes.POINTER(StringList)]),
    "lsql_namespace_list_namespaces": (ctypes.c_int, [_P, _STRV, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int32,
                                                      ctypes.POINTER(StringList), _ERR]),
    "lsql_namespace_list_tables": (ctypes.c_int, [_P, _STRV, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int32,
                                                  ctypes.POINTER(StringList), _ERR]),
    "lsql_namespace_exists": (ctypes.c_int, [_P, _STRV, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int), _ERR]),
    "lsql_namespace_table_exists": (ctypes.c_int, [_P, _STRV, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int), _ERR]),
    "lsql_namespace_describe_table": (ctypes.c_int, [_P, _STRV, ctypes.c_size_t, ctypes.POINTER(TableDesc), _ERR]),
    "lsql_table_desc_free": (None, [ctypes.POINTER(TableDesc)]),
    "lsql_namespace_describe_namespace": (ctypes.c_int, [_P, _STRV, ctypes.c_size_t,
                                                         ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p)), _ERR]),
    "lsql_strv_free": (None, [_P]),
    "lsql_namespace_open_table": (ctypes.c_int, [_P, _STRV, ctypes.c_size_t, ctypes.POINTER(OpenOptions),
                                                 ctypes.POINTER(_P), _ERR]),
    "lsql_session_builder_new": (_P, []),
    "lsql_session_builder_free": (None, [_P]),
    "lsql_session_builder_with_root": (ctypes.c_int, [_P, _P, _ERR]),
    "lsql_session_builder_add_catalog": (ctypes.c_int, [_P, ctypes.c_char_p, _P, _STRV, ctypes.c_size_t, _ERR]),
    "lsql_session_builder_default": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p, _ERR]),
    "lsql_session_builder_set_option": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p, _ERR]),
    "lsql_session_builder_build": (ctypes.c_int, [_P, ctypes.POINTER(_P), _ERR]),
    "lsql_session_free": (None, [_P]),
    "lsql_session_sql": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(ArrowArrayStream), _ERR]),
    "lsql_session_interrupt": (None, [_P]),
    "lsql_session_progress": (ctypes.c_double, [_P]),
}


def library_path():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.environ.get("LSQL_BUILD_DIR", os.path.join(root, "build")), "liblancesql.so")


_lib = None


def lib():
    """The loaded library (OSError if it is missing). Functions not yet exported are left unbound,
    so a partially built library still serves the functions it has."""
    global _lib
    if _lib is None:
        L = ctypes.CDLL(library_path())
        for name, (res, args) in _SIGNATURES.items():
            fn = getattr(L, name, None)
            if fn is not None:
                fn.restype, fn.argtypes = res, args
        _lib = L
    return _lib


def _fn(name):
    fn = getattr(lib(), name, None)
    if fn is None:
        raise LsqlError(EUNSUPPORTED, "EUNSUPPORTED", f"{name} is not exported by {library_path()}")
    return fn


def status_name(code):
    return _fn("lsql_status_name")(code).decode()


def version():
    return _fn("lsql_version")().decode()


def _call(name, *args):
    err = Error()
    rc = _fn(name)(*args, ctypes.byref(err))
    if rc != OK:
        code = err.code or rc
        raise LsqlError(code, status_name(code), err.message.decode(errors="replace"))


def _enc(s):
    return None if s is None else (s if isinstance(s, bytes) else str(s).encode())


def _strv(items):
    """NULL-terminated char* array (None stays NULL). The array keeps its strings alive."""
    if items is None:
        return None
    arr = (ctypes.c_char_p * (len(items) + 1))(*[_enc(s) for s in items], None)
    return ctypes.cast(arr, _STRV)


def _kv(d):
    if d is None:
        return None
    return _strv([x for kv in d.items() for x in kv])


def _id(parts):
    parts = list(parts)
    return (ctypes.c_char_p * max(len(parts), 1))(*[_enc(p) for p in parts]), len(parts)


def _strv_to_list(p):
    out, i = [], 0
    while p and p[i] is not None:
        out.append(p[i].decode())
        i += 1
    return out


def _read_stream(stream):
    """Imports a filled ArrowArrayStream and reads it to a pyarrow.Table (stream is consumed)."""
    reader = pa.RecordBatchReader._import_from_c(ctypes.addressof(stream))
    return reader.read_all()


def _take_json(ptr):
    try:
        return json.loads(ctypes.string_at(ptr.value).decode())
    finally:
        _fn("lsql_free")(ptr)


def _open_options(version=0, tag=None, branch=None, storage_options=None):
    opts = OpenOptions(version or 0, _enc(tag), _enc(branch), _kv(storage_options))
    opts._keep = opts.storage_options  # keep the key/value array alive with the struct
    return opts


# ---------------------------------------------------------------------------- objects

class Dataset:
    def __init__(self, uri, version=0, tag=None, branch=None, storage_options=None, _handle=None):
        self._h = None
        if _handle is not None:
            self._h = _handle
            return
        h = _P()
        _call("lsql_dataset_open", _enc(uri), ctypes.byref(_open_options(version, tag, branch, storage_options)),
              ctypes.byref(h))
        self._h = h

    def close(self):
        if self._h is not None and self._h.value:
            _fn("lsql_dataset_free")(self._h)
        self._h = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def version(self):
        return _fn("lsql_dataset_version")(self._h)

    @property
    def uri(self):
        return _fn("lsql_dataset_uri")(self._h).decode()

    def count_rows(self):
        n = ctypes.c_uint64()
        _call("lsql_dataset_count_rows", self._h, ctypes.byref(n))
        return n.value

    def schema(self):
        s = ArrowSchema()
        _call("lsql_dataset_schema", self._h, ctypes.byref(s))
        return pa.Schema._import_from_c(ctypes.addressof(s))

    def versions(self):
        """[(version, timestamp_us), ...] ascending."""
        p, n = ctypes.POINTER(VersionInfo)(), ctypes.c_size_t()
        _call("lsql_dataset_versions", self._h, ctypes.byref(p), ctypes.byref(n))
        try:
            return [(p[i].version, p[i].timestamp_us) for i in range(n.value)]
        finally:
            _fn("lsql_free")(ctypes.cast(p, _P))

    def scan_reader(self, columns=None, n_threads=0, batch_size=0, ordered=True, readahead_bytes=0):
        cols = _strv(columns)
        opts = ScanOptions(cols, n_threads, batch_size, 1 if ordered else 0, readahead_bytes)
        stream = ArrowArrayStream()
        _call("lsql_dataset_scan", self._h, ctypes.byref(opts), ctypes.byref(stream))
        return pa.RecordBatchReader._import_from_c(ctypes.addressof(stream))

    def scan(self, columns=None, n_threads=0, batch_size=0, ordered=True, readahead_bytes=0):
        return self.scan_reader(columns, n_threads, batch_size, ordered, readahead_bytes).read_all()

    def inspect(self):
        p = _P()
        _call("lsql_dataset_inspect", self._h, ctypes.byref(p))
        return _take_json(p)


def file_scan(path, columns=None):
    stream = ArrowArrayStream()
    _call("lsql_file_scan", _enc(path), _strv(columns), ctypes.byref(stream))
    return _read_stream(stream)


def file_inspect(path):
    p = _P()
    _call("lsql_file_inspect", _enc(path), ctypes.byref(p))
    return _take_json(p)


class Namespace:
    """lsql_connect(impl, properties); ids are lists of strings ([] = root)."""

    def __init__(self, impl="dir", **properties):
        h = _P()
        _call("lsql_connect", _enc(impl), _kv({k: str(v) for k, v in properties.items()}), ctypes.byref(h))
        self._h = h

    def close(self):
        if getattr(self, "_h", None) is not None and self._h.value:
            _fn("lsql_namespace_free")(self._h)
        self._h = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _list(self, fn, nid, page_token, limit):
        ids, n = _id(nid)
        out = StringList()
        _call(fn, self._h, ids, n, _enc(page_token), limit, ctypes.byref(out))
        try:
            items = [out.items[i].decode() for i in range(out.n_items)]
            token = out.next_page_token.decode() if out.next_page_token else None
        finally:
            _fn("lsql_string_list_free")(ctypes.byref(out))
        return items, token

    def list_namespaces(self, nid=(), page_token=None, limit=0):
        """Returns (names, next_page_token)."""
        return self._list("lsql_namespace_list_namespaces", nid, page_token, limit)

    def list_tables(self, nid=(), page_token=None, limit=0):
        return self._list("lsql_namespace_list_tables", nid, page_token, limit)

    def _exists(self, fn, nid):
        ids, n = _id(nid)
        e = ctypes.c_int()
        _call(fn, self._h, ids, n, ctypes.byref(e))
        return bool(e.value)

    def namespace_exists(self, nid):
        return self._exists("lsql_namespace_exists", nid)

    def table_exists(self, tid):
        return self._exists("lsql_namespace_table_exists", tid)

    def describe_table(self, tid):
        """{"location", "storage_options": {..}, "version"}"""
        ids, n = _id(tid)
        d = TableDesc()
        _call("lsql_namespace_describe_table", self._h, ids, n, ctypes.byref(d))
        try:
            kv = _strv_to_list(d.storage_options)
            return {"location": d.location.decode(), "storage_options": dict(zip(kv[::2], kv[1::2])),
                    "version": d.version}
        finally:
            _fn("lsql_table_desc_free")(ctypes.byref(d))

    def describe_namespace(self, nid):
        ids, n = _id(nid)
        p = ctypes.POINTER(ctypes.c_char_p)()
        _call("lsql_namespace_describe_namespace", self._h, ids, n, ctypes.byref(p))
        try:
            kv = _strv_to_list(p)
            return dict(zip(kv[::2], kv[1::2]))
        finally:
            _fn("lsql_strv_free")(ctypes.cast(p, _P))

    def open_table(self, tid, version=0, tag=None, branch=None, storage_options=None):
        ids, n = _id(tid)
        h = _P()
        _call("lsql_namespace_open_table", self._h, ids, n,
              ctypes.byref(_open_options(version, tag, branch, storage_options)), ctypes.byref(h))
        return Dataset(None, _handle=h)


class Session:
    """Builds a session: Session(root=ns, catalogs={"crm": (ns2, ["crm"])}, default=("retail", "sales"),
    options={"threads": "2"})."""

    def __init__(self, root=None, catalogs=None, default=None, options=None):
        b = _fn("lsql_session_builder_new")()
        if not b:
            raise LsqlError(ENOMEM, "ENOMEM", "lsql_session_builder_new")
        b = _P(b)
        try:
            if root is not None:
                _call("lsql_session_builder_with_root", b, root._h)
            for name, (ns, path) in (catalogs or {}).items():
                ids, n = _id(path or [])
                _call("lsql_session_builder_add_catalog", b, _enc(name), ns._h, ids, n)
            if default is not None:
                cat, schema = (default, None) if isinstance(default, str) else default
                _call("lsql_session_builder_default", b, _enc(cat), _enc(schema))
            for k, v in (options or {}).items():
                _call("lsql_session_builder_set_option", b, _enc(k), _enc(v))
            h = _P()
            _call("lsql_session_builder_build", b, ctypes.byref(h))
            self._h = h
        finally:
            _fn("lsql_session_builder_free")(b)

    def close(self):
        if getattr(self, "_h", None) is not None and self._h.value:
            _fn("lsql_session_free")(self._h)
        self._h = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def sql_reader(self, sql):
        stream = ArrowArrayStream()
        _call("lsql_session_sql", self._h, _enc(sql), ctypes.byref(stream))
        return pa.RecordBatchReader._import_from_c(ctypes.addressof(stream))

    def sql(self, sql):
        return self.sql_reader(sql).read_all()

    def interrupt(self):
        _fn("lsql_session_interrupt")(self._h)

    def progress(self):
        return _fn("lsql_session_progress")(self._h)
