"""Hidden tests for assignment 13: never released. Expected values come from the reference.

MDPs, FrozenLake maps, seeds and initial weights are drawn from ``secret``. The threshold
tests run the student's training in the sandbox, then evaluate what it learned here, with
the reference code: the greedy policy of the returned Q table, and the greedy policy of the
trained network rebuilt from its state_dict().
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.envs.toy_text.frozen_lake import generate_random_map

from autograder.grading.proxy import fetch
from autograder.student.checks import as_array, as_number, assert_at_least, assert_close, assert_shape
from autograder.student.generated import random_mdp
from reference import mdp, tabular
from reference import policy_gradient as pg

F64 = torch.float64


def seed_from(secret) -> int:
    return int(secret.integers(2**31))


def cliff_walking_arrays(**kwargs):
    return mdp.mdp_arrays(gym.make("CliffWalking-v1", **kwargs).unwrapped.P)


def random_lake(secret, size=4):
    """A random FrozenLake map, turned by a secret multiple of 90 degrees and perhaps mirrored:
    the start and the goal are in any two opposite corners."""
    grid = np.rot90([list(row) for row in generate_random_map(size=size, seed=seed_from(secret))],
                    int(secret.integers(4)))
    return ["".join(row) for row in (grid[:, ::-1] if secret.integers(2) else grid)]


def random_policy(secret, n_states, n_actions):
    return secret.dirichlet(np.ones(n_actions), size=n_states)


# -- MDPs

@pytest.mark.points(2)
def test_mdp_arrays_match_reference(student, secret):
    """Slippery CliffWalking and a random 6x6 FrozenLake map."""
    for table in (gym.make("CliffWalking-v1", is_slippery=True).unwrapped.P,
                  gym.make("FrozenLake-v1", desc=random_lake(secret, size=6)).unwrapped.P):
        arrays = student.mdp_arrays(table)
        if not isinstance(arrays, (tuple, list)) or len(arrays) != 3:
            raise AssertionError("mdp_arrays should return the three arrays (transitions, rewards, terminal)")
        for got, expected, name in zip(arrays, mdp.mdp_arrays(table), ("transitions", "rewards", "terminal")):
            assert_close(got, expected, f"{name} of mdp_arrays(table)")


@pytest.mark.points(1)
def test_solve_bellman_matches_reference(student, secret):
    """A random MDP of 20 states and a random stochastic policy, gamma = 0.95."""
    transitions, rewards, terminal = random_mdp(20, 4, 3, seed=secret)
    policy = random_policy(secret, 20, 4)
    assert_close(student.solve_bellman(transitions, rewards, terminal, policy, 0.95),
                 mdp.solve_bellman(transitions, rewards, terminal, policy, 0.95), "solve_bellman(...)")


@pytest.mark.points(1)
def test_q_from_v_ignores_the_values_of_terminal_states(student, secret):
    """On CliffWalking, with a V that is not 0 at the goal."""
    transitions, rewards, terminal = cliff_walking_arrays()
    V = secret.normal(size=48) - 5
    assert_close(student.q_from_v(transitions, rewards, terminal, V, 0.9),
                 mdp.q_from_v(transitions, rewards, terminal, V, 0.9), "q_from_v(...) on CliffWalking")


@pytest.mark.points(2)
def test_policy_evaluation_matches_the_linear_solve(student, secret):
    """Slippery CliffWalking (whose goal leads on to other states) and a random MDP."""
    for (transitions, rewards, terminal), gamma in ((cliff_walking_arrays(is_slippery=True), 0.95),
                                                     (random_mdp(15, 3, 2, seed=secret), 0.9)):
        policy = random_policy(secret, *rewards.shape)
        V = student.policy_evaluation(transitions, rewards, terminal, policy, gamma, tol=1e-12)
        assert_close(V, mdp.solve_bellman(transitions, rewards, terminal, policy, gamma),
                     f"policy_evaluation(...) with gamma = {gamma}", atol=1e-8)


@pytest.mark.points(1)
def test_greedy_policy_matches_reference(student, secret):
    """A random Q table with many ties."""
    Q = secret.integers(0, 3, size=(30, 4)).astype(float)  # many ties
    assert_close(student.greedy_policy(Q), mdp.greedy_policy(Q), "greedy_policy(Q)")


@pytest.mark.points(2)
def test_policy_iteration_finds_the_optimal_values(student, secret):
    """FrozenLake 8x8 and a random MDP: the policy's exact values are the optimal ones."""
    problems = ((mdp.mdp_arrays(gym.make("FrozenLake-v1", map_name="8x8").unwrapped.P), 0.95),
                (random_mdp(15, 4, 2, seed=secret), 0.9))
    for (transitions, rewards, terminal), gamma in problems:
        policy, V, _ = student.policy_iteration(transitions, rewards, terminal, gamma)
        policy = as_array(policy, "the policy of policy_iteration")
        assert_shape(policy, rewards.shape, "the policy of policy_iteration")
        optimal, _ = mdp.value_iteration(transitions, rewards, terminal, gamma, tol=1e-12)
        exact = mdp.solve_bellman(transitions, rewards, terminal, policy, gamma)
        assert_close(exact, optimal, "the exact values of the policy of policy_iteration", atol=1e-8)
        assert_close(V, exact, "the values policy_iteration returns", atol=1e-8)


