"""Per-test deadlines calibrated from the reference's own time on this machine.

A class run grades the instructor's own submission before the students (once in each
grading process, which warms it up), under the configured limits, and gives each test a *first deadline* of ``max(FLOOR_SECONDS, FACTOR x
the reference's time for that test)``, never above the test's configured limit (the
ceiling: ``time_per_test`` of course.yml, ``--time-limit``, or the test's ``time_limit``
marker). A call still running at its first deadline is given the rest of the configured
limit (``grading.proxy``) unless the same function already ran past a full limit in that
submission: a slow but correct answer keeps every second it had, and a runaway costs the
full limit once per function instead of once per test. A correct answer never runs past
its full limit, so a calibration makes grading faster and costs it nothing; only a function
that already ran past the full limit once can lose a later test it would have finished
between its first deadline and the limit.

Measured once per rubric and machine, and kept in the course's
``build/calibration/<assignment>.json``: per machine (processor and cores), the rubric's
fingerprint (its time limits aside), the reference's seconds per test and a speed probe's
seconds. Another rubric measures again; a machine slower now than then (a slower probe)
scales the deadlines up by as much.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.grading.grade import Rubric, grade_submission
from autograder.grading.results import SubmissionResult

FLOOR_SECONDS = 1.0  # no test's first deadline is shorter
FACTOR = 20.0        # times the reference's own time for the test
CALIBRATE_FROM = 5   # submissions to grade before measuring is worth grading the reference


@dataclass(frozen=True)
class Reference:
    """The instructor's own submission, graded to calibrate, and where its times are kept."""

    files: dict[str, Path]  # notebook name -> the instructor's notebook (solutions filled in)
    store: Path             # the JSON file of measurements, e.g. build/calibration/<id>.json
    write_extra: Callable[[Path], object] | None = None  # writes the extra files it hands in


def deadlines(seconds: dict[str, float], slower: float = 1.0) -> dict[str, float]:
    """Test name -> first deadline (s), from the reference's ``seconds`` per test on a
    machine ``slower`` times as slow now as when they were measured."""
    return {name: round(max(FLOOR_SECONDS, FACTOR * spent * max(slower, 1.0)), 3)
            for name, spent in seconds.items()}


def calibrated(rubric: Rubric, reference: Reference, measure: bool = True) -> Rubric:
    """``rubric`` with first deadlines: from ``reference.store`` when it holds this rubric's
    on this machine, else (with ``measure``) measured by grading the reference here, and
    stored. Unchanged when neither gives any (no reference notebook, nothing measured)."""
    probe = speed_probe()
    kept = from_store(rubric, reference, probe)
    if kept.deadlines or not measure or not can_measure(reference):
        return kept
    with tempfile.TemporaryDirectory(prefix="course-calibrate-") as folder:
        result = grade_submission(plain(rubric), "reference", reference_files(reference, Path(folder)))
    return adopt(rubric, reference, [result], probe)


def from_store(rubric: Rubric, reference: Reference, probe: float) -> Rubric:
    """``rubric`` with the first deadlines kept for it on this machine (none if none are),
    scaled by how much slower than then the machine runs now (``probe`` against then)."""
    entry = _load(reference.store).get(machine())
    if not isinstance(entry, dict) or entry.get("rubric") != rubric_key(rubric):
        return rubric
    try:
        seconds = {str(name): float(spent) for name, spent in entry["tests"].items()}
        slower = probe / float(entry["probe"])
    except (KeyError, AttributeError, TypeError, ValueError, ZeroDivisionError):  # a damaged file
        return rubric
    return dataclasses.replace(rubric, deadlines=deadlines(seconds, slower)) if seconds else rubric


def adopt(rubric: Rubric, reference: Reference, results: list[SubmissionResult], probe: float) -> Rubric:
    """``rubric`` with first deadlines from the reference's graded ``results`` (per test the
    longest time; a test it failed once gets none), stored for this machine with ``probe``."""
    seconds: dict[str, float] = {}
    for test in (t for result in results for t in result.tests):
        seconds[test.name] = max(seconds.get(test.name, 0.0), test.duration)
    seconds = {name: spent for name, spent in seconds.items()
               if all(t.status == "passed" for r in results for t in r.tests if t.name == name)}
    if not seconds:
        return rubric
    _store(reference.store, machine(), {"rubric": rubric_key(rubric), "probe": probe, "tests": seconds})
    return dataclasses.replace(rubric, deadlines=deadlines(seconds))


def can_measure(reference: Reference) -> bool:
    """Whether the reference's notebooks are there (built) to be graded."""
    return all(Path(p).is_file() for p in reference.files.values())


def plain(rubric: Rubric) -> Rubric:
    """``rubric`` as the reference is measured with: every test, each under its configured limit."""
    return dataclasses.replace(rubric, deadlines={}, only=[], until_first_failure=False)


def reference_files(reference: Reference, folder: Path) -> dict[str, Path]:
    """The reference's notebooks copied into ``folder``, with the extra files it hands in."""
    files = {}
    for notebook, path in reference.files.items():
        files[notebook] = folder / Path(path).name
        shutil.copyfile(path, files[notebook])
    if reference.write_extra is not None:
        reference.write_extra(folder)
    return files


def describe(rubric: Rubric) -> str:
    """One line on the first deadlines ``rubric`` holds, for the grader's log."""
    firsts = sorted(min(s, rubric.limits.time_per_test) for s in rubric.deadlines.values())
    return (f"deadlines: calibrated from the reference's time on this machine, {firsts[len(firsts) // 2]:g} s "
            f"for most tests (at most {firsts[-1]:g} s); a function runs to the full limit "
            f"({rubric.limits.time_per_test:g} s unless a test sets its own) until it has run past it once")


def rubric_key(rubric: Rubric) -> str:
    """The rubric's fingerprint with its time limit left out: a limit changes no test's time."""
    neutral = rubric.limits.model_copy(update={"time_per_test": 1.0})
    return dataclasses.replace(rubric, limits=neutral).fingerprint()


def machine() -> str:
    """This machine as a calibration is kept for it: architecture, processor, cores."""
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{platform.machine()} {model or platform.processor()} x{os.cpu_count()}"


def speed_probe(repeats: int = 3) -> float:
    """Seconds (the least of ``repeats``) of a fixed mix of interpreted loops and small NumPy
    products, about 10 ms: how fast this machine runs now."""
    a = np.random.default_rng(0).standard_normal((96, 96))
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(60_000):
            total += i * i
        for _ in range(30):
            a = np.tanh(a @ a / 96)
        best = min(best, time.perf_counter() - start)
    return best


def _load(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _store(path: Path, machine_name: str, entry: dict) -> None:
    """Keep ``entry`` for ``machine_name`` beside the other machines' (written atomically)."""
    path = Path(path)
    data = _load(path)
    data[machine_name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=path.name, delete=False) as handle:
        handle.write(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(handle.name, path)
