"""How a worker process is isolated: the command line that starts it, per isolation tier.

Tier ``namespaces`` (bubblewrap): new user, PID, network, IPC, UTS and mount namespaces; an
unprivileged uid with no capabilities; a cleared environment; a read-only view of the system
and the Python environment; the grader's student-safe ``autograder`` package bound alone at
``/opt/course``; a size-limited private ``/tmp`` as the working directory. The course
repository (``reference/``, hidden tests, gradebooks) is not mounted at all.

Tier ``limits``: where namespaces are unavailable, only resource limits apply. Every run
reports its tier, and it says loudly when isolation is weak.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

AUTOGRADER_DIR = Path(__file__).resolve().parent
MOUNT_ROOT = "/opt/course"
SYSTEM_DIRS = ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin"]
SYSTEM_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"]
PASSED_VARIABLES = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]  # needed for correct BLAS on some CPUs


@dataclass(frozen=True)
class Isolation:
    tier: str  # "namespaces" or "limits"
    detail: str

    @property
    def weak(self) -> bool:
        return self.tier != "namespaces"


def worker_environment() -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp",
    }
    env.update({k: os.environ[k] for k in PASSED_VARIABLES if k in os.environ})
    return env


def _existing(paths) -> list[str]:
    return [p for p in paths if os.path.exists(p)]


def _hidden_packages() -> list[str]:
    """Directories that must never be visible inside the sandbox."""
    spec = importlib.util.find_spec("reference")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [str(Path(p).resolve()) for p in spec.submodule_search_locations]


def bwrap_command(python: str, tmp_bytes: int) -> list[str]:
    """The bubblewrap command line that runs ``python -m autograder.worker``."""
    command = ["bwrap", "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
               "--cap-drop", "ALL", "--uid", "65534", "--gid", "65534", "--hostname", "sandbox",
               "--clearenv"]
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
    command += ["--ro-bind", str(AUTOGRADER_DIR), f"{MOUNT_ROOT}/autograder",
                "--proc", "/proc", "--dev", "/dev",
                "--size", str(tmp_bytes), "--tmpfs", "/tmp", "--chdir", "/tmp"]
    for key, value in worker_environment().items():
        command += ["--setenv", key, value]
    command += ["--setenv", "PYTHONPATH", MOUNT_ROOT, python, "-m", "autograder.worker"]
    return command


def _python_dirs() -> list[str]:
    dirs = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
    return sorted(d for d in dirs if not any(d.startswith(s + "/") for s in SYSTEM_DIRS))


@functools.lru_cache(maxsize=None)
def detect_isolation(force: str | None = None) -> Isolation:
    """The strongest tier that works on this machine (``force`` picks one for tests)."""
    force = force or os.environ.get("COURSE_ISOLATION")
    if force == "limits":
        return Isolation("limits", "resource limits only (forced): the submission can read files "
                                   "and use the network")
    if shutil.which("bwrap") is None:
        return Isolation("limits", "resource limits only: bubblewrap is not installed, so the "
                                   "submission can read files and use the network")
    probe = bwrap_command(sys.executable, 1 << 20)[:-2] + ["-c", "import autograder.wire"]
    result = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return Isolation("limits", "resource limits only: bubblewrap cannot create namespaces "
                                   f"here ({result.stderr.strip()[:200]})")
    return Isolation("namespaces", "bubblewrap: no network, no view of the course files, "
                                   "unprivileged uid")


def worker_command(isolation: Isolation, tmp_bytes: int) -> tuple[list[str], dict | None, str | None]:
    """(argv, env, cwd) that start a worker under ``isolation``."""
    if isolation.tier == "namespaces":
        return bwrap_command(sys.executable, tmp_bytes), {}, None
    workdir = tempfile.mkdtemp(prefix="course-worker-")
    os.symlink(AUTOGRADER_DIR, os.path.join(workdir, "autograder"))
    env = dict(worker_environment(), PYTHONPATH=workdir, HOME=workdir, MPLCONFIGDIR=workdir)
    return [sys.executable, "-s", "-m", "autograder.worker"], env, workdir
