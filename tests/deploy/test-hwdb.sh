#!/bin/sh
# test-hwdb.sh: udev/70-strigil.hwdb compiles with systemd-hwdb --strict, without a message, into
# a temporary root, and its names win over the generic pid.codes entry of
# the system's 20-usb-vendor-model.hwdb for our VID/PID only.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
udevdir=$(pkg-config --variable=udevdir udev 2>/dev/null || echo /lib/udev)
mkdir -p "$t$udevdir/hwdb.d"
cp "$top/udev/70-strigil.hwdb" "$t$udevdir/hwdb.d/"
sys="$udevdir/hwdb.d/20-usb-vendor-model.hwdb"
[ -f "$sys" ] && cp "$sys" "$t$udevdir/hwdb.d/"
# systemd 252's --strict still exits 0 on a malformed line, so any message fails too.
hwdb_update() { systemd-hwdb --strict --root="$t" update 2>"$t/err" && [ ! -s "$t/err" ]; }
hwdb_update || { cat "$t/err"; fail "systemd-hwdb --strict update"; }
[ -s "$t/etc/udev/hwdb.bin" ] || fail "no hwdb.bin"
q() { systemd-hwdb --root="$t" query "$1"; }
# The modalias the hwdb builtin builds for a USB device: usb:vXXXXpYYYY:name
q 'usb:v1209p0001:Strigil S3' | tee "$t/q"
grep -qx 'ID_MODEL_FROM_DATABASE=Strigil IASTM instrument (S1/S3/S4)' "$t/q" || fail "model name"
grep -qx 'ID_VENDOR_FROM_DATABASE=Strigil' "$t/q" || fail "vendor name"
# Another pid.codes product keeps its own name.
q 'usb:v1209p0002:other' >"$t/q2" || true
! grep -q Strigil "$t/q2" || fail "our name leaks onto 1209:0002"
# A syntax error must fail --strict (the check above can fail).
printf 'usb:v1209p0001*\n ID_MODEL_FROM_DATABASE\n' >"$t$udevdir/hwdb.d/80-broken.hwdb"
if hwdb_update; then fail "a broken file went unnoticed"; fi
cat "$t/err"
echo "hwdb: compiles strictly, names the instrument"
