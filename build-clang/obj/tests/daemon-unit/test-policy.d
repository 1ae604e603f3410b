build-clang/obj/tests/daemon-unit/test-policy.o: \
  tests/daemon-unit/test-policy.c tests/unit/check.h daemon/policy.h

tests/unit/check.h:

daemon/policy.h:
