build-clang/obj/tools/strigilctl/export.o: tools/strigilctl/export.c \
  tools/strigilctl/bus.h tools/strigilctl/ctl-json.h \
  tools/strigilctl/export-fmt.h tools/strigilctl/strigilctl.h

tools/strigilctl/bus.h:

tools/strigilctl/ctl-json.h:

tools/strigilctl/export-fmt.h:

tools/strigilctl/strigilctl.h:
