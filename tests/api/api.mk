# The D-Bus contract for app developers (clinic API helper): the XML, its
# documentation and the python-dbusmock template cannot drift apart.
.PHONY: check-api check-api-docs
check-api-docs: FORCE
	@$(RUN_TEST) api-docs /usr/bin/python3 tests/api/check-api-docs.py $(TOP)

check-api: check-api-docs
CHECK_TARGETS += check-api

# The template on a real dbus-daemon, from the tree and as make install puts
# it (it must find the XML next to it there too).
API_MOCK_ROOT := $(BUILD)/api-install
.PHONY: check-api-dbusmock check-api-dbusmock-installed
check-api-dbusmock: FORCE
	@$(RUN_TEST) api-dbusmock /usr/bin/python3 tests/api/test-dbusmock.py $(TOP)

check-api-dbusmock-installed: FORCE
	@rm -rf $(API_MOCK_ROOT)
	@$(MAKE) --no-print-directory install-api DESTDIR=$(abspath $(API_MOCK_ROOT)) PREFIX=/usr >/dev/null
	@$(RUN_TEST) api-dbusmock-installed /usr/bin/python3 tests/api/test-dbusmock.py $(TOP) \
		$(abspath $(API_MOCK_ROOT))/usr/share/strigil/dbusmock/strigild.py

check-api: check-api-dbusmock check-api-dbusmock-installed
