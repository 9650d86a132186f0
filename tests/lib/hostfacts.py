"""hostfacts.py - what the host itself allows, probed outside any sandbox.

A test of a property the host does not have (an ABI its kernel lacks, a
privilege the test runner lacks) cannot pass or fail: it is a skip, and
the reason says which fact of the host made it one.
"""
import os
import signal
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
