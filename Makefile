# Thin wrapper: CMake does the building, scripts do the rest.
# Targets: all (default), guest, stock-guest, check, unit, fuzz, fuzz-smoke, e2e, demo, bench,
# deps, format, clean.

BUILD      ?= build
ASAN_BUILD ?= build/asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
FUZZ_MINUTES ?= 5

.PHONY: all asan guest stock-guest check unit fuzz fuzz-smoke e2e demo bench deps format clean

all:
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

guest:
	@tools/guest/build

# Debian's unpatched kernel and an initramfs with its virtio modules (build/stock/).
stock-guest:
	@tools/guest/build-stock

asan:
	@cmake -S . -B $(ASAN_BUILD) -DEBB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

unit: all asan
	@echo "== unit tests (release build)"
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	@echo "== unit tests (ASan+UBSan build)"
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# The libFuzzer harnesses (docs/fuzzing.md), clang-built in build/fuzz/: each for
# FUZZ_MINUTES, then executions, coverage and findings.
fuzz:
	@JOBS=$(JOBS) tests/fuzz/run --minutes $(FUZZ_MINUTES)

# Each harness for 20 seconds, so that none of them rots.
fuzz-smoke:
	@JOBS=$(JOBS) tests/fuzz/run --seconds 20 --no-coverage

e2e: all guest stock-guest
	@tests/e2e/run-all

check: unit fuzz-smoke e2e

demo: deps all guest
	@tools/demo/run

bench: all guest
	@tools/bench/run

deps:
	@scripts/install-deps

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
