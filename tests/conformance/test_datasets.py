"""Our dataset scans equal pylance's readings of every fixture dataset (index.json).

Comparison: schemas must match in names, types and nullability (`Schema.equals` without metadata);
field metadata is compared separately (test_field_metadata) because it is meaningful (pylance
returns the stored `lance-encoding:*` keys, e.g. the blob marker on description columns) but a
different kind of mismatch than wrong values. Schema-level metadata is not compared: pylance's
to_table() returns none. Values: `Table.equals` after one chunk per column and unified dictionaries.

Datasets marked unstable (file version 2.3) may instead fail with EUNSUPPORTED naming the version.
"""
import os

import pytest

from conftest import load_index, normalize, read_arrow

INDEX = load_index()


def _cases():
    out = []
    for d in INDEX["datasets"]:
        out.append(pytest.param(d, "latest", None, d["expected"], id=d["name"]))
        for v, rel in sorted(d["versions"].items(), key=lambda kv: int(kv[0])):
            if int(v) != d["latest_version"]:
                out.append(pytest.param(d, "version", int(v), rel, id=f"{d['name']}@v{v}"))
        for tag, info in sorted(d["tags"].items()):
            out.append(pytest.param(d, "tag", tag, info["expected"], id=f"{d['name']}@tag-{tag}"))
        for br, info in sorted(d["branches"].items()):
            out.append(pytest.param(d, "branch", br, info["expected"], id=f"{d['name']}@branch-{br}"))
        if d["rowid"]:
            out.append(pytest.param(d, "rowid", None, d["rowid"], id=f"{d['name']}.rowid"))
    return out


DATASETS = [pytest.param(d, id=d["name"]) for d in INDEX["datasets"]]


def unsupported_ok(d, lib, fn):
    """Runs fn(); for unstable file versions an EUNSUPPORTED error naming the version is accepted."""
    if not d["unstable"]:
        return fn()
    try:
        return fn()
    except lib.LsqlError as e:
        if e.code == lib.EUNSUPPORTED and d["file_version"] in e.message:
            pytest.skip(f"unstable file version {d['file_version']} not supported: {e.message}")
        raise
    except OSError as e:
        # Data files are opened lazily, so the refusal arrives through the Arrow stream, which
        # pyarrow surfaces as OSError carrying our message.
        if f"unsupported file version {d['file_version']}" in str(e):
            pytest.skip(f"unstable file version {d['file_version']} not supported: {e}")
        raise


def open_reading(lib, path, kind, arg):
    if kind == "version":
        return lib.Dataset(path, version=arg)
    if kind == "tag":
        return lib.Dataset(path, tag=arg)
    if kind == "branch":
        return lib.Dataset(path, branch=arg)
    return lib.Dataset(path)


def assert_tables_equal(ours, expected):
    ours, expected = normalize(ours), normalize(expected)
    assert ours.schema.equals(expected.schema), f"schema differs:\nours:\n{ours.schema}\nexpected:\n{expected.schema}"
    assert ours.num_rows == expected.num_rows
    for name in expected.column_names:
        a, b = ours.column(name), expected.column(name)
        if not a.equals(b):
            diff = [i for i in range(len(b)) if a[i] != b[i]][:5]
            raise AssertionError(f"column {name!r} differs at rows {diff}: ours {[a[i] for i in diff]} "
                                 f"expected {[b[i] for i in diff]}")
    assert ours.equals(expected)


@pytest.mark.parametrize("d,kind,arg,expected_rel", _cases())
def test_scan(lib, fixtures, d, kind, arg, expected_rel):
    expected = read_arrow(fixtures, expected_rel)
    path = os.path.join(fixtures, d["path"])

    def run():
        with open_reading(lib, path, kind, arg) as ds:
            if kind == "version":
                assert ds.version == arg
            columns = expected.schema.names if kind == "rowid" else None
            return ds.scan(columns=columns, ordered=True)
    assert_tables_equal(unsupported_ok(d, lib, run), expected)


@pytest.mark.parametrize("d", DATASETS)
def test_count_rows(lib, fixtures, d):
    def run():
        with lib.Dataset(os.path.join(fixtures, d["path"])) as ds:
            return ds.count_rows(), ds.version
    n, version = unsupported_ok(d, lib, run)
    assert n == d["count_rows"]
    assert version == d["latest_version"]


