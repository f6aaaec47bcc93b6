"""What isolation costs: per call, per worker start, per graded assignment, in each tier.

Each tier that works here is compared with running the same rubric in-process (the
submission's cells executed in the grader itself, which a real grader must never do).

    .venv/bin/python bench/isolation.py [--assignment 01_regression] [--calls 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import sandbox  # noqa: E402
from autograder.build import build  # noqa: E402
from autograder.config import load_course  # noqa: E402
from autograder.extract import build_program  # noqa: E402
from autograder.grading import RUBRIC_INI, Rubric, grade_submission  # noqa: E402
from autograder.remote import Cell, Limits, Program, Submission  # noqa: E402
from autograder.rubric import GradingPlugin  # noqa: E402


class InProcess(types.SimpleNamespace):
    """The submission's cells executed in this process: the unsafe baseline."""

    def __init__(self, program: Program):
        namespace: dict = {}
        for cell in program.cells:
            exec(compile(cell.source, cell.name, "exec"), namespace)
        super().__init__(**{k: v for k, v in namespace.items() if not k.startswith("__")})
        self._deadline, self._warnings, self._load_errors = None, [], {}

    def _close(self):
        pass


def grade_in_process(rubric: Rubric, files: dict) -> float:
    start = time.perf_counter()
    plugin = GradingPlugin(InProcess(build_program(rubric.instructor, files)), rubric.thresholds,
                           rubric.limits.time_per_test)
    args = [str(f) for f in rubric.test_files] + ["-c", str(RUBRIC_INI), "-p", "no:cacheprovider",
                                                  "-p", "no:terminal", "--import-mode=importlib"]
    with contextlib.redirect_stdout(io.StringIO()):
        pytest.main(args, plugins=[plugin])
    assert all(r.status == "passed" for r in plugin.results.values()), "in-process run failed"
    return time.perf_counter() - start


def median_time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assignment", default="01_regression")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    course = load_course(ROOT)
    build(course, [args.assignment])
    rubric = Rubric.for_assignment(course, args.assignment)
    files = {n: ROOT / "build" / "source" / args.assignment / f"{n}.ipynb" for n in rubric.notebooks}
    tiers = [t for t in ("namespaces", "syscalls", "limits") if sandbox.detect_isolation(t).tier == t]
    program = Program([Cell("bench", "import numpy as np\ndef f(x):\n    return x * 2\n")])
    x = np.arange(16.0)

    direct = median_time(lambda: [x * 2 for _ in range(args.calls)], args.repeat) / args.calls
    baseline = statistics.median(grade_in_process(rubric, files) for _ in range(args.repeat))
    print(f"assignment {args.assignment}; median of {args.repeat} runs; one grading process")
    print(f"{'tier':<12} {'call (ms)':>10} {'start+load (s)':>15} {'grade (s)':>10} {'vs in-process':>14}")
    print(f"{'in-process':<12} {direct * 1e3:10.4f} {'0':>15} {baseline:10.2f} {'1.00x':>14}")
    for tier in tiers:
        isolation = sandbox.detect_isolation(tier)
        submission = Submission(program, Limits(), isolation)
        submission.f(x)
        per_call = median_time(lambda: [submission.f(x) for _ in range(args.calls)], args.repeat) / args.calls
        submission._close()
        full = build_program(rubric.instructor, files)

        def start_worker():
            s = Submission(full, rubric.limits, isolation)
            s._ensure_worker()
            s._close()

        start = median_time(start_worker, args.repeat)
        graded = statistics.median(grade_submission(rubric, "bench", files, isolation).duration
                                   for _ in range(args.repeat))
        print(f"{tier:<12} {per_call * 1e3:10.4f} {start:15.2f} {graded:10.2f} {graded / baseline:13.2f}x")


if __name__ == "__main__":
    main()
