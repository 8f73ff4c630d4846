# The two commands: `make run` and `make test`. Everything else is a helper for them.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
DB         ?= parley-demo.db
LISTEN     ?= 127.0.0.1:8080

PREFIX     ?= /usr/local
INSTALL_BUILD ?= build-install

.PHONY: all build run test test-asan test-fuzz deps clean install deb

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-demo.sh $(BUILD)/parley $(DB) $(LISTEN)

test:
	@scripts/deps.sh test
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz

# Unit, CLI and API suites again (on SQLite), built with AddressSanitizer and UBSan.
test-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPARLEY_WERROR=ON \
	      -DPARLEY_ASAN=ON -DPARLEY_UBSAN=ON \
	      -DPARLEY_TEST_POLICY_CACHE_DIR=$(abspath $(BUILD))/policy-cache >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -L 'unit|api|cli' -LE pg

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(INSTALL_BUILD)

# Installs under PREFIX (default /usr/local), below DESTDIR when given: the programs, the web
# files, the rules, parley(1), parley.service and <etc>/parley/parley.conf (docs/operations.md).
# A Release build of its own: no test hooks (PARLEY_FAULT_INJECTION) in what is installed.
install: deps
	@cmake -S . -B $(INSTALL_BUILD) -DCMAKE_BUILD_TYPE=Release -DPARLEY_BUILD_TESTS=OFF \
	      -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(INSTALL_BUILD) -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(INSTALL_BUILD) --prefix $(PREFIX)

# The Debian package, written to the parent directory (needs `scripts/deps.sh test`).
deb:
	DEB_BUILD_OPTIONS="nocheck parallel=$(JOBS)" dpkg-buildpackage -b -uc -us

# libFuzzer targets (clang), each run briefly; `make test` runs this too. 15 s each keeps
# `make test` under 20 minutes on 2 cores; a longer campaign: make test-fuzz FUZZ_SECONDS=600
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 15
test-fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPARLEY_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all
	scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)
