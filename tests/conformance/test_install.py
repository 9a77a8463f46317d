"""The installed library can be linked the usual ways: pkg-config and CMake's find_package.
Installs the current build into a temporary prefix and builds a small consumer each way."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("LSQL_BUILD_DIR", os.path.join(ROOT, "build"))

CONSUMER = r"""
#include <lancesql.h>
#include <stdio.h>
int main(int argc, char **argv) {
  lsql_error err;
  lsql_dataset *ds = NULL;
  if (argc < 2 || lsql_dataset_open(argv[1], NULL, &ds, &err) != LSQL_OK) return 1;
  uint64_t n = 0;
  int rc = lsql_dataset_count_rows(ds, &n, &err);
  lsql_dataset_free(ds);
  printf("%s %llu\n", lsql_version(), (unsigned long long)n);
  return rc;
}
"""


def tool_env(**extra):
    """Environment for compilers and cmake: without the sanitizer preload that `make sanitize`
    sets for the tests (gcc's own cc1 crashes under it); the built consumer keeps it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "ASAN_", "LSAN_", "UBSAN_"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    p = tmp_path_factory.mktemp("prefix")
    subprocess.run(["cmake", "--install", BUILD, "--prefix", str(p)], check=True,
                   stdout=subprocess.DEVNULL, env=tool_env())
    return p


def dataset():
    return os.path.join(ROOT, "examples", "lake", "__manifest")


def run_consumer(exe):
    out = subprocess.run([str(exe), dataset()], check=True, capture_output=True, text=True).stdout
    assert out.split()[0] == "0.1.0"
    assert int(out.split()[1]) > 0


def test_pkg_config(prefix, tmp_path):
    src = tmp_path / "c.c"
    src.write_text(CONSUMER)
    env = tool_env(PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "lancesql"], env=env, check=True,
                           capture_output=True, text=True).stdout.split()
    exe = tmp_path / "c"
    subprocess.run(["gcc", "-std=c11", str(src), *flags, f"-Wl,-rpath,{prefix / 'lib'}", "-o", str(exe)],
                   check=True, env=tool_env())
    run_consumer(exe)


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is required by the build itself")
def test_cmake_find_package(prefix, tmp_path):
    (tmp_path / "c.c").write_text(CONSUMER)
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(consumer C)\n"
        "find_package(lancesql REQUIRED)\nadd_executable(c c.c)\n"
        "target_link_libraries(c lancesql::lancesql)\n")
    b = tmp_path / "b"
    subprocess.run(["cmake", "-S", str(tmp_path), "-B", str(b), f"-DCMAKE_PREFIX_PATH={prefix}"],
                   check=True, stdout=subprocess.DEVNULL, env=tool_env())
    subprocess.run(["cmake", "--build", str(b)], check=True, stdout=subprocess.DEVNULL, env=tool_env())
    run_consumer(b / "c")
