#!/bin/sh
# vm-bench.sh BUILD SECONDS
# Kernel path figure of `make bench`: lost samples over SECONDS of 2 kHz
# streaming through the real strigil.ko (IIO buffer) in QEMU (TCG), fed by
# strigil-gadget over dummy_hcd. Reuses the kernel helper's VM harness
# (tests/vm/run-vm.sh) with a bench init instead of the test list; prints
# vmtest's "stream: ..." line (read by tests/perf/bench.py). Never asserts.
set -eu
build=${1:?usage: vm-bench.sh BUILD SECONDS}
secs=${2:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$build/perf"
init=$build/perf/vm-bench-init
# The bench init: the test init's module loading and gadget start, then
# one long stream (--allow-lost: a loss is a figure here, not a failure).
cat >"$init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
dmesg -n 4
ok=0
for m in \$(cat /lib/modules/order); do insmod "/lib/modules/\$m" || ok=1; done
mount -t configfs none /sys/kernel/config || ok=1
insmod /lib/modules/strigil.ko || ok=1
UDC=\$(ls /sys/class/udc | head -n1)
strigil-gadget --udc "\$UDC" --cal-file /data/cal.bin --serial SG2000 --model 1 >/tmp/gadget.log 2>&1 &
i=0
while [ \$i -lt 200 ] && ! grep -q "ready:" /tmp/gadget.log 2>/dev/null; do sleep 0.05; i=\$((i + 1)); done
vmtest wait present 30 >/dev/null || ok=1
if [ \$ok -eq 0 ]; then
	vmtest stream $secs 2000 --allow-lost; r=\$?
else
	r=1; dmesg | tail -n 20
fi
if [ \$r -eq 0 ]; then echo "VMTEST: PASS bench-stream-2khz"; else echo "VMTEST: FAIL bench-stream-2khz"; fi
echo "VMTEST: DONE"
sync
poweroff -f
INIT
chmod 755 "$init"
rc=0
VM_INIT=$init VM_TIMEOUT=$((secs + 240)) "$top/tests/vm/run-vm.sh" "$build" || rc=$?
tr -d '\033' <"$build/vm/console.txt" | grep -oE '(stream|vmtest): .*' || true
exit $rc
