# usb-check: lib/usb.c against a live device (run in the test VM with
# strigil-gadget; see tests/usb/usb-check.c). Built here, run by tests/vm.
USB_CHECK := $(BUILD)/usb-check

$(USB_CHECK): $(BUILD)/obj/tests/usb/usb-check.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS)

ALL_TARGETS += $(USB_CHECK)
