"""Turns bench/out/results.json into bench/results.md, the summary printed by `make bench`, and the
per-query ratio chart bench/results.png. Also runnable alone: python bench/report.py [results.json]."""
import json
import math
import os
import sys

PEERS = ["datafusion", "duckdb_lance", "duckdb_parquet"]
NAMES = {"lancesql": "lancesql (ours)", "datafusion": "DataFusion + pylance provider",
         "duckdb_lance": "DuckDB over lance.dataset", "duckdb_parquet": "DuckDB over Parquet"}


def _f(x, fmt="{:.3f}"):
    return "n/a" if x is None else fmt.format(x)


def _ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def _mib(kb):
    return None if not kb else kb / 1024


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# ------------------------------------------------------------------------------------- TPC-H

def tpch_totals(t):
    """{peer: (ours_total, peer_total, n_queries)} over the queries both answered correctly, and
    {system: total over queries every available system answered correctly}."""
    qs = t["queries"]
    systems = [s for s, v in t["systems"].items() if "error" not in v]
    pair = {}
    for p in PEERS:
        if "lancesql" not in systems or p not in systems:
            continue
        common = [q for q in qs if qs[q].get("lancesql", {}).get("median") is not None
                  and qs[q].get(p, {}).get("median") is not None]
        pair[p] = (sum(qs[q]["lancesql"]["median"] for q in common), sum(qs[q][p]["median"] for q in common),
                   len(common))
    all_ok = [q for q in qs if all(qs[q].get(s, {}).get("median") is not None for s in systems)]
    total = {s: sum(qs[q][s]["median"] for q in all_ok) for s in systems}
    return pair, total, all_ok


def _cell(ent):
    if not ent:
        return "-"
    if ent.get("median") is not None:
        return f"{ent['median']:.3f}"
    return ent.get("status", "?")


def tpch_table(t):
    qs = t["queries"]
    systems = [s for s in ["lancesql"] + PEERS if s in t["systems"] and "error" not in t["systems"][s]]
    ours = "lancesql" in systems
    peers = [p for p in PEERS if p in systems]
    header = ["query"] + [f"{s} (s)" for s in systems] + ([f"ours/{p}" for p in peers] if ours else [])
    rows = []
    for q in sorted(qs):
        r = [q] + [_cell(qs[q].get(s)) for s in systems]
        if ours:
            om = qs[q].get("lancesql", {}).get("median")
            r += [_f(_ratio(om, qs[q].get(p, {}).get("median")), "{:.2f}") for p in peers]
        rows.append(r)
    pair, total, all_ok = tpch_totals(t)
    r = [f"total ({len(all_ok)} queries all answered)"] + [_f(total.get(s)) for s in systems]
    if ours:
        r += [_f(_ratio(total.get("lancesql"), total.get(p)), "{:.2f}") for p in peers]
    rows.append(r)
    if ours:
        r = ["total, pairwise (ours vs peer, queries both answered)"] + ["" for _ in systems]
        r += [f"{_ratio(*pair[p][:2]):.2f} ({pair[p][2]} q)" if p in pair and pair[p][1] else "n/a" for p in peers]
        rows.append(r)
    return _table(header, rows)


def tpch_problems(t):
    lines = []
    for s, v in t["systems"].items():
        if "error" in v:
            lines.append(f"- **{s}** not run: {v['error']}")
    for q in sorted(t["queries"]):
        for s, ent in t["queries"][q].items():
            if s.startswith("_") or ent.get("status") == "ok":
                continue
            lines.append(f"- {q} {s}: **{ent.get('status')}**: {str(ent.get('error', '')).splitlines()[0][:300] if ent.get('error') else ''}")
    return "\n".join(lines) if lines else "none"


# ------------------------------------------------------------------------------------- scans

def scan_table(s):
    ours_all = next((k for k in s if k.startswith("ours_") and k != "ours_1t"), None)
    rows = []
    for label, v in s.items():
        med = v.get("median")
        peer_note = ""
        if label.startswith("ours") and med:
            peer = "pylance_1t" if label == "ours_1t" else "pylance_default"
            pm = s.get(peer, {}).get("median")
            if pm:
                peer_note = f"{pm / med:.2f}x {peer}"
        rows.append([label, ", ".join(f"{k}={x}" for k, x in v.get("env", {}).items()) or "-",
                     _f(med), _f(v["rows"] / med / 1e6 if med and v.get("rows") else None, "{:.1f}"),
                     _f(v["bytes"] / med / 1e6 if med and v.get("bytes") else None, "{:.0f}"),
                     peer_note or v.get("error", ""), _f(_mib(v.get("rss_kb")), "{:.0f}")])
    return _table(["config", "env", "median (s)", "Mrows/s", "MB/s (Arrow)", "throughput vs peer", "peak RSS (MiB)"], rows)


def s3_table(s3):
    cfgs = s3.get("configs", {})
    rows = []
    for label, v in cfgs.items():
        med = v.get("median")
        note = v.get("error", "")[:200]
        vs = ""
        if med and label.startswith("ours_s3_"):
            loc = cfgs.get(label.replace("_s3_", "_local_"), {}).get("median")
            py = cfgs.get("pylance_s3_default", {}).get("median")
            vs = "; ".join(x for x in (f"{loc / med:.2f}x local" if loc else "",
                                       f"{py / med:.2f}x pylance_s3_default" if py else "") if x)
        elif med and label == "pylance_s3_default":
            loc = cfgs.get("pylance_local_default", {}).get("median")
            vs = f"{loc / med:.2f}x local" if loc else ""
        io = (v.get("io") or {}).get("s3") if v.get("s3") else None
        rows.append([label, _f(med), _f(v["rows"] / med / 1e6 if med and v.get("rows") else None, "{:.1f}"),
                     _f(s3["dataset_bytes"] / med / 2**20 if med else None, "{:.0f}"), vs or "",
                     io["requests"] if io else "", _f(io["bytes"] / 2**20, "{:.1f}") if io else "",
                     io["retries"] if io else "", v.get("moto_requests", ""), note])
    return _table(["config", "median (s)", "Mrows/s", "MiB/s (dataset files)", "throughput vs",
                   "requests (ours, LSQL_IO_STATS)", "MiB read (ours)", "retries", "requests (moto log)", "error"],
                  rows)


def columns_table(c):
    rows = []
    for label, it in c["items"].items():
        om, pm = it.get("ours_median"), it.get("pylance_median")
        nbytes = it.get("pylance_bytes") or it.get("ours_bytes")
        rows.append([label, f"`{it['type']}`", _f(nbytes / om / 1e6 if om and nbytes else None, "{:.0f}"),
                     _f(nbytes / pm / 1e6 if pm and nbytes else None, "{:.0f}"),
                     _f(_ratio(pm, om), "{:.2f}"),
                     (it.get("ours_error") or it.get("pylance_error") or "")[:120]])
    return _table(["column", "type", "ours MB/s", "pylance MB/s", "ours throughput / pylance", "note"], rows)


def cold_table(c):
    rows = [[k, f"`{v['cmd']}`", _f(v["median"] * 1000 if v.get("median") else None, "{:.1f}"),
             _f(_mib(v.get("rss_kb")), "{:.0f}"), v.get("error", "")[:200]] for k, v in c.items()]
    return _table(["process", "command", "median wall (ms)", "peak RSS (MiB)", "error"], rows)


def rss_table(res):
    rows = []
    for label, v in res.get("scan", {}).items():
        if v.get("rss_kb"):
            rows.append([f"scan {label}", _f(_mib(v["rss_kb"]), "{:.0f}")])
    for label, v in res.get("s3", {}).get("configs", {}).items():
        if v.get("rss_kb"):
            rows.append([f"s3 section {label}", _f(_mib(v["rss_kb"]), "{:.0f}")])
    for s, v in res.get("tpch", {}).get("systems", {}).items():
        if v.get("rss_kb"):
            rows.append([f"TPC-H, all queries: {s}", _f(_mib(v["rss_kb"]), "{:.0f}")])
    for k, v in res.get("cold", {}).items():
        if v.get("rss_kb"):
            rows.append([f"cold start {k}", _f(_mib(v["rss_kb"]), "{:.0f}")])
    return _table(["process (peak RSS of the whole process: VmHWM, or ru_maxrss of a command spawned by a small parent)", "peak RSS (MiB)"], rows)


# ------------------------------------------------------------------------------------- targets

def targets(res):
    rows = []
    s = res.get("scan")
    if s:
        ours_all = next((k for k in s if k.startswith("ours_") and k != "ours_1t"), None)
        for o, p in ((ours_all, "pylance_default"), ("ours_1t", "pylance_1t")):
            om, pm = s.get(o, {}).get("median"), s.get(p, {}).get("median")
            x = _ratio(pm, om)
            rows.append([f"scan throughput >= 2x pylance ({o} vs {p})", _f(x, "{:.2f}x"),
                         "n/a" if x is None else ("met" if x >= 2 else "NOT met")])
    t = res.get("tpch")
    if t:
        pair, _, _ = tpch_totals(t)
        for p, lim, name in (("datafusion", 0.5, "TPC-H total <= 0.5x the reference (DataFusion + pylance)"),
                             ("duckdb_parquet", 1.3, "TPC-H total within 1.3x of DuckDB on Parquet")):
            if p in pair and pair[p][1]:
                x = pair[p][0] / pair[p][1]
                rows.append([name + f" ({pair[p][2]}/{len(t['queries'])} queries)", f"{x:.2f}x",
                             "met" if x <= lim else "NOT met"])
            else:
                rows.append([name, "n/a", "n/a"])
    c = res.get("cold")
    if c:
        m = c.get("lancesql_cli", {}).get("median")
        rows.append(["cold start < 50 ms", _f(m * 1000 if m else None, "{:.1f} ms"),
                     "n/a" if m is None else ("met" if m < 0.05 else "NOT met")])
    return _table(["target", "measured", "status"], rows)


def markdown(res):
    m, v = res["machine"], res["versions"]
    parts = [
        "# lancesql benchmarks",
        "",
        f"Generated by `make bench` (bench/run.sh) on {res['started']}, TPC-H scale factor {res['sf']:g}, "
        f"median of {res['runs']} timed runs after one untimed run, systems alternated. Total run time "
        f"{res.get('elapsed_secs', 0) / 60:.1f} min.",
        "",
        f"Machine: {m.get('cpu', '?')}, {m['nproc']} cores (nproc), {m.get('ram_gib', '?')} GiB RAM, "
        f"{m['platform']}, Python {m['python']}. Load average at start {tuple(round(x, 2) for x in m.get('loadavg_start', ()))}, "
        f"at end {tuple(round(x, 2) for x in m.get('loadavg_end', ()))} (a shared machine: other work adds noise).",
        "",
        "Versions: " + ", ".join(f"{k} {x}" for k, x in v.items()),
        "",
        "Ratios are ours / peer for times (below 1 is faster than the peer) and ours / peer for "
        "throughput in the scan tables (above 1 is faster).",
        "",
        "## Targets",
        "",
        targets(res),
    ]
    if res.get("scan"):
        parts += ["", "## Full scan of lineitem to Arrow", "",
                  "Ours: `lsql_dataset_scan` through ctypes, all batches consumed (unordered). pylance: "
                  "`lance.dataset(uri).to_table()`. On a machine with <= 2 cores pylance's default already "
                  "uses 1 decode thread (LANCE_IO_CORE_RESERVATION=2), so an all-cores pylance row "
                  "(LANCE_CPU_THREADS=nproc) is shown too. Throughput vs peer: ours_1t vs pylance_1t, ours "
                  "all cores vs pylance_default.", "", scan_table(res["scan"])]
    if res.get("s3"):
        s3 = res["s3"]
        parts += ["", f"## Full scan from S3 (moto on 127.0.0.1)", ""]
        if s3.get("skipped"):
            parts += [f"Skipped: {s3['skipped']}"]
        else:
            parts += [f"Table `{s3['table']}` ({s3['dataset_bytes'] / 2**20:.0f} MiB of dataset files), uploaded "
                      f"once (in {s3.get('upload_secs', 0):.1f} s) to a moto S3 server (`python -m moto.server`, "
                      "loopback, plain HTTP, one Python process serving every request) and scanned through "
                      "s3:// with storage options (endpoint, allow_http, keys, region); local rows are the same "
                      "files from disk, in the same run. Ours: `lsql_dataset_scan` (open + full scan + close, "
                      "unordered); pylance: `lance.dataset(uri, storage_options=...).to_table()` with its "
                      "defaults. Requests/bytes (ours) are the store totals LSQL_IO_STATS=1 prints when the "
                      "stores close (HTTP attempts, payload bytes, retries), for one open + scan; requests "
                      "(moto log) count the GET/HEAD lines moto logged during that run, for every system. "
                      f"Measured {s3.get('started', '?')} (TPC-H SF {s3.get('sf', res.get('sf'))}), load average "
                      f"{tuple(round(x, 2) for x in s3.get('loadavg_start', ()))} at start. "
                      f"Median of {len(next((v['times'] for v in s3['configs'].values() if v.get('times')), []))} "
                      "timed runs after one untimed run. moto is far slower than real S3 per request, and "
                      "shares the 2 cores with the reader, so these numbers measure request overhead and "
                      "count, not S3 bandwidth.", "", s3_table(s3)]
    if res.get("tpch"):
        parts += ["", "## TPC-H", "",
                  "Queries: bench/queries/q01..q22.sql (standard text, qualification parameters; Q15's view "
                  "as a WITH clause). Times are seconds to the complete Arrow result. DuckDB runs them "
                  "with plain table names. A query whose answer differs from the reference "
                  "(DuckDB over Parquet, else DataFusion) is marked wrong and not timed.", "",
                  tpch_table(res["tpch"]), "", "Problems:", "", tpch_problems(res["tpch"]), "",
                  "![per-query ratios](results.png)"]
    if res.get("cold"):
        parts += ["", "## Cold start", "", "Wall time of the whole process (spawn to exit).", "",
                  cold_table(res["cold"])]
    parts += ["", "## Peak RSS", "",
              "Scan and TPC-H numbers are whole worker processes (Python interpreter, pyarrow and the "
              "system's libraries included), so they compare systems, not just their buffers. Ours "
              "streams the scan batch by batch; pylance's to_table() holds the whole table.", "",
              rss_table(res)]
    if res.get("columns"):
        c = res["columns"]
        parts += ["", "## Single-thread decode throughput per column", "",
                  "One column at a time, ours with n_threads=1 vs pylance with LANCE_CPU_THREADS=1 "
                  "LANCE_IO_THREADS=1 (`to_table(columns=[c])`), datasets opened once (only the scan is timed). "
                  "typesV: synthetic 1 Mi-row dataset in file version V; fixture datasets (V/recipe) are "
                  "small, so they mostly measure per-scan overhead. MB/s counts the Arrow bytes pylance "
                  "returns for that column, for both systems. Each measurement does one untimed scan of the "
                  "column, then repeats it for >= 50 ms; median of the runs (steady state: see bench/README.md "
                  "for the first-scan cost).", "", columns_table(c)]
        if c.get("errors"):
            parts += ["", "Errors: " + "; ".join(f"{k}: {e}" for k, e in c["errors"].items())]
    return "\n".join(parts) + "\n"


