# Thin wrapper over CMake. `make demo` runs the whole job against a local
# server, `make` builds, `make check` runs every test stage, `make bench`
# runs the benchmarks, `make install PREFIX=...` installs.
BUILD ?= build
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all deps check bench demo install clean format

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j2

deps:
	bash scripts/install-deps.sh

check: deps
	bash scripts/check.sh

demo: deps
	bash scripts/demo.sh

bench: deps
	bash bench/run.sh
	bash bench/t3.sh
	bash bench/t4.sh
	bash bench/gvisor.sh

# Only what is installed is built: no tests, benchmarks, examples or fuzzer.
INSTALL_TARGETS = litterbox_shared litterbox_static litterbox_cli litterbox_server
install:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j2 --target $(INSTALL_TARGETS)
	cmake --install $(BUILD) --prefix $(PREFIX)

format:
	clang-format -i include/*.h adapters/*.h src/*.[ch] src/*/*.[ch] cli/*.[ch] server/*.[ch] server/local/*.[ch] examples/*.c tests/*/*.[ch] fuzz/*.c bench/*.c

clean:
	rm -rf build build-check build-asan build-tsan build-bench build-fuzz
