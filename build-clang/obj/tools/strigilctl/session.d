build-clang/obj/tools/strigilctl/session.o: tools/strigilctl/session.c \
  tools/strigilctl/bus.h tools/strigilctl/ctl-json.h \
  tools/strigilctl/strigilctl.h

tools/strigilctl/bus.h:

tools/strigilctl/ctl-json.h:

tools/strigilctl/strigilctl.h:
