# strigilctl's pure modules (export formats, calibration maths, monitor view,
# bus helpers), unit tested without a daemon: plain, ASan+UBSan, valgrind.
CTLU_SRCS  := $(sort $(wildcard tests/cli-unit/test-*.c))
CTLU_NAMES := $(CTLU_SRCS:tests/cli-unit/%.c=%)
CTLU_MODS  := tools/strigilctl/ctl-json.c tools/strigilctl/export-fmt.c \
	      tools/strigilctl/cal-proc.c tools/strigilctl/monitor-view.c \
	      tools/strigilctl/bus.c tools/strigilctl/history-fmt.c
CTLU_LIBS   = $(call pkgcfg,--libs,libsystemd json-c) $(LIB_LIBS)
CTLU_CPP   := -Itools/strigilctl

$(BUILD)/obj/tests/cli-unit/%.o: SG_CPPFLAGS += $(CTLU_CPP)
$(BUILD)/san/tests/cli-unit/%.o: SG_CPPFLAGS += $(CTLU_CPP)

$(BUILD)/tests/cli-unit/%: $(BUILD)/obj/tests/cli-unit/%.o \
		$(CTLU_MODS:%.c=$(BUILD)/obj/%.o) $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(CTLU_LIBS)
$(BUILD)/tests-san/cli-unit/%: $(BUILD)/san/tests/cli-unit/%.o \
		$(CTLU_MODS:%.c=$(BUILD)/san/%.o) $(LIBSTRIGIL_SAN)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(CTLU_LIBS)

$(eval $(call SG_UNIT_VARIANTS,$(CTLU_NAMES),$(BUILD)/tests/cli-unit,$(BUILD)/tests-san/cli-unit,check-cli-unit,cli-unit,,check-cli-unit))
ALL_TARGETS += $(CTLU_NAMES:%=$(BUILD)/tests/cli-unit/%)
