# Builds, checks and installs libaefeatures.so, the C ABI of include/aefeatures.h.
#   make lib          release .so with the Swift runtime linked in, exporting only aef_ symbols
#   make check-lib    exported symbols == header declarations; no Swift library in ldd
#   make bench-kernels  the vector kernels' rates, every instruction-set build the CPU runs
#   make bench-gemm-split  products split over the engine's thread pool against OpenBLAS's threads
#   make c-tests      C tests (-Wall -Wextra -Werror -pedantic) against the header and the .so
#   make valgrind     the C tests and example under valgrind (no leaks, no invalid accesses)
#   make examples     build and run examples/c
#   make install      library, header and pkg-config file under PREFIX (default /usr/local)
#   make check-install  install into a scratch DESTDIR, build the C example with pkg-config against it, run it
#   make python       the Python package with the library bundled, pip-installed into build/venv
#   make wheel        dist/aefeatures-*-manylinux_*.whl, self-contained (scripts/wheel)
#   make test-wheel   the wheel in a fresh venv, Swift and -dev libraries hidden (scripts/test-wheel)
#   make py-tests     the Python tests (and scikit-learn's estimator checks) against the installed package
#   make check-kernel-shapes  the AVX-512 build's dense, batch-norm, outer-product and conv kernels,
#                     compiled for AVX2, against a reference (its blocking runs without AVX-512)
#   make check-baseline  the C tests and the Python variant, golden-model and batch-bound tests with
#                     the vector kernels forced to their baseline x86-64 build (AEF_FORCE_ISA=baseline)
#   make check-reliability  fuzzing, the bad-input matrix, ThreadSanitizer, soak, kill-during-save and
#                     determinism, briefly; LONG=1 runs each much longer (see "Reliability" below)

PREFIX   ?= /usr/local
OUT      := build
LIBDIR   := $(OUT)/lib
# The version and the ABI number come from the header, the single source of both.
VERSION  := $(shell sed -n 's/^\#define AEF_VERSION_STRING "\(.*\)"/\1/p' include/aefeatures.h)
ABI      := $(shell sed -n 's/^\#define AEF_ABI_VERSION \([0-9]*\)/\1/p' include/aefeatures.h)
SONAME   := libaefeatures.so.$(ABI)
LIB      := $(LIBDIR)/$(SONAME)
SCRATCH  := .build-lib
CC       ?= cc
CFLAGS   := -std=c11 -O2 -g -Wall -Wextra -Werror -pedantic -Iinclude
LDLIBS   := -L$(LIBDIR) -laefeatures -lpthread -lm
RUN      := env LD_LIBRARY_PATH=$(CURDIR)/$(LIBDIR)
VALGRIND := valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect -q

.PHONY: lib openblas-positions bench-latency bench-kernels bench-gemm-split check-lib check-kernel-shapes check-baseline c-tests valgrind examples install check-install python py-tests py-examples wheel test-wheel clean \
        check-reliability fuzz fuzz-replay bad-inputs tsan soak kill-save save-failures determinism
.DELETE_ON_ERROR:

lib: $(LIB)

$(LIB): Package.swift $(shell find Sources/AEFeatures Sources/AEFeaturesCAPI Sources/AEFKernels Sources/CONNX -name "*.swift" -o -name "*.map" -o -name "*.[ch]")
	swift build -c release --scratch-path $(SCRATCH) --product aefeatures \
	    -Xswiftc -static-stdlib \
	    -Xlinker --version-script=$(CURDIR)/Sources/AEFeaturesCAPI/exports.map \
	    -Xlinker -soname=$(SONAME)
	mkdir -p $(LIBDIR)
	strip --strip-unneeded -o $@ $(SCRATCH)/release/libaefeatures.so
	ln -sf $(SONAME) $(LIBDIR)/libaefeatures.so

check-lib: $(LIB)
	@grep -hoE '\baef_[a-z_]+[[:space:]]*\(' include/aefeatures.h | tr -d '( ' | sort -u > $(OUT)/declared.txt
	@nm -D --defined-only $(LIB) | awk '$$2 ~ /^[TDBR]$$/ {sub(/@.*/, "", $$3); print $$3}' | sort -u > $(OUT)/exported.txt
	@if ! diff -u $(OUT)/declared.txt $(OUT)/exported.txt; then echo "FAIL: exported symbols differ from the header"; exit 1; fi
	@if ldd $(LIB) | grep -i swift; then echo "FAIL: the library needs a Swift runtime library"; exit 1; fi
	@echo "check-lib: $$(wc -l < $(OUT)/exported.txt) aef_ functions exported, as declared; ldd shows no Swift library"

