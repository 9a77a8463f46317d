"""Makes the TPC-H data the benchmark reads, once, and caches it under bench/data/sf<SF>/:

    parquet/<table>.parquet        tpchgen-cli output (kept: DuckDB reads it natively)
    lance/                         a directory namespace: namespaces "tpch" and "tpch$<schema>",
                                   the 8 tables written by pylance with its default settings
    READY                          written last; its presence means the data set is complete

Usage: gen_data.py SF  (prints the data folder). The schema is "sf1" at SF 1 and e.g. "sf0_1" at
SF 0.1, so the queries' `tpch.sf1.x` names are rewritten for other scale factors.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import lance
import lance_namespace as lns
import pyarrow as pa
import pyarrow.parquet as pq

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]
HERE = os.path.dirname(os.path.abspath(__file__))


def schema_name(sf):
    s = ("%g" % float(sf)).replace(".", "_")
    return "sf" + s


def data_dir(sf):
    return os.path.join(HERE, "data", "sf%g" % float(sf))


def lance_schema(pq_schema):
    """string_view -> string (what a Lance user normally stores), and drop Parquet field ids."""
    fields = []
    for f in pq_schema:
        t = f.type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t, f.nullable))
    return pa.schema(fields)


def write_table(ns, schema, table, parquet_path):
    f = pq.ParquetFile(parquet_path)
    sch = lance_schema(f.schema_arrow)

    def batches():
        for b in f.iter_batches(batch_size=64 * 1024):
            yield pa.RecordBatch.from_arrays([c.cast(t.type) for c, t in zip(b.columns, sch)], schema=sch)

    reader = pa.RecordBatchReader.from_batches(sch, batches())
    ds = lance.write_dataset(reader, namespace_client=ns, table_id=["tpch", schema, table])
    return ds.uri, ds.count_rows()


def generate(sf):
    out = data_dir(sf)
    if os.path.exists(os.path.join(out, "READY")):
        return out
    schema = schema_name(sf)
    if os.path.exists(out):
        shutil.rmtree(out)
    pqdir, lroot = os.path.join(out, "parquet"), os.path.join(out, "lance")
    os.makedirs(pqdir)
    os.makedirs(lroot)
    t0 = time.time()
    gen = os.path.join(os.path.dirname(sys.executable), "tpchgen-cli")
    subprocess.run([gen, "parquet", "-s", str(sf), "-o", pqdir, "-q"], check=True)
    print(f"gen_data: tpchgen-cli SF{sf} -> {pqdir} in {time.time() - t0:.1f}s", file=sys.stderr)
    t1 = time.time()
    ns = lns.connect("dir", {"root": lroot})
    ns.create_namespace(lns.CreateNamespaceRequest(id=["tpch"]))
    ns.create_namespace(lns.CreateNamespaceRequest(id=["tpch", schema]))
    info = {"sf": float(sf), "schema": schema, "tables": {}}
    for t in TABLES:
        uri, n = write_table(ns, schema, t, os.path.join(pqdir, t + ".parquet"))
        info["tables"][t] = {"uri": uri, "rows": n, "parquet": os.path.join(pqdir, t + ".parquet")}
    print(f"gen_data: Lance namespace tpch.{schema} -> {lroot} in {time.time() - t1:.1f}s", file=sys.stderr)
    info["pylance"] = lance.__version__
    with open(os.path.join(out, "tables.json"), "w") as f:
        json.dump(info, f, indent=1)
    with open(os.path.join(out, "READY"), "w") as f:
        f.write("ok\n")
    return out


def load_info(sf):
    with open(os.path.join(data_dir(sf), "tables.json")) as f:
        return json.load(f)


if __name__ == "__main__":
    print(generate(sys.argv[1] if len(sys.argv) > 1 else "1"))


TYPES_ROWS = 1 << 20
TYPES_VERSIONS = ("2.0", "2.1", "2.2")


def types_table(n=TYPES_ROWS, seed=7):
    """One column per physical type the reader decodes, n rows, for per-type decode throughput."""
    import numpy as np
    rng = np.random.default_rng(seed)
    words = np.array(["AIR", "MAIL", "SHIP", "TRUCK", "RAIL", "FOB", "REG AIR", "DELIVER IN PERSON"])
    low = words[rng.integers(0, len(words), n)]
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789 ", dtype=np.uint8)
    lens = rng.integers(10, 40, n)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    chars = alphabet[rng.integers(0, len(alphabet), int(offsets[-1]))]
    high = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))
    nulls = rng.random(n) < 0.1
    list_lens = rng.integers(0, 8, n)
    list_off = np.concatenate([[0], np.cumsum(list_lens)]).astype(np.int32)
    return pa.table({
        "int32_seq": pa.array(np.arange(n, dtype=np.int32)),
        "int64_rand": pa.array(rng.integers(0, 1 << 62, n)),
        "int64_small": pa.array(rng.integers(0, 100, n)),
        "int64_nullable": pa.array(rng.integers(0, 1 << 20, n), mask=nulls),
        "float32": pa.array(rng.random(n, dtype=np.float32)),
        "float64": pa.array(rng.random(n)),
        "bool": pa.array(rng.random(n) < 0.5),
        "date32": pa.array(rng.integers(8000, 11000, n).astype(np.int32)).cast(pa.date32()),
        "timestamp_us": pa.array(rng.integers(0, 1 << 50, n)).cast(pa.timestamp("us")),
        "decimal128": pa.Array.from_buffers(pa.decimal128(15, 2), n, [None, pa.py_buffer(
            np.stack([rng.integers(0, 10_000_000, n), np.zeros(n, np.int64)], axis=1).tobytes())]),
        "utf8_lowcard": pa.array(low),
        "utf8_highcard": high,
        "utf8_nullable": pa.array(low, mask=nulls),
        "binary32": pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(
            rng.integers(0, 256, n * 32, dtype=np.uint8).tobytes())]).cast(pa.binary()),
        "list_int32": pa.ListArray.from_arrays(pa.array(list_off), pa.array(rng.integers(0, 1000, int(list_off[-1])).astype(np.int32))),
        "vector_f32x8": pa.FixedSizeListArray.from_arrays(pa.array(rng.random(n * 8, dtype=np.float32)), 8),
        "struct": pa.StructArray.from_arrays([pa.array(rng.integers(0, 1000, n).astype(np.int32)), pa.array(low)], ["a", "b"]),
    })


def types_datasets():
    """{file_version: path} of the synthetic per-type datasets (bench/data/types/<version>),
    written once with pylance (default settings but the file version)."""
    out = {}
    base = os.path.join(HERE, "data", "types")
    t = None
    for v in TYPES_VERSIONS:
        p = os.path.join(base, v)
        if not os.path.exists(os.path.join(p, "READY")):
            if t is None:
                t = types_table()
            shutil.rmtree(p, ignore_errors=True)
            lance.write_dataset(t, os.path.join(p, "ds"), data_storage_version=v)
            open(os.path.join(p, "READY"), "w").close()
        out[v] = os.path.join(p, "ds")
    return out
