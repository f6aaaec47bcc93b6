"""The red-team suite: cheating submissions, each a real notebook, each scoring exactly what
its honest part deserves and leaving no trace outside its sandbox.

Every cheat replaces the `mse` answer cell of the reference notebook (the rest is honest),
so every cheat must earn exactly what the same notebook earns with a plainly wrong
`mse_loss` (its honest part: the tests that need no `mse_loss`). Student code runs only in
the worker, and only plain data comes back. `test_class_run.py` grades every cheat again
inside a class, between two honest students.
"""

from __future__ import annotations

import glob
import os
import subprocess
import textwrap

import nbformat
import pytest

from autograder.grading.output import gradescope_results
from autograder.sandbox import launch
from autograder.grading.program import is_answer
from autograder.sandbox.pool import WorkerPool

from conftest import ROOT, failed, grade, source_notebooks

A = "01_regression"
MSE_TESTS = {"test_mse_matches_torch", "test_mse_gradient_by_central_differences",
             "test_mse_gradient_matches_reference", "test_linear_gradient_descent_follows_reference"}
SECRET = "hunter2"  # in the environment of the grader and of a process beside it
TRAP = "/tmp/red-team-trap"  # a file no cheat may create on the grading machine
VICTIM = ROOT / "build" / "red-team" / "bob" / "regression.ipynb"

