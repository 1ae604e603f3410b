build-clang/obj/lib/calib.o: lib/calib.c lib/strigil.h \
  include/strigil/protocol.h

lib/strigil.h:

include/strigil/protocol.h:
