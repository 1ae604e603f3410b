# strigilctl: every tools/strigilctl/*.c, linked with libstrigil and sd-bus.
CTL_SRCS := $(sort $(wildcard tools/strigilctl/*.c))
STRIGILCTL := $(BUILD)/strigilctl
CTL_LIBS = $(call pkgcfg,--libs,libsystemd json-c) $(LIB_LIBS)

$(STRIGILCTL): $(CTL_SRCS:%.c=$(BUILD)/obj/%.o) $(LIBSTRIGIL)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(CTL_LIBS)

ALL_TARGETS += $(STRIGILCTL)
