"""The mutation score of each assignment's rubric: how many small changes to the reference's
solutions its tests notice.

Each mutant is the instructor's notebook (``build/source/<id>/``, from ``course build``) with
one change to one solution statement, made on the syntax tree: an arithmetic or comparison
operator swapped, a constant moved by one, a slice or range bound moved by one, a statement
removed, two arguments swapped, a condition negated, ``sum`` for ``mean`` (``max`` for
``min``, ...), a keyword argument dropped, ``sqrt`` / ``exp`` / ``log`` / ``abs`` left out.
All mutants of an assignment are graded as one class; a mutant is killed when it loses a
point. The script prints killed / total per assignment and every survivor, except those that
the assignment's ``variants.py`` lists as equivalent (``EQUIVALENT_MUTANTS``: pairs of the
mutant's description, as printed here, and why it cannot be told from the reference).

    OMP_NUM_THREADS=1 .venv/bin/python bench/mutation.py [ID...] [--max-mutants N]
                      [--workers 2] [--time-per-test SECONDS] [--seed 0] [--only TEXT] [--keep DIR]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import dataclasses
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.building.notebook import BEGIN, END  # noqa: E402
from autograder.building.variants import _variants_module, write_reference_files  # noqa: E402
from autograder.course import load_course  # noqa: E402
from autograder.grading.batch import grade_class  # noqa: E402
from autograder.grading.grade import Rubric  # noqa: E402
from autograder.grading.program import is_answer  # noqa: E402

BINARY_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
                ast.FloorDiv: ast.Mult, ast.Pow: ast.Mult}
COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
BOOL_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}
NAME_SWAPS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "maximum": "minimum",
              "minimum": "maximum", "argmax": "argmin", "argmin": "argmax", "zeros": "ones", "ones": "zeros",
              "std": "var", "var": "std"}
UNWRAPPED = {"sqrt", "exp", "log", "abs"}


@dataclass(frozen=True)
class Mutant:
    cell: str      # the answer cell's grade_id
    function: str  # the innermost function or class around the change
    line: int      # the first changed line, counted in the cell
    before: str    # the changed lines, as they were
    after: str     # ... and as they are in the mutant
    source: str    # the mutated cell

    @property
    def description(self) -> str:
        """What variants.py's EQUIVALENT_MUTANTS names the mutant by."""
        return f"{self.function}: {self.before} -> {self.after}"

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.description}"


# -- the operators: each maps one node to its replacements ---------------------------------

def _number_changes(node: ast.Constant) -> list:
    value = node.value
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return list(dict.fromkeys([value + 1.0] + ([0.0] if value else [])))
    return []


def _holds_a_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))


def _plus(node: ast.expr, step: int) -> ast.expr:
    return ast.BinOp(node, ast.Add() if step > 0 else ast.Sub(), ast.Constant(1))


def _off_by_one(node: ast.expr) -> list[ast.expr]:
    """``node + 1`` and ``node - 1``, unless a constant of node's changes already by one."""
    if node is None or _holds_a_constant(node) or (
            isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) and _holds_a_constant(node.right)):
        return []
    return [_plus(node, +1), _plus(node, -1)]


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def replacements(node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    """(node to replace, its replacement) for every mutation of ``node`` itself."""
    def changed(**fields):
        new = copy.copy(node)
        for name, value in fields.items():
            setattr(new, name, value)
        return node, new

    if isinstance(node, ast.BinOp) and type(node.op) in BINARY_SWAPS:
        yield changed(op=BINARY_SWAPS[type(node.op)]())
    elif isinstance(node, ast.AugAssign) and type(node.op) in BINARY_SWAPS:
        yield changed(op=BINARY_SWAPS[type(node.op)]())
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                yield changed(ops=node.ops[:i] + [COMPARE_SWAPS[type(op)]()] + node.ops[i + 1:])
    elif isinstance(node, ast.BoolOp):
        yield changed(op=BOOL_SWAPS[type(node.op)]())
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield node, node.operand
    elif isinstance(node, ast.Constant):
        for value in _number_changes(node):
            yield changed(value=value)
    elif isinstance(node, ast.Slice):
        for bound in ("lower", "upper"):
            for new in _off_by_one(getattr(node, bound)):
                yield changed(**{bound: new})
    elif isinstance(node, ast.Call):
        yield from _call_replacements(node, changed)
    elif isinstance(node, ast.Attribute) and node.attr in NAME_SWAPS:
        yield changed(attr=NAME_SWAPS[node.attr])
    if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)) and not _negated_by_a_swap(node.test):
        yield node.test, ast.UnaryOp(ast.Not(), node.test)


