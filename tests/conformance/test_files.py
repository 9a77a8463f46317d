"""lsql_file_scan of single data files equals pylance's LanceFileReader reading of them.

Files: every data file of the single-version fixture datasets whose file schema is the dataset's
(so the file alone is meaningful), plus the standalone files of index.json "files" (multi-page).
"""
import glob
import os

import pytest

from conftest import fixtures_dir, load_index, normalize, read_arrow
from test_datasets import assert_tables_equal

INDEX = load_index()


def _cases():
    out = []
    root = fixtures_dir()
    for d in INDEX["datasets"]:
        if not d["single_version"]:
            continue
        for f in sorted(glob.glob(os.path.join(root, d["path"], "data", "*.lance"))):
            out.append(pytest.param(d, os.path.relpath(f, root), None,
                                    id=f"{d['name']}/{os.path.basename(f)[:8]}"))
    for f in INDEX["files"]:
        out.append(pytest.param(f, f["path"], f["expected"], id=f"files/{f['name']}"))
    return out


def pylance_read(path):
    import lance.file
    return lance.file.LanceFileReader(path).read_all().to_table()


@pytest.mark.parametrize("entry,rel,expected_rel", _cases())
def test_file_scan(lib, fixtures, entry, rel, expected_rel):
    path = os.path.join(fixtures, rel)
    if expected_rel:
        expected = read_arrow(fixtures, expected_rel)
    else:
        try:
            expected = pylance_read(path)
        except Exception as e:  # e.g. pylance 14.0.2 cannot project some 2.0 nested / blob v2 files
            pytest.skip(f"pylance cannot read this file standalone: {str(e)[:120]}")
        # A single-version dataset's files hold its declared schema (blob columns as their bytes,
        # while the dataset's to_table() returns descriptions).
        import lance
        ds_schema = lance.dataset(os.path.join(fixtures, entry["path"])).schema
        assert normalize(expected).schema.equals(ds_schema, check_metadata=False), (expected.schema, ds_schema)
    try:
        ours = lib.file_scan(path)
    except lib.LsqlError as e:
        if entry["unstable"] and e.code == lib.EUNSUPPORTED and entry["file_version"] in e.message:
            pytest.skip(f"unstable file version: {e.message}")
        raise
    assert_tables_equal(ours, expected)


@pytest.mark.parametrize("entry,rel,expected_rel", [c for c in _cases() if c.values[2]])
def test_file_inspect(lib, fixtures, entry, rel, expected_rel):
    try:
        info = lib.file_inspect(os.path.join(fixtures, rel))
    except lib.LsqlError as e:
        if entry["unstable"] and e.code == lib.EUNSUPPORTED:
            pytest.skip(e.message)
        raise
    assert isinstance(info, dict)
