"""How a worker process is isolated: the command line that starts it, per isolation tier.

Runs in the grader. Of the ``autograder`` package a worker sees only ``student/`` and
``sandbox/`` (``WORKER_VISIBLE``): the code that may run beside student code. Of
``student/published/`` (``course publish``) it sees the package and only the modules the
instructor's setup cells import, with what those import in turn (``visible_published``): a
template carries cells only from assignments listed before its own, so a submission can never
import its own assignment's published solutions, nor a later one's.

Tier A, ``namespaces`` (bubblewrap): new user, PID, network, IPC, UTS and mount namespaces;
uid 65534 with no capabilities; a cleared environment; a read-only view of the system and
the Python environment; the worker-visible parts of ``autograder`` bound alone at
``/opt/course``; a size-limited private ``/tmp``. The course repository (``reference/``,
hidden tests, gradebooks) is not mounted at all. Seccomp and Landlock apply inside as well.

Tier B, ``syscalls`` (no namespaces, e.g. in Docker): the worker confines itself with
seccomp (no processes, sockets, ptrace, signals to others, sessions, mounts) and, where the
kernel has it, Landlock (files readable only beneath the system and Python folders, its own
``/proc`` entries and the harmless devices; writable only in its own work folder; no TCP).

Tier C, ``limits``: resource limits only. Every run reports its tier, loudly when weak.

In every tier the worker gives up its capabilities and, where it may mount, makes its work
folder a tmpfs of its own with a size and an inode limit (``confine.private_folder``).
"""

from __future__ import annotations

import ast
import functools
import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import confine

PACKAGE_DIR = Path(__file__).resolve().parents[1]
WORKER_VISIBLE = ["__init__.py", "student", "sandbox"]  # all of the package a worker may see
PUBLISHED = ("student", "published")  # of which only some modules are visible (visible_published)
PUBLISHED_PACKAGE = ".".join(("autograder", *PUBLISHED))
MOUNT_ROOT = "/opt/course"
SYSTEM_DIRS = ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin"]
SYSTEM_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/passwd", "/etc/group"]  # user names: some libraries look up their uid
# Besides those, all a Landlocked worker may read: its own /proc entries (resolved when it
# confines itself), what NumPy and torch read about the CPU and memory, the harmless devices.
PROCESS_FILES = ["/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/sys/devices/system/cpu",
                 "/sys/devices/system/node", "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                 "/dev/urandom"]
# correct BLAS on some CPUs; which GPU a worker may use
PASSED_VARIABLES = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES"]
GPU_VARIABLES = ["LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES"]  # the driver


@dataclass(frozen=True)
class Isolation:
    tier: str  # "namespaces" (A), "syscalls" (B) or "limits" (C)
    detail: str

    @property
    def weak(self) -> bool:
        return self.tier != "namespaces"


def worker_environment(device: str = "cpu") -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",  # ldconfig: how pyseccomp finds libseccomp
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
        "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp",
    }
    passed = PASSED_VARIABLES + (GPU_VARIABLES if device == "cuda" else [])
    env.update({k: os.environ[k] for k in passed if k in os.environ})
    return env


def _existing(paths) -> list[str]:
    return [p for p in paths if os.path.exists(p)]


def _hidden_packages() -> list[str]:
    """Directories that must never be visible inside the sandbox."""
    spec = importlib.util.find_spec("reference")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [str(Path(p).resolve()) for p in spec.submodule_search_locations]


