"""What a worker loads for one submission: cells in order, and the problems found extracting them;
and how a notebook's cells are told apart (answer cells carry nbgrader's ``solution`` flag,
setup cells the ``setup`` tag).

Built by ``autograder.grading.extract`` from a submitted notebook or module, without running it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from autograder.sandbox.launch import imported_modules

SETUP_TAG = "setup"


@dataclass
class Cell:
    """One cell of the program the worker runs: setup (instructor) or answer (student)."""

    name: str
    source: str
    defines: list[str] = field(default_factory=list)  # names the instructor's version defines
    answer: bool = True


@dataclass
class Program:
    """Cells in order, plus problems found while extracting them."""

    cells: list[Cell]
    problems: dict[str, str] = field(default_factory=dict)  # cell name -> why it is unusable
    fatal: str | None = None  # set when nothing of the submission is usable
    files: dict[str, str] = field(default_factory=dict)  # extra submitted files: name -> path

    def cell_defining(self, name: str) -> str | None:
        return next((c.name for c in self.cells if name in c.defines), None)

    def preload_modules(self) -> tuple[str, ...]:
        """Modules the instructor's setup cells import (parsed, never run), plus what torch
        loads lazily on first use of an optimizer, so that a worker can import them early."""
        names = [name for cell in self.cells if not cell.answer for name in imported_modules(cell.source)]
        if any(n == "torch" or n.startswith("torch.") for n in names):
            names.append("torch._dynamo")
        return tuple(dict.fromkeys(names))


def is_answer(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def is_written(cell) -> bool:
    """A written question's answer cell: markdown, nbgrader's solution and grade at once
    (graded by people, never sent to a worker)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "markdown" and bool(meta.get("solution")) and bool(meta.get("grade"))


def is_setup(cell) -> bool:
    return cell.get("cell_type") == "code" and SETUP_TAG in cell.get("metadata", {}).get("tags", [])


def defined_names(source: str) -> list[str]:
    """Top-level functions and classes a cell defines, by parsing (never executing) it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
