"""Scans of one dataset handle reuse the reader buffers earlier scans left in the handle's cache
(lsql_table_spares_*): repeated, early-released and concurrent scans of one handle must read
exactly what pylance reads."""
import os
import threading

import pytest

from conftest import normalize, read_arrow

NAMES = [f"{v}/{r}" for v in ("2.0", "2.1", "2.2")
         for r in ("types", "encodings", "fragments", "deletions", "long_strings", "wide_binary", "packed")]


def _case(index, name):
    for d in index["datasets"]:
        if d["name"] == name:
            return d
    pytest.skip(f"no fixture {name}")


def _same(ours, expected):
    ours, expected = normalize(ours), normalize(expected)
    assert ours.num_rows == expected.num_rows
    assert ours.equals(expected)


@pytest.mark.parametrize("name", NAMES)
def test_repeated_scans(lib, fixtures, index, name):
    d = _case(index, name)
    expected = read_arrow(fixtures, d["expected"])
    cols = expected.schema.names
    with lib.Dataset(os.path.join(fixtures, d["path"])) as ds:
        for threads, batch in [(1, 0), (1, 0), (2, 0), (1, 100), (3, 7), (1, 0)]:
            _same(ds.scan(n_threads=threads, batch_size=batch), expected)
            # a projection in another order takes the same fields' buffers
            sub = list(reversed(cols[: max(1, len(cols) // 2)]))
            _same(ds.scan(columns=sub, n_threads=threads, batch_size=batch), expected.select(sub))
            # a scan released after one batch gives back readers that stopped mid-page
            r = ds.scan_reader(n_threads=threads, batch_size=batch or 64)
            r.read_next_batch()
            r.close()


@pytest.mark.parametrize("name", ["2.0/fragments", "2.1/types", "2.2/fragments", "2.2/long_strings"])
def test_concurrent_scans(lib, fixtures, index, name):
    d = _case(index, name)
    expected = read_arrow(fixtures, d["expected"])
    errors = []
    with lib.Dataset(os.path.join(fixtures, d["path"])) as ds:
        def run(i):
            try:
                for k in range(4):
                    _same(ds.scan(n_threads=1 + (i + k) % 2, batch_size=(0, 50)[(i + k) % 2]), expected)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
        ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, errors[0]
        _same(ds.scan(), expected)
