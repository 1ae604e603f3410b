# make install DESTDIR= PREFIX=: the whole stack in its system places.
#
# Binaries, man page and completion go under PREFIX; the places systemd,
# udev, D-Bus and polkit read are taken from their pkg-config files (as
# Debian builds them), so a PREFIX=/usr/local install is still found.
# Other parts provide their files through variables: STRIGILCTL (tools/),
# STRIGILD and DAEMON_MAN (daemon/), CLI_MAN and CLI_COMPLETION (cli), KMOD_SRCS and
# driver/dkms.conf (driver/); what a part has not landed yet is skipped.

SG_VERSION    := $(shell sed -n 's/^\#define SG_VERSION_STRING "\(.*\)"/\1/p' lib/strigil.h)
BINDIR        ?= $(PREFIX)/bin
LIBEXECDIR    ?= $(PREFIX)/libexec
DATADIR       ?= $(PREFIX)/share
MANDIR        ?= $(DATADIR)/man
SYSCONFDIR    ?= /etc
# The vendor clinic policy: a fixed path, as strigild reads it there
# whatever the PREFIX (daemon/policy-files.h); /etc/strigil overrides it.
STRIGILDATADIR ?= /usr/share/strigil
SRCDIR        ?= /usr/src
UDEVDIR       ?= $(or $(call pkgcfg,--variable=udevdir,udev),/lib/udev)
UNITDIR       ?= $(or $(call pkgcfg,--variable=systemdsystemunitdir,systemd),/lib/systemd/system)
SYSUSERSDIR   ?= $(or $(call pkgcfg,--variable=sysusersdir,systemd),/usr/lib/sysusers.d)
TMPFILESDIR   ?= $(or $(call pkgcfg,--variable=tmpfilesdir,systemd),/usr/lib/tmpfiles.d)
DBUSDATADIR   ?= /usr/share/dbus-1
POLKITDIR     ?= /usr/share/polkit-1
COMPLETIONDIR ?= $(or $(call pkgcfg,--variable=completionsdir,bash-completion),$(DATADIR)/bash-completion/completions)

STRIGILD ?= $(BUILD)/strigild
SG_DKMS_CONF := $(wildcard driver/dkms.conf)
SG_DAEMON_FILES := $(wildcard daemon/org.strigil.Strigil1.conf daemon/org.strigil.Strigil1.policy daemon/policy.conf)

# The unit names the daemon by its installed path (make install writes its
# own copy for its LIBEXECDIR; this one is for the checks).
$(BUILD)/packaging/strigild.service: packaging/systemd/strigild.service packaging/install.mk
	@mkdir -p $(@D)
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' $< >$@

INSTALL      ?= install
INSTALL_DATA := $(INSTALL) -D -m 0644
INSTALL_PROG := $(INSTALL) -D -m 0755

# "programs" builds only what make install installs (not the tests and
# tools); the variables come from fragments included after this one, hence
# the sub-make in the recipe.
.PHONY: install programs
programs:
	@$(MAKE) --no-print-directory $(STRIGILCTL) $(if $(wildcard daemon/daemon.mk),$(STRIGILD)) $(CLI_MAN) $(DAEMON_MAN) $(SYNC) $(if $(SYNC),$(SYNC_MAN))

install: programs
	$(INSTALL_PROG) $(STRIGILCTL) $(DESTDIR)$(BINDIR)/strigilctl
	$(if $(wildcard $(STRIGILD)),$(INSTALL_PROG) $(STRIGILD) $(DESTDIR)$(LIBEXECDIR)/strigild,@echo "install: no $(STRIGILD) (daemon not built), skipped" >&2)
	@mkdir -p $(DESTDIR)$(UNITDIR)
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' packaging/systemd/strigild.service >$(DESTDIR)$(UNITDIR)/strigild.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/strigild.service
	$(INSTALL_DATA) packaging/systemd/strigil.sysusers $(DESTDIR)$(SYSUSERSDIR)/strigil.conf
	$(INSTALL_DATA) packaging/systemd/strigil.tmpfiles $(DESTDIR)$(TMPFILESDIR)/strigil.conf
	$(INSTALL_DATA) udev/70-strigil.rules $(DESTDIR)$(UDEVDIR)/rules.d/70-strigil.rules
	$(INSTALL_DATA) udev/70-strigil.hwdb $(DESTDIR)$(UDEVDIR)/hwdb.d/70-strigil.hwdb
	$(INSTALL_PROG) udev/strigil-iio-access $(DESTDIR)$(UDEVDIR)/strigil-iio-access
	$(INSTALL_DATA) packaging/dbus/org.strigil.Strigil1.service \
		$(DESTDIR)$(DBUSDATADIR)/system-services/org.strigil.Strigil1.service
	$(if $(filter %.conf,$(SG_DAEMON_FILES)),$(INSTALL_DATA) daemon/org.strigil.Strigil1.conf \
		$(DESTDIR)$(DBUSDATADIR)/system.d/org.strigil.Strigil1.conf)
	$(if $(filter %.policy,$(SG_DAEMON_FILES)),$(INSTALL_DATA) daemon/org.strigil.Strigil1.policy \
		$(DESTDIR)$(POLKITDIR)/actions/org.strigil.Strigil1.policy)
	$(INSTALL_DATA) packaging/polkit/50-strigil.rules $(DESTDIR)$(POLKITDIR)/rules.d/50-strigil.rules
	$(INSTALL_DATA) packaging/appstream/org.strigil.strigild.metainfo.xml \
		$(DESTDIR)$(DATADIR)/metainfo/org.strigil.strigild.metainfo.xml
	$(if $(SYNC),$(INSTALL_PROG) $(SYNC) $(DESTDIR)$(LIBEXECDIR)/strigil-sync)
	$(if $(SYNC),sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' packaging/systemd/strigil-sync.service \
		>$(DESTDIR)$(UNITDIR)/strigil-sync.service && chmod 0644 $(DESTDIR)$(UNITDIR)/strigil-sync.service)
	$(if $(SYNC),$(INSTALL_DATA) sync/org.strigil.Sync1.conf $(DESTDIR)$(DBUSDATADIR)/system.d/org.strigil.Sync1.conf)
	$(if $(SYNC),$(foreach f,$(wildcard sync/central/*.sql),$(INSTALL_DATA) $(f) $(DESTDIR)$(DATADIR)/strigil/central/$(notdir $(f));))
	$(if $(SYNC),$(INSTALL_DATA) sync/sync.conf.example $(DESTDIR)$(DATADIR)/strigil/sync.conf.example)
	$(if $(SYNC),$(INSTALL_DATA) $(SYNC_MAN) $(DESTDIR)$(MANDIR)/man8/strigil-sync.8)
	$(if $(filter %/policy.conf,$(SG_DAEMON_FILES)),$(INSTALL_DATA) daemon/policy.conf \
		$(DESTDIR)$(STRIGILDATADIR)/policy.conf)
	$(foreach m,$(CLI_MAN) $(DAEMON_MAN),$(INSTALL_DATA) $(m) $(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m));)
	$(if $(CLI_COMPLETION),$(INSTALL_DATA) $(CLI_COMPLETION) $(DESTDIR)$(COMPLETIONDIR)/strigilctl)
	$(if $(SG_DKMS_CONF),$(foreach f,$(KMOD_SRCS) driver/dkms.conf,\
		$(INSTALL_DATA) $(f) $(DESTDIR)$(SRCDIR)/strigil-$(DKMS_VERSION)/$(subst driver/dkms.conf,dkms.conf,$(f));))
