"""Example submissions made from the instructor's notebook: correct, untouched, buggy, broken.

They are generated, never committed, so no solution text is stored twice. ``course demo``
grades them; the project's tests use the broken ones to check that bad input costs only
the items it affects.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder.grading.program import defined_names, is_answer
from autograder.building.variants import Replace, Variant, load_variants, write_reference_files

BROKEN_BODIES = {
    "syntax_error": "def {name}(*args, **kwargs)\n    return None\n",
    "infinite_loop": "def {name}(*args, **kwargs):\n    while True:\n        pass\n",
    "exits_early": "def {name}(*args, **kwargs):\n    import os\n    os._exit(0)\n",
    "memory_bomb": "def {name}(*args, **kwargs):\n    hog = []\n    while True:\n        hog.append(bytearray(1 << 26))\n",
}
BROKEN_KINDS = ["invalid_json", "deleted_cell", *BROKEN_BODIES]


def last_answer_function(notebook: nbformat.NotebookNode) -> str:
    """The last function or class the answer cells define: what the broken examples break."""
    names = [n for cell in notebook.cells if is_answer(cell) for n in defined_names(cell.source)]
    if not names:
        raise ValueError("the notebook has no answer cell that defines a function")
    return names[-1]


def broken(notebook: nbformat.NotebookNode, kind: str) -> str:
    """Notebook text with one function broken in the way ``kind`` names."""
    if kind == "invalid_json":
        return nbformat.writes(notebook)[:-200]
    name = last_answer_function(notebook)
    if kind == "deleted_cell":
        notebook = copy.deepcopy(notebook)
        notebook.cells = [c for c in notebook.cells
                          if not (is_answer(c) and name in defined_names(c.source))]
        return nbformat.writes(notebook)
    source = BROKEN_BODIES[kind].format(name=name)
    if kind == "syntax_error":  # ast cannot locate a function in broken code: edit as text
        notebook = copy.deepcopy(notebook)
        for cell in notebook.cells:
            if is_answer(cell) and name in defined_names(cell.source):
                cell.source = source + "\n" + cell.source
        return nbformat.writes(notebook)
    return nbformat.writes(Variant(kind, kind, Replace(name, source)).apply(notebook))


def variant_notebooks(source_notebook: Path, release_notebook: Path,
                      assignment_dir: Path) -> dict[str, nbformat.NotebookNode]:
    """Example name -> notebook: "reference" (the instructor's), "untouched" (the release),
    and "bug_<name>" / "alt_<name>" for each variant in the assignment's variants.py."""
    reference = nbformat.read(source_notebook, as_version=4)
    notebooks = {"reference": reference,
                 "untouched": nbformat.read(release_notebook, as_version=4)}
    bugs, alternatives = load_variants(assignment_dir)
    notebooks.update({f"bug_{v.name}": v.apply(reference) for v in bugs})
    notebooks.update({f"alt_{v.name}": v.apply(reference) for v in alternatives})
    return notebooks


def write_examples(source_notebook: Path, release_notebook: Path, assignment_dir: Path,
                   outdir: Path) -> list[Path]:
    """One folder per example student under ``outdir``, each holding the notebook."""
    notebooks = variant_notebooks(source_notebook, release_notebook, assignment_dir)
    examples = {student: nbformat.writes(notebook) for student, notebook in notebooks.items()}
    for kind in BROKEN_KINDS:
        examples[f"broken_{kind}"] = broken(notebooks["reference"], kind)
    name = source_notebook.name
    written = []
    for student, text in examples.items():
        folder = outdir / student
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
        if student != "untouched":
            write_reference_files(assignment_dir, folder)
        written.append(folder / name)
    return written
