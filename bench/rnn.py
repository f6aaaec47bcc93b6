"""Assignment 10 in one table: the NumPy LSTM's forward + backward against torch's nn.LSTM on
the CPU for the same shapes (float64 and float32), and the time of each training threshold's
run (the grader's procedure, with a fixed secret), all on one core: wall time, and the CPU
time of this process, which other processes on a busy machine distort less.

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/rnn.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.student import data, generated, heldout  # noqa: E402
from autograder.student.torchcheck import recurrent_weights  # noqa: E402
from reference import rnn  # noqa: E402
from reference import torch_rnn as tr  # noqa: E402

SHAPES = [(32, 8, 8, 64), (64, 50, 32, 128), (16, 200, 1, 32)]  # (N, T, D, H)


def timed(run) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of one call of ``run``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median_seconds(run, repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``repeat`` calls after a warm-up call."""
    run()  # first-call allocations and lazy initialization
    times = [timed(run)[:2] for _ in range(repeat)]
    return statistics.median(w for w, _ in times), statistics.median(c for _, c in times)


def lstm_rows(repeat: int) -> list[tuple[str, ...]]:
    rows = []
    for N, T, D, H in SHAPES:
        rng = np.random.default_rng(0)
        x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))
        layer = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
        Wx, Wh, b = recurrent_weights(layer)

        def numpy_step():
            _, cache = rnn.lstm_forward(x, h0, Wx, Wh, b)
            rnn.lstm_backward(dh, cache)

        def torch_step(dtype):
            module = copy.deepcopy(layer).to(dtype)
            inputs = torch.tensor(x, dtype=dtype, requires_grad=True)
            state = torch.tensor(h0[None], dtype=dtype, requires_grad=True)

            def run():
                outputs, _ = module(inputs, (state, torch.zeros_like(state)))
                outputs.backward(torch.tensor(dh, dtype=dtype))
            return run

        seconds = {"NumPy float64": median_seconds(numpy_step, repeat),
                   "torch float64": median_seconds(torch_step(torch.float64), repeat),
                   "torch float32": median_seconds(torch_step(torch.float32), repeat)}
        setting = f"N={N} T={T} D={D} H={H}"
        for name, (wall, cpu) in seconds.items():
            ratio = f"{cpu / seconds['torch float64'][1]:.1f}x torch float64's CPU time"
            rows.append((f"LSTM forward+backward, {name}", setting, f"{1e3 * wall:.1f} ms", f"{1e3 * cpu:.1f} ms",
                         ratio))
    return rows


def classifier_run(secret):
    view = heldout.rotated(data.digits(images=True).map_inputs(lambda images: images[:, 0]), secret)
    torch.manual_seed(0)

    def run():
        model = tr.LSTMClassifier(8, 64, 10)
        tr.train_classifier(model, view.X_train, view.y_train)
        with torch.no_grad():
            predicted = model.eval()(torch.as_tensor(view.X_test, dtype=torch.float32)).argmax(dim=1)
        return f"accuracy {np.mean(predicted.numpy() == view.y_test):.3f}"
    return run


def signal_run(secret):
    train, test = generated.noisy_sines(64, 101, seed=secret), generated.noisy_sines(200, 101, seed=secret)
    torch.manual_seed(0)

    def run():
        model = tr.SignalPredictor(32)
        tr.train_tbptt(model, train)
        return f"skill {tr.skill_over_persistence(tr.predict_next(model, test), test):.3f}"
    return run


def threshold_rows() -> list[tuple[str, ...]]:
    secret = np.random.default_rng(0)
    rows = []
    for name, setting, run in [("threshold digits_accuracy", "LSTMClassifier(8, 64, 10), 20 epochs",
                                classifier_run(secret)),
                               ("threshold signal_skill", "SignalPredictor(32), 60 epochs of TBPTT",
                                signal_run(secret))]:
        wall, cpu, result = timed(run)
        rows.append((name, setting, f"{wall:.2f} s", f"{cpu:.2f} s", result))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = lstm_rows(args.repeat) + threshold_rows()
    header = ("what", "setting", "wall time", "CPU time", "result")
    widths = [max(len(row[k]) for row in rows) for k in range(len(header))]
    widths = [max(w, len(h)) for w, h in zip(widths, header)]
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"one CPU thread; LSTM timings are medians of {args.repeat} runs")


if __name__ == "__main__":
    main()
