"""Assignment 12 in one table: each training threshold's run, the grader's procedure from the
hidden tests with the reference solution in the student's place (torch seeded with 0 before
every call, as the worker does), over a few secrets: the scores it reaches, and its wall and
CPU time on one core (training, sampling or reconstruction, scoring).

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/generative.py [--secrets 3] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.course import load_course  # noqa: E402
from bench.measure import hidden_tests, print_table, timed  # noqa: E402
from reference import diffusion, gan, vae  # noqa: E402

ASSIGNMENT = "12_generative"


class AsTheWorkerCalls:
    """The reference modules in the student's place: every call seeds torch with 0 first."""

    def __init__(self, *modules):
        self.modules = modules

    def __getattr__(self, name):
        target = next(getattr(m, name) for m in self.modules if hasattr(m, name))

        def call(*args, **kwargs):
            torch.manual_seed(0)
            return target(*args, **kwargs)

        return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secrets", type=int, default=3, help="secrets (seeds 0, 1, ...) to run each threshold on")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    hidden = hidden_tests(ASSIGNMENT)
    thresholds = load_course(ROOT).assignment(ASSIGNMENT).thresholds
    student = AsTheWorkerCalls(vae, gan, diffusion)
    runs = [("vae", hidden.vae_scores, ["vae_explained_variance", "vae_kl"]),
            ("gan", hidden.gan_scores, ["gan_modes_covered", "gan_share_near_modes"]),
            ("diffusion", hidden.diffusion_scores, ["diffusion_mmd_reduction", "(its MMD^2)"])]
    rows = []
    for name, scores_of, keys in runs:
        results = [timed(lambda: scores_of(student, np.random.default_rng(seed), args.device))
                   for seed in range(args.secrets)]
        wall = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        for i, key in enumerate(keys):
            scores = [r[2][i] for r in results]
            rows.append((key, f"{thresholds[key]:g}" if key in thresholds else "",
                         f"{statistics.median(scores):.3f} ({min(scores):.3f}-{max(scores):.3f})",
                         f"{wall:.2f}" if i == 0 else "", f"{cpu:.2f}" if i == 0 else ""))
    print(f"{ASSIGNMENT} thresholds: the reference over {args.secrets} secrets on {args.device} "
          f"(1 thread); times are medians of one training and scoring run")
    print_table(rows, ("threshold", "required", "reference: median (min-max)", "wall s", "CPU s"))


if __name__ == "__main__":
    main()
