# strigil-clinic (issue 13): the clinician's GTK 4 + libadwaita app, a
# D-Bus client of strigild only. Built when the GTK 4 and libadwaita
# development packages are installed (scripts/deps/clinic.txt); without
# them `make` builds everything else and says how to get the app, since
# the daemon needs no GTK.
CLINIC_PKGS    := gtk4 libadwaita-1 gio-unix-2.0
CLINIC_HAVE    := $(shell pkg-config --exists 'gtk4 >= 4.8' 'libadwaita-1 >= 1.2' gio-unix-2.0 2>/dev/null && command -v gdbus-codegen >/dev/null && echo yes)
CLINIC         := $(BUILD)/strigil-clinic
CLINIC_GEN     := $(BUILD)/clinic-gen
CLINIC_OBJDIR  := $(BUILD)/clinic-obj
CLINIC_XML     := daemon/org.strigil.Strigil1.xml
# Pure parts (no GTK): also linked into the unit test.
CLINIC_PURE    := tools/clinic/clinic-util.c tools/clinic/clinic-ring.c \
		  tools/clinic/clinic-stream.c tools/clinic/clinic-report-model.c
CLINIC_SRCS    := $(CLINIC_PURE) tools/clinic/main.c tools/clinic/clinic-service.c \
		  tools/clinic/clinic-window.c tools/clinic/clinic-patients.c \
		  tools/clinic/clinic-treatment.c tools/clinic/clinic-history.c \
		  tools/clinic/clinic-trace.c tools/clinic/clinic-plot.c \
		  tools/clinic/clinic-report.c