def bwrap_command(python: str, tmp_bytes: int, files: dict[str, str] | None = None,
                  device: str = "cpu", module: str = "autograder.sandbox.worker",
                  published: tuple[str, ...] = ()) -> list[str]:
    """The bubblewrap command line that runs ``python -m module`` (a worker or a zygote), of
    the published modules seeing only the package and the files ``published`` names."""
    command = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session",
               "--cap-drop", "ALL", "--hostname", "sandbox", "--clearenv",
               "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if device != "cuda":  # device nodes do not work inside a user namespace
        # CAP_SYS_ADMIN inside the sandbox's user namespace only: the worker mounts its own
        # limited tmpfs with it, then gives up every capability before any student code runs
        command += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-add", "CAP_SYS_ADMIN"]
    # The private /tmp first: mounts apply in order, and a Python environment may live under /tmp.
    command += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    mounted = []
    for path in _existing(SYSTEM_DIRS) + _existing(SYSTEM_FILES) + _python_dirs():
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        else:
            command += ["--ro-bind", path, path]
            mounted.append(path)
    for hidden in _hidden_packages():
        if any(hidden == m or hidden.startswith(m.rstrip("/") + "/") for m in mounted):
            command += ["--tmpfs", hidden]
    for name in WORKER_VISIBLE:
        command += ["--ro-bind", str(PACKAGE_DIR / name), f"{MOUNT_ROOT}/autograder/{name}"]
    if PACKAGE_DIR.joinpath(*PUBLISHED).is_dir():  # an empty folder, then the visible modules alone
        folder = "/".join((MOUNT_ROOT, "autograder", *PUBLISHED))
        command += ["--tmpfs", folder]
        for name in _published_files(published):
            command += ["--ro-bind", str(PACKAGE_DIR.joinpath(*PUBLISHED, name)), f"{folder}/{name}"]
    command += ["--chdir", "/tmp"]
    if device == "cuda":  # after --dev: the GPU's device nodes and what the driver reads
        command += [arg for node in gpu_nodes() for arg in ("--dev-bind", node, node)]
        command += ["--ro-bind", "/sys", "/sys"]
    for name, path in (files or {}).items():
        command += ["--ro-bind", path, f"/tmp/{name}"]
    for key, value in worker_environment(device).items():
        command += ["--setenv", key, value]
    command += ["--setenv", "PYTHONPATH", MOUNT_ROOT, python, "-m", module]
    return command


def gpu_nodes() -> list[str]:
    """The NVIDIA device nodes a CUDA worker must open."""
    return sorted(glob.glob("/dev/nvidia*"))


def _python_dirs() -> list[str]:
    dirs = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
    return sorted(d for d in dirs if not any(d.startswith(s + "/") for s in SYSTEM_DIRS))


@dataclass(frozen=True)
class Launch:
    """How to start one worker: argv, environment, working folder, and the confinement
    policy the worker applies to itself before running student code."""

    argv: list[str]
    env: dict[str, str] | None
    workdir: str | None
    policy: dict


@functools.lru_cache(maxsize=None)
def detect_isolation(force: str | None = None) -> Isolation:
    """The strongest tier that works here: namespaces (A), syscalls (B), limits (C).

    ``force`` (or the environment variable COURSE_ISOLATION) picks a tier, for tests and
    for machines where a probe would mislead.
    """
    force = force or os.environ.get("COURSE_ISOLATION")
    seccomp = confine.seccomp_available()
    if force in (None, "namespaces") and shutil.which("bwrap"):
        if _probe(Isolation("namespaces", "")):
            return Isolation("namespaces", "tier A: bubblewrap namespaces (no network, no view of "
                             "the course files, unprivileged uid)" + (" + seccomp" if seccomp else ""))
    if force in (None, "namespaces", "syscalls") and seccomp:
        abi = confine.landlock_abi()
        candidate = Isolation("syscalls", "tier B: seccomp (no processes, sockets, ptrace or "
                              "signals)" + (f" + Landlock ABI {abi} (files beneath the Python "
                              "environment only)" if abi else ", no Landlock: files readable"))
        if _probe(candidate):
            return candidate
    reason = "forced" if force == "limits" else "no namespaces or seccomp available here"
    return Isolation("limits", f"tier C: resource limits only ({reason}): the submission can "
                               "read any file the grader can (the reference and hidden tests "
                               "included), write into the class and output folders, use the "
                               "network and signal other processes, the grader's included")


