"""One system under test, in its own process (so that its peak RSS is its own and its thread
settings are set before its libraries start). bench.py starts one worker per system and sends it
one JSON request per line on stdin; each answer is one JSON line on the worker's private copy of
stdout (the libraries' own output goes to stderr).

    python worker.py SYSTEM CONFIG_JSON

Systems:
    lancesql        our SQL session (lsql_session_sql through ctypes), root = the Lance namespace
    datafusion      DataFusion (PyPI) with pylance's FFILanceTableProvider per table
    duckdb_lance    DuckDB's Python client scanning lance.dataset(...) objects (Arrow datasets)
    duckdb_parquet  DuckDB reading the Parquet files natively (views over read_parquet)
    lancesql_scan   lsql_dataset_scan through ctypes (full scan, all batches consumed)
    pylance_scan    lance.dataset(uri).to_table()

Requests:
    {"op": "query", "name": "q01", "sql": "...", "save": "/path.arrow" | null}
    {"op": "scan", "uri": "...", "columns": null | [..], "threads": 0, "min_time": 0, "reuse": false, "warmup": false,
     "storage_options": null | {..}, "io_stats": false}
        (reuse: open the dataset once and keep it, so only the scan is timed; storage_options: for
        s3:// URIs; io_stats (lancesql only): the answer's "io" is the per-store request/byte
        counts that LSQL_IO_STATS=1 prints when the scan's stores close)
    {"op": "rss"}                      -> {"rss_kb": ...}   (VmHWM of this process)
    {"op": "quit"}
Answers: {"ok": true, "secs": ..., "rows": ..., "bytes": ...} or {"ok": false, "error": "..."};
each also carries "hwm_kb", the process's peak RSS so far.
"""
import json
import os
import re
import resource
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def _private_stdout():
    """Keeps the real stdout for the protocol and points fd 1 at stderr, so that anything a
    library prints cannot corrupt the answers."""
    fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(fd, "w", buffering=1)


class System:
    def query(self, sql):
        """Runs sql and returns the complete result as a pyarrow.Table."""
        raise NotImplementedError

    def scan(self, uri, columns, threads):
        """Scans and consumes everything; returns (rows, bytes)."""
        raise NotImplementedError


def plain_names(sql, schema):
    """`tpch.<schema>.lineitem` -> `lineitem`, for engines without three-part names."""
    return re.sub(r"\btpch\." + re.escape(schema) + r"\.", "", sql)


class LanceSql(System):
    def __init__(self, cfg):
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "conformance"))
        import lsql
        self.lsql = lsql
        if cfg.get("lance_root"):
            ns = lsql.Namespace("dir", root=cfg["lance_root"])
            opts = {"threads": str(cfg.get("threads") or os.cpu_count())}
            self.session = lsql.Session(root=ns, options=opts)
            ns.close()

    def query(self, sql):
        return self.session.sql(sql)

    def scan(self, uri, columns, threads, reuse=False, storage_options=None):
        rows = nbytes = 0
        cache = self.__dict__.setdefault("_open", {})
        ds = cache.get(uri) if reuse else None
        if ds is None:
            ds = self.lsql.Dataset(uri, storage_options=storage_options)
            if reuse:
                cache[uri] = ds
        reader, b = ds.scan_reader(columns=columns, n_threads=threads, ordered=False), None
        for b in reader:
            rows += b.num_rows
            nbytes += b.nbytes
        del reader, b  # releases the stream (and its reference to the dataset's store)
        if not reuse:
            ds.close()
        return rows, nbytes


class DataFusion(System):
    def __init__(self, cfg):
        import lance
        from datafusion import SessionConfig, SessionContext
        conf = SessionConfig().with_default_catalog_and_schema("tpch", cfg["schema"])
        conf = conf.with_target_partitions(cfg.get("threads") or os.cpu_count())
        self.ctx = SessionContext(conf)
        for name, t in cfg["tables"].items():
            # One provider per catalog.schema.table; the default catalog/schema make the
            # three-part name tpch.<schema>.<table> resolve to it.
            self.ctx.register_table(name, lance.FFILanceTableProvider(lance.dataset(t["uri"])))

    def query(self, sql):
        return self.ctx.sql(sql).to_arrow_table()


class DuckDBLance(System):
    def __init__(self, cfg):
        import duckdb
        import lance
        self.schema = cfg["schema"]
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {cfg.get('threads') or os.cpu_count()}")
        # DuckDB pushes hash-join keys into the Arrow scan as OR/IN filters; pylance turns them into
        # Substrait through pyarrow, which takes minutes on long lists (Q2, Q11 hang, Q17 ~50x
        # slower at SF0.1). Without the OR filters (min/max join filters stay) DuckDB runs them all.
        self.con.execute("SET dynamic_or_filter_threshold = 0")
        for name, t in cfg["tables"].items():
            self.con.register(name, lance.dataset(t["uri"]))

    def query(self, sql):
        return self.con.sql(plain_names(sql, self.schema)).fetch_arrow_table()


