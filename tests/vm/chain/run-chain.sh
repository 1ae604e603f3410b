#!/bin/sh
# run-chain.sh BUILD: the whole chain in a VM with a real systemd.
# QEMU (TCG) boots Debian's kernel; a small initramfs mounts this machine's
# root read-only over virtio-9p with a tmpfs overlay on top, copies in what
# `make install` staged (unit, udev rules + hwdb, sysusers, tmpfiles, D-Bus
# policy + activation, polkit policy + rules, strigild, strigilctl) plus the
# test's files (strigil.ko for that kernel, strigil-gadget, the client and
# its trace), and hands over to systemd. There udev, D-Bus and polkit run as
# on a clinic PC; guest.sh plugs the emulated instrument in (dummy_hcd +
# FunctionFS) and checks what follows. Each "CHAIN: PASS|FAIL name" line
# becomes a recorded test vm-chain-NAME.
set -eu
build=$(cd "${1:?usage: run-chain.sh BUILD}" && pwd)
top=$(cd "$(dirname "$0")/../../.." && pwd)
vm=$build/vm-chain
timeout_s=${CHAIN_TIMEOUT:-280}

kver=""
for v in $(ls /lib/modules 2>/dev/null | sort -V); do
	[ -e "/boot/vmlinuz-$v" ] && [ -e "/lib/modules/$v/modules.dep" ] &&
		[ -d "/usr/src/linux-headers-$v" ] && kver=$v
done
[ -n "$kver" ] || { echo "chain: no kernel with image, modules and headers"; exit 1; }
rm -rf "$vm" && mkdir -p "$vm/kmod/driver" "$vm/kmod/include/strigil" "$vm/init/bin" "$vm/init/lib/modules"

# strigil.ko for the kernel we boot
for f in Kbuild driver/Kbuild driver/strigil.c include/strigil/protocol.h; do cp "$top/$f" "$vm/kmod/$f"; done
make --no-print-directory -C "/usr/src/linux-headers-$kver" M="$vm/kmod" modules >"$vm/kmod.log" 2>&1 \
	|| { cat "$vm/kmod.log"; exit 1; }

# What a package would install, and the test's own files.
stage=$vm/stage
make --no-print-directory -C "$top" install DESTDIR="$stage" PREFIX=/usr >"$vm/install.log" 2>&1 \
	|| { cat "$vm/install.log"; exit 1; }
# This root has merged /usr (/lib -> usr/lib): copying a real lib/ over it
# would fail, so fold it in as dpkg's view of the same files.
if [ -L /lib ] && [ -d "$stage/lib" ]; then
	mkdir -p "$stage/usr/lib" && cp -a "$stage/lib/." "$stage/usr/lib/" && rm -rf "$stage/lib"
fi
# What udev's dpkg trigger does on installation: recompile the hwdb with
# our file among the system's ones (natively here, not under TCG).
h=$vm/hwdb-root; udevdir=$(pkg-config --variable=udevdir udev 2>/dev/null || echo /lib/udev)
mkdir -p "$h$udevdir/hwdb.d" "$stage/etc/udev"
cp "$udevdir"/hwdb.d/*.hwdb "$top/udev/70-strigil.hwdb" "$h$udevdir/hwdb.d/"
systemd-hwdb --root="$h" update && cp "$h/etc/udev/hwdb.bin" "$stage/etc/udev/hwdb.bin"
t=$stage/usr/lib/strigil-chain
mkdir -p "$t"
cp "$vm/kmod/driver/strigil.ko" "$build/strigil-gadget" "$top/tests/vm/chain/guest.sh" \
	"$top/tests/vm/chain/client.py" "$t/"
/usr/bin/python3 "$top/tests/vm/chain/make-trace.py" "$t/trace.csv"
mkdir -p "$stage/etc/systemd/system"
cat >"$stage/etc/systemd/system/chain.target" <<EOT
[Unit]
Description=Strigil chain test
Requires=sysinit.target dbus.socket chain-test.service
After=sysinit.target
AllowIsolate=yes
EOT
cat >"$stage/etc/systemd/system/chain-test.service" <<EOT
[Unit]
Description=Strigil chain test script
After=sysinit.target dbus.socket systemd-udevd.service systemd-udev-trigger.service
Wants=systemd-udevd.service
[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStart=/bin/sh /usr/lib/strigil-chain/guest.sh
ExecStopPost=/bin/systemctl poweroff --force --force
EOT
# The clean-up half of tmpfiles walks the host's trees over 9p (slow under
# TCG, and nothing to clean in a fresh overlay): create only.
mkdir -p "$stage/etc/systemd/system/systemd-tmpfiles-setup.service.d"
printf '[Service]\nExecStart=\nExecStart=systemd-tmpfiles --create --boot\n' \
	>"$stage/etc/systemd/system/systemd-tmpfiles-setup.service.d/chain.conf"

# The initramfs: busybox, virtio 9p and overlayfs.
cp /bin/busybox "$vm/init/bin/"
moddir=/lib/modules/$kver
: >"$vm/order"
add_mod() {
	local p d
	p=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n1 | cut -d: -f1)
	[ -n "$p" ] || { echo "chain: module $1 not found"; exit 1; }
	for d in $(grep -E "^$p:" "$moddir/modules.dep" | cut -d: -f2); do
		add_mod "$(basename "$d" | sed 's/\.ko.*//')"
	done
	grep -qx "$p" "$vm/order" || echo "$p" >>"$vm/order"
}
for m in virtio_pci 9pnet_virtio 9p overlay; do add_mod $m; done
while read -r p; do
	b=$(basename "$p")
	case "$b" in
	*.ko.xz) xz -dc "$moddir/$p" >"$vm/init/lib/modules/${b%.xz}"; b=${b%.xz} ;;
	*) cp "$moddir/$p" "$vm/init/lib/modules/" ;;
	esac
	echo "$b" >>"$vm/init/lib/modules/order"
