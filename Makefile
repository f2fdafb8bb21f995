# Thin wrapper: CMake does the building, scripts do the rest.
# Targets: all (default), guest, stock-guest, check, unit, fuzz, fuzz-smoke, e2e, arm64, demo,
# bench, deps, format, clean.
# ARCH=arm64 on an x86_64 host cross-compiles ebb into build/arm64/ (its unit
# tests run under qemu-user) and makes the arm64 guest in build/guest-arm64/.

BUILD      ?= build
ASAN_BUILD ?= build/asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
FUZZ_MINUTES ?= 5
HOST_ARCH  := $(shell uname -m)
ARCH       ?= $(HOST_ARCH)

ifneq ($(filter arm64 aarch64,$(ARCH)),)
ifneq ($(HOST_ARCH),aarch64)
BUILD      := build/arm64
CROSS      := 1
CMAKE_ARGS += -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/aarch64-linux-gnu.cmake \
	      -DFDT_LIBRARY=$$(scripts/arm64-deb libfdt-dev)/usr/lib/aarch64-linux-gnu/libfdt.a -DFDT_INCLUDE_DIR=/usr/include
endif
GUEST_ENV  := EBB_GUEST_ARCH=arm64 $(if $(CROSS),EBB_GUEST_OUT=$(CURDIR)/build/guest-arm64)
endif

.PHONY: all asan guest stock-guest check unit fuzz fuzz-smoke e2e arm64 demo bench deps format clean

all:
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

guest:
	@$(GUEST_ENV) tools/guest/build

# Debian's unpatched kernel and an initramfs with its virtio modules (build/stock/).
stock-guest:
	@tools/guest/build-stock

asan:
	@cmake -S . -B $(ASAN_BUILD) -DEBB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

ifdef CROSS
# Cross-built: the tests run under qemu-user, without the sanitizer build.
unit: all
	@echo "== unit tests (arm64 build, under qemu-user)"
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
else
unit: all asan
	@echo "== unit tests (release build)"
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	@echo "== unit tests (ASan+UBSan build)"
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)
endif

# The libFuzzer harnesses (docs/fuzzing.md), clang-built in build/fuzz/: each for
# FUZZ_MINUTES, then executions, coverage and findings.
fuzz:
	@JOBS=$(JOBS) tests/fuzz/run --minutes $(FUZZ_MINUTES)

# Each harness for 20 seconds, so that none of them rots.
fuzz-smoke:
	@JOBS=$(JOBS) tests/fuzz/run --seconds 20 --no-coverage

# The arm64 e2e tests (tests/e2e/9*-arm64-*.sh) run the cross-built ebb and
# the arm64 guest in the lab's arm64 L1.
ifneq ($(HOST_ARCH),aarch64)
e2e: arm64
endif
e2e: all guest stock-guest
	@tests/e2e/run-all

arm64:
	@$(MAKE) --no-print-directory ARCH=arm64 all guest

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
