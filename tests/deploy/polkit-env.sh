# polkit-env.sh: sourced by tests that need the real polkitd. Inside a
# private mount namespace (the caller re-executes itself under unshare -m):
#   pk_setup TMPDIR POLICY RULES  - test users/groups, our actions and rules
#                                   in polkit's directories, a private system
#                                   bus (dbus-daemon --system with Debian's
#                                   system.conf, plus $pk_bus_policies) and
#                                   the real polkitd on it
#   pk_user NAME                  - uid of a test user
#   pk_teardown                   - stops what pk_setup started
# Test users: sgclin (strigil-clinician), sgtech (strigil-technician),
# sgboth (both), sgnone (no clinic group).

pk_users="sgclin:61001 sgtech:61002 sgboth:61003 sgnone:61004"

pk_user() { for u in $pk_users; do if [ "${u%%:*}" = "$1" ]; then echo "${u#*:}"; fi; done; }

pk_setup() {
	pk_t=$1
	mkdir -p "$pk_t" && chmod 755 "$pk_t"
	mkdir -p "$pk_t/actions" "$pk_t/rules" "$pk_t/etc"
	cp "$2" "$pk_t/actions/"
	cp "$3" "$pk_t/rules/"
	cp /etc/passwd /etc/group "$pk_t/etc/"
	for u in $pk_users; do
		echo "${u%%:*}:x:${u#*:}:${u#*:}::/nonexistent:/usr/sbin/nologin" >>"$pk_t/etc/passwd"
		echo "${u%%:*}:x:${u#*:}:" >>"$pk_t/etc/group"
	done
	grep -q '^strigil:' "$pk_t/etc/group" || echo 'strigil:x:61100:' >>"$pk_t/etc/group"
	grep -q '^strigil:' "$pk_t/etc/passwd" || \
		echo 'strigil:x:61100:61100::/nonexistent:/usr/sbin/nologin' >>"$pk_t/etc/passwd"
	echo 'strigil-clinician:x:61101:sgclin,sgboth' >>"$pk_t/etc/group"
	echo 'strigil-technician:x:61102:sgtech,sgboth' >>"$pk_t/etc/group"
	mount --bind "$pk_t/etc/passwd" /etc/passwd
	mount --bind "$pk_t/etc/group" /etc/group
	mount --bind "$pk_t/actions" /usr/share/polkit-1/actions
	mount --bind "$pk_t/rules" /usr/share/polkit-1/rules.d
	mount -t tmpfs -o mode=755 tmpfs /etc/polkit-1/rules.d

	# The real Debian system bus: its own system.conf and system.d, plus
	# the files in $pk_bus_policies, on a private /run/dbus.
	mkdir -p "$pk_t/system.d"
	cp -a /usr/share/dbus-1/system.d/. "$pk_t/system.d/"
	for f in ${pk_bus_policies:-}; do cp "$f" "$pk_t/system.d/"; done
	mount --bind "$pk_t/system.d" /usr/share/dbus-1/system.d
	mount -t tmpfs -o mode=755 tmpfs /run/dbus 2>/dev/null || {
		mkdir -p /run/dbus && mount -t tmpfs -o mode=755 tmpfs /run/dbus; }
	dbus-daemon --system --nofork --nopidfile --nosyslog --print-pid=1 >"$pk_t/bus.pid" 2>"$pk_t/bus.log" &
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
	# Deadlines bound a wait for a start that must happen (60 s: polkitd
	# starts its JavaScript engine, slow on a loaded machine); nothing is timed.
	pk_end=$(( $(date +%s) + 60 ))
	while [ ! -S /run/dbus/system_bus_socket ]; do
		[ "$(date +%s)" -lt $pk_end ] || { cat "$pk_t/bus.log"; return 1; }; sleep 0.05
	done
	/usr/lib/polkit-1/polkitd >"$pk_t/polkitd.log" 2>&1 &
	pk_pid=$!
	pk_end=$(( $(date +%s) + 60 ))
	until dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
		org.freedesktop.DBus.GetNameOwner string:org.freedesktop.PolicyKit1 >/dev/null 2>&1; do
		kill -0 $pk_pid 2>/dev/null && [ "$(date +%s)" -lt $pk_end ] ||
			{ cat "$pk_t/polkitd.log"; return 1; }
		sleep 0.05
	done
}

pk_teardown() {
	[ -n "${pk_pid:-}" ] && kill "$pk_pid" 2>/dev/null
	[ -s "${pk_t:-/nonexistent}/bus.pid" ] && kill "$(cat "$pk_t/bus.pid")" 2>/dev/null
	wait 2>/dev/null || true
}
