# Flywheel build. `make` builds ./flywheel; `make run` starts it; `make test` runs every test.
# Missing build dependencies are installed with apt-get (as root) by scripts/deps.sh.

PKGS     := libmicrohttpd jansson sqlite3 libpq libcurl libcrypto yaml-0.1
SANITIZE ?=
BUILD    ?= build$(if $(SANITIZE),-san)
PREFIX   ?= /usr/local

# Resolve pkg-config flags lazily, after deps have been checked.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
            -Wno-unused-parameter -Wno-missing-field-initializers -Werror
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) -Isrc -MMD -MP $(PKG_CFLAGS) $(CFLAGS) \
             $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer,)
ALL_LDFLAGS = -pthread $(LDFLAGS) $(if $(SANITIZE),-fsanitize=$(SANITIZE),)
LDLIBS   = $(PKG_LIBS) -lm

SRCS     := $(shell find src -name '*.c' ! -name main.c | sort)
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps run test unit lint clean fuzz bench install
all: flywheel

deps:
	@scripts/deps.sh

$(BUILD)/.deps-ok: scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/%.o: %.c $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libflywheel.a: $(OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/flywheel: $(BUILD)/src/main.o $(BUILD)/libflywheel.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

flywheel: $(BUILD)/flywheel
	@if [ "$(BUILD)" = build ]; then ln -sf $(BUILD)/flywheel flywheel; fi

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libflywheel.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libflywheel.a $(ALL_LDFLAGS) $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)

run: flywheel
	@mkdir -p var
	./flywheel serve --config etc/flywheel.yaml --listen 127.0.0.1:8080 --data-dir var

# The test runner prints one closing line "N passed, N failed" and exits non-zero on any failure.
# Parallel work in one tree: give each worker its own BUILD=build-NAME (objects, binaries, test logs).
test: $(BUILD)/flywheel $(UNIT_BIN)
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run

fuzz:
	@BUILD=$(BUILD) tests/fuzz/run

bench: flywheel
	@bench/run

# Style report (clang-format differences are listed, not fatal) and static analysis (fatal).
lint:
	@clang-format --dry-run $(shell find src tests/unit -name '*.[ch]') 2>&1 | grep -c 'warning:' | \
		xargs -I{} echo "clang-format: {} lines differ from .clang-format (run clang-format -i to apply)"
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance --inline-suppr -Isrc \
		--include=$(shell pkg-config --variable=includedir jansson)/jansson.h src

install: flywheel
	install -D -m 0755 $(BUILD)/flywheel $(DESTDIR)$(PREFIX)/bin/flywheel

clean:
	rm -rf build build-* flywheel

-include $(OBJS:.o=.d) $(BUILD)/src/main.d
