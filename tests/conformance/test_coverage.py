"""Encoding coverage: lists the page layouts and compression schemes actually present in the fixture
files, per file version, and fails when an encoding the reader claims to support is never
exercised. This catches a fixture recipe that silently stopped producing its encoding (a new
pylance choosing differently), which would otherwise leave a decoder untested end to end.

The inventory comes from our own inspector (lsql_file_inspect); test_files.py and
test_datasets.py prove that every one of these files decodes exactly as pylance reads it.
"""
import glob
import json
import os
import re

import pytest

# What each file version must exercise. Tokens are page layouts ("layout:<name>"), names inside the
# compression trees ("miniblock(general(zstd, byte_stream_split))" -> miniblock, general, zstd,
# byte_stream_split), and per-page extras ("dictionary", "rep:<...>", "def:<...>",
# "has_large_chunk").
REQUIRED = {
    "2.0": {
        "layout:v2.0", "flat", "nullable", "no_nulls", "some_nulls", "all_nulls", "binary",
        "dictionary", "fsst", "fixed_size_list", "list", "struct", "packed_struct", "zstd", "lz4",
    },
    "2.1": {
        "layout:miniblock", "layout:fullzip", "layout:all_null", "layout:blob",
        "flat", "variable", "inline_bitpacking", "out_of_line_bitpacking", "rle", "fsst",
        "byte_stream_split", "general", "zstd", "lz4", "fixed_size_list", "packed_struct",
        "dictionary", "rep", "def",
    },
    "2.2": {
        "layout:miniblock", "layout:fullzip", "layout:all_null", "layout:constant",
        "flat", "variable", "inline_bitpacking", "out_of_line_bitpacking", "rle", "fsst",
        "byte_stream_split", "general", "zstd", "lz4", "fixed_size_list", "packed_struct",
        "variable_packed_struct", "dictionary", "rep", "def", "has_large_chunk",
    },
}

# Encodings our decoders handle but pylance 14.0.2 cannot be made to write at that version; their
# decoders are covered by the unit tests on hand-built buffers named here.
NOT_PRODUCIBLE = {
    "2.0": {
        "bitpacked": "2.0 writers never emit Bitpacked (gated on >= 2.1 in the encoder); "
                     "tests/unit/encoding: lsql_bitunpack_decode",
        "bitpacked_for_non_neg": "gated on >= 2.1; tests/unit/encoding: bitpack_for_non_neg",
        "constant": "the 2.0 writer has no constant page encoding",
    },
    "2.1": {
        "layout:constant": "2.1 writes all-null pages only; non-null constant pages need 2.2",
    },
    "2.2": {
        "layout:blob": "legacy blob columns are refused by 2.2 writers; blob v2 uses full-zip "
                       "variable_packed_struct pages (required above)",
    },
}


def tokens_of(page):
    out = set()
    layout = page.get("layout")
    if layout:
        out.add(f"layout:{layout}")
    for key, value in page.items():
        if key in ("rows", "buffers", "layout"):
            continue
        if key == "has_large_chunk":
            if value:
                out.add("has_large_chunk")
            continue
        if key in ("rep", "def", "dictionary"):
            out.add(key)
        if isinstance(value, dict):  # a nested layout (blob pages describe their inner layout)
            out.update(tokens_of(value))
        else:
            out.update(re.findall(r"[a-z][a-z0-9_]*", str(value)))
    return out


def data_files(fixtures, version):
    files = glob.glob(os.path.join(fixtures, "datasets", version, "*", "data", "*.lance"))
    files += glob.glob(os.path.join(fixtures, "datasets", version, "*", "tree", "**", "data", "*.lance"),
                       recursive=True)
    files += glob.glob(os.path.join(fixtures, "files", version, "*.lance"))
    return sorted(set(files))


def inventory(lib, fixtures, version):
    found = set()
    files = data_files(fixtures, version)
    for path in files:
        desc = lib.file_inspect(path)
        assert desc["version"] == version, path
        for col in desc["columns"]:
            for page in col["pages"]:
                found |= tokens_of(page)
    return files, found


@pytest.mark.parametrize("version", sorted(REQUIRED))
def test_encoding_coverage(lib, fixtures, version):
    files, found = inventory(lib, fixtures, version)
    assert files, f"no {version} fixture files"
    print(f"\n{version}: {len(files)} files; encodings found: {' '.join(sorted(found))}")
    missing = REQUIRED[version] - found
    assert not missing, f"{version}: fixtures no longer exercise {sorted(missing)}"
    # An encoding listed as not producible that now appears means the allowlist is stale.
    stale = set(NOT_PRODUCIBLE.get(version, {})) & found
    assert not stale, f"{version}: {sorted(stale)} now appear in fixtures; move them to REQUIRED"
