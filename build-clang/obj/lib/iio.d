build-clang/obj/lib/iio.o: lib/iio.c lib/sg-iio.h lib/strigil.h \
  include/strigil/protocol.h

lib/sg-iio.h:

lib/strigil.h:

include/strigil/protocol.h:
