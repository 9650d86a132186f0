# Fuzzing (included by the top Makefile).  `make fuzz` builds every
# tests/fuzz/fuzz_*.c harness with clang and libFuzzer (the library
# compiled once more in build/fuzz with coverage, ASan and UBSan), then
# runs each for FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/NAME).
# A new harness needs nothing else: drop fuzz_NAME.c and corpus/fuzz_NAME/
# here.  `make fuzz FUZZ_SECONDS=600` runs every one of them for 10 min;
# FUZZ_ONLY="fuzz_a fuzz_b" only those.  The E2B seeds are real SDK
# traffic: `AJ_E2B_CAPTURE=DIR tests/e2b/run.sh tests/e2b/e2b.test.mjs`
# saves the bodies the parsers read (tests/e2b/capture.mjs).

FUZZ_BUILD   := build/fuzz
# (clang, unlike gcc, warns about libseccomp's SCMP_A*_64 initializers)
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined -Wno-missing-field-initializers
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 20

.PHONY: fuzz fuzz-build fuzz-bins

fuzz-build: | $(DEPSTAMP)
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 \
		SAN="$(FUZZ_SAN)" fuzz-bins

# Only meaningful inside fuzz-build (BUILD=build/fuzz, CC=clang).
fuzz-bins: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(LIBOBJ)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBOBJ) \
		$(PKG_LIBS) -lpthread -lm

fuzz: fuzz-build
	@FUZZ_ONLY="$(FUZZ_ONLY)" tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)
