"""Assignment 13's Q-learning threshold measures what was learned on the grader's map, not a
lookup: the pattern of test_lookup.py, run by its own test.

The grader trains q_learning on random 4x4 maps drawn from its secret, turned so that the
start and the goal can be in any two opposite corners, and runs the greedy policy of each
returned Q table itself. A Q table that was not learned but pasted (the optimal one of
FrozenLake's public 4x4 map, which a notebook can compute or copy) is worth no more on
those maps than a Q table of zeros. (Unturned, random 4x4 maps are often easy enough for
the public map's policy to pass.) CartPole has no public data to look up; its
threshold runs the greedy policy of the trained weights in the grader.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import nbformat
import numpy as np

from autograder.grading.extract import build_program
from autograder.grading.grade import grade_submission
from autograder.sandbox import launch

from conftest import loaded, rubric_for, source_notebooks
from test_lookup import appended, threshold_tests

A = "13_rl"
THRESHOLD_TEST = "test_q_learning_reaches_success_threshold"

LEARN_NOTHING = '''
def q_learning(env, n_episodes, **options):
    return np.zeros((env.observation_space.n, env.action_space.n)), {"return": [], "length": [], "epsilon": []}
'''

PASTE_THE_PUBLIC_MAP = '''
def q_learning(env, n_episodes, gamma=0.99, **options):
    """The optimal Q of FrozenLake's public 4x4 map, whatever map env holds."""
    public = mdp_arrays(gym.make("FrozenLake-v1").unwrapped.P)
    V, _ = value_iteration(*public, gamma)
    return q_from_v(*public, V, gamma), {"return": [], "length": [], "epsilon": []}
'''


def test_a_q_table_pasted_from_the_public_map_earns_what_learning_nothing_earns(built, tmp_path):
    [(name, source)] = source_notebooks(built, A).items()
    reference = nbformat.read(source, as_version=4)
    nothing = appended(reference, "episode_returns", LEARN_NOTHING)
    lookup = appended(reference, "episode_returns", PASTE_THE_PUBLIC_MAP)
    rubric = dataclasses.replace(rubric_for(A), only=[THRESHOLD_TEST])
    scores = {}
    for label, notebook in [("nothing", nothing), ("lookup", lookup)]:
        nbformat.write(notebook, tmp_path / f"{label}.ipynb")
        result = grade_submission(rubric, label, {name: tmp_path / f"{label}.ipynb"})
        assert [t.name for t in result.tests] == [THRESHOLD_TEST]
        scores[label] = result.score
    assert scores == {"nothing": 0, "lookup": 0}
    # not vacuous: on the public map the pasted table is the optimal policy
    program = build_program(rubric.instructor, {name: tmp_path / "lookup.ipynb"})
    with loaded(program, rubric.limits, launch.detect_isolation()) as student:
        pasted = np.asarray(student.q_learning(student.gym.make("FrozenLake-v1"), 1)[0])
    env = gym.make("FrozenLake-v1")
    successes = 0
    for episode in range(300):
        state, _ = env.reset(seed=0 if episode == 0 else None)
        done = False
        while not done:
            state, reward, terminated, truncated, _ = env.step(int(np.argmax(pasted[state])))
            done = terminated or truncated
        successes += reward
    assert successes / 300 > 0.7


def test_every_threshold_test_of_13_is_covered():
    assert threshold_tests(A) == {THRESHOLD_TEST, "test_reinforce_reaches_return_threshold"}
