"""Concurrency: many queries at once on one session and on several sessions from Python threads
(ctypes releases the GIL during calls), and scans racing a writer process that commits new
versions: each scan must see exactly one version."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO, run_threads

LAKE = os.path.join(REPO, "examples", "lake")
QUERIES = [
    "SELECT count(*) AS n FROM retail.sales.customers",
    "SELECT customer_id, name FROM retail.sales.customers ORDER BY customer_id",
    "SELECT sum(amount) AS s FROM retail.sales.orders",
    "SELECT c.customer_id, count(*) AS n FROM retail.sales.customers c JOIN retail.sales.orders o "
    "USING (customer_id) GROUP BY 1 ORDER BY 1",
    "SELECT * FROM lance_tables() ORDER BY ALL",
]


def test_many_queries_one_session_and_many_sessions(lsql, tmp_path):
    lake = str(tmp_path / "lake")
    shutil.copytree(LAKE, lake)
    ns = lsql.Namespace("dir", root=lake)
    shared = lsql.Session(root=ns, options={"threads": "2"})
    expected = [shared.sql(q) for q in QUERIES]

    def one_session(i):
        for r in range(3):
            for k, q in enumerate(QUERIES):
                j = (k + i + r) % len(QUERIES)
                got = shared.sql(QUERIES[j])
                assert got.equals(expected[j]), f"{QUERIES[j]}: {got} != {expected[j]}"

    run_threads(one_session, 4)

    def own_session(i):
        with lsql.Session(root=ns, options={"threads": "1"}) as s:
            for j, q in enumerate(QUERIES):
                assert s.sql(q).equals(expected[j])
            # streams open at once on one session
            readers = [s.sql_reader(q) for q in QUERIES]
            for j, rd in enumerate(readers[::-1]):
                assert rd.read_all().equals(expected[len(QUERIES) - 1 - j])

    run_threads(own_session, 3)
    shared.close()
    ns.close()


def test_dataset_shared_by_threads(lsql, tmp_path):
    path = os.path.join(LAKE, sorted(d for d in os.listdir(LAKE) if "customers" in d)[0])
    with lsql.Dataset(path) as ds:
        want = ds.scan(ordered=True)

        def scan(i):
            for _ in range(5):
                got = ds.scan(ordered=True, n_threads=1 + i % 2, batch_size=1 + 7 * i)
                assert got.equals(want)
        run_threads(scan, 4)


WRITER = r'''
import json, os, sys, time
import lance, pyarrow as pa
path, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
next_id = 1000
ds = lance.dataset(path)
def record(ds):
    with open(log, "a") as f:
        f.write(json.dumps({"version": ds.version, "rows": ds.count_rows()}) + "\n")
i = 0
while not os.path.exists(stop) and i < 400:
    i += 1
    if i % 3 == 2:
        ds.delete(f"id % 7 = {i % 7} AND id > {next_id - 300}")
    else:
        n = 50 + i % 40
        lance.write_dataset(pa.table({"id": pa.array(range(next_id, next_id + n), pa.int64()),
                                      "v": pa.array([f"r{x}" for x in range(n)])}), path, mode="append",
                            max_rows_per_file=32)
        next_id += n
    ds = lance.dataset(path)
    record(ds)
'''


def test_scans_race_a_writer(lsql, tmp_path):
    import lance
    import pyarrow as pa
    path, log, stop = str(tmp_path / "t.lance"), str(tmp_path / "log.jsonl"), str(tmp_path / "stop")
    ds0 = lance.write_dataset(pa.table({"id": pa.array(range(1000), pa.int64()),
                                        "v": pa.array([f"r{x}" for x in range(1000)])}), path)
    with open(log, "w") as f:
        f.write(json.dumps({"version": ds0.version, "rows": ds0.count_rows()}) + "\n")
    w = subprocess.Popen([sys.executable, "-c", WRITER, path, log, stop], env={**os.environ, "LD_PRELOAD": ""})
    seen, deadline = [], time.time() + 25
    try:
        while time.time() < deadline and w.poll() is None:
            with lsql.Dataset(path) as ds:
                v = ds.version
                n = ds.count_rows()
                t = ds.scan(ordered=True, n_threads=2)
                ids = t.column("id").to_pylist()
                assert len(ids) == n, f"version {v}: scanned {len(ids)} rows, count_rows {n}"
                assert len(set(ids)) == len(ids), f"version {v}: duplicate ids (torn read)"
                seen.append((v, n))
    finally:
        open(stop, "w").close()
        w.wait(timeout=120)
    versions = {}
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            versions[r["version"]] = r["rows"]
    assert len({v for v, _ in seen}) >= 2, f"the writer committed too little to race: {seen}"
    for v, n in seen:
        if v in versions:
            assert versions[v] == n, f"version {v}: we read {n} rows, pylance wrote {versions[v]}"
