#!/bin/sh
# run.sh FILE - run one node:test suite of tests/e2b (the real E2B JS SDKs
# against `agentjail serve`) and report TAP on stdout ("ok N - name" /
# "not ok N - name" at column 0, one per test).  Installs the pinned
# packages (npm ci) the first time; `run.sh --install` only that
# (tests/uml installs on the host what its read-only guest runs).
set -eu
file=
[ "$1" = --install ] || file=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")"
if [ ! -f node_modules/.package-lock.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error >&2
fi
[ -n "$file" ] || exit 0
AGENTJAIL=${AGENTJAIL:-$(cd ../.. && pwd)/build/agentjail}
export AGENTJAIL
exec node --test --test-reporter=tap "$file"
