#!/bin/sh
# run-test.sh BUILD NAME COMMAND...
# Runs one test, keeps its log, records the verdict for tests/summary.sh.
# Exit status is the test's, so make -k notes the failure and goes on.
build=$1; name=$2; shift 2
mkdir -p "$build/test-results" "$build/test-logs"
log="$build/test-logs/$name.log"
rm -f "$build/test-results/$name".*
start=$(date +%s)
"$@" >"$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
if [ $rc -eq 0 ]; then
	echo "PASS: $name (${secs}s)"
	: >"$build/test-results/$name.pass"
else
	echo "FAIL: $name (exit $rc, ${secs}s) -- last lines of $log:"
	tail -n 40 "$log" | sed 's/^/    /'
	: >"$build/test-results/$name.fail"
fi
exit $rc
