"""How long one submission takes, as the student and a CI job see it: the wall time of
``course check NOTEBOOK`` (public tests) and of ``course grade`` of one submission, each as a
ratio to ``python -c "import torch"`` timed in the same run (median of ``--repeat`` runs of
each, interleaved, so that a busy machine slows all alike).

A self-check forks its worker from the student's check server (``autograder.sandbox.warm``):
``course check`` is timed three ways: the first check, which starts the server; a later one,
served by it; and with servers turned off (``COURSE_WARM_SECONDS=0``), a worker of its own.
Where PyTorch sees a GPU, ``course grade --device cuda`` is timed too (a CUDA worker is
started, never forked: CUDA does not survive a fork).

    OMP_NUM_THREADS=1 .venv/bin/python bench/latency.py [--assignment 01_regression] [--repeat 5]

Before (the commands as they stood before start-up was overlapped and deferred), on a quiet
2-core machine, 01_regression's reference: ``import torch`` 1.31-1.39 s; ``course check``
5.56-5.82 s (4.2x); ``course grade`` 7.84-7.91 s (5.8x).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = {"course grade": 5.8}  # ratios to import torch, from the docstring
BEFORE.update(dict.fromkeys(["check, first", "check, served", "check, no server"], 4.2))


def wall(argv: list[str], **env: str) -> float:
    """Seconds ``argv`` takes, run from the repository root with ``env`` added; it must exit 0."""
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **env})
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return seconds


def cuda_available() -> bool:
    """Whether PyTorch sees a GPU (asked in a child, so that this process stays torch-free)."""
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                           capture_output=True, text=True)
    return probe.stdout.strip() == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="01_regression")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    python = sys.executable
    course = [python, "-m", "autograder.cli"]
    wall(course + ["build", args.assignment, "--no-execute"])
    notebooks = sorted((ROOT / "build" / "source" / args.assignment).glob("*.ipynb"))
    check = course + ["check", str(notebooks[0])]
    with tempfile.TemporaryDirectory(prefix="latency-", dir="/tmp") as out:
        servers = Path(out, "runtime")  # this run's own check servers, stopped by removing it
        commands = {
            "import torch": ([python, "-c", "import torch"], {}),
            "check, first": (check, {}),
            "check, served": (check, {}),
            "check, no server": (check, {"COURSE_WARM_SECONDS": "0"}),
            "course grade": (course + ["grade", "-a", args.assignment, *map(str, notebooks), "-o", out], {}),
        }
        if cuda_available():
            commands["grade, cuda"] = (course + ["grade", "-a", args.assignment, *map(str, notebooks),
                                                 "-o", out, "--device", "cuda"], {})
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            shutil.rmtree(servers, ignore_errors=True)  # the first check starts a server
            servers.mkdir(mode=0o700)
            for name, (argv, env) in commands.items():
                times[name].append(wall(argv, XDG_RUNTIME_DIR=str(servers), **env))
        shutil.rmtree(servers, ignore_errors=True)
    if "grade, cuda" not in times:
        print("no GPU here: `course grade --device cuda` is not timed")
    torch = statistics.median(times["import torch"])
    print(f"{args.assignment}'s reference; median of {args.repeat} runs; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':<16} {'median (s)':>10} {'range (s)':>12} {'vs import torch':>16} {'before':>8}")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        before = f"{BEFORE[name]:.1f}x" if name in BEFORE else "-"
        print(f"{name:<16} {median:10.2f} {min(seconds):5.2f}-{max(seconds):<6.2f} {median / torch:15.2f}x "
              f"{before:>8}")


if __name__ == "__main__":
    main()
