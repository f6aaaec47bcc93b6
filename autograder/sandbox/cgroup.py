"""Memory limits through a cgroup, for workers that use CUDA.

CUDA reserves far more address space than it uses, so ``RLIMIT_AS`` cannot limit a GPU
worker; a memory cgroup limits what it really uses. Needs root and a writable cgroup
hierarchy (v1 ``memory`` controller or v2 with ``memory`` enabled); elsewhere the worker
runs without a memory limit and the run says so.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _parent() -> tuple[Path, str] | None:
    """(folder to create groups in, name of the limit file), or None when unavailable."""
    if (ROOT / "memory" / "memory.limit_in_bytes").exists() and os.access(ROOT / "memory", os.W_OK):
        return ROOT / "memory", "memory.limit_in_bytes"
    controllers = ROOT / "cgroup.controllers"
    if controllers.exists() and "memory" in controllers.read_text().split() and os.access(ROOT, os.W_OK):
        return ROOT, "memory.max"
    return None


def available() -> bool:
    return _parent() is not None


def create(limit_bytes: int) -> Path | None:
    """A new memory cgroup limited to ``limit_bytes``, or None where none can be made."""
    found = _parent()
    if found is None:
        return None
    parent, limit_file = found
    group = parent / f"course-worker-{uuid.uuid4().hex[:12]}"
    try:
        group.mkdir()
        (group / limit_file).write_text(str(limit_bytes))
        swap = group / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(limit_bytes))
    except OSError:
        remove(group)
        return None
    return group


def wrap(group: Path, argv: list[str]) -> list[str]:
    """``argv`` started inside ``group`` (the shell joins it, then becomes the command)."""
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *argv]


def remove(group: Path | None) -> None:
    """Remove ``group`` once the killed processes in it are gone (waits up to 2 s)."""
    if group is None:
        return
    for _ in range(40):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)
