# bench-core: decoder and CSV throughput figures for `make bench`.
BENCH_CORE := $(BUILD)/bench-core

$(BENCH_CORE): $(BUILD)/obj/tests/bench/bench-core.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: bench-core
bench-core: $(BENCH_CORE)
	@$(BENCH_CORE)

ALL_TARGETS += $(BENCH_CORE)
BENCH_TARGETS += bench-core
