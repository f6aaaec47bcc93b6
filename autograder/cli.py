"""The ``course`` command: build, check, grade, export, feedback, verify, demo."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from autograder.sandbox import launch
from autograder.course import ConfigError, find_course_root, load_course

EXPORT_FORMATS = ("nbgrader", "gradescope", "github-classroom", "prairielearn", "csv")
TIERS = ("limits", "syscalls", "namespaces")  # weakest first


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
                       help="grading processes (default: the number of cores; ignored with --cluster)")
    grade.add_argument("--cluster", metavar="ADDRESS",
                       help="grade on the Dask cluster whose scheduler is at ADDRESS "
                            "(tcp://HOST:8786); each worker grades one submission at a time and "
                            "needs the course at this same path (see README)")
    grade.add_argument("--resume", action="store_true",
                       help="grade only students whose stored result is missing or out of date")
    grade.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu",
                       help="where training thresholds run (cuda falls back to cpu, saying so)")

    grade.add_argument("--submitted-at", type=Path, metavar="MANIFEST",
                       help="CSV with columns student,submitted_at (ISO-8601 with a zone); "
                            "students it does not list count as submitted at their files' mtime")

    export = commands.add_parser("export", help="write a grading run's results for another system")
    export.add_argument("-a", "--assignment", required=True)
    export.add_argument("-o", "--output", type=Path, default=Path("grades"),
                        help="the folder `course grade -o` wrote (default: grades)")
    export.add_argument("--to", required=True, choices=[*EXPORT_FORMATS, "gradescope-bundle"])
    export.add_argument("--dest", type=Path, help="where to write (default: OUTPUT/exports/...)")

    feedback = commands.add_parser("feedback", help="one HTML feedback page per student")
    feedback.add_argument("-a", "--assignment", required=True)
    feedback.add_argument("-o", "--output", type=Path, default=Path("grades"),
                          help="the folder `course grade -o` wrote (default: grades)")
    feedback.add_argument("--dest", type=Path, help="where the pages go (default: OUTPUT/feedback)")

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
        from autograder.building.build import BuildError
        from autograder.grading.cluster import ClusterError
        from autograder.grading.rubric import RubricError
        from autograder.publishing.exports import ExportError

        if isinstance(error, (BuildError, ClusterError, ExportError, RubricError)):
            print(f"error: {error}", file=sys.stderr)
            return 2
        raise


def _course(args):
    root = args.course or find_course_root()
    if root is None:
        raise ConfigError("no course.yml here or in any parent folder (pass --course)")
    return load_course(root)


def cmd_build(args) -> int:
    from autograder.building.build import build

    course = _course(args)
    for folder in build(course, args.assignments or None):
        print(f"built {folder.relative_to(course.root)}")
    return 0


def cmd_check(args) -> int:
    from autograder.grading.grade import Rubric, grade_submission
    from autograder.publishing.report import submission_table

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
    from autograder.grading.batch import grade_class
    from autograder.grading.grade import Rubric, choose_device
    from autograder.grading.late import Deadline, read_manifest
    from autograder.publishing.report import class_table

    course = _course(args)
    rubric = Rubric.for_assignment(course, args.assignment)
    device, warning = choose_device(args.device)
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
    rubric.device = device
    if args.time_limit:
        rubric.limits = rubric.limits.model_copy(update={"time_per_test": args.time_limit})
    deadline = Deadline.for_assignment(course, args.assignment)
    submitted_at = read_manifest(args.submitted_at) if args.submitted_at else None
    results = grade_class(rubric, args.submissions, args.output, workers=args.workers,
                          resume=args.resume, deadline=deadline, submitted_at=submitted_at,
                          cluster=args.cluster)
    if submitted_at is not None:
        unlisted = sorted({r.student for r in results} - set(submitted_at))
        if unlisted:
            print(f"WARNING: {args.submitted_at} does not list {', '.join(unlisted)}: their files' "
                  "modification time was used", file=sys.stderr)
    print(class_table(results))
    print(f"\nwrote {args.output}/<student>/results.json and {args.output}/grades.csv")
    if args.cluster:
        tiers = sorted({r.isolation for r in results} - {"unknown"}, key=TIERS.index)
        _warn_isolation(tiers[0] if tiers else "namespaces",
                        f"on the cluster's workers: {', '.join(tiers) or 'none reported'}")
    else:
        _warn_isolation(results[0].isolation if results else launch.detect_isolation().tier)
    return 0


def cmd_export(args) -> int:
    from autograder.publishing import exports

    course = _course(args)
    assignment = course.assignment(args.assignment)
    dest = args.dest or exports.default_dest(args.output, args.to)
    if args.to == "gradescope-bundle":
        written = exports.gradescope_bundle(course, assignment.id, dest)
    else:
        results = exports.load_results(args.output, assignment.id)
        written = exports.export(results, args.to, dest, notebook=assignment.notebooks[0])
    print(f"wrote {len(written)} file(s) to {dest}")
    return 0


def cmd_feedback(args) -> int:
    from autograder.publishing.exports import load_results
    from autograder.publishing.feedback import write_feedback

    course = _course(args)
    assignment = course.assignment(args.assignment)
    tests = course.layout.test_files(assignment.id)
    dest = args.dest or args.output / "feedback"
    pages = write_feedback(load_results(args.output, assignment.id), tests, dest,
                           f"{course.course.title}: {assignment.title}")
    print(f"wrote {len(pages)} feedback page(s) to {dest}")
    return 0


def cmd_verify(args) -> int:
    from autograder.building.verify import verify_assignment

    course = _course(args)
    ok = True
    for assignment in args.assignments or [a.id for a in course.assignments]:
        for check in verify_assignment(course, assignment):
            print(f"{'PASS' if check.ok else 'FAIL'}  {assignment}: {check.name}: {check.detail}")
            ok &= check.ok
    return 0 if ok else 1


def cmd_demo(args) -> int:
    from autograder.building.build import build
    from autograder.building.examples import write_examples
    from autograder.grading.batch import grade_class
    from autograder.grading.grade import Rubric
    from autograder.publishing.report import class_table

    course = _course(args)
    ids = args.assignments or [a.id for a in course.assignments]
    build(course, ids)
    for assignment_id in ids:
        assignment = course.assignment(assignment_id)
        notebook = assignment.notebooks[0]
        examples = args.output / "submissions" / assignment_id
        write_examples(course.layout.source_notebooks(assignment)[notebook],
                       course.layout.release_notebooks(assignment)[notebook],
                       course.assignment_dir(assignment_id), examples)
        rubric = Rubric.for_assignment(course, assignment_id)
        rubric.limits = rubric.limits.model_copy(update={"time_per_test": 5})
        print(f"\n== {assignment_id}: {assignment.title} ==  (example submissions in {examples})")
        results = grade_class(rubric, [examples], args.output / "grades" / assignment_id)
        print(class_table(results))
    _warn_isolation(launch.detect_isolation().tier)
    return 0


def _warn_isolation(tier: str, detail: str | None = None) -> None:
    """Say which isolation graded (``detail``, else this machine's), loudly when weak."""
    print(f"\nisolation: {detail or launch.detect_isolation().detail}", file=sys.stderr)
    if tier != "namespaces":
        print("WARNING: weak isolation: student code could read course files and use the "
              "network. Install bubblewrap (apt-get install bubblewrap).", file=sys.stderr)


COMMANDS = {"build": cmd_build, "check": cmd_check, "grade": cmd_grade, "verify": cmd_verify,
            "demo": cmd_demo, "export": cmd_export, "feedback": cmd_feedback}

if __name__ == "__main__":
    sys.exit(main())
