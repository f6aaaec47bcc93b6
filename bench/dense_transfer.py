"""Assignment 09 in one table: the reference NumPy bilinear upsampling and transposed
convolution (forward and backward) against torch's in float64 on the same inputs, and each
training threshold run as its hidden test runs it (the reference in the student's place),
over a few secrets: score range and CPU time per run, on one thread. Times are this process's
CPU time (time.process_time), which other processes on a busy machine do not inflate.

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/dense_transfer.py [--secrets 3] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import hidden_tests, print_table, timed  # noqa: E402
from reference import contrastive, segmentation, transfer, upsampling  # noqa: E402


def cpu_seconds(run, repeat: int) -> float:
    """The median CPU time of ``repeat`` calls of ``run()``, after one warm-up call."""
    run()
    return statistics.median(timed(run)[1] for _ in range(repeat))


def numpy_rows(repeat: int) -> list[tuple]:
    rng = np.random.default_rng(0)
    rows = []
    x = rng.normal(size=(64, 3, 32, 32))
    dout = rng.normal(size=(64, 3, 64, 64))
    xt = torch.tensor(x, requires_grad=True)

    def numpy_bilinear():
        _, cache = upsampling.bilinear_forward(x, (64, 64))
        upsampling.bilinear_backward(dout, cache)

    def torch_bilinear():
        xt.grad = None
        F.interpolate(xt, size=(64, 64), mode="bilinear").backward(torch.from_numpy(dout))

    rows.append(("bilinear 32->64, N=64, C=3, fwd+bwd", cpu_seconds(numpy_bilinear, repeat),
                 cpu_seconds(torch_bilinear, repeat)))
    for kernel, padding, output_padding in [(2, 0, 0), (3, 1, 1)]:
        x = rng.normal(size=(64, 16, 16, 16))
        w, b = rng.normal(size=(16, 8, kernel, kernel)), rng.normal(size=8)
        tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        dout = rng.normal(size=(64, 8, 32, 32))

        def numpy_transposed():
            _, cache = upsampling.conv_transpose_forward(x, w, b, 2, padding, output_padding)
            upsampling.conv_transpose_backward(dout, cache)

        def torch_transposed():
            for t in tensors:
                t.grad = None
            F.conv_transpose2d(*tensors, stride=2, padding=padding, output_padding=output_padding).backward(
                torch.from_numpy(dout))

        rows.append((f"transposed conv {kernel}x{kernel} stride 2, 16->8 ch, 16->32, N=64, fwd+bwd",
                     cpu_seconds(numpy_transposed, repeat), cpu_seconds(torch_transposed, repeat)))
    return [(name, f"{mine * 1e3:.1f} ms", f"{theirs * 1e3:.1f} ms", f"{mine / theirs:.1f}x")
            for name, mine, theirs in rows]


REFERENCE = SimpleNamespace(
    torch=torch, UNet=segmentation.UNet, train=segmentation.train, DigitNet=transfer.DigitNet,
    transfer_model=transfer.transfer_model, head_optimizer=transfer.head_optimizer,
    fine_tune_optimizer=transfer.fine_tune_optimizer, ContrastiveNet=contrastive.ContrastiveNet,
    train_contrastive=contrastive.train_contrastive)


def threshold_rows(secrets: int) -> list[tuple]:
    """Each threshold's procedure from the hidden tests, with the reference, one secret at a time."""
    hidden = hidden_tests("09_dense_transfer")
    runs = {
        "segmentation_miou": lambda secret: [hidden.segmentation_score(REFERENCE, secret)],
        "transfer_accuracy, transfer_gain_over_scratch": lambda secret: (
            lambda s: [s["head"], s["head"] - s["scratch"]])(hidden.transfer_scores(REFERENCE, secret, fine_tune=False)),
        "fine_tune_accuracy": lambda secret: [hidden.transfer_scores(REFERENCE, secret, scratch=False)["fine_tuned"]],
        "probe_accuracy, probe_gain_over_random": lambda secret: (
            lambda learned, baseline: [learned, learned - baseline])(*hidden.probe_scores(REFERENCE, secret)),
    }
    rows = []
    for name, run in runs.items():
        scores, times = [], []
        for seed in range(secrets):
            torch.manual_seed(0)  # as the worker seeds before every call
            start = time.process_time()
            scores.append(run(np.random.default_rng(seed)))
            times.append(time.process_time() - start)
        scores = np.array(scores)
        ranges = ", ".join(f"{np.median(column):.3f} ({column.min():.3f}-{column.max():.3f})" for column in scores.T)
        rows.append((name, ranges, f"{statistics.median(times):.1f} s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=3, help="secrets per threshold")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per NumPy measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print_table(numpy_rows(args.repeat), ("NumPy vs torch float64 (CPU, one thread)", "NumPy", "torch", "ratio"))
    print()
    print_table(threshold_rows(args.secrets),
                ("threshold (the hidden test's run, reference)", "median (min-max) over secrets", "CPU per run"))


if __name__ == "__main__":
    main()
