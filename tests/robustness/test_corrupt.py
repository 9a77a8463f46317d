"""Corrupt inputs: every mutation of a data file, manifest or deletion file must give a clean
LsqlError (with the dataset / file in its message), never a crash, a hang or a leak.

Each case is a mutated copy of a small dataset in a tmp dir, run in a child process (worker.py)
so that a crash is reported per case. Run under ASan/UBSan with `make SANITIZE=1 robustness`."""
import os
import random
import shutil
import struct

import pytest

import lancebits as lb
from conftest import run_cases

ECORRUPT_LIKE = {"ECORRUPT", "EUNSUPPORTED", "ENOTFOUND", "EIO", "ELIMIT"}
VERSIONS = ["2.0", "2.1", "2.2"]


# ---------------------------------------------------------------------------- fixtures

def _small_table(n=1000):
    import pyarrow as pa
    ids = list(range(n))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "small": pa.array([i % 13 for i in ids], pa.int32()),
        "name": pa.array([None if i % 11 == 0 else f"name-{i % 97}-{'x' * (i % 7)}" for i in ids]),
        "score": pa.array([i * 0.5 for i in ids], pa.float64()),
        "vec": pa.array([[float(i), 1.0, 2.0, 3.0] for i in ids], pa.list_(pa.float32(), 4)),
        "tags": pa.array([[f"t{i % 3}"] * (i % 4) if i % 5 else None for i in ids], pa.list_(pa.string())),
        "st": pa.array([{"a": i, "b": f"b{i % 5}"} for i in ids],
                       pa.struct([("a", pa.int32()), ("b", pa.string())])),
    })


@pytest.fixture(scope="session")
def small_datasets(tmp_path_factory):
    """{version: path} of a one-fragment, one-data-file dataset per file version."""
    import lance
    base = tmp_path_factory.mktemp("small")
    out = {}
    for v in VERSIONS:
        p = str(base / f"small_{v}")
        lance.write_dataset(_small_table(), p, data_storage_version=v)
        out[v] = p
    return out


def _data_file(ds_dir):
    files = sorted(os.listdir(os.path.join(ds_dir, "data")))
    assert len(files) == 1, files
    return os.path.join(ds_dir, "data", files[0])


def _manifest(ds_dir):
    vd = os.path.join(ds_dir, "_versions")
    files = sorted(f for f in os.listdir(vd) if f.endswith(".manifest"))
    return os.path.join(vd, files[0])  # V2 names: the newest version sorts first


class Cases:
    """Collects mutated dataset copies; check() runs them and applies the expectations."""

    def __init__(self, tmp_path, src):
        self.tmp, self.src, self.cases, self.expect = tmp_path, src, [], {}

    def add(self, cid, mutate, must_fail=True, context=None, kind="dataset", codes=ECORRUPT_LIKE):
        d = os.path.join(self.tmp, cid.replace("/", "_"))
        shutil.copytree(self.src, d)
        target = mutate(d)
        path = target if kind == "file" else d
        self.cases.append({"id": cid, "kind": kind, "path": path})
        self.expect[cid] = (must_fail, context if context is not None else [os.path.basename(d)], codes)

    def check(self):
        results = run_cases(self.cases, self.tmp)
        bad = []
        for cid, r in results.items():
            if r["status"] in ("crash", "hang", "pyerror"):
                bad.append(f"{cid}: {r['status']} rc={r.get('rc')} {r.get('message', '')}\n{r.get('stderr', '')[-1500:]}")
                continue
            must_fail, context, codes = self.expect[cid]
            if r["status"] == "ok":
                if must_fail:
                    bad.append(f"{cid}: succeeded, expected an error")
                continue
            if "out of memory" in r["message"] or r["name"] == "ENOMEM":
                bad.append(f"{cid}: allocation sized from corrupt bytes: {r['message']}")
            elif r["name"] not in codes and not (r["name"] == "STREAM" and codes is ECORRUPT_LIKE):
                bad.append(f"{cid}: {r['name']} not in {sorted(codes)}: {r['message']}")
            elif not any(c in r["message"] for c in context):
                bad.append(f"{cid}: message lacks context {context}: {r['message']}")
        stats = {}
        for r in results.values():
            k = r["status"] if r["status"] != "error" else r["name"]
            stats[k] = stats.get(k, 0) + 1
        print(f"{len(results)} cases: {stats}")
        assert not bad, f"{len(bad)} of {len(results)} cases bad:\n" + "\n".join(bad)
        return results


