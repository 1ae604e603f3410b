# Interim `make demo` (strigild's demo replaces it: DEMO_TARGET ?=):
# simulates a session with `strigilctl simulate`, then replays it through
# the engines with a limit, printing strokes and alarms readably.
DEMO_TARGET ?= demo-replay
DEMO_LIMIT  ?= 10
DEMO_DIR    := $(BUILD)/demo-replay

.PHONY: demo-replay
demo-replay: $(STRIGILCTL)
	@mkdir -p $(DEMO_DIR)
	@echo "== strigilctl simulate: a 30 s session, strokes at about 0.8 Hz"
	$(STRIGILCTL) simulate --out $(DEMO_DIR)/session.csv $(DEMO_SIM_ARGS)
	@echo "== strigilctl replay --limit $(DEMO_LIMIT) (warning at 90 %)"
	@$(STRIGILCTL) replay --limit $(DEMO_LIMIT) $(DEMO_DIR)/session.csv \
		>$(DEMO_DIR)/events.jsonl
	@/usr/bin/python3 tools/strigilctl/demo-replay.py <$(DEMO_DIR)/events.jsonl
	@echo "(JSON Lines in $(DEMO_DIR)/events.jsonl, trace in $(DEMO_DIR)/session.csv)"
