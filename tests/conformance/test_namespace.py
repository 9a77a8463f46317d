"""Namespace conformance: our "dir" and "rest" namespaces against the reference (pylance 14
DirectoryNamespace / RestAdapter), plus error handling against small local HTTP servers.

Runs against $LSQL_LIB (default build/liblancesql.so). Manifest-mode checks are skipped while
the library has no dataset reader (the dir namespace then reports EUNSUPPORTED)."""
import ctypes
import http.server
import json
import os
import socket
import threading
import time

import pyarrow as pa
import pytest

lance = pytest.importorskip("lance")
import lance_namespace as ln  # noqa: E402
from lance.namespace import RestAdapter  # noqa: E402
from lance_namespace import (  # noqa: E402
    CreateNamespaceRequest,
    DescribeNamespaceRequest,
    DescribeTableRequest,
    ListNamespacesRequest,
    ListTablesRequest,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LIB = os.environ.get("LSQL_LIB") or os.path.join(
    os.environ.get("LSQL_BUILD_DIR", os.path.join(ROOT, "build")), "liblancesql.so")

OK, EINVAL, EIO, ENOTFOUND, ECORRUPT, EUNSUPPORTED, EREMOTE = 0, 1, 3, 4, 5, 6, 11


# ---- a private ctypes binding of the namespace API ---------------------------------------------
class Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512)]


class StringList(ctypes.Structure):
    _fields_ = [("items", ctypes.POINTER(ctypes.c_char_p)), ("n_items", ctypes.c_size_t),
                ("next_page_token", ctypes.c_char_p)]


class TableDesc(ctypes.Structure):
    _fields_ = [("location", ctypes.c_char_p), ("storage_options", ctypes.POINTER(ctypes.c_char_p)),
                ("version", ctypes.c_int64)]


class LsqlError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@pytest.fixture(scope="session")
def lib():
    if not os.path.exists(LIB):
        pytest.skip(f"{LIB} not built")
    L = ctypes.CDLL(LIB)
    P = ctypes.c_void_p
    ids = ctypes.POINTER(ctypes.c_char_p)
    L.lsql_connect.argtypes = [ctypes.c_char_p, ids, ctypes.POINTER(P), ctypes.POINTER(Error)]
    L.lsql_namespace_free.argtypes = [P]
    for f in ("lsql_namespace_list_namespaces", "lsql_namespace_list_tables"):
        getattr(L, f).argtypes = [P, ids, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int32,
                                  ctypes.POINTER(StringList), ctypes.POINTER(Error)]
    for f in ("lsql_namespace_exists", "lsql_namespace_table_exists"):
        getattr(L, f).argtypes = [P, ids, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int),
                                  ctypes.POINTER(Error)]
    L.lsql_namespace_describe_table.argtypes = [P, ids, ctypes.c_size_t, ctypes.POINTER(TableDesc),
                                                ctypes.POINTER(Error)]
    L.lsql_namespace_describe_namespace.argtypes = [
        P, ids, ctypes.c_size_t, ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p)),
        ctypes.POINTER(Error)]
    L.lsql_string_list_free.argtypes = [ctypes.POINTER(StringList)]
    L.lsql_table_desc_free.argtypes = [ctypes.POINTER(TableDesc)]
    L.lsql_strv_free.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    return L


def _strv(items):
    arr = (ctypes.c_char_p * (len(items) + 1))()
    for i, s in enumerate(items):
        arr[i] = s.encode()
    arr[len(items)] = None
    return arr


def _read_strv(p):
    out, i = [], 0
    while p and p[i] is not None:
        out.append(p[i].decode())
        i += 1
    return out


class NS:
    def __init__(self, L, impl, props):
        self.L, self.h = L, ctypes.c_void_p()
        kv = []
        for k, v in props.items():
            kv += [k, str(v)]
        self._check(L.lsql_connect(impl.encode(), _strv(kv), ctypes.byref(self.h), ctypes.byref(e := Error())), e)

    def close(self):
        self.L.lsql_namespace_free(self.h)
        self.h = ctypes.c_void_p()

    @staticmethod
    def _check(rc, e):
        if rc != OK:
            raise LsqlError(rc, e.message.decode(errors="replace"))

    def _list(self, fn, nid, page_token=None, limit=0):
        out, e = StringList(), Error()
        rc = fn(self.h, _strv(nid), len(nid), page_token.encode() if page_token else None, limit,
                ctypes.byref(out), ctypes.byref(e))
        self._check(rc, e)
        items = [out.items[i].decode() for i in range(out.n_items)]
        tok = out.next_page_token.decode() if out.next_page_token else None
        self.L.lsql_string_list_free(ctypes.byref(out))
        return items, tok

    def list_namespaces(self, nid, page_token=None, limit=0):
        return self._list(self.L.lsql_namespace_list_namespaces, nid, page_token, limit)

    def list_tables(self, nid, page_token=None, limit=0):
        return self._list(self.L.lsql_namespace_list_tables, nid, page_token, limit)

    def exists(self, nid, table=False):
        x, e = ctypes.c_int(-1), Error()
        fn = self.L.lsql_namespace_table_exists if table else self.L.lsql_namespace_exists
        self._check(fn(self.h, _strv(nid), len(nid), ctypes.byref(x), ctypes.byref(e)), e)
        return x.value

    def describe_table(self, nid):
        d, e = TableDesc(), Error()
        self._check(self.L.lsql_namespace_describe_table(self.h, _strv(nid), len(nid), ctypes.byref(d),
                                                         ctypes.byref(e)), e)
        so = _read_strv(d.storage_options)
        res = (d.location.decode(), dict(zip(so[::2], so[1::2])), d.version)
        self.L.lsql_table_desc_free(ctypes.byref(d))
        return res

    def describe_namespace(self, nid):
        p, e = ctypes.POINTER(ctypes.c_char_p)(), Error()
        self._check(self.L.lsql_namespace_describe_namespace(self.h, _strv(nid), len(nid), ctypes.byref(p),
                                                             ctypes.byref(e)), e)
        kv = _read_strv(p)
        self.L.lsql_strv_free(p)
        return dict(zip(kv[::2], kv[1::2]))


# ---- fixtures built with the reference ----------------------------------------------------------
T = pa.table({"a": pa.array([1, 2, 3], pa.int32()), "s": ["x", "y", "z"]})


@pytest.fixture(scope="module")
def listing_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("ns_listing"))
    for name in ["alpha", "beta", "gamma", "delta"]:
        lance.write_dataset(T, os.path.join(root, f"{name}.lance"))
    lance.write_dataset(T, os.path.join(root, "gone.lance"))
    open(os.path.join(root, "gone.lance", ".lance-deregistered"), "w").close()
    os.makedirs(os.path.join(root, "not_a_table"))
    # Listed by the reference, but describe_table says "not found".
    os.makedirs(os.path.join(root, "empty.lance"))
    open(os.path.join(root, "file.lance"), "w").close()
    os.makedirs(os.path.join(root, "dereg.lance"))
    open(os.path.join(root, "dereg.lance", ".lance-deregistered"), "w").close()
    return root


@pytest.fixture(scope="module")
def manifest_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("ns_manifest"))
    ns = ln.connect("dir", {"root": root})
    ns.create_namespace(CreateNamespaceRequest(id=["retail"], properties={"owner": "bob"}))
    ns.create_namespace(CreateNamespaceRequest(id=["retail", "sales"]))
    ns.create_namespace(CreateNamespaceRequest(id=["wholesale"]))
    for tid in (["retail", "sales", "orders"], ["retail", "sales", "customers"],
                ["retail", "top_in_retail"], ["wholesale", "w"], ["root_t"]):
        lance.write_dataset(T, namespace_client=ns, table_id=tid, mode="create")
    lance.write_dataset(T, os.path.join(root, "legacy.lance"))
    os.makedirs(os.path.join(root, "empty.lance"))
    return root


def ref_tree(ref, nid=()):
    """Everything the reference says about the namespace tree (first page, no limit)."""
    out = {}
    nss = ref.list_namespaces(ListNamespacesRequest(id=list(nid))).namespaces
    tabs = ref.list_tables(ListTablesRequest(id=list(nid))).tables
    out[nid] = (sorted(nss), sorted(tabs))
    for n in nss:
        out.update(ref_tree(ref, nid + (n,)))
    return out


def _ref_call(fn):
    try:
        return ("ok", fn())
    except Exception as e:  # the reference's NamespaceNotFoundError, TableNotFoundError, ...
        return ("error", type(e).__name__)


def check_missing_namespaces(ours, ref, ids):
    """Listing a namespace that does not exist: exactly what the reference does ([] once a
    __manifest exists, NamespaceNotFound before)."""
    for nid in ids:
        for ofn, rfn, attr in ((ours.list_tables, ref.list_tables, "tables"),
                               (ours.list_namespaces, ref.list_namespaces, "namespaces")):
            req = (ListTablesRequest if attr == "tables" else ListNamespacesRequest)(id=list(nid))
            want = _ref_call(lambda: getattr(rfn(req), attr))
            try:
                got = ("ok", ofn(list(nid))[0])
            except LsqlError as e:
                got = ("error", e.code)
            if want[0] == "ok":
                assert got == want, (nid, attr, got, want)
            else:
                assert want[1] == "NamespaceNotFoundError" and got == ("error", ENOTFOUND), \
                    (nid, attr, got, want)


