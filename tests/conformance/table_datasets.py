"""Small pylance datasets for the table-layer conformance tests (until tests/fixtures exists).
Usage: python table_datasets.py OUTDIR"""
import os
import shutil
import sys

import lance
import pyarrow as pa


def table(n, start=0):
    ids = pa.array(range(start, start + n), pa.int64())
    return pa.table({
        "id": ids,
        "s": pa.array([f"s{i}" if i % 7 else None for i in range(start, start + n)]),
        "f": pa.array([i * 0.5 for i in range(start, start + n)], pa.float64()),
        "st": pa.array([{"a": i, "b": str(i)} for i in range(start, start + n)],
                       pa.struct([("a", pa.int32()), ("b", pa.string())])),
    })


def main(out):
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    for fv in ("2.0", "2.1"):
        # basic: several fragments, small deletions, a tag
        p = f"{out}/{fv}/basic"
        ds = lance.write_dataset(table(1000), p, max_rows_per_file=300, data_storage_version=fv)
        ds = lance.write_dataset(table(500, 1000), p, mode="append", max_rows_per_file=300)
        ds.delete("id % 10 = 3")
        ds.tags.create("t1", 2)
        # big deletions (> 5000 rows -> roaring .bin) and add_columns
        p = f"{out}/{fv}/bigdel"
        ds = lance.write_dataset(table(20000), p, max_rows_per_file=12000, data_storage_version=fv)
        ds.delete("id >= 1000 and id < 7500")
        ds.add_columns({"x2": "id * 2"})
        # schema evolution: a column added by a later merge exists only in newer fragments? use
        # add_columns with all nulls (metadata only)
        ds = lance.write_dataset(table(100, 50000), p, mode="append")
        # stable row ids
        p = f"{out}/{fv}/rowids"
        ds = lance.write_dataset(table(3000), p, max_rows_per_file=1000, data_storage_version=fv,
                                 enable_stable_row_ids=True)
        ds.delete("id % 3 = 0")
        ds.optimize.compact_files(target_rows_per_fragment=5000)
        # schema evolution: an all-null column (no data file holds it), a dropped column (its id
        # stays listed in old data files) and a retyped column (new id, old id left behind)
        p = f"{out}/{fv}/evolve"
        ds = lance.write_dataset(table(500), p, max_rows_per_file=200, data_storage_version=fv)
        ds.add_columns(pa.field("z", pa.int32()))
        ds.drop_columns(["f"])
        ds.add_columns({"y": "id + 1"})
        ds = lance.write_dataset(table(50, 1000).drop(["f"]).append_column("z", pa.array([7] * 50, pa.int32()))
                                 .append_column("y", pa.array(range(1001, 1051), pa.int64())), p, mode="append")
        try:
            ds.alter_columns({"path": "y", "data_type": pa.float64()})
        except Exception as e:  # pragma: no cover
            print("alter_columns unsupported:", e)
        # V1 manifest naming
        p = f"{out}/{fv}/v1names"
        ds = lance.write_dataset(table(100), p, data_storage_version=fv, enable_v2_manifest_paths=False)
        for i in range(10):
            ds = lance.write_dataset(table(10, 100 + 10 * i), p, mode="append")
    # branch (if supported)
    p = f"{out}/branch"
    ds = lance.write_dataset(table(100), p)
    try:
        b = ds.create_branch("feat/x", 1)
        lance.write_dataset(table(50, 100), b.uri if hasattr(b, "uri") else b, mode="append")
    except Exception as e:  # pragma: no cover
        print("branch unsupported:", e)


if __name__ == "__main__":
    main(sys.argv[1])
