"""The ``course`` command: build, check, grade, verify, demo."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from autograder import sandbox
from autograder.config import ConfigError, find_course_root, load_course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    parser.add_argument("--course", type=Path, default=None,
                        help="the course's root folder or its course.yml (default: search upwards)")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="reference + templates -> release/ (via nbgrader)")
    build.add_argument("assignments", nargs="*")

    check = commands.add_parser("check", help="run the public tests on your notebook")
    check.add_argument("notebook", type=Path)
    check.add_argument("-a", "--assignment", help="assignment id (default: from the notebook)")

    grade = commands.add_parser("grade", help="grade submissions; writes results.json and grades.csv")
    grade.add_argument("-a", "--assignment", required=True)
    grade.add_argument("submissions", nargs="+", type=Path,
                       help="notebooks, .py files, or folders of them (one per student)")
    grade.add_argument("-o", "--output", type=Path, default=Path("grades"))
    grade.add_argument("--time-limit", type=float, help="override the per-test time limit (s)")
    grade.add_argument("-j", "--workers", type=int, default=os.cpu_count() or 1,
                       help="grading processes (default: the number of cores)")
    grade.add_argument("--resume", action="store_true",
                       help="grade only students whose stored result is missing or out of date")
    grade.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu",
                       help="where training thresholds run (cuda falls back to cpu, saying so)")

    verify = commands.add_parser("verify", help="reference = full marks, release = 0, release fresh")
    verify.add_argument("assignments", nargs="*")

    demo = commands.add_parser("demo", help="build, generate example submissions, grade them")
    demo.add_argument("assignments", nargs="*")
    demo.add_argument("-o", "--output", type=Path, default=Path("build/demo"))

    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - shown as one line, not a traceback
        from autograder.build import BuildError
        from autograder.rubric import RubricError

        if isinstance(error, (BuildError, RubricError)):
            print(f"error: {error}", file=sys.stderr)
            return 2
        raise


def _course(args):
    root = args.course or find_course_root()
    if root is None:
        raise ConfigError("no course.yml here or in any parent folder (pass --course)")
    return load_course(root)


def cmd_build(args) -> int:
    from autograder.build import build

    course = _course(args)
    for folder in build(course, args.assignments or None):
        print(f"built {folder.relative_to(course.root)}")
    return 0


def cmd_check(args) -> int:
    from autograder.grading import Rubric, grade_submission
    from autograder.report import submission_table

    root = args.course or find_course_root(args.notebook.parent) or find_course_root()
    if root is None:
        raise ConfigError("course check needs the course folder (course.yml); pass --course")
    course = load_course(root)
    assignment = args.assignment or _assignment_of(args.notebook)
    rubric = Rubric.for_assignment(course, assignment, public_only=True)
    files = {name: None for name in rubric.notebooks}
    files[args.notebook.stem if args.notebook.stem in files else rubric.notebooks[0]] = args.notebook
    result = grade_submission(rubric, args.notebook.stem, files)
    print(submission_table(result))
    _warn_isolation(result.isolation)
    return 0 if result.score == result.max_score else 1


def _assignment_of(notebook: Path) -> str:
    try:
        return json.loads(notebook.read_text())["metadata"]["course"]["assignment"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"cannot tell which assignment {notebook} belongs to: pass -a ID") from None


def cmd_grade(args) -> int:
    from autograder.batch import grade_class
    from autograder.grading import Rubric, choose_device
    from autograder.report import class_table

    course = _course(args)
    rubric = Rubric.for_assignment(course, args.assignment)
    device, warning = choose_device(args.device)
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
    rubric.limits = dataclasses.replace(rubric.limits, device=device,
                                        time_per_test=args.time_limit or rubric.limits.time_per_test)
    results = grade_class(rubric, args.submissions, args.output, workers=args.workers, resume=args.resume)
    print(class_table(results))
    print(f"\nwrote {args.output}/<student>/results.json and {args.output}/grades.csv")
    _warn_isolation(results[0].isolation if results else sandbox.detect_isolation().tier)
    return 0


def cmd_verify(args) -> int:
    from autograder.verify import verify_assignment

    course = _course(args)
    ok = True
    for assignment in args.assignments or [a.id for a in course.assignments]:
        for check in verify_assignment(course, assignment):
            print(f"{'PASS' if check.ok else 'FAIL'}  {assignment}: {check.name}: {check.detail}")
            ok &= check.ok
    return 0 if ok else 1


def cmd_demo(args) -> int:
    from autograder.build import build
    from autograder.examples import write_examples
    from autograder.batch import grade_class
    from autograder.grading import Rubric
    from autograder.report import class_table

    course = _course(args)
    ids = args.assignments or [a.id for a in course.assignments]
    build(course, ids)
    for assignment_id in ids:
        assignment = course.assignment(assignment_id)
        notebook = assignment.notebooks[0]
        examples = args.output / "submissions" / assignment_id
        write_examples(course.root / "build" / "source" / assignment_id / f"{notebook}.ipynb",
                       course.root / "release" / assignment_id / f"{notebook}.ipynb",
                       course.assignment_dir(assignment_id), examples)
        rubric = Rubric.for_assignment(course, assignment_id)
        rubric.limits = dataclasses.replace(rubric.limits, time_per_test=5)
        print(f"\n== {assignment_id}: {assignment.title} ==  (example submissions in {examples})")
        results = grade_class(rubric, [examples], args.output / "grades" / assignment_id)
        print(class_table(results))
    _warn_isolation(sandbox.detect_isolation().tier)
    return 0


def _warn_isolation(tier: str) -> None:
    isolation = sandbox.detect_isolation()
    print(f"\nisolation: {isolation.detail}", file=sys.stderr)
    if tier != "namespaces":
        print("WARNING: weak isolation: student code could read course files and use the "
              "network. Install bubblewrap (apt-get install bubblewrap).", file=sys.stderr)


COMMANDS = {"build": cmd_build, "check": cmd_check, "grade": cmd_grade, "verify": cmd_verify,
            "demo": cmd_demo}

if __name__ == "__main__":
    sys.exit(main())
