"""course verify: the instructor's self-test of an assignment.

The committed release is what a fresh build produces; the reference solution earns full
marks through the same grading path as a student; the untouched release notebook earns
zero, every test saying what is not implemented.
"""

from __future__ import annotations

import filecmp
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.build import build
from autograder.config import Course
from autograder.grading import Rubric, grade_submission
from autograder.variants import write_reference_files


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def stale_files(fresh: Path, committed: Path) -> list[str]:
    """Files that differ between two release folders, or exist in only one."""
    if not committed.is_dir():
        return [f"{committed} (missing)"]
    comparison = filecmp.dircmp(fresh, committed)
    problems = comparison.left_only + comparison.right_only + comparison.diff_files
    for name in comparison.common_files:
        if (fresh / name).read_bytes() != (committed / name).read_bytes():
            problems.append(name)
    return sorted(set(problems))


def verify_assignment(course: Course, assignment_id: str) -> list[Check]:
    assignment = course.assignment(assignment_id)
    with tempfile.TemporaryDirectory(prefix="course-verify-") as temporary:
        temporary = Path(temporary)
        build(course, [assignment_id], release_dir=temporary / "release",
              source_dir=temporary / "source")
        stale = stale_files(temporary / "release" / assignment_id,
                            course.root / "release" / assignment_id)
        checks = [Check("release is up to date", not stale,
                        "matches a fresh build" if not stale else
                        f"differs in {', '.join(stale)}: run `course build {assignment_id}`")]
        rubric = Rubric.for_assignment(course, assignment_id)
        reference = {n: temporary / "source" / assignment_id / f"{n}.ipynb" for n in assignment.notebooks}
        write_reference_files(course.assignment_dir(assignment_id), temporary / "source" / assignment_id)
        result = grade_submission(rubric, "reference", reference)
        failed = [f"{t.name}: {t.output}" for t in result.tests if t.status != "passed"]
        checks.append(Check("reference earns full marks", not failed and not result.problems,
                            f"{result.score:g}/{result.max_score:g}" + (f"; {failed[0]}" if failed else "")))
        release = {n: course.root / "release" / assignment_id / f"{n}.ipynb" for n in assignment.notebooks}
        result = grade_submission(rubric, "untouched", release)
        unclear = [t.name for t in result.tests if "not implemented" not in t.output]
        checks.append(Check("untouched release earns zero", result.score == 0 and not unclear,
                            f"{result.score:g}/{result.max_score:g}" +
                            (f"; without a 'not implemented' reason: {', '.join(unclear)}" if unclear else "")))
    return checks
