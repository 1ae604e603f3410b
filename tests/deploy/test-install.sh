#!/bin/sh
# test-install.sh: `make install DESTDIR=tmp PREFIX=...` for PREFIX=/usr and
# /usr/local installs exactly the files of install-files.txt (binaries, man
# page and completion under PREFIX; what systemd, udev, D-Bus and polkit read
# in their own places; the DKMS tree in /usr/src, where dkms looks), with the right modes, and the installed unit and
# D-Bus activation file point at what was installed.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
ver=$(sed -n 's/^#define SG_VERSION_STRING "\(.*\)"/\1/p' "$top/lib/strigil.h")
bash_completions=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null || true)

for prefix in /usr /usr/local; do
	d="$t/root$prefix"
	make -C "$top" --no-print-directory install DESTDIR="$d" PREFIX="$prefix" >"$t/make.log" 2>&1 || {
		cat "$t/make.log"; fail "make install PREFIX=$prefix"; }
	sed "s|@PREFIX@|$prefix|; s|@VERSION@|$ver|" "$top/tests/deploy/install-files.txt" >"$t/want"
	# bash-completion's own directory wins when its .pc is there (/usr/share/...).
	[ -n "$bash_completions" ] && sed -i "s|^$prefix/share/bash-completion/completions/|$bash_completions/|" "$t/want"
	# strigil-clinic is built (and installed) only where GTK 4 and libadwaita
	# are (tools/clinic/clinic.mk); its data files always are.
	[ -e "$d$prefix/bin/strigil-clinic" ] && echo "$prefix/bin/strigil-clinic" >>"$t/want"
	sort -o "$t/want" "$t/want"
	(cd "$d" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$t/got"
	if ! diff -u "$t/want" "$t/got"; then fail "installed file list differs for PREFIX=$prefix (- expected, + installed)"; fi
	for f in $prefix/bin/strigilctl $prefix/libexec/strigild /lib/udev/strigil-iio-access \
		$(grep -x "$prefix/bin/strigil-clinic" "$t/want" || true); do
		[ "$(stat -c %a "$d$f")" = 755 ] || fail "$f mode $(stat -c %a "$d$f")"
	done
	for f in $(grep -v -e /bin/ -e /libexec/ -e strigil-iio-access "$t/want"); do
		[ "$(stat -c %a "$d$f")" = 644 ] || fail "$f mode $(stat -c %a "$d$f")"
	done
	exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$d/lib/systemd/system/strigild.service")
	[ "$exec_start" = "$prefix/libexec/strigild" ] || fail "ExecStart=$exec_start for PREFIX=$prefix"
	[ -x "$d$exec_start" ] || fail "ExecStart not installed"
	"$d$prefix/bin/strigilctl" --version | grep -qx "strigilctl $ver" || fail "installed strigilctl --version"
	grep -q "PACKAGE_VERSION=\"$ver\"" "$d/usr/src/strigil-$ver/dkms.conf" || fail "dkms.conf version is not $ver"
	echo "PREFIX=$prefix: $(wc -l <"$t/want") files, as listed"
done
