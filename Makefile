# dgfs: top-level build.
#
#   make deps   install Debian packages, prepare the private 6.1 kbuild tree
#   make        build dgfs.ko, the BPF objects and the userspace programs
#   make test   all of the above, then every test (host and VM)
#   make run    boot a storage-host VM with dgfs.ko loaded
#   make fuzz   the XDP and netlink fuzzers, longer than make test runs them
#
# Everything the build makes goes to $(BUILD), except kbuild's own objects,
# which kbuild insists on putting next to the sources in kmod/.

BUILD      ?= build
OBJTREE    := $(BUILD)/objtree
# KDIR: the kernel tree the module is built against. The default is the
# private tree made by `make deps` (Debian 12's 6.1 with module BTF).
KDIR       ?= $(CURDIR)/$(OBJTREE)

CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
WERROR     := -Werror
CFLAGS_COMMON := -O2 -g -Wall -Wextra $(WERROR) -std=gnu11 -D_GNU_SOURCE \
	-Iinclude -Iinclude/uapi -I$(BUILD)
# -fno-sanitize-recover: undefined behaviour aborts the program (non-zero
# exit) instead of printing a line and going on, so it fails the test.
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Anything found through a package that `make deps` installs is looked up
# when a recipe runs (`=`, not `:=`), after deps: on a fresh machine the
# package is not there yet when make reads this file.
pkgconf = $(or $(shell pkg-config $(1) $(2) 2>/dev/null),$(error pkg-config has no $(2); run make deps))
NL_CFLAGS  = $(call pkgconf,--cflags,libnl-genl-3.0)
NL_LIBS    = $(call pkgconf,--libs,libnl-genl-3.0)
BPF_LIBS   := -lbpf -lelf -lz

DEB_PACKAGES := \
	build-essential clang llvm libbpf-dev libxdp-dev xdp-tools bpftool \
	libelf-dev zlib1g-dev pkg-config dwarves bc flex bison xz-utils \
	linux-headers-amd64 linux-image-amd64 linux-source-6.1 \
	qemu-system-x86 busybox-static cpio e2fsprogs kmod iproute2 util-linux dmsetup \
	libnl-3-dev libnl-genl-3-dev libsodium-dev python3 time \
	libmicrohttpd-dev libjansson-dev libsqlite3-dev libzstd-dev libmagic-dev \
	libmagic-mgc libcurl4-openssl-dev libssl-dev curl wget aria2 zstd sqlite3 bc \
	gnuplot-nox nginx-light wrk tmux \
	libpq-dev postgresql \
	openssl systemd \
	libicu-dev libpoppler-glib-dev libstemmer-dev libseccomp-dev libxml2-dev libcmark-dev \
	liblingua-stopwords-perl python3-icu \
	libleptonica-dev libtesseract-dev tesseract-ocr-eng tesseract-ocr-chi-sim libexif-dev \
	libtagc0-dev libsndfile1-dev libsamplerate0-dev libpocketsphinx-dev pocketsphinx-en-us \
	espeak-ng imagemagick fonts-dejavu-core fonts-wqy-microhei libimage-exiftool-perl id3v2 \
	vorbis-tools flac lame \
	chromium

.DELETE_ON_ERROR:
.PHONY: all deps kmod bpf userspace test run bench bench-scale bench-fast bench-balance bench-latency bench-dgfsd bench-search bench-tags bench-cluster clean distclean

all: kmod bpf userspace web

# ---- dependencies ---------------------------------------------------------
# Stamped so that a second `make deps` is quick; delete the stamp to redo.
deps: $(BUILD)/.deps-stamp $(BUILD)/.objtree-stamp

