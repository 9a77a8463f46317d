"""Compares query answers of different systems (saved as Arrow IPC files by worker.py).

Values are normalised so that equal answers compare equal across engines: every number (int,
decimal, float) becomes a float compared with a tolerance (relative 1e-5, absolute 0.01, i.e. a
cent, as the TPC-H answer checks allow), dates and timestamps become ISO strings. Column names are
ignored (engines name unaliased aggregates differently). Rows are compared in the order returned;
when that fails (ties in ORDER BY), they are compared again after sorting.
"""
import datetime
import decimal
import math

import pyarrow as pa

REL_TOL, ABS_TOL = 1e-5, 0.01


def load(path):
    with pa.OSFile(path, "rb") as f:
        return pa.ipc.open_file(f).read_all()


def _norm(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float, decimal.Decimal)):
        return float(v)
    if isinstance(v, (datetime.date, datetime.datetime, datetime.time)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    return v


def rows(table):
    cols = [[_norm(v) for v in c.to_pylist()] for c in table.columns]
    return [tuple(c[i] for c in cols) for i in range(table.num_rows)]


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def _first_diff(ra, rb):
    for i, (x, y) in enumerate(zip(ra, rb)):
        for j, (a, b) in enumerate(zip(x, y)):
            if not _same(a, b):
                return f"row {i} column {j}: {a!r} vs {b!r}"
    return None


def _key(row):
    # Floats rounded coarsely so that tiny differences do not change the order.
    return tuple((0, "") if v is None else (1, float("%.4g" % v)) if isinstance(v, float) else (2, str(v))
                 for v in row)


def diff(ref, other):
    """None when `other` gives the same answer as `ref`, else a short description."""
    if ref.num_columns != other.num_columns:
        return f"{other.num_columns} columns, expected {ref.num_columns}"
    if ref.num_rows != other.num_rows:
        return f"{other.num_rows} rows, expected {ref.num_rows}"
    ra, rb = rows(ref), rows(other)
    d = _first_diff(ra, rb)
    if d is None:
        return None
    d2 = _first_diff(sorted(ra, key=_key), sorted(rb, key=_key))
    return None if d2 is None else d
