"""Assignment 08 in one table: the reference NumPy convolution (im2col) forward and backward
against torch's in float64 on the same inputs, the loops against im2col, pooling, and the
time of each training threshold's run (the grader's procedure, with a fixed secret), all
on one thread. Times are this process's CPU time (time.process_time), which on a quiet core
is its wall time and which other processes on a busy machine do not inflate.

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/conv.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import measure  # noqa: E402
from reference import conv, modules, networks, torch_cnn, torch_networks  # noqa: E402

SHAPE, FILTERS = (64, 3, 32, 32), (16, 3, 3, 3)  # N, C, H, W and F, C, HH, WW; stride 1, padding 1


def median_seconds(run, repeat: int) -> float:
    """The median CPU time of ``repeat`` calls of ``run()`` (see the module's docstring)."""
    return measure.median_seconds(run, repeat, clock=time.process_time)


def convolution_rows(repeat: int) -> list[tuple[str, str, str, str]]:
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=SHAPE), rng.normal(size=FILTERS), rng.normal(size=FILTERS[0])
    dout = rng.normal(size=(SHAPE[0], FILTERS[0], SHAPE[2], SHAPE[3]))

    def numpy_run(forward, backward):
        def run():
            _, cache = forward(x, w, b, 1, 1)
            backward(dout, cache)
        return run

    def torch_run(dtype):
        tensors = [torch.tensor(a, dtype=dtype) for a in (x, w, b)]
        grad = torch.tensor(dout, dtype=dtype)

        def run():
            leaves = [t.detach().requires_grad_() for t in tensors]
            F.conv2d(*leaves, padding=1).backward(grad)
        return run

    seconds = {"torch float64": median_seconds(torch_run(torch.float64), repeat),
               "torch float32": median_seconds(torch_run(torch.float32), repeat),
               "NumPy im2col (float64)": median_seconds(numpy_run(conv.conv_forward, conv.conv_backward), repeat)}
    start = time.process_time()
    numpy_run(conv.conv_forward_naive, conv.conv_backward_naive)()
    seconds["NumPy loops (float64), one run"] = time.process_time() - start
    setting = f"N={SHAPE[0]} C={SHAPE[1]} {SHAPE[2]}x{SHAPE[3]}, {FILTERS[0]} filters 3x3"
    rows = []
    for name, value in seconds.items():
        ratio = f"{value / seconds['torch float64']:.2f}x torch float64"
        if name.startswith("NumPy loops"):
            ratio += f", {value / seconds['NumPy im2col (float64)']:.0f}x im2col"
        rows.append((f"conv fwd+bwd, {name}", setting, f"{1e3 * value:.1f} ms", ratio))
    pooled = rng.normal(size=(64, 16, 32, 32))
    pooled_grad = rng.normal(size=(64, 16, 16, 16))
    for kind, torch_pool in [("max", F.max_pool2d), ("avg", F.avg_pool2d)]:
        forward, backward = getattr(conv, f"{kind}_pool_forward"), getattr(conv, f"{kind}_pool_backward")

        def numpy_pool():
            _, cache = forward(pooled, 2)
            backward(pooled_grad, cache)

        def torch_pool_run():
            leaf = torch.tensor(pooled, requires_grad=True)
            torch_pool(leaf, 2).backward(torch.tensor(pooled_grad))

        ours, theirs = median_seconds(numpy_pool, repeat), median_seconds(torch_pool_run, repeat)
        rows.append((f"{kind} pool 2x2 fwd+bwd, NumPy vs torch float64", "N=64 C=16 32x32",
                     f"{1e3 * ours:.1f} ms vs {1e3 * theirs:.1f} ms", f"{ours / theirs:.2f}x torch float64"))
    return rows


def timed(run) -> tuple[float, float]:
    start = time.process_time()
    score = run()
    return time.process_time() - start, score


def threshold_rows() -> list[tuple[str, str, str, str]]:
    """Each threshold test's procedure with the reference in place of the student, secret seed 0."""
    hidden = measure.hidden_tests("08_cnn")
    parts = hidden.held_out_images(np.random.default_rng(0))
    channels, size = parts.X_train.shape[1], parts.X_train.shape[-1]
    X, y, X_test, y_test = parts.X_train, parts.y_train, parts.X_test, parts.y_test

    def numpy_cnn():
        model = hidden.numpy_cnn(modules, channels, size)
        networks.train(model, X, y, lr=0.2, epochs=30, batch_size=50, seed=0)
        return np.mean(model.predict(X_test) == y_test)

    def small_vgg():
        torch.manual_seed(0)
        model = torch_cnn.SmallVGG(in_channels=channels, image_size=size)
        torch_cnn.fit(model, X, y, epochs=30, lr=0.05, seed=0)
        return np.mean(torch_networks.predict(model, X_test).numpy() == y_test)

    def mlp():
        flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
        torch.manual_seed(0)
        model = torch_networks.TwoLayerMLP(channels * size * size, 100, 10)
        torch_networks.train(model, torch_networks.make_loader(flat(X), y))
        return np.mean(torch_networks.predict(model, flat(X_test)).numpy() == y_test)

    def deep(residual, train):
        torch.manual_seed(0)
        model = torch_cnn.DeepConvNet(6, 8, residual=residual, in_channels=channels, image_size=size)
        if not train:
            return torch_cnn.gradient_norms(model, X[:256], y[:256])["stem.weight"]
        torch_cnn.fit(model, X, y, epochs=6, lr=0.05, seed=0)
        return np.mean(torch_networks.predict(model, X_test).numpy() == y_test)

    numpy_seconds, numpy_accuracy = timed(numpy_cnn)
    vgg_seconds, vgg_accuracy = timed(small_vgg)
    mlp_seconds, mlp_accuracy = timed(mlp)
    ratio_seconds, ratio = timed(lambda: deep(True, False) / deep(False, False))
    gain_seconds, gain = timed(lambda: deep(True, True) - deep(False, True))
    return [("numpy_cnn_accuracy", "NumPy CNN, 30 epochs", f"{numpy_seconds:.2f} s", f"{numpy_accuracy:.3f}"),
            ("cnn_accuracy, cnn_gain_over_mlp", "SmallVGG 30 epochs + 07's MLP",
             f"{vgg_seconds:.2f} s + {mlp_seconds:.2f} s", f"{vgg_accuracy:.3f} (MLP {mlp_accuracy:.3f})"),
            ("residual_gradient_ratio", "DeepConvNet(6, 8) x 2 at init", f"{ratio_seconds:.2f} s", f"{ratio:.3g}"),
            ("residual_accuracy_gain", "DeepConvNet(6, 8) x 2, 6 epochs", f"{gain_seconds:.2f} s", f"{gain:.3f}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [("what", "setting", "time", "result")] + convolution_rows(args.repeat) + threshold_rows()
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
