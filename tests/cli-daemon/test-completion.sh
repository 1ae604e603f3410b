#!/bin/bash
# Static bash completion of strigilctl: verbs, sub-commands, options.
# (Completion of serials and ids from a live daemon is in test_cli.py.)
set -u
comp=$1
. /usr/share/bash-completion/bash_completion || { echo "no bash-completion"; exit 1; }
. "$comp" || exit 1
fail=0

complete_line()
{
	COMP_LINE=$1
	read -r -a COMP_WORDS <<<"$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_strigilctl strigilctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}

expect()
{
	local got
	got=$(complete_line "$1")
	if [[ " $got " == *" $2 "* ]]; then
		echo "ok: '$1' offers $2"
	else
		echo "FAIL: '$1' offers [$got], expected $2"
		fail=1
	fi
}

expect_not()
{
	local got
	got=$(complete_line "$1")
	if [[ " $got " != *" $2 "* ]]; then
		echo "ok: '$1' does not offer $2"
	else
		echo "FAIL: '$1' offers $2"
		fail=1
	fi
}

expect "strigilctl st" status
expect "strigilctl " calibrate
expect "strigilctl " --json
expect "strigilctl profile " edit
expect "strigilctl session " report
expect "strigilctl session st" start
expect "strigilctl calibrate --non" --non-interactive
expect "strigilctl export --format " fhir
expect "strigilctl export --format csv --pa" --patient
expect "strigilctl profile add x --re" --region-cap
expect "strigilctl profile list --" --search
expect "strigilctl profile list --" --limit
expect_not "strigilctl profile show --" --search
expect "strigilctl session list --" --active
expect_not "strigilctl session list --" --override-reason
expect_not "strigilctl st" session
expect "strigilctl hi" history
expect "strigilctl history --" --json
expect "strigilctl session list --" --patient
expect_not "strigilctl session start --" --patient
exit $fail
