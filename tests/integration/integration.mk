# Integration tests of strigild (daemon helper): a private dbus-daemon with
# daemon/org.strigil.Strigil1.conf, the polkitd mock of python3-dbusmock,
# the ASan+UBSan build of strigild with simulated instruments, real SQLite.
# One recorded test per tests/integration/test_*.py.
INTEG_NAMES := $(patsubst tests/integration/test_%.py,%,$(sort $(wildcard tests/integration/test_*.py)))

.PHONY: check-integration
check-integration/%: $(BUILD)/strigild-san FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild-san SG_TOP=$(TOP) \
	 $(RUN_TEST) integration-$* /usr/bin/python3 tests/integration/test_$*.py

# test_storage also runs strigilctl status (the storage state it shows)
check-integration/storage: $(BUILD)/strigilctl

# The main paths once more with the normal build under valgrind.
INTEG_VALGRIND := api session records
check-integration-valgrind/%: $(BUILD)/strigild FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild SG_TOP=$(TOP) \
	 STRIGILD_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
	 $(RUN_TEST) integration-valgrind-$* /usr/bin/python3 tests/integration/test_$*.py

check-integration: $(INTEG_NAMES:%=check-integration/%) \
	$(INTEG_VALGRIND:%=check-integration-valgrind/%)
CHECK_TARGETS += check-integration

# make bench: strigild figures (normal build), printed, never asserted.
.PHONY: bench-daemon
bench-daemon: $(BUILD)/strigild
	@STRIGILD=$(abspath $(BUILD))/strigild SG_TOP=$(TOP) /usr/bin/python3 tests/integration/bench_daemon.py \
	 | grep -v '^ok:'
BENCH_TARGETS += bench-daemon
