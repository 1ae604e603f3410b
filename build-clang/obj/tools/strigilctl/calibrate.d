build-clang/obj/tools/strigilctl/calibrate.o: \
  tools/strigilctl/calibrate.c tools/strigilctl/bus.h \
  tools/strigilctl/cal-proc.h lib/strigil.h include/strigil/protocol.h \
  tools/strigilctl/ctl-json.h tools/strigilctl/strigilctl.h

tools/strigilctl/bus.h:

tools/strigilctl/cal-proc.h:

lib/strigil.h:

include/strigil/protocol.h:

tools/strigilctl/ctl-json.h:

tools/strigilctl/strigilctl.h:
