"""Several threads calling get_next on ONE scan stream (the SQL bridge relies on it: DuckDB's
threads pull batches from one stream). Python threads call the stream's C get_next through ctypes,
which releases the GIL, so the calls really overlap. Every live row address (_rowaddr) must come
out exactly once, with its own row's values; a single ordered consumer sees increasing addresses.
Small batches (7 rows) and readahead_bytes=1 (a one-batch window) make the threads race on nearly
every batch; 1-3 decoding threads; fixtures with deletions, several fragments, stable row ids,
schema evolution, no fragments, for file versions 2.0, 2.1 and 2.2."""
import ctypes
import os
import threading

import pytest

from conftest import fixtures_dir, run_threads


class ArrowArray(ctypes.Structure):
    pass


ArrowArray._fields_ = [
    ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowArray))),
    ("dictionary", ctypes.POINTER(ArrowArray)),
    ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]

VERSIONS = ["2.0", "2.1", "2.2"]
RECIPES = ["deletions", "fragments", "stable_rowids", "evolved", "empty", "compacted"]
# (decoding threads, consumer threads, ordered, readahead_bytes)
CONFIGS = [(1, 4, 1, 1), (2, 4, 0, 0), (3, 3, 1, 0), (2, 4, 0, 1), (3, 1, 1, 1)]
BATCH = 7


def _dataset(version, recipe):
    path = os.path.join(fixtures_dir(), "datasets", version, recipe)
    if not os.path.isdir(path):
        pytest.fail(f"fixture {path} is missing (run make fixtures)")
    return path


def _expected(path, column):
    import lance
    t = lance.dataset(path).to_table(columns=[column], with_row_address=True)
    return dict(zip(t.column("_rowaddr").to_pylist(), t.column(column).to_pylist()))


def _scan_concurrently(lsql, ds, columns, n_threads, consumers, ordered, readahead, label):
    """Runs `consumers` threads on one stream; returns per-thread [(rowaddr, value)] (fails, with
    `label` leading the message, when a thread fails)."""
    import pyarrow as pa
    cols = (ctypes.c_char_p * (len(columns) + 1))(*[c.encode() for c in columns], None)
    opts = lsql.ScanOptions(cols, n_threads, BATCH, ordered, readahead)
    stream = lsql.ArrowArrayStream()
    lsql._call("lsql_dataset_scan", ds._h, ctypes.byref(opts), ctypes.byref(stream))
    sp = ctypes.POINTER(lsql.ArrowArrayStream)
    get_schema = ctypes.CFUNCTYPE(ctypes.c_int, sp, ctypes.POINTER(lsql.ArrowSchema))(stream.get_schema)
    get_next = ctypes.CFUNCTYPE(ctypes.c_int, sp, ctypes.POINTER(ArrowArray))(stream.get_next)
    last_error = ctypes.CFUNCTYPE(ctypes.c_char_p, sp)(stream.get_last_error)
    release = ctypes.CFUNCTYPE(None, sp)(stream.release)
    try:
        cs = lsql.ArrowSchema()
        assert get_schema(ctypes.byref(stream), ctypes.byref(cs)) == 0
        schema = pa.Schema._import_from_c(ctypes.addressof(cs))
        seen = [[] for _ in range(consumers)]
        start = threading.Barrier(consumers)

        def consume(i):
            start.wait()
            while True:
                arr = ArrowArray()
                rc = get_next(ctypes.byref(stream), ctypes.byref(arr))  # GIL released here
                assert rc == 0, f"get_next: {rc}: {last_error(ctypes.byref(stream))}"
                if not arr.release:
                    return
                rb = pa.RecordBatch._import_from_c(ctypes.addressof(arr), schema)
                assert rb.num_rows <= BATCH, rb.num_rows
                seen[i].extend(zip(rb.column("_rowaddr").to_pylist(), rb.column(columns[0]).to_pylist()))

        run_threads(consume, consumers, label)
        return seen
    finally:
        release(ctypes.byref(stream))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("recipe", RECIPES)
def test_concurrent_get_next_one_stream(lsql, version, recipe):
    path = _dataset(version, recipe)
    column = "extra" if recipe == "evolved" else "id"  # evolved: a column older fragments lack
    want = _expected(path, column)
    with lsql.Dataset(path) as ds:
        assert ds.count_rows() == len(want)
        for n_threads, consumers, ordered, readahead in CONFIGS:
            cfg = f"threads={n_threads} consumers={consumers} ordered={ordered} readahead={readahead}"
            seen = _scan_concurrently(lsql, ds, [column, "_rowaddr"], n_threads, consumers, ordered,
                                      readahead, f"{cfg}: ")
            rows = [r for s in seen for r in s]
            addrs = [a for a, _ in rows]
            assert len(addrs) == len(set(addrs)), f"{cfg}: a row address came out twice"
            assert set(addrs) == set(want), f"{cfg}: {len(addrs)} rows, {len(want)} live rows expected"
            bad = [(a, v) for a, v in rows if want[a] != v]
            assert not bad, f"{cfg}: values of other rows: {bad[:5]}"
            if ordered and consumers == 1:
                assert addrs == sorted(addrs), f"{cfg}: ordered scan out of order"