def _probe(isolation: Isolation) -> bool:
    """Whether a worker confined this way starts and imports NumPy."""
    launch = worker_command(isolation, 16 << 20)
    code = ("import json, sys; from autograder.sandbox.confine import confine; "
            f"confine(json.loads({json.dumps(json.dumps(launch.policy))})); import numpy")
    try:
        result = subprocess.run(launch.argv[:-2] + ["-c", code], env=launch.env, cwd=launch.workdir,
                                capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        if launch.workdir:
            shutil.rmtree(launch.workdir, ignore_errors=True)
    return result.returncode == 0


def worker_command(isolation: Isolation, tmp_bytes: int, files: dict[str, str] | None = None,
                   device: str = "cpu", module: str = "autograder.sandbox.worker",
                   published: tuple[str, ...] = ()) -> Launch:
    """How to start a worker (or, with ``module="autograder.sandbox.zygote"``, a zygote) under
    ``isolation``; ``files`` (name -> path) appear read-only in its working folder; of the
    published modules it sees those ``published`` names (``visible_published``)."""
    seccomp = isolation.tier != "limits" and confine.seccomp_available()
    policy: dict = {"seccomp": seccomp, "unix_sockets": device == "cuda"}
    # Measured on an H100: the CUDA driver fails to start under any Landlock ruleset tried
    # (error 304), so a GPU worker has seccomp but no file rules.
    landlock = isolation.tier != "limits" and confine.landlock_abi() >= 1 and device != "cuda"
    if isolation.tier == "namespaces":
        if landlock:
            policy.update(landlock_policy(isolation, "/tmp", published))
        return Launch(bwrap_command(sys.executable, tmp_bytes, files, device, module, published), {}, None, policy)
    workdir = tempfile.mkdtemp(prefix="course-worker-")
    # Landlock keeps the other published modules from the worker; without it (tier C, a CUDA
    # worker) it may read any file anyway, but its links leave them out too, so that an import
    # of one fails as it does elsewhere
    _link_package(os.path.join(workdir, "autograder"), None if landlock else published)
    for name, path in (files or {}).items():
        shutil.copyfile(path, os.path.join(workdir, name))
        os.chmod(os.path.join(workdir, name), 0o444)
    env = dict(worker_environment(device), PYTHONPATH=workdir, HOME=workdir, MPLCONFIGDIR=workdir,
               TMPDIR=workdir)
    if landlock:
        policy.update(landlock_policy(isolation, workdir, published))
    return Launch([sys.executable, "-s", "-m", module], env, workdir, policy)


def _link_package(folder: str, published: tuple[str, ...] | None) -> None:
    """``folder``: links to the worker-visible parts of the package; unless ``published`` is
    None, its published folder holds links to the package and the ``published`` modules alone."""
    os.mkdir(folder)
    source = PACKAGE_DIR.joinpath(*PUBLISHED)
    filtered = published is not None and source.is_dir()
    for name in WORKER_VISIBLE:
        if not (filtered and name == PUBLISHED[0]):
            os.symlink(PACKAGE_DIR / name, os.path.join(folder, name))
    if not filtered:
        return
    parent = os.path.join(folder, *PUBLISHED[:-1])  # student/, entry by entry
    os.mkdir(parent)
    for entry in os.listdir(source.parent):
        if entry != PUBLISHED[-1]:
            os.symlink(source.parent / entry, os.path.join(parent, entry))
    os.mkdir(os.path.join(parent, PUBLISHED[-1]))
    for name in _published_files(published):
        os.symlink(source / name, os.path.join(parent, PUBLISHED[-1], name))


def imported_modules(source: str) -> list[str]:
    """The modules ``source`` imports absolutely (parsed, never run): ``a.b`` for ``import
    a.b``; ``a.b`` and ``a.b.c`` for ``from a.b import c``; none if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def visible_published(preload: tuple[str, ...]) -> tuple[str, ...]:
    """The published modules (file names) a worker may import: those of ``preload`` (the
    modules the instructor's setup cells import), and those they import, transitively."""
    folder = PACKAGE_DIR.joinpath(*PUBLISHED)
    pending = [m for m in preload if m.startswith(PUBLISHED_PACKAGE + ".")]
    found: list[str] = []
    while pending:
        name = pending.pop(0).removeprefix(PUBLISHED_PACKAGE + ".").split(".")[0] + ".py"
        path = folder / name
        if name in found or not path.is_file():
            continue
        found.append(name)
        try:
            imported = imported_modules(path.read_text())
        except OSError:
            continue
        pending += [m for m in imported if m.startswith(PUBLISHED_PACKAGE + ".")]
    return tuple(sorted(found))


def _published_files(published: tuple[str, ...]) -> list[str]:
    """The files of the published folder a worker sees: the package and ``published``."""
    folder = PACKAGE_DIR.joinpath(*PUBLISHED)
    return [name for name in ("__init__.py", *published) if (folder / name).is_file()]


def _hidden_published(published: tuple[str, ...]) -> list[str]:
    """The files of the published folder a worker must not read: all but ``_published_files``."""
    folder = PACKAGE_DIR.joinpath(*PUBLISHED)
    shown = set(_published_files(published))
    return [str(path) for path in sorted(folder.iterdir()) if path.name not in shown] if folder.is_dir() else []


def can_fork_workers(isolation: Isolation, device: str) -> bool:
    """Whether workers may be forked from a shared zygote: only where each child can be
    walled off from its siblings (Landlock for files and ptrace, seccomp for signals and
    processes), and not for CUDA, which neither survives fork nor runs under Landlock."""
    return (isolation.tier in ("namespaces", "syscalls") and device == "cpu"
            and confine.seccomp_available() and confine.landlock_abi() >= 1)


def zygote_base(isolation: Isolation, launch: Launch) -> str:
    """The folder, as the zygote sees it, beneath which it makes each worker's folder."""
    return "/tmp" if isolation.tier == "namespaces" else launch.workdir


def forked_worker_policy(isolation: Isolation, folder: str, published: tuple[str, ...] = ()) -> dict:
    """What a worker forked from a zygote applies to itself: seccomp, and Landlock that lets
    it write only ``folder`` (so it cannot see or touch a sibling's folder, nor ptrace or
    signal a sibling) and read of the published modules only ``published``; in tier C (a
    student's check server) neither, as a started tier C worker."""
    if isolation.tier == "limits":
        return {"seccomp": False, "unix_sockets": False}
    return {"seccomp": True, "unix_sockets": False, **landlock_policy(isolation, folder, published)}


def landlock_policy(isolation: Isolation, folder: str, published: tuple[str, ...] = ()) -> dict:
    """Landlock for a worker of ``isolation`` whose own folder is ``folder``: it reads the
    system, Python, the student-safe package (of the published modules, only ``published``),
    its own /proc entries and the harmless devices (never a hidden package, wherever it is
    installed) and writes only ``folder``."""
    package = f"{MOUNT_ROOT}/autograder" if isolation.tier == "namespaces" else str(PACKAGE_DIR)
    paths = (_existing(SYSTEM_DIRS + SYSTEM_FILES + PROCESS_FILES) + _python_dirs()
             + [f"{package}/{name}" for name in WORKER_VISIBLE])
    # under namespaces the other published modules are not mounted at all; elsewhere the
    # worker may list their folder (an import of one then fails on reading it), not read them
    shut = [] if isolation.tier == "namespaces" else _hidden_published(published)
    hidden = _hidden_packages() + shut
    listed = [str(PACKAGE_DIR.joinpath(*PUBLISHED[:-1]))] if shut else []
    return {"landlock": {"read": [p for path in paths for p in _without(path, hidden)],
                         "list": listed, "write": [folder]}}


def _without(path: str, hidden: list[str]) -> list[str]:
    """``path``, or, where a hidden folder lies beneath it, its entries less the hidden ones."""
    if path in hidden:
        return []
    if not any(h.startswith(path.rstrip("/") + "/") for h in hidden):
        return [path]
    return [p for entry in sorted(os.listdir(path)) for p in _without(os.path.join(path, entry), hidden)]
