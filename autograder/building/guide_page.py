"""The Markdown of an assignment's guide, from its sources (template, tests, course.yml,
variants.py) and the results of grading the reference and the bugs (``guide.measure``)."""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext

from autograder.building.variants import load_variants
from autograder.course import Course


@dataclass
class Section:
    """A ``## `` section of a notebook: what the student writes there, and from which topics."""

    title: str
    topics: list[str] = field(default_factory=list)  # reference modules, e.g. "linear"
    functions: list[str] = field(default_factory=list)


def render(course: Course, assignment_id: str, measured: dict) -> str:
    assignment = course.assignment(assignment_id)
    tests = measured["reference"]["tests"]
    limits = course.limits_for(assignment)
    slowest = max(tests, key=lambda name: tests[name]["duration"])
    lines = [
        f"<!-- Written by `course guide {assignment_id}` from the notebook, the rubric, course.yml and "
        f"variants.py, with graded results from measurements/{assignment_id}.json: do not edit. -->",
        f"# {assignment_id}: {assignment.title}", "",
        f"For instructors. Students get `release/{assignment_id}/` in their kit; due "
        f"{assignment.due:%Y-%m-%d %H:%M %Z}.", "",
        f"**{_sum(tests.values())} points**: {_sum(tests.values(), hidden=False)} public (what the "
        f"self-check runs), {_sum(tests.values(), hidden=True)} hidden. Grading the reference takes "
        f"**{_seconds(measured['reference']['duration'])}** (one submission, the worker pool warm, on a "
        f"{measured['cores']}-core machine; the slowest test, `{slowest}`, {_seconds(tests[slowest]['duration'])})."
        f" Limits: {limits.time_per_test:g} s per test, {limits.memory_mb} MB per worker.", "",
        "## Learning goals", "",
        "Each section of the notebook, the lecture's topics its answers draw on (the `reference/` "
        "modules), what the student writes there, and the points of the tests that call it.", "",
        "| goal (notebook section) | topics | the student writes | tests' points: public, hidden |",
        "| --- | --- | --- | --- |"]
    calls = {name: facts[0] for name, facts in test_facts(course.layout.test_files(assignment_id)).items()}
    sections = [s for n in assignment.notebooks for s in notebook_sections(course.layout.template(assignment_id, n))]
    goals = {name: [s for s in sections if calls.get(name.split("[")[0], set()) & set(s.functions)] for name in tests}
    for section in sections:
        checking = [tests[name] for name in tests if section in goals[name]]
        lines.append(_row(section.title, ", ".join(f"`{t}`" for t in section.topics),
                          ", ".join(f"`{f}`" for f in section.functions),
                          f"{_sum(checking, hidden=False)}, {_sum(checking, hidden=True)}"))
    topics = dict.fromkeys(t for s in sections for t in s.topics)
    lines += ["", "Topics:", ""] + [f"- `{t}`: {_summary(t)}" for t in topics]
    lines += ["", "## Tests", "", "| test | goal | points | | what it checks | the reference's time |",
              "| --- | --- | --- | --- | --- | --- |"]
    for name, test in tests.items():
        described = test["description"] != name.replace("_", " ")
        lines.append(_row(f"`{name}`", ", ".join(_label(s.title) for s in goals[name]),
                          f"{test['points']:g}", "hidden" if test["hidden"] else "public",
                          test["description"] if described else "", _seconds(test["duration"])))
    lines += thresholds_section(course, assignment_id, tests)
    lines += written_section(course, assignment_id)
    lines += mistakes_section(course, assignment_id, measured, tests)
    return "\n".join(lines) + "\n"


def written_section(course: Course, assignment_id: str) -> list[str]:
    """The written questions (graded by people in nbgrader's formgrader), with their points
    and the model answer the template holds for the graders."""
    cells = [(name, cell) for name in course.assignment(assignment_id).notebooks
             for cell in jupytext.read(course.layout.template(assignment_id, name)).cells
             if "written" in cell.metadata]
    if not cells:
        return []
    lines = ["", "## Written questions", "",
             "Graded by people (nbgrader's formgrader), apart from the automatic points above; "
             "students see \"YOUR ANSWER HERE\" where the model answer is, given here whole "
             "with its marking guide.", "",
             "| question | notebook | points |", "| --- | --- | --- |"]
    for name, cell in cells:
        lines.append(_row(f"`{cell.metadata.get('grade_id', '?')}`", name, f"{cell.metadata['written']:g}"))
    for name, cell in cells:
        points = cell.metadata["written"]
        lines += ["", f"### `{cell.metadata.get('grade_id', '?')}` ({name}, {points:g} "
                      f"point{'' if points == 1 else 's'})", "", *_quoted(cell.source)]
    return lines


def _quoted(text: str) -> list[str]:
    """``text`` as a Markdown quote block, its paragraphs, lists and math intact."""
    return [f"> {line}".rstrip() for line in text.strip().splitlines()]