CAPI_TESTS := Tests/c/test_capi.c Tests/c/capi_fit.c Tests/c/capi_files.c
$(OUT)/test_capi: $(CAPI_TESTS) Tests/c/capi_checks.h Tests/c/data.h include/aefeatures.h $(LIB)
	$(CC) $(CFLAGS) -o $@ $(CAPI_TESTS) $(LDLIBS)

BAD_INPUTS := Tests/c/test_bad_inputs.c Tests/c/bad_input_specs_and_files.c
$(OUT)/test_bad_inputs: $(BAD_INPUTS) Tests/c/bad_inputs.h Tests/c/data.h include/aefeatures.h $(LIB)
	$(CC) $(CFLAGS) -o $@ $(BAD_INPUTS) $(LDLIBS)

RELIABILITY := Tests/c/reliability.c Tests/c/reliability_files.c
$(OUT)/reliability: $(RELIABILITY) Tests/c/reliability.h Tests/c/data.h include/aefeatures.h $(LIB)
	$(CC) $(CFLAGS) -o $@ $(RELIABILITY) $(LDLIBS)

$(OUT)/example: examples/c/example.c include/aefeatures.h $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

c-tests: $(OUT)/test_capi
	cd $(OUT) && $(RUN) ./test_capi

# Valgrind's virtual CPU has no AVX-512: OpenBLAS must pick its kernels from what valgrind reports,
# so a forced OPENBLAS_CORETYPE (SkylakeX, Cooperlake) is dropped here; it would die with SIGILL.
valgrind: $(OUT)/test_capi $(OUT)/example
	cd $(OUT) && env -u OPENBLAS_CORETYPE $(RUN) AEF_TEST_QUICK=1 $(VALGRIND) ./test_capi
	cd $(OUT) && env -u OPENBLAS_CORETYPE $(RUN) $(VALGRIND) ./example

examples: $(OUT)/example
	cd $(OUT) && $(RUN) ./example

# Why inference is not bit-exactly batch-invariant on some CPUs (README, "Numerical contract").
openblas-positions: $(OUT)/openblas-positions
	for core in "" Haswell Sandybridge Prescott; do OPENBLAS_CORETYPE=$$core $(OUT)/openblas-positions 32; done

$(OUT)/openblas-positions: bench/openblas_positions.c
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -o $@ $< -lopenblas

# Batch-1 encoder latency through the C API (bench/compare runs it on each workload's model).
bench-latency: $(OUT)/latency

# The vector kernels' rates per instruction set, on W2's and W3's shapes (one thread). Built with
# clang, as SwiftPM builds them: the kernels use clang's extended vectors and attribute pragmas.
bench-kernels: $(OUT)/bench-kernels
	$(OUT)/bench-kernels

