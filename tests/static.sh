#!/bin/sh
# static.sh - cppcheck over the sources; any finding fails the check.
set -eu
cd "$(dirname "$0")/.."
# __CPPCHECK__: see src/api/mhd.h (cppcheck 2.10 defines it only when no
# -D is given).
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	--inline-suppr -D_GNU_SOURCE -D__CPPCHECK__ -Isrc \
	--suppress=missingIncludeSystem src tests/probe.c
echo "ok - cppcheck clean"
