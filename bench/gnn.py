"""Assignment 11 in one table: the reference scatter (the student's: NumPy, and torch with its
backward) against torch_geometric.utils.scatter on the same edges, and the wall time of each
training threshold's run (the grader's procedure, with a fixed secret), all on one core.

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/gnn.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch_geometric.utils import scatter as pyg_scatter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.student import generated  # noqa: E402
from bench.measure import hidden_tests, median_seconds, print_table, timed  # noqa: E402
from reference import gnn  # noqa: E402
from reference import torch_gnn as tg  # noqa: E402

SIZES = [(20_000, 1_000, 16), (200_000, 10_000, 16)]  # (edges, nodes, features)


def scatter_rows(repeat: int) -> list[tuple[str, str, str, str]]:
    rows = []
    for E, N, D in SIZES:
        generator = torch.Generator().manual_seed(0)
        src, index = torch.randn(E, D, generator=generator), torch.randint(0, N, (E,), generator=generator)
        grad = torch.randn(N, D, generator=generator)
        src_np, index_np, grad_np = src.double().numpy(), index.numpy(), grad.double().numpy()
        for reduce in ["sum", "mean", "max"]:
            def numpy_run():
                _, cache = gnn.scatter_forward(src_np, index_np, N, reduce)
                gnn.scatter_backward(grad_np, cache)

            def torch_run(function):
                def run():
                    leaf = src.detach().requires_grad_()
                    function(leaf).backward(grad)
                return run

            seconds = {"reference.torch_gnn.scatter": median_seconds(torch_run(lambda s: tg.scatter(s, index, N, reduce)), repeat),
                       "torch_geometric scatter": median_seconds(torch_run(lambda s: pyg_scatter(s, index, 0, N, reduce)), repeat),
                       "reference.gnn NumPy (float64)": median_seconds(numpy_run, repeat)}
            setting = f"{reduce}, E={E} N={N} D={D}"
            for name, value in seconds.items():
                ratio = f"{value / seconds['torch_geometric scatter']:.1f}x torch_geometric"
                rows.append((f"scatter fwd+bwd, {name}", setting, f"{1e3 * value:.2f} ms", ratio))
    return rows


def threshold_rows() -> list[tuple[str, str, str, str]]:
    hidden = hidden_tests("11_gnn")

    def karate():
        x, edge_index, y, mask = hidden.renumbered_karate(np.random.default_rng(0))
        torch.manual_seed(0)
        model = tg.GCN(34, 16, 4)
        tg.train_node_classifier(model, x, edge_index, np.where(mask, y, -1), mask)
        predicted = tg.predict_nodes(model, x, torch.from_numpy(edge_index)).numpy()
        return float(np.mean(predicted[~mask] == y[~mask]))

    def sbm():
        x, edge_index, y, mask = generated.stochastic_block_model(seed=np.random.default_rng(0))
        edge_index = tg.to_undirected(torch.from_numpy(edge_index))
        torch.manual_seed(0)
        model = tg.GCN(8, 16, 3)
        tg.train_node_classifier(model, x, edge_index, np.where(mask, y, -1), mask)
        return float(np.mean(tg.predict_nodes(model, x, edge_index).numpy()[~mask] == y[~mask]))

    def cycles_vs_trees():
        secret = np.random.default_rng(0)
        edges, sizes, y = generated.cycles_and_trees(200, seed=secret)
        test_edges, test_sizes, test_y = generated.cycles_and_trees(200, seed=secret)
        torch.manual_seed(0)
        model = tg.GraphClassifier(1, 1, 16, 2)
        tg.train_graph_classifier(model, *hidden.structure_only(edges, sizes), y)
        predicted = tg.predict_graphs(model, *hidden.structure_only(test_edges, test_sizes), len(test_y))
        return float(np.mean(predicted.numpy() == test_y))

    rows = []
    for key, run in [("karate_accuracy", karate), ("sbm_accuracy", sbm), ("cycles_vs_trees_accuracy", cycles_vs_trees)]:
        seconds, cpu, score = timed(run)
        rows.append((f"threshold {key}", "reference, secret seed 0", f"{seconds:.2f} s",
                     f"CPU {cpu:.2f} s, score {score:.3f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print_table(scatter_rows(args.repeat) + threshold_rows(), ("what", "setting", "time", "relative"))


if __name__ == "__main__":
    main()
