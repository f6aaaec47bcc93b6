"""A class of generated 01 submissions graded by `course grade` (one and two grading
processes) and, on a sample with the same mix, by `nbgrader autograde`, in one run.

Each student's notebook is the instructor's one changed by the project's own example makers
(autograder/examples.py, assignments/01_regression/variants.py): correct (the reference and
each correct alternative), buggy (each plausible bug), crashing (syntax error, os._exit,
memory bomb, invalid JSON, deleted answer cell, untouched release notebook) or timing out (an
infinite loop). Every notebook carries its student's id in a comment, so no two are the same
file. Both tools run through their command lines, single-threaded. The script checks that
both runs of ours give the same scores, that every category scored as it should, and prints
submissions per minute against the targets: 200 submissions in at most 90 s on 2 cores, the
time-outs at most 25 % of that wall time, at least 5x nbgrader's rate per submission.

A function that runs past most of a test's limit without finishing is not run again in that
submission, so an infinite loop costs one limit, not one per test that calls it.

    .venv/bin/python bench/class.py [--students 200] [--sample 20] [--seed 0] [--skip-serial]
                                    [--time-limit SECONDS]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute

from nbgrader_tests import public_test_cells

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.course import load_course  # noqa: E402
from autograder.building import examples  # noqa: E402
from autograder.building.examples import BROKEN_KINDS, broken  # noqa: E402
from autograder.grading.program import is_answer  # noqa: E402

ASSIGNMENT, NOTEBOOK = "01_regression", "regression"
BIN = Path(sys.executable).parent
MIX = {"correct": 0.55, "buggy": 0.30, "crashing": 0.10, "timing out": 0.05}
CRASHING = ["syntax_error", "exits_early", "memory_bomb", "invalid_json", "deleted_cell", "untouched"]
TARGET_STUDENTS, TARGET_SECONDS, TARGET_RATIO, TARGET_TIMEOUTS = 200, 90, 5.0, 0.25


@dataclass(frozen=True)
class Student:
    name: str
    category: str  # a key of MIX
    kind: str      # "reference", "alt_<variant>", "bug_<variant>", a broken kind or "untouched"
    rank: int      # position in its category, whose kinds cycle in this order


def category_counts(total: int) -> dict[str, int]:
    """Students per category in a class of ``total``: MIX's shares, largest remainders rounded up."""
    exact = {category: share * total for category, share in MIX.items()}
    counts = {category: int(round(x, 9)) for category, x in exact.items()}
    for category in sorted(exact, key=lambda c: counts[c] - exact[c])[:total - sum(counts.values())]:
        counts[category] += 1
    return counts


def plan_class(total: int, seed: int, kinds: dict[str, list[str]]) -> list[Student]:
    """``total`` students, each category cycling through its kinds, in an order fixed by ``seed``."""
    entries = [(category, kinds[category][rank % len(kinds[category])], rank)
               for category, count in category_counts(total).items() for rank in range(count)]
    random.Random(seed).shuffle(entries)
    width = len(str(total - 1))
    return [Student(f"student{i:0{width}d}", *entry) for i, entry in enumerate(entries)]


def sample_of(students: list[Student], size: int) -> list[Student]:
    """``size`` students in MIX's proportions: the first of each category, so its kinds vary."""
    counts = category_counts(size)
    return [s for s in students if s.rank < counts[s.category]]


