"""The worker: isolation, limits, handles, restarts. Student code never runs in this process."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from autograder.sandbox import launch
from autograder.course import Limits
from autograder.grading.program import Cell, Program
from autograder.grading.proxy import Remote, fetch
from autograder.sandbox.client import StudentError
from autograder.sandbox.pool import WorkerPool

from conftest import ROOT, loaded

ISOLATION = launch.detect_isolation()
CONFINED = [tier for tier in ("namespaces", "syscalls") if launch.detect_isolation(tier).tier == tier]
confined_tiers = pytest.mark.parametrize("tier", CONFINED or [pytest.param("none", marks=pytest.mark.skip(
    reason="neither namespaces nor seccomp work on this machine"))])
namespaces = pytest.mark.skipif(ISOLATION.tier != "namespaces", reason=f"needs namespaces: {ISOLATION.detail}")

PROBES = '''
import os, socket, sys
import numpy as np

def read(path):
    with open(path) as handle:
        return handle.read()

def listdir(path):
    return sorted(os.listdir(path))

def connect(host, port):
    socket.create_connection((host, port), timeout=2).close()
    return "connected"

def can_import(name):
    __import__(name)
    return True

def environment():
    return dict(os.environ)

def identity():
    return os.getuid(), os.getpid()

class Counter:
    def __init__(self, start):
        self.count = start
    def add(self, n):
        self.count += n
        return self.count

def make_counter(start):
    return Counter(start)

def total(counter):
    return counter.count

class Sneaky(float):
    def __eq__(self, other):
        return True

def sneaky():
    return Sneaky(1.0)

class Matrix(np.ndarray):
    pass

def subclass():
    return np.arange(3.0).view(Matrix)

def hang():
    while True:
        pass

def die():
    os._exit(3)

def spawn():
    try:
        os.fork()
    except OSError as error:
        return f"refused: {error.strerror}"
    return "forked"

def signal_parent():
    try:
        os.kill(os.getppid(), 0)
    except OSError as error:
        return f"refused: {error.strerror}"
    return "signalled"

def escape():
    try:
        os.setsid()
    except OSError as error:
        return f"refused: {error.strerror}"
    return "new session"

def thread():
    import threading
    box = []
    worker = threading.Thread(target=lambda: box.append("thread ran"))
    worker.start()
    worker.join()
    return box[0]
'''


def probes(isolation):
    program = Program([Cell("setup", "import numpy as np", answer=False),
                       Cell("probes", PROBES, ["read", "connect", "Counter"])])
    return loaded(program, Limits(time_per_test=5), isolation)


@pytest.fixture
def student():
    with probes(ISOLATION) as submission:
        yield submission


@pytest.fixture
def confined(tier):
    with probes(launch.detect_isolation(tier)) as submission:
        yield submission


@confined_tiers
def test_worker_cannot_read_the_reference_or_hidden_tests(confined):
    student = confined
    for path in [ROOT / "reference" / "linear.py", ROOT / "assignments" / "01_regression" / "test_hidden.py",
                 ROOT / "course.yml"]:
        with pytest.raises(StudentError, match="FileNotFoundError|PermissionError"):
            student.read(str(path))
    with pytest.raises(StudentError, match="ModuleNotFoundError|PermissionError"):
        student.can_import("reference")
    assert student.can_import("autograder.student.gradcheck")


@confined_tiers
def test_worker_has_no_network(confined):
    student = confined
    with pytest.raises(StudentError, match="PermissionError|OSError|unreachable|refused"):
        student.connect("127.0.0.1", 22)


@namespaces
def test_worker_runs_unprivileged_with_a_cleared_environment(student, monkeypatch):
    uid, _ = student.identity()
    assert uid == 65534
    env = student.environment()
    assert "SECRET_FOR_TEST" not in env and env["HOME"].startswith("/tmp")


def test_environment_of_the_grader_is_not_passed_on(monkeypatch):
    monkeypatch.setenv("SECRET_FOR_TEST", "x")
    program = Program([Cell("probes", PROBES)])
    with loaded(program, Limits(time_per_test=5), launch.Isolation("limits", "forced")) as submission:
        assert "SECRET_FOR_TEST" not in submission.environment()


def test_worker_is_a_separate_process(student):
    _, pid = student.identity()
    assert pid != os.getpid()


def test_handles_can_be_called_and_passed_back(student):
    counter = student.make_counter(2)
    assert isinstance(counter, Remote)
    assert counter.add(3) == 5
    assert student.total(counter) == 5
    assert fetch(counter.count) == 5


def test_results_are_reduced_to_exact_plain_types(student):
    value = student.sneaky()
    assert type(value) is float and value != 2.0
    array = student.subclass()
    assert type(array) is np.ndarray


def test_timeout_fails_the_call_and_the_next_call_gets_a_fresh_worker(student):
    counter = student.make_counter(1)
    with pytest.raises(StudentError, match="did not finish within the time limit"):
        student.hang()
    assert student.total(student.make_counter(4)) == 4
    with pytest.raises(StudentError, match="earlier run"):
        counter.add(1)


def test_crash_is_reported_with_the_exit_code(student):
    with pytest.raises(StudentError, match="exit code 3"):
        student.die()
    assert student.make_counter(1).add(1) == 2


def test_forced_limits_tier_still_grades(built):
    from conftest import grade, source_notebooks

    os.environ["COURSE_ISOLATION"] = "limits"
    launch.detect_isolation.cache_clear()
    try:
        result = grade("01_regression", source_notebooks(built, "01_regression"))
    finally:
        del os.environ["COURSE_ISOLATION"]
        launch.detect_isolation.cache_clear()
    assert result.isolation == "limits" and result.score == result.max_score


def test_memory_limit_turns_a_bomb_into_memory_error():
    program = Program([Cell("bomb", "import numpy as np\ndef bomb():\n    return np.ones(10**10)\n")])
    with loaded(program, Limits(time_per_test=10, memory_mb=1024), ISOLATION) as submission:
        with pytest.raises(StudentError, match="MemoryError"):
            submission.bomb()


@confined_tiers
def test_worker_cannot_start_processes_or_signal_the_grader(confined):
    assert confined.spawn() == "refused: Operation not permitted"
    assert confined.signal_parent() == "refused: Operation not permitted"
    assert confined.thread() == "thread ran"


@confined_tiers
def test_worker_cannot_escape_its_process_group(confined):
    assert confined.escape() == "refused: Operation not permitted"


@pytest.mark.parametrize("tier", CONFINED + ["limits"])
def test_submitted_files_reach_the_worker_and_stay_intact(tier, tmp_path):
    (tmp_path / "checkpoint.pt").write_text("weights")
    program = Program([Cell("probes", PROBES + "\ndef overwrite(path):\n    open(path, 'w').write('x')\n")],
                      files={"checkpoint.pt": str(tmp_path / "checkpoint.pt")})
    with loaded(program, Limits(time_per_test=5), launch.detect_isolation(tier)) as submission:
        assert submission.read("checkpoint.pt") == "weights"
        with pytest.raises(StudentError, match="PermissionError"):  # even as root: no capabilities
            submission.overwrite("checkpoint.pt")
    assert (tmp_path / "checkpoint.pt").read_text() == "weights"


LIMIT_PROBES = '''
import errno, os, resource

def raise_limits():
    """Try to lift the hard value of every resource limit the worker runs under."""
    outcomes = {}
    for name in ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC"):
        which = getattr(resource, name)
        soft, hard = resource.getrlimit(which)
        lifted = []
        for attempt in [(resource.RLIM_INFINITY, resource.RLIM_INFINITY), (hard, hard * 2 + 1)]:
            try:
                resource.setrlimit(which, attempt)
                lifted.append(attempt)
            except (ValueError, OSError):
                pass
        outcomes[name] = "unlimited" if hard == resource.RLIM_INFINITY else lifted or "held"
    return outcomes

def make_files(limit):
    """Create empty files (inodes) until the folder refuses one; how many, and why it stopped."""
    count = 0
    try:
        while count < limit:
            os.mknod(f"empty-{count}")
            count += 1
    except OSError as error:
        return count, errno.errorcode[error.errno]
    return count, "no limit"

def read_other_processes(pid):
    """Everything of another process, and of the machine, the worker must not read."""
    outcomes = {}
    for path in [f"/proc/{pid}/environ", f"/proc/{pid}/cmdline", f"/proc/{pid}/maps",
                 f"/proc/{pid}/status", "/proc/1/cmdline", "/etc/shadow", "/etc/hostname",
                 "/proc/sys/kernel/hostname", "/dev/vda", "/sys/class/net"]:
        try:
            with open(path, "rb") as handle:
                outcomes[path] = handle.read(4096).decode(errors="replace")
        except OSError as error:
            outcomes[path] = error.strerror
    try:
        outcomes["/proc"] = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError as error:
        outcomes["/proc"] = error.strerror
    with open("/proc/self/status") as handle:
        outcomes["own status"] = handle.read(100)
    return outcomes

def forge_replies():
    """Write well-formed replies, claiming the sandbox failed, into every descriptor."""
    import json, struct
    for fd in range(3, 40):
        for number in [None, *range(0, 8)]:
            text = json.dumps({"ok": True, "id": number, "value": "forged", "buffers": [],
                               "sandbox_error": "forged", "confined": []}).encode()
            try:
                os.write(fd, struct.pack(">Q", len(text)) + text)
            except OSError:
                pass
    return "real"

def echo(value):
    return value
'''


def limit_probes(tier: str, limits: Limits | None = None, cells: str = ""):
    program = Program([Cell("probes", LIMIT_PROBES + cells)])
    return loaded(program, limits or Limits(time_per_test=20), launch.detect_isolation(tier))


@pytest.mark.parametrize("tier", CONFINED + ["limits"])
def test_no_resource_limit_can_be_lifted_from_student_code(tier):
    with limit_probes(tier) as student:
        assert student.raise_limits() == {name: "held" for name in
                                          ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC")}


@pytest.mark.parametrize("tier", CONFINED + ["limits"])
def test_the_workers_folder_holds_at_most_its_file_limit(tier):
    """Empty files cost kernel memory that no resource limit counts: the folder's tmpfs
    limits their number."""
    with limit_probes(tier, Limits(time_per_test=20, tmp_files=300)) as student:
        count, reason = student.make_files(100_000)
        assert count < 300 and reason == "ENOSPC"
        assert student.echo(1) == 1  # the worker goes on


def test_without_a_mount_of_its_own_the_folder_is_watched(tmp_path):
    """Where the worker may not mount (root without CAP_SYS_ADMIN, as in Docker), the grader
    measures its folder and kills it past the file limit."""
    if os.geteuid() != 0:
        pytest.skip("simulates a container's root: needs root")
    script = tmp_path / "grade.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from test_sandbox import limit_probes
from autograder.course import Limits
from autograder.sandbox.client import StudentError
for tier in ["syscalls", "limits"]:
    with limit_probes(tier, Limits(time_per_test=20, tmp_files=300)) as student:
        try:
            print(tier, student.make_files(100_000))
        except StudentError as error:
            print(tier, error)
""")
    drop_sys_admin = "import ctypes; ctypes.CDLL(None).prctl(24, 21, 0, 0, 0)"  # PR_CAPBSET_DROP CAP_SYS_ADMIN
    result = subprocess.run([sys.executable, "-c", f"{drop_sys_admin}; import os, sys; "
                             f"os.execv(sys.executable, [sys.executable, {str(script)!r}])"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout + result.stderr
    for line in lines:
        assert "killed: its folder held more than 300 files" in line, line


@confined_tiers
def test_worker_sees_no_other_process_and_no_secret_file(tier):
    holder = subprocess.Popen(["sleep", "60"], env={"COURSE_SECRET": "hunter2"})
    try:
        with limit_probes(tier) as student:
            seen = student.read_other_processes(holder.pid)
    finally:
        holder.kill()
        holder.wait()
    assert "hunter2" not in str(seen)
    own = seen.pop("own status")
    assert own.startswith("Name:")
    listed = seen.pop("/proc")
    assert listed in ("Permission denied", []) or set(listed) <= {"1", "2"}, listed
    assert set(seen.values()) <= {"Permission denied", "No such file or directory"}, seen


@pytest.mark.parametrize("tier", CONFINED + ["limits"])
def test_a_forged_reply_changes_only_the_students_own_answers(tier):
    """Messages student code writes into the reply pipe, even well-formed and claiming the
    sandbox failed, never raise a sandbox error: they are the student's data."""
    with limit_probes(tier, cells="\nforge_replies()\n") as student:
        assert student.forge_replies() in ("real", "forged")
        answers = [student.echo(n) for n in range(12)]
        assert answers[-1] == 11 and set(answers) <= set(range(12)) | {"forged"}


def test_extra_files_are_found_beside_the_notebook_and_links_refused(tmp_path):
    from autograder.grading.extract import extra_files

    (tmp_path / "nb.ipynb").write_text("{}")
    (tmp_path / "model.pt").write_text("w")
    (tmp_path / "link.pt").symlink_to(tmp_path / "model.pt")
    found, problems = extra_files(["model.pt", "link.pt", "gone.pt"], {"nb": tmp_path / "nb.ipynb"})
    assert found == {"model.pt": str(tmp_path / "model.pt")}
    assert "not a link" in problems["link.pt"] and "missing" in problems["gone.pt"]


@pytest.mark.skipif(not __import__("autograder.sandbox.cgroup").sandbox.cgroup.available(), reason="no writable memory cgroup")
def test_memory_cgroup_limits_a_worker_that_has_no_address_space_limit():
    """What GPU workers rely on, where RLIMIT_AS would break CUDA."""
    groups = set(__import__("pathlib").Path("/sys/fs/cgroup/memory").glob("course-worker-*"))
    program = Program([Cell("hog", "def hog(n):\n    block = b'x' * (n << 20)\n    return len(block)\n")])
    pool = WorkerPool()
    with loaded(program, Limits(time_per_test=30, memory_mb=512), ISOLATION, "cuda", pool) as submission:
        assert submission.hog(64) == 64 << 20
        with pytest.raises(StudentError, match="SIGKILL|MemoryError"):
            submission.hog(2048)
    pool.close()
    assert set(__import__("pathlib").Path("/sys/fs/cgroup/memory").glob("course-worker-*")) <= groups


def test_the_graders_own_fixtures_never_take_the_students_time(tmp_path):
    from autograder.grading.grade import Rubric, grade_submission

    (tmp_path / "test_hidden.py").write_text(
        "import time\nimport pytest\n\n@pytest.fixture\ndef slow_data():\n    time.sleep(2)\n    return 1\n\n"
        "@pytest.mark.points(1)\n@pytest.mark.time_limit(1)\ndef test_quick(student, slow_data):\n"
        "    assert student.answer() == slow_data\n")
    (tmp_path / "nb.py").write_text("def answer():\n    return 1\n")
    rubric = Rubric("demo", [tmp_path / "test_hidden.py"], {"nb": []}, limits=Limits(time_per_test=1))
    assert grade_submission(rubric, "s", {"nb": tmp_path / "nb.py"}).tests[0].status == "passed"


def test_landlock_never_grants_a_hidden_package_installed_beside_the_libraries(monkeypatch, tmp_path):
    """A non-editable install copies reference/ into site-packages: Landlock grants every
    entry of the environment but that one."""
    site = tmp_path / "env" / "lib" / "site-packages"
    for folder in [site / "reference", site / "numpy", tmp_path / "env" / "bin"]:
        folder.mkdir(parents=True)
    monkeypatch.setattr(launch, "_python_dirs", lambda: [str(tmp_path / "env")])
    monkeypatch.setattr(launch, "_hidden_packages", lambda: [str(site / "reference")])
    readable = launch.landlock_policy(launch.Isolation("syscalls", ""), "/tmp/work")["landlock"]["read"]
    assert {str(site / "numpy"), str(tmp_path / "env" / "bin")} <= set(readable)
    hidden = str(site / "reference")
    assert not [p for p in readable if hidden.startswith(p) or p.startswith(hidden)]


def test_a_folder_with_a_folder_mounted_beneath_it_is_not_made_private(tmp_path):
    """A worker whose folder holds a bound folder (the Python environment, when it lives
    under /tmp) keeps its folder, watched, instead of a copy that would fill its tmpfs."""
    from autograder.sandbox import confine

    assert confine._mounts_beneath("/")  # /proc at least
    assert not confine._mounts_beneath(str(tmp_path))


DRAWS = """import random
import numpy as np
import torch

def draws():
    return [random.random(), float(np.random.rand()), torch.rand(2, dtype=torch.float64).tolist()]
"""


def test_every_call_starts_from_python_numpy_and_torch_seeded_with_zero():
    import random

    import torch

    with loaded(Program([Cell("draws", DRAWS, ["draws"])]), Limits(), launch.detect_isolation()) as student:
        first, second = student.draws(), student.draws()
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    expected = [random.random(), float(np.random.rand()), torch.rand(2, dtype=torch.float64).tolist()]
    assert first == second == expected
