"""lancesql benchmarks against its peers, side by side in one run (`make bench`).

    python bench/bench.py BUILD_DIR

Environment: BENCH_SF (scale factor, default 1), BENCH_RUNS (timed runs per measurement, default
5; the median is reported), BENCH_TIMEOUT (seconds one query may take before it is called a
timeout; default 30 + 120 * SF), BENCH_SECTIONS (comma list of scan,s3,columns,tpch,cold;
default all), BENCH_QUERIES (e.g. "1,6,14"; default all 22).

Sections:
  scan     full scan of lineitem to Arrow: ours (lsql_dataset_scan, 1 thread and all cores) vs
           pylance to_table (1 thread, default, all cores)
  s3       full scan of lineitem (orders if lineitem > BENCH_S3_MAX_MB, default 1024) uploaded once
           to a moto S3 server on 127.0.0.1: ours from s3:// vs local (1 thread, all cores), the
           requests and bytes our scan makes (LSQL_IO_STATS), pylance from the same s3:// dataset.
           Skipped with a message when moto is not installed. BENCH_S3_RUNS (default 3) timed runs.
  columns  single-thread decode throughput per column (lineitem's columns one by one, and a few
           fixture datasets), ours vs pylance
  tpch     the 22 TPC-H queries: our SQL session vs DataFusion + pylance table provider vs DuckDB
           over lance.dataset objects vs DuckDB over the Parquet files. Every system's answer is
           checked against the reference first; a differing answer is reported as wrong, not timed.
  cold     whole-process wall time of `lancesql -c "SELECT count(*) ..."` vs python + pylance
Every system runs in its own worker process (peak RSS: its VmHWM, reported with every answer).
Writes bench/results.md, bench/results.png and bench/out/results.json.
"""
import datetime
import json
import math
import os
import platform
import re
import select
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
sys.path.insert(0, HERE)
import compare  # noqa: E402
import gen_data  # noqa: E402
import report  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
from moto_server import moto_server  # noqa: E402

NPROC = os.cpu_count() or 1


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class WorkerDied(Exception):
    pass


class Worker:
    """A worker.py process serving one system. request() returns the answer dict, or raises
    TimeoutError (the worker is killed) or WorkerDied. Peak RSS over all incarnations is kept: each
    answer carries the worker's VmHWM (ru_maxrss would include the driver's memory, which Linux
    charges to a forked child until it execs)."""

    def __init__(self, label, system, cfg, env=None):
        self.label, self.system, self.cfg, self.env = label, system, cfg, env or {}
        self.proc, self.buf, self.max_rss_kb, self.setup_error = None, b"", 0, None

    def start(self, timeout=300):
        env = dict(os.environ)
        env.update(self.env)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "worker.py"), self.system, json.dumps(self.cfg)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(OUT, f"{self.label}.stderr"), "ab"),
            env=env)
        self.buf = b""
        try:
            ans = self._read(timeout)
        except (TimeoutError, WorkerDied) as e:
            self.setup_error = f"worker did not start: {e}"
            return False
        if not ans.get("ok"):
            self.setup_error = ans.get("error")
            self._reap()
            return False
        return True

    def _read(self, timeout):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise TimeoutError(f"no answer within {timeout:.0f}s")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    code = self._reap()
                    raise WorkerDied(f"worker exited (status {code}); see bench/out/{self.label}.stderr")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        ans = json.loads(line)
        self.max_rss_kb = max(self.max_rss_kb, ans.get("hwm_kb") or 0)
        return ans

    def request(self, req, timeout):
        if self.proc is None:
            if not self.start():
                raise WorkerDied(self.setup_error)
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._reap()
            raise WorkerDied("worker pipe closed")
        return self._read(timeout)

    def _reap(self):
        if self.proc is None:
            return None
        try:
            _, status, _ = os.wait4(self.proc.pid, 0)
        except ChildProcessError:
            status = None
        self.proc = None
        return status

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self._reap()

    def stop(self):
        if self.proc is not None:
            try:
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            self._reap()


def median(xs):
    return statistics.median(xs) if xs else None


# ------------------------------------------------------------------------------------- sections

def scan_section(info, runs, build, res):
    uri = info["tables"]["lineitem"]["uri"]
    lt = {"LANCE_CPU_THREADS": "1", "LANCE_IO_THREADS": "1"}
    configs = [
        ("ours_1t", "lancesql_scan", 1, {}),
        ("pylance_1t", "pylance_scan", 1, lt),
        (f"ours_{NPROC}t", "lancesql_scan", 0, {}),
        ("pylance_default", "pylance_scan", 0, {}),
        (f"pylance_cpu{NPROC}", "pylance_scan", 0, {"LANCE_CPU_THREADS": str(NPROC)}),
    ]
    workers, out = {}, {}
    for label, system, threads, env in configs:
        w = Worker("scan_" + label, system, {}, env)
        if not w.start():
            log(f"scan: {label} unavailable: {w.setup_error}")
            out[label] = {"error": w.setup_error}
            continue
        workers[label] = (w, threads)
        out[label] = {"times": [], "env": env, "threads": threads}
    for r in range(runs + 1):  # run 0 warms the page cache and is not counted
        for label, (w, threads) in list(workers.items()):
            try:
                a = w.request({"op": "scan", "uri": uri, "threads": threads}, timeout=600)
            except (TimeoutError, WorkerDied) as e:
                a = {"ok": False, "error": str(e)}
            if not a.get("ok"):
                log(f"scan: {label} failed: {a.get('error')}")
                out[label]["error"] = a.get("error")
                w.kill()
                del workers[label]
                continue
            out[label].update(rows=a["rows"], bytes=a["bytes"])
            if r > 0:
                out[label]["times"].append(a["secs"])
        log(f"scan run {r}/{runs}: " + ", ".join(
            f"{k}={v['times'][-1]:.3f}s" for k, v in out.items() if v.get("times")))
    for label, (w, _) in workers.items():
        w.stop()
        out[label]["rss_kb"] = w.max_rss_kb
    expected = info["tables"]["lineitem"]["rows"]
    for label, v in out.items():
        if v.get("times"):
            v["median"] = median(v["times"])
            if v.get("rows") != expected:
                v["error"] = f"returned {v.get('rows')} rows, expected {expected}"
    res["scan"] = out


S3_BUCKET = "lsql-bench"
S3_KEY, S3_SECRET = "testing", "testing"
# one line per request in moto's (werkzeug's) log; 206 answers are wrapped in ANSI colour codes
MOTO_REQ = re.compile(rb'"(?:\x1b\[[0-9;]*m)*(?:GET|HEAD|PUT|POST) ')


def _dir_bytes(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def s3_section(info, runs, res):
    """Full scan of lineitem (orders if lineitem is above BENCH_S3_MAX_MB) uploaded once to a moto
    S3 server on 127.0.0.1: ours from s3:// (1 thread, all cores) vs the same local scan, the
    requests/bytes our scan makes (LSQL_IO_STATS), and pylance reading the same s3:// dataset."""
    try:
        import boto3
        import moto  # noqa: F401
    except ImportError as e:
        msg = f"moto[server] / boto3 not installed in the venv ({e}); pip install 'moto[server]'"
        log("s3: skipped: " + msg)
        res["s3"] = {"skipped": msg}
        return
    max_mb = float(os.environ.get("BENCH_S3_MAX_MB", "1024"))
    table = "lineitem"
    local = info["tables"]["lineitem"]["uri"].removeprefix("file://")
    if _dir_bytes(local) > max_mb * 2**20:
        table = "orders"
        local = info["tables"]["orders"]["uri"].removeprefix("file://")
    size = _dir_bytes(local)
    mlog_path = os.path.join(OUT, "s3_moto.log")
    with open(mlog_path, "wb") as mlog, moto_server(mlog) as endpoint:
        out = {"table": table, "endpoint": endpoint, "dataset_bytes": size, "configs": {}, "sf": info.get("sf"),
               "started": datetime.datetime.now().isoformat(timespec="seconds"), "loadavg_start": os.getloadavg()}
        if endpoint is None:
            out["skipped"] = "moto server did not start (see bench/out/s3_moto.log)"
            log("s3: skipped: " + out["skipped"])
            res["s3"] = out
            return
        c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=S3_KEY,
                         aws_secret_access_key=S3_SECRET)
        c.create_bucket(Bucket=S3_BUCKET)
        prefix = f"{info['schema']}/{table}"
        t0 = time.perf_counter()
        for root, _, files in os.walk(local):
            for f in files:
                p = os.path.join(root, f)
                c.upload_file(p, S3_BUCKET, prefix + "/" + os.path.relpath(p, local).replace(os.sep, "/"))
        out["upload_secs"] = time.perf_counter() - t0
        log(f"s3: uploaded {table} ({size / 2**20:.0f} MiB) to moto in {out['upload_secs']:.1f}s")
        s3uri = f"s3://{S3_BUCKET}/{prefix}"
        ours_opts = {"aws_access_key_id": S3_KEY, "aws_secret_access_key": S3_SECRET, "aws_region": "us-east-1",
                     "aws_endpoint": endpoint, "allow_http": "true"}
        lance_opts = dict(ours_opts)
        configs = [  # label, system, uri, threads, storage options, env
            ("ours_local_1t", "lancesql_scan", "file://" + local, 1, None, {}),
            ("ours_s3_1t", "lancesql_scan", s3uri, 1, ours_opts, {}),
            (f"ours_local_{NPROC}t", "lancesql_scan", "file://" + local, 0, None, {}),
            (f"ours_s3_{NPROC}t", "lancesql_scan", s3uri, 0, ours_opts, {}),
            ("pylance_local_default", "pylance_scan", "file://" + local, 0, None, {}),
            ("pylance_s3_default", "pylance_scan", s3uri, 0, lance_opts, {}),
        ]
        workers, cfgs = {}, out["configs"]
        for label, system, uri, threads, so, env in configs:
            w = Worker("s3_" + label, system, {}, env)
            cfgs[label] = {"times": [], "uri": uri, "threads": threads, "s3": so is not None}
            if not w.start():
                cfgs[label]["error"] = w.setup_error
                log(f"s3: {label} unavailable: {w.setup_error}")
                continue
            workers[label] = (w, uri, threads, so)
        nruns = max(1, min(runs, int(os.environ.get("BENCH_S3_RUNS", "3"))))
        for r in range(nruns + 1):  # run 0 is untimed (moto and the page cache warm up)
            for label, (w, uri, threads, so) in list(workers.items()):
                v = cfgs[label]
                mpos = os.path.getsize(mlog_path)
                try:
                    a = w.request({"op": "scan", "uri": uri, "threads": threads, "storage_options": so,
                                   "io_stats": label.startswith("ours")}, timeout=900)
                except (TimeoutError, WorkerDied) as e:
                    a = {"ok": False, "error": str(e)}
                if not a.get("ok"):
                    v["error"] = (a.get("error") or "?")[:500]
                    log(f"s3: {label} failed: {v['error']}")
                    w.kill()
                    del workers[label]
                    continue
                v.update(rows=a["rows"], bytes=a["bytes"])
                if a.get("io"):
                    v["io"] = a["io"]
                if so is not None:  # requests as moto's request log saw them (every system)
                    time.sleep(0.2)  # moto logs a request after answering it
                    with open(mlog_path, "rb") as f:
                        f.seek(mpos)
                        v["moto_requests"] = len(MOTO_REQ.findall(f.read()))
                if r > 0:
                    v["times"].append(a["secs"])
            log(f"s3 run {r}/{nruns}: " + ", ".join(
                f"{k}={v['times'][-1]:.2f}s" for k, v in cfgs.items() if v.get("times")))
        for label, (w, _, _, _) in workers.items():
            w.stop()
            cfgs[label]["rss_kb"] = w.max_rss_kb
        expected = info["tables"][table]["rows"]
        for label, v in cfgs.items():
            if v.get("times"):
                v["median"] = median(v["times"])
                if v.get("rows") != expected:
                    v["error"] = f"returned {v.get('rows')} rows, expected {expected}"
        out["loadavg_end"] = os.getloadavg()
    res["s3"] = out


