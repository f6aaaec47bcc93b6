"""course publish: an assignment's reference solutions, importable by the notebooks after it.

A later template marks each cell a student would paste from an earlier assignment, e.g.
``# %% solution="reference.layers:affine_forward,affine_backward" grade_id="affine_from_03"
carried="03_backprop"``. ``course publish 03_backprop`` (refused before the assignment's
window closes, unless forced) writes ``autograder/student/published/a03_backprop.py``: the
functions and classes later templates carry over from it, taken from the answer cells of its
own source notebook (the code its students' notebooks hold) with what they need of that
notebook's setup and answer cells, and nothing else. ``published.yml`` records it. From then
on the build turns each such cell into an import of the module, which the grading worker can
import (it lies in ``student/``) and the kit ships; before, the cells stay paste cells.

``published.yml`` is its own file, written only by this command, so that course.yml (which
the instructor edits, comments and all) is never rewritten by a tool.
"""

from __future__ import annotations

import ast
import datetime as dt
import textwrap
from dataclasses import dataclass
from pathlib import Path

import yaml

from autograder.building.build import BuildError
from autograder.building.notebook import BEGIN, END, TemplateError, carried_cells, source_notebook
from autograder.course import PUBLISHED_PACKAGE, Course, Layout, published_module
from autograder.grading.late import Deadline
from autograder.grading.program import is_answer, is_setup

RECORD_HEADER = ("# Written by `course publish`: the assignments whose reference solutions later notebooks\n"
                 "# import from autograder/student/published/. Commit it with those modules.\n")


class PublishError(BuildError):
    """An assignment cannot be published (yet)."""


def read_record(layout: Layout) -> dict[str, dict]:
    """Assignment id -> {published_at, forced} from ``published.yml`` (empty when absent)."""
    path = layout.published_record
    if not path.is_file():
        return {}
    record = yaml.safe_load(path.read_text()) or {}
    if not isinstance(record, dict) or not all(isinstance(v, dict) for v in record.values()):
        raise PublishError(f"{path}: expected a mapping of assignment ids to their publication")
    return record


def published_names(layout: Layout) -> dict[str, set[str]]:
    """Assignment id -> the names its published module defines, for every recorded one."""
    names = {}
    for assignment_id in read_record(layout):
        path = layout.published_file(assignment_id)
        if not path.is_file():
            raise PublishError(f"{layout.published_record.name} lists {assignment_id}, but {path} "
                               f"is missing: run `course publish {assignment_id}` again")
        names[assignment_id] = {n for s in _statements(path.read_text(), path.name) for n in s.binds}
    return names


def carried_names(course: Course, assignment_id: str) -> dict[str, list[str]]:
    """Each later assignment that carries code over from ``assignment_id`` -> the names."""
    carriers: dict[str, list[str]] = {}
    for assignment in course.assignments:
        for notebook in assignment.notebooks:
            template = course.layout.template(assignment.id, notebook)
            for source, names in carried_cells(template) if template.is_file() else []:
                if source == assignment_id:
                    found = carriers.setdefault(assignment.id, [])
                    found += [n for n in names if n not in found]
    return carriers


@dataclass(frozen=True)
class _Statement:
    text: str
    binds: frozenset[str]
    uses: frozenset[str]


def _statements(source: str, where: str) -> list[_Statement]:
    """The top-level statements of ``source``, each with the names it binds and reads."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise PublishError(f"{where}: not valid Python ({error.msg}, line {error.lineno})") from None
    lines = source.splitlines()
    statements = []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "\n".join(line for line in lines[start - 1:node.end_lineno] if line.strip() not in (BEGIN, END))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            binds = {node.name}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            binds = {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            binds = {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}
        uses = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        statements.append(_Statement(text, frozenset(binds), frozenset(uses)))
    return statements


def module_source(course: Course, assignment_id: str, names: list[str],
                  published: dict[str, set[str]] | None = None) -> str:
    """The published module of ``assignment_id``: the statements of its source notebook's
    setup and answer cells that define ``names``, and those they need, in notebook order."""
    assignment = course.assignment(assignment_id)
    pool: list[_Statement] = []
    for notebook in assignment.notebooks:
        try:
            nb = source_notebook(course.layout.template(assignment_id, notebook), assignment_id,
                                 dict(assignment.thresholds), published)
        except (OSError, TemplateError) as error:
            raise PublishError(f"{assignment_id}: {error}") from None
        for index, cell in enumerate(nb.cells, start=1):
            if is_setup(cell) or is_answer(cell):
                pool += _statements(cell.source, f"{notebook}, cell {index}")
    chosen: set[int] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        defining = [i for i, s in enumerate(pool) if name in s.binds]
        if not defining and name in names:
            raise PublishError(f"{assignment_id}'s notebook has no answer or setup cell defining "
                               f"{name}, which a later notebook carries over")
        for i in set(defining) - chosen:
            chosen.add(i)
            pending += sorted(pool[i].uses)
    parts = [pool[i].text for i in sorted(chosen)]
    summary = textwrap.fill(f"Reference solutions of assignment {assignment_id} ({assignment.title}), "
                            f"published for the notebooks after it: {', '.join(names)}.", 92)
    header = (f'"""{summary}\n\nWritten by `course publish {assignment_id}` from that notebook\'s '
              'answer cells; do not edit."""\n')
    return header + "\n" + "\n\n\n".join(parts) + f"\n\n\n__all__ = {names!r}\n"


def fresh_module(course: Course, assignment_id: str) -> str:
    """What ``course publish`` writes for the assignment today (the templates and the
    reference as they are now, the earlier published assignments imported)."""
    names = list(dict.fromkeys(n for found in carried_names(course, assignment_id).values() for n in found))
    earlier = {k: v for k, v in published_names(course.layout).items() if k != assignment_id}
    return module_source(course, assignment_id, names, earlier)


def stale_modules(course: Course) -> list[str]:
    """The published assignments whose module differs from what publishing them now writes."""
    return [a for a in read_record(course.layout)
            if not course.layout.published_file(a).is_file()
            or course.layout.published_file(a).read_text() != fresh_module(course, a)]


def publish(course: Course, assignment_id: str, force: bool = False,
            now: dt.datetime | None = None) -> Path:
    """Write ``assignment_id``'s published module and record it; refused before its window
    closes unless ``force``. Returns the module's path."""
    layout = course.layout
    course.assignment(assignment_id)  # a clear error for an unknown id
    carriers = carried_names(course, assignment_id)
    names = list(dict.fromkeys(n for found in carriers.values() for n in found))
    if not names:
        raise PublishError(f"no notebook carries code over from {assignment_id} (cells marked "
                           f'carried="{assignment_id}"): there is nothing to publish')
    now = now or dt.datetime.now(dt.timezone.utc)
    closes = Deadline.for_assignment(course, assignment_id).window_closes()
    if now < closes and not force:
        raise PublishError(f"{assignment_id} may be published from {closes:%Y-%m-%d %H:%M %Z} on, when "
                           "its due date (extensions included) and late window have passed; "
                           "--force publishes it now")
    record = read_record(layout)
    text = fresh_module(course, assignment_id)
    namespace = {"__name__": f"{PUBLISHED_PACKAGE}.{published_module(assignment_id)}"}
    path = layout.published_file(assignment_id)
    exec(compile(text, str(path), "exec"), namespace)  # the instructor's own reference code
    missing = [n for n in names if n not in namespace]
    if missing:
        raise PublishError(f"{assignment_id}'s published module would lack {', '.join(missing)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not (path.parent / "__init__.py").is_file():
        (path.parent / "__init__.py").write_text('"""Published reference solutions (`course publish`)."""\n')
    path.write_text(text)
    record[assignment_id] = {"published_at": now.isoformat(timespec="seconds"), "forced": now < closes}
    order = [a.id for a in course.assignments]
    record = dict(sorted(record.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))
    layout.published_record.write_text(RECORD_HEADER + yaml.safe_dump(record, sort_keys=False))
    return path


def published_files(layout: Layout) -> list[Path]:
    """The modules of the recorded assignments: what a kit may ship of ``published/``."""
    return [layout.published_file(a) for a in read_record(layout) if layout.published_file(a).is_file()]
