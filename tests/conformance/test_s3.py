"""S3 object store conformance: moto's S3 server on 127.0.0.1 stands in for S3.

- every fixture dataset (datasets/2.2/*), uploaded to a bucket, reads through s3:// exactly as it
  reads from local disk (or fails the same way);
- the store-level C checks (tests/unit/io, LSQL_TEST(s3_live)) run against the same server:
  ranged/coalesced reads, HEAD, paged listing, exists, special characters, missing bucket;
- a flaky proxy (503 SlowDown on every third request) is retried through transparently;
- errors: missing credentials, missing bucket, missing dataset, wrong region, access denied, a
  server that drops every connection; secrets never appear in messages.
Only loopback addresses are used.
"""
import http.client
import http.server
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time

import pyarrow as pa
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lsql  # noqa: E402
from moto_server import moto_server  # noqa: E402

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

KEY, SECRET, TOKEN = "testing", "SECRETSECRET-do-not-print", "TOKENTOKEN-do-not-print"
BUCKET = "lsql-conformance"


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch):
    # the library reads AWS_* from the process environment: keep the tests' configuration explicit
    for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
              "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_PROFILE"):
        monkeypatch.delenv(v, raising=False)


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    with open(tmp_path_factory.mktemp("moto") / "moto.log", "wb") as log, moto_server(log) as endpoint:
        if endpoint is None:
            pytest.fail("moto server did not start")
        yield endpoint


@pytest.fixture(scope="session")
def s3(moto):
    c = boto3.client("s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id=KEY,
                     aws_secret_access_key="testing")
    c.create_bucket(Bucket=BUCKET)
    return c


def opts(endpoint, **extra):
    o = {"aws_access_key_id": KEY, "aws_secret_access_key": SECRET, "aws_session_token": TOKEN,
         "aws_region": "us-east-1", "aws_endpoint": endpoint, "allow_http": "true"}
    o.update(extra)
    return o


def upload_dir(client, local, bucket, prefix):
    n = 0
    for root, _, files in os.walk(local):
        for f in files:
            p = os.path.join(root, f)
            key = prefix + "/" + os.path.relpath(p, local).replace(os.sep, "/")
            client.upload_file(p, bucket, key)
            n += 1
    return n


def fixture_datasets(fixtures):
    base = os.path.join(fixtures, "datasets", "2.2")
    return sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d))) if os.path.isdir(base) else []


@pytest.fixture(scope="session")
def uploaded(s3, fixtures):
    names = fixture_datasets(fixtures)
    for name in names:
        upload_dir(s3, os.path.join(fixtures, "datasets", "2.2", name), BUCKET, f"ds/{name}")
    return names


def read_all(uri, storage_options=None, columns=None):
    """(table, None) or (None, (code name, message))."""
    try:
        with lsql.Dataset(uri, storage_options=storage_options) as ds:
            return ds.scan(columns=columns, ordered=True), None
    except lsql.LsqlError as e:
        return None, (e.name, e.message)
    except OSError as e:  # a failure inside the Arrow stream (the reader's message)
        return None, ("STREAM", str(e))


def test_fixture_datasets_read_same_as_local(lib, fixtures, uploaded, moto):
    assert uploaded, "no fixture datasets found"
    compared = 0
    for name in uploaded:
        local, lerr = read_all(os.path.join(fixtures, "datasets", "2.2", name))
        remote, rerr = read_all(f"s3://{BUCKET}/ds/{name}", opts(moto))
        if lerr:
            assert rerr and rerr[0] == lerr[0], (name, lerr, rerr)
            continue
        assert rerr is None, (name, rerr)
        assert remote.equals(local), name
        compared += 1
    assert compared > 0


def test_trailing_slash_and_s3_version_listing(lib, uploaded, moto, fixtures):
    name = "history" if "history" in uploaded else uploaded[0]
    local_versions = None
    try:
        with lsql.Dataset(os.path.join(fixtures, "datasets", "2.2", name)) as ds:
            local_versions = [v for v in ds.versions()]
    except lsql.LsqlError:
        pytest.skip("dataset versions not readable locally yet")
    with lsql.Dataset(f"s3://{BUCKET}/ds/{name}/", storage_options=opts(moto)) as ds:
        assert [v for v in ds.versions()] == local_versions


# ---------------------------------------------------------------------------- store level (C)

