# LinkPulse build. `make` builds build/linkpulse; `make run` and `make test`
# are the two commands of the README. Every target that needs packages calls
# scripts/deps.sh first, so a fresh Debian 12 machine needs nothing else.

CC      ?= cc
PYTHON  ?= /usr/bin/python3
DATA    ?= ./data
LISTEN  ?= 127.0.0.1:8080

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
DEFS    := -D_GNU_SOURCE -DH2O_USE_EPOLL=1 -DLINKPULSE_VERSION=\"$(shell cat VERSION)\"
CFLAGS_COMMON := -std=gnu17 $(WARN) $(DEFS) -Isrc -MMD -MP -pthread
CFLAGS_REL  := $(CFLAGS_COMMON) -O2 -g
CFLAGS_ASAN := $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all
LIBS := -lh2o-evloop -lssl -lcrypto -lsqlite3 -ljansson -lsodium -lidn2 -lmaxminddb -lcurl -lz -lm -pthread
# QR codes (issue 4)
LIBS    += -lqrencode -lpng

SRC      := $(shell find src -name '*.c' | sort)
LIB_SRC  := $(filter-out src/main.c,$(SRC))
REL_OBJ  := $(SRC:%.c=build/obj/%.o)
ASAN_OBJ := $(SRC:%.c=build/asan/obj/%.o)
ASAN_LIB_OBJ := $(LIB_SRC:%.c=build/asan/obj/%.o)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)

# Fuzz targets link only the pure modules they exercise (see fuzz/README.md).
FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
FUZZ_DEPS := src/core/url.c src/core/slug.c src/util/rfc3339.c src/util/base62.c src/auth/jwt.c src/auth/token.c \
             src/util/ipaddr.c src/analytics/ua.c src/analytics/ua_scan.c src/analytics/ua_bot.c \
             src/analytics/enrich.c
# QR codes (issue 4)
FUZZ_DEPS += src/qr/qr.c src/util/query.c
# redirect rules (issue 4)
FUZZ_DEPS += src/core/rules.c src/core/link.c
# search (issue 4)
FUZZ_DEPS += src/store/sqlite_fts.c
# imports (issue 4)
FUZZ_DEPS += src/core/import.c
# the visit journal and rollup tallies (issue 5)
FUZZ_DEPS += src/store/tally.c src/store/journal.c src/obs/log.c src/util/crc32c.c
# the packed link snapshots of the cache (issue 6)
FUZZ_DEPS += src/core/snap.c src/core/target.c
# JSON written by hand for the API's link answers (issue 6)
FUZZ_DEPS += src/util/jsonw.c src/util/utf8.c
FUZZ_CFLAGS := -std=gnu17 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -Wall -Wextra -Werror

.PHONY: all run test unit e2e fuzz clean deps deps-test asan format bench
all: deps build/linkpulse

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# Benchmarks against nginx (not part of make test); see docs/PERFORMANCE.md.
bench: build/linkpulse
	@scripts/deps.sh bench
	bench/run.sh

build/linkpulse: $(REL_OBJ)
	@echo "  LD      $@"
	@$(CC) -o $@ $^ $(LIBS)

build/asan/linkpulse: $(ASAN_OBJ)
	@echo "  LD      $@"
	@$(CC) -fsanitize=address,undefined -o $@ $^ $(LIBS)

build/obj/%.o: %.c VERSION
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_REL) -c -o $@ $<

build/asan/obj/%.o: %.c VERSION
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(CFLAGS_ASAN) -c -o $@ $<

build/asan/tests/%: tests/unit/%.c $(ASAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS_ASAN) -o $@ $< $(ASAN_LIB_OBJ) $(LIBS) -lcriterion

build/fuzz/%: fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang $(FUZZ_CFLAGS) -o $@ $^ -lsodium -lidn2 -ljansson -lz -lqrencode -lpng -lm

asan: deps build/asan/linkpulse

run: all
	@mkdir -p $(DATA)
	./build/linkpulse serve --listen $(LISTEN) --data $(DATA)

unit: deps-test $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t --jobs 2; done

fuzz: deps-test $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); echo "== $$n (smoke: 20000 runs)"; \
	  mkdir -p build/fuzz/corpus/$$n; \
	  $$f -runs=20000 -max_len=4096 build/fuzz/corpus/$$n fuzz/corpus/$$n >/dev/null 2>build/fuzz/$$n.log \
	  || { cat build/fuzz/$$n.log; exit 1; }; done

# The server runs under ASan+UBSan. Leak detection is off for it: libh2o
# 2.2.5 cannot tear down an event loop or a context at exit (no evloop
# destructor; context disposal asserts on armed timeouts), and its frames
# carry no frame pointers, so its exit-time allocations cannot be told apart
# from ours by suppression. The unit tests run with leak detection on.
e2e: deps-test build/linkpulse build/asan/linkpulse
	LINKPULSE_BIN=$(CURDIR)/build/asan/linkpulse ASAN_OPTIONS=detect_leaks=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/e2e

# The full gate: release build, sanitizer build, unit tests (ASan+UBSan),
# fuzz smoke runs, then the black-box suite against the sanitizer binary.
test: deps-test build/linkpulse build/asan/linkpulse unit fuzz e2e

format:
	clang-format -i $(SRC) $(shell find src tests fuzz -name '*.h' -o -name '*.c')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
