# strigil-gadget: the instrument emulated through FunctionFS (see its --help).
GADGET := $(BUILD)/strigil-gadget

$(GADGET): $(BUILD)/obj/tools/gadget/strigil-gadget.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS) -lpthread

ALL_TARGETS += $(GADGET)
