import duckdb, lance, time, sys
loc = "/tmp/sqlbench/ns/3b692c67_bench$s$big"
ds = lance.dataset(loc)
con = duckdb.connect(config={"threads": int(sys.argv[1]) if len(sys.argv) > 1 else 2})
qs = ["SELECT sum(i), sum(d) FROM {t}", "SELECT count(DISTINCT s) FROM {t}", "SELECT max(len(long_s)) FROM {t}",
      "SELECT cat, count(*) FROM {t} GROUP BY cat ORDER BY cat", "SELECT dcat, count(*) FROM {t} GROUP BY dcat ORDER BY dcat"]
for name, t in (("pylance", "ds"), ("parquet", "'/tmp/sqlbench/big.parquet'")):
    for q in qs:
        best = 1e9
        for _ in range(3):
            t0 = time.perf_counter(); r = con.execute(q.format(t=t)).fetchall(); best = min(best, time.perf_counter() - t0)
        print(f"{name:8s} {q.format(t='big'):60s} {best:.3f} s  {r[0]}")
