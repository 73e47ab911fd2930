# Rules for the XDP fast path and dgfsd's HTTP filter: loader library and
# tests (included by the top Makefile).
#
# bpf/dgfs_xdp.bpf.c itself is built by the top Makefile's BPF rules into
# $(BUILD)/bpf/dgfs_xdp.bpf.o and .skel.h. Whoever links the loader
# (dgfsctl) compiles $(XDP_LOADER_SRCS) with $(XDP_LOADER_CFLAGS), links
# $(XDP_LOADER_LIBS) and depends on $(XDP_LOADER_DEPS).

XDP_LOADER_SRCS   := userspace/xdp/dgfs_xdp_loader.c userspace/xdp/http_filter_loader.c
XDP_LOADER_CFLAGS := -Ibpf -Iuserspace/xdp -I$(BUILD)/bpf
XDP_LOADER_LIBS   := -lxdp $(BPF_LIBS)
XDP_LOADER_DEPS   := $(XDP_LOADER_SRCS) userspace/xdp/dgfs_xdp_loader.h bpf/dgfs_xdp.h \
	$(BUILD)/bpf/dgfs_xdp.skel.h userspace/xdp/http_filter_loader.h bpf/http_filter.h \
	$(BUILD)/bpf/http_filter.skel.h

# The top Makefile's BPF rule does not know the program's own header.
$(BUILD)/bpf/dgfs_xdp.bpf.o: bpf/dgfs_xdp.h

USER_BINS += $(BUILD)/xdp_test $(BUILD)/xdp_attach_test

# BPF_PROG_TEST_RUN driver: the skeleton only, no loader.
$(BUILD)/xdp_test: tests/bpf/xdp_test.c tests/bpf/result.h bpf/dgfs_xdp.h $(BUILD)/bpf/dgfs_xdp.skel.h | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Ibpf -I$(BUILD)/bpf $< -o $@ $(BPF_LIBS)

# The loader driven from the shell tests. Its second XDP program
# ($(BUILD)/bpf/xdp_pass.bpf.o) comes from the BPF rules.
$(BUILD)/xdp_attach_test: tests/bpf/xdp_attach_test.c $(XDP_LOADER_DEPS) \
		$(BUILD)/bpf/xdp_pass.bpf.o | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(XDP_LOADER_CFLAGS) $< $(XDP_LOADER_SRCS) -o $@ $(XDP_LOADER_LIBS)

# dgfsd's HTTP filter (bpf/http_filter.bpf.c): its compare-and-exchange
# needs the v3 instruction set (BPF_ATOMIC, kernel 5.12+).
$(BUILD)/bpf/http_filter.bpf.o: bpf/http_filter.h
$(BUILD)/bpf/http_filter.bpf.o: BPF_CFLAGS += -mcpu=v3

USER_BINS += $(BUILD)/http_filter_test

# Its BPF_PROG_TEST_RUN driver: the skeleton only.
$(BUILD)/http_filter_test: tests/bpf/http_filter_test.c tests/bpf/result.h bpf/http_filter.h \
		$(BUILD)/bpf/http_filter.skel.h | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Ibpf -I$(BUILD)/bpf $< -o $@ $(BPF_LIBS)