def check_against_reference(ours, ref):
    tree = ref_tree(ref)
    for nid, (nss, tabs) in tree.items():
        assert ours.list_namespaces(list(nid)) == (nss, None), nid
        assert ours.list_tables(list(nid)) == (tabs, None), nid
        assert ours.exists(list(nid)) == 1
        # The reference's properties None is an empty list in C (the API never returns NULL).
        want = ref.describe_namespace(DescribeNamespaceRequest(id=list(nid))).properties or {}
        assert ours.describe_namespace(list(nid)) == want
        # Pagination: same pages as the reference for limit 1 and 2.
        for limit in (1, 2):
            tok, pages = None, []
            while True:
                got, tok2 = ours.list_tables(list(nid), tok, limit)
                r = ref.list_tables(ListTablesRequest(id=list(nid), page_token=tok, limit=limit))
                assert (got, tok2) == (r.tables, r.page_token), (nid, limit, tok)
                pages.append(got)
                if not tok2:
                    break
                tok = tok2
            assert sum(pages, []) == tabs
        for t in tabs:
            tid = list(nid) + [t]
            want = _ref_call(lambda: ref.describe_table(DescribeTableRequest(id=tid)))
            if want[0] == "error":  # listed but not a table (empty directory, plain file)
                assert want[1] == "TableNotFoundError", (tid, want)
                with pytest.raises(LsqlError) as ei:
                    ours.describe_table(tid)
                assert ei.value.code == ENOTFOUND, tid
                assert ours.exists(tid, table=True) == 0
                continue
            loc, so, ver = ours.describe_table(tid)
            assert loc == want[1].location
            assert so == (want[1].storage_options or {}), tid
            assert ver == (-1 if want[1].version is None else want[1].version), tid
            assert ours.exists(tid, table=True) == 1
    return tree


def skip_without_reader(fn):
    try:
        return fn()
    except LsqlError as e:
        if e.code == EUNSUPPORTED and "dataset reader" in e.message:
            pytest.skip("library built without the dataset reader")
        raise


@pytest.fixture
def adapter():
    started = []

    def start(root):
        a = RestAdapter("dir", {"root": root}, host="127.0.0.1", port=0)
        a.start()
        started.append(a)
        return f"http://127.0.0.1:{a.port}"

    yield start
    for a in started:
        a.stop()


# ---- dir ------------------------------------------------------------------------------------------
def test_dir_listing_mode(lib, listing_root):
    ref = ln.connect("dir", {"root": listing_root})
    ours = NS(lib, "dir", {"root": listing_root})
    tree = check_against_reference(ours, ref)
    assert tree[()] == ([], ["alpha", "beta", "delta", "empty", "file", "gamma"])
    assert ours.exists(["gone"], table=True) == 0
    assert ours.exists(["nope"], table=True) == 0
    loc, so, ver = ours.describe_table(["alpha"])
    assert loc == os.path.join(listing_root, "alpha.lance") and so == {} and ver == -1
    with pytest.raises(LsqlError) as ei:
        ours.describe_table(["nope"])
    assert ei.value.code == ENOTFOUND and "table nope not found" in ei.value.message
    # No __manifest yet: child namespaces are not found, as in the reference.
    check_missing_namespaces(ours, ref, [("retail",), ("retail", "sales")])
    with pytest.raises(LsqlError) as ei:
        ours.list_tables(["retail", "sales"])
    assert ei.value.code == ENOTFOUND and "namespace retail.sales not found" in ei.value.message
    ours.close()


def test_dir_storage_options_and_flags(lib, listing_root):
    ours = NS(lib, "dir", {"root": listing_root + "/", "manifest_enabled": "false",
                           "storage.region": "eu-west-1", "storage.allow_http": "true"})
    ref = ln.connect("dir", {"root": listing_root + "/", "manifest_enabled": "false",
                             "storage.region": "eu-west-1", "storage.allow_http": "true"})
    assert ours.list_tables([]) == (ref.list_tables(ListTablesRequest(id=[])).tables, None)
    assert ours.list_tables([]) == (["alpha", "beta", "delta", "empty", "file", "gamma"], None)
    loc, so, _ = ours.describe_table(["beta"])
    assert loc == os.path.join(listing_root, "beta.lance")
    # Like the reference, describe_table vends no storage options (open_table applies the
    # namespace's own storage.* options itself).
    assert ref.describe_table(DescribeTableRequest(id=["beta"])).storage_options is None
    assert so == {}
    with pytest.raises(LsqlError) as ei:
        ours.list_namespaces(["x"])
    assert ei.value.code == EUNSUPPORTED
    ours.close()
    with pytest.raises(LsqlError) as ei:
        NS(lib, "dir", {"manifest_enabled": "true"})
    assert ei.value.code == EINVAL