def student_notebook(student: Student, notebooks: dict[str, nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """The student's notebook before any breakage, with their id in its first answer cell."""
    kind = student.kind if student.kind in notebooks else "reference"
    notebook = copy.deepcopy(notebooks[kind])
    first = next(cell for cell in notebook.cells if is_answer(cell))
    first.source = first.source.rstrip("\n") + f"\n\n# handed in by {student.name}\n"
    return notebook


def submission_text(notebook: nbformat.NotebookNode, kind: str) -> str:
    """The file the student hands in: ``notebook``, broken as ``kind`` says if it is a broken kind."""
    return broken(notebook, kind) if kind in BROKEN_KINDS else nbformat.writes(notebook)


def timed(command: list, cwd: Path, memory_bytes: int | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, finished process) of one single-threaded command, output captured."""
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", OMP_NUM_THREADS="1")
    limit = (lambda: resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))) if memory_bytes else None
    start = time.perf_counter()
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                          preexec_fn=limit)
    return time.perf_counter() - start, done


def course_grade(submissions: Path, outdir: Path, workers: int, time_limit: float | None
                 ) -> tuple[float, str]:
    """(wall seconds, the grader's isolation line) of ``course grade`` on the whole class."""
    command = [BIN / "course", "--course", ROOT, "grade", "-a", ASSIGNMENT, submissions,
               "-o", outdir, "-j", workers] + (["--time-limit", time_limit] if time_limit else [])
    seconds, done = timed(command, ROOT)
    if done.returncode:
        sys.exit(f"course grade -j {workers} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    isolation = next((line for line in done.stderr.splitlines() if line.startswith("isolation:")), "")
    return seconds, isolation.removeprefix("isolation:").strip()


def read_results(outdir: Path, students: list[Student]) -> dict[str, dict]:
    """Student -> score, max_score, seconds, per-test scores and isolation tier from results.json;
    the scores are the automatic ones (written questions wait for people)."""
    results = {}
    for student in students:
        data = json.loads((outdir / student.name / "results.json").read_text())
        extra = data["extra_data"]
        results[student.name] = {"score": extra.get("automatic_score", data["score"]),
                                 "max_score": extra.get("automatic_max_score", extra["max_score"]),
                                 "seconds": data["execution_time"],
                                 "tests": {t["number"]: t["score"] for t in data["tests"]},
                                 "isolation": data["extra_data"]["isolation"]}
    return results


def nbgrader_autograde(folder: Path, sample: list[Student], notebooks: dict, memory_bytes: int
                       ) -> tuple[float, int, dict[str, tuple[float, float] | None]]:
    """(wall seconds, exit code, student -> (score, max score) or None if not graded) of
    ``nbgrader autograde`` on ``sample``, each notebook carrying the public tests as cells."""
    tests = public_test_cells(ROOT / "assignments" / ASSIGNMENT)
    source = folder / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    instructor = copy.deepcopy(notebooks["reference"])
    instructor.cells += tests
    nbformat.write(instructor, source / f"{NOTEBOOK}.ipynb")
    _, done = timed([BIN / "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], folder)
    if done.returncode:
        sys.exit(f"nbgrader generate_assignment failed:\n{done.stderr[-4000:]}")
    for student in sample:
        notebook = student_notebook(student, notebooks)
        notebook.cells += copy.deepcopy(tests)
        handed_in = folder / "submitted" / student.name / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        handed_in.parent.mkdir(parents=True)
        handed_in.write_text(submission_text(notebook, student.kind))
    seconds, done = timed([BIN / "nbgrader", "autograde", ASSIGNMENT, "--force"], folder, memory_bytes)
    scores = {}
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        for student in sample:
            try:
                submission = gradebook.find_submission(ASSIGNMENT, student.name)
                scores[student.name] = (submission.code_score, submission.max_code_score)  # written aside
            except MissingEntry:
                scores[student.name] = None
    return seconds, done.returncode, scores


def as_expected(category: str, score: float, max_score: float) -> bool:
    """Correct submissions get full marks; every other kind loses points."""
    return score == max_score if category == "correct" else score < max_score


def describe_mix(students: list[Student], kinds: dict[str, list[str]]) -> None:
    """Print each category's count and the kinds it cycles through."""
    counts = {c: sum(s.category == c for s in students) for c in MIX}
    for category, names in kinds.items():
        print(f"  {category:<11}{counts[category]:>4}  {', '.join(names)}")


def category_table(students: list[Student], runs: dict[str, dict[str, dict]]) -> list[str]:
    """Print, per category: count, mean score, how many scored as expected, and per run the mean
    and total seconds of grading and their share of all grading time. Returns what failed."""
    first = next(iter(runs.values()))
    failures = []
    header = f"  {'category':<11}{'n':>4}  {'mean score':>10}  {'as expected':>11}"
    for label in runs:
        header += f"  {'mean s ' + label:>11}  {'total s ' + label:>12}  {'share':>5}"
    print(header)
    for category in MIX:
        members = [s for s in students if s.category == category]
        if not members:
            continue
        ok = [s for s in members if as_expected(category, first[s.name]["score"], first[s.name]["max_score"])]
        failures += [f"{s.name} ({s.category}, {s.kind}) scored {first[s.name]['score']:g}/"
                     f"{first[s.name]['max_score']:g}" for s in members if s not in ok]
        mean_score = sum(first[s.name]["score"] for s in members) / len(members)
        line = (f"  {category:<11}{len(members):>4}  {mean_score:>6.1f}/{first[members[0].name]['max_score']:<3g}"
                f"  {f'{len(ok)}/{len(members)}':>11}")
        for results in runs.values():
            seconds = [results[s.name]["seconds"] for s in members]
            share = sum(seconds) / sum(r["seconds"] for r in results.values())
            line += f"  {sum(seconds) / len(seconds):>11.2f}  {sum(seconds):>12.1f}  {share:>5.0%}"
        print(line)
    return failures


def nbgrader_table(sample: list[Student], scores: dict) -> list[str]:
    """Print, per category: count, mean score, how many nbgrader could not grade. Returns the
    correct ones without full marks: then the two tools would not grade the same thing."""
    print(f"  {'category':<11}{'n':>4}  {'mean score':>10}  {'not graded':>10}")
    for category in MIX:
        graded = [scores[s.name] for s in sample if s.category == category and scores[s.name]]
        count = sum(s.category == category for s in sample)
        if count:
            mean = f"{sum(g[0] for g in graded) / len(graded):6.1f}/{graded[0][1]:<3g}" if graded else "-"
            print(f"  {category:<11}{count:>4}  {mean:>10}  {count - len(graded):>10}")
    return [f"nbgrader gave {s.name} ({s.kind}) {scores[s.name]}" for s in sample
            if s.category == "correct" and not (scores[s.name] and as_expected("correct", *scores[s.name]))]


def disagreements(students: list[Student], runs: dict[str, dict[str, dict]]) -> list[str]:
    """Students whose score or per-test scores differ between the -j 1 and -j 2 runs."""
    if len(runs) < 2:
        return []
    serial, parallel = runs["-j 1"], runs["-j 2"]
    return [f"{s.name} ({s.kind}): -j 1 {serial[s.name]['score']:g}, -j 2 {parallel[s.name]['score']:g}"
            for s in students if (serial[s.name]["score"], serial[s.name]["tests"])
            != (parallel[s.name]["score"], parallel[s.name]["tests"])]


def variant_notebooks(course) -> tuple[dict[str, nbformat.NotebookNode], dict[str, list[str]]]:
    """(kind -> unbroken notebook, category -> the kinds it cycles through), after a fresh build."""
    _, done = timed([BIN / "course", "--course", ROOT, "build", ASSIGNMENT], ROOT)
    if done.returncode:
        sys.exit(f"course build failed:\n{done.stderr}")
    assignment = course.assignment(ASSIGNMENT)
    notebooks = examples.variant_notebooks(course.layout.source_notebooks(assignment)[NOTEBOOK],
                                           course.layout.release_notebooks(assignment)[NOTEBOOK],
                                           course.assignment_dir(ASSIGNMENT))
    kinds = {"correct": ["reference"] + [k for k in notebooks if k.startswith("alt_")],
             "buggy": [k for k in notebooks if k.startswith("bug_")], "crashing": CRASHING,
             "timing out": ["infinite_loop"]}
    return notebooks, kinds


def write_class(students: list[Student], notebooks: dict, folder: Path) -> None:
    """One folder per student under ``folder``, holding their notebook; no two are the same."""
    texts = {s.name: submission_text(student_notebook(s, notebooks), s.kind) for s in students}
    if len(set(texts.values())) != len(texts):
        sys.exit("two generated submissions are identical")
    for name, text in texts.items():
        (folder / name).mkdir(parents=True)
        (folder / name / f"{NOTEBOOK}.ipynb").write_text(text)


def timeout_share(students: list[Student], results: dict[str, dict], workers: int, wall: float) -> tuple[float, float]:
    """(grading seconds of the timing-out students, their share of ``workers`` x ``wall``)."""
    spent = sum(results[s.name]["seconds"] for s in students if s.category == "timing out")
    return spent, spent / (workers * wall)


def print_rates(times: dict[int, float], students: int, nbgrader_seconds: float, sample: int,
                timeouts: float) -> None:
    """Print seconds and submissions per minute of each run, the ratios and the targets
    (``timeouts``: the timing-out students' share of the -j 2 run's wall time)."""
    print(f"  {'':<22}{'s total':>8}  {'s/submission':>12}  {'submissions/min':>15}")
    rates = {}
    for label, seconds, count in ([(f"course grade -j {j}", times[j], students) for j in times]
                                  + [("nbgrader autograde", nbgrader_seconds, sample)]):
        rates[label] = 60 * count / seconds
        print(f"  {label:<22}{seconds:>8.1f}  {seconds / count:>12.2f}  {rates[label]:>15.1f}")
    for j in times:
        print(f"course grade -j {j} / nbgrader: {rates[f'course grade -j {j}'] / rates['nbgrader autograde']:.2f}x")
    projected = times[2] * TARGET_STUDENTS / students
    ratio = rates["course grade -j 2"] / rates["nbgrader autograde"]
    print(f"\ntarget {TARGET_STUDENTS} submissions in <= {TARGET_SECONDS:g} s with -j 2: "
          f"{'met' if projected <= TARGET_SECONDS else 'NOT met'} ({projected:.0f} s"
          f"{'' if students == TARGET_STUDENTS else f', scaled from {students}'})")
    print(f"target time-outs <= {TARGET_TIMEOUTS:.0%} of the -j 2 wall time: "
          f"{'met' if timeouts <= TARGET_TIMEOUTS else 'NOT met'} ({timeouts:.0%})")
    print(f"target >= {TARGET_RATIO:g}x nbgrader's rate with -j 2: {'met' if ratio >= TARGET_RATIO else 'NOT met'} "
          f"({ratio:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200, help="class size (default 200)")
    parser.add_argument("--sample", type=int, default=20, help="students nbgrader grades (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="order of the students (default 0)")
    parser.add_argument("--skip-serial", action="store_true", help="grade with -j 2 only")
    parser.add_argument("--time-limit", type=float, help="per-test limit for course grade (default: course.yml's)")
    args = parser.parse_args()
    if not 0 < args.sample <= args.students:
        parser.error("--sample must be between 1 and --students")

    course = load_course(ROOT)
    limits = course.limits_for(course.assignment(ASSIGNMENT))
    notebooks, kinds = variant_notebooks(course)
    students = plan_class(args.students, args.seed, kinds)
    sample = sample_of(students, args.sample)
    print(f"class: {len(students)} submissions of {ASSIGNMENT} (seed {args.seed}), kinds cycling per category:")
    describe_mix(students, kinds)
    print(f"nbgrader sample: {len(sample)} ("
          + ", ".join(f"{n} {c}" for c, n in category_counts(len(sample)).items()) + ")")
    print(f"limits: {args.time_limit or limits.time_per_test:g} s per test "
          f"({'--time-limit' if args.time_limit else 'course.yml'}), {limits.memory_mb} MB per worker; "
          f"nbgrader: {Execute.timeout.default_value} s per cell (its default), each of its processes "
          f"under the same {limits.memory_mb} MB address-space limit")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        tmp = Path(tmp)
        write_class(students, notebooks, tmp / "class")
        times, runs, isolation = {}, {}, ""
        for workers in ([2] if args.skip_serial else [1, 2]):
            print(f"\ncourse grade -j {workers} ...", flush=True)
            times[workers], isolation = course_grade(tmp / "class", tmp / f"grades-{workers}", workers,
                                                     args.time_limit)
            runs[f"-j {workers}"] = read_results(tmp / f"grades-{workers}", students)
            print(f"  {times[workers]:.1f} s", flush=True)
        print(f"\nnbgrader autograde on {len(sample)} ...", flush=True)
        nb_seconds, nb_code, nb_scores = nbgrader_autograde(tmp / "nbgrader", sample, notebooks,
                                                            limits.memory_bytes)
        print(f"  {nb_seconds:.1f} s (exit code {nb_code})", flush=True)

    tiers = sorted({r["isolation"] for results in runs.values() for r in results.values()})
    print(f"\nisolation tier: {', '.join(tiers)} ({isolation})")
    different = disagreements(students, runs)
    if len(runs) > 1:
        print(f"scores: -j 1 and -j 2 {'agree for all' if not different else 'DIFFER for'} "
              f"{len(different) or len(students)} students")
    for line in different:
        print(f"  DIFFERENT: {line}")

    print("\ncourse grade, per category (public + hidden tests; seconds per submission from results.json):")
    failures = category_table(students, runs)
    print("\nnbgrader autograde, per category (public tests only):")
    failures += nbgrader_table(sample, nb_scores)
    for line in failures:
        print(f"  NOT AS EXPECTED: {line}")
    spent, share = timeout_share(students, runs["-j 2"], 2, times[2])
    looping = sum(s.category == 'timing out' for s in students)
    limit = args.time_limit or limits.time_per_test
    print(f"\ntime-outs: the {looping} timing-out students took {spent:.1f} s of grading, {share:.0%} of the "
          f"-j 2 run's {times[2]:.1f} s x 2 processes; their limits alone ({looping} x {limit:g} s, the "
          f"least a loop can cost without failing a slow correct answer sooner) are "
          f"{looping * limit / (2 * times[2]):.0%}")
    print()
    print_rates(times, len(students), nb_seconds, len(sample), share)
    print(f"load average {os.getloadavg()[0]:.2f} after the run")
    if different or failures:
        sys.stdout.flush()
        sys.exit(f"FAILED: {len(different)} students scored differently between runs, "
                 f"{len(failures)} not as expected")


if __name__ == "__main__":
    main()
