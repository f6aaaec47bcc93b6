"""The durable store of grading results: one SQLite file per output folder.

A result is keyed by (assignment, student) and remembers the hashes of the submission and
of the rubric it was graded with. Each result is committed in its own transaction as soon
as it is known, so an interrupted run (Ctrl-C, SIGKILL, power loss) loses nothing already
graded, and ``--resume`` grades only students whose result is missing or stale (their
submission or the rubric changed). Results never duplicate: a regrade replaces the row.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    submission_hash TEXT NOT NULL,
    rubric_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    graded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (assignment, student)
)
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
        self.db.execute(SCHEMA)
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

    def close(self) -> None:
        self.db.close()
