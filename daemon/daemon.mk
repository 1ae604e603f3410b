# strigild (daemon helper): the D-Bus daemon. Links libstrigild-core
# (storage, policy, rules: daemon/store.mk) and libstrigil.
STRIGILD_SRCS := daemon/main.c daemon/util.c daemon/auth.c daemon/manager.c \
	daemon/instrument.c daemon/backend-sim.c daemon/backend-iio.c \
	daemon/backend-usb.c daemon/hotplug.c daemon/profile.c daemon/session.c
STRIGILD     := $(BUILD)/strigild
STRIGILD_SAN := $(BUILD)/strigild-san
STRIGILD_LIBS = $(call pkgcfg,--libs,libsystemd libudev libusb-1.0)
# Fragments are included in sorted order (daemon/ before lib/): name the
# archives of daemon/store.mk and lib/lib.mk literally.
SGD_CORE_A     := $(BUILD)/libstrigild-core.a
SGD_CORE_SAN_A := $(BUILD)/libstrigild-core-san.a

$(STRIGILD): $(STRIGILD_SRCS:%.c=$(BUILD)/obj/%.o) $(SGD_CORE_A) $(BUILD)/libstrigil.a
	$(CC) $(SG_CFLAGS) -o $@ $^ $(STRIGILD_CORE_LIBS) $(STRIGILD_LIBS) $(LIB_LIBS)
$(STRIGILD_SAN): $(STRIGILD_SRCS:%.c=$(BUILD)/san/%.o) $(SGD_CORE_SAN_A) $(BUILD)/libstrigil-san.a
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(STRIGILD_CORE_LIBS) $(STRIGILD_LIBS) $(LIB_LIBS)

ALL_TARGETS += $(STRIGILD)

# make demo: a private bus, strigild with a simulated instrument, a patient
# on anticoagulants, live strokes and alarms (daemon/demo.py).
DEMO_TARGET := demo-daemon
.PHONY: demo-daemon
demo-daemon: $(STRIGILD)
	-@$(MAKE) --no-print-directory $(BUILD)/strigilctl >/dev/null 2>&1 || \
	 echo "demo: strigilctl did not build; showing events without its monitor"
	@STRIGILD=$(abspath $(BUILD))/strigild /usr/bin/python3 daemon/demo.py
