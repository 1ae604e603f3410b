#!/bin/sh
# test-security.sh STRIGILD: strigild on a real system bus (Debian's
# system.conf plus our bus policy), with the real polkitd and our polkit
# rules and actions, run as the unprivileged user strigil, a simulated
# instrument and a temporary state directory. Clients run as test users:
#   sgclin (strigil-clinician), sgtech (strigil-technician), sgboth (both),
#   sgnone (no clinic group).
#  1. only user strigil may own org.strigil.Strigil1;
#  2. sgnone cannot start sessions, change profiles, calibrate, override or
#     even claim; sgtech cannot treat; sgclin cannot calibrate; and the
#     database is byte-for-byte the same afterwards (every table's rows);
#  3. a flood (hundreds of connections, thousands of pipelined calls, a
#     client that never reads its replies or its sample stream) does not
#     block a bystander and the daemon's memory stays bounded;
#  4. fuzzed arguments to every method in the introspection XML get error
#     replies, the daemon survives (same pid) and the database is unchanged.
# Figures go to the log (docs/security.md quotes them).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
daemon=$(realpath "$1")
if [ "${SG_IN_NS:-}" != 1 ]; then
	SG_IN_NS=1 exec unshare -m -p -f --mount-proc --propagation private "$0" "$daemon"
fi
fail() { echo "FAIL: $*"; exit 1; }
t=$(mktemp -d)
. "$top/tests/deploy/polkit-env.sh"
cleanup() {
	[ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null
	for p in ${bg_pids:-}; do kill "$p" 2>/dev/null; done
	pk_teardown
	rm -rf "$t"
}
trap cleanup EXIT
uid_of() { id=$(pk_user "$1"); [ -n "$id" ] || id=$(id -u "$1"); echo "$id"; }
as() { id=$(uid_of "$1"); shift
	setpriv --reuid="$id" --regid="$id" --init-groups --no-new-privs "$@"; }
# In the background, with $! the pid of the program itself.
as_bg() { id=$(uid_of "$1"); shift
	( exec setpriv --reuid="$id" --regid="$id" --init-groups --no-new-privs "$@" ) & }

pk_bus_policies="$top/daemon/org.strigil.Strigil1.conf"
pk_setup "$t/pk" "$top/daemon/org.strigil.Strigil1.policy" "$top/packaging/polkit/50-strigil.rules" \
	|| fail "system bus + polkitd did not start"
chmod 755 "$t"
mkdir -p "$t/state" && chown strigil:strigil "$t/state" && chmod 700 "$t/state"
cp "$daemon" "$t/strigild" && chmod 755 "$t/strigild"
# Whatever runs as another user (the daemon as strigil, the clients as the
# test users) runs from copies in $t, never from the checkout: a checkout
# under /root or in a 0700 directory is unreadable to them.
mkdir -p "$t/bin"
cp "$top/tests/deploy/security-client.py" "$top/tests/deploy/slow-reader.py" \
	"$top/daemon/org.strigil.Strigil1.xml" "$t/bin/"
policy_opt=""
if [ -f "$top/daemon/policy.conf" ]; then
	cp "$top/daemon/policy.conf" "$t/bin/" && policy_opt="--policy=$t/bin/policy.conf"
fi
chmod -R a+rX "$t/bin"
client="$t/bin/security-client.py"
slow_reader="$t/bin/slow-reader.py"
xml="$t/bin/org.strigil.Strigil1.xml"
# From here on the checkout is hidden, in this mount namespace, behind an
# empty root-only directory: every checkout is then as unreadable as a 0700
# clone, so a step that still used it fails here, wherever the tree lives.
cd "$t"
mkdir -m 700 "$t/no-checkout" && mount --bind "$t/no-checkout" "$top" || fail "cannot hide the checkout"

# Each user must be able to run the clients at all; otherwise every later
# verdict would name the wrong cause.
for u in sgclin sgtech sgboth sgnone; do
	why=$(as $u /usr/bin/python3 -c 'import sys, dbus; [open(f).close() for f in sys.argv[1:]]' \
		"$client" "$slow_reader" "$xml" 2>&1) ||
		fail "the test clients cannot run as user $u (not a verdict on strigild): $why"
done
[ -r "$t/strigild" ] && as strigil test -x "$t/strigild" || fail "user strigil cannot run $t/strigild"

# 1. The name belongs to user strigil alone. Only the client's own verdict
# line may fail this step with that message.
rc=0; as sgboth /usr/bin/python3 "$client" own-name >"$t/own" 2>&1 || rc=$?
cat "$t/own"
if grep -q '^FAIL  RequestName' "$t/own"; then fail "a clinic user could own the bus name"
elif [ $rc -ne 0 ]; then fail "the own-name client did not run as sgboth (exit $rc)"; fi

as_bg strigil "$t/strigild" --system --simulate 1 --no-hotplug --state-dir="$t/state" $policy_opt \
	>"$t/daemon.log" 2>&1
dpid=$!
i=0
until dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
	org.freedesktop.DBus.GetNameOwner string:org.strigil.Strigil1 >/dev/null 2>&1; do
	i=$((i + 1)); kill -0 $dpid 2>/dev/null || { cat "$t/daemon.log"; fail "strigild exited"; }
	[ $i -lt 600 ] || { cat "$t/daemon.log"; fail "strigild never owned its name"; }; sleep 0.05
done
echo "strigild (pid $dpid) owns org.strigil.Strigil1 as user strigil"

rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$dpid/status; }
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$dpid/status; }
# Every row of every table, for "nothing changed" (read-only, as root).
snapshot() { /usr/bin/python3 - "$t/state/strigil.db" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
tables = [r[0] for r in db.execute("select name from sqlite_master where type='table' order by name")]
for tb in tables:
    rows = sorted(repr(r) for r in db.execute('select * from "%s"' % tb))
    print(tb, len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16])
