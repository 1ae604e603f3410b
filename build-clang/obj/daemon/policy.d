build-clang/obj/daemon/policy.o: daemon/policy.c daemon/policy.h

daemon/policy.h:
