# make demo's choice of view (clinic API helper): strigil-clinic when there
# is a display and the app is built, else the terminal (daemon/demoview.py).
.PHONY: check-demo-clinic
check-demo-clinic: $(BUILD)/strigild FORCE
	@$(RUN_TEST) demo-clinic /usr/bin/python3 tests/demo/test-demo-clinic.py $(TOP) $(BUILD)/strigild

CHECK_TARGETS += check-demo-clinic
