"""Builds lancesql._lancesql against a built liblancesql.

LSQL_BUILD_DIR    folder with liblancesql.so (default: ../build next to this file)
LSQL_INCLUDE_DIR  folder with lancesql.h     (default: ../include)
LSQL_DUCKDB_LIB   folder with libduckdb.so   (default: ../third_party/duckdb/lib)

The extension gets an rpath to the build folder (and DuckDB's), so it loads the library in place;
liblancesql.so itself carries an rpath to DuckDB.
"""
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _dir(env, default):
    path = os.environ.get(env) or os.path.join(HERE, default)
    return os.path.abspath(path)


build_dir = _dir("LSQL_BUILD_DIR", os.path.join("..", "build"))
include_dir = _dir("LSQL_INCLUDE_DIR", os.path.join("..", "include"))
duckdb_lib = _dir("LSQL_DUCKDB_LIB", os.path.join("..", "third_party", "duckdb", "lib"))

if not os.path.exists(os.path.join(include_dir, "lancesql.h")):
    raise SystemExit(f"lancesql.h not found in {include_dir} (set LSQL_INCLUDE_DIR)")
if not os.path.exists(os.path.join(build_dir, "liblancesql.so")):
    raise SystemExit(f"liblancesql.so not found in {build_dir} (build it, or set LSQL_BUILD_DIR)")

rpath = [build_dir] + ([duckdb_lib] if os.path.isdir(duckdb_lib) else [])

ext = Extension(
    "lancesql._lancesql",
    sources=[os.path.join("src", "_lancesql.c")],
    include_dirs=[include_dir],
    library_dirs=[build_dir],
    libraries=["lancesql"],
    runtime_library_dirs=rpath,
    extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wno-unused-parameter",
                        "-Wno-missing-field-initializers", "-Wno-cast-function-type"],
    extra_link_args=["-pthread"],
)

class BuildExt(build_ext):
    """Always relinks: pip builds in-tree, and a cached extension would keep the rpath (and the
    library) of a previous LSQL_BUILD_DIR."""

    def finalize_options(self):
        super().finalize_options()
        self.force = True


setup(ext_modules=[ext], cmdclass={"build_ext": BuildExt})
