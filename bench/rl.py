"""Assignment 13 in one table: value iteration against the exact linear solve (sweeps and time
until every value is within 1e-8 of the solve's), policy iteration beside them, and the wall
time of each training threshold's run (the grader's procedure, with a fixed secret), all on
one core.

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/rl.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.course import load_course  # noqa: E402
from bench.measure import hidden_tests, median_seconds, print_table, timed  # noqa: E402
from reference import mdp, tabular  # noqa: E402
from reference import policy_gradient as pg  # noqa: E402

PROBLEMS = [("FrozenLake 4x4", "FrozenLake-v1", {}), ("FrozenLake 8x8", "FrozenLake-v1", {"map_name": "8x8"}),
            ("CliffWalking", "CliffWalking-v1", {}), ("CliffWalking, slippery", "CliffWalking-v1", {"is_slippery": True}),
            ("Taxi", "Taxi-v4", {})]
TOLERANCE = 1e-8


def sweeps_to(arrays, gamma, exact, tolerance):
    """The number of synchronous value-iteration sweeps from V = 0 until max |V - exact| <= tolerance."""
    V, sweeps = np.zeros(len(exact)), 0
    while np.max(np.abs(V - exact)) > tolerance:
        V = mdp.q_from_v(*arrays, V, gamma).max(axis=1)
        sweeps += 1
    return sweeps


def planning_rows(repeat: int) -> list[tuple]:
    rows = []
    for name, env_id, kwargs in PROBLEMS:
        arrays = mdp.mdp_arrays(gym.make(env_id, **kwargs).unwrapped.P)
        for gamma in (0.9, 0.99):
            optimal, _ = mdp.value_iteration(*arrays, gamma, tol=1e-13)
            policy = mdp.greedy_policy(mdp.q_from_v(*arrays, optimal, gamma))
            exact = mdp.solve_bellman(*arrays, policy, gamma)
            sweeps = sweeps_to(arrays, gamma, exact, TOLERANCE)
            iteration = median_seconds(lambda: mdp.value_iteration(*arrays, gamma, tol=0.0, max_iterations=sweeps), repeat)
            solve = median_seconds(lambda: mdp.solve_bellman(*arrays, policy, gamma), repeat)
            improvement, _, (_, _, evaluations) = timed(lambda: mdp.policy_iteration(*arrays, gamma))
            rows.append((f"value iteration to {TOLERANCE:g}", f"{name} ({len(exact)} states), gamma {gamma}",
                         f"{1e3 * iteration:.2f} ms", f"{sweeps} sweeps; exact solve {1e3 * solve:.2f} ms; "
                         f"policy iteration {evaluations} evaluations, {1e3 * improvement:.0f} ms"))
    return rows


def threshold_rows() -> list[tuple]:
    hidden = hidden_tests("13_rl")
    thresholds = load_course(ROOT).assignment("13_rl").thresholds

    def frozen_lake():
        secret, rates = np.random.default_rng(0), []
        for desc in hidden.winnable_maps(secret):
            Q, _ = tabular.q_learning(gym.make("FrozenLake-v1", desc=desc), 3000, seed=hidden.seed_from(secret))
            greedy = np.argmax(Q, axis=1)
            rates.append(tabular.episode_returns(gym.make("FrozenLake-v1", desc=desc), lambda s: int(greedy[s]),
                                                 1000, seed=hidden.seed_from(secret)).mean())
        return float(np.mean(rates))

    def cartpole():
        secret = np.random.default_rng(0)
        torch.manual_seed(hidden.seed_from(secret))
        policy = pg.MLP(4, 32, 2)
        torch.manual_seed(hidden.seed_from(secret))
        baseline = pg.MLP(4, 32, 1)
        pg.train_reinforce(gym.make("CartPole-v1"), policy, baseline, hidden.STEP_BUDGET, seed=hidden.seed_from(secret))

        def greedy(observation):
            with torch.no_grad():
                return int(policy(torch.as_tensor(observation)).argmax())

        return float(tabular.episode_returns(gym.make("CartPole-v1"), greedy, 20, seed=hidden.seed_from(secret)).mean())

    runs = {"frozen_lake_success_rate": frozen_lake, "cartpole_return": cartpole}
    return [(f"threshold {key}", "reference, secret seed 0", f"{wall:.2f} s",
             f"CPU {cpu:.2f} s; score {score:.3f} (threshold {thresholds[key]:g})")
            for key, (wall, cpu, score) in ((key, timed(run)) for key, run in runs.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print_table(planning_rows(args.repeat) + threshold_rows(), ("what", "setting", "time", "detail"))


if __name__ == "__main__":
    main()
