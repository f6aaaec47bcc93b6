"""Confinement the worker applies to itself before it runs any student code.

* a private folder: a fresh tmpfs in a mount namespace of the worker's own, holding at most
  so many bytes and so many files and folders (inodes cost kernel memory that no resource
  limit counts), where the worker may mount (bubblewrap's user namespace, or root);
* ``no_new_privs`` and no capabilities: nothing the submission executes can gain
  privileges, and none it has can lift a resource limit's hard value;
* seccomp (through libseccomp): no new processes (threads are fine), no sockets, no
  ptrace or cross-process memory access, no signals or pidfds to other processes, no
  System V or POSIX message queues and shared memory, no new sessions or process groups,
  no mounts, namespaces, BPF or keyrings. Denied calls fail with EPERM.
* Landlock (when asked): file access only beneath the listed paths (read-only or
  read-write), no TCP, and (kernel ABI 6+) no signals outside the worker.

Runs inside the worker, so it imports nothing beyond the standard library and pyseccomp.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil

PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 1 << 14, 1 << 18
CLONE_THREAD = 0x00010000
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
READ_DIR = 1 << 3
READ_ACCESS = (1 << 0) | (1 << 2) | READ_DIR  # execute, read file, read dir
WRITE_ACCESS = sum(1 << bit for bit in (1, 4, 5, 7, 8, 10, 12))  # write, remove, make dir/reg/fifo/sym
DENIED = ["socket", "ptrace", "process_vm_readv", "process_vm_writev", "setsid", "setpgid",
          "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf", "perf_event_open",
          "keyctl", "add_key", "request_key", "fork", "vfork", "kexec_load", "init_module",
          "delete_module", "reboot", "swapon", "settimeofday", "userfaultfd",
          "pidfd_open", "pidfd_send_signal", "pidfd_getfd",  # signals and fds of other processes
          "shmget", "msgget", "semget", "mq_open"]  # System V / POSIX IPC: notes to a later worker

_libc = ctypes.CDLL(None, use_errno=True)


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unavailable."""
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                            ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def seccomp_available() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def no_new_privs() -> None:
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


def drop_capabilities() -> None:
    """Give up every capability for good: the ambient set, the bounding set (where this
    process may change it), and its own."""
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for capability in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            break  # past the last capability, or not permitted (then none is left to drop)
    nothing = (CapData * 2)()
    if _libc.capset(ctypes.byref(CapHeader(LINUX_CAPABILITY_VERSION_3, 0)), nothing) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def private_folder(folder: str, size_bytes: int, inodes: int) -> bool:
    """Replace ``folder`` by a fresh tmpfs of at most ``size_bytes`` and ``inodes`` files and
    folders, holding copies of what it held, in a mount namespace of this process's own
    (nothing propagates to or from the host's). False where this process may not mount, or
    where something is mounted beneath ``folder`` (a read-only bind of the Python environment
    when it lives under /tmp): a copy would fill the tmpfs, and hiding it would break imports."""
    if _mounts_beneath(folder) or (_libc.unshare(CLONE_NEWNS) != 0
            or _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0):
        return False
    before = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        options = f"size={size_bytes},nr_inodes={inodes},mode=0700".encode()
        if _libc.mount(b"tmpfs", folder.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
            return False
        shutil.copytree(f"/proc/self/fd/{before}", folder, symlinks=True, dirs_exist_ok=True,
                        copy_function=_read_only_copy)
    finally:
        os.close(before)
    os.chdir(folder)
    return True


def _mounts_beneath(folder: str) -> bool:
    """Whether a folder is mounted strictly beneath ``folder`` (files bound there, such as a
    submission's extra files, are copied like any file)."""
    prefix = folder.rstrip("/") + "/"
    try:
        with open("/proc/self/mountinfo") as mounts:
            points = [line.split()[4].replace("\\040", " ") for line in mounts]
    except OSError:
        return True  # cannot tell: do not risk hiding what the worker needs
    return any(point.startswith(prefix) and os.path.isdir(point) for point in points)


def _read_only_copy(source: str, target: str) -> None:
    shutil.copyfile(source, target)
    os.chmod(target, 0o444)


def apply_seccomp(unix_sockets: bool = False) -> None:
    """Deny the calls in DENIED, process creation, and signals to other processes; with
    ``unix_sockets``, local (AF_UNIX) sockets stay allowed, as the CUDA driver needs them."""
    import pyseccomp as seccomp

    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    if unix_sockets:
        rules.add_rule(deny, "socket", seccomp.Arg(0, seccomp.NE, 1))  # 1 = AF_UNIX
    for name in DENIED if not unix_sockets else [n for n in DENIED if n != "socket"]:
        try:
            rules.add_rule(deny, name)
        except (ValueError, RuntimeError, OSError):
            pass  # not a syscall on this architecture
    rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # glibc falls back to clone
    pid = os.getpid()
    for name in ("kill", "tgkill", "tkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        rules.add_rule(deny, name, seccomp.Arg(0, seccomp.NE, pid))
    rules.load()


def apply_landlock(readable: list[str], writable: list[str], listable: list[str] = ()) -> int:
    """Restrict file access to beneath ``readable`` (read) and ``writable`` (read and write),
    and ``listable`` (folders listed, their files not read); forbid TCP, and (ABI 6+) signals
    and abstract Unix sockets outside the worker."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.ENOSYS, "Landlock is not available")
    handled = READ_ACCESS | WRITE_ACCESS | (1 << 6) | (1 << 9) | (1 << 11)
    if abi >= 2:
        handled |= 1 << 13  # refer
    if abi >= 3:
        handled |= 1 << 14  # truncate
    attr = RulesetAttr(handled, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = ctypes.sizeof(RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                            ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, access in ((readable, READ_ACCESS), (listable, READ_DIR),
                              (writable, handled & ~((1 << 6) | (1 << 9) | (1 << 11)))):
            for path in paths:
                _add_path_rule(ruleset, path, access)
        if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


def _add_path_rule(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            access &= (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14)  # file rights only
        rule = PathBeneathAttr(access, fd)
        if _libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH,
                         ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def confine(policy: dict) -> list[str]:
    """Apply ``policy`` ({"seccomp": bool, "landlock": {"read": [...], "list": [...],
    "write": [...]}}) after dropping every capability; the names of what was applied."""
    applied = []
    if policy.get("seccomp"):
        import pyseccomp  # noqa: F401 - finds libseccomp (via ldconfig) before Landlock applies
    no_new_privs()
    drop_capabilities()
    applied.append("no_new_privs, no capabilities")
    if policy.get("landlock"):
        abi = apply_landlock(policy["landlock"].get("read", []), policy["landlock"].get("write", []),
                             policy["landlock"].get("list", []))
        applied.append(f"landlock (ABI {abi})")
    if policy.get("seccomp"):
        apply_seccomp(bool(policy.get("unix_sockets")))
        applied.append("seccomp")
    return applied