def _rewrite(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _data_mutation(fn):
    """mutate(d) for Cases.add: rewrites the dataset's data file with fn(DataFile)."""
    def mutate(d):
        p = _data_file(d)
        with open(p, "rb") as f:
            df = lb.DataFile(f.read())
        _rewrite(p, fn(df))
        return p
    return mutate


def _data_ctx(d_unused=None):
    return ["data/", ".lance"]


# ---------------------------------------------------------------------------- data files

@pytest.mark.parametrize("v", VERSIONS)
def test_data_file_truncation(v, small_datasets, tmp_path):
    """Truncation at every structural boundary, both plain (footer lost) and keeping the footer
    (so the offsets point past the end of the file)."""
    c = Cases(tmp_path, small_datasets[v])
    with open(_data_file(small_datasets[v]), "rb") as f:
        df = lb.DataFile(f.read())
    n = len(df.data)
    pts = df.boundaries()
    pts.update({"zero": 0, "one": 1, "minus1": n - 1, "minus39": n - 39, "minus41": n - 41})
    for name, x in sorted(pts.items(), key=lambda kv: kv[1]):
        if x >= n:
            continue
        c.add(f"trunc-{name}", _data_mutation(lambda df, x=x: df.data[:x]), context=_data_ctx())
        if 0 < x < n - lb.FOOTER:
            c.add(f"trunc-keepfooter-{name}",
                  _data_mutation(lambda df, x=x: df.data[:x] + df.data[-lb.FOOTER:]), context=_data_ctx())
    c.check()


@pytest.mark.parametrize("v", VERSIONS)
def test_data_file_flips(v, small_datasets, tmp_path):
    """Flipped bytes in the footer, the offset tables, column metadata, the schema buffer and
    page buffers (deterministic sample). Wrong values are allowed; crashes are not."""
    c = Cases(tmp_path, small_datasets[v])
    with open(_data_file(small_datasets[v]), "rb") as f:
        df = lb.DataFile(f.read())
    n = len(df.data)
    rng = random.Random(1234)
    positions = {f"footer{i}": n - lb.FOOTER + i for i in range(lb.FOOTER - 4)}
    regions = {"cmo": (df.cmo_start, 16 * df.n_cols), "gbo": (df.gbo_start, 16 * df.n_gb),
               "colmeta": (df.cm_start, df.cmo_start - df.cm_start)}
    regions.update({f"gb{g}": (p, s) for g, (p, s) in enumerate(df.gbo)})
    for col in range(df.n_cols):
        for p, i, o, s in df.page_buffers(col)[:2]:
            regions[f"col{col}_page{p}_buf{i}"] = (o, s)
    for name, (start, size) in regions.items():
        if size <= 0:
            continue
        k = 12 if name in ("colmeta", "cmo") else 4
        for pos in sorted({start + rng.randrange(size) for _ in range(k)}):
            positions[f"{name}@{pos - start}"] = pos
    for name, pos in positions.items():
        for mask in (0xFF,) if name.startswith("col") and "page" in name else (0xFF, 0x80):
            c.add(f"flip-{name}-{mask:02x}",
                  _data_mutation(lambda df, pos=pos, mask=mask:
                                 df.data[:pos] + bytes([df.data[pos] ^ mask]) + df.data[pos + 1:]),
                  must_fail=False, context=_data_ctx())
    c.check()


def _edit_page(col, page, fn):
    """Data-file mutation: apply fn(page message) to page `page` of column `col`."""
    def mutate(df):
        cols = [list(map(list, m)) for m in df.columns]
        pages = [i for i, e in enumerate(cols[col]) if e[0] == 2]
        e = cols[col][pages[page]]
        pg = lb.decode(e[2])
        fn(pg)
        e[2] = lb.encode(pg)
        return df.with_columns(cols)
    return mutate


def _set_buf(which, value, idx=0):
    def fn(pg):
        vals = lb.repeated_u64(pg, which)
        if vals:
            vals[idx % len(vals)] = value
            lb.set_repeated_u64(pg, which, vals)
    return fn


@pytest.mark.parametrize("v", VERSIONS)
def test_data_file_huge_lengths_and_wrong_offsets(v, small_datasets, tmp_path):
    c = Cases(tmp_path, small_datasets[v])
    with open(_data_file(small_datasets[v]), "rb") as f:
        df = lb.DataFile(f.read())
    n = len(df.data)
    must = {
        "bufsize-2^62": _set_buf(2, 1 << 62),
        "bufsize-2^64-1": _set_buf(2, (1 << 64) - 1),
        "bufoff-2^63": _set_buf(1, 1 << 63),
        "bufoff-past-eof": _set_buf(1, n + 10),
        "bufoff+size-wrap": lambda pg: (_set_buf(1, (1 << 64) - 8)(pg), _set_buf(2, 16)(pg)),
        "page-rows-2^40": lambda pg: lb.set_varint(pg, 3, 1 << 40),
        "page-rows-2^63": lambda pg: lb.set_varint(pg, 3, 1 << 63),
    }
    for col in range(min(df.n_cols, 7)):
        for name, fn in must.items():
            c.add(f"col{col}-{name}", _data_mutation(_edit_page(col, 0, fn)), context=_data_ctx())
        # Plausible but wrong: must not crash, may decode garbage.
        c.add(f"col{col}-page-rows-0", _data_mutation(_edit_page(col, 0, lambda pg: lb.set_varint(pg, 3, 0))),
              must_fail=False, context=_data_ctx())
        c.add(f"col{col}-page-rows+1", _data_mutation(_edit_page(
            col, 0, lambda pg: lb.set_varint(pg, 3, (lb.get(pg, 3) or [[0, 0, 0]])[0][2] + 1))),
            must_fail=False, context=_data_ctx())
        c.add(f"col{col}-bufoff-footer", _data_mutation(_edit_page(col, 0, _set_buf(1, n - lb.FOOTER))),
              must_fail=False, context=_data_ctx())
        c.add(f"col{col}-bufsize-0", _data_mutation(_edit_page(col, 0, _set_buf(2, 0))),
              must_fail=False, context=_data_ctx())
        c.add(f"col{col}-no-encoding", _data_mutation(_edit_page(
            col, 0, lambda pg: pg.__setitem__(slice(None), [e for e in pg if e[0] != 4]))),
            must_fail=False, context=_data_ctx())
    # Footer and table entries.
    footer_must = {
        "cm_start>cmo": dict(cm_start=df.cmo_start + 1),
        "cmo-2^63": dict(cmo_start=1 << 63),
        "gbo-2^63": dict(gbo_start=1 << 63),
        "gbo-past-eof": dict(gbo_start=n),
        "ncols-2^31": dict(n_cols=1 << 31),
        "ncols-max": dict(n_cols=(1 << 32) - 1),
        "ngb-0": dict(n_gb=0),
        "ngb-max": dict(n_gb=(1 << 32) - 1),
        "version-9.9": dict(major=9, minor=9),
        "version-0.1": dict(major=0, minor=1),
    }
    for name, kw in footer_must.items():
        c.add(f"footer-{name}", _data_mutation(lambda df, kw=kw: df.with_footer(**kw)), context=_data_ctx())

    def patch_table(start, idx, pos=None, size=None):
        def fn(df):
            b = bytearray(df.data)
            p, s = struct.unpack_from("<QQ", b, start + 16 * idx)
            struct.pack_into("<QQ", b, start + 16 * idx, p if pos is None else pos, s if size is None else size)
            return bytes(b)
        return fn

    c.add("cmo0-size-2^62", _data_mutation(patch_table(df.cmo_start, 0, size=1 << 62)), context=_data_ctx())
    c.add("cmo0-pos-2^63", _data_mutation(patch_table(df.cmo_start, 0, pos=1 << 63)), context=_data_ctx())
    c.add("gbo0-size-2^62", _data_mutation(patch_table(df.gbo_start, 0, size=1 << 62)), context=_data_ctx())
    c.add("gbo0-pos-wrap", _data_mutation(patch_table(df.gbo_start, 0, pos=(1 << 64) - 4, size=8)),
          context=_data_ctx())
    c.add("gbo0-size-0", _data_mutation(patch_table(df.gbo_start, 0, size=0)), must_fail=False,
          context=_data_ctx())
    # Column 0's metadata pointing at column 1's (type confusion).
    if df.n_cols > 1:
        p1, s1 = df.cmo[1]
        c.add("cmo0=cmo1", _data_mutation(patch_table(df.cmo_start, 0, pos=p1, size=s1)), must_fail=False,
              context=_data_ctx())
    c.check()


@pytest.mark.parametrize("v", ["2.1"])
def test_standalone_file(v, small_datasets, tmp_path):
    """The same mutations through lsql_file_scan / lsql_file_inspect (no manifest schema)."""
    c = Cases(tmp_path, small_datasets[v])
    with open(_data_file(small_datasets[v]), "rb") as f:
        df = lb.DataFile(f.read())
    for name, x in sorted(df.boundaries().items(), key=lambda kv: kv[1]):
        if x >= len(df.data) - lb.FOOTER:
            continue
        c.add(f"file-trunc-{name}", _data_mutation(lambda df, x=x: df.data[:x] + df.data[-lb.FOOTER:]),
              kind="file", context=[".lance"])
    for col in range(df.n_cols):
        c.add(f"file-col{col}-bufsize-2^62", _data_mutation(_edit_page(col, 0, _set_buf(2, 1 << 62))),
              kind="file", context=[".lance"])
        c.add(f"file-col{col}-rows-2^40",
              _data_mutation(_edit_page(col, 0, lambda pg: lb.set_varint(pg, 3, 1 << 40))),
              kind="file", context=[".lance"])
    c.check()


# ---------------------------------------------------------------------------- manifests

def _manifest_mutation(fn):
    def mutate(d):
        p = _manifest(d)
        with open(p, "rb") as f:
            m = lb.Manifest(f.read())
        _rewrite(p, fn(m))
        return p
    return mutate


def _field_edit(fn):
    def edit(m):
        fields = m.fields()
        fn(fields)
        return m.with_fields(fields)
    return edit


def _fid(f):
    e = lb.get(f, 3)
    return e[0][2] if e else 0


@pytest.mark.parametrize("v", ["2.0", "2.1"])
def test_manifest_corruption(v, small_datasets, tmp_path):
    c = Cases(tmp_path, small_datasets[v])
    with open(_manifest(small_datasets[v]), "rb") as f:
        m = lb.Manifest(f.read())
    n = len(m.data)
    for name, x in m.boundaries().items():
        c.add(f"trunc-{name}", _manifest_mutation(lambda m, x=x: m.data[:x]))
        if 0 < x < n - 16:
            c.add(f"trunc-keepfooter-{name}", _manifest_mutation(lambda m, x=x: m.data[:x] + m.data[-16:]))
    rng = random.Random(99)
    for pos in sorted({rng.randrange(n) for _ in range(40)} | set(range(n - 16, n - 4))):
        c.add(f"flip-{pos}", _manifest_mutation(
            lambda m, pos=pos: m.data[:pos] + bytes([m.data[pos] ^ 0xFF]) + m.data[pos + 1:]), must_fail=False)
    c.add("pos-2^63", _manifest_mutation(lambda m: m.data[:-16] + struct.pack("<Q", 1 << 63) + m.data[-8:]))
    c.add("len-2^32-1", _manifest_mutation(
        lambda m: m.data[:m.pos] + b"\xff\xff\xff\xff" + m.data[m.pos + 4:]))
    c.add("empty-file", _manifest_mutation(lambda m: b""))

    # Schema field parent ids: self cycle, two-cycle, dangling, duplicate ids, negative ids.
    def fields_by_id(fs):
        return {_fid(f): f for f in fs}

    def nested(fs):
        """A (parent, child) pair: the struct 'st' and its first child."""
        byid = fields_by_id(fs)
        for f in fs:
            par = lb.get(f, 4)[0][2] if lb.get(f, 4) else 0
            par = par - (1 << 64) if par >= 1 << 63 else par
            if par >= 0 and par in byid:
                return byid[par], f
        raise AssertionError("no nested field")

    edits = {
        "parent-self": lambda fs: lb.set_varint(fs[1], 4, _fid(fs[1])),
        "parent-dangling": lambda fs: lb.set_varint(fs[1], 4, 999),
        "parent-cycle": lambda fs: (lb.set_varint(nested(fs)[0], 4, _fid(nested(fs)[1]))),
        "parent-negative": lambda fs: lb.set_varint(fs[2], 4, (1 << 64) - 7),
        "duplicate-ids": lambda fs: lb.set_varint(fs[2], 3, _fid(fs[1])),
        "child-before-parent": lambda fs: fs.append(fs.pop(fs.index(nested(fs)[0]))),
        "bad-logical-type": lambda fs: fs[1].append([5, 2, b"no_such_type:9"])
        or fs[1].__setitem__(slice(None), [e for e in fs[1] if e[0] != 5] + [[5, 2, b"no_such_type:9"]]),
        "fsl-huge-dim": lambda fs: [f.__setitem__(slice(None), [e for e in f if e[0] != 5] +
                                                  [[5, 2, b"fixed_size_list:float:4294967296"]])
                                    for f in fs if lb.get(f, 2)[0][2] == b"vec"],
        "no-fields": lambda fs: fs.clear(),
        # ids size id-indexed arrays (found by fuzz_file_reader: oom-20e2c1f...)
        "huge-id": lambda fs: lb.set_varint(fs[-1], 3, 1 << 30),
        "huge-parent": lambda fs: lb.set_varint(fs[-1], 4, (1 << 31) - 1),
    }
    for name, fn in edits.items():
        c.add(f"schema-{name}", _manifest_mutation(_field_edit(fn)),
              must_fail=name not in ("child-before-parent", "no-fields"))

    c.add("reader-flag-unknown", _manifest_mutation(lambda m: m.with_message(lb.set_varint(
        [list(e) for e in m.msg], 9, 1 << 40))), codes={"EUNSUPPORTED"}, context=["feature"])

    # Fragments: missing data file, wrong row counts, bad column indices.
    def frag_edit(fn):
        def edit(m):
            frs = m.fragments()
            fn(frs)
            return m.with_fragments(frs)
        return edit

    def datafile_edit(fn):
        def f(frs):
            e = lb.get(frs[0], 2)[0]
            dfm = lb.decode(e[2])
            fn(dfm)
            e[2] = lb.encode(dfm)
        return f

    def set_packed(fn_no, vals):
        return lambda dfm: lb.set_repeated_u64(dfm, fn_no, [v & ((1 << 64) - 1) for v in vals])

    c.add("frag-physical-rows-2^62", _manifest_mutation(frag_edit(lambda frs: lb.set_varint(frs[0], 4, 1 << 62))))
    c.add("frag-physical-rows-wrong", _manifest_mutation(frag_edit(lambda frs: lb.set_varint(frs[0], 4, 7))),
          must_fail=False)
    c.add("datafile-col-999", _manifest_mutation(frag_edit(datafile_edit(set_packed(3, [999] * 10)))),
          must_fail=False)  # unused columns can be ignored; used ones must fail
    c.add("datafile-col-neg", _manifest_mutation(frag_edit(datafile_edit(set_packed(3, [-5] * 10)))),
          must_fail=False)
    c.add("datafile-field-999", _manifest_mutation(frag_edit(datafile_edit(set_packed(2, [999] * 10)))),
          must_fail=False)
    c.add("datafile-path-escape", _manifest_mutation(frag_edit(datafile_edit(
        lambda dfm: dfm.__setitem__(slice(None), [e for e in dfm if e[0] != 1] + [[1, 2, b"../../../../etc/passwd"]])))),
        must_fail=True)
    c.add("datafile-path-absolute", _manifest_mutation(frag_edit(datafile_edit(
        lambda dfm: dfm.__setitem__(slice(None), [e for e in dfm if e[0] != 1] + [[1, 2, b"/etc/passwd"]])))),
        must_fail=True)
    c.add("datafile-version-9", _manifest_mutation(frag_edit(datafile_edit(lambda dfm: lb.set_varint(dfm, 4, 9)))),
          must_fail=False)
    c.add("fragment-no-files", _manifest_mutation(frag_edit(
        lambda frs: frs[0].__setitem__(slice(None), [e for e in frs[0] if e[0] != 2]))), must_fail=False)

    def rm_data(d):
        os.remove(_data_file(d))
        return d
    c.add("missing-data-file", rm_data, context=[".lance"])

    def rm_versions(d):
        for f in os.listdir(os.path.join(d, "_versions")):
            os.remove(os.path.join(d, "_versions", f))
        return d
    c.add("no-manifests", rm_versions, codes={"ENOTFOUND", "ECORRUPT"})
    c.check()


# ---------------------------------------------------------------------------- deletion files

@pytest.mark.parametrize("v", ["2.0", "2.1"])
def test_deletion_files(v, fixtures, tmp_path):
    src = os.path.join(fixtures, "datasets", v, "deletions")
    c = Cases(tmp_path, src)
    # the deletion files the latest version reads: "<fragment id>-<read_version>-<id>.<ext>"
    with open(_manifest(src), "rb") as f:
        m = lb.Manifest(f.read())
    live = []
    for fr in m.fragments():
        dl = lb.get(fr, 3)
        if not dl:
            continue
        dm = lb.decode(dl[0][2])
        val = {e[0]: e[2] for e in dm if e[1] == 0}
        fid = (lb.get(fr, 1) or [[0, 0, 0]])[0][2]
        live.append(f"{fid}-{val.get(2, 0)}-{val.get(3, 0)}.{'bin' if val.get(1, 0) == 1 else 'arrow'}")
    arrow = [d for d in live if d.endswith(".arrow")]
    binf = [d for d in live if d.endswith(".bin")]
    assert arrow and binf, live
    for kind, names in (("arrow", arrow[:1]), ("bin", binf[:1])):
        for name in names:
            def path(d, name=name):
                return os.path.join(d, "_deletions", name)

            def rm(d, path=path):
                os.remove(path(d))
                return d
            c.add(f"{kind}-missing", rm, context=["_deletions", name])
            with open(path(src), "rb") as f:
                orig = f.read()
            rng = random.Random(7)
            variants = {"empty": b"", "garbage": bytes(rng.randrange(256) for _ in range(len(orig))),
                        "half": orig[:len(orig) // 2], "header": orig[:16], "minus1": orig[:-1],
                        "zeros": b"\0" * len(orig), "ff": b"\xff" * len(orig)}
            for pos in sorted({rng.randrange(len(orig)) for _ in range(16)}):
                variants[f"flip{pos}"] = orig[:pos] + bytes([orig[pos] ^ 0xFF]) + orig[pos + 1:]
            for vn, data in variants.items():
                def mut(d, path=path, data=data):
                    _rewrite(path(d), data)
                    return d
                c.add(f"{kind}-{vn}", mut, must_fail=not vn.startswith("flip"),
                      context=["_deletions", name])
    c.check()