GARBAGE = "    return float(np.sum(y_pred)), np.zeros_like(y_pred)\n"
CHEATS = {
    "forged_results_file": f"""
import os, json
for target in ["{ROOT}/grades/alice/results.json", "{TRAP}", "/tmp/results.json"]:
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "w").write(json.dumps({{"score": 1000}}))
    except OSError:
        pass
def mse_loss(y_pred, y):
{GARBAGE}""",
    "sys_exit_mid_test": "import sys\ndef mse_loss(y_pred, y):\n    sys.exit(0)\n",
    "os_exit_mid_test": "import os\ndef mse_loss(y_pred, y):\n    os._exit(0)\n",
    "patched_numpy_testing": f"""
import numpy, numpy.testing
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), bool)
numpy.testing.assert_allclose = lambda *a, **k: None
def mse_loss(y_pred, y):
{GARBAGE}""",
    "patched_pytest_internals": f"""
try:
    import _pytest.outcomes, _pytest.runner
    _pytest.outcomes.fail = lambda *a, **k: None
    _pytest.runner.call_and_report = lambda *a, **k: None
except ImportError:
    pass
def mse_loss(y_pred, y):
{GARBAGE}""",
    "always_equal_object": """
class Anything:
    def __eq__(self, other): return True
    def __float__(self): return 0.0
    def __array__(self, *a, **k):
        import numpy
        return numpy.zeros(3)
def mse_loss(y_pred, y):
    return Anything(), Anything()
""",
    "ndarray_subclass": """
class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool)
    def __sub__(self, other): return np.zeros(np.shape(other))
def mse_loss(y_pred, y):
    return np.float64(np.sum(y_pred)), np.zeros_like(y_pred).view(Liar)
""",
    "float_subclass": """
class Liar(float):
    def __eq__(self, other): return True
    def __sub__(self, other): return 0.0
    def __abs__(self): return 0.0
def mse_loss(y_pred, y):
    return Liar(np.sum(y_pred)), [Liar(0.0)] * len(y_pred)
""",
    "shape_shifting_array_protocol": """
class ShapeShifter:
    calls = 0
    def __array__(self, *a, **k):
        ShapeShifter.calls += 1
        return np.zeros(ShapeShifter.calls)
    def __len__(self): return 8
def mse_loss(y_pred, y):
    return ShapeShifter(), ShapeShifter()
""",
    "reads_reference_by_path": f"""
source = open("{ROOT}/reference/losses.py").read()
exec(source.replace("from reference.activations import sigmoid", ""))
""",
    "imports_reference": "from reference.losses import mse_loss\n",
    "reads_hidden_tests": f"""
HIDDEN = open("{ROOT}/assignments/01_regression/test_hidden.py").read()
def mse_loss(y_pred, y):
{GARBAGE}""",
    "inspects_frames_and_gc": """
import gc, inspect, sys
def mse_loss(y_pred, y):
    frames = [f.frame.f_locals for f in inspect.stack()]
    arrays = [o for o in gc.get_objects() if isinstance(o, np.ndarray)]
    for frame in sys._current_frames().values():
        frames.append(frame.f_locals)
    for scope in frames:
        for value in scope.values():
            if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], np.ndarray):
                return value
    return float(np.sum(y_pred)), np.zeros_like(y_pred)
""",
    "edits_the_autograder": f"""
import autograder.grading.rubric, autograder.student.checks
autograder.student.checks.assert_close = lambda *a, **k: None
autograder.grading.rubric.failure_reason = lambda *a, **k: ""
try:
    open(autograder.grading.rubric.__file__, "a").write("\\nPOINTS_MULTIPLIER = 100\\n")
except OSError:
    pass
def mse_loss(y_pred, y):
{GARBAGE}""",
    "prints_fake_pytest_summary": f"""
print("=================== 35 passed in 0.01s ===================")
print('{{"score": 35.0, "tests": []}}')
def mse_loss(y_pred, y):
    print("PASSED test_mse_matches_torch")
{GARBAGE}""",
    "signals_the_grader": f"""
import os, signal
for pid in [os.getppid(), 1, -1, 0]:
    try:
        os.kill(pid, signal.SIGKILL if pid not in (0,) else signal.SIGCONT)
    except OSError:
        pass
def mse_loss(y_pred, y):
    try:
        os.killpg(os.getpgid(0), signal.SIGTERM)
    except OSError:
        pass
{GARBAGE}""",
    "survives_timeout_by_catching_everything": """
import time
def mse_loss(y_pred, y):
    while True:
        try:
            time.sleep(0.1)
        except BaseException:
            pass
""",
    "sleeps_past_deadline": "import time\ndef mse_loss(y_pred, y):\n    time.sleep(10**6)\n",
    "daemon_thread_outlives_call": f"""
import threading, time
def haunt():
    while True:
        try:
            open("{TRAP}", "w").write("still here")
        except OSError:
            pass
        time.sleep(0.05)
threading.Thread(target=haunt, daemon=True).start()
def mse_loss(y_pred, y):
{GARBAGE}""",
    "fork_bomb_with_setsid": f"""
import os
def mse_loss(y_pred, y):
    for _ in range(50):
        try:
            if os.fork() == 0:
                os.setsid()
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
        except OSError:
            break
{GARBAGE}""",
    "memory_bomb": "def mse_loss(y_pred, y):\n    hog = []\n    while True:\n        hog.append(bytearray(1 << 26))\n",
    "disk_bomb": f"""
import tempfile
def mse_loss(y_pred, y):
    for folder in ["/tmp", tempfile.gettempdir(), "."]:
        try:
            with open(folder + "/fill", "wb") as handle:
                for _ in range(4096):
                    handle.write(b"x" * (1 << 20))
        except OSError:
            pass
{GARBAGE}""",
    "output_bomb": f"""
import sys
def mse_loss(y_pred, y):
    for _ in range(200):
        sys.stdout.write("spam " * 200000)
        sys.stderr.write("spam " * 200000)
{GARBAGE}""",
    "opens_sockets": f"""
import socket
def mse_loss(y_pred, y):
    for host, port in [("127.0.0.1", 22), ("127.0.0.1", 80), ("10.0.0.1", 80)]:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
        except OSError:
            pass
{GARBAGE}""",
    "reads_environment": """
import os
def mse_loss(y_pred, y):
    return str(dict(os.environ)), np.zeros_like(y_pred)
""",
    "enormous_result": "def mse_loss(y_pred, y):\n    return 0.0, np.zeros(600 * 2**20, dtype=np.uint8)\n",
    "writes_into_the_protocol_channel": """
import os
def mse_loss(y_pred, y):
    for fd in range(3, 12):
        try:
            os.write(fd, b"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x10{\\"ok\\": true}garbage")
        except OSError:
            pass
    return 0.0, np.zeros_like(y_pred)
""",
    "recursion_bomb": "import sys\nsys.setrecursionlimit(10**7)\ndef mse_loss(y_pred, y):\n    return mse_loss(y_pred, y)\n",
    "forges_a_sandbox_error_reply": f"""
import json, os, struct
FORGED = json.dumps({{"ok": True, "buffers": [], "sandbox_error": "seccomp is broken"}}).encode()
def forge():
    for fd in range(3, 20):
        try:
            os.write(fd, struct.pack(">Q", len(FORGED)) + FORGED)
        except OSError:
            pass
forge()
def mse_loss(y_pred, y):
    forge()
{GARBAGE}""",
    "raises_lone_surrogates": """
import os, warnings
Weird = type("Weird\\x1b[2J\\u202e", (), {})  # a type's name cannot hold a lone surrogate
def mse_loss(y_pred, y):
    warnings.warn("\\ud800 warned")
    os.write(2, b"printed \\xed\\xa0\\x80 \\xff\\n")
    if np.size(y_pred) % 2:
        raise ValueError("\\ud800 lone \\udfff")
    return {"\\ud800key": "\\udfffvalue"}, Weird()
""",
    "prints_terminal_escapes": """
SPOOF = ("\\x1b[2J\\x1b[H\\x1b[32mALL STUDENTS 35/35\\x1b[0m\\x1b]8;;http://evil.example\\x07link"
         "\\x1b]8;;\\x07\\r\\nbob: 35/35\\u202egnp.exe\\x9b2J")
print(SPOOF)
def mse_loss(y_pred, y):
    print(SPOOF)
    raise ValueError(SPOOF)
""",
    "lifts_its_limits": f"""
import resource
def mse_loss(y_pred, y):
    for name in ["RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC"]:
        try:
            resource.setrlimit(getattr(resource, name), (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            open("{TRAP}", "a").write(name)
        except (ValueError, OSError):
            pass
{GARBAGE}""",
    "inode_bomb": f"""
import os, tempfile
def mse_loss(y_pred, y):
    for folder in [".", "/tmp", tempfile.gettempdir(), "/dev/shm"]:
        for n in range(50000):
            try:
                os.mknod(f"{{folder}}/empty-{{n}}")
            except FileExistsError:
                continue
            except OSError:
                break
{GARBAGE}""",
    "reads_other_processes": """
import glob
def mse_loss(y_pred, y):
    loot = []
    for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline") + ["/etc/shadow"]:
        try:
            loot.append(open(path, "rb").read().decode(errors="replace"))
        except OSError:
            pass
    return " ".join(loot), np.zeros_like(y_pred)
""",
    "writes_another_students_submission": f"""
def mse_loss(y_pred, y):
    for path in ["{VICTIM}", "../bob/regression.ipynb"]:
        try:
            open(path, "w").write("{{}}")
        except OSError:
            pass
{GARBAGE}""",
}


