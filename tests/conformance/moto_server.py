"""A moto S3 server on 127.0.0.1 for the S3 conformance tests (test_s3.py) and the benchmark's s3
section (bench/bench.py): one copy of the start, wait-for-port and stop logic."""
import contextlib
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@contextlib.contextmanager
def moto_server(log):
    """Runs `python -m moto.server` on a free loopback port with its output in the open binary
    file `log`. Yields the endpoint URL, or None when the server did not start within 30 s; the
    server is stopped on exit."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log)
    try:
        yield f"http://127.0.0.1:{port}" if wait_port(port) else None
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
