# The D-Bus contract for app developers (clinic API helper): the XML, its
# documentation and the python-dbusmock template cannot drift apart.
.PHONY: check-api check-api-docs
check-api-docs: FORCE
	@$(RUN_TEST) api-docs /usr/bin/python3 tests/api/check-api-docs.py $(TOP)

check-api: check-api-docs
CHECK_TARGETS += check-api
