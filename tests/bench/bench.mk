# `make bench` (included by the top Makefile): every read path against
# nginx in one run, in the VM and on the host; see docs/BENCHMARKS.md.
# Numbers, not a test: make test runs only its smoke run
# (tests/vm/test_bench_smoke.sh).

USER_BINS += $(BUILD)/index_lookup

$(BUILD)/index_lookup: tests/bench/index_lookup.c userspace/proto/hex.c $(BUILD)/bpf/index_lookup.skel.h | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Iuserspace -I$(BUILD)/bpf tests/bench/index_lookup.c userspace/proto/hex.c \
		-o $@ $(BPF_LIBS)

bench: all
	tests/bench/bench.sh $(BUILD)

# The scale runs alone (docs/BENCHMARKS.md, "Scale"): BENCH_ROUNDS and
# BENCH_SCALES as for make bench.
bench-scale: all
	tests/bench/bench.sh --scale-only $(BUILD)
