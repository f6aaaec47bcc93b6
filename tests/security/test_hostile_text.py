"""Text a student controls (names, exception messages, warnings, output, returned strings and
keys, type names) reaches every writer of a run, and none of them crashes on it, shows it
raw in a terminal, or lets a spreadsheet run it."""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3

import nbformat
import pytest

from autograder import cli
from autograder.grading.text import FORMULA_STARTS, printable, spreadsheet_cell, terminal_line
from autograder.publishing.exports import FORMATS

from conftest import ROOT
from test_red_team import A, CHEATS, cheat_notebook
from test_red_team import reference  # noqa: F401 - a fixture

NAMES = ["=HYPERLINK(\"evil.example\",\"ok\")", "+1+1", "-2", "@SUM(A1)", "esc\x1b[2Jape",
         "\u202egnp.exe"]
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\ud800-\udfff]")


def test_printable_text_shows_every_control_character_as_an_escape():
    assert printable("a\x1b[2Jb\x9b\u202e\ud800\tc\n") == "a\\x1b[2Jb\\x9b\\u202e\\ud800\tc\n"
    assert terminal_line("one\nbob: 35/35\r\x1b[2K", 200) == "one bob: 35/35 \\x1b[2K"
    assert terminal_line("x" * 50, 10) == "xxxxxxx..."


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_cell_that_starts_like_a_formula_is_text(start):
    assert spreadsheet_cell(f"{start}1+1") == f"'{start}1+1"
    assert spreadsheet_cell("alice") == "alice" and spreadsheet_cell(3.5) == "3.5"


@pytest.fixture(scope="module")
def graded(reference, tmp_path_factory):
    """A run of students with hostile names and answers, written by every writer."""
    folder = tmp_path_factory.mktemp("hostile")
    honest = nbformat.writes(reference)
    notebooks = {name: honest for name in NAMES}
    notebooks["surrogates"] = cheat_notebook(reference, CHEATS["raises_lone_surrogates"])
    notebooks["escapes"] = cheat_notebook(reference, CHEATS["prints_terminal_escapes"])
    for name, text in notebooks.items():
        (folder / "class" / name).mkdir(parents=True)
        (folder / "class" / name / "regression.ipynb").write_text(text)
    undecodable = os.fsencode(folder / "class") + b"/caf\xe9"
    os.mkdir(undecodable)
    with open(undecodable + b"/regression.ipynb", "w") as handle:
        handle.write(honest)
    return folder


def run(capsys, *argv) -> str:
    assert cli.main(["--course", str(ROOT), *argv]) == 0
    shown = capsys.readouterr()
    return shown.out + shown.err


def test_every_writer_takes_hostile_text(graded, capsys):
    out = graded / "out"
    shown = run(capsys, "grade", "-a", A, str(graded / "class"), "-o", str(out), "-j", "1")
    for fmt in FORMATS:
        shown += run(capsys, "export", "-a", A, "-o", str(out), "--to", fmt)
    shown += run(capsys, "feedback", "-a", A, "-o", str(out))
    assert not CONTROL.search(shown.replace("\n", "").replace("\t", ""))
    assert "\\x1b" in shown and "caf\ufffd" in shown  # the escapes are shown, and the names

    with sqlite3.connect(out / "results.sqlite") as db:
        stored = dict(db.execute("SELECT student, result FROM results"))
    assert len(stored) == len(NAMES) + 3
    surrogates = json.loads(stored["surrogates"])
    failing = " ".join(t["output"] for t in surrogates["tests"])
    assert "\ufffd lone \ufffd" in failing and "\ud800" not in failing
    for text in stored.values():
        text.encode("utf-8")
    for student in stored:
        if (out / student / "results.json").exists():
            json.loads((out / student / "results.json").read_text(encoding="utf-8"))
        (out / "feedback" / f"{student}.html").read_text(encoding="utf-8")

    for path in [out / "grades.csv", out / "exports" / "lms.csv"]:
        with open(path, newline="", encoding="utf-8") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)], path
        assert "'=HYPERLINK(\"evil.example\",\"ok\")" in cells and "'-2" in cells
    for fmt in ("gradescope", "prairielearn"):
        for path in (out / "exports" / fmt).glob("*/results.json"):
            json.loads(path.read_text(encoding="utf-8"))
