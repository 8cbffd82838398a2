# latent-zoo: the two commands of the README, and a few more.
#   make lab    install what is missing, build, run the models on the bundled data
#   make test   install what is missing, build, run the whole test suite
#   make fuzz   run the fuzz harnesses of the readers (clang) for a while
#   make readme-table [COMPARE=out/compare.tsv]   README's lab table from a real run
# Plain CMake works too: cmake -B build && cmake --build build && ctest --test-dir build

BUILD ?= build
ASAN_BUILD ?= build-asan
FPE_BUILD ?= build-fpe
DEB_BUILD ?= build-deb
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES ?= data model_pca model_lgm model_vae model_rbm
JOBS ?= 2
DATA ?=
CMAKE_FLAGS ?= -DLZ_WERROR=ON

.PHONY: all deps build test test-asan test-fpe format format-check fuzz lab readme-table bench deb install clean

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

# The same tests with floating-point exceptions trapping (LZ_FPE): an
# invalid operation, a division by zero or an overflow stops the program
# with its call stack, so a NaN never passes silently.
test-fpe: deps
	@cmake -S . -B $(FPE_BUILD) -DLZ_FPE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FPE_BUILD) -j$(JOBS)
	ctest --test-dir $(FPE_BUILD) --output-on-failure -j$(JOBS)

# The code's layout is .clang-format's (Debian's clang-format 14): format
# rewrites the C sources, format-check fails on any difference.
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	@bash scripts/install-deps.sh --format
	clang-format -i $(C_SOURCES)
format-check:
	@bash scripts/install-deps.sh --format
	@clang-format --dry-run -Werror $(C_SOURCES)

# The libFuzzer harnesses of tests/fuzz, built with clang, each run for
# FUZZ_SECONDS; crash inputs go to tests/fuzz/crashes/HARNESS/.  (make test
# replays the corpus and the crash inputs without clang.)
fuzz: deps
	@bash scripts/install-deps.sh --fuzz
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DLZ_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(addprefix fuzz_,$(FUZZ_HARNESSES))
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_HARNESSES)

lab: build
	@BIN=$(BUILD)/bin bash scripts/lab.sh $(DATA)

# Rewrite README.md's lab table from a lab run on the digits, or from COMPARE.
COMPARE ?=
readme-table: build
	@BIN=$(BUILD)/bin bash scripts/readme-table.sh $(COMPARE)

# Install into PREFIX (default /usr/local): programs, man pages, the lab as
# latent-zoo-lab, plots, digits, docs.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# A .deb for lab machines: built for any x86-64 (no -march=native), prefix
# /usr, its dependencies the Debian runtime packages of the libraries.
deb: deps
	@cmake -S . -B $(DEB_BUILD) -DLZ_NATIVE=OFF -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(DEB_BUILD) -j$(JOBS)
	cd $(DEB_BUILD) && cpack -G DEB
	@ls $(DEB_BUILD)/latent-zoo_*.deb

bench: build
	@bash scripts/install-deps.sh --bench
	@BIN=$(BUILD)/bin bash bench/run-all.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FPE_BUILD) $(FUZZ_BUILD) $(DEB_BUILD) out
