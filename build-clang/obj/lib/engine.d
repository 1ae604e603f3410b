build-clang/obj/lib/engine.o: lib/engine.c lib/strigil.h \
  include/strigil/protocol.h

lib/strigil.h:

include/strigil/protocol.h:
