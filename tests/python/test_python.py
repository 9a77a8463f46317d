"""End-to-end tests of the Python package lancesql (python/), against the reference.

Run after `make python` (or `pip install ./python` with LSQL_BUILD_DIR set):
    .venv/bin/python -m pytest -q tests/python

The namespaces are written here with lance_namespace/pylance (directory namespaces with a
__manifest), so the test does not depend on the fixture generator. The reference is the original
system: pylance's lance.namespace.NamespaceSession when the installed pylance has it, else
DataFusion (PyPI `datafusion`) over pylance's FFILanceTableProvider, one table registered per
catalog.schema.table, as the original crate maps them.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal

import pyarrow as pa
import pytest

lance = pytest.importorskip("lance")
ln = pytest.importorskip("lance_namespace")
lancesql = pytest.importorskip("lancesql")

# ---- data ------------------------------------------------------------------------------------

ROOT_TABLES = {
    ("retail", "sales", "customers"): pa.table({
        "customer_id": pa.array([1, 2, 3], pa.int32()),
        "name": ["Alice", "Bob", "Carol"],
        "city": ["NY", "SF", "LA"],
    }),
    ("retail", "sales", "orders"): pa.table({
        "order_id": pa.array([101, 102, 103], pa.int32()),
        "customer_id": pa.array([1, 2, 3], pa.int32()),
        "amount": pa.array([100, 200, 300], pa.int64()),
    }),
    ("wholesale", "sales2", "orders2"): pa.table({
        "order_id": pa.array([201, 202], pa.int32()),
        "customer_id": pa.array([1, 2], pa.int32()),
        "amount": pa.array([150, 250], pa.int64()),
    }),
}
CRM_TABLES = {
    ("crm", "dim", "customers_dim"): pa.table({
        "customer_id": pa.array([1, 2, 3], pa.int32()),
        "segment": ["Silver", "Gold", "Platinum"],
    }),
}


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _write_namespace(root: str, tables: dict) -> None:
    ns = ln.connect("dir", {"root": root})
    made = set()
    for tid, table in tables.items():
        for i in range(1, len(tid)):
            nid = tid[:i]
            if nid not in made:
                ns.create_namespace(ln.CreateNamespaceRequest(id=list(nid)))
                made.add(nid)
        ns.create_table(ln.CreateTableRequest(id=list(tid)), _ipc(table))


HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.environ.get("LSQL_FIXTURES") or os.path.join(REPO, "build", "fixtures")


@pytest.fixture(scope="session", params=["tmp", "fixtures", "examples"])
def roots(request, tmp_path_factory):
    """(root, crm) directory namespaces: written here ("tmp"), by tests/fixtures/generate.py
    (seed_root/seed_crm) and the committed examples/lake + examples/crm when present."""
    if request.param == "fixtures":
        root, crm = (os.path.join(FIXTURES, "namespaces", n) for n in ("seed_root", "seed_crm"))
    elif request.param == "examples":
        root, crm = (os.path.join(REPO, "examples", n) for n in ("lake", "crm"))
    else:
        base = tmp_path_factory.mktemp("lancesql_py")
        root, crm = str(base / "lake"), str(base / "crm")
        _write_namespace(root, ROOT_TABLES)
        _write_namespace(crm, CRM_TABLES)
    if not (os.path.isdir(os.path.join(root, "__manifest")) and os.path.isdir(crm)):
        pytest.skip(f"no {request.param} namespaces at {root}")
    return root, crm


@pytest.fixture(scope="session")
def session(roots):
    root, crm = roots
    return lancesql.NamespaceSession(
        root=lancesql.connect("dir", {"root": root}),
        catalogs={"crm": (lancesql.connect("dir", {"root": crm}), ["crm"])},
        default_catalog="retail", default_schema="sales")


# ---- the reference ---------------------------------------------------------------------------


class Reference:
    """The original system's answer for the same SQL."""

    def __init__(self, root: str, crm: str):
        import lance.namespace as lns

        self.kind = None
        if hasattr(lns, "NamespaceSession"):  # pylance with the Python NamespaceSession
            self.kind = "pylance"
            self._s = lns.NamespaceSession(
                root=ln.connect("dir", {"root": root}),
                catalogs={"crm": (ln.connect("dir", {"root": crm}), ["crm"])},
                default_catalog="retail", default_schema="sales")
            return
        datafusion = pytest.importorskip("datafusion")
        from datafusion.catalog import Catalog, Schema

        self.kind = "datafusion"
        cfg = datafusion.SessionConfig().with_default_catalog_and_schema("retail", "sales")
        self._ctx = datafusion.SessionContext(cfg)
        catalogs: dict = {}

        def register(ns_root: str, tables: dict, mount: tuple = ()):
            ns = ln.connect("dir", {"root": ns_root})
            for tid in tables:
                rel = tid[len(mount):]  # a mounted namespace's children become schemas
                cat_name = "crm" if mount else rel[0]
                schema_name, table_name = rel[-2], rel[-1]
                if cat_name not in catalogs:
                    cat = Catalog.memory_catalog()
                    self._ctx.register_catalog_provider(cat_name, cat)
                    catalogs[cat_name] = (cat, {})
                cat, schemas = catalogs[cat_name]
                if schema_name not in schemas:
                    schemas[schema_name] = Schema.memory_schema()
                    cat.register_schema(schema_name, schemas[schema_name])
                loc = ns.describe_table(ln.DescribeTableRequest(id=list(tid))).location
                provider = lance.FFILanceTableProvider(lance.dataset(loc))
                schemas[schema_name].register_table(table_name, provider)

        register(root, ROOT_TABLES)
        register(crm, CRM_TABLES, mount=("crm",))

    def sql(self, q: str) -> pa.Table:
        if self.kind == "pylance":
            return self._s.sql(q)
        return self._ctx.sql(q).to_arrow_table()


@pytest.fixture(scope="session")
def reference(roots):
    return Reference(*roots)


def _norm(v):
    if isinstance(v, Decimal) and v == v.to_integral_value():
        return int(v)  # DuckDB's SUM may come back as decimal128(38, 0) (HUGEINT)
    return v


def rows(table: pa.Table) -> list:
    return [tuple(_norm(v) for v in r.values()) for r in table.to_pylist()]


# ---- the original crate's five cases ---------------------------------------------------------

SEED = {
    "join_within_catalog": (
        "SELECT c.name, o.amount FROM retail.sales.customers c "
        "JOIN retail.sales.orders o ON c.customer_id = o.customer_id WHERE c.customer_id = 2",
        [("Bob", 200)]),
    "join_across_root_catalogs": (
        "SELECT c.name, o.amount FROM retail.sales.customers c "
        "JOIN wholesale.sales2.orders2 o ON c.customer_id = o.customer_id WHERE o.order_id = 202",
        [("Bob", 250)]),
    "join_across_mounted_catalogs": (
        "SELECT c.name, d.segment FROM retail.sales.customers c "
        "JOIN crm.dim.customers_dim d ON c.customer_id = d.customer_id WHERE c.customer_id = 3",
        [("Carol", "Platinum")]),
    "aggregate_by_city": (
        "SELECT c.city AS city, SUM(o.amount) AS total FROM retail.sales.customers c "
        "JOIN retail.sales.orders o ON c.customer_id = o.customer_id GROUP BY c.city ORDER BY c.city",
        [("LA", 300), ("NY", 100), ("SF", 200)]),
    "cte": (
        "WITH customer_orders AS (SELECT o.order_id, c.name, o.amount, c.customer_id "
        "FROM retail.sales.customers c JOIN retail.sales.orders o ON c.customer_id = o.customer_id) "
        "SELECT order_id, name, amount FROM customer_orders WHERE customer_id = 1",
        [(101, "Alice", 100)]),
}


@pytest.mark.parametrize("case", list(SEED))
def test_seed_case(session, reference, case):
    q, expected = SEED[case]
    ours = session.sql(q)
    assert isinstance(ours, pa.Table)
    assert rows(ours) == expected
    ref = reference.sql(q)
    assert rows(ref) == expected, f"reference ({reference.kind}) disagrees"
    assert ours.column_names == ref.column_names
    # Same values once cast to the reference's types (SUM: int64 there, int64/int128 here).
    assert ours.cast(ref.schema, safe=True).equals(ref.cast(ref.schema))


def test_default_catalog_and_schema(session):
    t = session.sql("SELECT name FROM customers ORDER BY customer_id")
    assert t.column("name").to_pylist() == ["Alice", "Bob", "Carol"]
    t = session.sql("SELECT count(*) AS n FROM sales.orders")
    assert rows(t) == [(3,)]


def test_root_as_path_and_config(roots):
    root, _ = roots
    s = lancesql.NamespaceSession(root=root, config={"threads": 1})
    assert rows(s.sql("SELECT SUM(amount) FROM retail.sales.orders")) == [(600,)]


