build-clang/obj/tools/strigilctl/cal-proc.o: tools/strigilctl/cal-proc.c \
  tools/strigilctl/cal-proc.h lib/strigil.h include/strigil/protocol.h \
  tools/strigilctl/ctl-json.h

tools/strigilctl/cal-proc.h:

lib/strigil.h:

include/strigil/protocol.h:

tools/strigilctl/ctl-json.h:
