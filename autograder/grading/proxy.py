"""The student proxy: rubric tests call the submission's functions as if they were local.

``Controls`` is the grader's hold on one submission: it takes a worker from the pool, loads
the program into it, restarts it after a crash, enforces each test's deadline, and knows
which cells failed to load and what the latest call warned. Its ``student`` is what rubric
tests receive as the ``student`` fixture: ``student.mse_loss(y_pred, y)`` runs the
student's ``mse_loss`` in the worker and returns plain data; any other result comes back
as a ``Remote`` handle that can be called, have methods called, or be passed back as an
argument. Every failure of student code surfaces as ``StudentError`` with a reason a
student can act on.
"""

from __future__ import annotations

import time

from autograder.course import Limits
from autograder.grading.program import Cell, Program
from autograder.sandbox import launch, wire
from autograder.sandbox.client import SandboxError, StudentError, TimedOut, Worker
from autograder.sandbox.pool import WorkerPool
from autograder.student.checks import Opaque


def stated_limits(limits: Limits) -> str:
    """The limits a submission runs under, and what ``Controls`` does past them, as students
    read them (in the self-check cell and its report)."""
    return (f"Each test may run {limits.time_per_test:g} s and use {limits.memory_mb} MB, here as "
            "in grading; a function that runs past more than half of that without finishing is "
            "not called again.")


class Controls:
    """The grader's controls over one submission; ``student`` is the proxy tests use.

    A crash or timeout ends the current worker; the next use starts a fresh one (a new
    *generation*: handles from the old one are refused).
    """

    def __init__(self, program: Program, limits: Limits, isolation: launch.Isolation,
                 device: str = "cpu", pool: WorkerPool | None = None):
        self.program, self.limits, self.isolation, self.device = program, limits, isolation, device
        self.pool = pool or WorkerPool.shared()
        self.student = Submission(self)
        self.generation = 0
        self.warnings: list[str] = []  # what the latest call warned
        self.modified: list[str] = []  # the arguments the latest call changed in place
        self.deadline: float | None = None  # of the running test
        self.limit = limits.time_per_test  # the running test's limit (s)
        self.runaways: dict[str, float] = {}  # function -> the limit one call of it ran past
        self._worker: Worker | None = None
        self._skipped: dict[str, str] = {}  # cells left out because loading them broke the worker
        self._cell_errors: dict[str, str] = {}  # cells that raised while the worker loaded them
        self.sandbox_failure: str | None = None  # why no worker could confine itself, if none could
        if not program.fatal:  # the worker starts and loads while the grader collects the tests
            self.pool.prepare(program.files, limits, isolation, device, program.preload_modules(),
                              self._cells())

    # -- what the rubric plugin and the grader use

    def start_test(self, seconds: float) -> None:
        """The running test's student code may take ``seconds`` of wall-clock time."""
        self.deadline, self.limit = time.monotonic() + seconds, seconds

    def end_test(self) -> None:
        self.deadline, self.limit = None, self.limits.time_per_test

    @property
    def load_errors(self) -> dict[str, str]:
        """Cell name -> error, for answer cells that did not run cleanly."""
        return {**self.program.problems, **self._skipped, **self._cell_errors}

    @property
    def printed(self) -> str:
        """What the current worker's student code printed (truncated)."""
        return self._worker.printed() if self._worker else ""

    def start(self) -> None:
        """Load the submission into a worker now (else it is loaded on first use)."""
        self._ensure_worker()

    def close(self) -> None:
        self.pool.discard()
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    # -- the worker's lifetime

    def _ensure_worker(self) -> Worker:
        if self.program.fatal:
            raise StudentError(self.program.fatal)
        if self.sandbox_failure:
            raise SandboxError(self.sandbox_failure)
        if self._worker is not None and self._worker.alive:
            return self._worker
        self.generation += 1
        while True:
            cells = [c for c in self.program.cells if c.name not in self._skipped]
            worker = self.pool.take(self.program.files, self.limits, self.isolation, self.device,
                                    self.program.preload_modules(), self._cells())
            try:
                worker.load(self._cells(), self.limits.time_per_test)
            except SandboxError as error:
                self.sandbox_failure = str(error)
                raise
            except StudentError as error:
                worker.kill()
                culprit = self._culprit(cells, worker)
                if culprit is None:
                    raise StudentError(f"could not load the submission: {error}") from None
                self._skipped[culprit] = str(error).replace("loading the answer cells",
                                                            f"running cell '{culprit}'")
                continue
            self._worker = worker
            self._cell_errors = {name: format_error(report["error"]) for name, report
                                 in worker.cell_report.items() if type(report.get("error")) is dict}
            return worker

    def _cells(self) -> list[dict]:
        """The cells a worker loads: the program's, less those that broke a worker."""
        return [{"name": c.name, "source": c.source} for c in self.program.cells if c.name not in self._skipped]

    @staticmethod
    def _culprit(cells: list[Cell], worker: Worker) -> str | None:
        """The answer cell that was running when loading failed."""
        marks = worker.cell_marks()
        started = marks[-1] if marks else None
        return started if started in [c.name for c in cells if c.answer] else None

    # -- calls, on behalf of Remote

    def request(self, header: dict, buffers: list, verb: str, subject: str):
        """Send one call or read to the worker under the test's deadline; its value as data."""
        what = f"{verb} {subject}"
        if subject in self.runaways:  # the earlier test is not named: it may be hidden
            raise StudentError(f"{subject} was not called: it ran past the {self.runaways[subject]:g} s "
                               "limit in an earlier test without finishing (an infinite loop?)")
        started = time.monotonic()
        worker = self._ensure_worker()
        if self.deadline is not None:  # starting a worker is the grader's time, not the test's
            self.deadline += time.monotonic() - started
        deadline = self.deadline if self.deadline is not None else time.monotonic() + self.limit
        called = time.monotonic()
        try:
            reply, out = worker.request(header, buffers, deadline, what)
        except TimedOut:
            if time.monotonic() - called > self.limit / 2:  # most of the limit, in this one call
                self.runaways.setdefault(subject, self.limit)
            raise StudentError(f"{what} did not finish within the time limit ({self.limit:g} s: an "
                               "infinite loop, or far too slow?)") from None
        raised, modified = reply.get("warnings"), reply.get("modified")
        self.warnings = [str(w) for w in raised] if type(raised) is list else []
        self.modified = [str(m) for m in modified] if type(modified) is list else []
        if reply.get("ok") is True:
            try:
                return wire.decode(reply.get("value"), out, self._handle)
            except wire.ProtocolError as error:
                raise StudentError(f"{what} returned data the grader cannot read: {error}") from None
        if "missing" in reply:
            raise StudentError(self._missing_reason(str(reply["missing"])))
        error = reply.get("error") if type(reply.get("error")) is dict else {}
        if error.get("type") == "NotImplementedError":
            where = error.get("where") or []
            cell = f" in {where[-1]}" if where else ""
            raise StudentError(f"{subject} is not implemented yet (it raises "
                               f"NotImplementedError{cell})")
        raise StudentError(f"{subject} raised {format_error(error)}")

    def _missing_reason(self, name: str) -> str:
        cell = self.program.cell_defining(name)
        problem = self.load_errors.get(cell) if cell else None
        if problem:
            return f"`{name}` is not defined because cell '{cell}' failed: {problem}"
        if cell:
            return f"`{name}` is not defined: cell '{cell}' ran but did not define it (renamed?)"
        return f"the submission does not define `{name}`"

    def _handle(self, tag: dict) -> "Remote":
        if tag.get("$") != "handle" or type(tag.get("id")) is not int:
            raise wire.ProtocolError("unexpected reference tag from the worker")
        return Remote(self, {"handle": tag["id"]}, [], label=f"{str(tag.get('type'))[:80]} object")

    def encode_arguments(self, args, kwargs) -> tuple[list, dict, list]:
        buffers: list = []

        def other(value):
            if isinstance(value, Remote):
                if value._generation != self.generation:
                    raise StudentError("an object from an earlier, failed run of the submission "
                                       "was passed back")
                if "handle" not in value._spec or value._attrs:
                    raise TypeError("only objects the submission returned can be passed back")
                return {"$": "ref", "id": value._spec["handle"]}
            raise TypeError(f"cannot send a {type(value).__name__} to the submission")

        return (wire.encode(list(args), buffers, other),
                wire.encode(dict(kwargs), buffers, other), buffers)


