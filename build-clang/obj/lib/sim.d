build-clang/obj/lib/sim.o: lib/sim.c lib/strigil.h \
  include/strigil/protocol.h

lib/strigil.h:

include/strigil/protocol.h:
