# make deb: Debian packages (strigil, strigil-dkms) with dpkg-buildpackage
# and debhelper, built from a copy of the tree in $(BUILD)/deb/src so that
# nothing is written next to the work tree; the .debs land in $(BUILD)/deb.
DEB_DIR := $(BUILD)/deb
DEBS     = $(wildcard $(DEB_DIR)/*.deb)

.PHONY: deb
deb:
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	tar --exclude=./.git --exclude='./build*' --exclude=./$(BUILD) --exclude=./debian/build \
	    --exclude='./debian/.debhelper' -cf - . | tar -C $(DEB_DIR)/src -xf -
	cd $(DEB_DIR)/src && dpkg-buildpackage --build=full --no-sign -j2 >../build.log 2>&1 \
	  || { tail -n 40 ../build.log; echo "deb: dpkg-buildpackage failed, log: $(DEB_DIR)/build.log" >&2; exit 1; }
	@ls -1 $(DEB_DIR)/*.deb
