# strigil-sync (network helper): the clinic network service. Reads
# strigild's database read-only, talks to the clinic's PostgreSQL with
# libpq, applies profiles through strigild's D-Bus API (docs/network.md).
SYNC_SRCS := sync/main.c sync/pg.c sync/local.c sync/profiles.c sync/body.c
SYNC      := $(BUILD)/strigil-sync
SYNC_SAN  := $(BUILD)/strigil-sync-san
SYNC_CPPFLAGS = -Isync -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
SYNC_LIBS  = $(call pkgcfg,--libs,libsystemd sqlite3 json-c inih libpq) -lm

$(BUILD)/obj/sync/%.o: sync/%.c
	@mkdir -p $(@D)
	$(CC) $(SG_CPPFLAGS) $(SYNC_CPPFLAGS) $(PKG_CFLAGS) $(SG_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/san/sync/%.o: sync/%.c
	@mkdir -p $(@D)
	$(CC) $(SG_CPPFLAGS) $(SYNC_CPPFLAGS) $(PKG_CFLAGS) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

$(SYNC): $(SYNC_SRCS:%.c=$(BUILD)/obj/%.o)
	$(CC) $(SG_CFLAGS) -o $@ $^ $(SYNC_LIBS)
$(SYNC_SAN): $(SYNC_SRCS:%.c=$(BUILD)/san/%.o)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(SYNC_LIBS)

ALL_TARGETS += $(SYNC)

# strigil-sync(8), from scdoc like strigild(8); installed with the service.
SYNC_MAN := $(BUILD)/man/strigil-sync.8
$(SYNC_MAN): sync/strigil-sync.8.scd
	@mkdir -p $(@D)
	scdoc < $< > $@
ALL_TARGETS += $(SYNC_MAN)
