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

$(eval $(call SG_UNIT_VARIANTS,$(DUNIT_NAMES),$(BUILD)/dunit,$(BUILD)/dunit-san,check-dunit,dunit,$(DUNIT_ARGS),check-daemon-unit))

# strigild without --policy (root: a private mount namespace with overlays
# of /etc and /usr/share): built-in defaults, vendor file, /etc override.
.PHONY: check-policy-default
check-policy-default: $(STRIGILD) FORCE
	@$(RUN_TEST) daemon-policy-default tests/daemon-unit/test-policy-default.sh $(STRIGILD) $(TOP)
CHECK_TARGETS += check-policy-default

ALL_TARGETS += $(DUNIT_NAMES:%=$(BUILD)/dunit/%)
$(BUILD)/obj/tests/daemon-unit/%.o $(BUILD)/san/tests/daemon-unit/%.o: \
	SG_CPPFLAGS += -Idaemon -Itests/unit
# keep the test binaries between runs (they are pattern-rule intermediates)
.PRECIOUS: $(BUILD)/dunit/% $(BUILD)/dunit-san/% \
	$(BUILD)/obj/tests/daemon-unit/%.o $(BUILD)/san/tests/daemon-unit/%.o

# libFuzzer (Debian clang) on the policy parser + rules engine: a short
# bounded run in make check; `make fuzz-policy FUZZ_POLICY_TIME=600` for
# long runs. Seeds: the shipped policy and tests/daemon-unit/fuzz-seeds/.
# New inputs go to $(BUILD)/dunit-fuzz/corpus, crashes next to it.
FUZZ_POLICY          := $(BUILD)/dunit-fuzz/fuzz-policy
FUZZ_POLICY_TIME     ?= 600
FUZZ_POLICY_CHECK_TIME ?= 8
FUZZ_POLICY_RUN = $(FUZZ_POLICY) -max_total_time=$(1) -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 -dict=tests/daemon-unit/policy.dict \
	-artifact_prefix=$(BUILD)/dunit-fuzz/ $(BUILD)/dunit-fuzz/corpus \
	$(BUILD)/dunit-fuzz/seeds

$(FUZZ_POLICY): tests/daemon-unit/fuzz-policy.c daemon/policy.c daemon/rules.c daemon/text.c \
		daemon/policy.h daemon/rules.h daemon/text.h lib/strigil.h
	@mkdir -p $(@D)/corpus $(@D)/seeds
	$(CLANG) $(SG_CPPFLAGS) -Idaemon $(SG_WARN) -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
		tests/daemon-unit/fuzz-policy.c daemon/policy.c daemon/rules.c daemon/text.c \
		$(call pkgcfg,--libs,inih) -lm

.PHONY: check-dunit-fuzz fuzz-policy
check-dunit-fuzz: $(FUZZ_POLICY) FORCE
	@cp daemon/policy.conf tests/daemon-unit/fuzz-seeds/*.conf $(BUILD)/dunit-fuzz/seeds/
	@ASAN_OPTIONS=detect_leaks=1 $(RUN_TEST) dunit-fuzz-policy \
		$(call FUZZ_POLICY_RUN,$(FUZZ_POLICY_CHECK_TIME))
fuzz-policy: $(FUZZ_POLICY)
	@cp daemon/policy.conf tests/daemon-unit/fuzz-seeds/*.conf $(BUILD)/dunit-fuzz/seeds/
	ASAN_OPTIONS=detect_leaks=1 $(call FUZZ_POLICY_RUN,$(FUZZ_POLICY_TIME))
CHECK_TARGETS += check-dunit-fuzz

# make bench: storage/rules figures (printed, never asserted)
.PHONY: bench-store
$(BUILD)/dunit/bench-store: $(BUILD)/obj/tests/daemon-unit/bench-store.o $(STRIGILD_CORE)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(DUNIT_LIBS)
bench-store: $(BUILD)/dunit/bench-store
	@$< $(TOP)
BENCH_TARGETS += bench-store
