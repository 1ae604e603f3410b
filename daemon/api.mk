# What app developers build and test against (clinic API helper): the
# interface XML (gdbus-codegen input; $(DATADIR)/dbus-1/interfaces, where
# such files go) and the python-dbusmock template of strigild
# ($(DATADIR)/strigil/dbusmock/strigild.py; docs/dbus-api.md "Testing a
# client without the daemon"). The template finds the XML relative to
# itself, installed or in the tree. make install runs this too.
.PHONY: install-api
install-api:
	$(INSTALL_DATA) daemon/org.strigil.Strigil1.xml $(DESTDIR)$(DATADIR)/dbus-1/interfaces/org.strigil.Strigil1.xml
	$(INSTALL_DATA) daemon/dbusmock/strigild.py $(DESTDIR)$(DATADIR)/strigil/dbusmock/strigild.py

install: install-api
