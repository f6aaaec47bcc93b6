"""What the assignment benchmarks share: timing a run, loading an assignment's hidden tests for
the procedures of its thresholds, and printing one table."""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(run, repeat: int, clock=time.perf_counter) -> float:
    """The median time of ``repeat`` calls of ``run()`` after one warm-up call, by ``clock``
    (wall time; ``time.process_time`` gives this process's CPU time, which other processes on
    a busy machine do not inflate)."""
    run()
    times = []
    for _ in range(repeat):
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times)


def timed(run) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, what ``run()`` returned)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def hidden_tests(assignment_id: str):
    """assignments/<id>/test_hidden.py as a module, for the procedures its threshold tests follow."""
    path = ROOT / "assignments" / assignment_id / "test_hidden.py"
    spec = importlib.util.spec_from_file_location(f"hidden_{assignment_id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def print_table(rows: list[tuple], header: tuple) -> None:
    """Rows of cells as left-aligned columns under ``header``."""
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
