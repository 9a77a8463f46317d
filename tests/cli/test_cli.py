"""End-to-end tests of the lancesql command-line tool (the built binary).

Binary: $LSQL_BUILD_DIR/lancesql (default /work/main/build/lancesql, relative to this repo).
Data: the seed namespaces $LSQL_FIXTURES/namespaces/seed_root and seed_crm (written by
tests/fixtures/generate.py), else examples/lake and examples/crm.
"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("LSQL_BUILD_DIR", os.path.join(REPO, "build"))
BIN = os.path.join(BUILD, "lancesql")
FIXTURES = os.environ.get("LSQL_FIXTURES", os.path.join(BUILD, "fixtures"))


def _roots():
    a = os.path.join(FIXTURES, "namespaces", "seed_root")
    b = os.path.join(FIXTURES, "namespaces", "seed_crm")
    if os.path.isdir(a) and os.path.isdir(b):
        return a, b
    a = os.path.join(REPO, "examples", "lake")
    b = os.path.join(REPO, "examples", "crm")
    if os.path.isdir(a) and os.path.isdir(b):
        return a, b
    return None, None


ROOT, CRM = _roots()

pytestmark = pytest.mark.skipif(not os.path.exists(BIN), reason=f"{BIN} not built")
needs_data = pytest.mark.skipif(ROOT is None, reason="seed namespaces not generated")

SEED_JOIN = ("SELECT c.name, c.city, o.amount, d.segment FROM retail.sales.customers c "
             "JOIN retail.sales.orders o USING (customer_id) "
             "JOIN crm.dim.customers_dim d USING (customer_id) ORDER BY c.customer_id")


def run(*args, stdin=None, env=None, timeout=60):
    e = dict(os.environ)
    e["LANCESQL_NO_PROGRESS"] = "1"
    e.pop("LANCESQL_ROOT", None)
    if env:
        e.update(env)
    return subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True,
                          env=e, timeout=timeout)


def lake(*args, **kw):
    return run("--root", ROOT, "--catalog", f"crm=dir:{CRM}#crm", *args, **kw)


def assert_error(p, pattern=None):
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("lancesql: error: "), p.stderr
    if pattern:
        assert re.search(pattern, lines[0], re.I), lines[0]


# ---- basics ------------------------------------------------------------------------------------

def test_version_and_help():
    p = run("--version")
    assert p.returncode == 0 and re.match(r"lancesql \d+\.\d+\.\d+", p.stdout)
    p = run("--help")
    assert p.returncode == 0 and "--root" in p.stdout and "--catalog" in p.stdout


def test_usage_error_exit_2():
    p = run("--bogus")
    assert p.returncode == 2 and p.stderr.startswith("lancesql: error: ")
    p = run("--format", "xml", "-c", "SELECT 1")
    assert p.returncode == 2


def test_ns_opt_env_missing():
    p = run("--root", "/tmp", "--ns-opt", "root.header.Authorization=env:LSQL_SURELY_UNSET_VAR",
            "-c", "SELECT 1", env={"LSQL_SURELY_UNSET_VAR": ""})
    # set but empty is fine; unset is an error
    e = dict(os.environ)
    e.pop("LSQL_SURELY_UNSET_VAR", None)
    p = subprocess.run([BIN, "--root", "/tmp", "--ns-opt",
                        "root.header.Authorization=env:LSQL_SURELY_UNSET_VAR", "-c", "SELECT 1"],
                       capture_output=True, text=True, env=e)
    assert p.returncode == 2 and "LSQL_SURELY_UNSET_VAR" in p.stderr


# ---- one-shot queries ---------------------------------------------------------------------------

@needs_data
def test_csv_exact():
    p = lake("--format", "csv", "-c",
             "SELECT customer_id, name, city FROM retail.sales.customers ORDER BY customer_id")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "customer_id,name,city\n1,Alice,NY\n2,Bob,SF\n3,Carol,LA\n"
    assert p.stderr == ""


@needs_data
def test_seed_join_across_catalogs_csv():
    p = lake("--format", "csv", "-c", SEED_JOIN)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ("name,city,amount,segment\nAlice,NY,100,Silver\nBob,SF,200,Gold\n"
                        "Carol,LA,300,Platinum\n")


@needs_data
def test_seed_join_json():
    p = lake("--format", "json", "-c", SEED_JOIN)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == [
        {"name": "Alice", "city": "NY", "amount": 100, "segment": "Silver"},
        {"name": "Bob", "city": "SF", "amount": 200, "segment": "Gold"},
        {"name": "Carol", "city": "LA", "amount": 300, "segment": "Platinum"},
    ]


@needs_data
def test_json_exact_text():
    p = lake("--json", "-c", "SELECT order_id, amount FROM wholesale.sales2.orders2 ORDER BY order_id")
    assert p.returncode == 0, p.stderr
    assert p.stdout == '[\n{"order_id":201,"amount":150},\n{"order_id":202,"amount":250}\n]\n'


@needs_data
def test_default_catalog_schema():
    p = lake("--default", "retail.sales", "--format", "csv", "-c",
             "SELECT count(*) AS n, sum(amount) AS total FROM orders")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "n,total\n3,600\n"


@needs_data
def test_root_prefix_forms():
    for root in (ROOT, "dir:" + ROOT):
        p = run("--root", root, "--format", "csv", "-c",
                "SELECT sum(amount) AS s FROM wholesale.sales2.orders2")
        assert p.returncode == 0, p.stderr
        assert p.stdout == "s\n400\n"


@needs_data
def test_table_format_has_row_count():
    p = lake("-c", "SELECT name FROM retail.sales.customers ORDER BY name")
    assert p.returncode == 0, p.stderr
    assert "Alice" in p.stdout and "Carol" in p.stdout
    assert p.stdout.rstrip().endswith("3 rows")
    assert all(len(l) <= 80 for l in p.stdout.splitlines())


@needs_data
def test_markdown():
    p = lake("--format", "markdown", "-c",
             "SELECT customer_id, name FROM retail.sales.customers ORDER BY 1 LIMIT 2")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "| customer_id | name |\n|---:|---|\n| 1 | Alice |\n| 2 | Bob |\n"


@needs_data
def test_multiple_statements_file(tmp_path):
    f = tmp_path / "q.sql"
    f.write_text("-- two queries; the second spans lines\n"
                 "SELECT count(*) AS n FROM retail.sales.customers;\n"
                 "SELECT name\n  FROM retail.sales.customers\n WHERE city = 'SF';  /* ; */\n")
    p = lake("--format", "csv", "-f", str(f))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "n\n3\nname\nBob\n"


@needs_data
def test_stdin_input():
    p = lake("--format", "csv", stdin="SELECT 'a;b' AS s; SELECT max(amount) AS m FROM retail.sales.orders;")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "s\na;b\nm\n300\n"


@needs_data
def test_dot_commands_one_shot():
    p = lake("--format", "csv", "-c", ".catalogs")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "catalog" and set(lines[1:]) == {"retail", "wholesale", "crm"}
    p = lake("--format", "csv", "-c", ".tables retail.sales")
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()[1:]) == ["retail,sales,customers", "retail,sales,orders"]
    p = lake("--format", "csv", "-c", ".schemas crm")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "catalog,schema\ncrm,dim\n"


# ---- errors -------------------------------------------------------------------------------------

@needs_data
def test_error_bad_sql():
    p = lake("-c", "SELEC 1")
    assert_error(p, "syntax|parser")
    assert p.stdout == ""


@needs_data
def test_error_missing_table():
    p = lake("-c", "SELECT * FROM retail.sales.nope")
    assert_error(p, "nope")


def test_error_missing_root():
    p = run("--root", "/nonexistent/lake", "-c", "SELECT 1")
    assert_error(p, "not found|no such|nonexistent")


@needs_data
@pytest.mark.parametrize("sql", [
    "CREATE TABLE retail.sales.t AS SELECT 1 AS x",
    "INSERT INTO retail.sales.orders VALUES (1, 1, 1)",
    "DELETE FROM retail.sales.orders",
    "COPY (SELECT 1) TO '{tmp}/out.csv'",
])
def test_error_read_only(sql, tmp_path):
    p = lake("-c", sql.format(tmp=tmp_path))
    assert_error(p)
    assert not os.path.exists(tmp_path / "out.csv")


@needs_data
def test_error_stops_file(tmp_path):
    f = tmp_path / "q.sql"
    f.write_text("SELECT 1 AS a; SELECT * FROM nowhere; SELECT 2 AS b;")
    p = lake("--format", "csv", "-f", str(f))
    assert_error(p)
    assert p.stdout == "a\n1\n"


# ---- value rendering matches DuckDB's CSV writer -----------------------------------------------

VALUES_SQL = r"""SELECT 1.0::DOUBLE a, 1e20::DOUBLE b, 0.1::DOUBLE c, 123.456::FLOAT f, 1e-5::DOUBLE g,
 'x,y' s, '' es, NULL::INT n, 'q"t' qt, TIMESTAMP '2024-01-01 00:00:00.120' ts,
 TIMESTAMP '2024-01-01 10:00:00' ts2, DATE '2024-02-03' d1, TIME '01:02:03.5' t1,
 [1, 2, NULL] l, ['a', 'b c', NULL, ''] ls, {'a': 1, 'b': 'x y'} st, 12.50::DECIMAL(10,2) dc,
 -7.125::DECIMAL(18,3) dn, true bo, -0.0::DOUBLE nz, 2.5e-7::FLOAT ff, [[1, 2], [3]] ll,
 123456789012::BIGINT bi, -5::TINYINT ti, 'multi
