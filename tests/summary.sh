#!/bin/sh
# summary.sh BUILD: prints the closing line of make check, fails if any test did.
dir="$1/test-results"
pass=$(find "$dir" -name '*.pass' 2>/dev/null | wc -l)
fail=$(find "$dir" -name '*.fail' 2>/dev/null | wc -l)
if [ "$fail" -gt 0 ]; then
	echo "failed tests:"
	find "$dir" -name '*.fail' | sed 's|.*/||; s|\.fail$||; s/^/  /'
fi
if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
	echo "no test ran"
	exit 1
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