CLINIC_UI      := $(wildcard tools/clinic/*.ui tools/clinic/*.css)
CLINIC_CFLAGS   = $(call pkgcfg,--cflags,$(CLINIC_PKGS))
CLINIC_LIBS     = $(call pkgcfg,--libs,$(CLINIC_PKGS)) -lm
CLINIC_VERSION  := $(shell sed -n 's/.*SG_VERSION_STRING "\(.*\)"/\1/p' lib/strigil.h)
CLINIC_CPPFLAGS := -DCLINIC_VERSION=\"$(CLINIC_VERSION)\" -Iinclude -Itools/clinic -I$(CLINIC_GEN) -D_GNU_SOURCE \
		   -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 \
		   -DGDK_VERSION_MIN_REQUIRED=GDK_VERSION_4_8 \
		   -DADW_VERSION_MIN_REQUIRED=ADW_VERSION_1_2

# The proxies come from the XML at every build (the XML is the contract).
# OpenStream's fd comes with its GUnixFDList; calls take GDBusCallFlags
# (ALLOW_INTERACTIVE_AUTHORIZATION for polkit prompts).
$(CLINIC_GEN)/strigil-dbus.c $(CLINIC_GEN)/strigil-dbus.h: $(CLINIC_XML) tools/clinic/clinic.mk
	@mkdir -p $(CLINIC_GEN)
	gdbus-codegen --interface-prefix org.strigil.Strigil1. --c-namespace Strigil \
	  --glib-min-required 2.64 \
	  --annotate "org.strigil.Strigil1.Instrument.OpenStream()" org.gtk.GDBus.C.UnixFD true \
	  --output-directory $(CLINIC_GEN) --generate-c-code strigil-dbus $(CLINIC_XML)
$(CLINIC_GEN)/clinic-resources.c: tools/clinic/clinic.gresource.xml $(CLINIC_UI)
	@mkdir -p $(CLINIC_GEN)
	glib-compile-resources --sourcedir tools/clinic --generate-source --target $@ $<

# Generated code is not ours to fix: the same warnings minus the two its
# static helpers and GType boilerplate trip on.
CLINIC_GEN_WARN := $(filter-out -Wmissing-prototypes -Wshadow,$(SG_WARN)) -Wno-unused-function
$(CLINIC_OBJDIR)/gen/%.o: $(CLINIC_GEN)/%.c
	@mkdir -p $(@D)
	$(CC) $(CLINIC_CPPFLAGS) $(CLINIC_CFLAGS) $(CLINIC_GEN_WARN) $(CFLAGS) -c $< -o $@
$(CLINIC_OBJDIR)/%.o: tools/clinic/%.c $(CLINIC_GEN)/strigil-dbus.h
	@mkdir -p $(@D)
	$(CC) $(CLINIC_CPPFLAGS) $(CLINIC_CFLAGS) $(SG_WARN) $(CFLAGS) -MMD -MP -c $< -o $@
-include $(wildcard $(CLINIC_OBJDIR)/*.d)

CLINIC_OBJS := $(CLINIC_SRCS:tools/clinic/%.c=$(CLINIC_OBJDIR)/%.o) \
	       $(CLINIC_OBJDIR)/gen/strigil-dbus.o $(CLINIC_OBJDIR)/gen/clinic-resources.o

$(CLINIC): $(CLINIC_OBJS)
	$(CC) $(SG_WARN) $(CFLAGS) -o $@ $^ $(CLINIC_LIBS)

# The ASan+UBSan build the end-to-end test runs (as the daemon's tests run
# strigild-san).
CLINIC_SAN       := $(BUILD)/strigil-clinic-san
CLINIC_SAN_OBJDIR := $(BUILD)/clinic-san-obj
$(CLINIC_SAN_OBJDIR)/gen/%.o: $(CLINIC_GEN)/%.c
	@mkdir -p $(@D)
	$(CC) $(CLINIC_CPPFLAGS) $(CLINIC_CFLAGS) $(filter-out -Wmissing-prototypes -Wshadow,$(SAN_CFLAGS)) -Wno-unused-function -c $< -o $@
$(CLINIC_SAN_OBJDIR)/%.o: tools/clinic/%.c $(CLINIC_GEN)/strigil-dbus.h
	@mkdir -p $(@D)
	$(CC) $(CLINIC_CPPFLAGS) $(CLINIC_CFLAGS) $(SAN_CFLAGS) -MMD -MP -c $< -o $@
-include $(wildcard $(CLINIC_SAN_OBJDIR)/*.d)
$(CLINIC_SAN): $(CLINIC_OBJS:$(CLINIC_OBJDIR)/%=$(CLINIC_SAN_OBJDIR)/%)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(CLINIC_LIBS)

.PHONY: clinic clinic-missing
ifeq ($(CLINIC_HAVE),yes)
clinic: $(CLINIC)
ALL_TARGETS += $(CLINIC)
else
clinic: clinic-missing
ALL_TARGETS += clinic-missing
endif
clinic-missing:
	@echo "clinic: strigil-clinic not built: GTK 4.8 / libadwaita 1.2 development files missing" \
	      "(install them with: scripts/deps.sh clinic)"

# ---- tests -----------------------------------------------------------------
# The pure halves need no GTK: their unit test always runs (and under
# ASan+UBSan). The end-to-end test needs GTK, Xvfb, AT-SPI and poppler:
# it is wired into make check only when they are installed (make check
# installs scripts/deps/clinic.txt first). It runs the ASan+UBSan build of
# the app (leak detection off: GTK's caches live until exit by design) and
# fails on any sanitizer report, GLib critical or warning in its log.
CLINIC_UNIT     := $(BUILD)/clinic-unit/test-clinic-unit
CLINIC_UNIT_SRC := tests/clinic/test-clinic-unit.c $(CLINIC_PURE)
$(CLINIC_UNIT): $(CLINIC_UNIT_SRC) $(wildcard tools/clinic/*.h)
	@mkdir -p $(@D)
	$(CC) -Iinclude -Itools/clinic -D_GNU_SOURCE $(SAN_CFLAGS) -o $@ $(CLINIC_UNIT_SRC) -lm

.PHONY: check-clinic-unit check-clinic
check-clinic-unit: $(CLINIC_UNIT) FORCE
	@$(RUN_TEST) clinic-unit $(CLINIC_UNIT)
CHECK_TARGETS += check-clinic-unit

CLINIC_TEST_HAVE := $(shell command -v Xvfb >/dev/null && command -v pdftotext >/dev/null && \
	test -x /usr/libexec/at-spi-bus-launcher && /usr/bin/python3 -c 'import pyatspi' 2>/dev/null && echo yes)
check-clinic: $(CLINIC_SAN) $(BUILD)/strigild-san FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild-san STRIGIL_CLINIC=$(abspath $(CLINIC_SAN)) SG_TOP=$(TOP) \
	 ASAN_OPTIONS=detect_leaks=0 \
	 CLINIC_SHOTS=$(abspath $(BUILD))/clinic-shots \
	 $(RUN_TEST) clinic /usr/bin/python3 tests/clinic/test_clinic.py
# Passes per burst with an instrument that has shear channels (a fake IIO
# device): a recorded test of its own, run by check-clinic too.
.PHONY: check-clinic-bursts
check-clinic: check-clinic-bursts
check-clinic-bursts: $(CLINIC_SAN) $(BUILD)/strigild-san FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild-san STRIGIL_CLINIC=$(abspath $(CLINIC_SAN)) SG_TOP=$(TOP) \
	 ASAN_OPTIONS=detect_leaks=0 \
	 CLINIC_SHOTS=$(abspath $(BUILD))/clinic-shots \
	 $(RUN_TEST) clinic-bursts /usr/bin/python3 tests/clinic/test_clinic_bursts.py
# The Patients screen against a daemon of API level 2 (the dbusmock
# template without Manager.ListProfiles): the Manager.Profiles fallback.
.PHONY: check-clinic-level2
check-clinic: check-clinic-level2
check-clinic-level2: $(CLINIC_SAN) FORCE
	@STRIGIL_CLINIC=$(abspath $(CLINIC_SAN)) SG_TOP=$(TOP) \
	 ASAN_OPTIONS=detect_leaks=0 \
	 CLINIC_SHOTS=$(abspath $(BUILD))/clinic-shots \
	 $(RUN_TEST) clinic-level2 /usr/bin/python3 tests/clinic/test_clinic_level2.py
ifeq ($(CLINIC_HAVE)$(CLINIC_TEST_HAVE),yesyes)
CHECK_TARGETS += check-clinic
endif

# make bench: the app with a 1 kHz stream (fps, CPU, RSS, alarm drawn).
.PHONY: bench-clinic
bench-clinic: $(CLINIC) $(BUILD)/strigild FORCE
	@STRIGILD=$(abspath $(BUILD))/strigild STRIGIL_CLINIC=$(abspath $(CLINIC)) SG_TOP=$(TOP) \
	 /usr/bin/python3 tests/clinic/bench_clinic.py $(BUILD)
ifeq ($(CLINIC_HAVE)$(CLINIC_TEST_HAVE),yesyes)
BENCH_TARGETS += bench-clinic
endif
