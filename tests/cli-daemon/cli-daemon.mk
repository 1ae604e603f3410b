# strigilctl against the real strigild on a private bus (tests/integration's
# harness: private dbus-daemon with our bus policy, polkit mock, strigild-san
# with simulated instruments). strigilctl itself runs as an ASan+UBSan build.
# Fragments are included in sorted order (tests/ before tools/): targets of
# other fragments are named literally.
CTL_SAN_SRCS := $(sort $(wildcard tools/strigilctl/*.c))
STRIGILCTL_SAN := $(BUILD)/strigilctl-san

$(STRIGILCTL_SAN): $(CTL_SAN_SRCS:%.c=$(BUILD)/san/%.o) $(BUILD)/libstrigil-san.a
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(call pkgcfg,--libs,libsystemd json-c) $(LIB_LIBS)

.PHONY: check-cli-daemon check-cli-docs check-cli-export
ifeq ($(words $(wildcard daemon/daemon.mk tests/integration/harness.py)),2)
check-cli-daemon: $(STRIGILCTL_SAN) $(BUILD)/strigild-san FORCE
	@SG_TOP=$(TOP) STRIGILCTL=$(TOP)/$(STRIGILCTL_SAN) STRIGILD=$(TOP)/$(BUILD)/strigild-san \
	 $(RUN_TEST) cli-daemon timeout -k 10 600 /usr/bin/python3 tests/cli-daemon/test_cli.py
	@SG_TOP=$(TOP) STRIGILCTL=$(TOP)/$(STRIGILCTL_SAN) STRIGILD=$(TOP)/$(BUILD)/strigild-san \
	 $(RUN_TEST) cli-daemon-records timeout -k 10 600 /usr/bin/python3 tests/cli-daemon/test_records_cli.py
	@SG_TOP=$(TOP) STRIGILCTL=$(TOP)/$(STRIGILCTL_SAN) STRIGILD=$(TOP)/$(BUILD)/strigild-san \
	 $(RUN_TEST) cli-daemon-profiles timeout -k 10 600 /usr/bin/python3 tests/cli-daemon/test_profiles_cli.py
# Exports and the report of a session across regions, sides and a pause; the
# multi-visit FHIR Bundle against the official FHIR R4 JSON schema (npm
# packages pinned in tests/fhir, installed into $(BUILD)/fhir).
check-cli-export: $(STRIGILCTL_SAN) $(BUILD)/strigild-san FORCE
	@SG_TOP=$(TOP) STRIGILCTL=$(TOP)/$(STRIGILCTL_SAN) STRIGILD=$(TOP)/$(BUILD)/strigild-san \
	 FHIR_VALIDATE="node $(TOP)/$(BUILD)/fhir/validate.js" \
	 $(RUN_TEST) cli-export sh -c 'scripts/fhir-schema.sh $(BUILD)/fhir && \
	 timeout -k 10 600 /usr/bin/python3 tests/cli-daemon/test_export.py'
else
# Not a pass: said loudly, and counted nowhere, until strigild is in the tree.
check-cli-daemon check-cli-export:
	@echo "SKIP: $@ (strigild or tests/integration/harness.py not in this tree)"
endif

# The man page renders without warnings; completion offers verbs and options.
check-cli-docs: $(BUILD)/man/strigilctl.1 FORCE
	@$(RUN_TEST) cli-man sh -c 'MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l $< 2>&1 >/dev/null | \
	 (! grep .) && MANWIDTH=80 man -l $< | grep -q "EXIT STATUS"'
	@$(RUN_TEST) cli-completion bash tests/cli-daemon/test-completion.sh \
	 tools/strigilctl/strigilctl.bash-completion

CHECK_TARGETS += check-cli-daemon check-cli-docs check-cli-export

