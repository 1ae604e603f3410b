#!/bin/sh
# test-polkit.sh POLICY RULES DAEMON_SRC_DIR
#  1. every polkit action the daemon's authorization table names (string
#     literals "org.strigil.Strigil1.<lowercase>" in its sources) is declared
#     in POLICY, and POLICY declares none that the daemon never checks;
#  2. RULES names only declared actions, and every declared action is given
#     to at least one clinic group;
#  3. with the real polkitd on a private system bus, each test user gets
#     exactly the actions of its groups without a password (pkcheck exit 0),
#     and a user in no clinic group gets none of them.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
policy=$(realpath "$1") rules=$(realpath "$2") src=$(realpath "$3")
if [ "${SG_IN_NS:-}" != 1 ]; then
	SG_IN_NS=1 exec unshare -m -p -f --mount-proc --propagation private "$0" "$policy" "$rules" "$src"
fi
fail() { echo "FAIL: $*"; exit 1; }
t=$(mktemp -d)
. "$top/tests/deploy/polkit-env.sh"
trap 'pk_teardown; rm -rf "$t"' EXIT

# What each group is meant to have (the spec, written independently of RULES).
expect() {
	case "$1" in
	sgclin) echo "monitor treat manage-profiles override-contraindication" ;;
	sgtech) echo "monitor calibrate" ;;
	sgboth) echo "monitor treat manage-profiles override-contraindication calibrate" ;;
	sgnone) echo "" ;;
	esac
}

/usr/bin/python3 - "$policy" >"$t/declared" <<'PY' || fail "POLICY does not parse or gives a state change away"
import sys, xml.etree.ElementTree as ET
bad = []
for a in ET.parse(sys.argv[1]).getroot().iter("action"):
    d = a.find("defaults")
    vals = {k: d.findtext(k, "").strip() for k in ("allow_any", "allow_inactive", "allow_active")}
    # Remote and inactive sessions never get anything for free; the active
    # local user may watch (monitor changes nothing stored), nothing more.
    free = [k for k, v in vals.items() if v == "yes"
            and not (k == "allow_active" and a.get("id") == "org.strigil.Strigil1.monitor")]
    if free:
        bad.append("%s: default 'yes' for %s" % (a.get("id"), ", ".join(free)))
    print(a.get("id"))
if bad:
    sys.exit("\n".join(bad))
PY
sort -u -o "$t/declared" "$t/declared"
grep -rhoE '"org\.strigil\.Strigil1\.[a-z][a-z-]*"' "$src" --include='*.c' --include='*.h' \
	| tr -d '"' | sort -u >"$t/checked"
[ -s "$t/checked" ] || fail "no polkit action found in $src"
[ -s "$t/declared" ] || fail "no action declared in $policy"
echo "daemon checks:  $(tr '\n' ' ' <"$t/checked")"
echo "policy declares: $(tr '\n' ' ' <"$t/declared")"
missing=$(comm -23 "$t/checked" "$t/declared")
[ -z "$missing" ] || fail "checked by the daemon but not declared: $missing"
unused=$(comm -13 "$t/checked" "$t/declared")
[ -z "$unused" ] || fail "declared but never checked by the daemon: $unused"

grep -oE '"org\.strigil\.Strigil1\.[a-z][a-z-]*"' "$rules" | tr -d '"' | sort -u >"$t/granted"
bad=$(comm -13 "$t/declared" "$t/granted")
[ -z "$bad" ] || fail "RULES grant undeclared actions: $bad"
nobody=$(comm -23 "$t/declared" "$t/granted")
[ -z "$nobody" ] || fail "declared actions no clinic group gets: $nobody"

pk_setup "$t/pk" "$policy" "$rules" || fail "polkitd did not start"
n=0
for u in sgclin sgtech sgboth sgnone; do
	uid=$(pk_user $u)
	setpriv --reuid="$uid" --regid="$uid" --init-groups sleep 60 &
	p=$!
	for a in $(cat "$t/declared"); do
		short=${a#org.strigil.Strigil1.}
		case " $(expect $u) " in *" $short "*) want=0 ;; *) want=1 ;; esac
		rc=0; pkcheck --action-id "$a" --process "$p" >/dev/null 2>&1 || rc=$?
		[ $rc -ne 127 ] || fail "pkcheck error for $a"
		got=$([ $rc -eq 0 ] && echo 0 || echo 1)
		printf '%-7s %-45s %s\n' "$u" "$a" "$([ $got -eq 0 ] && echo yes || echo "no (pkcheck $rc)")"
		[ "$got" = "$want" ] || fail "$u / $a: expected $([ $want -eq 0 ] && echo yes || echo no)"
		n=$((n + 1))
	done
	kill "$p"
done
echo "polkitd: $n decisions as specified"
