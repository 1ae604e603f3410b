# Strigil top-level Makefile.
#
# Each part of the tree owns a fragment (lib/lib.mk, daemon/daemon.mk, ...)
# that adds to ALL_TARGETS, CHECK_TARGETS, BENCH_TARGETS and DEMO_TARGET.
# The kernel module is built by Kbuild (see driver/driver.mk).
#
#   make            build everything userspace
#   make check      install missing Debian packages, then run every test
#   make demo       install missing Debian packages, then run the demo
#   make bench      performance figures (never asserted)

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

TOP       := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD     ?= build
CC        ?= cc
CLANG     ?= clang
CFLAGS    ?= -O2 -g
PREFIX    ?= /usr
DESTDIR   ?=

SG_CPPFLAGS := -Iinclude -Ilib -D_GNU_SOURCE
SG_WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	       -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
SG_CFLAGS   := $(SG_WARN) $(CFLAGS) -fPIC
SAN_CFLAGS  := $(SG_WARN) -O1 -g -fPIC -fno-omit-frame-pointer \
	       -fsanitize=address,undefined -fno-sanitize-recover=all

# pkg-config packages used by userspace; empty output until deps are in.
pkgcfg = $(shell pkg-config $(1) $(2) 2>/dev/null)
SG_PKGS    := zlib json-c libusb-1.0 libudev libsystemd sqlite3
PKG_CFLAGS := $(call pkgcfg,--cflags,$(SG_PKGS))

# Every userspace object: $(BUILD)/obj (normal) and $(BUILD)/san (ASan+UBSan).
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SG_CPPFLAGS) $(PKG_CFLAGS) $(SG_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SG_CPPFLAGS) $(PKG_CFLAGS) $(SAN_CFLAGS) -MMD -MP -c $< -o $@
-include $(shell find $(BUILD)/obj $(BUILD)/san -name '*.d' 2>/dev/null)

ALL_TARGETS   :=
CHECK_TARGETS :=
BENCH_TARGETS :=
CLEAN_FILES   :=

# run-test NAME COMMAND...: records PASS/FAIL for the summary of make check.
RUN_TEST := tests/run-test.sh $(BUILD)
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect

# One set of unit-test binaries run three ways, each run a recorded test:
# plain, ASan+UBSan, and under valgrind (memcheck). Use as
#   $(eval $(call SG_UNIT_VARIANTS,NAMES,BIN_DIR,SAN_BIN_DIR,TARGET,RESULT,ARGS,ALL))
# NAMES: the binaries (test-foo ...), built in BIN_DIR (plain) and
# SAN_BIN_DIR (sanitizers) by the fragment's own link rules; targets
# TARGET/NAME, TARGET-asan/NAME, TARGET-valgrind/NAME record RESULT-NAME,
# RESULT-asan-NAME, RESULT-valgrind-NAME; every run gets ARGS; ALL runs
# them all and is part of make check.
# (pattern rules are never used for .PHONY targets: FORCE makes them re-run)
define SG_UNIT_VARIANTS
$(4)/%: $(2)/% FORCE
	@$$(RUN_TEST) $(5)-$$* $$< $(6)
$(4)-asan/%: $(3)/% FORCE
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	 $$(RUN_TEST) $(5)-asan-$$* $$< $(6)
$(4)-valgrind/%: $(2)/% FORCE
	@$$(RUN_TEST) $(5)-valgrind-$$* $$(VALGRIND) $$< $(6)
.PHONY: $(7)
$(7): $(1:%=$(4)/%) $(1:%=$(4)-asan/%) $(1:%=$(4)-valgrind/%)
CHECK_TARGETS += $(7)
endef

# In the order of the layers, so that a fragment may use the variables of
# the layers below it (tests come last: they name every program).
include $(sort $(wildcard lib/*.mk))
include $(sort $(wildcard daemon/*.mk))
include $(sort $(wildcard sync/*.mk))
include $(sort $(wildcard tools/*.mk tools/*/*.mk))
include $(sort $(wildcard driver/*.mk udev/*.mk docs/*.mk debian/*.mk packaging/*.mk))
include $(sort $(wildcard tests/*.mk tests/*/*.mk))

.PHONY: all deps check check-run demo bench clean FORCE
FORCE:

all: $(ALL_TARGETS)

deps:
	@scripts/deps.sh

# Installs what is missing first (a fresh Debian 12 needs it), then runs
# every check target even if one fails, then prints "N passed, N failed".
check:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory check-run

check-run:
	@rm -rf $(BUILD)/test-results && mkdir -p $(BUILD)/test-results $(BUILD)/test-logs
	@$(MAKE) --no-print-directory -k $(CHECK_TARGETS); rc=$$?; \
	 tests/summary.sh $(BUILD); s=$$?; \
	 if [ $$rc -ne 0 ] && [ $$s -eq 0 ]; then echo "check: a build step failed"; exit 1; fi; exit $$s

# Only the lists the demo needs (DEMO_DEPS, from the fragment that sets
# DEMO_TARGET); every list when a fragment names none.
demo:
	@scripts/deps.sh $(DEMO_DEPS)
	@$(MAKE) --no-print-directory $(DEMO_TARGET)

bench:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory $(BENCH_TARGETS)

clean:
	rm -rf $(BUILD) $(CLEAN_FILES)
