# make demo interrupted: Ctrl-C (SIGINT to the demo's process group, as a
# terminal sends it) ends daemon/demo.py with its summary, exit 0, no
# traceback, no helper and no file left behind (tests/demo/test-demo.py).
.PHONY: check-demo
check-demo: $(STRIGILD) FORCE
	@STRIGILD=$(abspath $(STRIGILD)) $(RUN_TEST) demo-interrupt \
	 timeout -k 10 300 /usr/bin/python3 tests/demo/test-demo.py

CHECK_TARGETS += check-demo
