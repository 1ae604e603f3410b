build-clang/obj/tools/strigilctl/export-fmt.o: \
  tools/strigilctl/export-fmt.c tools/strigilctl/ctl-json.h \
  tools/strigilctl/export-fmt.h

tools/strigilctl/ctl-json.h:

tools/strigilctl/export-fmt.h:
