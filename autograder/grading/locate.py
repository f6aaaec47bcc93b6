"""Which submissions a class run grades: students and their files, from the paths given."""

from __future__ import annotations

from pathlib import Path

NOTEBOOK_SUFFIXES = (".ipynb", ".py")


def locate_submissions(notebooks: list[str], paths: list[Path]) -> dict[str, dict[str, Path | None]]:
    """Student name -> {notebook name -> file} from files and folders given on the command line.

    A file is one student (named after the file, or after its folder when the file carries
    the notebook's own name). A folder holding the notebooks is one student; any other
    folder holds one student per entry.
    """
    students: dict[str, dict[str, Path | None]] = {}

    def add(name: str, files: dict[str, Path | None]) -> None:
        if name in students:
            raise ValueError(f"two submissions are both named '{name}'")
        students[name] = files

    for path in map(Path, paths):
        if path.is_dir() and not _notebooks_in(path, notebooks):
            children = sorted(p for p in path.iterdir() if not p.name.startswith((".", "_")))
            for child in children:
                if child.is_dir() or child.suffix in NOTEBOOK_SUFFIXES:
                    add(*_one_student(child, notebooks))
        else:
            add(*_one_student(path, notebooks))
    return students


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
        return path.name, {n: found.get(n) for n in notebooks}
    name = path.parent.name if path.stem in notebooks else path.stem
    if len(notebooks) == 1:
        return name, {notebooks[0]: path}
    return name, {n: (path if path.stem == n else None) for n in notebooks}

