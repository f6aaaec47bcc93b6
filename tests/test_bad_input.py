"""Bad input gets a clear message, costs only the items it affects, and never stops a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from autograder.building.examples import broken
from autograder.grading.batch import grade_class
from autograder.grading.locate import LayoutError, locate_submissions
from autograder.grading.program import is_answer
from autograder.building.variants import Replace, Variant

from conftest import failed, grade, rubric_for, rubric_tests, source_notebooks

A = "01_regression"
# the tests that call what the answer cell 'torch' defines
TORCH_TESTS = {name for name, (_, source) in rubric_tests(A).items()
               if "student.LinearModel" in source or "student.train_gd" in source}
TORCH_POINTS = sum(rubric_tests(A)[name][0] for name in TORCH_TESTS)


@pytest.fixture(scope="module")
def reference(built):
    return nbformat.read(source_notebooks(built, A)["regression"], as_version=4)


def write(tmp_path, text: str, name="regression.ipynb"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_invalid_json_fails_every_test_with_the_parse_error(reference, tmp_path):
    result = grade(A, write(tmp_path, broken(reference, "invalid_json")))
    assert result.score == 0 and result.tests
    assert all("not valid notebook JSON (line" in t.output for t in result.tests)
    assert "not valid notebook JSON" in result.problems["submission"]


@pytest.mark.parametrize(("kind", "reason"), [
    ("deleted_cell", "answer cell 'torch' is missing from regression.ipynb"),
    ("syntax_error", "SyntaxError"),
    # one call runs the whole limit; the function is not called again
    ("infinite_loop", ("did not finish within the time limit (8 s", "was not called: it ran past the 8 s limit")),
    ("exits_early", "exit code 0: does the code call sys.exit() or os._exit()?"),
    ("memory_bomb", "MemoryError"),
])
def test_a_broken_function_costs_only_its_tests(reference, tmp_path, kind, reason):
    result = grade(A, write(tmp_path, broken(reference, kind)), time_per_test=8)
    assert set(failed(result)) == TORCH_TESTS, failed(result)
    for test in TORCH_TESTS:
        assert any(r in failed(result)[test] for r in ((reason,) if isinstance(reason, str) else reason))
    assert result.score == result.max_score - TORCH_POINTS


def test_syntax_error_names_cell_and_line(reference, tmp_path):
    result = grade(A, write(tmp_path, broken(reference, "syntax_error")))
    assert "cell 'torch', line 1" in result.problems["torch"]


def _answer_source(reference) -> str:
    return "\n\n".join(c.source for c in reference.cells if is_answer(c))


def test_plain_python_module_is_accepted(reference, tmp_path):
    module = "import numpy as np\nimport torch\nfrom torch import nn\n\n" + _answer_source(reference)
    result = grade(A, write(tmp_path, module, "regression.py"))
    assert result.score == result.max_score, failed(result)


def test_jupytext_percent_file_is_read_as_a_notebook(reference, tmp_path):
    import jupytext

    result = grade(A, write(tmp_path, jupytext.writes(reference, fmt="py:percent"), "regression.py"))
    assert result.score == result.max_score, failed(result)


def test_module_missing_a_function_names_it(reference, tmp_path):
    module = "import numpy as np\n" + _answer_source(reference).replace("def mse_loss(", "def mse(")
    result = grade(A, write(tmp_path, module, "regression.py"))
    assert "`mse_loss` is not defined" in failed(result)["test_mse_matches_torch"]


def test_duplicated_answer_cell_is_named(reference, tmp_path):
    nb = nbformat.from_dict(json.loads(nbformat.writes(reference)))
    copy = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "mse")
    nb.cells.append(nbformat.from_dict(json.loads(json.dumps(copy))))
    nb.cells[-1].id = "mse-copy"
    result = grade(A, write(tmp_path, nbformat.writes(nb)))
    assert "answer cell 'mse' appears 2 times" in result.problems["mse"]
    assert "appears 2 times" in failed(result)["test_mse_matches_torch"]
    assert "test_sigmoid_is_stable_for_large_inputs" not in failed(result)


def test_renamed_function_in_its_cell_is_reported_as_renamed(reference, tmp_path):
    variant = Variant("renamed", "", Replace("mse_loss", "def mean_squared_error(y_pred, y):\n    return 0.0, y_pred\n"))
    result = grade(A, write(tmp_path, nbformat.writes(variant.apply(reference))))
    assert "cell 'mse' ran but did not define it (renamed?)" in failed(result)["test_mse_matches_torch"]


def test_wrong_return_type_is_explained(reference, tmp_path):
    variant = Variant("strings", "", Replace("mse_loss", "def mse_loss(y_pred, y):\n    return 'small', None\n"))
    result = grade(A, write(tmp_path, nbformat.writes(variant.apply(reference))))
    assert "returned str, not an array or a number" in failed(result)["test_mse_matches_torch"]


def test_wrong_signature_is_explained(reference, tmp_path):
    variant = Variant("signature", "", Replace("sigmoid", "def sigmoid():\n    return 0.5\n"))
    result = grade(A, write(tmp_path, nbformat.writes(variant.apply(reference))))
    assert "`sigmoid` raised TypeError" in failed(result)["test_sigmoid_is_stable_for_large_inputs"]


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "is empty"),
    (b"\xff\xfe\x00garbage\x80", "is not UTF-8 text"),
    (b'{"cells": 3}', "not a Jupyter notebook"),
    (b'{"nbformat": 2, "cells": []}', "notebook format 2"),
])
def test_unusable_file_scores_zero_with_its_reason(tmp_path, content, reason):
    path = tmp_path / "regression.ipynb"
    path.write_bytes(content)
    result = grade(A, path)
    assert result.score == 0 and reason in result.problems["submission"]


def test_folder_and_symlink_are_refused(tmp_path):
    (tmp_path / "dir.ipynb").mkdir()
    (tmp_path / "link.ipynb").symlink_to("/etc/passwd")
    assert "is a folder" in grade(A, tmp_path / "dir.ipynb").problems["submission"]
    assert "symbolic link" in grade(A, tmp_path / "link.ipynb").problems["submission"]


def test_a_class_run_goes_on_past_every_broken_submission(reference, tmp_path):
    submissions = tmp_path / "class"
    for kind in ["invalid_json", "exits_early", "syntax_error"]:
        (submissions / kind).mkdir(parents=True)
        write(submissions / kind, broken(reference, kind))
    (submissions / "good").mkdir()
    write(submissions / "good", nbformat.writes(reference))
    (submissions / "empty").mkdir()
    results = grade_class(rubric_for(A, 20), [submissions], tmp_path / "out")
    scores = {r.student: r.score for r in results}
    assert scores["good"] == results[0].max_score and scores["invalid_json"] == 0
    assert 0 < scores["exits_early"] < scores["good"]
    assert "regression.ipynb is missing" in next(r for r in results if r.student == "empty").problems["submission"]
    rows = (tmp_path / "out" / "grades.csv").read_text().splitlines()
    assert len(rows) == 1 + len(results) == 6
    assert all((tmp_path / "out" / r.student / "results.json").is_file() for r in results)


def test_submissions_are_located_by_file_and_folder(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "regression.ipynb").write_text("{}")
    (tmp_path / "bob.ipynb").write_text("{}")
    found = locate_submissions(["regression"], [tmp_path])
    assert found.students == {"alice": {"regression": tmp_path / "alice" / "regression.ipynb"},
                              "bob": {"regression": tmp_path / "bob.ipynb"}}
    assert not found.refused
    assert list(locate_submissions(["regression"], [tmp_path / "alice"]).students) == ["alice"]


def test_a_folder_given_as_dot_is_named_after_itself(tmp_path, monkeypatch):
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "regression.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path / "carol")
    assert list(locate_submissions(["regression"], [Path(".")]).students) == ["carol"]


def test_a_class_folder_with_a_stray_notebook_of_its_own_is_a_clear_error(tmp_path):
    for student in ("alice", "bob"):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "regression.ipynb").write_text("{}")
    (tmp_path / "class" / "regression.py").write_text("def add_bias(X):\n    return X\n")
    with pytest.raises(LayoutError, match=r"holds a submission of its own \(regression.py\) and "
                                          r"folders of other submissions \(alice, bob\)"):
        locate_submissions(["regression"], [tmp_path / "class"])


def test_names_that_clash_cost_only_the_clashing_submissions(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "regression.ipynb").write_text("{}")
    for name in ["alice.py", "bob.ipynb", "grades.csv.ipynb", "results.sqlite.ipynb",
                 "results.sqlite-wal.ipynb", "Feedback.ipynb"]:
        (tmp_path / name).write_text("{}")
    found = locate_submissions(["regression"], [tmp_path])
    assert list(found.students) == ["bob"]
    assert "2 submissions are named 'alice'" in found.refused["alice"]
    assert {"grades.csv", "results.sqlite", "results.sqlite-wal", "Feedback"} <= set(found.refused)
    assert "like one of the run's own files" in found.refused["grades.csv"]


def test_an_undecodable_name_becomes_valid_text(tmp_path):
    folder = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(folder)
    with open(folder + b"/regression.ipynb", "w") as handle:
        handle.write("{}")
    assert list(locate_submissions(["regression"], [tmp_path]).students) == ["caf\ufffd"]


def test_a_clash_and_a_reserved_name_never_stop_the_run(reference, tmp_path):
    submissions = tmp_path / "class"
    (submissions / "alice").mkdir(parents=True)
    honest = nbformat.writes(reference)
    for path in [submissions / "alice" / "regression.ipynb", submissions / "alice.ipynb",
                 submissions / "grades.csv.ipynb", submissions / "results.sqlite.ipynb",
                 submissions / "zed.ipynb"]:
        path.write_text(honest)
    results = {r.student: r for r in grade_class(rubric_for(A), [submissions], tmp_path / "out")}
    assert results["zed"].score == results["zed"].max_score > 0
    assert {s: r.score for s, r in results.items() if s != "zed"} == {
        "alice": 0, "grades.csv": 0, "results.sqlite": 0}
    rows = (tmp_path / "out" / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("student,") and len(rows) == 5
    assert (tmp_path / "out" / "results.sqlite").is_file() and (tmp_path / "out" / "zed" / "results.json").is_file()


def test_moved_answer_cell_is_still_found(reference, tmp_path):
    nb = nbformat.reads(nbformat.writes(reference), as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "mse")
    nb.cells.append(nb.cells.pop(index))
    result = grade(A, write(tmp_path, nbformat.writes(nb)))
    assert result.score == result.max_score, failed(result)


def test_cells_without_metadata_are_ignored_not_fatal(reference, tmp_path):
    nb = json.loads(nbformat.writes(reference))
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") != "mse":
            cell["metadata"] = {}
    result = grade(A, write(tmp_path, json.dumps(nb)))
    assert set(failed(result)) and "test_mse_matches_torch" not in failed(result)
    assert "answer cell 'linear_fit' is missing" in result.problems["linear_fit"]


def test_a_200_megabyte_notebook_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "regression.ipynb"
    with open(path, "wb") as handle:
        handle.truncate(200 << 20)
    assert "over the 20 MB limit" in grade(A, path).problems["submission"]


def test_python_module_with_a_syntax_error_costs_only_its_functions(reference, tmp_path):
    module = "import numpy as np\ndef add_bias(X)\n    return X\n"
    result = grade(A, write(tmp_path, module, "regression.py"))
    assert result.score == 0
    assert "SyntaxError" in result.problems["regression.py"]
    assert "because cell 'regression.py' failed: SyntaxError" in failed(result)["test_add_bias_prepends_ones"]


def test_import_of_a_missing_package_is_named(reference, tmp_path):
    variant = Variant("import", "", Replace("mse_loss", "import not_a_real_package\ndef mse_loss(y_pred, y):\n    return 0.0, y\n"))
    result = grade(A, write(tmp_path, nbformat.writes(variant.apply(reference))))
    assert "No module named 'not_a_real_package'" in result.problems["mse"]
    assert "test_sigmoid_is_stable_for_large_inputs" not in failed(result)


def test_class_where_a_function_was_expected(reference, tmp_path):
    variant = Variant("class", "", Replace("sigmoid", "class sigmoid:\n    def __init__(self, z):\n        self.z = z\n"))
    result = grade(A, write(tmp_path, nbformat.writes(variant.apply(reference))))
    assert "returned <submission sigmoid object>" in failed(result)["test_sigmoid_is_stable_for_large_inputs"] or \
        "not an array" in failed(result)["test_sigmoid_is_stable_for_large_inputs"]
