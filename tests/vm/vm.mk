# VM tests: Debian's kernel in QEMU (TCG) with dummy_hcd + FunctionFS,
# the real strigil module, strigil-gadget and vmtest (lib/iio.c).
# `make vm-check` (also part of `make check`); see tests/vm/run-vm.sh.
VMTEST := $(BUILD)/vmtest

$(VMTEST): $(BUILD)/obj/tests/vm/vmtest.o $(LIBSTRIGIL)
	@mkdir -p $(@D)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: vm-check
# Literal paths: fragments are included in sorted order, so tools/*.mk
# (GADGET) is read after this file and its variables are empty here.
vm-check: $(BUILD)/strigil-gadget $(VMTEST) $(BUILD)/usb-check FORCE
	@tests/vm/run-vm.sh $(BUILD)

ALL_TARGETS += $(VMTEST)
CHECK_TARGETS += vm-check