def test_dir_ids_validated(lib, listing_root):
    ours = NS(lib, "dir", {"root": listing_root})
    for bad in (["..", "alpha"], ["a/b"], ["a$b"], [""], ["."], ["a\\b"]):
        with pytest.raises(LsqlError) as ei:
            ours.describe_table(bad)
        assert ei.value.code == EINVAL, bad
    ours.close()


def test_dir_manifest_mode(lib, manifest_root):
    ref = ln.connect("dir", {"root": manifest_root})
    ours = NS(lib, "dir", {"root": manifest_root})
    tree = skip_without_reader(lambda: check_against_reference(ours, ref))
    assert tree[()] == (["retail", "wholesale"], ["empty", "legacy", "root_t"])
    # Namespaces missing from __manifest list as empty, as in the reference.
    check_missing_namespaces(ours, ref, [("nope",), ("retail", "nope"), ("nope", "x"),
                                         ("retail", "sales", "orders")])
    assert ours.list_tables(["nope"]) == ([], None)
    assert ours.list_namespaces(["retail", "nope"]) == ([], None)
    assert tree[("retail", "sales")] == ([], ["customers", "orders"])
    assert ours.describe_namespace(["retail"]) == {"owner": "bob"}
    assert ours.exists(["retail", "nope"]) == 0
    assert ours.exists(["retail", "sales", "nope"], table=True) == 0
    with pytest.raises(LsqlError) as ei:
        ours.describe_table(["retail", "sales", "nope"])
    assert ei.value.code == ENOTFOUND and "retail.sales.nope" in ei.value.message
    with pytest.raises(LsqlError) as ei:
        ours.describe_namespace(["retail", "nope"])
    assert ei.value.code == ENOTFOUND and "retail.nope" in ei.value.message
    # A new table written after the first read shows up (the __manifest is re-read).
    ns = ln.connect("dir", {"root": manifest_root})
    lance.write_dataset(T, namespace_client=ns, table_id=["wholesale", "late"], mode="create")
    assert ours.list_tables(["wholesale"]) == (["late", "w"], None)
    ours.close()


def test_dir_manifest_location_escape(lib, tmp_path):
    root = str(tmp_path)
    ns = ln.connect("dir", {"root": root})
    ns.create_namespace(CreateNamespaceRequest(id=["a"]))
    lance.write_dataset(T, namespace_client=ns, table_id=["a", "t"], mode="create")
    m = lance.dataset(os.path.join(root, "__manifest"))
    m.update({"location": "'../../etc'"}, where="object_id = 'a$t'")
    ours = NS(lib, "dir", {"root": root})
    with pytest.raises(LsqlError) as ei:
        skip_without_reader(lambda: ours.describe_table(["a", "t"]))
    assert ei.value.code == ECORRUPT and "escapes" in ei.value.message
    ours.close()


# ---- rest ---------------------------------------------------------------------------------------
def test_rest_against_adapter(lib, listing_root, manifest_root, adapter):
    for root in (listing_root, manifest_root):
        uri = adapter(root)
        ref = ln.connect("rest", {"uri": uri})
        ours = NS(lib, "rest", {"uri": uri, "timeout_ms": 5000})
        check_against_reference(ours, ref)
        assert ours.exists(["nope"], table=True) == 0
        assert ours.exists(["nope"]) == 0
        with pytest.raises(LsqlError) as ei:
            ours.describe_table(["nope"])
        assert ei.value.code == ENOTFOUND and "table nope not found" in ei.value.message
        ours.close()
    ours = NS(lib, "rest", {"uri": uri})
    assert ours.describe_namespace(["retail"]) == {"owner": "bob"}
    with pytest.raises(LsqlError) as ei:
        ours.describe_namespace(["zz", "y"])
    assert ei.value.code == ENOTFOUND and "namespace zz.y not found" in ei.value.message
    ours.close()


