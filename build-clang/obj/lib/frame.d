build-clang/obj/lib/frame.o: lib/frame.c lib/strigil.h \
  include/strigil/protocol.h

lib/strigil.h:

include/strigil/protocol.h:
