"""Which submissions a class run grades: students and their files, from the paths given; and
the submissions that cannot be graded under their name, each with the reason."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading.output import is_run_file

NOTEBOOK_SUFFIXES = (".ipynb", ".py")


class LayoutError(ValueError):
    """The paths given mix layouts, so that who is who cannot be told; the message says how
    to fix it."""


@dataclass
class Located:
    students: dict[str, dict[str, Path | None]] = field(default_factory=dict)  # name -> notebook -> file
    refused: dict[str, str] = field(default_factory=dict)  # name -> why it is not graded


def locate_submissions(notebooks: list[str], paths: list[Path]) -> Located:
    """Students and their files ({notebook name -> file}) from files and folders given on the
    command line.

    A file is one student (named after the file, or after its folder when the file carries
    the notebook's own name). A folder holding the notebooks is one student; any other
    folder holds one student per entry. A folder that holds the notebooks and also folders
    of other students' notebooks is refused as a whole (``LayoutError``). Two submissions
    with one name, and a submission named like one of the run's own output files, are not
    graded, each with the reason; the rest are.
    """
    found: dict[str, list[tuple[Path, dict[str, Path | None]]]] = {}
    for path in map(Path, paths):
        if path.is_dir() and not _notebooks_in(path, notebooks):
            for child in sorted(p for p in path.iterdir() if not p.name.startswith((".", "_"))):
                if child.is_dir() or child.suffix in NOTEBOOK_SUFFIXES:
                    name, files = _one_student(child, notebooks)
                    found.setdefault(name, []).append((child, files))
        else:
            _refuse_mixed(path, notebooks)
            name, files = _one_student(path, notebooks)
            found.setdefault(name, []).append((path, files))
    located = Located()
    for name, submissions in found.items():
        if len(submissions) > 1:
            paths_ = " and ".join(str(p) for p, _ in submissions)
            located.refused[name] = (f"{len(submissions)} submissions are named '{name}' ({paths_}): "
                                     "none of them was graded; keep one and grade again")
        elif is_run_file(name) or not name:
            located.refused[name] = (f"a submission may not be named '{name}', like one of the run's "
                                     f"own files ({submissions[0][0]}): rename it and grade again")
        else:
            located.students[name] = submissions[0][1]
    return located


def _refuse_mixed(path: Path, notebooks: list[str]) -> None:
    """Refuse a folder of one student's notebooks that also holds other students' folders."""
    if not path.is_dir():
        return
    others = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
                    and _notebooks_in(p, notebooks))
    if others:
        own = ", ".join(sorted(p.name for p in _notebooks_in(path, notebooks).values()))
        raise LayoutError(f"{path} holds a submission of its own ({own}) and folders of other "
                          f"submissions ({', '.join(others[:5])}{', ...' if len(others) > 5 else ''}): "
                          f"move {own} into a folder named after its student, or name the "
                          "folders to grade one by one")


def _notebooks_in(folder: Path, notebooks: list[str]) -> dict[str, Path]:
    found = {}
    for name in notebooks:
        for suffix in NOTEBOOK_SUFFIXES:
            candidate = folder / f"{name}{suffix}"
            if candidate.exists() or candidate.is_symlink():
                found.setdefault(name, candidate)
    return found


def _one_student(path: Path, notebooks: list[str]) -> tuple[str, dict[str, Path | None]]:
    if path.is_dir():
        found = _notebooks_in(path, notebooks)
        return _name(path), {n: found.get(n) for n in notebooks}
    name = _name(path.parent) if path.stem in notebooks else _valid(path.stem)
    if len(notebooks) == 1:
        return name, {notebooks[0]: path}
    return name, {n: (path if path.stem == n else None) for n in notebooks}


def _name(folder: Path) -> str:
    """A folder's own name, even when given as ``.`` or a relative path."""
    return _valid(Path(os.path.abspath(folder)).name)


def _valid(name: str) -> str:
    """``name`` as valid Unicode: a byte the file system's encoding cannot decode becomes U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