@pytest.mark.points(2)
def test_value_iteration_matches_reference_sweep_by_sweep(student, secret):
    """A random MDP of 25 states: the same values and the same largest change in every sweep."""
    transitions, rewards, terminal = random_mdp(25, 3, 3, seed=secret)
    V, changes = student.value_iteration(transitions, rewards, terminal, 0.9, tol=1e-9)
    expected_V, expected_changes = mdp.value_iteration(transitions, rewards, terminal, 0.9, tol=1e-9)
    assert_close(V, expected_V, "the values of value_iteration(..., tol=1e-9)", atol=1e-12)
    assert_close(changes, expected_changes, "the changes of value_iteration, sweep by sweep", atol=1e-12)


# -- Q-learning

@pytest.mark.points(1)
def test_epsilon_greedy_matches_reference(student, secret):
    """Fifty calls with random epsilons and tied values: the same actions from the same generator."""
    seed = seed_from(secret)
    rows = secret.integers(0, 3, size=(50, 5)).astype(float)
    epsilons = secret.uniform(size=50)
    rng, expected_rng = student.np.random.default_rng(seed), np.random.default_rng(seed)
    actions = [student.epsilon_greedy(q, e, rng) for q, e in zip(rows, epsilons)]
    expected = [tabular.epsilon_greedy(q, e, expected_rng) for q, e in zip(rows, epsilons)]
    assert_close(actions, expected, f"the actions of epsilon_greedy with np.random.default_rng({seed})")


@pytest.mark.points(2)
@pytest.mark.parametrize("env_id, options", [("FrozenLake-v1", {}), ("CliffWalking-v1", {"max_episode_steps": 15})])
def test_q_learning_matches_reference_step_by_step(student, secret, env_id, options):
    """200 episodes, other settings, on a random slippery map or on CliffWalking cut after 15 steps: the same Q and history."""
    if env_id == "FrozenLake-v1":
        options = {"desc": random_lake(secret)}
    seed = seed_from(secret)
    settings = dict(alpha=0.2, gamma=0.95, epsilon_start=0.9, epsilon_end=0.1, decay_episodes=120, seed=seed)
    Q, history = student.q_learning(student.gym.make(env_id, **options), 200, **settings)
    expected_Q, expected = tabular.q_learning(gym.make(env_id, **options), 200, **settings)
    if not isinstance(history, dict):
        raise AssertionError(f"q_learning's history is a {type(history).__name__}, expected a dict")
    for key in ("epsilon", "length", "return"):
        assert_close(history.get(key), expected[key], f"history['{key}'] on {env_id}")
    assert_close(Q, expected_Q, f"Q after 200 episodes on {env_id}", atol=1e-12)


def winnable_maps(secret, count=3, at_least=0.9):
    """``count`` random 4x4 maps on which the goal can be reached with probability >= at_least."""
    maps = []
    while len(maps) < count:
        desc = random_lake(secret)
        arrays = mdp.mdp_arrays(gym.make("FrozenLake-v1", desc=desc).unwrapped.P)
        best, _ = mdp.value_iteration(*arrays, 1.0, tol=1e-10)
        if best["".join(desc).index("S")] >= at_least:
            maps.append(desc)
    return maps


@pytest.mark.points(4)
@pytest.mark.time_limit(60)
def test_q_learning_reaches_success_threshold(student, secret, thresholds):
    """Three random slippery 4x4 maps, turned: the grader runs the greedy policy of each learned Q table."""
    rates = []
    for desc in winnable_maps(secret):
        Q, _ = student.q_learning(student.gym.make("FrozenLake-v1", desc=desc), 3000, seed=seed_from(secret))
        Q = as_array(Q, "Q")
        assert_shape(Q, (16, 4), "Q")
        greedy = np.argmax(Q, axis=1)
        returns = tabular.episode_returns(gym.make("FrozenLake-v1", desc=desc), lambda state: int(greedy[state]),
                                          1000, seed=seed_from(secret))
        rates.append(returns.mean())
    assert_at_least(np.mean(rates), thresholds["frozen_lake_success_rate"],
                    f"the success rate of the greedy policies (per map {np.round(rates, 3).tolist()})")


