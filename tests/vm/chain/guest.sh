#!/bin/sh
# guest.sh: the chain test inside the VM, run by chain-test.service under
# the guest's systemd once udev, D-Bus and polkit can run. Prints one
# "CHAIN: PASS|FAIL name [detail]" line per check, then "CHAIN: DONE n"
# (n: how many results were printed).
# Everything of ours was installed by `make install` (copied in by the
# initramfs); strigild is never started by this script: udev and systemd do.
d=/usr/lib/strigil-chain
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
flags=/run/chain; mkdir -p $flags; chmod 777 $flags
# Each result on a line of its own (a newline first: the console may be
# in the middle of a kernel line), counted for the DONE line, so that the
# host notices a result it could not read.
nres=0
result() { nres=$((nres + 1))
	if [ "$2" -eq 0 ]; then printf '\nCHAIN: PASS %s %s\n' "$1" "$3"
	else printf '\nCHAIN: FAIL %s %s\n' "$1" "$3"; fi; }
run() { name=$1; shift; "$@" >/run/chain/out 2>&1; rc=$?; sed "s/^/  [$name] /" /run/chain/out; result "$name" $rc; }
as_clin() { setpriv --reuid=clin --regid="$(id -g clin)" --init-groups "$@"; }
kver=$(uname -r)
# wait_for SECS CMD...: polls CMD until it succeeds (a bound for a hung
# step, nothing is timed)
wait_for() { end=$(( $(cut -d. -f1 /proc/uptime) + $1 )); shift
	until "$@"; do [ "$(cut -d. -f1 /proc/uptime)" -lt $end ] || return 1; sleep 0.5; done; }

# A clinician (the groups come from our sysusers.d file at boot).
useradd -M -N -g users -G strigil-clinician -s /usr/sbin/nologin clin 2>/dev/null
id clin | grep -q strigil-clinician; result sysusers-groups $? "($(getent group strigil-clinician))"

# Modules: the host's Debian modules (same kernel), our strigil.ko.
ok=0
for m in dummy_hcd libcomposite usb_f_fs industrialio kfifo_buf; do modprobe $m || ok=1; done
insmod $d/strigil.ko || ok=1
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || ok=1
result modules $ok

udc=$(ls /sys/class/udc | head -n1)
G=/sys/kernel/config/usb_gadget/strigil
$d/strigil-gadget --udc "$udc" --serial CHAIN01 --csv $d/trace.csv --cal-file /var/tmp/cal.bin >/run/chain/gadget.log 2>&1 &
gadget=$!
wait_for 30 grep -q "ready:" /run/chain/gadget.log; result gadget-plugged $? "$(tail -1 /run/chain/gadget.log)"

