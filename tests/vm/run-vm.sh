#!/bin/sh
# run-vm.sh BUILD
# Boots Debian's kernel in QEMU (TCG) with an initramfs holding busybox, the
# USB gadget/IIO modules, strigil.ko (built against the matching headers),
# strigil-gadget and vmtest, runs tests/vm/init, and records every
# "VMTEST: PASS|FAIL name" line as one test (tests/run-test.sh).
#
# The kernel version is discovered, never hard-coded: the newest version
# that has /boot/vmlinuz-V, /lib/modules/V/modules.dep and
# /usr/src/linux-headers-V. VM_TIMEOUT (seconds, default 290) bounds the run.
set -eu

build=${1:?usage: run-vm.sh BUILD}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
vm=$build/vm
timeout_s=${VM_TIMEOUT:-290}

kver=""
for v in $(ls /lib/modules 2>/dev/null | sort -V); do
	if [ -e "/boot/vmlinuz-$v" ] && [ -e "/lib/modules/$v/modules.dep" ] &&
	   [ -d "/usr/src/linux-headers-$v" ]; then
		kver=$v
	fi
done
if [ -z "$kver" ]; then
	echo "vm: no kernel with image, modules and headers (install linux-image-amd64 linux-headers-amd64)" >&2
	exit 1
fi
echo "vm: kernel $kver"

rm -rf "$vm" && mkdir -p "$vm/root" "$vm/kmod/driver" "$vm/kmod/include/strigil"

# strigil.ko against the headers of the kernel we boot
for f in Kbuild driver/Kbuild driver/strigil.c include/strigil/protocol.h; do
	cp "$top/$f" "$vm/kmod/$f"
done
make --no-print-directory -C "/usr/src/linux-headers-$kver" M="$vm/kmod" modules \
	>"$vm/kmod.log" 2>&1 || { cat "$vm/kmod.log"; exit 1; }

root=$vm/root
mkdir -p "$root/bin" "$root/sbin" "$root/lib/modules" "$root/dev" "$root/proc" \
	"$root/sys" "$root/tmp" "$root/etc" "$root/var" "$root/data"
cp /bin/busybox "$root/bin/busybox"

# modules and their dependencies, in load order (modules.dep lists deps
# of each module; dependencies come first, each module once)
mods="dummy_hcd libcomposite usb_f_fs industrialio kfifo_buf"
moddir=/lib/modules/$kver
: >"$vm/order"
add_mod() {
	local path deps d dn
	path=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n1 | cut -d: -f1)
	[ -n "$path" ] || { echo "vm: module $1 not found" >&2; exit 1; }
	deps=$(grep -E "^$path:" "$moddir/modules.dep" | cut -d: -f2)
	for d in $deps; do
		dn=$(basename "$d" | sed 's/\.ko.*//')
		add_mod "$dn"
	done
	grep -qx "$path" "$vm/order" || echo "$path" >>"$vm/order"
}
for m in $mods; do add_mod "$m"; done
: >"$root/lib/modules/order"
while read -r p; do
	b=$(basename "$p")
	case "$b" in
	*.ko.xz) xz -dc "$moddir/$p" >"$root/lib/modules/${b%.xz}"; b=${b%.xz} ;;
	*.ko.zst) zstd -qdc "$moddir/$p" >"$root/lib/modules/${b%.zst}"; b=${b%.zst} ;;
	*) cp "$moddir/$p" "$root/lib/modules/$b" ;;
	esac
	echo "$b" >>"$root/lib/modules/order"
done <"$vm/order"
cp "$vm/kmod/driver/strigil.ko" "$root/lib/modules/strigil.ko"

# programs and the shared libraries they need
for p in "$build/strigil-gadget" "$build/vmtest" "$build/usb-check"; do
	cp "$p" "$root/bin/"
	ldd "$p" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
		[ -f "$lib" ] || continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
# the dynamic loader at its canonical path
for ld in /lib64/ld-linux-x86-64.so.2; do
	mkdir -p "$root$(dirname "$ld")"
	cp -L "$ld" "$root$ld"
done
# VM_INIT: another init for the VM (make bench: tests/perf/vm-bench.sh)
cp "${VM_INIT:-$top/tests/vm/init}" "$root/init"
chmod 755 "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$vm/initramfs.gz"

kernel=/boot/vmlinuz-$kver
if [ ! -r "$kernel" ]; then
	sudo cat "$kernel" >"$vm/vmlinuz" && kernel=$vm/vmlinuz
fi

echo "vm: booting (TCG, timeout ${timeout_s}s)"
start=$(date +%s)
set +e
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
# check can time out and panic at boot ("IO-APIC + timer doesn't work").
timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -m 768 -smp 1 \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$kernel" -initrd "$vm/initramfs.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 no_timer_check rdinit=/init ${VM_APPEND:-}" \
	</dev/null >"$vm/console.log" 2>&1
qrc=$?
set -e
secs=$(( $(date +%s) - start ))
# (the first line may carry the BIOS's escape sequences before VMTEST)
tr -d '\r' <"$vm/console.log" | sed 's/^.*VMTEST: /VMTEST: /' >"$vm/console.txt"
echo "vm: qemu exit $qrc after ${secs}s; console in $vm/console.txt"

# One recorded test per result line; the log of each is the console.
npass=0 nfail=0
grep -E '^VMTEST: (PASS|FAIL) ' "$vm/console.txt" | while read -r _ verdict name rest; do
	if [ "$verdict" = PASS ]; then
		"$top/tests/run-test.sh" "$build" "vm-$name" sh -c "echo '$name $rest'"
	else
		"$top/tests/run-test.sh" "$build" "vm-$name" sh -c \
			"grep -n -E 'VMTEST|WARNING|BUG|Oops|strigil' '$vm/console.txt' | tail -n 60; echo 'FAIL $name: $rest'; exit 1" || true
	fi
done
npass=$(grep -c '^VMTEST: PASS ' "$vm/console.txt" || true)
nfail=$(grep -c '^VMTEST: FAIL ' "$vm/console.txt" || true)
echo "vm: $npass passed, $nfail failed, ${secs}s"
summary=$(sed -n 's/^VMTEST: SUMMARY \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1 \2/p' \
	"$vm/console.txt" | head -n1)
if [ -n "$summary" ] && [ $(( ${summary% *} + ${summary#* } )) -ne $((npass + nfail)) ]; then
	# a result line the host could not read counts as a failure
	"$top/tests/run-test.sh" "$build" vm-all-results-read sh -c \
		"grep -n VMTEST '$vm/console.txt'; echo 'the guest printed $summary, the host read $npass passed, $nfail failed'; exit 1" || true
	exit 1
fi
if ! grep -q '^VMTEST: DONE' "$vm/console.txt"; then
	echo "vm: the VM did not finish its test list (timeout or crash); last lines:"
	tail -n 40 "$vm/console.txt"
	"$top/tests/run-test.sh" "$build" vm-complete sh -c "tail -n 80 '$vm/console.txt'; exit 1" || true
	exit 1
fi
"$top/tests/run-test.sh" "$build" vm-complete sh -c "grep '^VMTEST' '$vm/console.txt'" || true
[ "$nfail" -eq 0 ] && [ "$npass" -gt 0 ]