def _test_io_binary():
    build = os.environ.get("LSQL_BUILD_DIR", "/work/main/build")
    p = os.path.join(build, "test_io")
    return p if os.path.exists(p) else None


def test_store_level_checks(s3, moto):
    """Runs the C store checks (tests/unit/io: s3_live) against moto."""
    binary = _test_io_binary()
    if not binary:
        pytest.skip("test_io not built in LSQL_BUILD_DIR")
    blob = bytes((i * 7) % 251 for i in range((1 << 20) + 17))
    s3.put_object(Bucket=BUCKET, Key="live/blob", Body=blob)
    s3.put_object(Bucket=BUCKET, Key="live/sub/x", Body=b"hello")
    s3.put_object(Bucket=BUCKET, Key="live/sp ace&amp.txt", Body=b"abc")
    existing = s3.list_objects_v2(Bucket=BUCKET, Prefix="live/d/", MaxKeys=1).get("KeyCount", 0)
    if not existing:
        for i in range(1100):
            s3.put_object(Bucket=BUCKET, Key=f"live/d/{i:04d}", Body=b"x")
    env = dict(os.environ, LSQL_S3_TEST_ENDPOINT=moto, LSQL_S3_TEST_BUCKET=BUCKET)
    r = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipped" not in r.stderr


# ---------------------------------------------------------------------------- retries

