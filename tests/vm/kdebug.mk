# The debug kernel for the VM tests (tests/vm/kdebug/) and dgfs.ko built
# against it. Included from the top Makefile, after KMOD_SRCS.
#
#   make kdebug        build the debug kernel (once per machine: cached in
#                      $DGFS_CACHE, default /var/cache/dgfs) and
#                      build/kdebug/dgfs.ko
#   make test-kdebug   every tests/vm/test_*.sh on the debug kernel

KDEBUG_KO  := $(BUILD)/kdebug/dgfs.ko
# kbuild writes its objects next to the sources: the debug build gets a
# copy of them, so that it and the stock build in kmod/ never rebuild each
# other's objects.
KDEBUG_SRC := $(BUILD)/kdebug/src

.PHONY: kdebug kdebug-kernel test-kdebug

kdebug: $(KDEBUG_KO)

# A no-op once the kernel is cached; the first run takes most of an hour.
kdebug-kernel: | deps
	tests/vm/kdebug/build.sh

# Always handed to kbuild, which rebuilds only what changed, and all of it
# when the kernel did (its paths are in every object's command line).
$(KDEBUG_KO): kdebug-kernel $(KMOD_SRCS) Kbuild kmod/Kbuild | deps
	@mkdir -p $(KDEBUG_SRC)/kmod
	cp -a Kbuild $(KDEBUG_SRC)/
	cp -a kmod/Kbuild kmod/*.c kmod/*.h $(KDEBUG_SRC)/kmod/
	cp -a include $(KDEBUG_SRC)/
	$(MAKE) -C "$$(tests/vm/kdebug/build.sh --dir)/tree" M=$(CURDIR)/$(KDEBUG_SRC) modules
	@if ! readelf -S $(KDEBUG_SRC)/kmod/dgfs.ko | grep '\.BTF' >/dev/null; then \
		echo "error: $(KDEBUG_SRC)/kmod/dgfs.ko has no .BTF section" >&2; exit 1; fi
	cp $(KDEBUG_SRC)/kmod/dgfs.ko $@

test-kdebug: all $(KDEBUG_KO)
	# The whole suite takes hours on the debug kernel under TCG.
	VM_KERNEL=debug VM_TIMEOUT=$${VM_TIMEOUT:-14400} tests/vm/vm.sh --out $(BUILD)/vm-kdebug tests/vm/test_*.sh
