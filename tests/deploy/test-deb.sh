#!/bin/sh
# test-deb.sh DEB_DIR [--debootstrap]: installs the packages built by
# `make deb` with the real dpkg, maintainer scripts and triggers included,
# into a copy-on-write clone of this machine's root (overlayfs over /, in a
# private mount namespace, chroot): nothing on the machine changes. With
# --debootstrap, into a fresh minimal Debian 12 made by debootstrap from the
# mirror this machine's apt uses instead, with apt resolving the packages'
# dependencies (slower: `make deb-chroot-check`). Then checks that the
# files are where systemd, udev, D-Bus and polkit look for them, that the
# maintainer scripts made the user, groups and state directory, that DKMS
# built the module for the installed kernel headers, that strigilctl runs,
# and that purging removes it all again.
set -eu
debs=$(realpath "$1") mode=${2:-}
if [ "${SG_IN_NS:-}" != 1 ]; then
	SG_IN_NS=1 exec unshare -m -p -f --mount-proc --propagation private "$0" "$debs" $mode
fi
fail() { echo "FAIL: $*"; exit 1; }
ver=$(sed -n '1s/^strigil (\([^)]*\)).*/\1/p' "$(dirname "$0")/../../debian/changelog")
main="$debs/strigil_${ver}_amd64.deb" dkms="$debs/strigil-dkms_${ver}_all.deb"
[ -f "$main" ] && [ -f "$dkms" ] || fail "no strigil_${ver}_amd64.deb / strigil-dkms_${ver}_all.deb in $debs"

# What the packages must hold (the rest of the product lands through these).
dpkg-deb -c "$main" | awk '{print $NF}' | sed 's|^\./|/|' >/tmp/.sg-main.$$
for f in /usr/bin/strigilctl /usr/libexec/strigild /lib/systemd/system/strigild.service \
	/usr/lib/sysusers.d/strigil.conf /usr/lib/tmpfiles.d/strigil.conf \
	/lib/udev/rules.d/70-strigil.rules /lib/udev/hwdb.d/70-strigil.hwdb /lib/udev/strigil-iio-access \
	/usr/share/dbus-1/system.d/org.strigil.Strigil1.conf \
	/usr/share/dbus-1/system-services/org.strigil.Strigil1.service \
	/usr/share/polkit-1/actions/org.strigil.Strigil1.policy \
	/usr/share/polkit-1/rules.d/50-strigil.rules /usr/share/strigil/policy.conf \
	/usr/share/man/man1/strigilctl.1.gz /usr/share/man/man8/strigild.8.gz \
	/usr/share/bash-completion/completions/strigilctl; do
	grep -qx "$f" /tmp/.sg-main.$$ || { rm -f /tmp/.sg-main.$$; fail "strigil package lacks $f"; }
done
rm -f /tmp/.sg-main.$$
dpkg-deb -c "$dkms" | grep -q "usr/src/strigil-$ver/dkms.conf$" || fail "strigil-dkms lacks dkms.conf"
dpkg-deb -f "$dkms" Depends | grep -q dkms || fail "strigil-dkms does not depend on dkms"
echo "contents: ok"

ov=$(mktemp -d)
mount -t tmpfs -o mode=755 tmpfs "$ov"
mkdir "$ov/upper" "$ov/work" "$ov/root"
r=$ov/root
in_root() { chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	DEBIAN_FRONTEND=noninteractive "$@"; }
api_mounts() {
	mount --rbind /proc "$r/proc"; mount --rbind /sys "$r/sys"; mount --rbind /dev "$r/dev"
	mount -t tmpfs tmpfs "$r/run"; mount -t tmpfs tmpfs "$r/tmp"
	cp "$main" "$dkms" "$r/tmp/"
}
start=$(date +%s)
if [ "$mode" = --debootstrap ]; then
	# The mirror and suite this machine's apt uses (nothing hard-coded).
	mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)
	suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
	debootstrap --variant=minbase "$suite" "$r" "$mirror" >"$ov/debootstrap.log" 2>&1 \
		|| { tail -n 30 "$ov/debootstrap.log"; fail "debootstrap $suite"; }
	echo "debootstrap --variant=minbase $suite: $(( $(date +%s) - start )) s"
	api_mounts
	cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
	start=$(date +%s)
	in_root apt-get update -qq >"$ov/dpkg.log" 2>&1 || { cat "$ov/dpkg.log"; fail "apt-get update"; }
	in_root apt-get install -y -qq --no-install-recommends linux-headers-amd64 \
		"/tmp/$(basename "$main")" "/tmp/$(basename "$dkms")" >>"$ov/dpkg.log" 2>&1 \
		|| { tail -n 40 "$ov/dpkg.log"; fail "apt-get install of the packages"; }
	echo "apt-get install (dependencies, headers, the DKMS build): $(( $(date +%s) - start )) s"
	kver=$(ls -1 "$r/usr/src" | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -1)
