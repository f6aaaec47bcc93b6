"""Feedback pages: scores and reasons, the student's own code, and nothing secret."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder import cli
from autograder.grading.batch import grade_class
from autograder.grading.extract import read_submission
from autograder.building.notebook import solution_lines

from conftest import ROOT, rubric_for, source_notebooks
from test_cli import POINTS

A = "01_regression"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ATTACK = ("# </pre><script>document.title = 'pwned'</script>"
          "<img src=x onerror=\"document.title = 'img'\"> & <b>bold</b>")
WRONG_MSE = f"\n\ndef mse_loss(y_pred, y):\n    {ATTACK}\n    return 0.0, y_pred * 0\n"


@pytest.fixture(scope="module")
def pages(built, tmp_path_factory):
    """Feedback for alice (reference), bob (untouched) and mallory (a wrong mse_loss whose
    comment tries to inject HTML), written by `course feedback` from a stored run."""
    folder = tmp_path_factory.mktemp("feedback")
    reference = source_notebooks(built, A)["regression"]
    mallory = json.loads(reference.read_text())
    cell = next(c for c in mallory["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "mse")
    cell["source"] = "".join(cell["source"]) + WRONG_MSE
    for student, content in [("alice", reference.read_text()), ("mallory", json.dumps(mallory)),
                             ("bob", (ROOT / "release" / A / "regression.ipynb").read_text())]:
        (folder / "class" / student).mkdir(parents=True)
        (folder / "class" / student / "regression.ipynb").write_text(content)
    grade_class(rubric_for(A), [folder / "class"], folder / "out")
    assert cli.main(["--course", str(ROOT), "feedback", "-a", A, "-o", str(folder / "out"),
                     "--dest", str(folder / "pages")]) == 0
    return folder


def page(pages, student) -> str:
    return (pages / "pages" / f"{student}.html").read_text()


def test_one_page_per_student_with_the_score(pages):
    assert sorted(p.name for p in (pages / "pages").iterdir()) == ["alice.html", "bob.html", "mallory.html"]
    assert re.search(rf'id="score">{POINTS:g}</span> / {POINTS:g}', page(pages, "alice"))
    assert re.search(rf'id="score">0</span> / {POINTS:g}', page(pages, "bob"))


def test_public_tests_are_described_and_hidden_tests_only_named(pages):
    text = page(pages, "bob")
    public = (ROOT / "assignments" / A / "test_public.py").read_text()
    hidden = (ROOT / "assignments" / A / "test_hidden.py").read_text()
    for name in re.findall(r"def (test_\w+)", public):
        assert f"<code>{name}</code><br>" in text
    for name in re.findall(r"def (test_\w+)", hidden):
        assert f"<code>{name}</code> (hidden test)" in text
    assert "is not implemented yet" in text  # the reason a test failed


def test_the_students_code_is_shown_with_the_failing_function_highlighted(pages):
    text = page(pages, "mallory")
    failing = re.findall(r'<span class="line failing"><span class="number">\d+</span>(.*?)</span>', text)
    assert "def mse_loss(y_pred, y):" in failing and "    return 0.0, y_pred * 0" in failing
    assert not any("def add_bias" in line for line in failing)
    assert "mse/mse" not in text and "regression/mse" in text
    assert "<span class=\"line failing\">" not in page(pages, "alice")


def test_everything_the_student_wrote_is_escaped(pages):
    text = page(pages, "mallory")
    assert "<script" not in text and "<img" not in text and "<b>bold" not in text
    assert ATTACK in html.unescape(text)  # shown as the text it is
    assert "&lt;script&gt;document.title" in text


def forbidden_lines(student_file: Path) -> set[str]:
    """Hidden-test lines and reference solution lines, less what the student wrote themselves."""
    hidden = {line.strip() for path in ROOT.glob("assignments/*/test_hidden.py")
              for line in path.read_text().splitlines()}
    own = "\n".join("".join(cell["source"]) for found in read_submission(student_file).values()
                     for cell in found)  # a short line may be part of a longer one of the student's
    secret = hidden | set(solution_lines(ROOT / "reference"))
    return {line for line in secret if len(line) >= 4 and line not in own}


def test_no_hidden_test_or_reference_line_appears_in_any_page(pages):
    for student in ("alice", "bob", "mallory"):
        text = html.unescape(page(pages, student))
        leaked = [line for line in forbidden_lines(pages / "class" / student / "regression.ipynb")
                  if line in text]
        assert leaked == [], student


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (apt-get install -y chromium) to render the page")
def test_a_real_browser_renders_the_page_without_running_the_students_html(pages, tmp_path):
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               f"--user-data-dir={tmp_path / 'profile'}"]
    target = (pages / "pages" / "mallory.html").as_uri()
    dom = subprocess.run(command + ["--dump-dom", target], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "<title>01_regression: feedback for mallory</title>" in dom
    assert "pwned" in dom and "<script" not in dom and "<img" not in dom
    assert re.search(rf'id="score">\d+</span> / {POINTS:g}', dom)
    subprocess.run(command + [f"--screenshot={tmp_path / 'page.png'}", "--window-size=1200,2000", target],
                   capture_output=True, timeout=120, check=True)
    assert (tmp_path / "page.png").stat().st_size > 10_000
