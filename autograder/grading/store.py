"""The durable store of grading results: one SQLite file per output folder.

A result is keyed by (assignment, student) and remembers the hashes of the submission and
of the rubric it was graded with. Each result is committed in its own transaction as soon
as it is known, so an interrupted run (Ctrl-C, SIGKILL, power loss) loses nothing already
graded, and ``--resume`` grades only students whose result is missing or stale (their
submission or the rubric changed). Results never duplicate: a regrade replaces the row.

Scores people gave written answers (``course import-manual``) live in a table of their own,
keyed by question, with the question's points and a hash of the answer they were given for:
a regrade of the automatic part never touches them, and a result takes them back as long as
the question and the answer are unchanged (``SubmissionResult.with_manual``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from autograder.grading.results import ManualGrade

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    submission_hash TEXT NOT NULL,
    rubric_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    graded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (assignment, student)
);
CREATE TABLE IF NOT EXISTS manual_grades (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    notebook TEXT NOT NULL,
    question TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    answer TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (assignment, student, notebook, question)
);
"""


def hash_files(paths) -> str:
    """SHA-256 over the names and bytes of ``paths`` (missing files count as empty)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths if p is not None):
        digest.update(path.name.encode() + b"\0")
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


class ResultStore:
    """Results of one output folder, in ``<folder>/results.sqlite``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.db.commit()

    def is_current(self, assignment: str, student: str, submission_hash: str, rubric_hash: str) -> bool:
        row = self.db.execute("SELECT submission_hash, rubric_hash FROM results WHERE assignment=? "
                              "AND student=?", (assignment, student)).fetchone()
        return row == (submission_hash, rubric_hash)

    def put(self, assignment: str, student: str, submission_hash: str, rubric_hash: str,
            result: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO results (assignment, student, submission_hash, "
                            "rubric_hash, result) VALUES (?, ?, ?, ?, ?)",
                            (assignment, student, submission_hash, rubric_hash, json.dumps(result)))

    def results(self, assignment: str) -> dict[str, dict]:
        """Student -> stored result (as ``SubmissionResult.to_dict()``), sorted by student."""
        rows = self.db.execute("SELECT student, result FROM results WHERE assignment=? ORDER BY student",
                               (assignment,))
        return {student: json.loads(result) for student, result in rows}

    def put_manual(self, assignment: str, student: str, notebook: str, question: str,
                   grade: ManualGrade | None) -> None:
        """Record the score people gave one written answer (replacing an earlier one); with
        ``grade`` None, forget the one recorded."""
        with self.db:
            if grade is None:
                self.db.execute("DELETE FROM manual_grades WHERE assignment=? AND student=? AND notebook=? "
                                "AND question=?", (assignment, student, notebook, question))
                return
            self.db.execute("INSERT OR REPLACE INTO manual_grades (assignment, student, notebook, "
                            "question, score, max_score, answer, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (assignment, student, notebook, question, grade.score, grade.max_score,
                             grade.answer, grade.comment))

    def manual(self, assignment: str, student: str | None = None) -> dict[str, dict[tuple[str, str], ManualGrade]]:
        """Student -> (notebook, question) -> the manual grade recorded for it (one student's
        only, when ``student`` is given)."""
        found: dict[str, dict[tuple[str, str], ManualGrade]] = {}
        query = ("SELECT student, notebook, question, score, max_score, answer, comment FROM manual_grades "
                 "WHERE assignment=?" + (" AND student=?" if student is not None else ""))
        for student, notebook, question, score, max_score, answer, comment in self.db.execute(
                query, (assignment,) + ((student,) if student is not None else ())):
            found.setdefault(student, {})[notebook, question] = ManualGrade(score, max_score, answer, comment)
        return found

    def close(self) -> None:
        self.db.close()
