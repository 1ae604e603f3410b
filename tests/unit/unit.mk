# Unit tests: tests/unit/test-NAME.c -> one binary each, run three ways:
# plain, ASan+UBSan, and under valgrind. Each run is one recorded test.
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_NAMES := $(UNIT_SRCS:tests/unit/%.c=%)
UNIT_BINS := $(UNIT_NAMES:%=$(BUILD)/tests/%)
UNIT_SAN_BINS := $(UNIT_NAMES:%=$(BUILD)/tests-san/%)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS)
$(BUILD)/tests-san/%: $(BUILD)/san/tests/unit/%.o $(LIBSTRIGIL_SAN)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(LIB_LIBS)

$(eval $(call SG_UNIT_VARIANTS,$(UNIT_NAMES),$(BUILD)/tests,$(BUILD)/tests-san,check-unit,unit,$(TOP)/tests/unit/data,check-unit))
ALL_TARGETS += $(UNIT_BINS)