@pytest.mark.parametrize("d", DATASETS)
def test_versions(lib, fixtures, d):
    def run():
        with lib.Dataset(os.path.join(fixtures, d["path"])) as ds:
            return ds.versions()
    got = unsupported_ok(d, lib, run)
    assert [v for v, _ in got] == sorted(int(v) for v in d["versions"])
    assert all(ts > 0 for _, ts in got)


def assert_field_metadata_equal(ours, expected):
    assert ours.names == expected.names
    for f in expected:
        assert (ours.field(f.name).metadata or {}) == (f.metadata or {}), f.name


@pytest.mark.parametrize("d", DATASETS)
def test_field_metadata(lib, fixtures, d):
    """The scan's fields carry the same metadata as pylance's reading."""
    expected = read_arrow(fixtures, d["expected"]).schema

    def run():
        with lib.Dataset(os.path.join(fixtures, d["path"])) as ds:
            return ds.scan_reader().schema if hasattr(ds, "scan_reader") else ds.scan().schema
    assert_field_metadata_equal(unsupported_ok(d, lib, run), expected)


@pytest.mark.parametrize("d", DATASETS)
def test_schema(lib, fixtures, d):
    """lsql_dataset_schema equals pylance's dataset schema (the logical schema: for blob columns it
    is the declared type, while a scan returns blob descriptions, as pylance's to_table does)."""
    import lance
    path = os.path.join(fixtures, d["path"])
    expected = lance.dataset(path).schema

    def run():
        with lib.Dataset(path) as ds:
            return ds.schema()
    ours = unsupported_ok(d, lib, run)
    assert ours.equals(expected, check_metadata=False), f"ours:\n{ours}\nexpected:\n{expected}"
    assert_field_metadata_equal(ours, expected)


BLOBS = [pytest.param(d, id=d["name"]) for d in INDEX["datasets"]
         if d["recipe"] in ("blob", "blob_v2") and not d["unstable"]]


@pytest.mark.parametrize("d", BLOBS)
def test_sql_blob_descriptions(lib, fixtures, d, tmp_path):
    """SQL over a blob table binds the scan's types (descriptions), not the declared ones."""
    import shutil
    lns = pytest.importorskip("lance_namespace")
    if not hasattr(lib, "Session"):
        pytest.skip("SQL sessions are lsql-only")
    ns = lns.connect("dir", {"root": str(tmp_path)})
    for nid in (["c"], ["c", "s"]):
        ns.create_namespace(lns.CreateNamespaceRequest(id=nid))
    loc = ns.declare_table(lns.DeclareTableRequest(id=["c", "s", "t"])).location
    loc = loc[len("file://"):] if loc.startswith("file://") else loc
    shutil.rmtree(loc, ignore_errors=True)
    shutil.copytree(os.path.join(fixtures, d["path"]), loc)
    expected = normalize(read_arrow(fixtures, d["expected"]))
    with lib.Session(root=lib.Namespace("dir", root=str(tmp_path)), default=("c", "s")) as s:
        got = s.sql("SELECT * FROM t")
        assert got.num_rows == expected.num_rows
        gt, et = got.schema.field("blob").type, expected.schema.field("blob").type
        # DuckDB results are all nullable: compare member names and types only
        assert [(c.name, c.type) for c in gt] == [(c.name, c.type) for c in et]
        size = s.sql("SELECT sum(blob.size) AS n FROM t").column("n").to_pylist()[0]
    sizes = expected.column("blob").combine_chunks().field("size")
    assert size == sum(x for x in sizes.to_pylist() if x is not None)


def test_lancedb_node_recorded():
    """The LanceDB-for-Node dataset (recipe lancedb_node) is in the index, so the tests above
    compare it with pylance; when the generator could not make it (no node/npm, offline registry)
    index.json says why and this test reports that reason as a skip."""
    if any(d["recipe"] == "lancedb_node" for d in INDEX["datasets"]):
        return
    reasons = [s["reason"] for s in INDEX.get("skipped", []) if s.get("recipe") == "lancedb_node"]
    if reasons:
        pytest.skip(f"lancedb_node fixture not generated: {reasons[0]}")
    pytest.fail("index.json has neither a lancedb_node dataset nor a skip record: the fixture tree "
                "predates the recipe; regenerate it with tests/fixtures/generate.py --out DIR")
