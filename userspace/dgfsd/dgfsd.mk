# dgfsd, the mainserver (included by the top Makefile). docs/DGFSD.md.
#
# It links the fast path's protocol library and dgfs-userd's workers (the
# UDP tier for hosts without dgfs.ko, its sockets' and AF_XDP's), the XDP loader (for the XDP
# program's counters in /metrics) and FastCDC, which the dgfs client
# shares so that both cut files identically.

# The tag model (userspace/tags/) normalises with ICU.
ICU_LIBS = $(call pkgconf,--libs,icu-uc icu-i18n)
# The PostgreSQL metadata backend (userspace/dgfsd/meta/pg.c).
PQ_CFLAGS = $(call pkgconf,--cflags,libpq)
DGFSD_SRCS := $(wildcard userspace/dgfsd/*.c userspace/dgfsd/meta/*.c) userspace/cdc/fastcdc.c \
	userspace/server/serve.c userspace/server/store.c userspace/server/steer.c \
	userspace/server/check.c userspace/server/xsk.c userspace/tags/tag.c \
	userspace/tags/query.c
DGFSD_HDRS := $(wildcard userspace/dgfsd/*.h userspace/dgfsd/meta/*.h) userspace/cdc/fastcdc.h userspace/server/userd.h \
	$(BUILD)/bpf/reuseport_steer.skel.h \
	include/dgfs_stats_names.h userspace/proto/sha256.h userspace/tags/tag.h \
	userspace/tags/query.h
DGFSD_LIBS = -lmicrohttpd -ljansson -lsqlite3 -lpq -lzstd -lmagic -lsodium -lcrypto -lcurl -lpthread -lm \
	$(ICU_LIBS)

USER_BINS += $(BUILD)/dgfsd
UNIT_LIBS += -lmicrohttpd -ljansson -lsqlite3 -lpq -lzstd -lmagic -lcurl -licui18n -licuuc -licudata

$(BUILD)/dgfsd: $(DGFSD_SRCS) $(DGFSD_HDRS) $(PROTO_SRCS) $(PROTO_HDRS) $(XDP_LOADER_DEPS) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Iuserspace $(PQ_CFLAGS) $(NL_CFLAGS) $(XDP_LOADER_CFLAGS) $(DGFSD_SRCS) \
		$(PROTO_SRCS) $(XDP_LOADER_SRCS) -o $@ $(NL_LIBS) $(XDP_LOADER_LIBS) $(DGFSD_LIBS)

# The VM test's driver of dgfsd's netlink client (tests/vm/test_kmod_client.sh).
USER_BINS += $(BUILD)/kmod_driver
$(BUILD)/kmod_driver: tests/vm/kmod_driver.c userspace/dgfsd/kmod.c userspace/dgfsd/kmod.h \
		userspace/proto/hex.c userspace/proto/hex.h \
		include/uapi/linux/dgfs.h | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) $(NL_CFLAGS) -Iuserspace $< -o $@ $(NL_LIBS) -lpthread

# The same under ASan and UBSan: the host tests (tests/dgfsd/) run this one
# and fail on any sanitizer report or leak when it exits.
USER_BINS += $(BUILD)/dgfsd-asan
$(BUILD)/dgfsd-asan: $(DGFSD_SRCS) $(DGFSD_HDRS) $(PROTO_SRCS) $(PROTO_HDRS) $(XDP_LOADER_DEPS) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) -Iuserspace $(PQ_CFLAGS) $(NL_CFLAGS) $(XDP_LOADER_CFLAGS) \
		$(DGFSD_SRCS) $(PROTO_SRCS) $(XDP_LOADER_SRCS) -o $@ $(NL_LIBS) $(XDP_LOADER_LIBS) \
		$(DGFSD_LIBS)