def thresholds_section(course: Course, assignment_id: str, tests: dict) -> list[str]:
    assignment = course.assignment(assignment_id)
    if not assignment.thresholds:
        return []
    comments = yaml_comments((course.root / "course.yml").read_text(), assignment_id)
    strings = {name: facts[1] for name, facts in test_facts(course.layout.test_files(assignment_id)).items()}
    lines = ["", "## Thresholds", ""]
    if comments["thresholds"].get(""):
        lines += [f"From course.yml: {comments['thresholds']['']}", ""]
    lines += ["| threshold | required | the reference reaches | what it measures | its test: the reference's time |",
              "| --- | --- | --- | --- | --- |"]
    for key, value in assignment.thresholds.items():
        reached = assignment.reference_scores.get(key)
        note = comments["reference_scores"].get(key, "")
        where = [n for n in tests if key in strings.get(n.split("[")[0], ())]
        lines.append(_row(f"`{key}`", f"{value:g}", ("?" if reached is None else f"{reached:g}") +
                          (f" {note}" if note.startswith("(") else f" ({note})" if note else ""),
                          comments["thresholds"].get(key, ""),
                          ", ".join(f"`{n}`: {_seconds(tests[n]['duration'])}" for n in where)))
    return lines


def mistakes_section(course: Course, assignment_id: str, measured: dict, tests: dict) -> list[str]:
    bugs, alternatives = load_variants(course.assignment_dir(assignment_id))
    if not bugs:
        return []
    lines = ["", "## Common mistakes", "",
             "The plausible bugs of `variants.py`, each graded like a submission: the tests that catch "
             "it (points lost) and what the student sees: the first public test's message, the one the "
             "self-check shows, or, when only hidden tests catch it, the grader's reason behind their "
             "\"hidden test failed\".", "",
             "| mistake | caught by | points lost | what the student sees |", "| --- | --- | --- | --- |"]
    for bug in bugs:
        caught = measured["bugs"].get(bug.name, {"tests": {}, "problems": {}})
        failed = caught["tests"]
        shown = next((n for n in failed if not tests[n]["hidden"]), None)
        if shown:
            message = f"`{shown}`: {failed[shown]}"
        elif failed:
            first = next(iter(failed))
            message = f"only hidden tests: \"hidden test failed\" (`{first}`: {failed[first]})"
        else:
            message = "nothing: no test catches it"
        if caught["problems"]:
            message = "; ".join(f"{cell}: {text}" for cell, text in caught["problems"].items()) + "; " + message
        lines.append(_row(f"`{bug.name}`: {bug.description}",
                          ", ".join(f"`{n}`" + (" (hidden)" if tests[n]["hidden"] else "") for n in failed) or "none",
                          f"{sum(tests[n]['points'] for n in failed):g}", _shorten(message, 240)))
    if alternatives:
        lines += ["", "Correct alternatives that keep full marks (the project's tests grade them): " +
                  "; ".join(f"`{a.name}` ({a.description})" for a in alternatives) + "."]
    return lines


def notebook_sections(template: Path) -> list[Section]:
    """The ``## `` sections of a notebook template that hold answer cells, in order."""
    sections = [Section("(before the first section)")]
    for cell in jupytext.read(template).cells:
        heading = re.search(r"^##\s+(.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if heading:
            sections.append(Section(heading.group(1).strip()))
        for group in str(cell.metadata.get("solution", "")).split():
            module, _, names = group.partition(":")
            topic = module.removeprefix("reference.")
            sections[-1].topics += [topic] if topic not in sections[-1].topics else []
            sections[-1].functions += [n.strip() for n in names.split(",")]
    return [s for s in sections if s.functions]


def test_facts(test_files: list[Path]) -> dict[str, tuple[set[str], set[str]]]:
    """Test name -> (the student's functions it calls as ``student.NAME``, the strings it
    names), in its own body or in a module-level helper it calls."""
    facts = {}
    for path in test_files:
        functions = {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
        for name, node in functions.items():
            if not name.startswith("test_"):
                continue
            nodes = list(ast.walk(node))
            nodes += [n for call in nodes if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                      and call.func.id in functions for n in ast.walk(functions[call.func.id])]
            facts[name] = ({n.attr for n in nodes if isinstance(n, ast.Attribute) and
                            isinstance(n.value, ast.Name) and n.value.id == "student"},
                           {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)})
    return facts


def yaml_comments(text: str, assignment_id: str) -> dict[str, dict[str, str]]:
    """The comments course.yml writes beside an assignment's ``thresholds`` and
    ``reference_scores`` (key "" for the block's own line), comment-only lines continuing them."""
    comments: dict[str, dict[str, str]] = {"thresholds": {}, "reference_scores": {}}
    inside, block, depth, last = False, None, 0, None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        entry = re.match(r"\s*- id:\s*(\S+)", line)
        keyed = re.match(r"\s*(\w+):[^#]*(?:#\s*(.*))?$", line)
        if entry:
            inside, block = entry.group(1) == assignment_id, None
        elif not inside:
            continue
        elif keyed and keyed.group(1) in comments:
            block, depth, last = keyed.group(1), indent, ""
            comments[block][""] = (keyed.group(2) or "").strip()
        elif keyed and block and indent > depth:
            last = keyed.group(1)
            comments[block][last] = (keyed.group(2) or "").strip()
        elif keyed:
            block = None
        elif block and line.strip().startswith("#"):
            comments[block][last] = (comments[block][last] + " " + line.strip().lstrip("#").strip()).strip()
    return comments


def _summary(topic: str) -> str:
    doc = importlib.import_module(f"reference.{topic}").__doc__ or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def _label(title: str) -> str:
    number = re.match(r"(\d+)\.\s", title)
    return number.group(1) if number else title


def _sum(tests, hidden: bool | None = None) -> str:
    return f"{sum(t['points'] for t in tests if hidden is None or t['hidden'] == hidden):g}"


def _seconds(value: float) -> str:
    return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _row(*cells: str) -> str:
    return "| " + " | ".join(" ".join(str(c).split()).replace("|", "\\|") for c in cells) + " |"
