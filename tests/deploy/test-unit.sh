#!/bin/sh
# test-unit.sh UNIT DAEMON: the systemd side of strigild.
#  - systemd-analyze verify is clean (no message at all: 252 exits 0 on
#    unknown keys), with ExecStart pointed at DAEMON;
#  - systemd-analyze security --offline: exposure <= 2.0 (the figure is
#    printed), and the same unit without its hardening is refused;
#  - sysusers.d creates the user and groups the unit, udev and polkit name,
#    tmpfiles.d makes the state directory for that user, in a temp root;
#  - the D-Bus activation file hands the bus name to this unit.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
unit=$1 daemon=$2
fail() { echo "FAIL: $*"; exit 1; }
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
[ -x "$daemon" ] || fail "no daemon executable $daemon"
daemon=$(cd "$(dirname "$daemon")" && pwd)/$(basename "$daemon")

key() { sed -n "s/^$1=//p" "$unit"; }
[ "$(key Type)" = notify ] || fail "Type=$(key Type)"
[ "$(key BusName)" = org.strigil.Strigil1 ] || fail "BusName"
[ -n "$(key WatchdogSec)" ] || fail "no WatchdogSec"
[ "$(key User)" = strigil ] && [ "$(key Group)" = strigil ] || fail "User/Group"
[ "$(key StateDirectory)" = strigil ] || fail "StateDirectory"
key ExecStart | grep -q '^/.*/strigild\( \|$\)' || fail "ExecStart=$(key ExecStart)"

mkdir "$t/u"
sed "s|^ExecStart=[^ ]*|ExecStart=$daemon|" "$unit" >"$t/u/strigild.service"
systemd-analyze verify --man=no "$t/u/strigild.service" >"$t/verify" 2>&1 || { cat "$t/verify"; fail "verify"; }
[ ! -s "$t/verify" ] || { cat "$t/verify"; fail "verify printed messages"; }
echo "verify: clean"

systemd-analyze security --offline=true --threshold=20 "$t/u/strigild.service" >"$t/sec" 2>&1 || { cat "$t/sec"; fail "exposure over 2.0"; }
grep '✗' "$t/sec" || true
grep 'Overall exposure' "$t/sec"
# Without the hardening lines the same check must refuse it.
grep -v -E '^(Protect|Private|Restrict|SystemCall|Capability|NoNew|Lock|Memory|IPAddress|DevicePolicy|UMask)' \
	"$t/u/strigild.service" >"$t/u/soft.service"
if systemd-analyze security --offline=true --threshold=20 "$t/u/soft.service" >"$t/soft" 2>&1; then
	fail "the unhardened unit passed the threshold"
fi
echo "unhardened: $(grep 'Overall exposure' "$t/soft" | sed 's/.*: //') (refused, as it should be)"

mkdir -p "$t/root/etc"
systemd-sysusers --root="$t/root" "$top/packaging/systemd/strigil.sysusers" >/dev/null 2>&1 || fail "sysusers"
grep -q '^strigil:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$t/root/etc/passwd" || fail "no strigil user with nologin"
for g in strigil strigil-clinician strigil-technician; do
	grep -q "^$g:" "$t/root/etc/group" || fail "no group $g"
done
for g in $(sed -n 's/.*"\(strigil-[a-z]*\)".*/\1/p' "$top/packaging/polkit/50-strigil.rules" | sort -u); do
	grep -q "^$g:" "$t/root/etc/group" || fail "polkit rules name group $g that sysusers does not create"
done
grep -q 'GROUP="strigil"' "$top/udev/70-strigil.rules" || fail "udev group"
systemd-tmpfiles --create --root="$t/root" "$top/packaging/systemd/strigil.tmpfiles" || fail "tmpfiles"
uid=$(sed -n 's/^strigil:x:\([0-9]*\):.*/\1/p' "$t/root/etc/passwd")
[ "$(stat -c %u:%a "$t/root/var/lib/strigil")" = "$uid:700" ] || fail "state dir $(stat -c %u:%a "$t/root/var/lib/strigil")"
echo "sysusers + tmpfiles: user, groups and /var/lib/strigil (0700, strigil)"

act="$top/packaging/dbus/org.strigil.Strigil1.service"
grep -qx 'Name=org.strigil.Strigil1' "$act" || fail "activation Name"
grep -qx "SystemdService=$(basename "$unit")" "$act" || fail "activation SystemdService"
echo "D-Bus activation: org.strigil.Strigil1 -> $(basename "$unit")"
