#!/bin/sh
# test-man.sh STRIGILD MANPAGE TOP: strigild(8) cannot drift from the code.
#  - it renders without a warning from man/groff and has its sections;
#  - the long options of `strigild --help`, of main.c's getopt table and of
#    the page's OPTIONS entries are the same set, each with an argument in
#    --help and the page exactly when the table says required_argument (and
#    the same argument name in both), and getopt's short options are there;
#  - main.c's default paths are in the page;
#  - every STRIGIL_* journal field and STRIGIL_EVENT value the daemon sends
#    is in the JOURNAL section, and nothing there that it does not send;
#  - every installed path in FILES is one `make install` installs
#    (tests/deploy/install-files.txt, PREFIX=/usr).
set -eu
strigild=$1 page=$2 top=$3
main_c=$top/daemon/main.c
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Rendered once, plain ASCII, wide enough that no entry line wraps.
MANWIDTH=200 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>"$t/warn" >/dev/null
if [ -s "$t/warn" ]; then fail "man --warnings:"; cat "$t/warn"; fi
MANWIDTH=200 LC_ALL=C man -l "$page" >"$t/page"
for sec in NAME SYNOPSIS DESCRIPTION OPTIONS FILES ENVIRONMENT SIGNALS "EXIT STATUS" \
	JOURNAL SECURITY "SEE ALSO"; do
	grep -qx "$sec" "$t/page" || fail "no section $sec"
done
# section NAME: its lines, without the header
section() { awk -v s="$1" '/^[A-Z]/ { on = ($0 == s); next } on' "$t/page"; }
# an entry's term: a line indented 7 whose next line (its text) is indented more
terms() { section "$1" | awk '/^        / && prev ~ /^       [^ ]/ { sub(/^ +/, "", prev); print prev }
	{ prev = $0 }'; }

# Options: "--name" or "--name ARG", one per line, sorted.
"$strigild" --help >"$t/help"
grep -E '^ +--' "$t/help" | sed 's/^ *//; s/   .*//' | tr ',' '\n' | sed 's/^ *//' |
	awk '{ print $1 ($2 ~ /^[A-Z]/ ? " " $2 : "") }' | sort >"$t/help-opts"
terms OPTIONS | tr ',' '\n' | sed 's/^ *//' | grep -- '^--' |
	awk '{ print $1 ($2 != "" ? " " $2 : "") }' | sort >"$t/man-opts"
sed -n '/longopts\[\] = {/,/};/p' "$main_c" |
	sed -n 's/.*{ *"\([a-z-]*\)", *\([a-z_]*\),.*/--\1 \2/p' | sort >"$t/code-opts"
[ -s "$t/code-opts" ] || fail "no getopt table found in $main_c"
[ -s "$t/help-opts" ] || fail "strigild --help lists no option"
cut -d' ' -f1 "$t/code-opts" >"$t/code-names"
cut -d' ' -f1 "$t/help-opts" >"$t/help-names"
cut -d' ' -f1 "$t/man-opts" >"$t/man-names"
diff -u "$t/help-names" "$t/man-names" >"$t/d" || { fail "--help (-) and the page's OPTIONS (+) differ:"; cat "$t/d"; }
diff -u "$t/code-names" "$t/help-names" >"$t/d" || { fail "main.c's getopt table (-) and --help (+) differ:"; cat "$t/d"; }
diff -u "$t/help-opts" "$t/man-opts" >"$t/d" || { fail "option arguments differ, --help (-), page (+):"; cat "$t/d"; }
while read -r opt kind; do
	arg=$(awk -v o="$opt" '$1 == o { print $2 }' "$t/help-opts")
	case "$kind" in
	required_argument) [ -n "$arg" ] || fail "$opt takes an argument in main.c, none in --help" ;;
	no_argument) [ -z "$arg" ] || fail "$opt takes no argument in main.c, --help says $arg" ;;
	*) fail "$opt: has_arg $kind not understood" ;;
	esac
done <"$t/code-opts"
shorts=$(sed -n 's/.*getopt_long([^"]*"\([^"]*\)".*/\1/p' "$main_c" | tr -d ':')
for c in $(echo "$shorts" | sed 's/./& /g'); do
	terms OPTIONS | grep -q -- "-$c\\b" || fail "short option -$c not in OPTIONS"
done
echo "options: $(wc -l <"$t/code-opts") long ($(tr '\n' ' ' <"$t/code-names")), short: $shorts"

# Defaults hard-coded in main.c (paths) must be the ones documented.
for p in $(grep -o '"/[^"]*"' "$main_c" | tr -d '"' | sort -u); do
	section OPTIONS | grep -o '/[A-Za-z0-9_./:-]*' | sed 's/[.:]*$//' | grep -qxF "$p" || fail "default $p (main.c) not in OPTIONS"
done

# Journal: fields and events sent by the daemon's sources.
cat "$top"/daemon/*.c >"$t/src"
grep -o '"STRIGIL_[A-Z_]*=' "$t/src" | tr -d '"=' | sort -u >"$t/code-fields"
{ sed -n 's/.*journal_session([a-z]*, *"\([a-z-]*\)".*/\1/p' "$t/src"
  sed -n 's/.*"STRIGIL_EVENT=\([a-z-]*\)".*/\1/p' "$t/src"; } | sort -u >"$t/code-events"
[ -s "$t/code-fields" ] && [ -s "$t/code-events" ] || fail "no journal fields or events found in daemon/*.c"
terms JOURNAL | tr ',' '\n' | grep -o 'STRIGIL_[A-Z_]*' | sort -u >"$t/man-fields"
terms JOURNAL | tr ',' '\n' | sed 's/^ *//' | grep -E '^[a-z-]+ \(' | cut -d' ' -f1 | sort -u >"$t/man-events"
diff -u "$t/code-fields" "$t/man-fields" >"$t/d" || { fail "journal fields: daemon (-), page (+):"; cat "$t/d"; }
diff -u "$t/code-events" "$t/man-events" >"$t/d" || { fail "journal events: daemon (-), page (+):"; cat "$t/d"; }
echo "journal: $(wc -l <"$t/code-fields") fields, $(wc -l <"$t/code-events") events"

# FILES: what is installed is installed there.
sed 's|@PREFIX@|/usr|' "$top/tests/deploy/install-files.txt" >"$t/installed"
n=0
for p in $(terms FILES | tr ',' '\n' | sed 's/^ *//' | grep -E '^/(usr|lib|etc)/'); do
	n=$((n + 1))
	grep -qxF "$p" "$t/installed" || fail "FILES names $p, which make install does not install"
done
[ "$n" -gt 0 ] || fail "no installed path in FILES"
echo "files: $n installed paths checked"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "strigild(8) matches the code"