$(BUILD)/.deps-stamp: Makefile
	@mkdir -p $(BUILD)
	@missing=$$(dpkg-query -W -f='$${db:Status-Abbrev} $${Package}\n' $(DEB_PACKAGES) 2>/dev/null \
		| awk '$$1 == "ii" { print $$2 }' | sort > $(BUILD)/.have; \
		for p in $(DEB_PACKAGES); do grep -qx "$$p" $(BUILD)/.have || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing:" $$missing; \
		apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing || \
			exit 1; \
		case " $$missing " in *" nginx-light "*) \
			[ ! -d /run/systemd/system ] || { \
			echo "deps: nginx is only for make bench: its service stays stopped and disabled"; \
			systemctl disable --now nginx.service; };; esac; \
	else echo "deps: all Debian packages present"; fi
	@# npm builds the web UI: Debian's, unless the machine has one already
	@# (NodeSource's nodejs carries npm and conflicts with Debian's package).
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "deps: installing: nodejs npm"; \
		apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; \
	fi
	@touch $@

$(BUILD)/.objtree-stamp: $(BUILD)/.deps-stamp kmod/prepare-objtree.sh
	kmod/prepare-objtree.sh $(OBJTREE)
	@touch $@

# ---- kernel module --------------------------------------------------------
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h) include/uapi/linux/dgfs.h include/dgfs_kfuncs.h

kmod: $(BUILD)/dgfs.ko

$(BUILD)/dgfs.ko: $(KMOD_SRCS) Kbuild kmod/Kbuild | deps
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@# kfuncs need module BTF; a module without it would load and then
	@# silently offer no kfuncs, so refuse to call that a build.
	@if ! readelf -S kmod/dgfs.ko | grep '\.BTF' >/dev/null; then \
		echo "error: kmod/dgfs.ko has no .BTF section (see kmod/prepare-objtree.sh)" >&2; exit 1; fi
	cp kmod/dgfs.ko $@