def _negated_by_a_swap(test: ast.expr) -> bool:
    """Whether another mutant already negates ``test`` (``not x`` -> ``x``, ``==`` -> ``!=``)."""
    negatable = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn)
    return (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)) or (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], negatable))


def _call_replacements(call: ast.Call, changed) -> Iterator[tuple[ast.AST, ast.AST]]:
    name = _called_name(call)
    args = call.args
    if not any(isinstance(a, ast.Starred) for a in args):
        for i in range(len(args) - 1):
            yield changed(args=args[:i] + [args[i + 1], args[i]] + args[i + 2:])
    for i in range(len(call.keywords)):
        if call.keywords[i].arg is not None:
            yield changed(keywords=call.keywords[:i] + call.keywords[i + 1:])
    if name in UNWRAPPED and len(args) == 1 and not call.keywords:
        yield call, args[0]
    if name == "range":
        for i, arg in enumerate(args):
            for new in _off_by_one(arg):
                yield changed(args=args[:i] + [new] + args[i + 1:])
    if isinstance(call.func, ast.Name) and name in ("max", "min"):
        yield changed(func=ast.Name(NAME_SWAPS[name], ast.Load()))


# -- where they apply: solution statements of answer cells ----------------------------------

def solution_spans(source: str) -> list[tuple[int, int]]:
    """(first, last) line numbers strictly between each BEGIN / END SOLUTION pair."""
    spans, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == BEGIN:
            start = number
        elif line.strip() == END and start is not None:
            spans.append((start + 1, number - 1))
            start = None
    return spans


def solution_statements(tree: ast.AST, spans: list[tuple[int, int]]) -> Iterator[tuple[ast.stmt, str]]:
    """Every statement inside a solution span, with the innermost function or class around it."""
    def visit(node, owner):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else owner
            if isinstance(child, ast.stmt) and any(a <= child.lineno and child.end_lineno <= b for a, b in spans):
                yield child, owner
            yield from visit(child, inner)
    yield from visit(tree, "<cell>")


def own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """A statement and the expressions that belong to it, not to the statements it holds
    (nor f-strings, whose parts have no positions of their own)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.stmt, ast.excepthandler, ast.JoinedStr)):
            yield from own_nodes(child)


def is_elif(statement: ast.stmt, source: str) -> bool:
    line = source.encode().splitlines()[statement.lineno - 1]
    return isinstance(statement, ast.If) and line[statement.col_offset:].startswith(b"elif")


def is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(
        statement.value.value, str)


def splice(source: str, node: ast.AST, text: str) -> str:
    """``source`` with ``node``'s span replaced by ``text`` (positions are UTF-8 byte offsets)."""
    lines = source.encode().splitlines(keepends=True)
    start = sum(len(line) for line in lines[:node.lineno - 1]) + node.col_offset
    end = sum(len(line) for line in lines[:node.end_lineno - 1]) + node.end_col_offset
    data = source.encode()
    return (data[:start] + text.encode() + data[end:]).decode()


