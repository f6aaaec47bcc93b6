"""Wall time of assignment 07's training threshold (the reference MLP on digits), on one CPU
core and, where CUDA is available, on the GPU, with the ratio; the same run the grader does.

    python bench/torch_threshold.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.student import data  # noqa: E402
from reference import torch_networks as nets  # noqa: E402


def threshold_run(device: str) -> tuple[float, float]:
    """(seconds, held-out accuracy) of training TwoLayerMLP(64, 100, 10) with train's defaults."""
    X_train, y_train, _, _, X_test, y_test = data.digits(seed=0)
    torch.manual_seed(0)
    start = time.perf_counter()
    model = nets.TwoLayerMLP(64, 100, 10)
    nets.train(model, nets.make_loader(X_train, y_train), device=device)
    predicted = nets.predict(model, X_test)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return seconds, float(np.mean(np.asarray(predicted) == y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    timings = {}
    for device in devices:
        threshold_run(device)  # warm-up: lazy imports, CUDA context
        runs = [threshold_run(device) for _ in range(args.repeat)]
        timings[device] = statistics.median(s for s, _ in runs)
        name = torch.cuda.get_device_name() if device == "cuda" else "1 CPU thread"
        print(f"{device:5s} ({name}): {timings[device]:.3f} s median of {args.repeat}, "
              f"held-out accuracy {runs[-1][1]:.3f}")
    if "cuda" in timings:
        print(f"CPU / GPU time ratio: {timings['cpu'] / timings['cuda']:.2f}x")
    else:
        print("no CUDA device here: GPU timing skipped")


if __name__ == "__main__":
    main()
