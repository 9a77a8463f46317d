"""lancesql: SQL over Lance datasets organised in Lance Namespaces.

The Python face of liblancesql (a C library running DuckDB over Lance), shaped like the original
``lance.namespace.NamespaceSession``::

    import lancesql
    root = lancesql.connect("dir", {"root": "/data/lake"})
    crm = lancesql.connect("dir", {"root": "/data/crm"})
    session = lancesql.NamespaceSession(root=root, catalogs={"crm": (crm, ["crm"])},
                                        default_catalog="retail", default_schema="sales")
    table = session.sql("SELECT * FROM customers")          # pyarrow.Table
    reader = session.sql_reader("SELECT ...")               # pyarrow.RecordBatchReader (streaming)
    result = session.query("SELECT ...")                    # QueryResult (__arrow_c_stream__)

Results cross the C boundary through the Arrow C data interface, without a copy. Queries run
with the GIL released; Ctrl-C (KeyboardInterrupt) interrupts a running query.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import pyarrow as pa

from . import _lancesql
from ._lancesql import (  # noqa: F401  (re-exported)
    CancelledError,
    CorruptError,
    Error,
    InvalidArgumentError,
    IoError,
    LimitError,
    NotFoundError,
    OutOfMemoryError,
    PermissionDeniedError,
    ReadOnlyError,
    RemoteError,
    SQLError,
    UnsupportedError,
)

__version__ = "0.1.0"

__all__ = [
    "connect",
    "dataset",
    "Namespace",
    "NamespaceSession",
    "QueryResult",
    "Dataset",
    "Error",
    "InvalidArgumentError",
    "OutOfMemoryError",
    "IoError",
    "NotFoundError",
    "CorruptError",
    "UnsupportedError",
    "ReadOnlyError",
    "SQLError",
    "CancelledError",
    "PermissionDeniedError",
    "RemoteError",
    "LimitError",
    "library_version",
]

Id = Sequence[str]


def library_version() -> str:
    """Version of the liblancesql the extension is linked with."""
    return _lancesql.library_version()


def _id(id: Union[Id, str, None]) -> List[str]:
    if id is None:
        return []
    if isinstance(id, str):
        # "a.b.c" is accepted for convenience; a list keeps components containing dots intact.
        return id.split(".") if id else []
    return list(id)


# ---- query results -------------------------------------------------------------------------


class QueryResult:
    """The streamed result of one query (or one dataset scan), consumable once.

    Implements the Arrow PyCapsule stream protocol (``__arrow_c_stream__``), so pyarrow
    (``pa.RecordBatchReader.from_stream``), polars (``pl.DataFrame(result)``) and DuckDB
    (``duckdb.sql("SELECT * FROM result")``) read it without a copy. ``to_table()`` and iteration
    fetch batch by batch with Ctrl-C able to interrupt the query.
    """

    def __init__(self, stream: "_lancesql.Stream") -> None:
        self._stream = stream
        self._schema: Optional[pa.Schema] = None

    @property
    def schema(self) -> pa.Schema:
        """The result's Arrow schema."""
        if self._schema is None:
            self._schema = pa.Schema._import_from_c_capsule(self._stream.schema())
        return self._schema

    def _next_batch(self) -> Optional[pa.RecordBatch]:
        cap = self._stream.next_batch()
        if cap is None:
            return None
        return pa.RecordBatch._import_from_c_capsule(self._stream.schema(), cap)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        """Yields the record batches as they are produced."""
        self.schema  # cache it: the stream is closed at the end or on an error
        while True:
            batch = self._next_batch()
            if batch is None:
                self._stream.close()
                return
            yield batch

    def to_table(self) -> pa.Table:
        """Reads the whole result into a ``pyarrow.Table``."""
        schema = self.schema
        return pa.Table.from_batches(list(self), schema=schema)

    def to_reader(self) -> pa.RecordBatchReader:
        """A streaming ``pyarrow.RecordBatchReader`` over the result (interruptible by Ctrl-C)."""
        return pa.RecordBatchReader.from_batches(self.schema, iter(self))

    def read_all(self) -> pa.Table:
        """Alias of :meth:`to_table`."""
        return self.to_table()

    def to_pandas(self, **kwargs: Any) -> Any:
        """The result as a pandas DataFrame (needs pandas)."""
        return self.to_table().to_pandas(**kwargs)

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        """Exports the result as an ``arrow_array_stream`` PyCapsule (hands it over once)."""
        return self._stream.__arrow_c_stream__(requested_schema)

    def close(self) -> None:
        """Releases the result (cancels nothing that already finished)."""
        self._stream.close()

    @property
    def closed(self) -> bool:
        return bool(self._stream.closed)

    def __enter__(self) -> "QueryResult":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "consumed" if self.closed else "open"
        return f"<lancesql.QueryResult {state}>"


