# Integration tests of strigild (daemon helper): a private dbus-daemon with
# daemon/org.strigil.Strigil1.conf, the polkitd mock of python3-dbusmock,
# the ASan+UBSan build of strigild with simulated instruments, real SQLite.
# One recorded test per tests/integration/test_*.py.
INTEG_NAMES := $(patsubst tests/integration/test_%.py,%,$(sort $(wildcard tests/integration/test_*.py)))

.PHONY: check-integration
check-integration/%: $(BUILD)/strigild-san FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild-san SG_TOP=$(TOP) \
	 $(RUN_TEST) integration-$* /usr/bin/python3 tests/integration/test_$*.py

check-integration: $(INTEG_NAMES:%=check-integration/%)
CHECK_TARGETS += check-integration