class Submission:
    """The ``student`` fixture: ``student.name`` is the submission's top-level ``name``."""

    def __init__(self, controls: Controls):
        self._controls = controls

    def __getattr__(self, name: str) -> "Remote":
        if name.startswith("_"):
            raise AttributeError(name)
        return Remote(self._controls, {"name": name}, [])

    def __repr__(self) -> str:
        return "<submission>"


class Remote:
    """A function, class, object or attribute living in the worker."""

    def __init__(self, controls: Controls, spec: dict, attrs: list[str], label: str | None = None,
                 generation: int | None = None):
        self._controls = controls
        self._spec = spec
        self._attrs = attrs
        self._generation = controls.generation if generation is None else generation
        self._label = label

    @property
    def _name(self) -> str:
        base = f"`{self._spec['name']}`" if "name" in self._spec else (self._label or "object")
        return base if not self._attrs else f"{base}.{'.'.join(self._attrs)}"

    def __getattr__(self, attr: str) -> "Remote":
        if attr.startswith("_"):
            raise AttributeError(attr)
        return Remote(self._controls, self._spec, self._attrs + [attr], self._label, self._generation)

    def _check_generation(self) -> None:
        if "handle" in self._spec and self._generation != self._controls.generation:
            raise StudentError(f"{self._name} belonged to an earlier run of the submission that "
                               "failed; it no longer exists")

    def __call__(self, *args, **kwargs):
        self._check_generation()
        args_enc, kwargs_enc, buffers = self._controls.encode_arguments(args, kwargs)
        header = {"op": "call", "target": self._spec, "attrs": self._attrs,
                  "args": args_enc, "kwargs": kwargs_enc, "seed": 0}
        return self._controls.request(header, buffers, "calling", self._name)

    def __repr__(self) -> str:
        return f"<submission {self._name}>"

    def __str__(self) -> str:
        return self._name


Opaque.register(Remote)


def fetch(remote: Remote):
    """The value of a remote attribute as plain data, e.g. ``fetch(model.weight)``."""
    remote._check_generation()
    header = {"op": "get", "target": remote._spec, "attrs": remote._attrs}
    return remote._controls.request(header, [], "reading", remote._name)


def format_error(error: dict) -> str:
    """An exception the worker described (type, message, where), as one line."""
    text = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip().rstrip(":")
    where = error.get("where")
    return text + (f" ({where[-1]})" if type(where) is list and where else "")
