"""Rubric self-tests: plausible bugs and correct alternatives, applied to the reference notebook.

Each assignment lists them in ``assignments/<id>/variants.py`` (never released)::

    BUGS = [Variant("bce_not_averaged", "BCE summed, not averaged",
                    Edit("bce_with_logits", "np.mean(losses)", "np.sum(losses)"))]
    ALTERNATIVES = [Variant("loops", "loops instead of vectorized code",
                            Replace("mse_loss", "def mse_loss(y_pred, y): ..."))]

An ``Edit`` changes text inside one function of the instructor's notebook and fails loudly
when that text is gone, so a bug can never silently turn into the reference again. A
``Replace`` swaps a whole function for another.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing nbformat costs ~1.5 s on `course grade`'s path
    import nbformat

from autograder.grading.program import defined_names, is_answer


class VariantError(Exception):
    """A variant no longer applies to the reference notebook."""


@dataclass(frozen=True)
class Edit:
    function: str
    old: str
    new: str

    def apply(self, source: str) -> str:
        start, end = _function_span(source, self.function)
        body = source[start:end]
        if body.count(self.old) != 1:
            raise VariantError(f"'{self.old}' occurs {body.count(self.old)} times in "
                               f"{self.function}; expected exactly once")
        return source[:start] + body.replace(self.old, self.new) + source[end:]


@dataclass(frozen=True)
class Replace:
    function: str
    source: str

    def apply(self, source: str) -> str:
        start, end = _function_span(source, self.function)
        return source[:start] + self.source.strip("\n") + "\n" + source[end:]


class Variant:
    def __init__(self, name: str, description: str, *changes: Edit | Replace):
        self.name, self.description, self.changes = name, description, changes

    def apply(self, notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
        """A copy of ``notebook`` with every change applied to its answer cells."""
        notebook = copy.deepcopy(notebook)
        for change in self.changes:
            cells = [c for c in notebook.cells if is_answer(c) and change.function in defined_names(c.source)]
            if len(cells) != 1:
                raise VariantError(f"{self.name}: {change.function} is defined in {len(cells)} "
                                   "answer cells, expected one")
            cells[0].source = change.apply(cells[0].source)
        return notebook

    def __repr__(self) -> str:
        return f"Variant({self.name!r})"


def _variants_module(assignment_dir: Path):
    path = assignment_dir / "variants.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"variants_{assignment_dir.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_variants(assignment_dir: Path) -> tuple[list[Variant], list[Variant]]:
    """(BUGS, ALTERNATIVES) from ``assignment_dir/variants.py``; empty lists if there is none."""
    module = _variants_module(assignment_dir)
    return list(getattr(module, "BUGS", [])), list(getattr(module, "ALTERNATIVES", []))


def write_reference_files(assignment_dir: Path, folder: Path) -> list[Path]:
    """Write the extra files a reference submission hands in (``REFERENCE_FILES`` in
    variants.py: file name -> function(path) that makes it with the reference) into ``folder``."""
    makers = getattr(_variants_module(assignment_dir), "REFERENCE_FILES", {})
    written = []
    for name, make in makers.items():
        make(Path(folder) / name)
        written.append(Path(folder) / name)
    return written


def _function_span(source: str, name: str) -> tuple[int, int]:
    """Character offsets of the top-level definition of ``name`` (decorators included)."""
    lines = source.splitlines(keepends=True)
    for node in ast.parse(source).body:
        if getattr(node, "name", None) == name:
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            start = sum(len(line) for line in lines[:first - 1])
            end = sum(len(line) for line in lines[:node.end_lineno])
            return start, end
    raise VariantError(f"{name} is not defined in the cell")
