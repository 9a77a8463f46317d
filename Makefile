# Thin wrapper over CMake. The two commands that matter:
#   make demo   - install dependencies, build, and run the seed example on examples/
#   make test   - install dependencies, build, and run every test (C unit tests, conformance)
# SANITIZE=1 builds into build-asan with AddressSanitizer + UndefinedBehaviorSanitizer.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
ifeq ($(SANITIZE),1)
BUILD ?= build-asan
CMAKE_FLAGS += -DLSQL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
# Python under ASan: the interpreter and its extension modules leak at exit by design, so leak
# reports are filtered by tests/robustness/lsan.supp on the allocating frames only (short
# malloc_context_size); leaks allocated by liblancesql stay visible.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:malloc_context_size=6 \
          LSAN_OPTIONS=suppressions=$(CURDIR)/tests/robustness/lsan.supp:print_suppressions=0 \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
          LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)"
else
BUILD ?= build
SAN_ENV =
endif
VENV = .venv
PY = $(VENV)/bin/python
FIXTURES ?= $(CURDIR)/$(BUILD)/fixtures
export LSQL_BUILD_DIR = $(CURDIR)/$(BUILD)
export LSQL_FIXTURES = $(FIXTURES)

.PHONY: all deps build test unit conformance robustness demo fixtures sanitize fuzz fuzz-build bench python clean install

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

unit: build fixtures
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

fixtures: deps
	@$(PY) tests/fixtures/generate.py --out $(FIXTURES)

python: build
	@LSQL_BUILD_DIR=$(LSQL_BUILD_DIR) $(VENV)/bin/pip install -q --disable-pip-version-check --no-build-isolation ./python

conformance: build fixtures python
	@$(SAN_ENV) $(PY) -m pytest -q -p no:cacheprovider tests/conformance tests/cli tests/python

# Corrupt inputs, sandbox, concurrency (tests/robustness); most useful with SANITIZE=1.
robustness: build fixtures
	@$(SAN_ENV) $(PY) -m pytest -q -p no:cacheprovider tests/robustness

test: unit conformance robustness

sanitize:
	@$(MAKE) --no-print-directory test SANITIZE=1

demo: build
	@bash examples/demo.sh $(BUILD)

# libFuzzer targets (clang) in build-fuzz; FUZZ_SECONDS per target, FUZZ_TARGETS="a b" to pick.
fuzz-build: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DLSQL_BUILD_FUZZ=ON -DLSQL_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

fuzz: fuzz-build
	@bash fuzz/run.sh build-fuzz $(or $(FUZZ_SECONDS),60)

bench: build
	@bash bench/run.sh $(BUILD)

install: build
	@cmake --install $(BUILD)

clean:
	rm -rf build build-asan build-fuzz
