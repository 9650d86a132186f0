# Benchmarks: `make bench` prints one table of figures beside baselines
# measured in the same run, and writes it to bench/RESULTS.md.
AJBENCH := $(BUILD)/bench/ajbench

# The load generator: a plain client, never sanitized.
$(AJBENCH): bench/ajbench.c | $(DEPSTAMP)
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g \
		$(shell pkg-config --cflags libcurl jansson) -o $@ $< \
		$(shell pkg-config --libs libcurl jansson) -lpthread

bench: all $(AJBENCH)
	@BUILD=$(BUILD) bench/run.sh
