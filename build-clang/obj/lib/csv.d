build-clang/obj/lib/csv.o: lib/csv.c lib/strigil.h \
  include/strigil/protocol.h

lib/strigil.h:

include/strigil/protocol.h:
