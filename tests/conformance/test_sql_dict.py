"""SQL over string columns whose pages are dictionary-encoded (2.1+): the bridge gets those batches
as dictionary arrays (LSQL_TABLE_SCAN_DICT_BATCHES) and hands them to DuckDB as dictionary vectors.
Results must equal DuckDB over the same data as Arrow tables.

The data mixes what the reader must reconcile within one batch: several dictionary pages (their
dictionaries are concatenated), pages that switch from dictionary to plain halfway through a
fragment, a fragment that is plain throughout, NULLs, deleted rows (row lists), binary and large
strings, and batch sizes that do not line up with the 2048-row pages.
"""
import math

import duckdb
import lance
import numpy as np
import pyarrow as pa
import pytest

import lsql

lns = pytest.importorskip("lance_namespace")

MODES = ["AIR", "AIR REG", "DELIVER IN PERSON", "MAIL", "RAIL", "TAKE BACK RETURN", "TRUCK"]
FRAG = 9000  # rows per fragment: 4 full pages of 2048 rows + 808


def _frag(rng, start, plain):
    n = FRAG
    ids = np.arange(start, start + n, dtype="int64")
    m = np.array(MODES, dtype=object)[rng.integers(0, len(MODES), n)]
    m[rng.random(n) < 0.05] = None
    if plain:  # unique values: the writer does not use a dictionary
        m = np.array([None if i % 19 == 0 else f"MODE-{i}" for i in ids], dtype=object)
    flag = np.array(["A", "N", "R"], dtype=object)[rng.integers(0, 3, n)]
    # dictionary pages for the first half of each fragment, plain pages after
    mixed = [f"v{k}" if k else None for k in rng.integers(0, 6, n)]
    for i in range(n // 2, n):
        mixed[i] = f"unique-{start + i}-" + "y" * (i % 9)
    b = [None if k == 0 else (b"\x00bin" * k) for k in rng.integers(0, 5, n)]
    ls = [["short", "a-much-longer-large-string-value", None][k] for k in rng.integers(0, 3, n)]
    return pa.table({
        "id": pa.array(ids),
        "amount": pa.array(np.round(rng.random(n) * 100, 2)),
        "mode": pa.array(m.tolist(), pa.string()),
        "flag": pa.array(flag.tolist(), pa.string()),
        "mixed": pa.array(mixed, pa.string()),
        "b": pa.array(b, pa.binary()),
        "ls": pa.array(ls, pa.large_string()),
    })


def _reader(t):
    # copies (not slices) in 2048-row batches: the 2.1+ writer then cuts 2048-row pages
    bs = [b.take(pa.array(np.arange(b.num_rows))) for b in t.to_batches(max_chunksize=2048)]
    return pa.RecordBatchReader.from_batches(t.schema, bs)


@pytest.fixture(scope="module", params=["2.1", "2.2"])
def dictlake(request, tmp_path_factory):
    version = request.param
    root = str(tmp_path_factory.mktemp("dictlake"))
    ns = lns.connect("dir", {"root": root})
    for nid in (["dd"], ["dd", "s"]):
        ns.create_namespace(lns.CreateNamespaceRequest(id=nid))
    rng = np.random.default_rng(11)
    ev = pa.concat_tables([_frag(rng, 0, False), _frag(rng, FRAG, True), _frag(rng, 2 * FRAG, False),
                           _frag(rng, 3 * FRAG, False)])
    loc = ns.declare_table(lns.DeclareTableRequest(id=["dd", "s", "ev"])).location
    lance.write_dataset(_reader(ev), loc, data_storage_version=version, max_rows_per_file=FRAG,
                        max_page_bytes=16384, data_cache_bytes=16384)
    ds = lance.dataset(loc)
    ds.delete("id % 13 = 5 OR (id >= 20000 AND id < 20100)")
    ev = ds.to_table()
    dim = pa.table({"mode": pa.array(MODES + ["SHIP"]), "descr": pa.array([f"d-{m.lower()}" for m in MODES + ["SHIP"]])})
    loc = ns.declare_table(lns.DeclareTableRequest(id=["dd", "s", "dim"])).location
    lance.write_dataset(dim, loc, data_storage_version=version)

    # the data must exercise what the test is about
    with lsql.Dataset(ds.uri) as d:
        info = d.inspect()
    kinds = {"dict": 0, "plain": 0}
    for fr in info["fragments"]:
        for df in fr["data_files"]:
            for c in df["file"]["columns"][2:5]:
                for pg in c["pages"]:
                    kinds["dict" if "dictionary" in pg else "plain"] += 1
    assert kinds["dict"] >= 20 and kinds["plain"] >= 5, kinds

    ref = duckdb.connect()
    ref.register("ev", ev)
    ref.register("dim", dim)
    yield root, ref


QUERIES = [
    "SELECT * FROM ev ORDER BY id",
    "SELECT mode, count(*), round(sum(amount), 2), min(id), max(id) FROM ev GROUP BY mode ORDER BY mode NULLS FIRST",
    "SELECT id, mode, flag FROM ev WHERE mode = 'DELIVER IN PERSON' AND flag <> 'A' ORDER BY id",
    "SELECT id FROM ev WHERE mode IN ('AIR', 'AIR REG') AND flag = 'N' AND amount < 10 ORDER BY id",
    "SELECT id FROM ev WHERE mode IS NULL ORDER BY id",
    "SELECT DISTINCT mode FROM ev WHERE mode NOT LIKE 'MODE-%' ORDER BY 1 NULLS LAST",
    "SELECT count(DISTINCT mode), count(DISTINCT mixed), count(mode), count(mixed), count(b), count(ls) FROM ev",
    "SELECT min(mixed), max(mixed), min(mode), max(mode) FROM ev",
    "SELECT id, mixed FROM ev WHERE mixed LIKE 'v%' ORDER BY id LIMIT 300",
    "SELECT mixed, count(*) FROM ev WHERE mixed NOT LIKE 'unique%' OR mixed IS NULL GROUP BY 1 ORDER BY 1 NULLS FIRST",
    "SELECT d.descr, count(*), round(sum(e.amount), 2) FROM ev e JOIN dim d ON e.mode = d.mode GROUP BY 1 ORDER BY 1",
    "SELECT d.mode, count(e.id) FROM dim d LEFT JOIN ev e ON e.mode = d.mode AND e.flag = 'R' GROUP BY 1 ORDER BY 1",
    "SELECT id, mode FROM ev ORDER BY mode NULLS FIRST, id LIMIT 200 OFFSET 1500",
    "SELECT flag || '/' || coalesce(mode, '-') AS k, count(*) FROM ev GROUP BY k ORDER BY k",
    "SELECT b, count(*) FROM ev GROUP BY b ORDER BY b NULLS FIRST",
    "SELECT ls, count(*), min(id) FROM ev GROUP BY ls ORDER BY ls NULLS FIRST",
    "SELECT sum(CASE WHEN mode = 'TRUCK' AND flag = 'A' THEN amount ELSE 0 END) FROM ev",
    "SELECT flag, mode, count(*) FROM ev WHERE id % 3 = 0 GROUP BY ALL ORDER BY ALL",
    "SELECT e1.id, e2.id FROM ev e1 JOIN ev e2 ON e1.mode = e2.mode AND e1.id + 1 = e2.id WHERE e1.id < 3000 ORDER BY 1",
]


def _norm(rows):
    return [tuple(None if isinstance(v, float) and math.isnan(v) else (round(v, 6) if isinstance(v, float) else v)
                  for v in r) for r in rows]


def _rows(t):
    cols = [c.to_pylist() for c in t.columns]
    return list(zip(*cols)) if cols else []


@pytest.fixture(scope="module", params=[0, 1000, 3000, 777])
def dictsession(request, dictlake):
    root, ref = dictlake
    opts = {"threads": "2"}
    if request.param:
        opts["batch_size"] = str(request.param)
    h = lsql.Namespace("dir", root=root)
    s = lsql.Session(root=h, default=("dd", "s"), options=opts)
    yield s, ref
    s.close()
    h.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_sql_dictionary_pages_match_duckdb(dictsession, sql):
    session, ref = dictsession
    got = session.sql(sql)
    want = _rows(ref.execute(sql).fetch_arrow_table())
    assert got.num_rows == len(want)
    assert _norm(_rows(got)) == _norm(want)
