#!/bin/sh
# Installs the Debian packages listed in scripts/deps/*.txt that are missing.
# Each part of the tree lists its own needs in its own file; '#' comments.
# Usage: scripts/deps.sh [LIST...]   (default: every list)
set -eu
here=$(dirname "$0")
if [ $# -gt 0 ]; then lists=$(for l in "$@"; do echo "$here/deps/$l.txt"; done)
else lists=$(ls "$here"/deps/*.txt); fi
want=$(cat $lists | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then sudo=""
elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
else echo "deps: run as root: apt-get install$missing" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
# shellcheck disable=SC2086
$sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
