# Interim `make demo` (strigild's demo replaces it: DEMO_TARGET ?=):
# simulates a session with `strigilctl simulate`, then replays it through
# the engines with a limit, printing strokes and alarms readably.
DEMO_TARGET ?= demo-replay
DEMO_LIMIT  ?= 10
DEMO_DIR    := $(BUILD)/demo-replay
DEMO_SIM_ARGS ?= --seed 7 --duration 30 --stroke-rate 0.8 --peak-mean 7 \
	--peak-sd 2 --noise 0.05 --hum 0.1 --limit $(DEMO_LIMIT) --over-prob 0.2

.PHONY: demo-replay
demo-replay: $(STRIGILCTL)
	@mkdir -p $(DEMO_DIR)
	@echo "== strigilctl simulate: a 30 s session, strokes at about 0.8 Hz"
	$(STRIGILCTL) simulate --out $(DEMO_DIR)/session.csv $(DEMO_SIM_ARGS)
	@echo "== strigilctl replay --limit $(DEMO_LIMIT) (warning at 90 %)"
	@$(STRIGILCTL) replay --limit $(DEMO_LIMIT) $(DEMO_DIR)/session.csv \
		>$(DEMO_DIR)/events.jsonl
	@/usr/bin/python3 tools/strigilctl/demo-replay.py <$(DEMO_DIR)/events.jsonl
	@echo "(JSON Lines in $(DEMO_DIR)/events.jsonl; trace and its ground truth in"
	@echo " $(DEMO_DIR)/session.csv and session.truth.json)"
