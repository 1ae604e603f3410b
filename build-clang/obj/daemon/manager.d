build-clang/obj/daemon/manager.o: daemon/manager.c daemon/strigild.h \
  lib/strigil.h include/strigil/protocol.h daemon/policy.h \
  daemon/rules.h daemon/storage.h

daemon/strigild.h:

lib/strigil.h:

include/strigil/protocol.h:

daemon/policy.h:

daemon/rules.h:

daemon/storage.h:
