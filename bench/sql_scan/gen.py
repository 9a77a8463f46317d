import lance, pyarrow as pa, numpy as np, lance_namespace as lns, sys, os, shutil
root = "/tmp/sqlbench/ns"
shutil.rmtree(root, ignore_errors=True)
os.makedirs(root)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
rng = np.random.default_rng(1)
i = np.arange(n, dtype="int64")
d = rng.random(n)
s = pa.array(np.char.add("s", (rng.integers(0, 10**8, n)).astype(str).astype(object)).astype(object), pa.string())  # ~9-10 bytes
ls = pa.compute.binary_join_element_wise(s, pa.array(["-abcdefghijklmnopqrstuvwxyz-0123"] * n), "")  # ~42 bytes
cats = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"], dtype=object)
c = pa.array(cats[rng.integers(0, 8, n)], pa.string())
dc = pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 8, n).astype("int32")), pa.array(cats.tolist()))
t = pa.table({"i": i, "d": d, "s": s, "long_s": ls, "cat": c, "dcat": dc})
ns = lns.connect("dir", {"root": root})
ns.create_namespace(lns.CreateNamespaceRequest(id=["bench"]))
ns.create_namespace(lns.CreateNamespaceRequest(id=["bench", "s"]))
sink = pa.BufferOutputStream()
small = t.slice(0, 10)
with pa.ipc.new_stream(sink, small.schema) as w: w.write_table(small)
ns.create_table(lns.CreateTableRequest(id=["bench", "s", "big"]), sink.getvalue().to_pybytes())
loc = ns.describe_table(lns.DescribeTableRequest(id=["bench", "s", "big"])).location
lance.write_dataset(t, loc, mode="overwrite")
print(loc)
t.drop_columns(["dcat"]).to_pandas  # noqa
import pyarrow.parquet as pq
pq.write_table(t, "/tmp/sqlbench/big.parquet")
print(lance.dataset(loc).schema)
print(lance.dataset(loc).count_rows(), len(lance.dataset(loc).get_fragments()))