done <"$vm/order"
cat >"$vm/init/init" <<EOT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in \$(cat /lib/modules/order); do insmod /lib/modules/\$m || echo "chain: insmod \$m failed"; done
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot /lower || { echo "CHAIN: FAIL 9p-root"; poweroff -f; }
mount -t tmpfs -o mode=755 tmpfs /rw && mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || { echo "CHAIN: FAIL overlay"; poweroff -f; }
cp -a /newroot$stage/. /newroot/ || { echo "CHAIN: FAIL install-staged"; poweroff -f; }
rm -f /newroot/etc/machine-id; touch /newroot/etc/machine-id
for m in dev proc sys; do mount --move /\$m /newroot/\$m; done
exec switch_root /newroot /lib/systemd/systemd systemd.unit=chain.target
EOT
chmod 755 "$vm/init/init"
(cd "$vm/init" && find . | cpio -o -H newc --quiet) | gzip -1 >"$vm/initramfs.gz"
kernel=/boot/vmlinuz-$kver

echo "chain: booting $kver (TCG, timeout ${timeout_s}s)"
start=$(date +%s)
set +e
# systemd.unit= on the kernel command line: systemd reads its options from
# /proc/cmdline in a VM; the switch_root argument counts only when the
# 9p root looks like a container (a host with /.dockerenv), not on a
# plain Debian machine.
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
# check can time out and panic at boot ("IO-APIC + timer doesn't work").
timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -m 1536 -smp 1 \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$kernel" -initrd "$vm/initramfs.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 no_timer_check rdinit=/init systemd.unit=chain.target systemd.unified_cgroup_hierarchy=1 systemd.show_status=0 ${CHAIN_APPEND:-}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	</dev/null >"$vm/console.log" 2>&1
qrc=$?
set -e
secs=$(( $(date +%s) - start ))
tr -d '\r' <"$vm/console.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >"$vm/console.txt"
# the results, wherever they start on a console line (kernel output can
# precede them on the same line)
grep -o 'CHAIN: .*' "$vm/console.txt" >"$vm/results.txt" || true
echo "chain: qemu exit $qrc after ${secs}s; console in $vm/console.txt"
while read -r _ verdict name rest; do
	[ "$verdict" = PASS ] || [ "$verdict" = FAIL ] || continue
	if [ "$verdict" = PASS ]; then
		"$top/tests/run-test.sh" "$build" "vm-chain-$name" sh -c "echo '$name $rest'"
	else
		"$top/tests/run-test.sh" "$build" "vm-chain-$name" sh -c \
			"grep -n -E '\\[$name\\]|CHAIN' '$vm/console.txt' | tail -n 60; echo 'FAIL $name: $rest'; exit 1" || true
	fi
done <"$vm/results.txt"
npass=$(grep -c '^CHAIN: PASS ' "$vm/results.txt" || true)
nfail=$(grep -c '^CHAIN: FAIL ' "$vm/results.txt" || true)
echo "chain: $npass passed, $nfail failed, ${secs}s"
announced=$(sed -n 's/^CHAIN: DONE \([0-9][0-9]*\).*/\1/p' "$vm/results.txt" | head -n1)
if [ -n "$announced" ] && [ "$announced" -ne $((npass + nfail)) ]; then
	# a result line the host could not read counts as a failure
	"$top/tests/run-test.sh" "$build" vm-chain-all-results-read sh -c \
		"grep -n CHAIN '$vm/console.txt'; echo 'the guest printed $announced results, the host read $((npass + nfail))'; exit 1" || true
	exit 1
fi
if ! grep -q '^CHAIN: DONE' "$vm/results.txt"; then
	echo "chain: the VM did not finish (timeout or crash); last lines:"; tail -n 40 "$vm/console.txt"
	"$top/tests/run-test.sh" "$build" vm-chain-complete sh -c "tail -n 80 '$vm/console.txt'; exit 1" || true
	exit 1
fi
[ "$nfail" -eq 0 ] && [ "$npass" -gt 0 ]
