"""Shared pytest fixtures for the conformance tests.

fixtures: path of the fixture tree ($LSQL_FIXTURES or /work/main/build/fixtures); generated with
          tests/fixtures/generate.py if its index.json is missing (the generator caches by hash).
index:    parsed index.json.
lib:      the lsql binding module (a missing library is an error, not a skip).
          With LSQL_BACKEND=pylance it is a pylance-backed stand-in with the same surface, used to
          check the harness itself: every dataset/file test must pass against it.
"""
import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

DEFAULT_FIXTURES = os.path.join(REPO, "build", "fixtures")


def fixtures_dir():
    return os.path.abspath(os.environ.get("LSQL_FIXTURES", DEFAULT_FIXTURES))


def ensure_fixtures():
    d = fixtures_dir()
    if not os.path.exists(os.path.join(d, "index.json")):
        subprocess.run([sys.executable, os.path.join(REPO, "tests", "fixtures", "generate.py"), "--out", d],
                       check=True)
    return d


def load_index():
    with open(os.path.join(ensure_fixtures(), "index.json")) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def fixtures():
    return ensure_fixtures()


@pytest.fixture(scope="session")
def index(fixtures):
    with open(os.path.join(fixtures, "index.json")) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def lib():
    import lsql
    if os.environ.get("LSQL_BACKEND") == "pylance":
        return PylanceBackend(lsql)
    lsql.lib()  # fail here, once, if the library is missing
    return lsql


class PylanceBackend:
    """The subset of lsql's API the dataset/file tests use, answered by pylance."""

    def __init__(self, lsql):
        self.LsqlError, self.EUNSUPPORTED = lsql.LsqlError, lsql.EUNSUPPORTED
        backend = self

        class Dataset:
            def __init__(self, uri, version=0, tag=None, branch=None, storage_options=None):
                import lance
                ds = lance.dataset(uri, version=version or tag or None)
                self.ds = ds.checkout_version((branch, None)) if branch else ds

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                pass

            version = property(lambda self: self.ds.version)

            def count_rows(self):
                return self.ds.count_rows()

            def schema(self):
                return self.ds.schema

            def versions(self):
                return [(v["version"], int(v["timestamp"].timestamp() * 1e6)) for v in self.ds.versions()]

            def scan(self, columns=None, ordered=True, **kw):
                rid = bool(columns and "_rowid" in columns)
                cols = [c for c in columns if c not in ("_rowid", "_rowaddr")] if columns else None
                return self.ds.to_table(columns=cols, with_row_id=rid, with_row_address=rid, scan_in_order=ordered)
        self.Dataset = Dataset
        del backend

    @staticmethod
    def file_scan(path, columns=None):
        import lance.file
        return lance.file.LanceFileReader(path, columns=columns).read_all().to_table()

    @staticmethod
    def file_inspect(path):
        return {"path": path}


def read_arrow(fixtures, rel):
    with pa.ipc.open_file(os.path.join(fixtures, rel)) as r:
        return r.read_all()


def normalize(t):
    """One chunk per column, one dictionary per dictionary column."""
    try:
        t = t.unify_dictionaries()
    except pa.ArrowInvalid:  # "Cannot yet unify dictionaries with nulls": compare chunks as they are
        pass
    return t.combine_chunks()
