#!/bin/sh
# test-policy-default.sh STRIGILD TOP: strigild started without --policy, in
# a private mount namespace whose /etc and /usr/share are overlays of this
# machine's (nothing outside changes). It must start with:
#  1. no policy file anywhere: the built-in defaults (daemon/policy.conf);
#  2. only /usr/share/strigil/policy.conf: the vendor's;
#  3. /etc/strigil/policy.conf too: the administrator's, whole (no merging);
# and refuse to start, naming the file, when the /etc file is invalid.
# What is in force is read back from the running daemon (Manager.Regions on
# a private bus) and from its log line "clinic policy: FILE".
set -eu
daemon=$(realpath "$1") top=$(realpath "$2")
if [ "${SG_IN_NS:-}" != 1 ]; then
	SG_IN_NS=1 exec unshare -m --propagation private "$0" "$daemon" "$top"
fi
fail() { echo "FAIL: $*"; exit 1; }
t=$(mktemp -d)
cleanup() {
	[ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null
	[ -n "${bpid:-}" ] && kill "$bpid" 2>/dev/null
	wait 2>/dev/null || true
	rm -rf "$t"
}
trap cleanup EXIT
for d in etc usr/share; do
	n=$(echo "$d" | tr / _)
	mkdir -p "$t/$n-up" "$t/$n-work"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$t/$n-up,workdir=$t/$n-work" "/$d" ||
		fail "cannot overlay /$d"
done
rm -rf /etc/strigil /usr/share/strigil

dbus-daemon --session --nofork --address="unix:path=$t/bus" >/dev/null 2>&1 &
bpid=$!
addr="unix:path=$t/bus"
i=0; until [ -S "$t/bus" ]; do i=$((i + 1)); [ $i -lt 600 ] || fail "no bus"; sleep 0.05; done

# run NAME [ARGS]: starts strigild, prints its Regions, stops it; the log
# in $t/NAME.log
run() {
	name=$1; shift
	rm -rf "$t/state"; mkdir "$t/state"
	"$daemon" --address "$addr" --state-dir "$t/state" --simulate 1 --no-hotplug "$@" \
		>"$t/$name.log" 2>&1 &
	dpid=$!
	i=0
	until busctl --address="$addr" get-property org.strigil.Strigil1 /org/strigil/Strigil1 \
		org.strigil.Strigil1.Manager Regions >"$t/$name.regions" 2>/dev/null; do
		i=$((i + 1))
		kill -0 $dpid 2>/dev/null || { cat "$t/$name.log"; fail "$name: strigild exited"; }
		[ $i -lt 600 ] || { cat "$t/$name.log"; fail "$name: strigild never answered"; }
		sleep 0.05
	done
	kill $dpid; wait $dpid || fail "$name: strigild did not exit cleanly"; dpid=""
	cat "$t/$name.regions"
}
# 1. Nothing anywhere: the built-in defaults, which are the shipped file
# (as the daemon reads it when named with --policy).
want=$(run shipped --policy "$top/daemon/policy.conf")
got=$(run builtin)
[ "$got" = "$want" ] || fail "built-in defaults: Regions '$got', want '$want'"
grep -q 'clinic policy: (built-in defaults)' "$t/builtin.log" || { cat "$t/builtin.log"; fail "log does not name the built-in defaults"; }
echo "no policy file: the built-in defaults ($(echo "$got" | cut -d' ' -f2) regions)"

# 2. The vendor file.
mkdir -p /usr/share/strigil /etc/strigil
printf '[limits]\nabsolute_max_n = 13\n[region vendor_region]\ncap_n = 7\n' >/usr/share/strigil/policy.conf
got=$(run vendor)
[ "$got" = 'as 1 "vendor_region"' ] || fail "vendor file: Regions '$got'"
grep -q 'clinic policy: /usr/share/strigil/policy.conf' "$t/vendor.log" || fail "log does not name the vendor file"
echo "vendor file only: used"

# 3. /etc overrides it, whole.
printf '[limits]\nabsolute_max_n = 12\n[region etc_region]\ncap_n = 6\n[region etc_two]\ncap_n = 5\n' \
	>/etc/strigil/policy.conf
got=$(run etc)
[ "$got" = 'as 2 "etc_region" "etc_two"' ] || fail "/etc file: Regions '$got'"
grep -q 'clinic policy: /etc/strigil/policy.conf' "$t/etc.log" || fail "log does not name /etc's file"
echo "/etc file: overrides the vendor file"

# 4. A broken /etc file stops the daemon (no fall back to the vendor's caps).
printf '[limits]\nabsolute_max_n = lots\n' >/etc/strigil/policy.conf
rc=0; "$daemon" --address "$addr" --state-dir "$t/state" --simulate 1 --no-hotplug >"$t/bad.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat "$t/bad.log"; fail "invalid /etc file: exit $rc, want 1"; }
grep -q '/etc/strigil/policy.conf:2' "$t/bad.log" || { cat "$t/bad.log"; fail "the error does not name the file and line"; }
echo "invalid /etc file: strigild refuses to start ($(grep -o '/etc/strigil/policy.conf:2.*' "$t/bad.log"))"
