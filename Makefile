# latent-zoo: the two commands of the README, and a few more.
#   make lab    install what is missing, build, run the models on the bundled data
#   make test   install what is missing, build, run the whole test suite
#   make readme-table [COMPARE=out/compare.tsv]   README's lab table from a real run
# Plain CMake works too: cmake -B build && cmake --build build && ctest --test-dir build

BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= 2
DATA ?=
CMAKE_FLAGS ?= -DLZ_WERROR=ON

.PHONY: all deps build test test-asan lab readme-table bench clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DLZ_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

lab: build
	@BIN=$(BUILD)/bin bash scripts/lab.sh $(DATA)

# Rewrite README.md's lab table from a lab run on the digits, or from COMPARE.
COMPARE ?=
readme-table: build
	@BIN=$(BUILD)/bin bash scripts/readme-table.sh $(COMPARE)

bench: build
	@bash scripts/install-deps.sh --bench
	@BIN=$(BUILD)/bin bash bench/run-all.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) out
