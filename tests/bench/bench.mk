# make bench: engine throughput (frames -> decoder -> calibration -> engine),
# instructions per sample (callgrind) and alarm latency. Figures only.
BENCH_ENGINE := $(BUILD)/bench/bench-engine

$(BENCH_ENGINE): $(BUILD)/obj/tests/bench/bench-engine.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: bench-engine
bench-engine: $(BENCH_ENGINE)
	@echo "== engine bench"
	@$(BENCH_ENGINE)
	@tests/bench/callgrind-ips.sh $(BENCH_ENGINE) $(BUILD)/bench

BENCH_TARGETS += bench-engine

# A fingerprint of the engine's and decoder's outputs (not run by make
# bench): compare it before and after an optimisation.
ENGINE_DIGEST := $(BUILD)/bench/engine-digest

$(ENGINE_DIGEST): $(BUILD)/obj/tests/bench/engine-digest.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS)

ALL_TARGETS += $(ENGINE_DIGEST)
