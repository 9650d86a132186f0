# agentjail - see README.md.  `make` builds build/agentjail; `make test`
# runs every test; `make check` adds the sanitizer build and static checks.

PKGS     := libseccomp libmicrohttpd jansson sqlite3 libsodium
# Linked into the binary: every start of `agentjail run` would otherwise
# load and relocate them (about 1.5 ms here).  STATIC_LIBS=0 links them as
# shared libraries.  libmicrohttpd is neither: it is dlopened when a server
# starts (src/api/mhd.h).  See docs/performance.md.
LINKED   := libseccomp jansson sqlite3 libsodium
STATIC_LIBS ?= 1
CC       ?= cc
BUILD    ?= build
OPT      ?= -O2
SAN      ?=
CFLAGS   += -std=c11 -Wall -Wextra -Werror $(OPT) -g -D_GNU_SOURCE \
            -Isrc -I$(BUILD)/gen $(SAN) -MMD -MP
LDFLAGS  += $(SAN)

# Resolved lazily: before `make deps` has run, pkg-config may not know them.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ifeq ($(STATIC_LIBS),1)
PKG_LIBS   = -Wl,-Bstatic $(shell pkg-config --libs $(LINKED) 2>/dev/null) \
             -Wl,-Bdynamic -ldl -lm
else
PKG_LIBS   = $(shell pkg-config --libs $(LINKED) 2>/dev/null) -ldl -lm
endif

SRC      := $(shell find src -name '*.c' | sort)
OBJ      := $(SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/embedded.o
# Files carried inside the binary: the in-sandbox language drivers.
EMBED    := $(sort $(filter-out %.c %.h,$(wildcard src/box/drivers/*)))
LIBOBJ   := $(filter-out $(BUILD)/obj/cli/main.o,$(OBJ))
DEPSTAMP := $(BUILD)/.deps-ok

.PHONY: all deps test check bench serve clean asan print-flags print-src

all: $(BUILD)/agentjail

# Install missing Debian packages once (root), then remember it.
$(DEPSTAMP): scripts/deps.sh
	@scripts/deps.sh check 2>/dev/null || scripts/deps.sh install
	@mkdir -p $(@D) && touch $@

deps:
	scripts/deps.sh install

$(BUILD)/obj/%.o: src/%.c | $(DEPSTAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/gen/embedded.c: $(EMBED) scripts/embed.sh
	@mkdir -p $(@D)
	scripts/embed.sh $@ $(EMBED)

$(BUILD)/obj/gen/embedded.o: $(BUILD)/gen/embedded.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/agentjail: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread -lm

-include $(OBJ:.o=.d)

# Everything tests need besides the binary lives in tests/Makefile.part.
include tests/tests.mk
include tests/fuzz/fuzz.mk
include bench/bench.mk

# For tests/static.sh: what the compiler gets, and what it compiles.
print-flags:
	@echo $(CFLAGS) $(PKG_CFLAGS)
print-src:
	@echo $(SRC)

serve: all
	@mkdir -p var
	$(BUILD)/agentjail serve --listen 127.0.0.1:8080 --state ./var

clean:
	rm -rf build
