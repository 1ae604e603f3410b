# CLI test of `strigilctl simulate` (trace, truth, seeds, replay agreement,
# bad options).
.PHONY: check-cli-simulate
check-cli-simulate: $(STRIGILCTL)
	@$(RUN_TEST) cli-simulate /usr/bin/python3 tests/cli/test-simulate.py $(STRIGILCTL)
CHECK_TARGETS += check-cli-simulate