@pytest.mark.points(1)
def test_episode_returns_match_reference(student, secret):
    """A fixed policy on a random slippery map: the same returns from the same seed."""
    desc, seed = random_lake(secret), seed_from(secret)
    returns = student.episode_returns(student.gym.make("FrozenLake-v1", desc=desc), fetch(student.np.sign), 300, seed)
    expected = tabular.episode_returns(gym.make("FrozenLake-v1", desc=desc), np.sign, 300, seed)
    assert_close(returns, expected, f"episode_returns(env, act, 300, seed={seed})")


# -- REINFORCE

def twin(student, *sizes, dtype=None, seed=0):
    """(student MLP, reference MLP) of the same sizes with the same weights."""
    torch.manual_seed(seed)
    reference = pg.MLP(*sizes, dtype=dtype)
    model = student.MLP(*sizes, dtype=dtype)
    model.load_state_dict(dict(reference.state_dict()))
    return model, reference


@pytest.mark.points(1)
def test_mlp_and_its_input_gradient_match_reference(student, secret):
    """Other sizes, float64: the same outputs and input gradients."""
    model, reference = twin(student, 5, 7, 3, dtype=F64, seed=seed_from(secret))
    x = torch.from_numpy(secret.normal(size=(6, 5)))
    grad_output = torch.from_numpy(secret.normal(size=(6, 3)))
    out, grad = student.torch.autograd.functional.vjp(model, x, grad_output)
    expected_out, expected_grad = torch.autograd.functional.vjp(reference, x, grad_output)
    assert_close(out, expected_out, "MLP(5, 7, 3)(x)")
    assert_close(grad, expected_grad, "the gradient of MLP(5, 7, 3)(x) with respect to x")


@pytest.mark.points(1)
def test_discounted_returns_match_reference(student, secret):
    """Three hundred random rewards, gamma = 0.97."""
    rewards = secret.normal(size=300)
    assert_close(student.discounted_returns(rewards, 0.97), pg.discounted_returns(rewards, 0.97),
                 "discounted_returns(rewards, 0.97) of 300 rewards")


@pytest.mark.points(1)
def test_action_log_probs_match_reference(student, secret):
    """Three actions, float64, random observations."""
    model, reference = twin(student, 4, 6, 3, dtype=F64, seed=seed_from(secret))
    observations = torch.from_numpy(secret.normal(size=(15, 4)))
    actions = torch.from_numpy(secret.integers(0, 3, 15))
    assert_close(student.action_log_probs(model, observations, actions),
                 pg.action_log_probs(reference, observations, actions).detach(), "action_log_probs(...)")


@pytest.mark.points(2)
def test_reinforce_losses_and_gradients_match_reference(student, secret):
    """Both losses and the gradients of a random mix of them with respect to log_probs and values."""
    inputs = tuple(torch.from_numpy(secret.normal(size=20)) for _ in range(3))
    weights = tuple(torch.tensor(w, dtype=F64) for w in secret.normal(size=2))
    losses, grads = student.torch.autograd.functional.vjp(fetch(student.reinforce_losses), inputs, weights)
    expected_losses, expected_grads = torch.autograd.functional.vjp(pg.reinforce_losses, inputs, weights)
    for got, expected, name in zip(losses, expected_losses, ("policy_loss", "value_loss")):
        assert_close(got, expected, name)
    for got, expected, name in zip(grads, expected_grads, ("log_probs", "values")):  # returns are data
        assert_close(got, expected, f"the gradient of a weighted sum of the two losses with respect to {name}")


STEP_BUDGET = 40_000


@pytest.mark.points(4)
@pytest.mark.time_limit(120)
def test_reinforce_reaches_return_threshold(student, secret, thresholds, device):
    """CartPole-v1 within 40,000 steps: the grader runs the greedy policy of the trained network."""
    policy, reference = twin(student, 4, 32, 2, seed=seed_from(secret))
    baseline, _ = twin(student, 4, 32, 1, seed=seed_from(secret))
    env = student.gym.wrappers.RecordEpisodeStatistics(student.gym.make("CartPole-v1"), buffer_length=STEP_BUDGET)
    student.train_reinforce(env, policy, baseline, STEP_BUDGET, seed=seed_from(secret), device=device)
    steps = as_number(student.np.sum(fetch(env.length_queue)), "the number of steps")
    if not 0 < steps <= STEP_BUDGET + 500:
        raise AssertionError(f"train_reinforce(env, ..., total_steps={STEP_BUDGET}) finished episodes of "
                             f"{steps:.0f} steps in all on the environment it was given")
    reference.load_state_dict({name: torch.as_tensor(value) for name, value in policy.state_dict().items()})

    def greedy(observation):
        with torch.no_grad():
            return int(reference(torch.as_tensor(observation)).argmax())

    returns = tabular.episode_returns(gym.make("CartPole-v1"), greedy, 20, seed=seed_from(secret))
    assert_at_least(returns.mean(), thresholds["cartpole_return"],
                    "the average return of the greedy policy over 20 episodes")
