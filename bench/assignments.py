"""Wall time of grading each assignment's reference solution on one core, and of its slowest
tests (the training thresholds), in one run. The first test of each also pays for starting
the worker (Python, NumPy, PyTorch).

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/assignments.py [ASSIGNMENT...]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.building.build import build  # noqa: E402
from autograder.course import load_course  # noqa: E402
from autograder.grading.grade import Rubric, grade_submission  # noqa: E402
from autograder.building.variants import write_reference_files  # noqa: E402


def main() -> None:
    course = load_course(ROOT)
    ids = sys.argv[1:] or [a.id for a in course.assignments]
    build(course, ids)
    print(f"{'assignment':<24} {'score':>7} {'graded (s)':>10}   slowest tests (s)")
    for assignment_id in ids:
        rubric = Rubric.for_assignment(course, assignment_id)
        files = course.layout.source_notebooks(course.assignment(assignment_id))
        write_reference_files(course.assignment_dir(assignment_id), course.layout.source_dir(assignment_id))
        result = grade_submission(rubric, "reference", files)
        slowest = sorted(result.tests, key=lambda t: -t.duration)[:3]
        print(f"{assignment_id:<24} {result.score:>3g}/{result.max_score:<3g} {result.duration:10.2f}   "
              + ", ".join(f"{t.name.removeprefix('test_')} {t.duration:.2f}" for t in slowest))


if __name__ == "__main__":
    main()
