# strigild (daemon helper): the D-Bus daemon. Links libstrigild-core
# (storage, policy, rules: daemon/store.mk) and libstrigil.
STRIGILD_SRCS := daemon/main.c daemon/util.c daemon/auth.c daemon/manager.c \
	daemon/instrument.c daemon/backend-sim.c daemon/backend-iio.c \
	daemon/backend-usb.c daemon/hotplug.c daemon/profile.c daemon/session.c \
	daemon/network.c
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
# on anticoagulants, live strokes and alarms (daemon/demo.py), in
# strigil-clinic when there is a display and the app builds here
# (CLINIC_BUILT, tools/clinic/desktop.mk), else in the terminal.
DEMO_TARGET := demo-daemon
DEMO_DEPS   := demo
.PHONY: demo-daemon
demo-daemon: $(STRIGILD)
	-@$(MAKE) --no-print-directory $(BUILD)/strigilctl >/dev/null 2>&1 || \
	 echo "demo: strigilctl did not build; showing events without its monitor"
	$(if $(CLINIC_BUILT),-@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	 $(MAKE) --no-print-directory $(CLINIC_BUILT) >/dev/null 2>&1 || \
	 echo "demo: strigil-clinic did not build; showing the terminal monitor"; fi)
	@STRIGILD=$(abspath $(BUILD))/strigild STRIGIL_CLINIC=$(abspath $(CLINIC_BIN)) \
	 /usr/bin/python3 daemon/demo.py

# strigild(8), from scdoc like strigilctl(1) (tools/strigilctl/cli.mk);
# make install puts it in $(MANDIR)/man8 (packaging/install.mk).
DAEMON_MAN_SRC := daemon/strigild.8.scd
DAEMON_MAN     := $(BUILD)/man/strigild.8

$(DAEMON_MAN): $(DAEMON_MAN_SRC)
	@mkdir -p $(@D)
	scdoc < $< > $@

ALL_TARGETS += $(DAEMON_MAN)

# The page cannot drift from the code: it renders without warnings, its
# OPTIONS are exactly those of `strigild --help` and main.c's getopt table
# (arguments included), its JOURNAL section names exactly the fields and
# events daemon/*.c sends, its FILES are where make install puts them.
.PHONY: check-daemon-man
check-daemon-man: $(STRIGILD) $(DAEMON_MAN) FORCE
	@$(RUN_TEST) daemon-man tests/daemon-unit/test-man.sh $(STRIGILD) $(DAEMON_MAN) $(TOP)

CHECK_TARGETS += check-daemon-man