PY
}

disc=$(as sgboth /usr/bin/python3 "$client" discover) || fail "discover"
instr=$(echo "$disc" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["instruments"][0])')
as sgclin /usr/bin/python3 "$client" setup "$instr" >"$t/setup" || { cat "$t/setup"; fail "setup as clinician"; }
cat "$t/setup"
res() { sed -n 's/^RESULT //p' "$1" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('$2',''))"; }
prof=$(res "$t/setup" profile) sess=$(res "$t/setup" session)
[ -n "$sess" ] || fail "no session to attack"
snapshot >"$t/db0"; echo "database before:"; sed 's/^/  /' "$t/db0"

# 2. Refusals.
as sgnone /usr/bin/python3 "$client" denied none "$instr" "$prof" "$sess" || fail "sgnone"
as sgtech /usr/bin/python3 "$client" denied technician "$instr" "$prof" "$sess" || fail "sgtech"
as sgclin /usr/bin/python3 "$client" denied clinician "$instr" "$prof" "$sess" || fail "sgclin"
snapshot >"$t/db1"
diff -u "$t/db0" "$t/db1" || fail "refused calls changed the database"
echo "refusals: database unchanged"

# 3. Flood. A raw client that never reads: many calls with large replies.
rss0=$(rss)
as_bg sgclin /usr/bin/python3 "$slow_reader" "$instr" 20000 >"$t/slow" 2>&1
bg_pids="$!"
as sgclin /usr/bin/python3 "$client" flood "$instr" 200 20000 >"$t/flood" || { cat "$t/flood"; fail "flood"; }
cat "$t/flood"
as sgtech /usr/bin/python3 "$client" alive "$instr" 200 || fail "a bystander was blocked during the flood"
rss1=$(rss)
kill $bg_pids 2>/dev/null || true
slow_rc=0; wait $bg_pids || slow_rc=$?; bg_pids=""
cat "$t/slow"
[ $slow_rc -eq 0 ] || fail "the never-reading client's stream was closed or unbounded"
kill -0 $dpid || fail "strigild died in the flood"
echo "FIGURE rss_before_kib=$rss0 rss_after_flood_kib=$rss1 peak_kib=$(hwm)"
[ $((rss1 - rss0)) -lt 65536 ] || fail "daemon grew by $((rss1 - rss0)) KiB in the flood"

# 4. Fuzz.
as sgboth /usr/bin/python3 "$client" fuzz "$instr" "$prof" "$sess" "$xml" >"$t/fuzz" || { grep -v '^ok' "$t/fuzz"; fail "fuzz"; }
grep -v '^ok' "$t/fuzz"
kill -0 $dpid || fail "strigild died under fuzzing"
snapshot >"$t/db2"
diff -u "$t/db1" "$t/db2" || fail "fuzzed calls changed the database"
echo "FIGURE rss_after_fuzz_kib=$(rss) peak_kib=$(hwm)"
echo "fuzz: daemon alive (pid $dpid), database unchanged"
grep -i -E 'error|assert|sanitizer' "$t/daemon.log" | head -20 || true