def fixture_items(fixtures_dir):
    """(label, uri, [columns]) for the fixture datasets measured column by column."""
    wanted = os.environ.get("BENCH_SCAN_FIXTURES", "2.2/encodings")
    items = []
    if not fixtures_dir or not os.path.isdir(fixtures_dir):
        return items
    import lance
    for name in [x for x in wanted.split(",") if x]:
        p = os.path.join(fixtures_dir, "datasets", name)
        if not os.path.isdir(p):
            continue
        try:
            schema = lance.dataset(p).schema
        except Exception as e:  # noqa: BLE001
            log(f"columns: cannot open fixture {name}: {e}")
            continue
        for f in schema:
            items.append((f"{name}:{f.name}", p, [f.name], str(f.type)))
    return items


def columns_section(info, runs, res, fixtures_dir):
    uri = info["tables"]["lineitem"]["uri"]
    import lance
    items = [(f"lineitem:{f.name}", uri, [f.name], str(f.type)) for f in lance.dataset(uri).schema]
    for ver, p in gen_data.types_datasets().items():
        items += [(f"types{ver}:{f.name}", p, [f.name], str(f.type)) for f in lance.dataset(p).schema]
    items += fixture_items(fixtures_dir)
    lt = {"LANCE_CPU_THREADS": "1", "LANCE_IO_THREADS": "1"}
    ws = {"ours": Worker("columns_ours", "lancesql_scan", {}), "pylance": Worker("columns_pylance", "pylance_scan", {}, lt)}
    out = {"items": {}, "errors": {}}
    for k, w in list(ws.items()):
        if not w.start():
            log(f"columns: {k} unavailable: {w.setup_error}")
            out["errors"][k] = w.setup_error
            del ws[k]
    for label, u, cols, typ in items:
        out["items"][label] = {"type": typ, "ours": [], "pylance": []}
    nruns = max(1, min(runs, int(os.environ.get("BENCH_COLUMN_RUNS", "3"))))
    for r in range(nruns + 1):
        for label, u, cols, typ in items:
            item = out["items"][label]
            for k, w in list(ws.items()):
                if item.get(k + "_error"):
                    continue
                min_time = 0.0 if r == 0 else 0.05
                try:
                    a = w.request({"op": "scan", "uri": u, "columns": cols, "threads": 1, "min_time": min_time,
                                   "reuse": True, "warmup": r > 0}, timeout=300)
                except (TimeoutError, WorkerDied) as e:
                    a = {"ok": False, "error": str(e)}
                if not a.get("ok"):
                    item[k + "_error"] = a.get("error", "?")[:300]
                    continue
                item[k + "_rows"], item[k + "_bytes"] = a["rows"], a["bytes"]
                if r > 0:
                    item[k].append(a["secs"])
        log(f"columns run {r}/{nruns} done ({len(items)} columns)")
    for w in ws.values():
        w.stop()
    for item in out["items"].values():
        for k in ("ours", "pylance"):
            item[k + "_median"] = median(item[k])
        if item.get("ours_rows") is not None and item.get("pylance_rows") is not None \
                and item["ours_rows"] != item["pylance_rows"]:
            item["ours_error"] = f"{item['ours_rows']} rows, pylance {item['pylance_rows']}"
    res["columns"] = out


TPCH_SYSTEMS = [("lancesql", "lancesql"), ("datafusion", "datafusion"), ("duckdb_lance", "duckdb_lance"),
                ("duckdb_parquet", "duckdb_parquet")]
REFERENCE_ORDER = ["duckdb_parquet", "datafusion", "duckdb_lance"]


def tpch_section(info, runs, res, timeout, lance_root):
    schema = info["schema"]
    qsel = os.environ.get("BENCH_QUERIES")
    qnums = [int(x) for x in qsel.split(",")] if qsel else list(range(1, 23))
    queries = {}
    for i in qnums:
        with open(os.path.join(HERE, "queries", f"q{i:02d}.sql")) as f:
            queries[f"q{i:02d}"] = f.read().replace("tpch.sf1.", f"tpch.{schema}.")
    cfg = {"schema": schema, "tables": info["tables"], "lance_root": lance_root, "threads": NPROC}
    out = {"systems": {}, "queries": {q: {} for q in queries}}
    workers = {}
    for label, system in TPCH_SYSTEMS:
        w = Worker("tpch_" + label, system, cfg)
        t0 = time.perf_counter()
        if not w.start():
            msg = w.setup_error
            if label == "lancesql":
                log(f"tpch: our SQL session is not available, skipping lancesql: {msg}")
            else:
                log(f"tpch: {label} unavailable: {msg}")
            out["systems"][label] = {"error": msg}
            continue
        out["systems"][label] = {"setup_secs": time.perf_counter() - t0}
        workers[label] = w
    rdir = os.path.join(OUT, "tpch_results")
    os.makedirs(rdir, exist_ok=True)

    # Run 0: every system answers every query once; the answers are saved and compared.
    for q, sql in queries.items():
        for label, w in workers.items():
            save = os.path.join(rdir, f"{label}.{q}.arrow")
            if os.path.exists(save):
                os.unlink(save)
            try:
                a = w.request({"op": "query", "name": q, "sql": sql, "save": save}, timeout)
            except TimeoutError as e:
                a = {"ok": False, "error": f"timeout: {e}", "timeout": True}
            except WorkerDied as e:
                a = {"ok": False, "error": f"crashed: {e}"}
            ent = out["queries"][q][label] = {"status": "ok" if a.get("ok") else "error", "times": []}
            if a.get("ok"):
                ent.update(first_secs=a["secs"], rows=a["rows"])
            else:
                ent.update(status="timeout" if a.get("timeout") else "error", error=a.get("error", "")[:500])
        # Check the answers against the reference system's.
        ref = next((s for s in REFERENCE_ORDER if out["queries"][q].get(s, {}).get("status") == "ok"), None)
        out["queries"][q]["_reference"] = ref
        if ref:
            ref_t = compare.load(os.path.join(rdir, f"{ref}.{q}.arrow"))
            for label in workers:
                ent = out["queries"][q][label]
                if ent["status"] != "ok" or label == ref:
                    continue
                diff = compare.diff(ref_t, compare.load(os.path.join(rdir, f"{label}.{q}.arrow")))
                if diff:
                    ent.update(status="wrong", error=f"differs from {ref}: {diff}")
        log(f"tpch {q} check: " + ", ".join(
            f"{s}={v['status']}" + (f"({v['first_secs']:.2f}s)" if v.get("first_secs") is not None else "")
            for s, v in out["queries"][q].items() if not s.startswith("_")))

    # Timed runs, alternating the systems query by query.
    for r in range(1, runs + 1):
        for q, sql in queries.items():
            for label, w in workers.items():
                ent = out["queries"][q][label]
                if ent["status"] != "ok":
                    continue
                try:
                    a = w.request({"op": "query", "name": q, "sql": sql}, timeout)
                except (TimeoutError, WorkerDied) as e:
                    a = {"ok": False, "error": str(e)}
                if a.get("ok"):
                    ent["times"].append(a["secs"])
                else:
                    ent.update(status="error", error=f"run {r}: {a.get('error', '')[:500]}")
        tot = {s: sum(out["queries"][q][s]["times"][-1] for q in queries
                      if out["queries"][q].get(s, {}).get("status") == "ok") for s in workers}
        log(f"tpch run {r}/{runs}: " + ", ".join(f"{s}={t:.2f}s" for s, t in tot.items()))
    for label, w in workers.items():
        w.stop()
        out["systems"][label]["rss_kb"] = w.max_rss_kb
    for q in queries:
        for label in workers:
            ent = out["queries"][q][label]
            ent["median"] = median(ent["times"]) if ent["status"] == "ok" else None
    res["tpch"] = out


def timed_process(argv):
    """Wall time, peak RSS (KiB), exit status, stdout and stderr of one whole process, measured by
    the small bench/spawn.py (see there why the driver does not fork it itself)."""
    p = subprocess.run([sys.executable, "-S", os.path.join(HERE, "spawn.py")] + argv, capture_output=True, text=True)
    try:
        a = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, 0, -1, "", f"spawn.py failed: {p.stderr[-500:]}"
    return a["secs"], a["rss_kb"], a["status"], a["stdout"], a["stderr"]


