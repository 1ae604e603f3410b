# Accuracy suite: simulated sessions with ground truth through the engine.
# Thresholds are asserted inside the program (see tests/accuracy/accuracy.c).
ACCURACY := $(BUILD)/tests/accuracy

$(ACCURACY): $(BUILD)/obj/tests/accuracy/accuracy.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: check-accuracy
check-accuracy: $(ACCURACY)
	@$(RUN_TEST) accuracy $(ACCURACY)

ALL_TARGETS += $(ACCURACY)
CHECK_TARGETS += check-accuracy