# Plugging in started strigild through udev (SYSTEMD_WANTS) and systemd.
wait_for 60 systemctl -q is-active strigild.service; r=$?
if [ $r -ne 0 ]; then
	systemctl status strigild.service --no-pager 2>&1 | sed 's/^/  [strigild] /'
	for p in /sys/bus/usb/devices/*; do
		[ "$(cat $p/idVendor 2>/dev/null)" = 1209 ] || continue
		udevadm info -q property -p $p | sed 's/^/  [udev] /'
		for i in $p/*:*; do udevadm info -q property -p $i | grep -E 'STRIGIL|SYSTEMD|TAGS|DRIVER|INTERFACE' | sed 's/^/  [udev-if] /'; done
	done
fi
pid=$(systemctl show -p MainPID --value strigild.service)
[ "$(ps -o user= -p "$pid" 2>/dev/null)" = strigil ] || r=1
result udev-started-strigild $r "(pid $pid, user $(ps -o user= -p "$pid" 2>/dev/null))"
iio=$(grep -l '^strigil$' /sys/bus/iio/devices/iio:device*/name 2>/dev/null | head -1 | xargs -r dirname | xargs -r basename)
r=1; [ -n "$iio" ] && [ "$(stat -c %G:%a /dev/$iio)" = strigil:660 ] && r=0
result udev-iio-node $r "(/dev/$iio $(stat -c %U:%G:%a /dev/$iio 2>/dev/null))"
en=$(ls /sys/bus/iio/devices/$iio/buffer*/enable 2>/dev/null | head -1)
r=1; [ -n "$en" ] && [ "$(stat -c %G "$en")" = strigil ] && r=0
cal=/sys/bus/iio/devices/$iio/calibration
[ "$(stat -c %G "$cal" 2>/dev/null)" = strigil ] || r=1
result udev-iio-sysfs $r "($en $(stat -c %G:%a "$en" 2>/dev/null), $cal $(stat -c %G:%a "$cal" 2>/dev/null))"
usbdev=$(grep -l '^1209$' /sys/bus/usb/devices/*/idVendor | head -1 | xargs dirname)
node=/dev/bus/usb/$(printf %03d $(cat $usbdev/busnum))/$(printf %03d $(cat $usbdev/devnum))
r=1; [ "$(stat -c %G:%a $node)" = strigil:660 ] && r=0
result udev-usb-node $r "($node $(stat -c %U:%G:%a $node))"
udevadm info -q property -p $usbdev | grep -q '^ID_MODEL_FROM_DATABASE=Strigil IASTM' ; result hwdb-model $?

# alerts_exceeded: how many SET_ALERT(exceeded) requests the emulator has
# received so far (it logs "ALERT <level>" for each request).
alerts_exceeded() { grep -c '^strigil-gadget: ALERT 2$' /run/chain/gadget.log; }

# 1. A session through the kernel driver (IIO).
a0=$(alerts_exceeded)
run session-iio as_clin /usr/bin/python3 $d/client.py session iio
a1=$(alerts_exceeded)
[ "$a1" -gt "$a0" ]; result alert-iio $? "(emulator got $((a1 - a0)) SET_ALERT exceeded)"

# 2. Unplug mid-session and re-plug: the session resumes, nothing lost.
( wait_for 120 test -e $flags/unplug; echo "" >$G/UDC; sleep 2; echo "$udc" >$G/UDC ) &
run replug-resume as_clin /usr/bin/python3 $d/client.py replug $flags

# 3. Without the module: libstrigil's libusb source inside strigild.
echo "" >$G/UDC
# The module stays in use until strigild has seen the unplug and closed the
# IIO device: wait for that (bounded), not for a fixed second under TCG.
wait_for 60 rmmod strigil 2>/dev/null; r=$?
echo "$udc" >$G/UDC
result driver-removed $r
a0=$(alerts_exceeded)
run session-libusb as_clin /usr/bin/python3 $d/client.py session usb
a1=$(alerts_exceeded)
[ "$a1" -gt "$a0" ]; result alert-libusb $? "(emulator got $((a1 - a0)) SET_ALERT exceeded)"
! journalctl -b -u strigild.service --no-pager -o cat 2>/dev/null | grep 'SET_ALERT.*failed'
result alert-no-failures $? "(strigild logged no failed SET_ALERT)"
# Under systemd stderr is the journal: each session event is one entry,
# the structured one (with STRIGIL_EVENT=), never also a plain copy.
jsess() { journalctl -b -u strigild.service --no-pager -o export 2>/dev/null |
	awk -v want="$1" 'BEGIN { RS = ""; n = 0 }
		/(^|\n)MESSAGE=session [0-9]+: / { s = /(^|\n)STRIGIL_EVENT=/ ? "structured" : "plain"; if (s == want) n++ }
		END { print n }'; }
structured=$(jsess structured); plain=$(jsess plain)
[ "$plain" -eq 0 ] && [ "$structured" -gt 0 ]
result journal-once $? "($structured structured session entries, $plain plain copies)"

kill $gadget 2>/dev/null
journalctl -b -u strigild.service --no-pager -o cat 2>/dev/null | tail -n 40 | sed 's/^/  [strigild] /'
dmesg | grep -E 'WARNING|BUG|Oops|general protection' && result kernel-clean 1 || result kernel-clean 0
printf '\nCHAIN: DONE %s\n' "$nres"