# ---- namespaces ------------------------------------------------------------------------------


def test_namespace_api(roots):
    root, crm = roots
    ns = lancesql.connect("dir", {"root": root})
    assert sorted(ns.list_namespaces([])) == ["retail", "wholesale"]
    assert ns.list_namespaces(["retail"]) == ["sales"]
    assert sorted(ns.list_tables(["retail", "sales"])) == ["customers", "orders"]
    assert ns.namespace_exists(["retail", "sales"])
    assert not ns.namespace_exists(["retail", "nope"])
    assert ns.table_exists(["retail", "sales", "orders"])
    assert not ns.table_exists(["retail", "sales", "nope"])
    d = ns.describe_table(["retail", "sales", "orders"])
    ref = ln.connect("dir", {"root": root}).describe_table(
        ln.DescribeTableRequest(id=["retail", "sales", "orders"]))
    assert os.path.normpath(d["location"].replace("file://", "")) == \
        os.path.normpath(ref.location.replace("file://", ""))
    with pytest.raises(lancesql.NotFoundError):
        ns.describe_table(["retail", "sales", "nope"])
    t = ns.open_table(["retail", "sales", "orders"]).to_table()
    assert t.equals(lance.dataset(ref.location).to_table())
    # Paging, and the mounted namespace.
    first = ns.list_tables(["retail", "sales"], limit=1)
    assert first == ["customers"]
    assert isinstance(ns.describe_namespace(["retail"]), dict)
    crm_ns = lancesql.connect("dir", {"root": crm})
    assert crm_ns.list_namespaces(["crm"]) == ["dim"]
    assert crm_ns.list_tables("crm.dim") == ["customers_dim"]


# ---- streaming and the Arrow PyCapsule interface ---------------------------------------------


def test_sql_reader_streams(session):
    reader = session.sql_reader("SELECT range AS i FROM range(100000)")
    assert isinstance(reader, pa.RecordBatchReader)
    n, total, batches = 0, 0, 0
    for batch in reader:
        batches += 1
        n += batch.num_rows
        total += pa.compute.sum(batch.column(0)).as_py()
    assert n == 100000 and total == sum(range(100000))
    assert batches > 1  # produced incrementally, not one materialised batch


def test_query_result_pycapsule_pyarrow(session):
    res = session.query("SELECT * FROM retail.sales.customers ORDER BY customer_id")
    assert res.schema.names == ["customer_id", "name", "city"]
    reader = pa.RecordBatchReader.from_stream(res)
    t = reader.read_all()
    assert rows(t) == [(1, "Alice", "NY"), (2, "Bob", "SF"), (3, "Carol", "LA")]
    with pytest.raises(lancesql.Error):
        res.__arrow_c_stream__()  # a stream is handed over once


def test_query_result_duckdb(session):
    duckdb = pytest.importorskip("duckdb")
    res = session.query("SELECT o.customer_id, o.amount FROM retail.sales.orders o")
    got = duckdb.sql("SELECT sum(amount)::BIGINT AS s, count(*) AS n FROM res").fetchall()
    assert got == [(600, 3)]
    # A pyarrow reader built from our stream works too.
    reader = pa.RecordBatchReader.from_stream(session.query("SELECT * FROM crm.dim.customers_dim"))
    got = duckdb.sql("SELECT segment FROM reader ORDER BY customer_id").fetchall()
    assert got == [("Silver",), ("Gold",), ("Platinum",)]


def test_query_result_iteration_and_table(session):
    res = session.query("SELECT order_id FROM retail.sales.orders ORDER BY order_id")
    assert [v for b in res for v in b.column(0).to_pylist()] == [101, 102, 103]
    assert res.closed
    empty = session.sql("SELECT * FROM retail.sales.orders WHERE order_id < 0")
    assert empty.num_rows == 0 and empty.column_names == ["order_id", "customer_id", "amount"]


# ---- errors ----------------------------------------------------------------------------------


def test_errors_are_exceptions(session, roots):
    with pytest.raises(lancesql.SQLError) as e:
        session.sql("SELEC 1")
    assert e.value.code == 8 and e.value.status == "ESQL" and str(e.value)
    with pytest.raises(lancesql.Error) as e:
        session.sql("SELECT * FROM retail.sales.nope")
    assert "nope" in str(e.value)
    with pytest.raises((lancesql.ReadOnlyError, lancesql.SQLError)):
        session.sql("CREATE TABLE retail.sales.x AS SELECT 1")
    with pytest.raises(lancesql.Error):
        lancesql.connect("nope", {})
    with pytest.raises(lancesql.NotFoundError):
        lancesql.dataset(os.path.join(roots[0], "missing.lance"))
    assert issubclass(lancesql.NotFoundError, lancesql.Error)
    with pytest.raises(lancesql.NotFoundError):
        lancesql.dataset(roots[0], version=999)
    # The session still works after errors.
    assert rows(session.sql("SELECT 1 AS one")) == [(1,)]


# ---- datasets --------------------------------------------------------------------------------


def test_dataset_matches_pylance(tmp_path):
    n = 20000
    t = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "x": pa.array([i * 0.5 for i in range(n)], pa.float64()),
        "s": pa.array([None if i % 7 == 0 else f"v{i % 100}" for i in range(n)]),
    })
    uri = str(tmp_path / "d.lance")
    lance.write_dataset(t, uri, max_rows_per_file=8000)
    lance.write_dataset(t.slice(0, 10), uri, mode="append")
    ref = lance.dataset(uri)
    ds = lancesql.dataset(uri)
    assert ds.version == ref.version == 2
    assert ds.count_rows() == ref.count_rows() == n + 10
    assert ds.schema.equals(ref.schema)
    assert ds.to_table().equals(ref.to_table())
    assert ds.to_table(columns=["s", "id"]).equals(ref.to_table(columns=["s", "id"]))
    ref.tags.create("first", 1)
    tagged = lancesql.dataset(uri, tag="first")
    assert tagged.version == 1 and tagged.count_rows() == n
    old = lancesql.dataset(uri, version=1)
    assert old.version == 1 and old.to_table().equals(lance.dataset(uri, version=1).to_table())
    assert pa.RecordBatchReader.from_stream(ds).read_all().num_rows == n + 10


# ---- threads, GIL and interruption -----------------------------------------------------------


def test_gil_released_during_query(session):
    # Another Python thread makes progress while a query runs.
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.005)

    th = threading.Thread(target=ticker)
    th.start()
    try:
        session.sql("SELECT sum(a.range * b.range) AS s FROM range(3000) a, range(3000) b")
    finally:
        stop.set()
        th.join()
    assert len(ticks) > 0


def test_interrupt_from_another_thread(session):
    timer = threading.Timer(0.5, session.interrupt)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(lancesql.CancelledError):
        session.sql("SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = -1")
    assert time.monotonic() - t0 < 10
    timer.cancel()
    assert rows(session.sql("SELECT 2 AS two")) == [(2,)]


def test_keyboard_interrupt_cancels_query(roots):
    # In a child process, so a failure cannot hang or kill the test runner.
    root, _ = roots
    script = textwrap.dedent(f"""
        import os, signal, sys, threading, time
        import lancesql
        s = lancesql.NamespaceSession(root={root!r})
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t0 = time.monotonic()
        try:
            s.sql("SELECT count(*) FROM retail.sales.orders o, range(1000000) a, range(1000000) b "
                  "WHERE a.range + b.range = -o.amount")
            print("NOT INTERRUPTED")
        except KeyboardInterrupt:
            print("INTERRUPTED %.2f" % (time.monotonic() - t0))
        # The session is usable afterwards.
        print("AFTER", s.sql("SELECT 42 AS x").column(0).to_pylist())
        # Ctrl-C while streaming batches (not only in the first fetch) stops the stream too.
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t0, n = time.monotonic(), 0
        try:
            for b in s.sql_reader("SELECT range * 2 AS x FROM range(100000000000)"):
                n += b.num_rows
            print("NOT INTERRUPTED")
        except KeyboardInterrupt:
            print("STREAM INTERRUPTED %.2f %d" % (time.monotonic() - t0, n > 0))
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0].startswith("INTERRUPTED"), p.stdout + p.stderr
    assert float(lines[0].split()[1]) < 3.0
    assert lines[1] == "AFTER [42]"
    assert lines[2].startswith("STREAM INTERRUPTED"), p.stdout + p.stderr
    assert float(lines[2].split()[2]) < 3.0 and lines[2].split()[3] == "1"


def test_concurrent_queries(session):
    from concurrent.futures import ThreadPoolExecutor

    q = ("SELECT c.name, o.amount FROM retail.sales.customers c JOIN retail.sales.orders o "
         "ON c.customer_id = o.customer_id ORDER BY o.amount")
    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(lambda _: rows(session.sql(q)), range(16)))
    assert all(r == [("Alice", 100), ("Bob", 200), ("Carol", 300)] for r in results)
