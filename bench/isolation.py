"""What isolation costs: per call (a small one, and an update rule's with 100 KB of arrays),
per worker start, per graded assignment, in each tier.

Each tier that works here is compared with running the same rubric in-process (the
submission's cells executed in the grader itself, which a real grader must never do).
Workers come either forked from a warm zygote (the default where the tier allows it) or
started one by one (a fresh Python, with a warm spare waiting); "first" is the first
submission a grading process grades, which pays for starting the zygote or the spare. A call's
two ends poll for each other's messages where a core is free ("no poll": each sleeps instead,
as in a class run's grading processes).

    OMP_NUM_THREADS=1 .venv/bin/python bench/isolation.py [ASSIGNMENT...] [--tiers-on 01_regression]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import types
import unittest.mock
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.building.build import build  # noqa: E402
from autograder.building.variants import write_reference_files  # noqa: E402
from autograder.course import Limits, load_course  # noqa: E402
from autograder.grading import proxy  # noqa: E402
from autograder.grading.extract import build_program  # noqa: E402
from autograder.grading.grade import Rubric, grade_submission, pytest_args  # noqa: E402
from autograder.grading.program import Cell, Program  # noqa: E402
from autograder.grading.proxy import Controls  # noqa: E402
from autograder.grading.rubric import GradingPlugin  # noqa: E402
from autograder.sandbox import launch, wire  # noqa: E402
from autograder.sandbox.pool import WorkerPool  # noqa: E402
from autograder.sandbox.worker import Session, seed_everything  # noqa: E402

POOL = WorkerPool.shared()  # the pool grading uses in this process


class InProcess:
    """The submission's cells executed in this process: the unsafe baseline, with the
    ``Controls`` interface the rubric plugin uses. Results are reduced to the same plain
    data the proxy returns, so that the rubric behaves alike."""

    def __init__(self, program: Program, limits: Limits):
        namespace: dict = {}
        for cell in program.cells:
            exec(compile(cell.source, cell.name, "exec"), namespace)
        self.student = types.SimpleNamespace(**{k: Local(v) for k, v in namespace.items()
                                                if not k.startswith("__")})
        self.limits, self.warnings, self.modified, self.load_errors = limits, [], [], {}

    def start_test(self, seconds: float, first: float | None = None, name: str = "") -> None:
        pass

    def end_test(self) -> None:
        pass


class Local:
    """An object of the submission used in this process the way ``Remote`` is used."""

    def __init__(self, obj):
        self._obj = obj
        self._name = f"`{getattr(obj, '__name__', type(obj).__name__)}`"

    def __getattr__(self, name: str) -> "Local":
        if name.startswith("_"):
            raise AttributeError(name)
        return Local(getattr(self._obj, name))

    def __call__(self, *args, **kwargs):
        args, kwargs = through_wire((args, kwargs), lambda obj: obj)  # copies, as the proxy sends
        seed_everything(0)  # as the worker does before every call
        return through_wire(self._obj(*args, **kwargs), Local)


def through_wire(value, wrap):
    """``value`` encoded as the worker encodes results: copies of plain data; anything else
    (a ``Local`` unwrapped first) comes back as ``wrap(obj)``."""
    session = Session()
    encoded, buffers = session.to_wire(value)

    def tagged(tag: dict):
        obj = session.handles[tag["id"]]
        return wrap(obj._obj if isinstance(obj, Local) else obj)

    return wire.decode(encoded, buffers, tagged)


def grade_in_process(rubric: Rubric, files: dict) -> float:
    """Seconds to grade ``files`` with the submission loaded into this very process."""
    start = time.perf_counter()
    folder = Path(next(iter(files.values()))).parent  # where submitted files (checkpoints) lie
    with contextlib.chdir(folder), unittest.mock.patch.object(proxy, "fetch", lambda local: through_wire(local._obj, Local)):
        plugin = GradingPlugin(InProcess(build_program(rubric.instructor, files), rubric.limits),
                               rubric.thresholds)
        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main(pytest_args(rubric), plugins=[plugin])
    failed = [name for name, r in plugin.results.items() if r.status != "passed"]
    assert not failed, f"in-process run of {rubric.assignment} failed: {failed}"
    return time.perf_counter() - start


def median_time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tier_table(rubric: Rubric, files: dict, calls: int, repeat: int) -> None:
    """Per call, per worker start, first and later submissions, for every tier here."""
    tiers = [t for t in ("namespaces", "syscalls", "limits") if launch.detect_isolation(t).tier == t]
    program = Program([Cell("bench", "import numpy as np\ndef f(x):\n    return x * 2\n\n"
                                     "def step(w, dw, state):\n    v = 0.9 * state['v'] - 0.1 * dw\n"
                                     "    return w + v, {'v': v}\n")])
    x = np.arange(16.0)
    w, dw = np.ones((64, 50)), np.full((64, 50), 0.5)  # an update rule's call: 100 KB out, 50 KB back
    direct = median_time(lambda: [x * 2 for _ in range(calls)], repeat) / calls
    grade_in_process(rubric, files)  # warm-up: the rubric's own imports
    print(f"{rubric.assignment}; median of {repeat} runs; one grading process; each tier's grading "
          f"alternates with grading in-process (in (s))")
    print(f"{'tier':<11} {'workers':<8} {'call (ms)':>10} {'no poll':>8} {'100 KB (ms)':>11} {'start (s)':>10} "
          f"{'first (s)':>10} {'grade (s)':>10} {'in (s)':>7} {'vs in-process':>14}")
    print(f"{'in-process':<11} {'-':<8} {direct * 1e3:10.4f} {'-':>8} {'-':>11} {'0':>10} {'-':>10} {'-':>10} {'-':>7} "
          f"{'1.00x':>14}")
    full = build_program(rubric.instructor, files)
    for tier in tiers:
        isolation = launch.detect_isolation(tier)
        modes = ["forked", "started"] if launch.can_fork_workers(isolation, "cpu") else ["started"]
        for mode in modes:
            POOL.forking = mode == "forked"
            POOL.close()
            first = grade_submission(rubric, "bench", files, isolation).duration
            unpolled = WorkerPool(spares=False, polls=False)
            unpolled.forking = POOL.forking
            sleeper = Controls(program, Limits(), isolation, pool=unpolled)
            sleeping = call_time(sleeper, x, calls, repeat)
            sleeper.close()
            unpolled.close()
            controls = Controls(program, Limits(), isolation)
            per_call = call_time(controls, x, calls, repeat)
            state = {"v": np.zeros_like(w)}
            heavy = median_time(lambda: [controls.student.step(w, dw, state) for _ in range(calls // 4)],
                                repeat) / (calls // 4)
            controls.close()

            def start_worker():
                started = Controls(full, rubric.limits, isolation)
                started.start()
                started.close()

            start = median_time(start_worker, repeat)
            baseline, (graded,) = paired(rubric, files, isolation, repeat)
            print(f"{tier:<11} {mode:<8} {per_call * 1e3:10.4f} {sleeping * 1e3:8.4f} {heavy * 1e3:11.4f} {start:10.2f} "
                  f"{first:10.2f} {graded:10.2f} {baseline:7.2f} {graded / baseline:13.2f}x")
    POOL.forking = True
    POOL.close()


def call_time(controls: Controls, x, calls: int, repeat: int) -> float:
    """Median seconds of one call ``f(x)`` into the submission ``controls`` holds."""
    controls.student.f(x)
    return median_time(lambda: [controls.student.f(x) for _ in range(calls)], repeat) / calls


def paired(rubric: Rubric, files: dict, isolation, repeat: int, polls: tuple[bool, ...] = (True,)
           ) -> tuple[float, list[float]]:
    """Median seconds to grade ``files`` in-process and isolated (once per ``polls`` setting of
    the pool), the runs alternating, so that a change in the machine's load slows all alike."""
    inside, isolated = [], [[] for _ in polls]
    for _ in range(repeat):
        inside.append(grade_in_process(rubric, files))
        for times, poll in zip(isolated, polls):
            POOL.polls = poll
            result = grade_submission(rubric, "bench", files, isolation)
            assert result.score == result.max_score, f"{rubric.assignment} lost points"
            times.append(result.duration)
    POOL.polls = True
    return statistics.median(inside), [statistics.median(times) for times in isolated]


