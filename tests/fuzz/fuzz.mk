# Fuzzing the kernel's inputs: dgfs_xdp through BPF_PROG_TEST_RUN
# (tests/fuzz/xdp_fuzz.c) and the dgfs netlink family (tests/fuzz/nlfuzz.py).
# Included by the top Makefile. `make test` runs them briefly (the scripts
# tests/bpf/test_fuzz_xdp.sh, tests/vm/test_fuzz_xdp.sh and
# tests/vm/test_fuzz_netlink.sh); `make fuzz` runs them longer.
.PHONY: fuzz

USER_BINS += $(BUILD)/xdp_fuzz

$(BUILD)/xdp_fuzz: tests/fuzz/xdp_fuzz.c bpf/dgfs_xdp.h $(BUILD)/bpf/dgfs_xdp.skel.h | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Ibpf -I$(BUILD)/bpf $< -o $@ $(BPF_LIBS)

# FUZZ_FRAMES on the host; the VM's rounds are set in tests/fuzz/vm-long.sh.
FUZZ_FRAMES ?= 20000000
fuzz: all
	$(BUILD)/xdp_fuzz --frames $(FUZZ_FRAMES)
	tests/vm/vm.sh --out $(BUILD)/vm-fuzz tests/fuzz/vm-long.sh
