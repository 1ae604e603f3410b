# make bench: ONE table of every performance figure, measured in one run by
# tests/perf/bench.py (figures only, never asserted; see docs/performance.md).
# It runs the engine and core benches (tests/bench), the storage bench
# (tests/daemon-unit) and the daemon helper's bench (tests/integration) itself and puts their key figures into the table, so
# their own BENCH_TARGETS are replaced by bench-table here. Fragments are
# included in sorted order: tests/bench and tests/daemon-unit come before
# tests/perf; targets of later fragments (gadget, vmtest) are named literally.
SGBENCH := $(BUILD)/perf/sgbench

# sgbench reads OpenStream packets: the header of include/strigil/stream.h
$(SGBENCH): $(BUILD)/obj/tests/perf/sgbench.o
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(call pkgcfg,--libs,libsystemd)

BENCH_TABLE_DEPS := $(STRIGILD) $(SGBENCH) $(BUILD)/strigil-gadget $(BUILD)/vmtest \
	$(BENCH_ENGINE) $(BENCH_CORE) $(if $(wildcard tests/daemon-unit/bench-store.c),$(BUILD)/dunit/bench-store) \
	$(if $(wildcard tests/usb/usb-check.c),$(BUILD)/usb-check)

.PHONY: bench-table
bench-table: $(BENCH_TABLE_DEPS)
	@/usr/bin/python3 tests/perf/bench.py $(BUILD)

BENCH_TARGETS := $(filter-out bench-engine bench-core bench-store bench-daemon,$(BENCH_TARGETS)) \
	bench-table
ALL_TARGETS += $(SGBENCH)

# make check: the measuring path itself works (functional checks, no timing):
# arrival_us on every LimitExceeded, OpenStream packets and their index, a
# stalled stream reader leaves the others alone. strigild as the ASan build.
.PHONY: check-perf-smoke
check-perf-smoke: $(STRIGILD_SAN) $(SGBENCH) FORCE
	@$(RUN_TEST) perf-smoke /usr/bin/python3 tests/perf/smoke.py $(BUILD) $(STRIGILD_SAN)
CHECK_TARGETS += check-perf-smoke
