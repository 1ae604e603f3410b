# libFuzzer targets (Debian clang): tests/fuzz/fuzz-NAME.c, seeds in
# tests/fuzz/corpus/fuzz-NAME/. `make check` runs each for FUZZ_CHECK_TIME
# seconds; `make fuzz` for FUZZ_TIME seconds. New inputs go to
# $(BUILD)/fuzz/corpus-NAME (never into the source tree); crashes to
# $(BUILD)/fuzz/ (crash-*), kept for reproduction: build/fuzz/fuzz-NAME FILE.
FUZZ_NAMES      := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz-*.c)))
FUZZ_LIB_SRCS   := lib/frame.c lib/calib.c lib/csv.c lib/util.c
FUZZ_CFLAGS     := $(SG_WARN) -g -O1 -fno-omit-frame-pointer \
		   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CHECK_TIME ?= 20
FUZZ_TIME       ?= 600
FUZZ_RUN = $(BUILD)/fuzz/$(1) -max_total_time=$(2) \
	-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix=$(BUILD)/fuzz/$(1)- \
	$(BUILD)/fuzz/corpus-$(1) tests/fuzz/corpus/$(1)

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_LIB_SRCS) lib/strigil.h include/strigil/protocol.h
	@mkdir -p $(@D) $(BUILD)/fuzz/corpus-fuzz-$*
	$(CLANG) $(SG_CPPFLAGS) $(call pkgcfg,--cflags,zlib) $(FUZZ_CFLAGS) -o $@ \
		$< $(FUZZ_LIB_SRCS) $(call pkgcfg,--libs,zlib) -lm

check-fuzz/%: $(BUILD)/fuzz/% FORCE
	@mkdir -p $(BUILD)/fuzz/corpus-$*
	@ASAN_OPTIONS=detect_leaks=1 $(RUN_TEST) $* $(call FUZZ_RUN,$*,$(FUZZ_CHECK_TIME))

fuzz-run/%: $(BUILD)/fuzz/% FORCE
	@mkdir -p $(BUILD)/fuzz/corpus-$*
	ASAN_OPTIONS=detect_leaks=1 $(call FUZZ_RUN,$*,$(FUZZ_TIME))

.PHONY: check-fuzz fuzz
check-fuzz: $(FUZZ_NAMES:%=check-fuzz/%)
fuzz: $(FUZZ_NAMES:%=fuzz-run/%)
CHECK_TARGETS += check-fuzz