class _Server:
    """A tiny HTTP server on 127.0.0.1 answering every request with (status, body[, delay])."""

    def __init__(self, status, body, delay=0.0):
        self.requests = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.requests.append((self.command, self.path, dict(self.headers),
                                       self.rfile.read(n) if n else b""))
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.uri = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_rest_request_shape(lib):
    s = _Server(200, b'{"tables":["t1"],"page_token":"t1"}')
    try:
        ours = NS(lib, "rest", {"uri": s.uri + "/", "header.X-Api-Key": "k123", "retries": 0})
        assert ours.list_tables(["a", "b c"], "x y", 5) == (["t1"], "t1")
        m, path, hdrs, body = s.requests[-1]
        assert m == "GET"
        assert path == ("/v1/namespace/a%24b+c/table/list?delimiter=%24&page_token=x+y&limit=5"
                        "&include_declared=true")
        assert {k.lower(): v for k, v in hdrs.items()}["x-api-key"] == "k123"
        with pytest.raises(LsqlError):
            ours.list_namespaces([])  # the canned reply has no "namespaces"
        assert s.requests[-1][1] == "/v1/namespace/%24/list?delimiter=%24"
        with pytest.raises(LsqlError):
            ours.describe_table(["a", "t"])  # no location in the reply
        m, path, hdrs, body = s.requests[-1]
        assert (m, path) == ("POST", "/v1/table/a%24t/describe?delimiter=%24&with_table_uri=false"
                                     "&check_declared=false")
        assert json.loads(body) == {"id": ["a", "t"], "with_table_uri": False, "check_declared": False}
        assert ours.exists(["a"]) == 1  # any 2xx means "exists"
        m, path, hdrs, body = s.requests[-1]
        assert (m, path, json.loads(body)) == ("POST", "/v1/namespace/a/exists?delimiter=%24", {"id": ["a"]})
        ours.close()
        ours = NS(lib, "rest", {"uri": s.uri, "delimiter": "."})
        ours.list_tables(["a", "b"])
        assert s.requests[-1][1].startswith("/v1/namespace/a.b/table/list?delimiter=.&")
        ours.close()
    finally:
        s.close()


def test_rest_server_down(lib):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    ours = NS(lib, "rest", {"uri": f"http://127.0.0.1:{port}", "retries": 2,
                            "header.Authorization": "Bearer TOPSECRET", "connect_timeout_ms": 1000})
    t0 = time.time()
    with pytest.raises(LsqlError) as ei:
        ours.list_tables([])
    assert time.time() - t0 < 5
    assert ei.value.code == EIO
    assert f"127.0.0.1:{port}/v1/namespace/%24/table/list" in ei.value.message
    assert "TOPSECRET" not in ei.value.message and "3 attempts" in ei.value.message
    ours.close()


def test_rest_http_500_retried(lib):
    s = _Server(500, b'{"code":18,"error":"boom"}')
    try:
        ours = NS(lib, "rest", {"uri": s.uri, "retries": 2, "header.X-Secret": "zzz"})
        with pytest.raises(LsqlError) as ei:
            ours.list_namespaces(["a"])
        assert ei.value.code == EREMOTE and "HTTP 500" in ei.value.message and "boom" in ei.value.message
        assert "zzz" not in ei.value.message
        assert len(s.requests) == 3  # 1 + 2 retries
        ours.close()
    finally:
        s.close()


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b'{"namespaces": "x"}', b"",
                                  b'{"namespaces": [null]}'])
def test_rest_malformed_json(lib, body):
    s = _Server(200, body)
    try:
        ours = NS(lib, "rest", {"uri": s.uri, "retries": 0})
        with pytest.raises(LsqlError) as ei:
            ours.list_namespaces([])
        assert ei.value.code == ECORRUPT
        with pytest.raises(LsqlError) as ei:
            ours.describe_table(["t"])
        assert ei.value.code == ECORRUPT
        ours.close()
    finally:
        s.close()


def test_rest_not_found_and_timeout(lib):
    s = _Server(404, b'{"code":4,"error":"table id \'a$t\'"}')
    try:
        ours = NS(lib, "rest", {"uri": s.uri})
        with pytest.raises(LsqlError) as ei:
            ours.describe_table(["a", "t"])
        assert ei.value.code == ENOTFOUND and "table a.t not found" in ei.value.message
        assert ours.exists(["a", "t"], table=True) == 0
        assert len(s.requests) == 2  # 404 is not retried
        ours.close()
    finally:
        s.close()
    s = _Server(200, b'{"namespaces":[]}', delay=2.0)
    try:
        ours = NS(lib, "rest", {"uri": s.uri, "timeout_ms": 300, "retries": 0})
        t0 = time.time()
        with pytest.raises(LsqlError) as ei:
            ours.list_namespaces([])
        assert ei.value.code == EIO and time.time() - t0 < 1.5
        ours.close()
    finally:
        s.close()
