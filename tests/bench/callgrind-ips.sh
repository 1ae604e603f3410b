#!/bin/sh
# callgrind-ips.sh BENCH_BINARY OUTDIR
# Instructions per sample of the measured loop (frames -> decoder ->
# calibration -> engine): callgrind counts only inside bench_loop, for two
# lengths; the difference cancels the setup, divided by the extra samples.
set -eu
bin=$1; out=$2
mkdir -p "$out"
if ! command -v valgrind >/dev/null 2>&1; then
	echo "callgrind: valgrind missing, instructions per sample not measured"
	exit 0
fi
# ir FUNCTION OPTION N
ir() {
	valgrind -q --tool=callgrind --toggle-collect="$1" \
		--callgrind-out-file="$out/callgrind.$1.$3" "$bin" "$2" "$3" >/dev/null
	sed -n 's/^summary: *\([0-9]*\).*/\1/p;s/^totals: *\([0-9]*\).*/\1/p' \
		"$out/callgrind.$1.$3" | head -n 1
}
a=$(ir bench_loop --loop 200000)
b=$(ir bench_loop --loop 1200000)
c=$(ir bench_loop_shear --loop-shear 200000)
d=$(ir bench_loop_shear --loop-shear 1200000)
echo
echo "| measured loop (callgrind) | instructions/sample |"
echo "|---|---|"
awk -v a="$a" -v b="$b" 'BEGIN { printf "| decode + calibrate + engine | %.1f |\n", (b - a) / 1000000 }'
awk -v a="$c" -v b="$d" 'BEGIN { printf "| decode + calibrate + engine, shear, bursts | %.1f |\n", (b - a) / 1000000 }'