# ---- namespaces ------------------------------------------------------------------------------


class Namespace:
    """A connected Lance namespace (``"dir"`` or ``"rest"``), from :func:`connect`.

    Ids are lists of components; ``[]`` is the root namespace.
    """

    def __init__(self, handle: "_lancesql.Namespace", impl: str, properties: Mapping[str, Any]) -> None:
        self._handle = handle
        self.impl = impl
        self.properties = dict(properties)

    def _list(self, fn: Any, id: Union[Id, str, None], page_token: Optional[str],
              limit: Optional[int]) -> List[str]:
        if page_token is not None or limit:
            items, _ = fn(_id(id), page_token, limit or 0)
            return items
        out: List[str] = []
        token: Optional[str] = None
        while True:
            items, token = fn(_id(id), token, 0)
            out.extend(items)
            if not token:
                return out

    def list_namespaces(self, id: Union[Id, str, None] = None, page_token: Optional[str] = None,
                        limit: Optional[int] = None) -> List[str]:
        """Names of the child namespaces of ``id`` (all pages unless page_token/limit given)."""
        return self._list(self._handle.list_namespaces, id, page_token, limit)

    def list_tables(self, id: Union[Id, str, None] = None, page_token: Optional[str] = None,
                    limit: Optional[int] = None) -> List[str]:
        """Names of the tables directly in namespace ``id``."""
        return self._list(self._handle.list_tables, id, page_token, limit)

    def namespace_exists(self, id: Union[Id, str]) -> bool:
        """True if the namespace ``id`` exists."""
        return self._handle.namespace_exists(_id(id))

    def table_exists(self, id: Union[Id, str]) -> bool:
        """True if the table ``id`` exists."""
        return self._handle.table_exists(_id(id))

    def describe_table(self, id: Union[Id, str]) -> Dict[str, Any]:
        """``{"location": str, "storage_options": dict, "version": int | None}``."""
        return self._handle.describe_table(_id(id))

    def describe_namespace(self, id: Union[Id, str, None] = None) -> Dict[str, str]:
        """The namespace's properties."""
        return self._handle.describe_namespace(_id(id))

    def open_table(self, id: Union[Id, str], version: Optional[int] = None,
                   tag: Optional[str] = None) -> "Dataset":
        """Opens table ``id`` as a :class:`Dataset` (latest, or a version or tag)."""
        return Dataset(self._handle.open_table(_id(id), version or 0, tag))

    def __repr__(self) -> str:
        return f"<lancesql.Namespace {self.impl} {self.properties!r}>"


def connect(impl: str, properties: Optional[Mapping[str, Any]] = None) -> Namespace:
    """Connects to a namespace implementation, like ``lance_namespace.connect``.

    ``impl`` is ``"dir"`` (properties: ``root``, ``manifest_enabled``, ``dir_listing_enabled``,
    ``storage.*``) or ``"rest"`` (``uri``, ``delimiter``, ``header.*``, ``timeout_ms``,
    ``retries``). Values are passed as strings (booleans as ``"true"``/``"false"``).
    """
    props = dict(properties or {})
    return Namespace(_lancesql.connect(impl, props), impl, props)


# ---- sessions --------------------------------------------------------------------------------

CatalogSpec = Union[Namespace, Tuple[Namespace, Optional[Sequence[str]]]]


def _as_namespace(ns: Union[Namespace, str, "os.PathLike[str]"]) -> Namespace:
    if isinstance(ns, Namespace):
        return ns
    import os

    if isinstance(ns, (str, os.PathLike)):
        return connect("dir", {"root": os.fspath(ns)})
    raise TypeError(f"expected a lancesql.Namespace or a directory path, not {type(ns).__name__}")


