# The strigil kernel module, built out of tree by Kbuild.
#
#   make module [KDIR=/path/to/kernel/build]   -> $(BUILD)/kmod/driver/strigil.ko
#   make module-check                          W=1 + sparse, fails on any warning
#   make dkms-src                              -> $(BUILD)/dkms/strigil-<ver>/
#
# KDIR defaults to the running kernel's build dir when it has one, else the
# newest installed Debian linux-headers-*-amd64 (found, never hard-coded).
# Kbuild writes its output next to the sources, so the sources are copied
# into $(BUILD)/kmod first: the tree stays clean.

ifeq ($(origin KDIR),undefined)
KDIR := $(shell d=/lib/modules/$$(uname -r)/build; if [ -d $$d ]; then echo $$d; \
	  else ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n1; fi)
endif
KMOD_DIR := $(BUILD)/kmod
KMOD_SRCS := Kbuild driver/Kbuild driver/strigil.c include/strigil/protocol.h
KMOD := $(KMOD_DIR)/driver/strigil.ko
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' driver/dkms.conf)

define kmod_copy
	@rm -rf $(1) && mkdir -p $(1)/driver $(1)/include/strigil
	@for f in $(KMOD_SRCS); do cp $$f $(1)/$$f; done
endef

$(KMOD): $(KMOD_SRCS)
	@test -d "$(KDIR)" || { echo "module: no kernel build dir (KDIR=$(KDIR)); install linux-headers-amd64" >&2; exit 1; }
	$(call kmod_copy,$(KMOD_DIR))
	$(MAKE) -C $(KDIR) M=$(abspath $(KMOD_DIR)) modules

.PHONY: module module-check dkms-src
module: $(KMOD)

# W=1 and sparse (C=1) on a fresh copy; any warning fails the test.
module-check: FORCE
	@$(RUN_TEST) module-w1-sparse sh -c '\
	  test -d "$(KDIR)" || { echo "no KDIR $(KDIR)"; exit 1; }; \
	  d=$(BUILD)/kmod-check; rm -rf $$d; mkdir -p $$d/driver $$d/include/strigil; \
	  for f in $(KMOD_SRCS); do cp $$f $$d/$$f; done; \
	  $(MAKE) --no-print-directory -C $(KDIR) M=$(abspath $(BUILD))/kmod-check W=1 C=1 modules >$$d/build.log 2>&1; rc=$$?; \
	  cat $$d/build.log; \
	  if [ $$rc -ne 0 ]; then echo "module build failed"; exit 1; fi; \
	  if grep -E "warning:|error:|sparse:" $$d/build.log; then echo "warnings above"; exit 1; fi; \
	  test -f $$d/driver/strigil.ko'

dkms-src:
	$(call kmod_copy,$(BUILD)/dkms/strigil-$(DKMS_VERSION))
	cp driver/dkms.conf $(BUILD)/dkms/strigil-$(DKMS_VERSION)/dkms.conf

CHECK_TARGETS += module-check
