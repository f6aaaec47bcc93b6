"""bench/mutation.py's mutator: each mutant changes one node of one solution statement and
parses; code outside the solution regions never changes."""

from __future__ import annotations

import ast
import importlib.util
import sys

import nbformat
import pytest

from autograder.building.notebook import source_notebook
from autograder.grading.program import is_answer

from conftest import COURSE, ROOT

spec = importlib.util.spec_from_file_location("bench_mutation", ROOT / "bench" / "mutation.py")
mutation = sys.modules["bench_mutation"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutation)

CELL = '''\
import numpy as np


def layer(x, w, scale=2.0, train=True):
    """Outside the solution: never mutated."""
    limit = 3 * scale
    ### BEGIN SOLUTION
    out = np.maximum(x @ w, 0)
    if train and out.sum() > limit:
        out = out[1:len(out)] / np.sqrt(limit)
    for i in range(len(out) - 1):
        out[i] -= np.mean(out, axis=0, keepdims=True)[0]
    return out
    ### END SOLUTION
'''


def differences(a: ast.AST, b: ast.AST) -> int:
    """How many places the two trees differ in: a node of another kind or with other
    values, or a list of children that changed (counted once)."""
    if type(a) is not type(b):
        return 1
    count = 0
    for (name, x), (_, y) in zip(ast.iter_fields(a), ast.iter_fields(b)):
        if isinstance(x, list):
            if ast.dump(ast.Module(x, [])) != ast.dump(ast.Module(y, [])):
                pairs = [differences(p, q) for p, q in zip(x, y)] if len(x) == len(y) else [2]
                count += 1 if sum(pairs) > 1 else sum(pairs)
        elif isinstance(x, ast.AST):
            count += differences(x, y)
        elif x != y:
            return 1
    return count


def changed_span(before: str, after: str) -> tuple[int, int]:
    """The first and last line of ``before`` that ``after`` changes."""
    old, new = before.splitlines(), after.splitlines()
    head = next(i for i, (p, q) in enumerate(zip(old + [None], new + [None])) if p != q)
    tail = next(i for i, (p, q) in enumerate(zip(old[::-1] + [None], new[::-1] + [None])) if p != q)
    return head + 1, len(old) - tail


def test_each_mutant_changes_one_node_of_a_solution_line():
    mutants = list(mutation.cell_mutants(CELL, "layer"))
    assert len(mutants) > 30
    [(first, last)] = mutation.solution_spans(CELL)
    for mutant in mutants:
        assert differences(ast.parse(CELL), ast.parse(mutant.source)) == 1, mutant
        start, end = changed_span(CELL, mutant.source)
        assert first <= start and max(start, end) <= last, f"{mutant} changes line {start}"
    assert len({m.source for m in mutants}) == len(mutants), "a mutant is made twice"


@pytest.mark.parametrize("after", [
    "out = np.minimum(x @ w, 0)", "out = np.maximum(x @ w, 1)", "out = np.maximum(0, x @ w)",
    "if train or out.sum() > limit:", "if train and out.sum() >= limit:", "if not (train and out.sum() > limit):",
    "out = out[1:len(out)] * np.sqrt(limit)", "out = out[1:len(out)] / limit", "out = out[1:len(out) + 1] / np.sqrt(limit)",
    "out = out[2:len(out)] / np.sqrt(limit)", "for i in range(len(out) - 2):", "for i in range(len(out) - 0):",
    "out[i] += np.mean(out, axis=0, keepdims=True)[0]", "out[i] -= np.sum(out, axis=0, keepdims=True)[0]",
    "out[i] -= np.mean(out, axis=0)[0]", "pass",
])
def test_every_operator_applies(after):
    assert after in {m.after for m in mutation.cell_mutants(CELL, "layer")}


def test_a_mutant_notebook_differs_from_the_instructors_in_one_answer_cell():
    assignment = COURSE.assignment("01_regression")
    [name] = assignment.notebooks
    reference = source_notebook(COURSE.layout.template(assignment.id, name), assignment.id,
                                dict(assignment.thresholds))
    mutants = mutation.notebook_mutants(reference)
    assert mutants
    for index, mutant in mutants:
        notebook = mutation.mutated_notebook(reference, index, mutant)
        nbformat.validate(notebook)
        changed = [i for i, (a, b) in enumerate(zip(reference.cells, notebook.cells)) if a.source != b.source]
        assert changed == [index] and is_answer(notebook.cells[index])
        ast.parse(notebook.cells[index].source)
