# The whole userspace tree built a second time with clang, in its own build
# directory, with the same -Werror flags: clang checks things gcc does not
# (format strings passed through va_list helpers need
# __attribute__((format(printf, ...))), -Wformat-nonliteral). `make CC=clang`
# must keep building; this is what makes a regression fail make check.
CLANG_BUILD := $(BUILD)/clang

.PHONY: check-clang
check-clang: FORCE
	@$(RUN_TEST) build-clang $(MAKE) --no-print-directory BUILD=$(CLANG_BUILD) CC=$(CLANG) all

CHECK_TARGETS += check-clang
