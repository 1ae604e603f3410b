# Unit tests of the strigild core (storage, policy, rules), with real SQLite
# in temporary directories: tests/daemon-unit/test-NAME.c -> one binary,
# run plain, with ASan+UBSan and under valgrind (each a recorded test).
# Arguments: the test data folder and the source tree (for daemon/policy.conf).
DUNIT_SRCS  := $(sort $(wildcard tests/daemon-unit/test-*.c))
DUNIT_NAMES := $(DUNIT_SRCS:tests/daemon-unit/%.c=%)
DUNIT_ARGS   = $(TOP)/tests/daemon-unit/data $(TOP)
DUNIT_LIBS   = $(STRIGILD_CORE_LIBS) -lm

$(BUILD)/dunit/%: $(BUILD)/obj/tests/daemon-unit/%.o $(STRIGILD_CORE)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(DUNIT_LIBS)
$(BUILD)/dunit-san/%: $(BUILD)/san/tests/daemon-unit/%.o $(STRIGILD_CORE_SAN)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(DUNIT_LIBS)

# (pattern rules are never used for .PHONY targets: FORCE makes them re-run)
check-dunit/%: $(BUILD)/dunit/% FORCE
	@$(RUN_TEST) dunit-$* $< $(DUNIT_ARGS)
check-dunit-asan/%: $(BUILD)/dunit-san/% FORCE
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	 $(RUN_TEST) dunit-asan-$* $< $(DUNIT_ARGS)
check-dunit-valgrind/%: $(BUILD)/dunit/% FORCE
	@$(RUN_TEST) dunit-valgrind-$* $(VALGRIND) $< $(DUNIT_ARGS)

.PHONY: check-daemon-unit
check-daemon-unit: $(DUNIT_NAMES:%=check-dunit/%) \
	$(DUNIT_NAMES:%=check-dunit-asan/%) $(DUNIT_NAMES:%=check-dunit-valgrind/%)
CHECK_TARGETS += check-daemon-unit
ALL_TARGETS += $(DUNIT_NAMES:%=$(BUILD)/dunit/%)
$(BUILD)/obj/tests/daemon-unit/%.o $(BUILD)/san/tests/daemon-unit/%.o: \
	SG_CPPFLAGS += -Idaemon -Itests/unit
