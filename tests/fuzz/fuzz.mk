# Fuzzing the kernel's inputs: dgfs_xdp through BPF_PROG_TEST_RUN
# (tests/fuzz/xdp_fuzz.c) and the dgfs netlink family (tests/fuzz/nlfuzz.py);
# and dgfsd's and the client's parsers with libFuzzer (below).
# Included by the top Makefile. `make test` runs them briefly (the scripts
# tests/bpf/test_fuzz_xdp.sh, tests/vm/test_fuzz_xdp.sh and
# tests/vm/test_fuzz_netlink.sh); `make fuzz` runs them longer.
.PHONY: fuzz

USER_BINS += $(BUILD)/xdp_fuzz

$(BUILD)/xdp_fuzz: tests/fuzz/xdp_fuzz.c tests/bpf/result.h bpf/dgfs_xdp.h $(BUILD)/bpf/dgfs_xdp.skel.h | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Ibpf -I$(BUILD)/bpf $< -o $@ $(BPF_LIBS)

# FUZZ_FRAMES on the host; the VM's rounds are set in tests/fuzz/vm-long.sh.
FUZZ_FRAMES ?= 20000000
fuzz: all
	$(BUILD)/xdp_fuzz --frames $(FUZZ_FRAMES)
	tests/vm/vm.sh --out $(BUILD)/vm-fuzz tests/fuzz/vm-long.sh

# ---- libFuzzer targets of dgfsd's and the client's parsers ------------------
# tests/fuzz/dgfsd/fuzz_NAME.c, built with clang's libFuzzer under ASan and
# UBSan into $(BUILD)/fuzz/fuzz_NAME, seeded from tests/fuzz/corpus/NAME/.
# `make test` runs each briefly (tests/fuzz/test_libfuzzer.sh, through
# tests/run-all.sh's "fuzz" kind); `make fuzz` runs each for
# LIBFUZZER_SECONDS.
LIBFUZZER_CFLAGS = -g -O1 -Wall -Wextra $(WERROR) -std=gnu11 -D_GNU_SOURCE \
	-Iinclude -Iinclude/uapi -Iuserspace -Ibpf -I$(BUILD) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LIBFUZZER_TARGETS := $(patsubst tests/fuzz/dgfsd/%.c,%,$(wildcard tests/fuzz/dgfsd/fuzz_*.c))
LIBFUZZER_BINS := $(addprefix $(BUILD)/fuzz/,$(LIBFUZZER_TARGETS))
# What each target links besides its own file.
LIBFUZZER_SRCS_fuzz_proto  := userspace/proto/hex.c userspace/proto/size.c userspace/proto/dgfs_proto.c
LIBFUZZER_SRCS_fuzz_reader := userspace/proto/hex.c userspace/proto/size.c userspace/proto/dgfs_proto.c userspace/proto/reader.c
LIBFUZZER_SRCS_fuzz_httputil := userspace/proto/hex.c userspace/dgfsd/httputil.c
LIBFUZZER_SRCS_fuzz_config := userspace/dgfsd/config.c userspace/dgfsd/proxy.c userspace/proto/hex.c \
	userspace/proto/size.c userspace/proto/dgfs_proto.c
LIBFUZZER_SRCS_fuzz_query := userspace/tags/query.c userspace/tags/tag.c
LIBFUZZER_SRCS_fuzz_bodies := userspace/proto/hex.c userspace/dgfsd/bodies.c userspace/dgfsd/httputil.c \
	userspace/dgfsd/auth.c $(wildcard userspace/dgfsd/meta/*.c) userspace/dgfsd/pgq.c \
	userspace/dgfsd/state.c
LIBFUZZER_SRCS_fuzz_tags := userspace/dgfsd/tags_parse.c userspace/dgfsd/bodies.c \
	userspace/proto/hex.c userspace/tags/tag.c
LIBFUZZER_SRCS_fuzz_manifest := userspace/client/manifest.c userspace/proto/hex.c
LIBFUZZER_LIBS = -licui18n -licuuc -licudata -lsodium -lcrypto -lmicrohttpd -ljansson -lsqlite3 -lpq -lzstd -lmagic -lpthread -lm

.PHONY: libfuzzer
libfuzzer: $(LIBFUZZER_BINS)
test: $(LIBFUZZER_BINS)

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/dgfsd/fuzz_%.c $$(LIBFUZZER_SRCS_fuzz_$$*) \
		$(wildcard userspace/*/*.h userspace/dgfsd/meta/*.h) tests/fuzz/fuzz.mk | deps
	@mkdir -p $(@D)
	$(CLANG) $(LIBFUZZER_CFLAGS) $(PQ_CFLAGS) $< $(LIBFUZZER_SRCS_fuzz_$*) -o $@ $(LIBFUZZER_LIBS)

LIBFUZZER_SECONDS ?= 60
fuzz: fuzz-libfuzzer
.PHONY: fuzz-libfuzzer
fuzz-libfuzzer: $(LIBFUZZER_BINS)
	LIBFUZZER_SECONDS=$(LIBFUZZER_SECONDS) LIBFUZZER_RUNS=-1 tests/fuzz/test_libfuzzer.sh $(BUILD)
