"""cgroups.py - where a process's cgroups are on this host, v1 or v2.

Read from /proc/self/mountinfo and /proc/PID/cgroup the way agentjail
reads them, so a test can look at what the kernel did (a leaf that is
gone, a process that is in it) without trusting agentjail's own account.
"""
import os

WATCHED = ("memory", "pids", "cpu", "cpuacct")


def _mounts():
    """[(version, controllers, mountpoint, root)] of the cgroup mounts;
    controllers is a set (v1) or None (v2)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fstype, _src, opts = post.split()[:3]
            root, mnt = pre.split()[3:5]
            if fstype == "cgroup2":
                out.append((2, None, mnt, root))
            elif fstype == "cgroup":
                out.append((1, set(opts.split(",")), mnt, root))
    return out


def dirs_of(pid="self"):
    """Host directories of the cgroups pid is in: one per v1 hierarchy
    with a controller agentjail uses, and the v2 one when it has one."""
    mounts = _mounts()
    dirs = []
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            for ver, cs, mnt, root in mounts:
                if hid == "0" and ver == 2:
                    if not set(v2_controllers(mnt)) & set(WATCHED):
                        continue
                elif ver == 1 and ctrls and set(ctrls.split(",")) <= cs and \
                        cs & set(WATCHED):
                    pass
                else:
                    continue
                rel = path[len(root):] if root != "/" and path.startswith(root) else path
                dirs.append(mnt + rel.rstrip("/"))
                break
    return dirs


def v2_controllers(mnt):
    try:
        with open(os.path.join(mnt, "cgroup.controllers")) as f:
            return f.read().split()
    except OSError:
        return []


def v2_mount():
    """Mount point of the v2 hierarchy if it has controllers agentjail
    uses, else None."""
    for ver, _cs, mnt, _root in _mounts():
        if ver == 2 and set(v2_controllers(mnt)) & set(WATCHED):
            return mnt
    return None


def memory_version():
    """1 or 2: where our memory controller is; 0 if nowhere."""
    with open("/proc/self/cgroup") as f:
        text = f.read()
    for line in text.splitlines():
        _hid, ctrls, _path = line.split(":", 2)
        if "memory" in ctrls.split(","):
            return 1
    mnt = v2_mount()
    return 2 if mnt and "memory" in v2_controllers(mnt) else 0


def leaves_under(d):
    """Sub-cgroups of d (names), [] if d does not exist."""
    try:
        return sorted(e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e)))
    except FileNotFoundError:
        return []