def cold_section(info, runs, res, build, lance_root):
    schema = info["schema"]
    cli = os.path.join(build, "lancesql")
    uri = info["tables"]["lineitem"]["uri"]
    expected = str(info["tables"]["lineitem"]["rows"])
    cmds = {
        "lancesql_cli": [cli, "--root", lance_root, "--format", "csv", "-c",
                         f"SELECT count(*) FROM tpch.{schema}.lineitem"],
        "python_pylance": [sys.executable, "-c", f"import lance; print(lance.dataset({uri!r}).count_rows())"],
    }
    out = {}
    for k, argv in cmds.items():
        out[k] = {"cmd": " ".join(a if " " not in a else repr(a) for a in argv), "times": [], "rss_kb": 0}
        if not os.access(argv[0], os.X_OK):
            out[k]["error"] = f"{argv[0]} not built"
    for r in range(runs + 1):
        for k, argv in cmds.items():
            v = out[k]
            if v.get("error"):
                continue
            secs, rss, code, so, se = timed_process(argv)
            if code != 0 or expected not in so or secs is None:
                v["error"] = f"exit {code}, stdout {so.strip()[:200]!r}, stderr {se.strip()[:300]!r}"
                continue
            v["rss_kb"] = max(v["rss_kb"], rss)
            if r > 0:
                v["times"].append(secs)
    for v in out.values():
        v["median"] = median(v["times"])
    log("cold: " + ", ".join(f"{k}={v['median'] * 1000:.1f}ms" if v.get("median") else f"{k}=n/a"
                             for k, v in out.items()))
    res["cold"] = out


# ------------------------------------------------------------------------------------- machine

def machine():
    m = {"nproc": NPROC, "platform": platform.platform(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    m["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    m["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        m["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    return m


def versions(build):
    v = {}
    for mod in ("lance", "datafusion", "duckdb", "pyarrow", "matplotlib"):
        try:
            v["pylance" if mod == "lance" else mod] = __import__(mod).__version__
        except Exception as e:  # noqa: BLE001
            v[mod] = f"unavailable ({e})"
    try:
        gen = os.path.join(os.path.dirname(sys.executable), "tpchgen-cli")
        v["tpchgen-cli"] = subprocess.run([gen, "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    try:
        sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
        import lsql
        v["lancesql"] = lsql.version()
    except Exception as e:  # noqa: BLE001
        v["lancesql"] = f"unavailable ({e})"
    try:
        v["lancesql_git"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                           capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return v


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    os.environ["LSQL_BUILD_DIR"] = build
    sf = os.environ.get("BENCH_SF", "1")
    runs = max(1, int(os.environ.get("BENCH_RUNS", "5")))
    timeout = float(os.environ.get("BENCH_TIMEOUT", 30 + 120 * float(sf)))
    sections = os.environ.get("BENCH_SECTIONS", "scan,s3,columns,tpch,cold").split(",")
    fixtures = os.environ.get("LSQL_FIXTURES", os.path.join(build, "fixtures"))
    if not os.path.isdir(fixtures):
        fixtures = os.path.join(ROOT, "build", "fixtures")
    os.makedirs(OUT, exist_ok=True)
    t_start = time.time()
    log(f"SF={sf} runs={runs} timeout={timeout:.0f}s build={build} sections={','.join(sections)}")
    data = gen_data.generate(sf)
    info = gen_data.load_info(sf)
    lance_root = os.path.join(data, "lance")
    res = {"sf": float(sf), "runs": runs, "timeout": timeout, "build": build, "machine": machine(),
           "versions": versions(build), "started": datetime.datetime.now().isoformat(timespec="seconds"),
           "data": data}
    if "scan" in sections:
        scan_section(info, runs, build, res)
    if "s3" in sections:
        s3_section(info, runs, res)
    if "columns" in sections:
        columns_section(info, runs, res, fixtures)
    if "tpch" in sections:
        tpch_section(info, runs, res, timeout, lance_root)
    if "cold" in sections:
        cold_section(info, runs, res, build, lance_root)
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["elapsed_secs"] = time.time() - t_start
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = report.markdown(res)
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write(md)
    try:
        report.chart(res, os.path.join(HERE, "results.png"))
    except Exception as e:  # noqa: BLE001
        log(f"chart not drawn: {e}")
    print(report.summary(res))
    log(f"done in {res['elapsed_secs']:.0f}s; wrote bench/results.md, bench/results.png, bench/out/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
