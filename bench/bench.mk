# Benchmarks: `make bench` prints one table of figures beside baselines
# measured in the same run.
bench: all $(PROBE)
	@BUILD=$(BUILD) bench/run.sh
