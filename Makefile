# Builds, checks and installs libaefeatures.so, the C ABI of include/aefeatures.h.
#   make lib          release .so with the Swift runtime linked in, exporting only aef_ symbols
#   make check-lib    exported symbols == header declarations; no Swift library in ldd
#   make c-tests      C tests (-Wall -Wextra -Werror -pedantic) against the header and the .so
#   make valgrind     the C tests and example under valgrind (no leaks, no invalid accesses)
#   make examples     build and run examples/c
#   make install      library, header and pkg-config file under PREFIX (default /usr/local)
#   make check-install  install into a scratch DESTDIR, build the C example with pkg-config against it, run it
#   make python       the Python package with the library bundled, pip-installed
#   make py-tests     the Python tests (and scikit-learn's estimator checks) against the installed package

PREFIX   ?= /usr/local
OUT      := build
LIBDIR   := $(OUT)/lib
SONAME   := libaefeatures.so.1
LIB      := $(LIBDIR)/$(SONAME)
SCRATCH  := .build-lib
CC       ?= cc
CFLAGS   := -std=c11 -O2 -g -Wall -Wextra -Werror -pedantic -Iinclude
LDLIBS   := -L$(LIBDIR) -laefeatures -lpthread -lm
RUN      := env LD_LIBRARY_PATH=$(CURDIR)/$(LIBDIR)
VALGRIND := valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect -q

.PHONY: lib check-lib c-tests valgrind examples install check-install python py-tests py-examples clean
.DELETE_ON_ERROR:

lib: $(LIB)

$(LIB): Package.swift $(shell find Sources/AEFeatures Sources/AEFeaturesCAPI Sources/CONNX -name "*.swift" -o -name "*.map" -o -name "*.[ch]")
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

$(OUT)/test_capi: Tests/c/test_capi.c include/aefeatures.h $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

$(OUT)/example: examples/c/example.c include/aefeatures.h $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

c-tests: $(OUT)/test_capi
	cd $(OUT) && $(RUN) ./test_capi

valgrind: $(OUT)/test_capi $(OUT)/example
	cd $(OUT) && $(RUN) AEF_TEST_QUICK=1 $(VALGRIND) ./test_capi
	cd $(OUT) && $(RUN) $(VALGRIND) ./example

examples: $(OUT)/example
	cd $(OUT) && $(RUN) ./example

install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libaefeatures.so
	install -m 644 include/aefeatures.h $(DESTDIR)$(PREFIX)/include/aefeatures.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|0.1.0|' aefeatures.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/aefeatures.pc
	-ldconfig 2>/dev/null

STAGE := $(CURDIR)/$(OUT)/stage
check-install: $(LIB)
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr/local
	cd $(OUT) && $(CC) -std=c11 -Wall -Wextra -Werror -pedantic -o example-installed $(CURDIR)/examples/c/example.c \
	    $$(PKG_CONFIG_SYSROOT_DIR=$(STAGE) PKG_CONFIG_PATH=$(STAGE)/usr/local/lib/pkgconfig pkg-config --cflags --libs aefeatures) -lm
	cd $(OUT) && LD_LIBRARY_PATH=$(STAGE)/usr/local/lib ./example-installed > /dev/null
	@echo "check-install: header, library and aefeatures.pc installed; the example builds and runs against them"

python: $(LIB)
	cp $(LIB) bindings/python/aefeatures/$(SONAME)
	python3 -m pip install --quiet --disable-pip-version-check "./bindings/python[test]"

# Run from outside the source tree, so the installed package (with its bundled library) is tested.
py-tests: python
	cd /tmp && python3 -m pytest -q -p no:cacheprovider $(CURDIR)/bindings/python/tests

py-examples: python
	python3 examples/python/pipeline_and_anomalies.py --train 3000 --test 1000

clean:
	rm -rf $(OUT) $(SCRATCH)
