"""Shared fixtures of the robustness suite: fixture paths, the ctypes binding, and run_cases(),
which runs corrupt-input cases in child processes (see worker.py)."""
import json
import os
import subprocess
import sys
import tempfile
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "conformance"))

# Generous: each case opens, inspects and scans a small dataset; ASan builds are ~5x slower.
CASE_TIMEOUT = float(os.environ.get("LSQL_CASE_TIMEOUT", "60"))


def fixtures_dir():
    return os.path.abspath(os.environ.get("LSQL_FIXTURES", os.path.join(REPO, "build", "fixtures")))


@pytest.fixture(scope="session")
def fixtures():
    d = fixtures_dir()
    if not os.path.exists(os.path.join(d, "index.json")):
        subprocess.run([sys.executable, os.path.join(REPO, "tests", "fixtures", "generate.py"), "--out", d],
                       check=True)
    return d


@pytest.fixture(scope="session")
def lsql():
    import lsql as m
    m.lib()
    return m


def run_threads(fn, n, label=""):
    """Runs fn(0), ..., fn(n - 1) on n threads at once; after all have finished, fails with every
    thread's exception (and on a thread still running after 300 s), `label` leading the message."""
    errors = []

    def wrap(i):
        try:
            fn(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(f"thread {i}: {type(e).__name__}: {e}")
    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
        assert not t.is_alive(), label + "thread hung"
    assert not errors, label + "\n".join(errors)


def run_cases(cases, tmp_path):
    """Runs every case; returns {id: result}. A crash gives {"status": "crash", "stderr": ...},
    a hang {"status": "hang"}; the remaining cases then run in a fresh child."""
    results, todo = {}, list(cases)
    while todo:
        spec = os.path.join(tmp_path, f"cases-{len(results)}.json")
        with open(spec, "w") as f:
            json.dump(todo, f)
        with tempfile.TemporaryFile() as errf:
            # Under ASan, allocations above 1 GiB fail (return NULL) instead of being attempted:
            # a size taken from corrupt bytes then shows up as "out of memory", which check()
            # rejects (corrupt sizes must be refused before allocating).
            env = dict(os.environ)
            if env.get("LD_PRELOAD", "").find("libasan") >= 0 or env.get("ASAN_OPTIONS"):
                env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                                       ":max_allocation_size_mb=1024:allocator_may_return_null=1").lstrip(":")
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, "worker.py"), spec],
                                    stdout=subprocess.PIPE, stderr=errf, text=True, env=env)
            current, hung = None, False
            import selectors
            sel = selectors.DefaultSelector()
            sel.register(proc.stdout, selectors.EVENT_READ)
            while True:
                if not sel.select(timeout=CASE_TIMEOUT):
                    hung = True
                    proc.kill()
                    break
                line = proc.stdout.readline()
                if not line:
                    break
                msg = json.loads(line)
                if msg["status"] == "start":
                    current = msg["id"]
                else:
                    results[msg["id"]] = msg
                    current = None
            proc.wait()
            errf.seek(0)
            stderr = errf.read().decode(errors="replace")[-4000:]
        done = {c["id"] for c in todo if c["id"] in results}
        if current is not None:
            results[current] = {"id": current, "status": "hang" if hung else "crash",
                                "rc": proc.returncode, "stderr": stderr}
            done.add(current)
        elif proc.returncode != 0 and len(done) < len(todo):
            # died before starting a case (e.g. library failed to load): report every case
            for c in todo:
                if c["id"] not in results:
                    results[c["id"]] = {"id": c["id"], "status": "crash", "rc": proc.returncode,
                                        "stderr": stderr}
            break
        elif proc.returncode != 0 and stderr:
            # exited non-zero after the last case (a leak report at exit under ASan)
            results["<exit>"] = {"id": "<exit>", "status": "crash", "rc": proc.returncode, "stderr": stderr}
        todo = [c for c in todo if c["id"] not in done]
    return results
