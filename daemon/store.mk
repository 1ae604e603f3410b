# strigild core (store helper): SQLite storage, clinic policy file, clinical
# rules. Built as static libraries the daemon links; no D-Bus in here.
STRIGILD_CORE_SRCS := daemon/storage.c daemon/store-writer.c daemon/policy.c daemon/rules.c
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
