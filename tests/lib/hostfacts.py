"""hostfacts.py - what the host itself allows, probed outside any sandbox.

A test of a property the host does not have (an ABI its kernel lacks, a
privilege the test runner lacks) cannot pass or fail: it is a skip, and
the reason says which fact of the host made it one.
"""
import ctypes
import errno
import os
import signal
import socket
import subprocess

PROBE = os.environ.get("PROBE", "build/tests/probe")
IS_ROOT = os.geteuid() == 0


def i386_abi():
    """None if the host kernel takes i386 syscalls (int 0x80) from a
    64-bit process, else why not: on some kernels the entry is absent and
    int 0x80 faults even outside any sandbox, so there is nothing for the
    seccomp filter to refuse."""
    r = subprocess.run([PROBE, "i386"], capture_output=True, text=True,
                       timeout=30)
    if r.returncode >= 0:
        return None
    return (f"host kernel has no i386 syscall entry: int 0x80 outside any "
            f"sandbox dies with {signal.Signals(-r.returncode).name}")


# x86_64 numbers of the syscalls a kernel may be built without.
_SYSCALL_NR = {"kcmp": 312}


def missing_syscall(name):
    """True if the host kernel lacks the syscall (ENOSYS outside any
    sandbox: kcmp needs CONFIG_KCMP, which some kernels leave out)."""
    libc = ctypes.CDLL(None, use_errno=True)
    # arguments no kernel accepts: EINVAL/ESRCH/EPERM where it exists
    rc = libc.syscall(_SYSCALL_NR[name], -1, -1, -1, 0, 0)
    return rc == -1 and ctypes.get_errno() == errno.ENOSYS


def ipv6():
    """None if the host kernel can make an IPv6 socket, else why not (a
    kernel without IPv6 answers EAFNOSUPPORT, inside a sandbox or not)."""
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
        return None
    except OSError as e:
        return f"host kernel has no IPv6: socket(AF_INET6) fails with {errno.errorcode[e.errno]}"
