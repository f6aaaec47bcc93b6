"""course kit: what a student is handed, and nothing more.

``DIR/<id>/`` holds each assignment's release notebooks and public tests; ``DIR`` itself is a
pip-installable package (its own ``pyproject.toml``, named and versioned after course.yml)
holding the part of the engine a self-check needs (``autograder.selfcheck`` and what it
imports, plus everything a worker sees: ``student/``, with its data and weight files and the
published solutions of the assignments ``published.yml`` lists, and ``sandbox/``) and, in
``autograder/public/``, the public course: a course.yml with only what
the public tests need, the release notebooks and the public tests. No file of ``reference/``,
no hidden test and no ``variants.py`` is ever read into it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from autograder.building.build import BuildError
from autograder.building.publish import published_files
from autograder.course import PUBLIC_TESTS, Course, Layout
from autograder.grading.grade import _modules_imported
from autograder.sandbox.launch import PACKAGE_DIR, WORKER_VISIBLE

ENTRY = PACKAGE_DIR / "selfcheck.py"
PACKAGE_DATA = {"autograder": ["public/**/*"], "autograder.grading": ["*.ini"],
                "autograder.student.weights": ["*.safetensors"]}
ALWAYS = ["jupyterlab>=4", "ipykernel>=6", "pytest>=8"]  # to open notebooks and run checks
STUDENT_WORKFLOW = Path(".github", "workflows", "classroom.yml")  # the student-side CI, if any


def write_kit(course: Course, assignment_ids: list[str], out: Path) -> Path:
    """Write the kit of ``assignment_ids`` into the (new or empty) folder ``out``."""
    if out.exists() and any(out.iterdir()):
        raise BuildError(f"{out} is not empty: give a new folder for the kit")
    for path in engine_files():
        _copy(path, out / "autograder" / path.relative_to(PACKAGE_DIR))
    for path in published_files(course.layout):  # the published solutions, and only those
        _copy(path, out / "autograder" / "student" / "published" / path.name)
    public = Layout(out / "autograder" / "public")  # what autograder.selfcheck reads
    public.root.mkdir(parents=True, exist_ok=True)
    (public.root / "course.yml").write_text(yaml.safe_dump(public_config(course, assignment_ids), sort_keys=False))
    for assignment_id in assignment_ids:
        for notebook in course.layout.release_notebooks(course.assignment(assignment_id)).values():
            _copy(notebook, out / assignment_id / notebook.name)
            _copy(notebook, public.release_dir(assignment_id) / notebook.name)
        for test in public_tests(course, assignment_id):
            _copy(test, out / assignment_id / test.name)
            _copy(test, public.assignment_dir(assignment_id) / test.name)
    (out / "pyproject.toml").write_text(pyproject(course, dependencies(out)))
    (out / "README.md").write_text(readme(course, assignment_ids))
    if (course.root / STUDENT_WORKFLOW).is_file():
        _copy(course.root / STUDENT_WORKFLOW, out / STUDENT_WORKFLOW)
    return out


def public_tests(course: Course, assignment_id: str) -> list[Path]:
    """The public tests as the build released them (checked never to import the reference)."""
    path = course.layout.release_dir(assignment_id) / PUBLIC_TESTS
    return [path] if path.is_file() else []


def engine_files() -> list[Path]:
    """The self-check's module and the engine modules it imports, directly or not, with
    their packages' ``__init__`` files, and every file of the worker-visible folders."""
    found, pending = set(), [ENTRY]
    while pending:
        path = pending.pop()
        if path not in found:
            found.add(path)
            pending += _modules_imported(path, PACKAGE_DIR)
    for name in WORKER_VISIBLE:
        folder = PACKAGE_DIR / name
        found |= {p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else {folder}
    found |= {p.with_name(n) for p in set(found) for n in _data_files(p.parent)}
    published = PACKAGE_DIR / "student" / "published"  # write_kit adds the recorded modules
    return sorted(p for p in found if "__pycache__" not in p.parts and p.suffix != ".pyc"
                  and (p.parent != published or p.name == "__init__.py"))


def _data_files(folder: Path) -> list[str]:
    package = ".".join(("autograder",) + folder.relative_to(PACKAGE_DIR).parts)
    return [p.name for pattern in PACKAGE_DATA.get(package, []) if "/" not in pattern
            for p in folder.glob(pattern)]


def public_config(course: Course, assignment_ids: list[str]) -> dict:
    """course.yml for the kit: names, notebooks, due dates and limits of its assignments,
    and only the thresholds their public tests read (no late policy, extensions, reference
    scores or data set paths)."""
    assignments = []
    for assignment_id in assignment_ids:
        assignment = course.assignment(assignment_id)
        public = "".join(p.read_text() for p in public_tests(course, assignment_id))
        assignments.append({
            "id": assignment.id, "title": assignment.title, "notebooks": list(assignment.notebooks),
            "files": list(assignment.files), "due": assignment.due.isoformat(),
            "limits": course.limits_for(assignment).model_dump(),
            "thresholds": {k: v for k, v in assignment.thresholds.items() if re.search(rf"\b{k}\b", public)}})
    info = course.course.model_dump()
    return {"course": info, "assignments": assignments}


def dependencies(kit: Path) -> list[str]:
    """The project's requirements for what the kit's modules, notebooks and tests import,
    plus what opening a notebook and running its checks needs."""
    modules = set()
    for path in kit.rglob("*"):
        if path.suffix == ".py":
            modules |= _top_level_imports(path.read_text())
        elif path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            modules |= {m for c in cells if c["cell_type"] == "code"
                        for m in _top_level_imports("".join(c["source"]))}
    provided = importlib.metadata.packages_distributions()
    distributions = {_canonical(d) for m in modules for d in provided.get(m, [])}
    declared = [Requirement(r) for r in importlib.metadata.requires("course") or []]
    needed = [str(r) for r in declared if not r.marker and _canonical(r.name) in distributions]
    return sorted(set(needed + ALWAYS), key=str.lower)


def _top_level_imports(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"autograder"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject(course: Course, requirements: list[str]) -> str:
    lines = ["[build-system]", 'requires = ["setuptools>=68"]', 'build-backend = "setuptools.build_meta"', "",
             "[project]", f"name = {json.dumps(course.course.id)}", f"version = {json.dumps(course.course.version)}",
             f"description = {json.dumps(course.course.title + ': the student kit')}",
             'readme = "README.md"', 'requires-python = ">=3.10"', "dependencies = ["]
    lines += [f"    {json.dumps(r)}," for r in requirements]
    lines += ["]", "", "[project.scripts]", 'course = "autograder.selfcheck:run"  # only `course check`', "",
              "[tool.setuptools.packages.find]", 'include = ["autograder*"]', "namespaces = false", "",
              "[tool.setuptools.package-data]"]
    lines += [f"{json.dumps(package)} = {json.dumps(patterns)}" for package, patterns in PACKAGE_DATA.items()]
    return "\n".join(lines) + "\n"


def readme(course: Course, assignment_ids: list[str]) -> str:
    notebooks = "\n".join(f"- `{a}/{n}.ipynb`: {course.assignment(a).title} (due "
                          f"{course.assignment(a).due:%Y-%m-%d %H:%M %Z})"
                          for a in assignment_ids for n in course.assignment(a).notebooks)
    return KIT_README.format(title=course.course.title, notebooks=notebooks,
                             example=f"{assignment_ids[0]}/{course.assignment(assignment_ids[0]).notebooks[0]}.ipynb")


KIT_README = """\
# {title}: your kit

{notebooks}

Each folder also holds its public tests (`test_public.py`). The grader runs those and hidden
tests, which use other inputs and the thresholds your notebook states.

## Install (once)

Python 3.10 or newer, on Linux (macOS and Windows: use WSL or a Linux container):

```
python3 -m venv .venv && . .venv/bin/activate
pip install torch --index-url https://download.pytorch.org/whl/cpu   # the CPU build
pip install .
```

## Work

```
jupyter lab
```

Open your notebook, replace every `raise NotImplementedError()` with your code, and run the
cells after each answer. The notebook's last cell is your self-check: it runs the public
tests on the answers you have run, graded the way the grader grades, and shows each test
with its points and, if it failed, why. From a terminal, on the saved notebook:

```
course check {example}
```

Hand in the notebook itself (and any file your assignment asks for, beside it).
"""


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
