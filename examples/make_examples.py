#!/usr/bin/env python3
"""Writes the example namespaces examples/lake/ and examples/crm/ (committed data).

lake/: namespaces retail, retail$sales, wholesale, wholesale$sales2 with tables
       retail.sales.customers, retail.sales.orders, wholesale.sales2.orders2
crm/:  namespaces crm, crm$dim with table crm.dim.customers_dim

Everything is created through the directory namespace API, so `__manifest` is written.
The row data is fixed (the demo's query output depends on it). tests/fixtures/generate.py
imports this module to write the same data as the seed_root / seed_crm fixtures.

Usage: make_examples.py [--out DIR]   (default: the folder of this script)
"""
import argparse
import os
import shutil
import sys

os.environ.setdefault("LANCE_LOG", "error")

import pyarrow as pa  # noqa: E402
import lance_namespace as lns  # noqa: E402


def connect(root):
    os.makedirs(root, exist_ok=True)
    return lns.connect("dir", {"root": root})


def create_namespace(ns, nid, properties=None):
    ns.create_namespace(lns.CreateNamespaceRequest(id=list(nid), properties=properties))


def create_table(ns, tid, table):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return ns.create_table(lns.CreateTableRequest(id=list(tid)), sink.getvalue().to_pybytes())


def i32(values):
    return pa.array(values, pa.int32())


CUSTOMERS = pa.table({"customer_id": i32([1, 2, 3]), "name": pa.array(["Alice", "Bob", "Carol"]),
                      "city": pa.array(["NY", "SF", "LA"])})
ORDERS = pa.table({"order_id": i32([101, 102, 103]), "customer_id": i32([1, 2, 3]),
                   "amount": i32([100, 200, 300])})
ORDERS2 = pa.table({"order_id": i32([201, 202]), "customer_id": i32([1, 2]), "amount": i32([150, 250])})
CUSTOMERS_DIM = pa.table({"customer_id": i32([1, 2, 3]),
                          "segment": pa.array(["Silver", "Gold", "Platinum"])})


def write_lake(root):
    ns = connect(root)
    for nid in (["retail"], ["retail", "sales"], ["wholesale"], ["wholesale", "sales2"]):
        create_namespace(ns, nid)
    create_table(ns, ["retail", "sales", "customers"], CUSTOMERS)
    create_table(ns, ["retail", "sales", "orders"], ORDERS)
    create_table(ns, ["wholesale", "sales2", "orders2"], ORDERS2)


def write_crm(root):
    ns = connect(root)
    for nid in (["crm"], ["crm", "dim"]):
        create_namespace(ns, nid)
    create_table(ns, ["crm", "dim", "customers_dim"], CUSTOMERS_DIM)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    for name, fn in (("lake", write_lake), ("crm", write_crm)):
        root = os.path.join(a.out, name)
        shutil.rmtree(root, ignore_errors=True)
        fn(root)
        print(f"wrote {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
