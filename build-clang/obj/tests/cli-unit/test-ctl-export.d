build-clang/obj/tests/cli-unit/test-ctl-export.o: \
  tests/cli-unit/test-ctl-export.c tests/cli-unit/../unit/check.h \
  tools/strigilctl/strigilctl.h tools/strigilctl/ctl-json.h \
  tools/strigilctl/export-fmt.h

tests/cli-unit/../unit/check.h:

tools/strigilctl/strigilctl.h:

tools/strigilctl/ctl-json.h:

tools/strigilctl/export-fmt.h:
