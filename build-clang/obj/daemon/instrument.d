build-clang/obj/daemon/instrument.o: daemon/instrument.c daemon/stream.h \
  daemon/strigild.h lib/strigil.h include/strigil/protocol.h \
  daemon/policy.h daemon/rules.h daemon/storage.h

daemon/stream.h:

daemon/strigild.h:

lib/strigil.h:

include/strigil/protocol.h:

daemon/policy.h:

daemon/rules.h:

daemon/storage.h:
