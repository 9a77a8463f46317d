"""Minimal ctypes bindings to the dataset API of liblancesql (table-layer conformance tests)."""
import ctypes
import os

import pyarrow as pa

from lsql import library_path

LIB = os.environ.get("LSQL_LIB") or library_path()


class Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512)]


class OpenOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_int64), ("tag", ctypes.c_char_p), ("branch", ctypes.c_char_p),
                ("storage_options", ctypes.c_void_p)]


class ScanOptions(ctypes.Structure):
    _fields_ = [("columns", ctypes.POINTER(ctypes.c_char_p)), ("n_threads", ctypes.c_int),
                ("batch_size", ctypes.c_int64), ("ordered", ctypes.c_int),
                ("readahead_bytes", ctypes.c_int64)]


class LsqlError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


_lib = ctypes.CDLL(LIB)
_lib.lsql_dataset_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(OpenOptions),
                                   ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(Error)]
_lib.lsql_dataset_free.argtypes = [ctypes.c_void_p]
_lib.lsql_dataset_version.argtypes = [ctypes.c_void_p]
_lib.lsql_dataset_version.restype = ctypes.c_uint64
_lib.lsql_dataset_count_rows.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(Error)]
_lib.lsql_dataset_scan.argtypes = [ctypes.c_void_p, ctypes.POINTER(ScanOptions), ctypes.c_void_p,
                                   ctypes.POINTER(Error)]
_lib.lsql_dataset_schema.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(Error)]
_lib.lsql_dataset_inspect.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(Error)]
_lib.lsql_free.argtypes = [ctypes.c_void_p]


def _check(rc, err):
    if rc:
        raise LsqlError(rc, err.message.decode())


class Dataset:
    def __init__(self, uri, version=0, tag=None, branch=None):
        self.h = None
        o = OpenOptions(version, tag.encode() if tag else None, branch.encode() if branch else None, None)
        h = ctypes.c_void_p()
        err = Error()
        _check(_lib.lsql_dataset_open(uri.encode(), ctypes.byref(o), ctypes.byref(h), ctypes.byref(err)), err)
        self.h = h

    def close(self):
        if self.h:
            _lib.lsql_dataset_free(self.h)
            self.h = None

    __del__ = close

    @property
    def version(self):
        return _lib.lsql_dataset_version(self.h)

    def count_rows(self):
        n = ctypes.c_uint64()
        err = Error()
        _check(_lib.lsql_dataset_count_rows(self.h, ctypes.byref(n), ctypes.byref(err)), err)
        return n.value

    def schema(self):
        buf = (ctypes.c_byte * 72)()
        err = Error()
        _check(_lib.lsql_dataset_schema(self.h, ctypes.addressof(buf), ctypes.byref(err)), err)
        return pa.Schema._import_from_c(ctypes.addressof(buf))

    def inspect(self):
        p = ctypes.c_void_p()
        err = Error()
        _check(_lib.lsql_dataset_inspect(self.h, ctypes.byref(p), ctypes.byref(err)), err)
        s = ctypes.string_at(p).decode()
        _lib.lsql_free(p)
        return s

    def reader(self, columns=None, n_threads=0, batch_size=0, ordered=1, readahead=0):
        cols = None
        if columns is not None:
            arr = (ctypes.c_char_p * (len(columns) + 1))(*[c.encode() for c in columns], None)
            cols = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
        o = ScanOptions(cols, n_threads, batch_size, ordered, readahead)
        stream = (ctypes.c_byte * 40)()
        err = Error()
        _check(_lib.lsql_dataset_scan(self.h, ctypes.byref(o), ctypes.addressof(stream), ctypes.byref(err)), err)
        return pa.RecordBatchReader._import_from_c(ctypes.addressof(stream))

    def to_table(self, **kw):
        return self.reader(**kw).read_all()
