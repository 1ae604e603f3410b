# Unit tests: tests/unit/test-NAME.c -> one binary each, run three ways:
# plain, ASan+UBSan, and under valgrind. Each run is one recorded test.
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_NAMES := $(UNIT_SRCS:tests/unit/%.c=%)
UNIT_BINS := $(UNIT_NAMES:%=$(BUILD)/tests/%)
UNIT_SAN_BINS := $(UNIT_NAMES:%=$(BUILD)/tests-san/%)
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS)
$(BUILD)/tests-san/%: $(BUILD)/san/tests/unit/%.o $(LIBSTRIGIL_SAN)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: check-unit
# (pattern rules are never used for .PHONY targets: FORCE makes them re-run)
check-unit/%: $(BUILD)/tests/% FORCE
	@$(RUN_TEST) unit-$* $< $(TOP)/tests/unit/data
check-asan/%: $(BUILD)/tests-san/% FORCE
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	 $(RUN_TEST) asan-$* $< $(TOP)/tests/unit/data
check-valgrind/%: $(BUILD)/tests/% FORCE
	@$(RUN_TEST) valgrind-$* $(VALGRIND) $< $(TOP)/tests/unit/data

check-unit: $(UNIT_NAMES:%=check-unit/%) $(UNIT_NAMES:%=check-asan/%) \
	$(UNIT_NAMES:%=check-valgrind/%)
CHECK_TARGETS += check-unit
ALL_TARGETS += $(UNIT_BINS)