class _FlakyProxy(http.server.BaseHTTPRequestHandler):
    """Forwards to moto, answering every third request with 503 SlowDown instead."""
    protocol_version = "HTTP/1.1"
    target = None
    count = 0
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def _handle(self):
        with _FlakyProxy.lock:
            _FlakyProxy.count += 1
            fail = _FlakyProxy.count % 3 == 0
        if fail:
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        host, port = self.target
        c = http.client.HTTPConnection(host, port, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        c.request(self.command, self.path, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else r.getheader("Content-Length", "0")))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()

    do_GET = _handle
    do_HEAD = _handle


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(handler):
    srv = _Server(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def test_retries_through_flaky_server(lib, uploaded, moto, fixtures):
    name = "types" if "types" in uploaded else uploaded[0]
    local, lerr = read_all(os.path.join(fixtures, "datasets", "2.2", name))
    if lerr:
        pytest.skip(f"{name} not readable locally yet: {lerr}")
    _FlakyProxy.target = ("127.0.0.1", int(moto.rsplit(":", 1)[1]))
    _FlakyProxy.count = 0
    srv, ep = _serve(_FlakyProxy)
    try:
        remote, rerr = read_all(f"s3://{BUCKET}/ds/{name}", opts(ep))
        assert rerr is None, rerr
        assert remote.equals(local)
        assert _FlakyProxy.count >= 3  # some requests were refused and retried
    finally:
        srv.shutdown()
        srv.server_close()


# ---------------------------------------------------------------------------- errors

def _open_error(uri, storage_options):
    with pytest.raises(lsql.LsqlError) as ei:
        with lsql.Dataset(uri, storage_options=storage_options) as ds:
            ds.scan()
    e = ei.value
    assert SECRET not in e.message and TOKEN not in e.message
    return e


def test_missing_credentials(lib, moto):
    o = opts(moto)
    del o["aws_access_key_id"], o["aws_secret_access_key"], o["aws_session_token"]
    e = _open_error(f"s3://{BUCKET}/ds/types", o)
    assert e.code == lsql.EPERM
    assert "no AWS credentials" in e.message and "aws_access_key_id" in e.message
    assert "AWS_ACCESS_KEY_ID" in e.message


def test_credentials_from_environment(lib, uploaded, moto, monkeypatch):
    name = uploaded[0]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    a, aerr = read_all(f"s3://{BUCKET}/ds/{name}", {"allow_http": "true"})
    b, berr = read_all(f"s3://{BUCKET}/ds/{name}", opts(moto))
    assert (aerr and berr and aerr[0] == berr[0]) or (aerr is None and a.equals(b)), (aerr, berr)


def test_missing_bucket(lib, moto):
    e = _open_error("s3://no-such-bucket-lsql/ds/types", opts(moto))
    assert e.code == lsql.ENOTFOUND, e
    assert "NoSuchBucket" in e.message or "no-such-bucket-lsql" in e.message


def test_missing_dataset(lib, s3, moto):
    e = _open_error(f"s3://{BUCKET}/ds/does-not-exist", opts(moto))
    assert e.code == lsql.ENOTFOUND, e


def test_plain_http_needs_allow_http(lib, moto):
    o = opts(moto)
    del o["allow_http"]
    e = _open_error(f"s3://{BUCKET}/ds/types", o)
    assert e.code == lsql.EINVAL and "allow_http" in e.message


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers every request with one canned S3 error."""
    protocol_version = "HTTP/1.1"
    status, body, headers_out, count = 500, b"", {}, 0

    def log_message(self, *a):
        pass

    def _handle(self):
        type(self).count += 1
        self.send_response(self.status)
        for k, v in self.headers_out.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.body)

    do_GET = _handle
    do_HEAD = _handle


def _canned(status, code, message, headers=None, extra=""):
    body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message>{extra}<RequestId>1</RequestId></Error>").encode()
    return type("H", (_Canned,), {"status": status, "body": body, "headers_out": headers or {}, "count": 0})


def test_wrong_region(lib):
    # what S3 answers when the signature's region is not the bucket's
    h = _canned(400, "AuthorizationHeaderMalformed",
                "The authorization header is malformed; the region &apos;us-east-1&apos; is wrong; "
                "expecting &apos;eu-west-1&apos;", {"x-amz-bucket-region": "eu-west-1"},
                "<Region>eu-west-1</Region>")
    srv, ep = _serve(h)
    try:
        e = _open_error(f"s3://{BUCKET}/ds/types", opts(ep))
        assert e.code == lsql.EINVAL, e
        assert "wrong region" in e.message and "eu-west-1" in e.message and "aws_region" in e.message
    finally:
        srv.shutdown()
        srv.server_close()


def test_permanent_redirect(lib):
    h = _canned(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed "
                "using the specified endpoint.", {"x-amz-bucket-region": "ap-south-1"})
    srv, ep = _serve(h)
    try:
        e = _open_error(f"s3://{BUCKET}/ds/types", opts(ep))
        assert e.code == lsql.EINVAL and "ap-south-1" in e.message, e
    finally:
        srv.shutdown()
        srv.server_close()


def test_access_denied(lib):
    h = _canned(403, "AccessDenied", "Access Denied")
    srv, ep = _serve(h)
    try:
        e = _open_error(f"s3://{BUCKET}/ds/types", opts(ep))
        assert e.code == lsql.EPERM and "AccessDenied" in e.message, e
        assert h.count == 1  # not retried
    finally:
        srv.shutdown()
        srv.server_close()


def test_server_error_is_retried_then_reported(lib):
    h = _canned(500, "InternalError", "We encountered an internal error. Please try again.")
    srv, ep = _serve(h)
    try:
        e = _open_error(f"s3://{BUCKET}/ds/types", opts(ep, client_max_retries="2"))
        assert e.code in (lsql.EREMOTE, lsql.EIO) and "InternalError" in e.message, e
        assert h.count == 3
    finally:
        srv.shutdown()
        srv.server_close()


def test_server_that_drops_connections(lib):
    accepted = []
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    stop = threading.Event()

    def run():
        ls.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except OSError:
                continue
            accepted.append(1)
            c.recv(65536)
            c.close()  # drop the request without an answer

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        ep = f"http://127.0.0.1:{ls.getsockname()[1]}"
        t0 = time.time()
        e = _open_error(f"s3://{BUCKET}/ds/types", opts(ep, client_max_retries="3"))
        assert e.code == lsql.EIO, e
        assert "after 4 attempts" in e.message
        assert len(accepted) >= 4
        assert time.time() - t0 < 20
    finally:
        stop.set()
        t.join()
        ls.close()


# ---------------------------------------------------------------------------- request counts

def test_scan_request_counts(lib, uploaded, moto, fixtures, capfd, monkeypatch):
    """Reports how many requests a dataset open + scan makes (LSQL_IO_STATS) and the time."""
    monkeypatch.setenv("LSQL_IO_STATS", "1")
    lines = []
    for name in uploaded:
        t0 = time.time()
        remote, rerr = read_all(f"s3://{BUCKET}/ds/{name}", opts(moto))
        dt = time.time() - t0
        err = capfd.readouterr().err
        stats = [l for l in err.splitlines() if l.startswith("lancesql io: s3 store")]
        if rerr is None and stats:
            lines.append(f"{name}: {stats[-1].split(': ', 1)[1].split(' store: ')[1]}, {dt * 1000:.0f} ms")
    with capfd.disabled():
        print("\nS3 scan request counts (moto):\n  " + "\n  ".join(lines))
