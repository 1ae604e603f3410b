# strigil-clinic's desktop integration (clinic API helper; the app itself is
# tools/clinic/clinic.mk): the .desktop file, the AppStream metainfo (with
# the instrument's USB modalias, so software centres offer the app when one
# is plugged in) and the hicolor icon; `make install` installs them with the
# program, the Debian package strigil-clinic ships them (debian/).
#
# CLINIC_BIN is the app's binary: tools/clinic/clinic.mk (included before
# this file) names it CLINIC; it is installed when the app is built here
# (CLINIC_HAVE=yes: GTK 4 and libadwaita development files present), and
# skipped with a note otherwise, so the daemon's packages never need GTK.
CLINIC_BIN     ?= $(or $(CLINIC),$(BUILD)/strigil-clinic)
CLINIC_APP_ID  := org.strigil.Clinic
CLINIC_DESKTOP := tools/clinic/$(CLINIC_APP_ID).desktop
CLINIC_METAINFO := tools/clinic/$(CLINIC_APP_ID).metainfo.xml
CLINIC_ICON    := tools/clinic/$(CLINIC_APP_ID).svg
CLINIC_BUILT   := $(if $(filter yes,$(CLINIC_HAVE)),$(CLINIC_BIN))
CLINIC_MAN     := $(BUILD)/man/strigil-clinic.1

# strigil-clinic(1), from scdoc like strigild(8)
$(CLINIC_MAN): tools/clinic/strigil-clinic.1.scd
	@mkdir -p $(@D)
	scdoc < $< > $@

ALL_TARGETS += $(CLINIC_MAN)

.PHONY: install-clinic
install-clinic: $(CLINIC_BUILT) $(CLINIC_MAN)
	$(if $(CLINIC_BUILT),$(INSTALL_PROG) $(CLINIC_BIN) $(DESTDIR)$(BINDIR)/strigil-clinic,\
	  @echo "install: strigil-clinic not built here (GTK 4 / libadwaita missing), skipped" >&2)
	$(INSTALL_DATA) $(CLINIC_MAN) $(DESTDIR)$(MANDIR)/man1/strigil-clinic.1
	$(INSTALL_DATA) $(CLINIC_DESKTOP) $(DESTDIR)$(DATADIR)/applications/$(CLINIC_APP_ID).desktop
	$(INSTALL_DATA) $(CLINIC_METAINFO) $(DESTDIR)$(DATADIR)/metainfo/$(CLINIC_APP_ID).metainfo.xml
	$(INSTALL_DATA) $(CLINIC_ICON) $(DESTDIR)$(DATADIR)/icons/hicolor/scalable/apps/$(CLINIC_APP_ID).svg

install: install-clinic
programs: $(CLINIC_BUILT) $(CLINIC_MAN)

# The files validate with the tools the desktop reads them with:
# desktop-file-validate (desktop-file-utils) and appstreamcli (appstream,
# --pedantic: only the pedantic note that the id has capitals, which the
# application id org.strigil.Clinic needs, is accepted), and they agree
# (one id, one binary, one icon name).
.PHONY: check-clinic-desktop
check-clinic-desktop: $(CLINIC_BUILT) FORCE
	@$(RUN_TEST) clinic-desktop tests/api/test-desktop.sh $(TOP) $(CLINIC_BUILT)

CHECK_TARGETS += check-clinic-desktop
