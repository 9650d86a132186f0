# Test build rules, included by the top Makefile.

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
PROBE     := $(BUILD)/tests/probe
TEST_BINS := $(UNIT_BIN) $(PROBE)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBOBJ) | $(DEPSTAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIBOBJ) $(LDFLAGS) \
		$(PKG_LIBS) -lcmocka -lpthread

# Static, so it runs in any sandbox whatever is bound in.  Never sanitized.
$(PROBE): tests/probe.c | $(DEPSTAMP)
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O1 -D_GNU_SOURCE -static \
		-o $@ $<

test: all $(TEST_BINS)
	@BUILD=$(BUILD) tests/run.sh

# The jail, hostile, API, E2B and MCP suites again inside User-Mode Linux:
# cgroup v2 and a 6.1 kernel (tests/uml/test_uml.sh; UML_SUITES picks
# the guest's suites).
.PHONY: test-uml
test-uml: all $(TEST_BINS)
	@BUILD=$(BUILD) UML=1 SUITES=test_uml.sh tests/run.sh

# The full suite once normally (and the kernel-facing suites inside
# User-Mode Linux: UML_CHECK_SUITES; make test-uml runs them all, which
# takes 10-25 minutes on one UML CPU), then under ASan+UBSan (any UBSan
# finding aborts: a report alone would leave the suite green), then static
# checks, then every fuzz harness for CHECK_FUZZ_SECONDS.
CHECK_FUZZ_SECONDS ?= 10
UML_CHECK_SUITES ?= test_jail.py test_hostile.py test_cgroups.py test_jail_kill
check: all $(TEST_BINS)
	@BUILD=$(BUILD) UML=1 UML_SUITES="$(UML_CHECK_SUITES)" tests/run.sh
	$(MAKE) BUILD=build/asan OPT=-O1 \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
		test
	@tests/static.sh
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)
