"""Sandboxing through the SQL session and the namespaces: no file access outside the mounted
namespaces, no ATTACH/INSTALL/LOAD, no changing the sandbox settings, no escaping the namespace
root, and no secrets in error messages."""
import http.server
import os
import shutil
import threading

import pytest

from conftest import REPO

LAKE = os.path.join(REPO, "examples", "lake")
ALLOWED = {"EREADONLY", "ESQL", "EPERM", "ENOTFOUND", "EINVAL", "EUNSUPPORTED"}


@pytest.fixture()
def lake(tmp_path):
    d = tmp_path / "lake"
    shutil.copytree(LAKE, d)
    return str(d)


@pytest.fixture(scope="module")
def session(lsql, tmp_path_factory):
    """One session for the module (building one per test is slow): every test only sends statements
    that must be refused, and checks the session still works afterwards."""
    lake = str(tmp_path_factory.mktemp("sandbox") / "lake")
    shutil.copytree(LAKE, lake)
    with lsql.Namespace("dir", root=lake) as ns:
        s = lsql.Session(root=ns, default=("retail", "sales"), options={"threads": "2"})
    yield s
    s.close()


def refused(lsql, session, sql, codes=ALLOWED):
    with pytest.raises(lsql.LsqlError) as ei:
        session.sql(sql)
    e = ei.value
    assert e.name in codes, f"{sql!r}: {e.name}: {e.message}"
    assert "root:x:0:0" not in e.message, f"{sql!r} leaked file contents: {e.message}"
    return e


SECRET_FILE = "/etc/passwd"
FILE_READS = [
    f"SELECT * FROM read_csv('{SECRET_FILE}')",
    f"SELECT * FROM read_csv_auto('{SECRET_FILE}')",
    f"SELECT * FROM read_csv('file://{SECRET_FILE}')",
    f"SELECT * FROM read_parquet('{SECRET_FILE}')",
    f"SELECT * FROM read_json('{SECRET_FILE}')",
    f"SELECT * FROM read_json_auto('{SECRET_FILE}')",
    f"SELECT * FROM read_text('{SECRET_FILE}')",
    f"SELECT * FROM read_blob('{SECRET_FILE}')",
    f"SELECT * FROM sniff_csv('{SECRET_FILE}')",
    f"SELECT * FROM '{SECRET_FILE}'",
    f"FROM '{SECRET_FILE}'",
    "SELECT * FROM '/etc/*'",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM glob('*')",
    "SELECT * FROM read_csv('https://example.com/x.csv')",
    "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
    "SELECT * FROM parquet_metadata('/etc/passwd')",
    "SELECT * FROM lance_scan('/etc')",
    "SELECT * FROM lance_scan('../../../etc')",
    "WITH t AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM t",
    "SELECT (SELECT count(*) FROM read_text('/etc/passwd'))",
    "EXPLAIN SELECT * FROM read_csv('/etc/passwd')",
]


@pytest.mark.parametrize("sql", FILE_READS)
def test_no_file_reads(lsql, session, sql):
    refused(lsql, session, sql)


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 1 AS x) TO '{out}'",
    "COPY (SELECT 1 AS x) TO '{out}' (FORMAT parquet)",
    "EXPORT DATABASE '{dir}'",
    "SELECT 1; COPY (SELECT 1 AS x) TO '{out}'",
    "ATTACH '{db}' AS x",
    "ATTACH ':memory:' AS x",
    "ATTACH '{db}' AS x (READ_ONLY)",
    "CREATE TABLE t AS SELECT 1",
    "CREATE OR REPLACE VIEW retail.sales.customers AS SELECT 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE MACRO m() AS 1",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "INSERT INTO retail.sales.customers SELECT * FROM retail.sales.customers",
    "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
])
def test_no_writes_or_attach(lsql, session, sql, tmp_path):
    out, db, d = tmp_path / "out.csv", tmp_path / "x.db", tmp_path / "export"
    refused(lsql, session, sql.format(out=out, db=db, dir=d))
    assert not out.exists() and not db.exists() and not d.exists()


