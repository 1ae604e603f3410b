# strigild core (store helper): SQLite storage, clinic policy file, clinical
# rules, the domains of sessions and instruments (session-core.c,
# instrument-core.c, text.c). Built as static libraries the daemon links;
# no D-Bus in here.
# storage: storage.c opens and closes; the others are its seams
# (daemon/storage-private.h says which file holds what).
STRIGILD_CORE_SRCS := daemon/storage.c daemon/storage-schema.c daemon/storage-stmt.c \
	daemon/storage-wal.c daemon/storage-profiles.c daemon/storage-sessions.c \
	daemon/storage-strokes.c daemon/storage-violations.c daemon/storage-pauses.c \
	daemon/storage-instruments.c daemon/storage-audit.c daemon/storage-history.c \
	daemon/storage-network.c
STRIGILD_CORE_SRCS += daemon/store-writer.c daemon/policy.c daemon/rules.c daemon/policy-files.c
STRIGILD_CORE_SRCS += daemon/text.c daemon/session-core.c daemon/instrument-core.c
# The shipped daemon/policy.conf, compiled in: the built-in defaults used
# when neither /etc nor /usr/share has a policy file (policy-files.h).
SGD_POLICY_BUILTIN_C := $(BUILD)/gen/policy-builtin.c
STRIGILD_CORE_SRCS += $(SGD_POLICY_BUILTIN_C)
STRIGILD_CORE      := $(BUILD)/libstrigild-core.a
STRIGILD_CORE_SAN  := $(BUILD)/libstrigild-core-san.a
# Link flags for users of libstrigild-core (after the archive). The core
# uses libstrigil's types (lib/strigil.h) but calls none of its functions.
STRIGILD_CORE_LIBS  = $(call pkgcfg,--libs,sqlite3 inih) -lm

$(STRIGILD_CORE): $(STRIGILD_CORE_SRCS:%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(STRIGILD_CORE_SAN): $(STRIGILD_CORE_SRCS:%.c=$(BUILD)/san/%.o)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

ALL_TARGETS += $(STRIGILD_CORE)

$(SGD_POLICY_BUILTIN_C): daemon/policy.conf daemon/store.mk
	@mkdir -p $(@D)
	{ echo '/* Generated from daemon/policy.conf by daemon/store.mk. */'; \
	  echo '#include "policy-files.h"'; \
	  echo 'const char sgd_policy_builtin[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0 };'; \
	  echo 'const size_t sgd_policy_builtin_len = sizeof(sgd_policy_builtin) - 1;'; } >$@.tmp
	mv $@.tmp $@
$(SGD_POLICY_BUILTIN_C:%.c=$(BUILD)/obj/%.o) $(SGD_POLICY_BUILTIN_C:%.c=$(BUILD)/san/%.o): \
	SG_CPPFLAGS += -Idaemon
