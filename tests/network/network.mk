# Clinic network tests (network helper). Unit: sync/body.c (merge,
# validation, canonical form) plain, with ASan+UBSan and under valgrind.
# Integration: a real PostgreSQL 15 started by the test (initdb + pg_ctl,
# TLS from a test CA, as user nobody when run as root), two strigild
# --simulate with strigil-sync each on their own private bus.
NET_UNIT_LIBS = $(call pkgcfg,--libs,json-c) -lm

$(BUILD)/net/test-body: tests/network/test-body.c sync/body.c sync/body.h
	@mkdir -p $(@D)
	$(CC) $(SG_CPPFLAGS) -Isync -Itests/unit $(PKG_CFLAGS) $(SG_CFLAGS) -o $@ \
	 tests/network/test-body.c sync/body.c $(NET_UNIT_LIBS)
$(BUILD)/net/test-body-san: tests/network/test-body.c sync/body.c sync/body.h
	@mkdir -p $(@D)
	$(CC) $(SG_CPPFLAGS) -Isync -Itests/unit $(PKG_CFLAGS) $(SAN_CFLAGS) -o $@ \
	 tests/network/test-body.c sync/body.c $(NET_UNIT_LIBS)

NET_INTEG := $(patsubst tests/network/test_%.py,%,$(sort $(wildcard tests/network/test_*.py)))

.PHONY: check-network check-network-unit
check-network-unit: $(BUILD)/net/test-body $(BUILD)/net/test-body-san FORCE
	@$(RUN_TEST) network-body $(BUILD)/net/test-body
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	 $(RUN_TEST) network-body-asan $(BUILD)/net/test-body-san
	@$(RUN_TEST) network-body-valgrind valgrind -q --error-exitcode=99 --leak-check=full \
	 $(BUILD)/net/test-body
check-network/%: $(BUILD)/strigild-san $(BUILD)/strigil-sync-san $(BUILD)/strigilctl-san FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild-san STRIGIL_SYNC=$(abspath $(BUILD))/strigil-sync-san \
	 STRIGILCTL=$(abspath $(BUILD))/strigilctl-san \
	 SG_TOP=$(TOP) $(RUN_TEST) network-$* /usr/bin/python3 tests/network/test_$*.py
check-network: check-network-unit $(NET_INTEG:%=check-network/%)
CHECK_TARGETS += check-network

# make bench: profile edit latency A -> B, upload throughput next to the
# server's COPY ceiling, 8 PCs catching up 1 h offline (printed, not asserted).
.PHONY: bench-network
bench-network: $(BUILD)/strigild $(BUILD)/strigil-sync FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild STRIGIL_SYNC=$(abspath $(BUILD))/strigil-sync \
	 SG_TOP=$(TOP) /usr/bin/python3 tests/network/bench_network.py 2>&1 | grep -v -e '^ok:' -e '^dbus'
BENCH_TARGETS += bench-network

# strigil-sync (normal build) under valgrind through the profile scenario.
check-network-valgrind: $(BUILD)/strigild-san $(BUILD)/strigil-sync $(BUILD)/strigilctl-san FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild-san STRIGIL_SYNC=$(abspath $(BUILD))/strigil-sync \
	 STRIGILCTL=$(abspath $(BUILD))/strigilctl-san SG_TOP=$(TOP) \
	 STRIGIL_SYNC_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
	 $(RUN_TEST) network-valgrind-profiles /usr/bin/python3 tests/network/test_profiles.py
CHECK_TARGETS += check-network-valgrind