$(OUT)/bench-kernels: bench/kernels.c $(wildcard Sources/AEFKernels/*.[ch] Sources/AEFKernels/include/*.h)
	clang -O2 -Wall -Wextra -ISources/AEFKernels/include -o $@ bench/kernels.c Sources/AEFKernels/*.c -lopenblas

check-kernel-shapes: $(OUT)/test-avx512-shapes
	$(OUT)/test-avx512-shapes

$(OUT)/test-avx512-shapes: Tests/kernels/test_avx512_shapes.c Tests/kernels/kernels_avx512_shapes.c $(wildcard Sources/AEFKernels/*.[ch] Sources/AEFKernels/include/*.h)
	@mkdir -p $(OUT)
	clang -O2 -Wall -Wextra -Wno-psabi -ISources/AEFKernels/include -o $@ Tests/kernels/test_avx512_shapes.c \
	    Tests/kernels/kernels_avx512_shapes.c Sources/AEFKernels/dispatch.c Sources/AEFKernels/kernels_*.c -lm

bench-gemm-split: $(OUT)/bench-gemm-split
	$(OUT)/bench-gemm-split

$(OUT)/bench-gemm-split: bench/gemm_split.c Sources/AEFKernels/pool.c Sources/AEFKernels/include/aefk_pool.h
	$(CC) $(CFLAGS) -ISources/AEFKernels/include -o $@ bench/gemm_split.c Sources/AEFKernels/pool.c -lopenblas -lpthread

$(OUT)/latency: bench/latency.c include/aefeatures.h $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libaefeatures.so
	install -m 644 include/aefeatures.h $(DESTDIR)$(PREFIX)/include/aefeatures.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' aefeatures.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/aefeatures.pc
	-ldconfig 2>/dev/null

STAGE := $(CURDIR)/$(OUT)/stage
check-install: $(LIB)
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr/local
	cd $(OUT) && $(CC) -std=c11 -Wall -Wextra -Werror -pedantic -o example-installed $(CURDIR)/examples/c/example.c \
	    $$(PKG_CONFIG_SYSROOT_DIR=$(STAGE) PKG_CONFIG_PATH=$(STAGE)/usr/local/lib/pkgconfig pkg-config --cflags --libs aefeatures) -lm
	cd $(OUT) && LD_LIBRARY_PATH=$(STAGE)/usr/local/lib ./example-installed > /dev/null
	@echo "check-install: header, library and aefeatures.pc installed; the example builds and runs against them"

# The package goes into a virtual environment under build/, never into the system's Python.
VENV   := $(OUT)/venv
PYTHON := $(CURDIR)/$(VENV)/bin/python
python: $(LIB)
	cp $(LIB) bindings/python/aefeatures/$(SONAME)
	[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check "./bindings/python[test]"

# Run from outside the source tree, so the installed package (with its bundled library) is tested.
# AEF_DEMO: test_downstream.py runs `aef-demo` to check its logistic regression against scikit-learn's.
py-tests: python
	swift build -c release --product aef-demo
	cd /tmp && AEF_DEMO=$$(cd $(CURDIR) && swift build -c release --show-bin-path)/aef-demo $(PYTHON) -m pytest -q -p no:cacheprovider $(CURDIR)/bindings/python/tests

# The baseline build of the vector kernels still runs and gives the same answers within rounding,
# on a machine whose CPU would pick AVX2 or AVX-512.
check-baseline: $(OUT)/test_capi python
	cd $(OUT) && $(RUN) AEF_FORCE_ISA=baseline ./test_capi
	cd /tmp && AEF_FORCE_ISA=baseline $(PYTHON) -m pytest -q -p no:cacheprovider \
	    $(addprefix $(CURDIR)/bindings/python/tests/,test_native.py test_transformer_variants.py test_golden_models.py test_batch_bound.py)

py-examples: python
	$(PYTHON) examples/python/pipeline_and_anomalies.py --train 3000 --test 1000
	cd /tmp && $(PYTHON) $(CURDIR)/examples/python/scale_out.py
	$(PYTHON) examples/python/denoising_counts.py --train 2000 --test 500 --epochs 2
	$(PYTHON) examples/python/code_uses.py --train 2000 --test 500 --epochs 2
	$(PYTHON) examples/python/unpooling.py --train 2000 --test 500 --epochs 2
	$(PYTHON) examples/python/moving_patterns.py --train 300 --test 100 --epochs 2

# The self-contained manylinux wheel in dist/, then its tests where Swift and the system's
# OpenBLAS and protobuf-c are hidden.
wheel:
	scripts/wheel
test-wheel: wheel
	scripts/test-wheel

# ---- Reliability (issue 10). LONG=1: fuzz 10,000,000 runs, 16 threads, 20,000 cycles, 2,000 kills. ----
ifdef LONG
FUZZ_RUNS ?= 10000000
STRESS := 16 40
SOAK_CYCLES := 20000
KILLS := 2000
else
FUZZ_RUNS ?= 1000000
STRESS := 8 6
SOAK_CYCLES := 3000
KILLS := 200
endif
SWIFT_BIN := $(dir $(shell readlink -f $$(command -v swift)))
SWIFT_CLANG := $(SWIFT_BIN)clang
# The toolchain's TSan runtime intercepts libdispatch, which it then needs at link time.
SWIFT_RUNTIME := $(SWIFT_BIN)../lib/swift/linux
FUZZ_FLAGS := -Xswiftc -sanitize=fuzzer,address -Xswiftc -DAEF_FUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld

check-reliability: fuzz-replay bad-inputs fuzz tsan soak kill-save save-failures determinism
	@echo "check-reliability: all passed"

# libFuzzer on model bytes and spec JSON through the C ABI, seeded with a model and a spec of every
# variant and the golden model files; the corpus grows in $(OUT)/fuzz-corpus across runs, crashes
# land in $(OUT)/fuzz-crashes. FUZZ_RUNS executions in all, shared by FUZZ_JOBS processes (one per
# core, one OpenBLAS thread each); each stops after FUZZ_MAX_SECONDS, and then the target fails short of FUZZ_RUNS.
FUZZ_JOBS ?= $(shell nproc)
FUZZ_MAX_SECONDS ?= 1500
fuzz:
	swift build -c release --product aef-fuzz --scratch-path .build-fuzz $(FUZZ_FLAGS)
	swift build --product aef-fuzz
	rm -f $(OUT)/fuzz-*.log
	mkdir -p $(OUT)/fuzz-corpus $(OUT)/fuzz-crashes
	$$(swift build --show-bin-path)/aef-fuzz seeds $(OUT)/fuzz-corpus
	for f in Tests/golden/format-*/*.aef; do \
	    name=$$(echo "$$f" | tr / -); printf '\000' | cat - "$$f" > $(OUT)/fuzz-corpus/$$name; done
	cd $(OUT) && OPENBLAS_NUM_THREADS=1 $(CURDIR)/.build-fuzz/release/aef-fuzz fuzz-corpus $(CURDIR)/fuzz/regressions \
	    -jobs=$(FUZZ_JOBS) -workers=$(FUZZ_JOBS) -runs=$$(( $(FUZZ_RUNS) / $(FUZZ_JOBS) + 1 )) \
	    -max_total_time=$(FUZZ_MAX_SECONDS) -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix=fuzz-crashes/ > fuzz.log 2>&1; status=$$?; cd $(CURDIR); \
	grep -hE "^(==[0-9]+==|SUMMARY)|Test unit written" $(OUT)/fuzz-*.log; \
	runs=$$(grep -h "^Done" $(OUT)/fuzz-*.log | awk '{ n += $$2 } END { print n + 0 }'); \
	seconds=$$(grep -h "^Done" $(OUT)/fuzz-*.log | awk '{ if ($$5 > s) s = $$5 } END { print s + 0 }'); \
	rss=$$(grep -h "^stat::peak_rss_mb" $(OUT)/fuzz-*.log | awk '{ if ($$2 > m) m = $$2 } END { print m + 0 }'); \
	echo "fuzz: $$runs executions by $(FUZZ_JOBS) processes in $$seconds s, peak RSS $$rss MB per process; corpus of $$(ls $(OUT)/fuzz-corpus | wc -l) inputs; logs in $(OUT)/fuzz-*.log"; \
	if [ $$status -ne 0 ] || grep -q "^==[0-9]*==ERROR\|Test unit written" $(OUT)/fuzz-*.log; then \
	    echo "FAIL: the fuzzer found a crash: add the input from $(OUT)/fuzz-crashes to fuzz/regressions with the fix"; exit 1; fi; \
	if [ $$runs -lt $(FUZZ_RUNS) ]; then echo "FAIL: $$runs executions, fewer than $(FUZZ_RUNS) within $(FUZZ_MAX_SECONDS) s"; exit 1; fi

# The regression corpus (fuzz/regressions: seeds and any input that ever crashed) through a normal build.
fuzz-replay:
	swift build --product aef-fuzz
	$$(swift build --show-bin-path)/aef-fuzz replay fuzz/regressions

bad-inputs: $(OUT)/test_bad_inputs
	cd $(OUT) && $(RUN) ./test_bad_inputs | tail -1

# The stress test against a ThreadSanitizer build of the library (Swift and C both instrumented).
tsan:
	swift build -c release --sanitize=thread --product aefeatures --scratch-path .build-tsan
	$(SWIFT_CLANG) -std=c11 -O1 -g -fsanitize=thread -Iinclude -o $(OUT)/reliability-tsan $(RELIABILITY) \
	    -L.build-tsan/release -laefeatures -Wl,-rpath,$(CURDIR)/.build-tsan/release \
	    -L$(SWIFT_RUNTIME) -ldispatch -lBlocksRuntime -Wl,-rpath,$(SWIFT_RUNTIME) -lpthread -lm
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(OUT)/reliability-tsan stress $(STRESS)

soak: $(OUT)/reliability
	cd $(OUT) && $(RUN) ./reliability soak $(SOAK_CYCLES)

kill-save: $(OUT)/reliability
	rm -rf $(OUT)/kill-save && mkdir -p $(OUT)/kill-save
	cd $(OUT) && $(RUN) ./reliability kill-save $(KILLS) $(CURDIR)/$(OUT)/kill-save

# Saves that cannot complete (file-size limit; as root also a full and a read-only small tmpfs).
save-failures: $(OUT)/reliability
	rm -rf $(OUT)/save-failures && mkdir -p $(OUT)/save-failures
	cd $(OUT) && $(RUN) ./reliability save-failures $(CURDIR)/$(OUT)/save-failures

# Same seed and thread count, two processes: the models' bytes must be identical (1 and 2 threads).
determinism: $(OUT)/reliability
	@for t in 1 2; do \
	    a=$$(cd $(OUT) && $(RUN) ./reliability fingerprint $$t); b=$$(cd $(OUT) && $(RUN) ./reliability fingerprint $$t); \
	    if [ "$$a" != "$$b" ]; then echo "FAIL: $$t threads: $$a vs $$b"; exit 1; fi; \
	    echo "determinism: $$t thread(s), two runs, four variants: model bytes identical (FNV-1a $$a)"; done

clean:
	rm -rf $(OUT) $(SCRATCH) dist