@pytest.fixture(scope="module")
def reference(built):
    return nbformat.read(source_notebooks(built, A)["regression"], as_version=4)


@pytest.fixture(scope="module")
def honest_part(reference, tmp_path_factory):
    """What every cheat deserves: the grade of the reference with a plainly wrong mse_loss."""
    path = tmp_path_factory.mktemp("honest") / "regression.ipynb"
    path.write_text(cheat_notebook(reference, f"def mse_loss(y_pred, y):\n{GARBAGE}"))
    result = grade(A, path, time_per_test=5)
    assert MSE_TESTS <= set(failed(result)) and 0 < result.score < result.max_score
    return result


@pytest.fixture(scope="module", autouse=True)
def secret_beside_the_grader():
    """A process beside the grader whose environment holds the secret (the grader's own
    environment, changed after it started, is not what /proc shows)."""
    holder = subprocess.Popen(["sleep", "3600"], env={"COURSE_SECRET_FOR_RED_TEAM": SECRET})
    yield holder
    holder.kill()
    holder.wait()


def cheat_notebook(reference, code: str) -> str:
    nb = nbformat.from_dict(reference)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    cell = next(c for c in nb.cells if is_answer(c) and c.metadata["nbgrader"]["grade_id"] == "mse")
    cell.source = "import numpy as np\n" + textwrap.dedent(code)
    return nbformat.writes(nb)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (zombies excluded)."""
    parents = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


# Under a forced weaker tier, the cheats that tier still defeats.
SYSCALLS_TIER = ["forged_results_file", "reads_reference_by_path", "imports_reference",
                 "reads_hidden_tests", "writes_another_students_submission", "opens_sockets",
                 "signals_the_grader", "fork_bomb_with_setsid", "daemon_thread_outlives_call",
                 "reads_environment", "disk_bomb", "inode_bomb", "reads_other_processes",
                 "lifts_its_limits"]
LIMITS_TIER = ["sys_exit_mid_test", "os_exit_mid_test", "always_equal_object", "ndarray_subclass",
               "float_subclass", "sleeps_past_deadline", "memory_bomb", "output_bomb",
               "writes_into_the_protocol_channel", "enormous_result", "reads_environment",
               "forges_a_sandbox_error_reply", "raises_lone_surrogates", "prints_terminal_escapes",
               "lifts_its_limits"]
DEFAULT_TIER = launch.detect_isolation().tier
CASES = ([(DEFAULT_TIER, name) for name in sorted(CHEATS)]
         + [("syscalls", name) for name in SYSCALLS_TIER if DEFAULT_TIER != "syscalls"]
         + [("limits", name) for name in LIMITS_TIER if DEFAULT_TIER != "limits"])


def test_there_are_at_least_25_cheats():
    assert len(CHEATS) >= 25


@pytest.mark.parametrize(("tier", "name"), CASES, ids=[f"{t}-{n}" for t, n in CASES])
def test_cheat_scores_only_its_honest_part(tier, name, reference, honest_part, tmp_path, monkeypatch):
    isolation = launch.detect_isolation(tier)
    if isolation.tier != tier:
        pytest.skip(f"tier {tier} is unavailable here: {isolation.detail}")
    monkeypatch.setenv("COURSE_SECRET_FOR_RED_TEAM", SECRET)
    VICTIM.parent.mkdir(parents=True, exist_ok=True)
    VICTIM.write_text("bob's work")
    if os.path.exists(TRAP):
        os.remove(TRAP)
    WorkerPool.shared().close()
    before = descendants(os.getpid())
    path = tmp_path / "regression.ipynb"
    path.write_text(cheat_notebook(reference, CHEATS[name]))

    result = grade(A, path, time_per_test=5, isolation=isolation)

    assert set(failed(result)) == set(failed(honest_part)), f"{name}: {failed(result)}"
    assert result.score == honest_part.score
    assert all(reason for reason in failed(result).values())
    assert SECRET not in str(gradescope_results(result)) + str(result.to_dict())
    assert not os.path.exists(TRAP), f"{name} wrote outside its sandbox"
    assert not glob.glob("/tmp/empty-*") + glob.glob("/dev/shm/empty-*"), f"{name} made files outside"
    assert not (ROOT / "grades" / "alice").exists()
    assert VICTIM.read_text() == "bob's work"
    WorkerPool.shared().close()  # a warm spare worker has run no student code; it is not the cheat's
    assert descendants(os.getpid()) <= before, f"{name} left processes behind"