def mutated_source(source: str, old: ast.AST, new: ast.AST) -> str | None:
    """``source`` with ``old`` replaced by ``new``, parenthesized only where needed; None if
    the result does not parse."""
    text = ast.unparse(new)
    if isinstance(old, ast.stmt):
        return _parsing(splice(source, old, text.replace("\n", "\n" + " " * old.col_offset)))
    bracketed = _parsing(splice(source, old, f"({text})"))
    bare = _parsing(splice(source, old, text))
    if bracketed is None or (bare is not None and ast.dump(ast.parse(bare)) == ast.dump(ast.parse(bracketed))):
        return bare  # a slice cannot be bracketed
    return bracketed


def _parsing(source: str) -> str | None:
    try:
        ast.parse(source)
    except SyntaxError:
        return None
    return source


def changed_lines(before: str, after: str) -> tuple[int, str, str]:
    """(first changed line, the changed lines before, after), each joined into one line."""
    old, new = before.splitlines(), after.splitlines()
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    join = lambda lines: " ".join(line.strip() for line in lines) or "(nothing)"  # noqa: E731
    return head + 1, join(old[head:len(old) - tail]), join(new[head:len(new) - tail])


def cell_mutants(source: str, cell: str) -> Iterator[Mutant]:
    """Every mutant of one answer cell that parses and differs from it."""
    tree = ast.parse(source)
    seen = {ast.dump(tree)}
    for statement, function in solution_statements(tree, solution_spans(source)):
        removable = not (isinstance(statement, ast.Pass) or is_docstring(statement) or is_elif(statement, source))
        changes = [(statement, ast.Pass())] if removable else []
        for node in own_nodes(statement):
            changes += list(replacements(node))
        for old, new in changes:
            mutated = mutated_source(source, old, new)
            if mutated is None or ast.dump(ast.parse(mutated)) in seen:
                continue
            seen.add(ast.dump(ast.parse(mutated)))
            line, before, after = changed_lines(source, mutated)
            yield Mutant(cell, function, line, before, after, mutated)


def notebook_mutants(notebook: nbformat.NotebookNode) -> list[tuple[int, Mutant]]:
    """(cell index, mutant) for every mutant of every answer cell, in notebook order."""
    return [(index, mutant) for index, cell in enumerate(notebook.cells) if is_answer(cell)
            for mutant in cell_mutants(cell.source, cell.metadata["nbgrader"]["grade_id"])]


def mutated_notebook(notebook: nbformat.NotebookNode, index: int, mutant: Mutant) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(notebook)
    notebook.cells[index].source = mutant.source
    return notebook


# -- grading them --------------------------------------------------------------------------

def equivalent_mutants(assignment_dir: Path) -> dict[str, str]:
    """Description -> reason, from variants.py's EQUIVALENT_MUTANTS."""
    return dict(getattr(_variants_module(assignment_dir), "EQUIVALENT_MUTANTS", []))


FAIL_FAST = '''"""Stop at the first failed test: one lost point kills a mutant."""
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    if (yield).get_result().failed:
        item.session.shouldstop = "a test failed"
'''


def fail_fast(rubric: Rubric, folder: Path, time_per_test: float) -> Rubric:
    """``rubric`` with its tests copied to ``folder`` beside a conftest that stops at the first
    failure (what kills and what survives is the same, in less time), each test limited to
    ``time_per_test`` seconds unless it sets its own limit."""
    folder.mkdir(parents=True)
    (folder / "conftest.py").write_text(FAIL_FAST)
    tests = [Path(shutil.copy(path, folder / path.name)) for path in rubric.test_files]
    return dataclasses.replace(rubric, test_files=tests,
                               limits=rubric.limits.model_copy(update={"time_per_test": time_per_test}))


def write_class(notebooks: dict[str, nbformat.NotebookNode], assignment_dir: Path, folder: Path) -> None:
    """One submission folder per student; the extra files a submission brings are made once."""
    extras = folder / ".extras"
    extras.mkdir(parents=True)
    made = write_reference_files(assignment_dir, extras)
    for student, (name, notebook) in notebooks.items():
        (folder / student).mkdir()
        nbformat.write(notebook, folder / student / f"{name}.ipynb")
        for path in made:
            shutil.copy(path, folder / student / path.name)
    shutil.rmtree(extras)