@pytest.mark.parametrize("sql", [
    "INSTALL httpfs", "LOAD httpfs", "FORCE INSTALL httpfs", "LOAD '/tmp/evil.duckdb_extension'",
    "SET enable_external_access = true", "SET GLOBAL enable_external_access = true",
    "SET lock_configuration = false", "RESET lock_configuration", "RESET enable_external_access",
    "SET allow_unsigned_extensions = true", "SET autoinstall_known_extensions = true",
    "SET autoload_known_extensions = true", "SET temp_directory = '/tmp'",
    "PRAGMA enable_external_access", "SELECT 1; SET enable_external_access = true",
    "CALL pragma_version()",
    "DETACH retail", "DETACH DATABASE IF EXISTS retail", "DROP SCHEMA retail.sales CASCADE",
    "DROP VIEW retail.sales.customers", "USE memory", "CHECKPOINT", "VACUUM",
    "BEGIN TRANSACTION", "PREPARE p AS SELECT 1",
])
def test_no_config_or_catalog_changes(lsql, session, sql):
    refused(lsql, session, sql)
    # the session still works and is still sandboxed
    assert session.sql("SELECT count(*) AS n FROM retail.sales.customers").column(0)[0].as_py() > 0
    refused(lsql, session, f"SELECT * FROM read_csv('{SECRET_FILE}')")


def test_settings_stay_locked(lsql, session):
    t = session.sql("SELECT name, value FROM duckdb_settings() WHERE name IN "
                    "('enable_external_access', 'lock_configuration', 'autoinstall_known_extensions', "
                    "'autoload_known_extensions', 'allow_community_extensions')").to_pylist()
    got = {r["name"]: r["value"] for r in t}
    assert got["enable_external_access"] == "false", got
    assert got["lock_configuration"] == "true", got
    assert got["autoinstall_known_extensions"] == "false", got
    assert got["autoload_known_extensions"] == "false", got


def test_catalogs_survive_refused_detach(lsql, session):
    refused(lsql, session, "DETACH retail")
    assert session.sql("SELECT count(*) FROM retail.sales.orders").num_rows == 1


# ---------------------------------------------------------------------------- namespace escapes

@pytest.fixture()
def listing_root(tmp_path):
    """A directory namespace (no __manifest) with one table, and a dataset *outside* its root."""
    import lance
    import pyarrow as pa
    root = tmp_path / "root"
    root.mkdir()
    lance.write_dataset(pa.table({"a": [1]}), str(root / "t.lance"))
    lance.write_dataset(pa.table({"secret": [42]}), str(tmp_path / "outside.lance"))
    (tmp_path / "outside_dir").mkdir()
    lance.write_dataset(pa.table({"secret": [43]}), str(tmp_path / "outside_dir" / "x.lance"))
    return str(root)


BAD_IDS = [["..", "outside"], ["../outside"], [".."], ["../outside_dir", "x"], ["/etc"], ["/etc/passwd"],
           ["a/b"], ["a\\b"], ["."], [""], ["t", ".."], ["..", "..", "etc"], ["outside_dir/x"],
           ["x\x01"], ["%2e%2e", "outside"]]


@pytest.mark.parametrize("impl_props", [{}, {"manifest_enabled": "true"}], ids=["listing", "manifest"])
@pytest.mark.parametrize("tid", BAD_IDS, ids=[repr(i) for i in BAD_IDS])
def test_namespace_ids_cannot_escape(lsql, listing_root, impl_props, tid):
    with lsql.Namespace("dir", root=listing_root, **impl_props) as ns:
        for call in (lambda: ns.open_table(tid), lambda: ns.describe_table(tid),
                     lambda: ns.list_tables(tid), lambda: ns.list_namespaces(tid)):
            try:
                r = call()
            except lsql.LsqlError as e:
                assert e.name in ALLOWED | {"ENOTFOUND"}, e
                continue
            if hasattr(r, "scan"):
                t = r.scan()
                r.close()
                assert "secret" not in t.column_names, f"{tid} opened a dataset outside the root"
            elif isinstance(r, dict):
                loc = os.path.realpath(r["location"].replace("file://", ""))
                assert loc.startswith(os.path.realpath(listing_root) + os.sep), f"{tid} -> {loc}"
            else:
                names = r[0]
                assert "outside" not in names and "outside.lance" not in names, f"{tid} listed {names}"
        assert not ns.table_exists(tid) if _safe_exists(lsql, ns, tid) else True


def _safe_exists(lsql, ns, tid):
    try:
        ns.table_exists(tid)
        return True
    except lsql.LsqlError:
        return False


@pytest.mark.parametrize("name", ['"..".".."."outside"', '".."."outside_dir"."x"', 'retail."../.."."x"',
                                  '"/etc"."x"."y"', "lance_scan('\"..\".\"outside_dir\".\"x\"')"])
def test_sql_names_cannot_escape(lsql, listing_root, name):
    with lsql.Namespace("dir", root=listing_root) as ns:
        with lsql.Session(root=ns) as s:
            sql = f"SELECT * FROM {name}"
            with pytest.raises(lsql.LsqlError) as ei:
                s.sql(sql)
            assert ei.value.name in ALLOWED, ei.value


# ---------------------------------------------------------------------------- secrets

SECRET = "Bearer sEcReT-t0ken-913"
S3_KEY, S3_SECRET = "AKIAEXAMPLESECRET99", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


class _Handler(http.server.BaseHTTPRequestHandler):
    def _reply(self):
        # a server that echoes nothing sensitive; the client must not add the token itself
        body = b'{"error": {"code": 401, "message": "unauthorized", "type": "Unauthorized"}}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, *a):
        pass


@pytest.fixture()
def rest_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def _no_secret(msg):
    for s in (SECRET, "sEcReT-t0ken", S3_KEY, S3_SECRET, "SECRETKEY"):
        assert s not in msg, f"secret in message: {msg}"


@pytest.mark.parametrize("uri", ["http://127.0.0.1:1", "http://[::1", "rest_server"])
def test_rest_token_not_in_errors(lsql, uri, rest_server):
    uri = rest_server if uri == "rest_server" else uri
    msgs = []
    try:
        ns = lsql.Namespace("rest", uri=uri, **{"header.Authorization": SECRET, "timeout_ms": "2000",
                                                  "retries": "0"})
    except lsql.LsqlError as e:
        msgs.append(e.message)
    else:
        with ns:
            for call in (lambda: ns.list_namespaces([]), lambda: ns.describe_table(["a", "b", "c"]),
                         lambda: ns.open_table(["a", "b", "c"]), lambda: ns.namespace_exists(["a"])):
                try:
                    call()
                except lsql.LsqlError as e:
                    msgs.append(e.message)
            try:
                with lsql.Session(root=ns) as s:
                    s.sql("SELECT * FROM a.b.c")
            except lsql.LsqlError as e:
                msgs.append(e.message)
    assert msgs
    for m in msgs:
        _no_secret(m)


@pytest.mark.parametrize("uri", ["s3://no-such-bucket-lsql/x", "s3://bucket/x"])
def test_s3_keys_not_in_errors(lsql, uri):
    opts = {"aws_access_key_id": S3_KEY, "aws_secret_access_key": S3_SECRET, "aws_region": "us-east-1",
            "aws_endpoint": "http://127.0.0.1:1", "allow_http": "true"}
    for o in (opts, {**opts, "aws_endpoint": "ftp://x"}, {**opts, "aws_region": "bad region\n"},
              {k: v for k, v in opts.items() if k != "aws_access_key_id"}):
        with pytest.raises(lsql.LsqlError) as ei:
            lsql.Dataset(uri, storage_options=o)
        _no_secret(ei.value.message)
    with pytest.raises(lsql.LsqlError) as ei:
        lsql.Namespace("dir", root=uri, **{"storage.aws_access_key_id": S3_KEY,
                                           "storage.aws_secret_access_key": S3_SECRET,
                                           "storage.aws_endpoint": "http://127.0.0.1:1",
                                           "storage.allow_http": "true"}).list_tables([])
    _no_secret(ei.value.message)


@pytest.mark.parametrize("loc", ["../outside.lance", "../../outside.lance", "/etc", "a/../../outside.lance",
                                 "file:///etc", "s3://bucket/x", "..", "a/./../.."])
def test_manifest_locations_cannot_escape(lsql, fixtures, tmp_path, loc):
    """A __manifest row whose location points outside the namespace root must be refused."""
    import lance
    import pyarrow as pa
    root = tmp_path / "ns"
    shutil.copytree(os.path.join(fixtures, "namespaces", "manifest"), root, symlinks=False)
    lance.write_dataset(pa.table({"secret": [42]}), str(tmp_path / "outside.lance"))
    m = lance.dataset(str(root / "__manifest"))
    m.update({"location": "'" + loc.replace("'", "''") + "'"}, where="object_id = 'a$t_a'")
    with lsql.Namespace("dir", root=str(root), manifest_enabled="true") as ns:
        try:
            with ns.open_table(["a", "t_a"]) as ds:
                t = ds.scan()
            assert "secret" not in t.column_names, f"{loc}: opened a dataset outside the root"
        except lsql.LsqlError as e:
            assert e.name in ALLOWED | {"ECORRUPT", "EIO"}, e
        try:
            d = ns.describe_table(["a", "t_a"])
            real = os.path.realpath(d["location"].replace("file://", ""))
            assert real.startswith(os.path.realpath(root) + os.sep), f"{loc} -> {real}"
        except lsql.LsqlError as e:
            assert e.name in ALLOWED | {"ECORRUPT", "EIO"}, e
