"""The ``course`` command: build, check, kit, publish, guide, grade, export, import-manual, feedback,
verify, demo."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from autograder.course import ConfigError, find_course_root, load_course
from autograder.grading.output import FEEDBACK, GRADES_CSV
from autograder.grading.text import terminal_line
from autograder.sandbox import launch

EXPORT_FORMATS = ("nbgrader", "gradescope", "github-classroom", "prairielearn", "csv")
TIERS = ("limits", "syscalls", "namespaces")  # weakest first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    parser.add_argument("--course", type=Path, default=None,
                        help="the course's root folder or its course.yml (default: search upwards)")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="reference + templates -> release/ (via nbgrader), and the "
                                              "executed solution notebooks in build/solutions/")
    build.add_argument("assignments", nargs="*")
    build.add_argument("--no-execute", action="store_true",
                       help="skip running the solution notebooks (build/solutions/)")

    kit = commands.add_parser("kit", help="what students are handed: notebooks, public tests, helpers, "
                                          "self-check, as a pip-installable folder")
    kit.add_argument("assignments", nargs="*")
    kit.add_argument("-o", "--output", type=Path, required=True, help="a new or empty folder")

    publish = commands.add_parser("publish", help="make an assignment's reference solutions importable "
                                                  "in later notebooks (after its due date and late window)")
    publish.add_argument("assignment")
    publish.add_argument("--force", action="store_true", help="publish before the late window has closed")

    guide = commands.add_parser("guide", help="the instructor's page per assignment in docs/assignments/")
    guide.add_argument("assignments", nargs="*")
    guide.add_argument("--regrade", action="store_true",
                       help="grade the reference and every bug again even where the rubric is unchanged")

    check = commands.add_parser("check", help="run the public tests on your notebook")
    check.add_argument("notebook", type=Path)
    check.add_argument("-a", "--assignment", help="assignment id (default: from the notebook)")
    check.add_argument("--sandbox", action="store_true",
                       help="run the notebook's code in a sandbox (for a notebook you did not write; "
                            "else it runs in a plain child process under resource limits)")

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
                       help="CSV with columns student,submitted_at (ISO-8601 with a zone): the "
                            "submission times late penalties are computed from")
    grade.add_argument("--late-from-file-times", action="store_true",
                       help="for students no manifest lists, take the submission time from their "
                            "files' modification time (which a student can set: off by default, "
                            "when such students get no late penalty)")

    export = commands.add_parser("export", help="write a grading run's results for another system")
    export.add_argument("-a", "--assignment", required=True)
    export.add_argument("-o", "--output", type=Path, default=Path("grades"),
                        help="the folder `course grade -o` wrote (default: grades)")
    export.add_argument("--to", required=True, choices=[*EXPORT_FORMATS, "gradescope-bundle"])
    export.add_argument("--dest", type=Path, help="where to write (default: OUTPUT/exports/...)")

    manual = commands.add_parser("import-manual", help="the scores people gave the written questions, from "
                                                       "nbgrader's gradebook into a grading run")
    manual.add_argument("-a", "--assignment", required=True)
    manual.add_argument("gradebook", type=Path,
                        help="nbgrader's gradebook.db (the formgrader's database, or the one "
                             "`course export --to nbgrader` wrote)")
    manual.add_argument("-o", "--output", type=Path, default=Path("grades"),
                        help="the folder `course grade -o` wrote (default: grades)")

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
    for stream in (sys.stdout, sys.stderr):  # any text prints, whatever the terminal's encoding
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return COMMANDS[args.command](args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - shown as one line, not a traceback
        from autograder.building.build import BuildError
        from autograder.grading.cluster import ClusterError
        from autograder.grading.locate import LayoutError
        from autograder.grading.rubric import RubricError
        from autograder.publishing.exports import ExportError
        from autograder.sandbox.client import SandboxError

        if isinstance(error, (BuildError, ClusterError, ExportError, LayoutError, RubricError, SandboxError)):
            print(f"error: {terminal_line(str(error))}", file=sys.stderr)
            return 2
        raise


def _course(args):
    root = args.course or find_course_root()
    if root is None:
        raise ConfigError("no course.yml here or in any parent folder (pass --course)")
    return load_course(root)


def cmd_build(args) -> int:
    from autograder.building.build import build
    from autograder.building.solutions import execute_solutions

    course = _course(args)
    for folder in build(course, args.assignments or None):
        print(f"built {folder.relative_to(course.root)}")
    if not args.no_execute:
        for notebook in execute_solutions(course, args.assignments or None):
            print(f"executed {notebook.relative_to(course.root)}")
    return 0


def cmd_check(args) -> int:
    from autograder.selfcheck import check_file

    root = args.course or find_course_root(args.notebook.parent) or find_course_root()
    if root is None:
        raise ConfigError("course check needs the course folder (course.yml); pass --course")
    report = check_file(args.notebook, args.assignment, course=root, sandbox=args.sandbox)
    print(report)
    if args.sandbox:
        _warn_isolation(report.result.isolation)
    return 0 if report.result.score == report.result.max_score else 1


def cmd_kit(args) -> int:
    from autograder.building.kit import write_kit

    course = _course(args)
    write_kit(course, args.assignments or [a.id for a in course.assignments], args.output)
    print(f"wrote the kit to {args.output}: pip install {args.output} (see its README.md)")
    return 0


def cmd_publish(args) -> int:
    from autograder.building.build import build
    from autograder.building.publish import carried_names, publish

    course = _course(args)
    path = publish(course, args.assignment, force=args.force)
    print(f"wrote {path.relative_to(course.root)} and {course.layout.published_record.name} (commit both)")
    for folder in build(course, list(carried_names(course, args.assignment))):
        print(f"built {folder.relative_to(course.root)} (its carried cells import the published solutions)")
    return 0


def cmd_guide(args) -> int:
    from autograder.building.guide import write_guides

    course = _course(args)
    for page in write_guides(course, args.assignments or None, regrade=args.regrade):
        print(f"wrote {page.relative_to(course.root)}")
    return 0


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
    submitted_at = read_manifest(args.submitted_at) if args.submitted_at else {}
    results = grade_class(rubric, args.submissions, args.output, workers=args.workers,
                          resume=args.resume, deadline=deadline, submitted_at=submitted_at,
                          cluster=args.cluster, file_times=args.late_from_file_times)
    print(class_table(results))
    print(f"\nwrote {args.output}/<student>/results.json and {args.output}/{GRADES_CSV}")
    _say_pending(results, args.assignment, args.output)
    _warn_lateness(results, submitted_at, deadline.policy.percent_per_day > 0, args.late_from_file_times)
    not_graded = [f"{r.student} ({next(iter(r.problems.values()))})" for r in results if not r.tests]
    if not_graded:
        print(terminal_line(f"WARNING: {len(not_graded)} submission(s) were not graded: "
                            + "; ".join(not_graded), 2000), file=sys.stderr)
    tiers = sorted({r.isolation for r in results} & set(TIERS), key=TIERS.index)
    if args.cluster:
        _warn_isolation(tiers[0] if tiers else "namespaces",
                        f"on the cluster's workers: {', '.join(tiers) or 'none reported'}")
    else:
        _warn_isolation(tiers[0] if tiers else launch.detect_isolation().tier)
    return 0


def _warn_lateness(results, submitted_at: dict, penalized: bool, file_times: bool) -> None:
    """Say whose late penalty rests on file times, or was not applied for want of a time."""
    untimed = sorted(r.student for r in results if r.tests and r.student not in submitted_at)
    if not penalized or not untimed:
        return
    names = ", ".join(untimed[:20]) + (f" and {len(untimed) - 20} more" if len(untimed) > 20 else "")
    if file_times:
        message = (f"the late penalties of {names} come from their files' modification times, "
                   "which a student can set")
    else:
        message = (f"no late penalty was applied to {names}: no --submitted-at manifest gives their "
                   "submission time, and file times are not evidence (--late-from-file-times uses "
                   "them anyway)")
    print(terminal_line(f"WARNING: {message}", 4000), file=sys.stderr)


def cmd_export(args) -> int:
    from autograder.publishing import exports

    course = _course(args)
    assignment = course.assignment(args.assignment)
    dest = args.dest or exports.default_dest(args.output, args.to)
    if args.to == "gradescope-bundle":
        written = exports.gradescope_bundle(course, assignment.id, dest)
    else:
        results = exports.load_results(args.output, assignment.id)
        written = exports.export(results, args.to, dest, notebook=assignment.notebooks[0],
                                 release=course.layout.release_notebooks(assignment))
    print(f"wrote {len(written)} file(s) to {dest}")
    return 0


def cmd_import_manual(args) -> int:
    from autograder.publishing.exports import import_into_run

    course = _course(args)
    assignment = course.assignment(args.assignment)
    imported, results = import_into_run(args.output, assignment.id, args.gradebook)
    print(f"imported {imported.scores} manual score(s) from {args.gradebook} into {args.output}; "
          f"rewrote {args.output}/<student>/results.json and {args.output}/{GRADES_CSV}")
    for label, names in [("score removed in the gradebook, pending again", imported.cleared),
                         ("still to grade", imported.pending), ("not in the gradebook", imported.missing),
                         ("not imported", imported.refused)]:
        if names:
            print(terminal_line(f"{label}: " + "; ".join(names), 4000))
    _say_pending(results, assignment.id, args.output)
    return 0


def _say_pending(results, assignment: str, outdir: Path) -> None:
    """Say how many points of written questions still await manual grading, and how to grade them."""
    pending = sum(r.pending_points for r in results)
    if pending:
        students = sum(1 for r in results if r.pending_points)
        print(f"\n{pending:g} points await manual grading (written questions of {students} student(s)): "
              f"course export -a {assignment} -o {outdir} --to nbgrader, grade them in nbgrader's "
              f"formgrader, then course import-manual -a {assignment} GRADEBOOK -o {outdir}")


def cmd_feedback(args) -> int:
    from autograder.publishing.exports import load_results
    from autograder.publishing.feedback import write_feedback

    course = _course(args)
    assignment = course.assignment(args.assignment)
    tests = course.layout.test_files(assignment.id)
    dest = args.dest or args.output / FEEDBACK
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
    import shutil

    from autograder.building.build import build
    from autograder.building.examples import write_examples
    from autograder.grading.batch import grade_class
    from autograder.grading.grade import Rubric
    from autograder.publishing.report import class_table

    course = _course(args)
    ids = args.assignments or [a.id for a in course.assignments]
    build(course, ids)
    workers = os.cpu_count() or 1
    for assignment_id in ids:
        assignment = course.assignment(assignment_id)
        notebook = assignment.notebooks[0]
        examples, hostile = (args.output / folder / assignment_id for folder in ("submissions", "hostile"))
        shutil.rmtree(examples, ignore_errors=True)
        shutil.rmtree(hostile, ignore_errors=True)
        write_examples(course.layout.source_notebooks(assignment)[notebook],
                       course.layout.release_notebooks(assignment)[notebook],
                       course.assignment_dir(assignment_id), examples)
        for name in DEMO_HOSTILE:  # the looping and memory-hungry examples get short limits
            hostile.mkdir(parents=True, exist_ok=True)
            shutil.move(examples / name, hostile / name)
        rubric = Rubric.for_assignment(course, assignment_id)
        print(f"\n== {assignment_id}: {assignment.title} ==  (example submissions in {examples} and {hostile})")
        results = grade_class(rubric, [examples], args.output / "grades" / assignment_id, workers=workers)
        short = rubric.limits.model_copy(update=SHORT_LIMITS_UPDATE)
        results += grade_class(replace(rubric, limits=short), [hostile],
                               args.output / "grades" / f"{assignment_id}-hostile", workers=workers)
        print(class_table(results))
    _warn_isolation(launch.detect_isolation().tier)
    first = ids[0]
    print(f"\nWhere to look next:\n"
          f"  feedback pages:  course feedback -a {first} -o {args.output / 'grades' / first}   "
          f"(then open {args.output / 'grades' / first / FEEDBACK}/reference.html)\n"
          f"  the student kit: course kit {first} -o {args.output / 'kit'}   (pip install it; see its README.md)\n"
          f"  the guide:       docs/assignments/{first}.md   (points, thresholds, common mistakes)")
    return 0


DEMO_HOSTILE = ("broken_infinite_loop", "broken_memory_bomb")  # graded under SHORT_LIMITS_UPDATE
SHORT_LIMITS_UPDATE = {"time_per_test": 3, "cpu_seconds": 60}


def _warn_isolation(tier: str, detail: str | None = None) -> None:
    """Say which isolation graded (``detail``, else this machine's), loudly when weak."""
    print(f"\nisolation: {detail or launch.detect_isolation().detail}", file=sys.stderr)
    if tier != "namespaces":
        print("WARNING: weak isolation: student code could read course files and use the "
              "network. Install bubblewrap (apt-get install bubblewrap).", file=sys.stderr)


COMMANDS = {"build": cmd_build, "check": cmd_check, "kit": cmd_kit, "publish": cmd_publish, "guide": cmd_guide, "grade": cmd_grade, "verify": cmd_verify,
            "demo": cmd_demo, "export": cmd_export, "import-manual": cmd_import_manual, "feedback": cmd_feedback}


def run() -> NoReturn:
    """The ``course`` command line (``main`` is its in-process form)."""
    from autograder.selfcheck import exit_fast

    exit_fast(main())


if __name__ == "__main__":
    run()