class NamespaceSession:
    """SQL over Lance namespaces, like the original ``lance.namespace.NamespaceSession``.

    - ``root``: a :class:`Namespace` (or a directory path); its child namespaces become catalogs
      and theirs schemas, so ``retail.sales.orders`` names table ``["retail", "sales", "orders"]``.
    - ``catalogs``: ``{name: (namespace, path or None)}`` mounts namespace ``path`` (``None``:
      the namespace's root) of another namespace as catalog ``name``; its children are schemas.
    - ``default_catalog`` / ``default_schema``: for one- and two-part table names.
    - ``config``: session options (``threads``, ``memory_limit``, ``batch_size``,
      ``allow_external_access``).

    Sessions are read-only. Several queries may run at once from different threads.
    """

    def __init__(self, root: Union[Namespace, str, None] = None,
                 catalogs: Optional[Mapping[str, CatalogSpec]] = None,
                 default_catalog: Optional[str] = None, default_schema: Optional[str] = None,
                 config: Optional[Mapping[str, Any]] = None) -> None:
        root_ns = _as_namespace(root) if root is not None else None
        mounts = []
        for name, spec in (catalogs or {}).items():
            if isinstance(spec, tuple):
                if len(spec) != 2:
                    raise ValueError(f"catalog {name!r}: expected (namespace, path), got {spec!r}")
                ns, path = spec
            else:
                ns, path = spec, None
            ns = _as_namespace(ns)
            mounts.append((name, ns._handle, None if path is None else _id(path)))
        self._namespaces = (root_ns, [m[1] for m in mounts])  # keep the handles alive with us
        self._session = _lancesql.build_session(
            root_ns._handle if root_ns is not None else None, mounts, default_catalog,
            default_schema, dict(config) if config else None)
        self.default_catalog = default_catalog
        self.default_schema = default_schema

    def query(self, query: str) -> QueryResult:
        """Runs ``query`` and returns its streamed result (``__arrow_c_stream__``, once).

        Errors in the query (syntax, binding, missing tables) are raised here.
        """
        return QueryResult(self._session.sql(query))

    def sql(self, query: str) -> pa.Table:
        """Runs ``query`` and returns its result as a ``pyarrow.Table``."""
        return self.query(query).to_table()

    def sql_reader(self, query: str) -> pa.RecordBatchReader:
        """Runs ``query`` and returns a streaming ``pyarrow.RecordBatchReader``."""
        return self.query(query).to_reader()

    def interrupt(self) -> None:
        """Interrupts every query running on this session (safe from any thread)."""
        self._session.interrupt()

    def progress(self) -> float:
        """Progress of the running queries in [0, 1], or -1 when unknown."""
        return self._session.progress()

    def __repr__(self) -> str:
        return (f"<lancesql.NamespaceSession default={self.default_catalog}."
                f"{self.default_schema}>")


# ---- datasets --------------------------------------------------------------------------------


class Dataset:
    """A Lance dataset opened at one version (see :func:`dataset`)."""

    def __init__(self, handle: "_lancesql.Dataset") -> None:
        self._handle = handle

    @property
    def uri(self) -> str:
        return self._handle.uri

    @property
    def version(self) -> int:
        """The version this dataset was opened at."""
        return self._handle.version

    @property
    def schema(self) -> pa.Schema:
        """The dataset's Arrow schema."""
        return pa.Schema._import_from_c_capsule(self._handle.schema())

    def count_rows(self) -> int:
        """Number of live rows (deleted rows excluded)."""
        return self._handle.count_rows()

    def versions(self) -> List[Dict[str, int]]:
        """``[{"version": v, "timestamp_us": t}, ...]``, ascending."""
        return [{"version": v, "timestamp_us": t} for v, t in self._handle.versions()]

    def inspect(self) -> Dict[str, Any]:
        """Versions, fragments, data files and per-column page layouts/compression as a dict."""
        return json.loads(self._handle.inspect())

    def scan(self, columns: Optional[Sequence[str]] = None, batch_size: Optional[int] = None,
             threads: Optional[int] = None, ordered: bool = True) -> QueryResult:
        """A streamed scan (``__arrow_c_stream__``); columns may include ``_rowid``/``_rowaddr``."""
        cols = None if columns is None else list(columns)
        return QueryResult(self._handle.scan(cols, batch_size or 0, threads or 0, ordered))

    def to_batches(self, columns: Optional[Sequence[str]] = None,
                   batch_size: Optional[int] = None) -> pa.RecordBatchReader:
        """A streaming ``pyarrow.RecordBatchReader`` over the dataset."""
        return self.scan(columns, batch_size).to_reader()

    def to_table(self, columns: Optional[Sequence[str]] = None,
                 batch_size: Optional[int] = None) -> pa.Table:
        """Reads the dataset (or some columns) into a ``pyarrow.Table``, in row order."""
        return self.scan(columns, batch_size).to_table()

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        """A full scan as an ``arrow_array_stream`` PyCapsule."""
        return self.scan().__arrow_c_stream__(requested_schema)

    def __repr__(self) -> str:
        return f"<lancesql.Dataset {self.uri} version={self.version}>"


def dataset(uri: str, version: Optional[int] = None, tag: Optional[str] = None,
            branch: Optional[str] = None,
            storage_options: Optional[Mapping[str, str]] = None) -> Dataset:
    """Opens the Lance dataset at ``uri`` (path, ``file://`` or ``s3://``), like ``lance.dataset``.

    ``version`` or ``tag`` open an older version; ``branch`` the latest version of a branch.
    """
    import os

    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    return Dataset(_lancesql.open_dataset(uri, version or 0, tag, branch,
                                          dict(storage_options) if storage_options else None))
