"""An assignment's public tests as nbgrader test cells, for grading the same notebooks with
``nbgrader autograde``: each public test function becomes a graded cell that calls it with
the notebook's own namespace as ``student``."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

# The notebook's namespace as the tests' `student` (and `grader`): like the grader's
# controls, it keeps the warnings of its latest call in `warnings` (what `assert_no_overflow`
# reads); `modified` (what `assert_unchanged` reads) stays empty.
STUDENT_NAMESPACE = """\
import functools, warnings, zlib


class Namespace:
    warnings = []
    modified = []  # arguments changed in place: nothing here sees them

    def __getattr__(self, name):
        if name not in globals():
            raise AttributeError(f"the notebook defines no {name!r}")
        value = globals()[name]
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args, **kwargs):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    return value(*args, **kwargs)
                finally:
                    self.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
        return call


student = Namespace()


def seeded(name):
    return np.random.default_rng(zlib.crc32(name.encode()))
"""


def public_test_cells(assignment_dir: Path) -> list[nbformat.NotebookNode]:
    """One nbgrader test cell per public test, calling it on the notebook's namespace."""
    source = (Path(assignment_dir) / "test_public.py").read_text()
    tree = ast.parse(source)
    header = "\n\n".join(ast.get_source_segment(source, node) for node in tree.body  # and the tests' helpers
                         if isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.FunctionDef))
                         and not getattr(node, "name", "").startswith("test_"))
    cells = [nbformat.v4.new_code_cell(
        header + "\n" + STUDENT_NAMESPACE,
        metadata={"nbgrader": {"schema_version": 3, "grade": False, "solution": False,
                               "locked": True, "grade_id": "bench_setup"}})]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            points = next(d.args[0].value for d in node.decorator_list
                          if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "points")
            args = ", ".join("student" if a.arg in ("student", "grader") else f"seeded({node.name!r})"
                             for a in node.args.args)
            code = "\n".join(line for line in ast.get_source_segment(source, node).splitlines()
                             if not line.startswith("@"))
            cells.append(nbformat.v4.new_code_cell(
                f"{code}\n\n{node.name}({args})",
                metadata={"nbgrader": {"schema_version": 3, "grade": True, "solution": False,
                                       "locked": True, "points": points, "grade_id": node.name}}))
    return cells
