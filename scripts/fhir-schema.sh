#!/bin/sh
# Installs the FHIR R4 JSON schema check (tests/fhir: the official HL7
# fhir.schema.json in a pinned npm package, and ajv) into a project-local
# folder, exactly as tests/fhir/package-lock.json pins them; nothing fetched
# is committed. node and npm come from Debian's nodejs and npm packages when
# the machine has neither (an existing node/npm, e.g. a newer one, is used
# as it is, so as not to replace it).
# Usage: scripts/fhir-schema.sh DIR   -> DIR/node_modules, DIR/validate.js
set -eu
dir=${1:?usage: scripts/fhir-schema.sh DIR}
src=$(cd "$(dirname "$0")/../tests/fhir" && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "fhir-schema: installing Debian's nodejs and npm"
	if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
		nodejs npm >/dev/null
fi
mkdir -p "$dir"
# Up to date when the lock file is the one installed last time.
if [ -f "$dir/node_modules/.strigil-lock" ] && cmp -s "$src/package-lock.json" \
	"$dir/node_modules/.strigil-lock" && [ -f "$dir/validate.js" ] &&
	cmp -s "$src/validate.js" "$dir/validate.js"; then
	exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$src/validate.js" "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
cp "$src/package-lock.json" "$dir/node_modules/.strigil-lock"
echo "fhir-schema: FHIR R4 JSON schema check installed in $dir"
