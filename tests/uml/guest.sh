#!/bin/sh
# guest.sh - PID 1 of the User-Mode Linux guest that tests/uml/run.sh boots.
#
# The guest sees the host's files READ-ONLY (hostfs root mounted ro): it
# runs the same binaries and suites, but can write to the host only in
# the one scratch directory the host gave it (AJ_UML_OUT, mounted rw at
# /run/out).  Everything else it writes lands in its own tmpfs (/tmp,
# /run, /dev/shm, HOME).
#
# What it sets up: /proc, /sys, a cgroup v2 hierarchy at /sys/fs/cgroup
# with memory, pids and cpu delegated to children, devpts, /dev/shm,
# loopback up.  Then it runs tests/run.sh on AJ_UML_SUITES and writes its
# output to /run/out/tap, then "done" to /run/out/status, and powers off.
# Nothing here is destructive: every write is in a tmpfs or /run/out.
#
# The kernel command line gives us AJ_UML_OUT (the host path of the
# scratch dir) as an environment variable; the scratch dir's file "env"
# says the rest: AJ_UML_REPO (the checkout), AJ_UML_BUILD (the build dir,
# relative to it), AJ_UML_SUITES (tests/run.sh's SUITES).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

halt() {
	sync
	poweroff -f 2>/dev/null
	echo o >/proc/sysrq-trigger
	sleep 3600
}
trap halt EXIT

set -u
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/out
mount -t hostfs -o "$AJ_UML_OUT" hostfs /run/out || {
	echo "uml guest: cannot mount the scratch dir $AJ_UML_OUT"
	exit 1
}
exec >/run/out/console 2>&1
. /run/out/env
export TEST_FILTER
echo "uml guest: $(uname -r), booted"

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+memory +pids +cpu" >/sys/fs/cgroup/cgroup.subtree_control
ip link set lo up
mkdir -p /tmp/home
export HOME=/tmp/home TMPDIR=/tmp PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8

echo "uml guest: cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
cd "$AJ_UML_REPO" || exit 1
UML= SUITES=$AJ_UML_SUITES BUILD=$AJ_UML_BUILD sh tests/run.sh >/run/out/tap 2>&1
echo "rc $?" >/run/out/status