def summary(res):
    parts = ["", targets(res)]
    if res.get("scan"):
        parts += ["", scan_table(res["scan"])]
    if res.get("s3") and not res["s3"].get("skipped"):
        parts += ["", s3_table(res["s3"])]
    if res.get("tpch"):
        parts += ["", tpch_table(res["tpch"])]
    if res.get("cold"):
        parts += ["", cold_table(res["cold"])]
    return "\n".join(parts) + "\n"


def chart(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = res.get("tpch")
    if not t:
        return
    qs = sorted(t["queries"])
    systems = [s for s in t["systems"] if "error" not in t["systems"][s]]
    if "lancesql" in systems:
        base, others, title = "lancesql", [p for p in PEERS if p in systems], \
            f"TPC-H SF{res['sf']:g}: lancesql time / peer time per query (below 1: lancesql faster)"
        num = True
    else:
        base, others, title = "duckdb_parquet", [s for s in systems if s != "duckdb_parquet"], \
            f"TPC-H SF{res['sf']:g}: time / DuckDB-on-Parquet time per query (lancesql not run)"
        num = False
    fig, ax = plt.subplots(figsize=(14, 5))
    width = 0.8 / max(1, len(others))
    for i, p in enumerate(others):
        vals = []
        for q in qs:
            b, o = t["queries"][q].get(base, {}).get("median"), t["queries"][q].get(p, {}).get("median")
            r = (b / o if num else o / b) if b and o else float("nan")
            vals.append(r)
        ax.bar([j + (i - (len(others) - 1) / 2) * width for j in range(len(qs))], vals, width,
               label=("vs " if num else "") + NAMES.get(p, p))
    ax.axhline(1.0, color="black", linewidth=0.8)
    if num:
        ax.axhline(0.5, color="tab:blue", linewidth=0.8, linestyle="--", label="target vs DataFusion (0.5)")
        ax.axhline(1.3, color="tab:green", linewidth=0.8, linestyle="--", label="target vs DuckDB/Parquet (1.3)")
    ax.set_yscale("log")
    from matplotlib.ticker import FuncFormatter
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(
        lambda y, _: f"{y:g}" if y > 0 and round(y / 10 ** math.floor(math.log10(y)), 3) in (2, 3, 5) else ""))
    ax.set_xticks(range(len(qs)))
    ax.set_xticklabels(qs, rotation=0, fontsize=8)
    ax.set_ylabel("time ratio (log scale)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    p = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out", "results.json")
    with open(p) as f:
        r = json.load(f)
    print(markdown(r))
