"""The reference's reinforcement learning (13): MDP arrays from gymnasium's tables, exact and
iterative policy evaluation, policy and value iteration, Q-learning, and REINFORCE with a
baseline (direct formulas and torch.distributions)."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.envs.toy_text.frozen_lake import generate_random_map
from torch.nn import functional as F

from autograder.student.generated import random_mdp
from reference import mdp, tabular
from reference import policy_gradient as pg


def table_of(name, **kwargs):
    return gym.make(name, **kwargs).unwrapped.P


def frozen_lake(**kwargs):
    return mdp.mdp_arrays(table_of("FrozenLake-v1", **kwargs))


def cliff_walking(**kwargs):
    return mdp.mdp_arrays(table_of("CliffWalking-v1", **kwargs))


MDPS = {
    "frozen_lake_4x4": frozen_lake,
    "frozen_lake_8x8": lambda: frozen_lake(map_name="8x8"),
    "cliff_walking": cliff_walking,
    "slippery_cliff_walking": lambda: cliff_walking(is_slippery=True),
    "random": lambda: random_mdp(15, 4, 3, seed=1),
}


def random_policy(rng, n_states, n_actions):
    return rng.dirichlet(np.ones(n_actions), size=n_states)


def bellman_residual(transitions, rewards, terminal, policy, gamma, V):
    """max |V - T_pi V| over non-terminal states, written out state by state."""
    worst = 0.0
    for s in np.flatnonzero(~terminal):
        backup = sum(policy[s, a] * (rewards[s, a] + gamma * sum(
            transitions[s, a, t] * V[t] for t in range(len(V)) if not terminal[t]))
            for a in range(rewards.shape[1]))
        worst = max(worst, abs(V[s] - backup))
    return worst


# -- MDP arrays

def test_frozen_lake_arrays_follow_the_map():
    transitions, rewards, terminal = frozen_lake()
    desc = "SFFFFHFHFFFHHFFG"  # the 4x4 map, row by row
    assert transitions.shape == (16, 4, 16) and rewards.shape == (16, 4)
    np.testing.assert_allclose(transitions.sum(axis=2), 1.0)
    assert list(np.flatnonzero(terminal)) == [i for i, c in enumerate(desc) if c in "HG"]
    # slippery: "left" at the start slips up or left into a wall (two tuples, both staying) or down
    np.testing.assert_allclose(transitions[0, 0, [0, 4]], [2 / 3, 1 / 3])
    # the only reward: entering the goal (15), possible from 14 only (11 is a hole)
    assert {(int(s), int(a)) for s, a in zip(*np.nonzero(rewards))} == {(14, 1), (14, 2), (14, 3)}
    np.testing.assert_allclose(rewards[14, 2], 1 / 3)


def test_cliff_walking_arrays():
    transitions, rewards, terminal = cliff_walking()
    assert list(np.flatnonzero(terminal)) == [47]
    assert rewards[36, 1] == -100 and transitions[36, 1, 36] == 1  # into the cliff, back to start
    assert rewards[35, 2] == -1 and transitions[35, 2, 47] == 1


# -- evaluating a policy

@pytest.mark.parametrize("name", MDPS)
def test_exact_values_satisfy_the_bellman_equation(name):
    transitions, rewards, terminal = MDPS[name]()
    policy = random_policy(np.random.default_rng(0), *rewards.shape)
    V = mdp.solve_bellman(transitions, rewards, terminal, policy, 0.9)
    assert np.all(V[terminal] == 0)
    assert bellman_residual(transitions, rewards, terminal, policy, 0.9, V) < 1e-10


def test_exact_values_of_a_two_state_chain():
    # state 0 -> state 1 (reward 1) -> terminal state 2 (reward 2); the terminal row is ignored
    transitions = np.zeros((3, 1, 3))
    transitions[0, 0, 1] = transitions[1, 0, 2] = transitions[2, 0, 0] = 1
    rewards = np.array([[1.0], [2.0], [5.0]])
    terminal = np.array([False, False, True])
    V = mdp.solve_bellman(transitions, rewards, terminal, np.ones((3, 1)), 0.5)
    np.testing.assert_allclose(V, [1 + 0.5 * 2, 2, 0])


@pytest.mark.parametrize("name", MDPS)
@pytest.mark.parametrize("gamma", [0.5, 0.95])
def test_policy_evaluation_matches_the_linear_solve(name, gamma):
    transitions, rewards, terminal = MDPS[name]()
    policy = random_policy(np.random.default_rng(1), *rewards.shape)
    expected = mdp.solve_bellman(transitions, rewards, terminal, policy, gamma)
    V = mdp.policy_evaluation(transitions, rewards, terminal, policy, gamma, tol=1e-12)
    np.testing.assert_allclose(V, expected, atol=1e-9)


def test_q_from_v_is_one_step_of_lookahead_and_ignores_terminal_values():
    transitions, rewards, terminal = random_mdp(8, 3, 2, seed=4)
    V = np.random.default_rng(0).standard_normal(8)
    Q = mdp.q_from_v(transitions, rewards, terminal, V, 0.8)
    for s in range(8):
        for a in range(3):
            expected = 0.0 if terminal[s] else rewards[s, a] + 0.8 * sum(
                transitions[s, a, t] * V[t] for t in range(8) if not terminal[t])
            assert np.isclose(Q[s, a], expected)


def test_values_of_a_policy_average_its_q_values():
    transitions, rewards, terminal = cliff_walking(is_slippery=True)
    policy = random_policy(np.random.default_rng(2), *rewards.shape)
    V = mdp.solve_bellman(transitions, rewards, terminal, policy, 0.9)
    Q = mdp.q_from_v(transitions, rewards, terminal, V, 0.9)
    np.testing.assert_allclose(np.sum(policy * Q, axis=1), V, atol=1e-10)


def test_greedy_policy_is_one_hot_with_ties_to_the_lowest_action():
    Q = np.array([[0.0, 1.0, 1.0], [2.0, 2.0, 2.0], [-1.0, -3.0, -0.5]])
    np.testing.assert_array_equal(mdp.greedy_policy(Q), np.eye(3)[[1, 0, 2]])


# -- control

@pytest.mark.parametrize("name", MDPS)
@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_policy_and_value_iteration_find_the_same_optimal_values(name, gamma):
    transitions, rewards, terminal = MDPS[name]()
    policy, V, iterations = mdp.policy_iteration(transitions, rewards, terminal, gamma)
    optimal, changes = mdp.value_iteration(transitions, rewards, terminal, gamma, tol=1e-10)
    exact = mdp.solve_bellman(transitions, rewards, terminal, policy, gamma)
    np.testing.assert_allclose(V, exact, atol=1e-8)
    np.testing.assert_allclose(optimal, exact, atol=1e-7)
    assert iterations < 20 and changes[-1] <= 1e-10
    np.testing.assert_array_equal(policy.sum(axis=1), 1)
    # no policy does better in any state
    for seed in range(5):
        other = random_policy(np.random.default_rng(seed), *rewards.shape)
        assert np.all(mdp.solve_bellman(transitions, rewards, terminal, other, gamma) <= exact + 1e-9)


def test_value_iteration_stops_within_the_error_bound():
    transitions, rewards, terminal = frozen_lake(map_name="8x8")
    gamma, tol = 0.95, 1e-6
    V, changes = mdp.value_iteration(transitions, rewards, terminal, gamma, tol=tol)
    policy = mdp.greedy_policy(mdp.q_from_v(transitions, rewards, terminal, V, gamma))
    exact = mdp.solve_bellman(transitions, rewards, terminal, policy, gamma)
    assert np.max(np.abs(V - exact)) <= tol * gamma / (1 - gamma)
    assert changes[-2] > tol >= changes[-1]
    assert all(later <= earlier * gamma + 1e-15 for earlier, later in zip(changes, changes[1:]))


# -- Q-learning

def test_epsilon_greedy_draws_once_when_greedy_and_twice_when_exploring():
    q_values = np.array([0.0, 3.0, 3.0, 1.0])
    rng, replay = np.random.default_rng(5), np.random.default_rng(5)
    for epsilon in [0.0, 0.3, 1.0] * 50:
        explore = replay.random() < epsilon
        expected = int(replay.integers(4)) if explore else 1
        assert tabular.epsilon_greedy(q_values, epsilon, rng) == expected


def test_q_learning_history_and_epsilon_schedule():
    env = gym.make("FrozenLake-v1")
    Q, history = tabular.q_learning(env, 40, epsilon_start=0.9, epsilon_end=0.1, decay_episodes=10)
    assert Q.shape == (16, 4) and np.all(Q[[5, 7, 11, 12, 15]] == 0)
    assert [len(history[k]) for k in ("return", "length", "epsilon")] == [40, 40, 40]
    np.testing.assert_allclose(history["epsilon"][:12], [0.9 - 0.08 * k for k in range(11)] + [0.1])
    again, _ = tabular.q_learning(env, 40, epsilon_start=0.9, epsilon_end=0.1, decay_episodes=10)
    np.testing.assert_array_equal(Q, again)


def test_q_learning_finds_the_path_along_the_cliff():
    env = gym.make("CliffWalking-v1", max_episode_steps=200)
    Q, _ = tabular.q_learning(env, 300, alpha=0.5, seed=3)
    transitions, rewards, terminal = cliff_walking()
    V, _ = mdp.value_iteration(transitions, rewards, terminal, 0.99)
    optimal = mdp.q_from_v(transitions, rewards, terminal, V, 0.99)
    np.testing.assert_array_equal(tabular.episode_returns(env, lambda s: int(np.argmax(Q[s])), 2, seed=0), -13)
    path = [36, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35]
    np.testing.assert_allclose(Q[path].max(axis=1), optimal[path].max(axis=1), atol=1e-6)


def test_q_learning_succeeds_on_random_slippery_maps():
    for seed in range(3):
        env = gym.make("FrozenLake-v1", desc=generate_random_map(size=4, seed=seed))
        Q, _ = tabular.q_learning(env, 3000, seed=seed)
        returns = tabular.episode_returns(env, lambda s: int(np.argmax(Q[s])), 300, seed=100)
        assert returns.mean() > 0.8


def test_episode_returns_follow_the_seed():
    env = gym.make("CartPole-v1")
    first = tabular.episode_returns(env, lambda observation: int(observation[2] > 0), 5, seed=3)
    again = tabular.episode_returns(env, lambda observation: int(observation[2] > 0), 5, seed=3)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (5,) and np.all(first >= 8) and len(set(first)) > 1


# -- REINFORCE

def test_mlp_is_linear_tanh_linear():
    torch.manual_seed(0)
    model = pg.MLP(4, 8, 2).double()
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)
    assert list(model.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.99, 1.0])
def test_discounted_returns_match_the_direct_sum(gamma):
    rewards = np.random.default_rng(0).standard_normal(30)
    expected = [sum(gamma ** (k - t) * rewards[k] for k in range(t, 30)) for t in range(30)]
    np.testing.assert_allclose(pg.discounted_returns(rewards, gamma), expected, rtol=1e-12, atol=1e-12)
    assert pg.discounted_returns([], gamma).shape == (0,)


def test_action_log_probs_match_torch_distributions():
    torch.manual_seed(1)
    policy = pg.MLP(4, 8, 3, dtype=torch.float64)
    observations = torch.randn(10, 4, dtype=torch.float64)
    actions = torch.randint(0, 3, (10,))
    expected = torch.distributions.Categorical(logits=policy(observations)).log_prob(actions)
    torch.testing.assert_close(pg.action_log_probs(policy, observations, actions), expected)


def test_reinforce_losses_and_their_gradients():
    generator = torch.Generator().manual_seed(2)
    log_probs, values, returns = torch.randn(3, 12, dtype=torch.float64, generator=generator)
    log_probs.requires_grad_()
    values.requires_grad_()
    policy_loss, value_loss = pg.reinforce_losses(log_probs, values, returns)
    advantages = (returns - values).detach()
    torch.testing.assert_close(policy_loss, -(advantages * log_probs).mean())
    torch.testing.assert_close(value_loss, ((returns - values) ** 2).mean())
    grad_log_probs, grad_values = torch.autograd.grad(policy_loss, (log_probs, values), allow_unused=True)
    torch.testing.assert_close(grad_log_probs, -advantages / 12)
    assert grad_values is None  # the baseline is a constant for the policy
    (grad_values,) = torch.autograd.grad(value_loss, values)
    torch.testing.assert_close(grad_values, 2 * (values - returns).detach() / 12)


def test_run_episode_replays_in_the_environment():
    torch.manual_seed(0)
    policy = pg.MLP(4, 8, 2)
    observations, actions, rewards = pg.run_episode(gym.make("CartPole-v1"), policy, seed=7)
    assert observations.dtype == np.float32 and actions.dtype == np.int64 and rewards.dtype == np.float64
    assert observations.shape == (len(actions), 4) and rewards.shape == actions.shape
    env = gym.make("CartPole-v1")
    observation, _ = env.reset(seed=7)
    for t, action in enumerate(actions):
        np.testing.assert_array_equal(observation, observations[t])
        observation, reward, terminated, truncated, _ = env.step(int(action))
        assert reward == rewards[t] and (terminated or truncated) == (t == len(actions) - 1)


def test_run_episode_samples_from_the_softmax():
    policy = pg.MLP(4, 2, 2)
    with torch.no_grad():
        policy.fc2.weight.zero_()
        policy.fc2.bias.copy_(torch.tensor([0.0, np.log(3.0)]))  # pi(right) = 3/4 everywhere
    torch.manual_seed(0)
    actions = np.concatenate([pg.run_episode(gym.make("CartPole-v1"), policy, seed=s)[1] for s in range(100)])
    assert abs(actions.mean() - 0.75) < 4 * np.sqrt(0.75 * 0.25 / len(actions))


def test_train_reinforce_learns_to_balance():
    torch.manual_seed(0)
    policy, baseline = pg.MLP(4, 32, 2), pg.MLP(4, 32, 1)
    history = pg.train_reinforce(gym.make("CartPole-v1"), policy, baseline, 15_000, seed=1)
    assert np.mean(history[-10:]) > 2 * np.mean(history[:10])
    assert 15_000 <= sum(history) < 15_000 + 500  # CartPole pays 1 per step


def test_train_reinforce_moves_the_networks_to_the_device_and_keeps_dtypes():
    policy, baseline = pg.MLP(4, 8, 2, dtype=torch.float64), pg.MLP(4, 8, 1, dtype=torch.float64)
    history = pg.train_reinforce(gym.make("CartPole-v1"), policy, baseline, 200, device="cpu")
    assert sum(history) >= 200 and policy.fc1.weight.dtype == torch.float64
    assert F.softmax(policy(torch.zeros(4, dtype=torch.float64)), -1).sum().item() == pytest.approx(1.0)
