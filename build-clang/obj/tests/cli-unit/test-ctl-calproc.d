build-clang/obj/tests/cli-unit/test-ctl-calproc.o: \
  tests/cli-unit/test-ctl-calproc.c tests/cli-unit/../unit/check.h \
  tools/strigilctl/strigilctl.h tools/strigilctl/cal-proc.h \
  lib/strigil.h include/strigil/protocol.h

tests/cli-unit/../unit/check.h:

tools/strigilctl/strigilctl.h:

tools/strigilctl/cal-proc.h:

lib/strigil.h:

include/strigil/protocol.h:
