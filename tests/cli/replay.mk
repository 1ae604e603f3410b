# CLI test of `strigilctl replay` (fixtures with ground truth in tests/cli/replay/).
.PHONY: check-cli-replay
check-cli-replay: $(STRIGILCTL)
	@$(RUN_TEST) cli-replay /usr/bin/python3 tests/cli/test-replay.py $(STRIGILCTL)
CHECK_TARGETS += check-cli-replay