def assignment_table(course, ids: list[str], repeat: int) -> None:
    """Each assignment's reference graded in-process and in the strongest tier here, with the
    grader and its workers polling for each other's messages and without."""
    isolation = launch.detect_isolation()
    print(f"\nevery assignment's reference; median of {repeat} after one warm-up; {isolation.detail}")
    print(f"{'assignment':<24} {'in-process (s)':>15} {'isolated (s)':>13} {'added':>8} "
          f"{'no poll (s)':>12} {'added':>8}")
    totals = [0.0, 0.0, 0.0]
    for assignment_id in ids:
        rubric, files = reference_files(course, assignment_id)
        grade_in_process(rubric, files)
        grade_submission(rubric, "bench", files, isolation)
        inside, (polled, sleeping) = paired(rubric, files, isolation, repeat, polls=(True, False))
        for i, seconds in enumerate((inside, polled, sleeping)):
            totals[i] += seconds
        print(f"{assignment_id:<24} {inside:15.2f} {polled:13.2f} {polled / inside - 1:8.1%} "
              f"{sleeping:12.2f} {sleeping / inside - 1:8.1%}")
    print(f"{'all':<24} {totals[0]:15.2f} {totals[1]:13.2f} {totals[1] / totals[0] - 1:8.1%} "
          f"{totals[2]:12.2f} {totals[2] / totals[0] - 1:8.1%}")
    POOL.close()


def reference_files(course, assignment_id: str) -> tuple[Rubric, dict]:
    rubric = Rubric.for_assignment(course, assignment_id)
    write_reference_files(course.assignment_dir(assignment_id), course.layout.source_dir(assignment_id))
    return rubric, course.layout.source_notebooks(course.assignment(assignment_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("assignments", nargs="*", help="default: every assignment in course.yml")
    parser.add_argument("--tiers-on", default="01_regression", help="the assignment of the tier table")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    course = load_course(ROOT)
    ids = args.assignments or [a.id for a in course.assignments]
    build(course, sorted(set(ids) | {args.tiers_on}))
    tier_table(*reference_files(course, args.tiers_on), args.calls, args.repeat)
    assignment_table(course, ids, args.repeat)


if __name__ == "__main__":
    main()
