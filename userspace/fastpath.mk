# The fast path's userspace (included by the top Makefile): the protocol
# library (userspace/proto), the `dgfs` client, the `dgfs-bench` load
# generator and the `dgfs-userd` userspace server. docs/PROTOCOL.md
# describes all four.

FASTPATH_CFLAGS := $(CFLAGS_COMMON) -Iuserspace
FASTPATH_LIBS   := -lsodium -lcrypto -lpthread -lm
PROTO_SRCS      := userspace/proto/hex.c userspace/proto/size.c userspace/proto/dgfs_proto.c userspace/proto/reader.c userspace/proto/net.c \
	userspace/proto/latency.c
PROTO_HDRS      := $(wildcard userspace/proto/*.h) include/uapi/linux/dgfs.h

# The client's put/get/ls/rm/stat talk HTTP (libcurl, jansson), compress
# uploads (zstd) and cut files into chunks as dgfsd does (userspace/cdc).
DGFS_CLIENT_SRCS := $(wildcard userspace/client/*.c) userspace/cdc/fastcdc.c
DGFS_CLIENT_LIBS := $(FASTPATH_LIBS) -lcurl -ljansson -lzstd
DGFS_BENCH_SRCS  := $(wildcard userspace/bench/*.c)
DGFS_USERD_SRCS  := $(wildcard userspace/server/*.c)

USER_BINS += $(BUILD)/dgfs $(BUILD)/dgfs-bench $(BUILD)/dgfs-userd
# The unit tests #include the library's .c files.
UNIT_LIBS += -lsodium -lcrypto -lpthread -lm

$(BUILD)/dgfs: $(DGFS_CLIENT_SRCS) $(wildcard userspace/client/*.h) userspace/cdc/fastcdc.h \
		$(PROTO_SRCS) $(PROTO_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(FASTPATH_CFLAGS) $(DGFS_CLIENT_SRCS) $(PROTO_SRCS) -o $@ $(DGFS_CLIENT_LIBS)

$(BUILD)/dgfs-bench: $(DGFS_BENCH_SRCS) $(wildcard userspace/bench/*.h) $(PROTO_SRCS) \
		$(PROTO_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(FASTPATH_CFLAGS) $(DGFS_BENCH_SRCS) $(PROTO_SRCS) -o $@ $(FASTPATH_LIBS)

# --steer cpu loads bpf/reuseport_steer.bpf.c through its skeleton; --af-xdp
# links the XDP loader (dgfs's program in its AF_XDP mode).
$(BUILD)/dgfs-userd: $(DGFS_USERD_SRCS) $(wildcard userspace/server/*.h) $(PROTO_SRCS) \
		$(PROTO_HDRS) $(XDP_LOADER_DEPS) $(BUILD)/bpf/reuseport_steer.skel.h | deps
	@mkdir -p $(@D)
	$(CC) $(FASTPATH_CFLAGS) -I$(BUILD)/bpf $(XDP_LOADER_CFLAGS) $(DGFS_USERD_SRCS) \
		$(XDP_LOADER_SRCS) $(PROTO_SRCS) -o $@ $(FASTPATH_LIBS) $(XDP_LOADER_LIBS) $(BPF_LIBS)