# ---- BPF ------------------------------------------------------------------
BPF_SRCS  := $(wildcard bpf/*.bpf.c tests/bpf/*.bpf.c tests/bench/*.bpf.c)
BPF_OBJS  := $(patsubst %.bpf.c,$(BUILD)/bpf/%.bpf.o,$(notdir $(BPF_SRCS)))
BPF_SKELS := $(patsubst %.bpf.o,%.skel.h,$(BPF_OBJS))
BPF_CFLAGS := -g -O2 -target bpf -Wall -Werror -D__TARGET_ARCH_x86 \
	-Iinclude -Iinclude/uapi -I/usr/include/$(shell uname -m)-linux-gnu

bpf: $(BPF_OBJS) $(BPF_SKELS)

vpath %.bpf.c bpf tests/bpf tests/bench
$(BUILD)/bpf/%.bpf.o: %.bpf.c include/dgfs_kfuncs.h include/uapi/linux/dgfs.h | deps
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

# ---- userspace ------------------------------------------------------------
# The parts below keep their own rules and add to USER_BINS (and UNIT_LIBS):
# the XDP loader library and its tests; the fast-path userspace (protocol
# library, client, bench, userspace server).
include bpf/xdp.mk
include userspace/fastpath.mk
include userspace/dgfsd/dgfsd.mk
include tests/fuzz/fuzz.mk
include tests/vm/kdebug.mk
include userspace/tagger/tagger.mk
include web/web.mk
include tests/bench/bench.mk

DGFSCTL_SRCS := $(wildcard userspace/dgfsctl/*.c) userspace/proto/hex.c userspace/proto/size.c \
	userspace/proto/latency.c
KFUNC_TEST_SRCS := tests/bpf/kfunc_test.c userspace/proto/hex.c

USER_BINS += $(BUILD)/dgfsctl $(BUILD)/dgfs-top $(BUILD)/kfunc_test

$(BUILD)/dgfsctl: $(DGFSCTL_SRCS) $(wildcard userspace/dgfsctl/*.h) include/uapi/linux/dgfs.h \
		include/dgfs_stats_names.h include/dgfs_hist.h userspace/proto/latency.h \
		$(XDP_LOADER_DEPS) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Iuserspace $(NL_CFLAGS) $(XDP_LOADER_CFLAGS) $(DGFSCTL_SRCS) \
		$(XDP_LOADER_SRCS) -o $@ $(NL_LIBS) $(XDP_LOADER_LIBS)

# dgfs-top is dgfsctl top (userspace/dgfsctl/dgfsctl.c looks at its name).
$(BUILD)/dgfs-top: $(BUILD)/dgfsctl
	ln -sf dgfsctl $@

$(BUILD)/kfunc_test: $(KFUNC_TEST_SRCS) $(BUILD)/bpf/kfunc_lookup.skel.h | deps
	$(CC) $(CFLAGS_COMMON) -Iuserspace -I$(BUILD)/bpf $(KFUNC_TEST_SRCS) -o $@ $(BPF_LIBS) -lpthread


userspace: $(USER_BINS)

# ---- tests ----------------------------------------------------------------
# Unit tests run on the host under ASan and UBSan.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))

$(BUILD)/unit/test_%: tests/unit/test_%.c tests/unit/check.h $(wildcard userspace/*/*.c userspace/*/*.h) \
		$(wildcard userspace/dgfsd/meta/*.[ch] tests/unit/*.h) Makefile \
		$(XDP_LOADER_DEPS) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(SAN_FLAGS) $(NL_CFLAGS) $(PQ_CFLAGS) $(XDP_LOADER_CFLAGS) -Iuserspace $< -o $@ \
		$(NL_LIBS) $(XDP_LOADER_LIBS) $(UNIT_LIBS)

test: all $(UNIT_TESTS)
	tests/run-all.sh $(BUILD)

run: all
	tests/vm/vm.sh --interactive --net tests/vm/storage-host.sh

# Numbers, not a test: the kernel fast path against dgfs-userd, with the
# client in the VM, then on the host (docs/BENCHMARKS.md).
bench-fast: all
	tests/vm/vm.sh --out $(BUILD)/bench tests/vm/bench_fast.sh
	tests/vm/bench_remote.sh

# Numbers, not a test: a setting of dgfs.ko on against off in one VM boot,
# client on the host (tests/vm/bench_onoff.sh, docs/BENCHMARKS.md).
bench-balance: all
	tests/vm/bench_onoff.sh balance

bench-latency: all
	tests/vm/bench_onoff.sh latency

# Numbers, not a test: the userspace tier's sockets against AF_XDP, on a veth
# on the host, then on the VM's virtio NIC with the client on the host.
bench-afxdp: all
	tests/net/bench_afxdp.sh $(BUILD) 5 5
	DGFS_BUILD=$(BUILD) tests/vm/bench_afxdp_remote.sh 5 5

# Numbers, not a test: dgfsd's HTTP and UDP tier against curl and aria2c, on the host.
bench-dgfsd: all
	tests/dgfsd/bench_http.sh $(BUILD)

bench-search: all
	tests/dgfsd/bench_search.sh $(BUILD)

# Numbers, not a test: each search's CPU time and SQLite VM steps, without
# HTTP, on a kept bench store (tests/dgfsd/search_profile.c). Plain -O2.
$(BUILD)/search_profile: tests/dgfsd/search_profile.c $(wildcard userspace/*/*.c userspace/*/*.h) \
		$(wildcard userspace/dgfsd/meta/*.[ch] tests/unit/*.h) Makefile | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(NL_CFLAGS) $(PQ_CFLAGS) -Iuserspace $< -o $@ $(UNIT_LIBS)

bench-tags: all
	tests/dgfsd/bench_tags.sh $(BUILD)

# Numbers, not a test: a cluster's read throughput with 1, 3 and 5 hosts (VM),
# metadata latency on SQLite and PostgreSQL, repair speed (host); issue 14.
bench-cluster: all
	tests/bench/cluster.sh $(BUILD)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(BUILD)/bpf $(BUILD)/unit $(BUILD)/vm-run $(USER_BINS) $(BUILD)/dgfs.ko

distclean: clean
	rm -rf $(BUILD)
