"""The student kit (`course kit`): it holds nothing secret, and, installed on its own in a fresh
environment with no course checkout anywhere, it checks a notebook like the grader does."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jupytext
import pytest
import yaml
from packaging.requirements import Requirement

from autograder.building.kit import engine_files, write_kit
from autograder.building.notebook import solution_lines
from autograder.building.publish import published_files
from autograder.course import Layout
from autograder.sandbox.launch import PACKAGE_DIR

from conftest import ASSIGNMENTS, COURSE, ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip's own copy of the same parser
    from pip._vendor import tomli as tomllib

A = "01_regression"


@pytest.fixture(scope="module")
def kits(tmp_path_factory) -> dict[str, Path]:
    """One kit per assignment, and one of them all ("all")."""
    out = tmp_path_factory.mktemp("kits")
    kits = {a: write_kit(COURSE, [a], out / a) for a in ASSIGNMENTS}
    kits["all"] = write_kit(COURSE, ASSIGNMENTS, out / "all")
    return kits


@pytest.fixture(scope="module")
def wheel(kits, tmp_path_factory) -> Path:
    """The wheel of the kit of all assignments, built from a copy (pip leaves files beside it)."""
    out = tmp_path_factory.mktemp("wheel")
    source = shutil.copytree(kits["all"], out / "source")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    str(source), "-w", str(out / "dist")], check=True, capture_output=True, timeout=600)
    [built] = (out / "dist").glob("*.whl")
    return built


def _lines(name: str, text: str) -> set[str]:
    lines = {line.strip() for line in text.splitlines()}
    if name.endswith(".ipynb"):
        lines |= {line.strip() for cell in json.loads(text)["cells"] for line in "".join(cell["source"]).splitlines()}
    return lines


def secret_lines(root: Path = ROOT, package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    """Each line of a solution region, a written question's model answer, a hidden test or a
    variants.py that nothing public also holds (templates' other cells, public tests, release
    notebooks, the engine's modules in ``package_dir``, and the published solutions of the
    assignments the course at ``root`` has published, but not those of any other) -> where it
    is from."""
    public, secret = set(), dict(solution_lines(root / "reference"))
    for path in root.glob("assignments/*/*.py"):
        if path.name in ("test_hidden.py", "variants.py"):
            continue
        if path.name.startswith("test_"):
            public |= _lines(path.name, path.read_text())
            continue
        for cell in jupytext.read(path).cells:  # a notebook template
            lines = _lines(path.name, cell.source)
            if "written" in cell.metadata:
                secret.update({line: f"{path.relative_to(root)} (model answer)" for line in lines})
            else:
                public |= lines
    engine = [p for p in package_dir.rglob("*.py") if p.parent != package_dir / "student" / "published"]
    for path in [*root.glob("release/*/*"), *engine, *published_files(Layout(root))]:
        public |= _lines(path.name, path.read_text())
    for path in [*root.glob("assignments/*/test_hidden.py"), *root.glob("assignments/*/variants.py")]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            secret.setdefault(line.strip(), f"{path.relative_to(root)}:{number}")
    return {line: where for line, where in secret.items() if len(line) >= 6 and line not in public}


def test_no_file_of_any_kit_or_its_wheel_holds_a_solution_or_hidden_test_line(kits, wheel):
    secret = secret_lines()
    assert len(secret) > 1000, "the scan found almost nothing secret to look for"
    files = {f"{kit.name}/{p.relative_to(kit)}": p.read_bytes() for kit in kits.values()
             for p in kit.rglob("*") if p.is_file()}
    with zipfile.ZipFile(wheel) as archive:
        files |= {f"{wheel.name}/{name}": archive.read(name) for name in archive.namelist()}
    for name, data in files.items():
        if name.endswith(".safetensors"):
            continue
        leaked = sorted(_lines(name, data.decode()) & set(secret))
        assert not leaked, f"{name} holds secret lines, e.g. {leaked[0]!r} (from {secret[leaked[0]]})"


def test_a_kit_holds_only_release_files_and_the_student_safe_engine(kits):
    kit = kits[A]
    engine = {f"autograder/{p.relative_to(PACKAGE_DIR)}" for p in engine_files()}
    for path in (p for p in kit.rglob("*") if p.is_file()):
        name = path.relative_to(kit).as_posix()
        if name.startswith(f"{A}/") or name.startswith(f"autograder/public/release/{A}/"):
            assert path.read_bytes() == (ROOT / "release" / A / path.name).read_bytes(), name
        elif name.startswith("autograder/public/assignments/"):
            assert path.read_bytes() == (ROOT / "release" / A / "test_public.py").read_bytes(), name
        elif name.startswith("autograder/") and name != "autograder/public/course.yml":
            assert name in engine and path.read_bytes() == (PACKAGE_DIR.parent / name).read_bytes(), name
        else:
            assert name in {"pyproject.toml", "README.md", "autograder/public/course.yml",
                            ".github/workflows/classroom.yml"}, name
    assert not {"building", "publishing/exports.py", "cli.py", "grading/batch.py"} & {
        str(p.relative_to(PACKAGE_DIR)) for p in engine_files()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_kits_course_yml_holds_no_threshold_the_notebook_does_not_state(kits, assignment):
    config = yaml.safe_load((kits[assignment] / "autograder" / "public" / "course.yml").read_text())
    [entry] = config["assignments"]
    assert set(config) == {"course", "assignments"}  # no late policy, data set paths, extensions
    assert set(entry) == {"id", "title", "notebooks", "files", "due", "limits", "thresholds"}
    template = "".join(COURSE.layout.template(assignment, n).read_text() for n in entry["notebooks"])
    stated = set(re.findall(r"\{\{\s*thresholds\.(\w+)\s*\}\}", template))
    assert set(entry["thresholds"]) <= stated


def test_the_kit_is_a_package_named_and_versioned_by_course_yml(kits, wheel):
    project = tomllib.loads((kits[A] / "pyproject.toml").read_text())["project"]
    assert (project["name"], project["version"]) == (COURSE.course.id, COURSE.course.version)
    assert project["scripts"] == {"course": "autograder.selfcheck:run"}
    needed = {re.split(r"[<>=]", r)[0] for r in project["dependencies"]}
    assert {"numpy", "torch", "matplotlib", "jupyterlab", "pytest"} <= needed
    assert not {"nbgrader", "nbclient", "distributed"} & needed  # the instructor's tools stay home
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "autograder/public/course.yml" in names and "autograder/student/weights/digitnet_0_to_4.safetensors" in names
    assert not [n for n in names if n.startswith("reference/") or n.endswith(("test_hidden.py", "variants.py"))]


def _closure(requirements: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``requirements`` need (extras included), with everything
    they need in turn."""
    found, seen, pending = {}, set(), [(Requirement(r), "") for r in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        for wanted in ["", *requirement.extras]:
            if (name, wanted) not in seen:
                seen.add((name, wanted))
                found.setdefault(name, importlib.metadata.distribution(requirement.name))
                pending += [(Requirement(r), wanted) for r in found[name].requires or []]
    return list(found.values())


def _seed(venv: Path, requirements: list[str]) -> int:
    """Put into the fresh ``venv`` the files of exactly the distributions ``requirements``
    need, as this environment has them installed (hard links where the filesystem allows):
    what `pip install` would put there from the package index, without the download. A
    module the kit imports without declaring it is then missing, as it would be for a student.
    Console scripts are left out (their first line names this environment's Python)."""
    source = Path(sys.prefix).resolve()
    count = 0
    for distribution in _closure(requirements):
        for file in distribution.files or []:
            path = Path(distribution.locate_file(file)).resolve()
            if not path.is_file() or not path.is_relative_to(source) or path.parts[len(source.parts)] == "bin":
                continue
            target = venv / path.relative_to(source)  # the same Python: the same lib/python3.X/
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except FileExistsError:
                continue
            except OSError:
                shutil.copy2(path, target)
            count += 1
    return count


@pytest.mark.slow
def test_the_kit_installed_alone_checks_notebooks_with_no_course_present(kits, built, tmp_path):
    """A fresh virtual environment outside the repository holding only the kit's declared
    requirements, then the kit installed with pip (no index: every requirement must be met);
    no course checkout, reference or hidden test is importable or on any path."""
    venv, work = tmp_path / "venv", tmp_path / "work"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    requirements = tomllib.loads((kits[A] / "pyproject.toml").read_text())["project"]["dependencies"]
    assert _seed(venv, [*requirements, "pip", "setuptools"]) > 1000  # pip and what builds the kit
    path = [p for p in os.environ["PATH"].split(":") if not Path(p).resolve().is_relative_to(Path(sys.prefix).resolve())]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=":".join([str(venv / "bin"), *path]), OMP_NUM_THREADS="1")
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation",
                              str(kits[A])], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr
    shutil.copytree(kits[A] / A, work)
    where = subprocess.run([python, "-c", "import autograder, importlib.util as u; print(autograder.__file__); "
                            "print([m for m in ('reference', 'nbgrader', 'autograder.building') if u.find_spec(m)])"],
                           capture_output=True, text=True, env=env, cwd=work, check=True).stdout.splitlines()
    assert Path(where[0]).is_relative_to(venv) and where[1] == "[]", where

    def check(notebook: str):
        return subprocess.run(["course", "check", notebook], capture_output=True, text=True, env=env,
                              cwd=work, timeout=600)

    untouched = check("regression.ipynb")
    assert untouched.returncode == 1, untouched.stdout + untouched.stderr
    rows = [line for line in untouched.stdout.splitlines() if line.startswith("test_")]
    assert rows and all(" 0/" in row and "is not implemented yet" in row for row in rows), untouched.stdout
    total = int(re.search(r"total: 0/(\d+)", untouched.stdout).group(1))

    shutil.copy(built / "source" / A / "regression.ipynb", work / "solved.ipynb")
    solved = check("solved.ipynb")
    assert solved.returncode == 0 and f"total: {total}/{total}" in solved.stdout, solved.stdout + solved.stderr

    executed = subprocess.run([python, "-m", "nbconvert", "--to", "notebook", "--execute", "--output",
                               "executed.ipynb", "solved.ipynb"], capture_output=True, text=True,
                              env=env, cwd=work, timeout=900)
    assert executed.returncode == 0, executed.stderr[-3000:]
    [shown] = json.loads((work / "executed.ipynb").read_text())["cells"][-1]["outputs"]
    html = "".join(shown["data"]["text/html"])
    assert f"Public tests: {total}/{total} points" in html and "from the cells this kernel ran" in html
