"""What one submission's start-up pays: the self-check's plain child process, a worker prepared
while the rubric is collected, and no torch for an assignment that never imports it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from autograder.cli import main
from autograder.course import Limits
from autograder.grading import parallel
from autograder.grading.grade import grade_submission
from autograder.grading.program import Cell, Program
from autograder.sandbox import launch, pool as pools
from autograder.sandbox.pool import WorkerPool
from autograder.selfcheck import PLAIN, check_file

from conftest import ROOT, loaded, rubric_for, source_notebooks

A = "01_regression"


def scores(result) -> list[tuple]:
    return [(t.name, t.status, t.score) for t in result.tests]


def test_a_self_check_runs_in_a_plain_child_and_says_so(built, capsys):
    notebook = source_notebooks(built, A)["regression"]
    assert main(["--course", str(ROOT), "check", str(notebook)]) == 0
    printed = capsys.readouterr()
    assert "Ran without a sandbox: your code ran in a plain child process under resource limits" in printed.out
    assert "weak isolation" not in printed.err  # the check's own statement, not the grader's warning
    plain = check_file(notebook, A, course=ROOT)
    assert plain.result.isolation == PLAIN.tier and plain.result.score == plain.result.max_score
    assert "without a sandbox" in plain._repr_html_()


def test_a_sandboxed_self_check_grades_alike_and_does_not_say_it_ran_unsandboxed(built):
    for notebook in [source_notebooks(built, A)["regression"], built / "release" / A / "regression.ipynb"]:
        plain = check_file(notebook, A, course=ROOT)
        sandboxed = check_file(notebook, A, course=ROOT, sandbox=True)
        assert sandboxed.result.isolation == launch.detect_isolation().tier
        assert "without a sandbox" not in repr(sandboxed)
        assert scores(plain.result) == scores(sandboxed.result)


def test_a_prepared_worker_is_the_one_taken_and_an_untaken_one_is_killed(tmp_path):
    pool = WorkerPool(spares=False)
    limits = Limits(time_per_test=10)
    given = tmp_path / "given.txt"
    given.write_text("data")
    try:
        pool.prepare({}, limits, PLAIN)
        prepared = next(iter(pool.early.values()))
        assert pool.take({}, limits, PLAIN) is prepared and not pool.early
        pool.prepare({"given.txt": str(given)}, limits, PLAIN)
        other = next(iter(pool.early.values()))
        fresh = pool.take({}, limits, PLAIN)  # other files: the prepared worker is not theirs
        assert fresh is not other and not other.alive and not pool.early
        pool.prepare({}, limits, PLAIN)
        untaken = next(iter(pool.early.values()))
        pool.discard()
        assert not untaken.alive
        for worker in (prepared, fresh):
            worker.kill()
    finally:
        pool.close()


POLL_PROBE = """
import gc

def polls():
    \"\"\"How long this worker polls for its next request (its reader, found among the objects).\"\"\"
    return [o.poll for o in gc.get_objects() if type(o).__name__ == "Reader"]
"""


def test_polling_for_messages_grades_alike_and_happens_only_where_the_worker_has_a_core(built, monkeypatch):
    rubric, files = rubric_for(A), source_notebooks(built, A)
    polled, unpolled = WorkerPool(spares=False), WorkerPool(spares=False, polls=False)
    program, limits, isolation = Program([Cell("probe", POLL_PROBE)]), Limits(time_per_test=10), launch.detect_isolation()
    try:
        results = [grade_submission(rubric, "s", files, pool=pool) for pool in (polled, unpolled)]
        assert scores(results[0]) == scores(results[1]) and results[0].score == results[0].max_score
        with loaded(program, limits, isolation, pool=polled) as student:
            assert student.polls() == [pools.POLL_SECONDS]
        with loaded(program, limits, isolation, pool=unpolled) as student:
            assert student.polls() == [0.0]
        monkeypatch.setattr(pools.os, "sched_getaffinity", lambda pid: {0})  # one core: no polling
        with loaded(program, limits, isolation, pool=polled) as student:
            assert student.polls() == [0.0]
    finally:
        polled.close(), unpolled.close()
    assert not parallel._process_pool().polls, "a class run's processes take every core: none may poll"


TORCH_FREE = textwrap.dedent('''
    """Grades a rubric and a notebook that never import torch, with the self-check's plain child
    and in the strongest sandbox here; prints what each run found."""
    import json, sys
    from pathlib import Path

    from autograder.grading.grade import Rubric, grade_submission
    from autograder.selfcheck import _grade

    folder = Path(sys.argv[1])
    setup = {"cell_type": "code", "source": "import numpy as np\\n",
             "metadata": {"tags": ["setup"], "nbgrader": {"grade_id": "setup", "solution": False,
                                                          "grade": False, "locked": True, "schema_version": 3}}}
    answer = {"cell_type": "code", "source": "def torch_modules():\\n    import sys\\n    return sorted("
              "m for m in sys.modules if m.split('.')[0] == 'torch')\\n",
              "metadata": {"nbgrader": {"grade_id": "answer", "solution": True, "grade": False,
                                        "locked": False, "schema_version": 3}}}
    notebook = folder / "tiny.ipynb"
    notebook.write_text(json.dumps({"cells": [setup, answer], "metadata": {}, "nbformat": 4,
                                    "nbformat_minor": 5}))
    rubric = Rubric("tiny", [folder / "test_public.py"], {"tiny": [setup, answer]})
    found = {}
    for name, grade in [("plain", lambda: _grade(rubric, folder, {"tiny": notebook})),
                        ("sandboxed", lambda: grade_submission(rubric, "tiny", {"tiny": notebook}))]:
        result = grade()
        found[name] = {"tier": result.isolation, "tests": [(t.status, t.output) for t in result.tests]}
    found["grader"] = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
    print(json.dumps(found))
''')

TORCH_FREE_TEST = textwrap.dedent('''
    import numpy as np
    import pytest


    @pytest.mark.points(1)
    def test_the_worker_never_imported_torch(student):
        assert student.torch_modules() == [], f"the worker imported {student.torch_modules()[:5]}"
''')


def test_a_torch_free_assignment_never_imports_torch_in_grader_or_worker(tmp_path):
    (tmp_path / "test_public.py").write_text(TORCH_FREE_TEST)
    (tmp_path / "grade_tiny.py").write_text(TORCH_FREE)
    run = subprocess.run([sys.executable, str(tmp_path / "grade_tiny.py"), str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["plain"]["tier"] == "limits"
    assert found["sandboxed"]["tier"] == launch.detect_isolation().tier
    for name in ("plain", "sandboxed"):  # the sandboxed worker comes from a zygote where the tier forks
        assert found[name]["tests"] == [["passed", ""]], found[name]
    assert found["grader"] == []


@pytest.mark.skipif(not launch.can_fork_workers(launch.detect_isolation(), "cpu"),
                    reason="workers are never forked here")
def test_a_prepared_zygote_is_started_before_the_first_call(built):
    """The zygote starts when the submission is known, not when the first test calls it."""
    from autograder.grading.extract import build_program
    from autograder.grading.proxy import Controls

    from conftest import rubric_for

    rubric = rubric_for(A)
    program = build_program(rubric.instructor, source_notebooks(built, A))
    pool = WorkerPool(spares=False)
    try:
        controls = Controls(program, rubric.limits, launch.detect_isolation(), pool=pool)
        assert len(pool.zygotes) == 1 and next(iter(pool.zygotes.values())).alive
        controls.close()
    finally:
        pool.close()


def test_grading_processes_warm_torch_only_for_a_rubric_that_imports_it(tmp_path):
    from autograder.grading.grade import Rubric
    from autograder.grading.parallel import warm_modules

    from conftest import rubric_for

    assert "torch" in warm_modules(rubric_for(A))  # its tests import torch
    (tmp_path / "test_public.py").write_text(TORCH_FREE_TEST)
    setup = {"cell_type": "code", "metadata": {"tags": ["setup"]}, "source": ["import numpy as np\n"]}
    assert "torch" not in warm_modules(Rubric("tiny", [tmp_path / "test_public.py"], {"tiny": [setup]}))
    with_torch = {**setup, "source": ["import numpy as np\n", "from torch import nn\n"]}
    assert "torch" in warm_modules(Rubric("tiny", [tmp_path / "test_public.py"], {"tiny": [with_torch]}))
