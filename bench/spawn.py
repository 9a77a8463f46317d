"""Runs one command and prints {"secs", "rss_kb", "status", "stdout", "stderr"} as JSON.

Started with `python -S` so that it stays small: Linux counts the memory of the process that
forked a program into that program's ru_maxrss, so the big benchmark driver must not fork the
measured process itself. secs is the wall time from spawn to exit of the command alone."""
import json
import os
import subprocess
import sys
import time

argv = sys.argv[1:]
t0 = time.perf_counter()
p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out, err = p.communicate()
secs = time.perf_counter() - t0
# communicate() reaped the child; its rusage is in RUSAGE_CHILDREN (the only child we had).
import resource  # noqa: E402
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"secs": secs, "rss_kb": ru.ru_maxrss, "status": p.returncode,
                  "stdout": out.decode(errors="replace")[-4000:], "stderr": err.decode(errors="replace")[-4000:]}))