class DuckDBParquet(System):
    def __init__(self, cfg):
        import duckdb
        self.schema = cfg["schema"]
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {cfg.get('threads') or os.cpu_count()}")
        for name, t in cfg["tables"].items():
            path = t["parquet"].replace("'", "''")
            self.con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")

    def query(self, sql):
        return self.con.sql(plain_names(sql, self.schema)).fetch_arrow_table()


class PyLanceScan(System):
    def __init__(self, cfg):
        import lance
        self.lance = lance

    def scan(self, uri, columns, threads, reuse=False, storage_options=None):
        cache = self.__dict__.setdefault("_open", {})
        ds = cache.get(uri) if reuse else None
        if ds is None:
            ds = self.lance.dataset(uri, storage_options=storage_options)
            if reuse:
                cache[uri] = ds
        t = ds.to_table(columns=columns)
        return t.num_rows, t.nbytes


SYSTEMS = {"lancesql": LanceSql, "lancesql_scan": LanceSql, "datafusion": DataFusion,
           "duckdb_lance": DuckDBLance, "duckdb_parquet": DuckDBParquet, "pylance_scan": PyLanceScan}


def hwm_kb():
    """Peak RSS of this process since its exec (VmHWM); ru_maxrss would also count the memory of
    the parent that forked it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _StderrCapture:
    """Points fd 2 at a temporary file with LSQL_IO_STATS=1 set, so that the library's per-store
    totals ("lancesql io: s3 store: N requests, B bytes, R retries", printed when a store closes)
    can be collected; finish() restores fd 2, copies the text to the real stderr and returns
    {scheme: {"requests", "bytes", "retries", "stores"}} summed over the stores that closed."""

    def __init__(self):
        import tempfile
        sys.stderr.flush()
        self.tmp = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.tmp.fileno(), 2)
        os.environ["LSQL_IO_STATS"] = "1"

    def finish(self):
        import gc
        gc.collect()  # any stream not yet released releases its store now
        os.environ.pop("LSQL_IO_STATS", None)
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.tmp.seek(0)
        text = self.tmp.read().decode(errors="replace")
        self.tmp.close()
        sys.stderr.write(text)
        tot = {}
        for m in re.finditer(r"lancesql io: (\w+) store: (\d+) requests, (\d+) bytes, (\d+) retries", text):
            t = tot.setdefault(m.group(1), {"requests": 0, "bytes": 0, "retries": 0, "stores": 0})
            t["requests"] += int(m.group(2))
            t["bytes"] += int(m.group(3))
            t["retries"] += int(m.group(4))
            t["stores"] += 1
        return tot


def handle(sysobj, req):
    op = req["op"]
    if op == "rss":
        return {"ok": True, "rss_kb": hwm_kb()}
    if op == "query":
        t0 = time.perf_counter()
        table = sysobj.query(req["sql"])
        secs = time.perf_counter() - t0
        if req.get("save"):
            import pyarrow as pa
            with pa.OSFile(req["save"], "wb") as f, pa.ipc.new_file(f, table.schema) as w:
                w.write_table(table)
        return {"ok": True, "secs": secs, "rows": table.num_rows}
    if op == "scan":
        min_time = req.get("min_time") or 0
        cap = _StderrCapture() if req.get("io_stats") else None
        if req.get("warmup"):  # one untimed scan first: time the steady state, not the first touch
            sysobj.scan(req["uri"], req.get("columns"), req.get("threads", 0), req.get("reuse", False),
                        req.get("storage_options"))
        n, t0 = 0, time.perf_counter()
        try:
            while True:
                rows, nbytes = sysobj.scan(req["uri"], req.get("columns"), req.get("threads", 0), req.get("reuse", False),
                                           req.get("storage_options"))
                n += 1
                el = time.perf_counter() - t0
                if el >= min_time:
                    break
        finally:
            io = cap.finish() if cap else None
        ans = {"ok": True, "secs": el / n, "rows": rows, "bytes": nbytes, "iters": n}
        if io is not None:
            ans["io"] = io
        return ans
    return {"ok": False, "error": f"unknown op {op}"}


def main():
    out = _private_stdout()
    name, cfg = sys.argv[1], json.loads(sys.argv[2])
    try:
        sysobj = SYSTEMS[name](cfg)
        out.write(json.dumps({"ok": True, "ready": name, "pid": os.getpid()}) + "\n")
    except BaseException as e:  # noqa: BLE001  (report any setup failure, then exit)
        traceback.print_exc()
        out.write(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}) + "\n")
        return 1
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("op") == "quit":
            break
        try:
            ans = handle(sysobj, req)
        except Exception as e:  # noqa: BLE001
            msg = f"{type(e).__name__}: {e}"
            ans = {"ok": False, "error": msg[:2000]}
        ans["hwm_kb"] = hwm_kb()
        out.write(json.dumps(ans) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