line' ml, DATE '1969-12-31' d0, TIMESTAMP '1960-06-01 12:30:00.000001' tsn"""


@needs_data
def test_values_match_duckdb_csv(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "ref.csv"
    duckdb.sql(VALUES_SQL).write_csv(str(out))
    p = lake("--format", "csv", "-c", VALUES_SQL)
    assert p.returncode == 0, p.stderr
    assert p.stdout == out.read_text()


# ---- arrow IPC ----------------------------------------------------------------------------------

@needs_data
def test_arrow_ipc_output():
    pa = pytest.importorskip("pyarrow")
    e = dict(os.environ, LANCESQL_NO_PROGRESS="1")
    p = subprocess.run([BIN, "--root", ROOT, "--format", "arrow", "-c",
                        "SELECT customer_id, name FROM retail.sales.customers ORDER BY 1"],
                       capture_output=True, env=e, timeout=60)
    if p.returncode != 0 and b"not implemented" in p.stderr:
        pytest.skip("arrow output not implemented")
    assert p.returncode == 0, p.stderr
    t = pa.ipc.open_stream(p.stdout).read_all()
    assert t.column("name").to_pylist() == ["Alice", "Bob", "Carol"]
    assert t.column("customer_id").to_pylist() == [1, 2, 3]


# ---- inspect ------------------------------------------------------------------------------------

def _table_dir(suffix):
    for name in os.listdir(ROOT):
        if name.endswith(suffix) or name == suffix.split("$")[-1] + ".lance":
            return os.path.join(ROOT, name)
    for dirpath, dirnames, _ in os.walk(ROOT):
        for d in dirnames:
            if d in (suffix.split("$")[-1], suffix.split("$")[-1] + ".lance"):
                return os.path.join(dirpath, d)
    return None


@needs_data
def test_inspect_dataset():
    path = _table_dir("retail$sales$customers")
    assert path, "customers table not found under the seed root"
    p = run("inspect", path)
    assert p.returncode == 0, p.stderr
    assert "customer_id" in p.stdout and "rows: 3" in p.stdout and "version" in p.stdout
    p = run("inspect", path, "--json")
    assert p.returncode == 0, p.stderr
    json.loads(p.stdout)


@needs_data
def test_inspect_file():
    path = _table_dir("retail$sales$customers")
    data = os.path.join(path, "data")
    f = os.path.join(data, sorted(os.listdir(data))[0])
    p = run("inspect-file", f, "--json")
    assert p.returncode == 0, p.stderr
    json.loads(p.stdout)
    p = run("inspect-file", f)
    assert p.returncode == 0, p.stderr


def test_inspect_missing():
    p = run("inspect", "/nonexistent/x.lance")
    assert_error(p)


# ---- interactive shell through a pseudo-terminal --------------------------------------------

class Pty:
    def __init__(self, args, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(BIN, [BIN, *args], env)
        self.buf = b""

    def send(self, s):
        os.write(self.fd, s.encode() if isinstance(s, str) else s)

    def expect(self, pattern, timeout=20):
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        end = time.time() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                out = self.buf[:m.end()]
                self.buf = self.buf[m.end():]
                return out.decode(errors="replace")
            left = end - time.time()
            if left <= 0:
                raise AssertionError(f"timeout waiting for {pattern!r}; got {self.buf[-2000:]!r}")
            r, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"EOF waiting for {pattern!r}; got {self.buf[-2000:]!r}")
                self.buf += chunk

    def close(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)

    def wait(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    self.buf += os.read(self.fd, 65536)
            except OSError:
                pass
        raise AssertionError("shell did not exit")


PROMPT = r"lancesql> "


@needs_data
def test_repl(tmp_path):
    hist = tmp_path / "history"
    env = dict(os.environ, HOME=str(tmp_path), LANCESQL_HISTORY=str(hist), TERM="xterm",
               COLUMNS="100", LANCESQL_NO_PROGRESS="1")
    sh = Pty(["--root", ROOT, "--catalog", f"crm=dir:{CRM}#crm"], env)
    try:
        sh.expect(PROMPT)
        # multi-line statement: continuation prompt, then the result
        sh.send("SELECT name\r")
        sh.expect(r"\.\.\.> ")
        sh.send("FROM retail.sales.customers WHERE customer_id = 2;\r")
        out = sh.expect(PROMPT)
        assert "Bob" in out and "1 row" in out
        # dot command
        sh.send(".tables crm.dim\r")
        out = sh.expect(PROMPT)
        assert "customers_dim" in out
        sh.send(".format csv\r")
        sh.expect(PROMPT)
        # history: up-arrow three times recalls the multi-line SELECT (newest first: .format,
        # .tables, SELECT)
        sh.send("\x1b[A\x1b[A\x1b[A")
        time.sleep(0.3)
        sh.send("\r")
        out = sh.expect(PROMPT)
        assert "name\r\nBob" in out, out
        # Ctrl-C at the prompt clears the line
        sh.send("SELECT 'junk'")
        time.sleep(0.2)
        sh.send("\x03")
        sh.expect(PROMPT)
        sh.send("SELECT 40 + 2 AS answer;\r")
        out = sh.expect(PROMPT)
        assert "answer\r\n42" in out and "junk" not in out.split("answer")[1]
        # Ctrl-C cancels a long query and returns to the prompt
        sh.send("SELECT count(*) FROM range(1000000000) a, range(1000000) b;\r")
        time.sleep(1.5)
        t0 = time.time()
        sh.send("\x03")
        out = sh.expect(PROMPT, timeout=15)
        assert time.time() - t0 < 10
        assert re.search(r"nterrupt|cancel", out, re.I), out
        sh.send("SELECT 7 AS seven;\r")
        out = sh.expect(PROMPT)
        assert "seven\r\n7" in out
        # Ctrl-D exits
        sh.send("\x04")
        assert sh.wait() == 0
    finally:
        sh.close()
    text = hist.read_text()
    assert "FROM retail.sales.customers WHERE customer_id = 2;" in text
    assert ".tables crm.dim" in text