def score_assignment(course, assignment_id: str, args) -> tuple[int, int]:
    """Grade every mutant of one assignment; print the score and survivors; (killed, total)."""
    assignment = course.assignment(assignment_id)
    [name] = assignment.notebooks
    path = course.layout.source_dir(assignment_id) / f"{name}.ipynb"
    if not path.is_file():
        sys.exit(f"{path} is missing: run `course build {assignment_id}` first")
    reference = nbformat.read(path, as_version=4)
    mutants = notebook_mutants(reference)
    mutants = [(i, m) for i, m in mutants if not args.only or any(t in m.description for t in args.only)]
    count = len(mutants)
    if args.max_mutants and count > args.max_mutants:
        mutants = sorted(random.Random(args.seed).sample(mutants, args.max_mutants), key=lambda m: m[0])
    width = len(str(len(mutants)))
    students = {f"mutant{i:0{width}d}": pair for i, pair in enumerate(mutants)}
    notebooks = {s: (name, mutated_notebook(reference, *pair)) for s, pair in students.items()}
    notebooks["reference"] = (name, reference)
    with tempfile.TemporaryDirectory(prefix=f"mutants-{assignment_id}-") as scratch:
        folder = Path(args.keep or scratch) / assignment_id
        rubric = fail_fast(Rubric.for_assignment(course, assignment_id), folder / "rubric", args.time_per_test)
        write_class(notebooks, course.assignment_dir(assignment_id), folder / "submissions")
        started = time.monotonic()
        with contextlib.redirect_stdout(sys.stderr):  # the grader's line per killed mutant: progress
            graded = grade_class(rubric, [folder / "submissions"], folder / "grades", workers=args.workers)
    results = {r.student: r for r in graded}
    control = results.pop("reference")
    if control.score < control.max_score:
        lost = [t.name for t in control.tests if t.status != "passed"]
        print(f"{assignment_id}: the reference itself lost points ({lost}): raise --time-per-test")
    equivalent = equivalent_mutants(course.assignment_dir(assignment_id))
    survivors = [students[s][1] for s, r in sorted(results.items()) if r.score >= r.max_score]
    killed = len(results) - len(survivors)
    listed = [m for m in survivors if m.description in equivalent]
    sampled = f" (a sample of {count})" if len(mutants) < count else ""
    print(f"{assignment_id}: {killed} / {len(results)} killed{sampled}, {len(listed)} listed as equivalent, "
          f"{len(survivors) - len(listed)} survive ({time.monotonic() - started:.0f} s)")
    for mutant in survivors:
        reason = equivalent.get(mutant.description)
        print(f"  {'equivalent' if reason else 'SURVIVES  '}  {mutant}" + (f"  [{reason}]" if reason else ""))
    return killed + len(listed), len(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="assignments (default: 01 to 07)")
    parser.add_argument("--max-mutants", type=int, help="grade a random sample of this many per assignment")
    parser.add_argument("--seed", type=int, default=0, help="of the sample")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-per-test", type=float, default=15.0,
                        help="seconds per test (short: a mutant that hangs costs this much per test)")
    parser.add_argument("--only", action="append", metavar="TEXT",
                        help="grade only the mutants whose description contains TEXT (repeatable)")
    parser.add_argument("--keep", help="write submissions and grades under this folder, and keep them")
    args = parser.parse_args()
    course = load_course(ROOT)
    ids = args.ids or [a.id for a in course.assignments][:7]
    totals = [score_assignment(course, assignment_id, args) for assignment_id in ids]
    if len(ids) > 1:
        print(f"all: {sum(k for k, _ in totals)} / {sum(t for _, t in totals)} killed or equivalent")


if __name__ == "__main__":
    main()