else
	# The clone: overlay upper layer on a tmpfs, the API filesystems bound in.
	mount -t overlay overlay -o "lowerdir=/,upperdir=$ov/upper,workdir=$ov/work" "$r"
	api_mounts
	in_root dpkg --purge strigil strigil-dkms >/dev/null 2>&1 || true
	kver=$(ls -1 "$r/usr/src" | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -1)
	[ -n "$kver" ] || fail "no linux-headers-*-amd64 installed: cannot test the DKMS build"
	in_root dpkg -i "/tmp/$(basename "$main")" "/tmp/$(basename "$dkms")" >"$ov/dpkg.log" 2>&1 || { cat "$ov/dpkg.log"; fail "dpkg -i"; }
	echo "dpkg -i (with the DKMS build): $(( $(date +%s) - start )) s"
fi
in_root dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' strigil strigil-dkms | tee "$ov/q"
[ "$(grep -c ' ii $' "$ov/q")" -eq 2 ] || fail "not both installed"

# Maintainer scripts: user, groups, state directory.
in_root getent passwd strigil | grep -q ':/usr/sbin/nologin$' || fail "no system user strigil"
for g in strigil strigil-clinician strigil-technician; do in_root getent group $g >/dev/null || fail "no group $g"; done
[ "$(in_root stat -c %U:%a /var/lib/strigil)" = strigil:700 ] || fail "/var/lib/strigil: $(in_root stat -c %U:%a /var/lib/strigil)"
echo "sysusers/tmpfiles: user strigil, clinic groups, /var/lib/strigil"

# DKMS built and installed the module for the installed headers.
in_root dkms status strigil | tee "$ov/dkms"
grep -q "strigil/$ver, $kver, x86_64: installed" "$ov/dkms" || { cat "$ov/dpkg.log"; fail "DKMS did not install strigil for $kver"; }
ko=$(find "$r/lib/modules/$kver/updates/dkms" -name 'strigil.ko*' | head -1)
[ -n "$ko" ] || fail "no strigil.ko under /lib/modules/$kver/updates/dkms"
modinfo "$ko" | grep -qi 'alias: *usb:v1209p0001' || fail "module alias for 1209:0001 missing"
echo "dkms: $(basename "$ko") for $kver"

# Each file is where its reader looks: systemd finds the unit by name,
# udev reads the rules, the hwdb trigger compiled our entry, the activation
# file names the unit, polkit has the actions.
in_root systemd-analyze verify --man=no strigild.service >"$ov/verify" 2>&1 || { cat "$ov/verify"; fail "unit not found/verified by name"; }
[ ! -s "$ov/verify" ] || { cat "$ov/verify"; fail "verify printed messages"; }
in_root udevadm test /sys/devices/virtual/mem/null >"$ov/udev" 2>&1 || true
grep -q 'Reading rules file: /lib/udev/rules.d/70-strigil.rules\|Reading rules file: /usr/lib/udev/rules.d/70-strigil.rules' "$ov/udev" || fail "udev does not read our rules"
! grep '70-strigil.rules' "$ov/udev" | grep -v 'Reading rules file' || fail "udev complains"
in_root systemd-hwdb query usb:v1209p0001:x | grep -q 'Strigil IASTM' || fail "hwdb not updated by the trigger"
grep -q "^SystemdService=strigild.service" "$r/usr/share/dbus-1/system-services/org.strigil.Strigil1.service" || fail "activation"
for a in $(grep -o 'action id="[^"]*"' "$r/usr/share/polkit-1/actions/org.strigil.Strigil1.policy" | cut -d'"' -f2); do
	grep -q "\"$a\"" "$r/usr/share/polkit-1/rules.d/50-strigil.rules" || fail "rules miss $a"
done
echo "unit, udev rules, hwdb, D-Bus activation, polkit: in place"

in_root strigilctl --version | tee "$ov/v"
grep -q "^strigilctl $ver\$" "$ov/v" || fail "strigilctl --version"

in_root dpkg --purge strigil strigil-dkms >"$ov/purge.log" 2>&1 || { cat "$ov/purge.log"; fail "purge"; }
[ ! -e "$r/usr/bin/strigilctl" ] && [ -z "$(find "$r/lib/modules/$kver" -name 'strigil.ko*')" ] || fail "purge left files"
[ ! -d "$r/usr/src/strigil-$ver" ] || fail "purge left the DKMS tree"
echo "purge: clean"
