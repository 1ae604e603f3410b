# Deployment checks (udev, hwdb, systemd unit, polkit, install, Debian packages).
# The namespace tests (udev, polkit) need root: make check runs as root here
# and in CI (scripts/deps.sh installs as root too).

DEPLOY_UNIT    := $(BUILD)/packaging/strigild.service
DEPLOY_DAEMON  := $(if $(wildcard daemon/daemon.mk),$(STRIGILD))
DEPLOY_POLICY  := daemon/org.strigil.Strigil1.policy

.PHONY: deploy-check
deploy-check: deploy-check-udev deploy-check-hwdb deploy-check-unit deploy-check-polkit deploy-check-install deploy-check-deb deploy-check-security

deploy-check-udev: FORCE
	@$(RUN_TEST) deploy-udev tests/deploy/test-udev.sh

deploy-check-hwdb: FORCE
	@$(RUN_TEST) deploy-hwdb tests/deploy/test-hwdb.sh

deploy-check-unit: $(DEPLOY_UNIT) $(DEPLOY_DAEMON) FORCE
	@$(RUN_TEST) deploy-unit tests/deploy/test-unit.sh $(DEPLOY_UNIT) $(or $(DEPLOY_DAEMON),daemon-not-built)

deploy-check-polkit: FORCE
	@$(RUN_TEST) deploy-polkit tests/deploy/test-polkit.sh $(DEPLOY_POLICY) \
		packaging/polkit/50-strigil.rules daemon

CHECK_TARGETS += deploy-check-udev deploy-check-hwdb deploy-check-unit deploy-check-polkit

# make deb, then a real dpkg -i (maintainer scripts, triggers, DKMS build)
# into a copy-on-write clone of this machine's root; see test-deb.sh.
# Then lintian --pedantic on the same build (source and binary packages): 0
# errors, 0 warnings (test-lintian.sh); it runs even if the install failed.
deploy-check-deb: FORCE
	@rc=0; $(RUN_TEST) deploy-deb sh -c '$(MAKE) --no-print-directory deb && tests/deploy/test-deb.sh $(DEB_DIR)' || rc=1; \
	 $(RUN_TEST) deploy-lintian tests/deploy/test-lintian.sh $(DEB_DIR) || rc=1; exit $$rc

CHECK_TARGETS += deploy-check-deb

deploy-check-install: all FORCE
	@$(RUN_TEST) deploy-install tests/deploy/test-install.sh

CHECK_TARGETS += deploy-check-install

# strigild on a real system bus with our bus policy, the real polkitd and
# our rules: refusals (database unchanged), flood, fuzz. See test-security.sh.
deploy-check-security: $(DEPLOY_DAEMON) FORCE
	@$(RUN_TEST) deploy-security tests/deploy/test-security.sh $(or $(DEPLOY_DAEMON),daemon-not-built)

CHECK_TARGETS += deploy-check-security

# The whole chain in a VM with a real systemd (tests/vm/chain/run-chain.sh):
# each CHAIN line is a recorded test vm-chain-NAME. About 2 minutes (TCG).
.PHONY: vm-chain-check
vm-chain-check: FORCE
	@$(MAKE) --no-print-directory $(GADGET) programs
	@tests/vm/chain/run-chain.sh $(BUILD)

CHECK_TARGETS += vm-chain-check

# Heavier variant, not in make check: the same install test in a fresh
# debootstrap'ed Debian 12 (downloads a minimal system and the packages'
# dependencies from the mirror apt uses; a few minutes).
.PHONY: deb-chroot-check
deb-chroot-check: FORCE
	@$(RUN_TEST) deploy-deb-chroot sh -c '$(MAKE) --no-print-directory deb && tests/deploy/test-deb.sh $(DEB_DIR) --debootstrap'
