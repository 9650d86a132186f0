#!/bin/sh
# static.sh - cppcheck over the sources; any finding fails the check.
set -eu
cd "$(dirname "$0")/.."
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	--inline-suppr -D_GNU_SOURCE -Isrc --suppress=missingIncludeSystem \
	src tests/probe.c
echo "ok - cppcheck clean"
