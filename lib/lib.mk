# libstrigil: every lib/*.c, as a static library (normal and sanitized).
LIB_SRCS       := $(sort $(wildcard lib/*.c))
LIBSTRIGIL     := $(BUILD)/libstrigil.a
LIBSTRIGIL_SAN := $(BUILD)/libstrigil-san.a
LIB_LIBS        = $(call pkgcfg,--libs,zlib json-c libusb-1.0) -lm

$(LIBSTRIGIL): $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(LIBSTRIGIL_SAN): $(LIB_SRCS:%.c=$(BUILD)/san/%.o)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

ALL_TARGETS += $(LIBSTRIGIL)
