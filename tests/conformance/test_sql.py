"""SQL conformance: the same queries through lancesql sessions and through DuckDB's Python client
over the reference reading (pylance to_table registered under the same catalog.schema.table
names), compared value by value.

The data is written here with pylance through a directory namespace (lake.sales.*, lake.vec.*),
so the test does not depend on the fixture generator's index; types cover ints, floats, strings,
booleans, decimals, dates, timestamps (with and without zone), lists, structs and vectors.
"""
import datetime
import math
import os

import duckdb
import lance
import numpy as np
import pyarrow as pa
import pytest

import lsql

lns = pytest.importorskip("lance_namespace")


def _create_table(ns, tid, table):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    ns.create_table(lns.CreateTableRequest(id=list(tid)), sink.getvalue().to_pybytes())


def _tables():
    rng = np.random.default_rng(7)
    n = 3000
    regions = np.array(["north", "south", "east", "west", None], dtype=object)
    qty = rng.integers(0, 50, n).astype("int32")
    orders = pa.table({
        "order_id": pa.array(np.arange(n, dtype="int64")),
        "customer_id": pa.array(rng.integers(0, 60, n).astype("int32")),
        "amount": pa.array(np.round(rng.random(n) * 1000, 2)),
        "qty": pa.array(qty, mask=(qty % 7 == 0)),
        "region": pa.array(regions[rng.integers(0, 5, n)].tolist(), pa.string()),
        "paid": pa.array((rng.random(n) > 0.3).tolist()),
        "price": pa.array([None if i % 11 == 0 else __import__("decimal").Decimal(f"{i % 997}.{i % 100:02d}")
                           for i in range(n)], pa.decimal128(10, 2)),
        "day": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=int(d)) for d in rng.integers(0, 365, n)],
                        pa.date32()),
        "ts": pa.array((1_700_000_000_000_000 + rng.integers(0, 10**12, n)).astype("int64"), pa.timestamp("us")),
        "ts_tz": pa.array((1_700_000_000_000_000 + rng.integers(0, 10**12, n)).astype("int64"),
                          pa.timestamp("us", tz="UTC")),
    })
    m = 60
    customers = pa.table({
        "customer_id": pa.array(np.arange(m, dtype="int32")),
        "name": pa.array([f"customer-{i:03d}-" + "x" * (i % 17) for i in range(m)]),
        "tags": pa.array([[f"t{j}" for j in range(i % 4)] if i % 9 else None for i in range(m)],
                         pa.list_(pa.string())),
        "addr": pa.array([{"city": ["NY", "SF", "LA"][i % 3], "zip": 10000 + i} if i % 13 else None for i in range(m)],
                         pa.struct([("city", pa.string()), ("zip", pa.int32())])),
    })
    k = 500
    emb = rng.random((k, 8)).astype("float32")
    items = pa.table({
        "item_id": pa.array(np.arange(k, dtype="int32")),
        "emb": pa.FixedSizeListArray.from_arrays(pa.array(emb.reshape(-1)), 8),
    })
    return orders, customers, items, emb


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("sqllake"))
    ns = lns.connect("dir", {"root": root})
    for nid in (["lake"], ["lake", "sales"], ["lake", "vec"]):
        ns.create_namespace(lns.CreateNamespaceRequest(id=nid))
    orders, customers, items, emb = _tables()
    _create_table(ns, ["lake", "sales", "orders"], orders)
    _create_table(ns, ["lake", "sales", "customers"], customers)
    _create_table(ns, ["lake", "vec", "items"], items)
    _create_table(ns, ["lake", "sales", "history"], orders.slice(0, 100))
    loc = ns.describe_table(lns.DescribeTableRequest(id=["lake", "sales", "history"])).location
    lance.write_dataset(orders.slice(100, 50), loc, mode="append")  # version 2

    # Reference: pylance readings registered in DuckDB under the same names.
    ref = duckdb.connect()
    ref.execute("ATTACH ':memory:' AS lake")
    ref.execute("CREATE SCHEMA lake.sales")
    ref.execute("CREATE SCHEMA lake.vec")
    for sch, name in (("sales", "orders"), ("sales", "customers"), ("vec", "items"), ("sales", "history")):
        d = ns.describe_table(lns.DescribeTableRequest(id=["lake", sch, name])).location
        t = lance.dataset(d).to_table()
        ref.register("t_ref", t)
        ref.execute(f"CREATE TABLE lake.{sch}.{name} AS SELECT * FROM t_ref")
        ref.unregister("t_ref")
    h1 = lance.dataset(loc, version=1).to_table()
    ref.register("t_ref", h1)
    ref.execute("CREATE TABLE history_v1 AS SELECT * FROM t_ref")
    ref.unregister("t_ref")

    lns_handle = lsql.Namespace("dir", root=root)
    session = lsql.Session(root=lns_handle, default=("lake", "sales"), options={"threads": "2"})
    yield session, ref, root
    session.close()
    lns_handle.close()


QUERIES = [
    # filters, projections, order by
    "SELECT order_id, amount FROM lake.sales.orders WHERE amount > 990 ORDER BY order_id",
    "SELECT order_id FROM lake.sales.orders WHERE region = 'north' AND paid ORDER BY order_id LIMIT 20",
    "SELECT order_id, qty FROM lake.sales.orders WHERE qty IS NULL ORDER BY order_id",
    "SELECT count(*) FROM lake.sales.orders",
    "SELECT count(qty), count(region), count(price) FROM lake.sales.orders",
    "SELECT order_id, region FROM orders WHERE region LIKE 'w%' ORDER BY order_id DESC LIMIT 15",
    "SELECT * FROM lake.sales.orders ORDER BY order_id LIMIT 25",
    "SELECT * FROM lake.sales.customers ORDER BY customer_id",
    "SELECT order_id FROM orders WHERE order_id BETWEEN 100 AND 140 ORDER BY 1",
    "SELECT DISTINCT region FROM orders ORDER BY region NULLS FIRST",
    # aggregates
    "SELECT region, count(*), sum(amount), avg(amount), min(amount), max(amount) FROM orders GROUP BY region ORDER BY region NULLS LAST",
    "SELECT paid, sum(qty), avg(qty) FROM orders GROUP BY paid ORDER BY paid",
    "SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id HAVING count(*) > 55 ORDER BY customer_id",
    "SELECT sum(price), min(price), max(price) FROM orders",
    "SELECT count(DISTINCT customer_id), count(DISTINCT region) FROM orders",
    "SELECT date_trunc('month', day) AS m, count(*) FROM orders GROUP BY m ORDER BY m",
    "SELECT min(ts), max(ts), min(ts_tz), max(ts_tz) FROM orders",
    "SELECT region, string_agg(CAST(order_id AS VARCHAR), ',' ORDER BY order_id) FROM orders WHERE order_id < 30 GROUP BY region ORDER BY region NULLS LAST",
    "SELECT median(amount), quantile_cont(amount, 0.9) FROM orders",
    "SELECT region, paid, count(*) FROM orders GROUP BY ROLLUP(region, paid) ORDER BY region NULLS LAST, paid NULLS LAST, 3",
    # joins
    "SELECT c.name, sum(o.amount) AS total FROM orders o JOIN customers c USING (customer_id) GROUP BY c.name ORDER BY total DESC LIMIT 10",
    "SELECT c.customer_id, count(o.order_id) FROM lake.sales.customers c LEFT JOIN lake.sales.orders o ON o.customer_id = c.customer_id AND o.amount > 900 GROUP BY 1 ORDER BY 1",
    "SELECT o.order_id, c.addr.city FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE o.order_id < 50 ORDER BY 1",
    "SELECT count(*) FROM orders o WHERE EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = o.customer_id AND c.tags IS NULL)",
    "SELECT count(*) FROM orders WHERE customer_id IN (SELECT customer_id FROM customers WHERE addr.city = 'SF')",
    # window functions
    "SELECT order_id, amount, rank() OVER (PARTITION BY region ORDER BY amount DESC, order_id) AS r FROM orders WHERE order_id < 200 ORDER BY order_id",
    "SELECT order_id, sum(amount) OVER (ORDER BY order_id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM orders WHERE order_id < 100 ORDER BY order_id",
    "SELECT customer_id, order_id, row_number() OVER (PARTITION BY customer_id ORDER BY order_id) FROM orders WHERE customer_id < 3 ORDER BY 1, 2",
    "SELECT order_id, lag(amount) OVER (ORDER BY order_id), lead(qty, 2) OVER (ORDER BY order_id) FROM orders WHERE order_id < 60 ORDER BY 1",
    "SELECT * FROM (SELECT customer_id, amount, max(amount) OVER (PARTITION BY customer_id) AS mx FROM orders) WHERE amount = mx ORDER BY customer_id",
    # CTEs and subqueries
    "WITH t AS (SELECT customer_id, sum(amount) AS s FROM orders GROUP BY 1) SELECT c.name, t.s FROM t JOIN customers c USING (customer_id) WHERE t.s > 25000 ORDER BY 1",
    "WITH a AS (SELECT * FROM orders WHERE paid), b AS (SELECT region, count(*) AS n FROM a GROUP BY region) SELECT * FROM b ORDER BY region NULLS FIRST",
    "SELECT region, (SELECT count(*) FROM customers) AS nc FROM orders GROUP BY region ORDER BY region NULLS FIRST",
    "WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < 5) SELECT i, (SELECT amount FROM orders WHERE order_id = i) FROM r ORDER BY i",
    # nested types
    "SELECT customer_id, tags, len(tags) FROM customers ORDER BY customer_id",
    "SELECT customer_id, addr, addr.zip FROM customers WHERE addr.city = 'LA' ORDER BY customer_id",
    "SELECT customer_id, unnest(tags) AS tag FROM customers WHERE customer_id < 12 ORDER BY 1, 2",
    "SELECT list_contains(tags, 't2') AS has, count(*) FROM customers GROUP BY 1 ORDER BY 1 NULLS FIRST",
    # vectors
    "SELECT item_id, emb FROM lake.vec.items ORDER BY item_id LIMIT 5",
    "SELECT item_id, round(array_cosine_similarity(emb, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]::FLOAT[8]), 5) AS sim FROM lake.vec.items ORDER BY sim DESC, item_id LIMIT 10",
    "SELECT item_id, round(array_distance(emb, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]::FLOAT[8]), 5) AS d FROM lake.vec.items ORDER BY d, item_id LIMIT 10",
    "SELECT round(sum(emb[1]), 3), round(avg(emb[8]), 5) FROM lake.vec.items",
    # dates and strings
    "SELECT year(day), month(day), count(*) FROM orders GROUP BY ALL ORDER BY ALL LIMIT 12",
    "SELECT upper(substr(name, 1, 12)), length(name) FROM customers ORDER BY customer_id LIMIT 20",
    "SELECT order_id, ts, ts_tz FROM orders WHERE ts > TIMESTAMP '2023-11-20' ORDER BY order_id LIMIT 10",
    # time travel and latest
    "SELECT count(*), sum(amount) FROM lake.sales.history",
]


def _norm(rows):
    out = []
    for r in rows:
        out.append(tuple(_norm_v(v) for v in r))
    return out


def _norm_v(v):
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 6)
    if isinstance(v, (list, tuple)):
        return [_norm_v(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm_v(x) for k, x in v.items()}
    if isinstance(v, datetime.datetime) and v.tzinfo is not None:
        return v.astimezone(datetime.timezone.utc)
    if hasattr(v, "as_py"):
        return _norm_v(v.as_py())
    return v


def _rows_of(table):
    cols = [c.to_pylist() for c in table.columns]
    return list(zip(*cols)) if cols else []


@pytest.mark.parametrize("sql", QUERIES)
def test_sql_matches_duckdb(lake, sql):
    session, ref, _ = lake
    got = session.sql(sql)
    ref.execute("USE lake.sales")
    want = _rows_of(ref.execute(sql).fetch_arrow_table())
    assert got.num_rows == len(want)
    assert _norm(_rows_of(got)) == _norm(want)


def test_sql_time_travel(lake):
    session, ref, _ = lake
    got = session.sql("SELECT count(*), sum(amount) FROM lance_scan('lake.sales.history', version => 1)")
    want = _rows_of(ref.execute("SELECT count(*), sum(amount) FROM memory.main.history_v1").fetch_arrow_table())
    assert _norm(_rows_of(got)) == _norm(want)
    got = session.sql("SELECT count(*) FROM lance_scan('history')").column(0).to_pylist()
    assert got == [150]


def test_sql_rowid(lake):
    session, _, _ = lake
    t = session.sql("SELECT order_id, _rowid FROM lance_scan('orders', with_rowid => true) ORDER BY order_id LIMIT 3")
    assert t.column(1).to_pylist() == [0, 1, 2]


def test_sql_new_table_visible(lake):
    session, _, root = lake
    assert "fresh" not in session.sql("SELECT name FROM lance_tables()").column(0).to_pylist()
    ns = lns.connect("dir", {"root": root})
    _create_table(ns, ["lake", "sales", "fresh"], pa.table({"a": pa.array([1, 2], pa.int32())}))
    assert "fresh" in session.sql("SELECT name FROM lance_tables()").column(0).to_pylist()
    assert session.sql("SELECT sum(a) FROM lake.sales.fresh").column(0).to_pylist() == [3]


def test_sql_readonly(lake):
    session, _, _ = lake
    for sql in ["INSERT INTO orders SELECT * FROM orders", "DROP VIEW orders", "CREATE TABLE x(a INT)",
                "COPY orders TO '/tmp/x.csv'", "SET threads = 1", "ATTACH ':memory:' AS m"]:
        with pytest.raises(lsql.LsqlError) as e:
            session.sql(sql)
        assert e.value.code == lsql.EREADONLY, sql
    with pytest.raises(lsql.LsqlError) as e:
        session.sql("SELECT * FROM read_csv('/etc/passwd')")
    assert e.value.code == lsql.EREADONLY


def test_sql_missing_names(lake):
    session, _, _ = lake
    for sql, code, msg in [("SELECT * FROM bogus.sales.orders", lsql.ENOTFOUND, "catalog 'bogus' not found"),
                           ("SELECT * FROM lake.nope.orders", lsql.ENOTFOUND, "schema lake.nope not found"),
                           ("SELECT * FROM lake.sales.nope", lsql.ENOTFOUND, "table lake.sales.nope not found")]:
        with pytest.raises(lsql.LsqlError) as e:
            session.sql(sql)
        assert e.value.code == code and msg in e.value.message


def test_sql_show_tables_lists_new_tables_and_namespaces(lake):
    """SHOW [ALL] TABLES list names live from the namespaces (no dataset opened), with the same
    columns as DuckDB's SHOW; column lists are filled only for tables queries have resolved."""
    session, ref, root = lake
    got = session.sql("SHOW ALL TABLES")
    want = ref.execute("SHOW ALL TABLES").fetch_arrow_table()
    assert got.schema.names == want.schema.names
    assert [str(t) for t in got.schema.types] == [str(t) for t in want.schema.types]
    ns = lns.connect("dir", {"root": root})
    ns.create_namespace(lns.CreateNamespaceRequest(id=["lake", "late"]))
    _create_table(ns, ["lake", "late", "t1"], pa.table({"a": pa.array([5], pa.int64())}))
    _create_table(ns, ["lake", "sales", "fresh2"], pa.table({"b": pa.array([1], pa.int64())}))
    rows = {(r["database"], r["schema"], r["name"]): r for r in session.sql("SHOW ALL TABLES").to_pylist()}
    assert ("lake", "late", "t1") in rows and ("lake", "sales", "fresh2") in rows
    assert rows[("lake", "late", "t1")]["column_names"] is None
    assert session.sql("SHOW TABLES FROM lake.late").column(0).to_pylist() == ["t1"]
    assert "fresh2" in session.sql("SHOW TABLES").column(0).to_pylist()
    assert session.sql("SELECT a FROM lake.late.t1").column(0).to_pylist() == [5]
    rows = {(r["database"], r["schema"], r["name"]): r for r in session.sql("SHOW ALL TABLES").to_pylist()}
    assert rows[("lake", "late", "t1")]["column_names"] == ["a"]
    assert rows[("lake", "late", "t1")]["column_types"] == ["BIGINT"]


def test_sql_progress(lake):
    """lsql_session_progress: -1 with nothing running, then values in [0, 1] that grow while a
    streaming result is read; a finished but unreleased stream does not count."""
    session, _, root = lake
    ns = lns.connect("dir", {"root": root})
    n = 400_000
    _create_table(ns, ["lake", "sales", "progress_big"],
                  pa.table({"i": pa.array(np.arange(n, dtype="int64")), "d": pa.array(np.arange(n) * 0.5)}))
    s1 = lsql.Session(root=lsql.Namespace("dir", root=root), default=("lake", "sales"),
                      options={"threads": "1"})
    assert s1.progress() == -1
    done = s1.sql_reader("SELECT count(*) FROM progress_big")
    assert done.read_all().column(0).to_pylist() == [n]  # finished, kept open
    reader = s1.sql_reader("SELECT i, d FROM progress_big")
    seen, rows = [], 0
    for batch in reader:
        rows += batch.num_rows
        seen.append(s1.progress())
    assert rows == n
    assert all(0.0 <= p <= 1.0 for p in seen), seen
    assert seen == sorted(seen), seen
    assert any(0.0 < p < 0.9 for p in seen), seen
    assert seen[0] < 0.5, seen
    del reader, done
    import gc
    gc.collect()
    assert s1.progress() == -1
    s1.close()


def test_sql_strings_and_dictionaries(lake):
    """Short strings (<= 12 bytes, written inline), long strings, NULLs, and dictionary columns
    (emitted as DuckDB dictionary vectors) read back exactly."""
    session, _, root = lake
    ns = lns.connect("dir", {"root": root})
    n = 20_000
    words = ["", "a", "twelve-bytes", "thirteen-byte", "x" * 40, "é" * 6]
    s = [None if i % 97 == 0 else words[i % len(words)] + str(i % 13) for i in range(n)]
    cats = ["red", "green", "blue-but-longer-than-12"]
    t = pa.table({
        "i": pa.array(np.arange(n, dtype="int64")),
        "s": pa.array(s, pa.string()),
        "d8": pa.DictionaryArray.from_arrays(pa.array((np.arange(n) % 3).astype("int8")), pa.array(cats)),
        "d32": pa.DictionaryArray.from_arrays(pa.array((np.arange(n) * 7 % 3).astype("int32")), pa.array(cats)),
    })
    _create_table(ns, ["lake", "sales", "strs"], t)
    got = session.sql("SELECT i, s, d8, d32 FROM lake.sales.strs ORDER BY i")
    assert got.column("s").to_pylist() == s
    assert got.column("d8").to_pylist() == [cats[i % 3] for i in range(n)]
    assert got.column("d32").to_pylist() == [cats[i * 7 % 3] for i in range(n)]
    got = session.sql("SELECT d8, count(*), min(i) FROM lake.sales.strs WHERE i >= 5 GROUP BY d8 ORDER BY d8")
    assert got.to_pylist()[0] == {"d8": "blue-but-longer-than-12", "count_star()": 6665, "min(i)": 5}
