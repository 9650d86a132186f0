#!/bin/sh
# deps.sh check|install - the Debian packages agentjail builds, tests and
# benchmarks with.  `check` exits 1 and names what is missing; `install`
# installs it with apt-get (root only).
set -eu

# build: compiler flags and libraries
BUILD="gcc make pkg-config libseccomp-dev libmicrohttpd-dev libjansson-dev
libsqlite3-dev libsodium-dev"
# tests and benchmarks: cmocka, HTTP client, interpreters seen inside
# sandboxes, the bubblewrap baseline, sanitizers and static checks, and
# libcurl for the benchmark's load generator (bench/ajbench.c), and
# User-Mode Linux, the 6.1 kernel with cgroup v2 that tests/uml boots
TEST="libcmocka-dev curl python3 python3-numpy python3-pandas
python3-matplotlib bubblewrap clang clang-tidy libclang-rt-14-dev cppcheck iproute2 procps
libcurl4-openssl-dev user-mode-linux"

missing() {
	for p in $BUILD $TEST; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'install ok installed' || printf '%s ' "$p"
	done
	command -v node >/dev/null 2>&1 || printf 'nodejs npm '
}

case "${1:-check}" in
check)
	m=$(missing)
	if [ -n "$m" ]; then
		echo "missing packages: $m" >&2
		exit 1
	fi
	;;
install)
	m=$(missing)
	[ -z "$m" ] && exit 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: $m" >&2
		echo "run 'sudo make deps' to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $m ||
		{ apt-get update && apt-get install -y --no-install-recommends $m; }
	;;
*)
	echo "usage: $0 check|install" >&2
	exit 2
	;;
esac
