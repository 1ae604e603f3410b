#!/bin/sh
# test-udev.sh: udev/70-strigil.rules parses cleanly with the real udev
# (systemd 252 has no "udevadm verify": "udevadm test" loads every rules
# file and names each bad line), GROUP resolves, and strigil-iio-access gives
# the group exactly the device's root-writable attributes.
# Runs itself again inside a private mount namespace (needs root).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${SG_IN_NS:-}" != 1 ]; then
	SG_IN_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
fail() { echo "FAIL: $*"; exit 1; }
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT

# udev resolves GROUP= when it loads the rules: give it a strigil group.
cp /etc/group "$t/group"
grep -q '^strigil:' "$t/group" || echo 'strigil:x:61100:' >>"$t/group"
mount --bind "$t/group" /etc/group

mkdir "$t/rules"
cp "$top/udev/70-strigil.rules" "$t/rules/"
mount --bind "$t/rules" /etc/udev/rules.d
udevadm test /sys/devices/virtual/mem/null >"$t/out" 2>&1 || { cat "$t/out"; fail "udevadm test failed"; }
grep -q 'Reading rules file: /etc/udev/rules.d/70-strigil.rules' "$t/out" || { cat "$t/out"; fail "rules file not read"; }
if grep '70-strigil.rules' "$t/out" | grep -v 'Reading rules file'; then
	fail "udev complains about 70-strigil.rules (above)"
fi
# No match on an unrelated device: nothing of ours is applied to /dev/null.
if grep -E 'STRIGIL|strigil-iio-access|GROUP 61100' "$t/out"; then fail "rule matched /dev/null"; fi
echo "rules: parsed cleanly by $(udevadm --version | head -1)"

# A broken rule must be reported (the check above can fail).
printf 'SUBSYSTEM=="iio", ATTR{name}=="strigil", GRUOP="strigil"\n' >"$t/rules/70-strigil.rules"
udevadm test /sys/devices/virtual/mem/null >"$t/out" 2>&1 || true
grep '70-strigil.rules' "$t/out" | grep -q -v 'Reading rules file' || fail "a misspelt key went unnoticed"
echo "rules: a misspelt key is reported"

# Every key we rely on is in the shipped file.
r="$top/udev/70-strigil.rules"
grep -q 'ATTR{idVendor}=="1209", ATTR{idProduct}=="0001"' "$r" || fail "no VID/PID match"
grep -q 'ATTR{bInterfaceClass}=="ff", ATTR{bInterfaceSubClass}=="53", ATTR{bInterfaceProtocol}=="01"' "$r" || fail "no interface match"
grep -q 'ENV{SYSTEMD_WANTS}+="strigild.service"' "$r" || fail "no SYSTEMD_WANTS"
grep -q 'SUBSYSTEM=="iio", ATTR{name}=="strigil", GROUP="strigil"' "$r" || fail "no IIO rule"
! grep -v '^#' "$r" | grep -q uaccess || fail "uaccess would let desktop users bypass the limits"
! grep -v '^#' "$r" | grep -q 'MODE="06[6-7][1-7]"' || fail "world access on a node"

# strigil-iio-access on a fake device directory mounted over a real sysfs
# device directory (the script refuses paths outside /sys/devices).
dev=/sys/devices/virtual/mem/null
mkdir -p "$t/dev/buffer" "$t/dev/scan_elements" "$t/dev/power"
for f in buffer/enable buffer/length scan_elements/in_force_en sampling_frequency uevent power/control; do
	: >"$t/dev/$f"; chmod 0644 "$t/dev/$f"
done
for f in name scan_elements/in_force_index; do : >"$t/dev/$f"; chmod 0444 "$t/dev/$f"; done
: >"$t/dev/calibration"; chmod 0600 "$t/dev/calibration"    # root-only in the driver
: >"$t/dev/serial_secret"; chmod 0400 "$t/dev/serial_secret"
chown -R 0:0 "$t/dev"
mount --bind "$t/dev" "$dev"
"$top/udev/strigil-iio-access" "$dev" strigil
for f in buffer/enable buffer/length scan_elements/in_force_en sampling_frequency; do
	[ "$(stat -c %G:%A "$dev/$f")" = "strigil:-rw-rw-r--" ] || fail "$f: $(stat -c %G:%A "$dev/$f")"
done
for f in uevent power/control name scan_elements/in_force_index; do
	[ "$(stat -c %G "$dev/$f")" = root ] || fail "$f given away"
done
[ "$(stat -c %a "$dev/name")" = 444 ] || fail "read-only attribute made writable"
[ "$(stat -c %G:%a "$dev/calibration")" = strigil:660 ] || fail "calibration: $(stat -c %G:%a "$dev/calibration")"
[ "$(stat -c %G:%a "$dev/serial_secret")" = strigil:440 ] || fail "root-only readable: $(stat -c %G:%a "$dev/serial_secret")"
umount "$dev"
if "$top/udev/strigil-iio-access" /tmp strigil 2>/dev/null; then fail "accepted a path outside /sys/devices"; fi
echo "strigil-iio-access: root-writable and root-only-readable attributes to the group, uevent/power/read-only untouched"
