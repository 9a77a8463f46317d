"""Runs corrupt-input cases in a child process so that a crash or hang in the library is reported
as a failure of one case instead of killing pytest.

Protocol: argv[1] is a JSON file with a list of cases {"id", "kind": "dataset"|"file", "path",
optional "version"}; for each case the worker prints one JSON line
{"id", "status": "ok"|"error", "code", "name", "message"} (flushed before the next case starts)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import lsql  # noqa: E402


def run_case(case):
    if case["kind"] == "dataset":
        with lsql.Dataset(case["path"], version=case.get("version", 0)) as ds:
            ds.count_rows()
            ds.schema()
            ds.versions()
            ds.inspect()
            ds.scan(ordered=True, n_threads=case.get("threads", 2))
    elif case["kind"] == "file":
        lsql.file_inspect(case["path"])
        lsql.file_scan(case["path"])
    else:
        raise ValueError(case["kind"])


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for case in cases:
        print(json.dumps({"id": case["id"], "status": "start"}), flush=True)
        try:
            run_case(case)
            res = {"status": "ok"}
        except lsql.LsqlError as e:
            res = {"status": "error", "code": e.code, "name": e.name, "message": e.message}
        except OSError as e:
            # an error from the scan stream's get_next/get_last_error (no status code there)
            res = {"status": "error", "code": -1, "name": "STREAM", "message": str(e)}
        except Exception as e:  # pyarrow import failures: a bad stream/array, still a finding
            res = {"status": "pyerror", "message": f"{type(e).__name__}: {e}"}
        res["id"] = case["id"]
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
