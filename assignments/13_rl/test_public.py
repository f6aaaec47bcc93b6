"""Public tests for assignment 13: students have this file and can run it with `course check`.

Expected values come from the definitions (the Bellman equations, the direct sum of
discounted rewards), from torch.distributions and torch.autograd, and from replaying the
student's episodes in the grader's own copy of the environment; the hidden tests compare
against the reference solution on other MDPs, maps and seeds.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from autograder.grading.proxy import fetch
from autograder.student.checks import as_array, assert_close, assert_shape, checked_state_dict
from autograder.student.generated import random_mdp

LAKE_4X4 = "SFFFFHFHFFFHHFFG"  # FrozenLake's default map, row by row


def frozen_lake_table(**kwargs):
    return gym.make("FrozenLake-v1", **kwargs).unwrapped.P


def random_policy(rng, n_states, n_actions):
    return rng.dirichlet(np.ones(n_actions), size=n_states)


def lookahead(transitions, rewards, terminal, V, gamma):
    """Q(s, a) = R(s, a) + gamma sum over non-terminal s2 of P(s2|s, a) V(s2); 0 at terminal s."""
    backup = rewards + gamma * np.einsum("sat,t->sa", transitions, np.where(terminal, 0.0, V))
    return np.where(terminal[:, None], 0.0, backup)


# -- 1. MDP arrays

@pytest.mark.points(2)
def test_mdp_arrays_of_frozen_lake_follow_the_map(student):
    """Transition rows are distributions, the holes and the goal are terminal, only the goal pays."""
    transitions, rewards, terminal = student.mdp_arrays(frozen_lake_table())
    assert_shape(transitions, (16, 4, 16), "transitions")
    assert_shape(rewards, (16, 4), "rewards")
    assert_shape(terminal, (16,), "terminal")
    assert_close(np.sum(transitions, axis=2), np.ones((16, 4)), "the sum of transitions[s, a] over next states")
    assert_close(transitions[0, 0, 0], 2 / 3, "transitions[0, 0, 0] (slipping up and left both stay in 0)")
    assert_close(terminal, [c in "HG" for c in LAKE_4X4], "terminal (the holes and the goal)")
    expected = np.zeros((16, 4))
    expected[14, 1:] = 1 / 3
    assert_close(rewards, expected, "rewards (1/3 for the three actions that can slip from 14 into the goal)")


# -- 2. the value of a policy

@pytest.mark.points(2)
def test_solve_bellman_satisfies_the_bellman_equation(student, rng):
    """The exact values solve V = T_pi V on non-terminal states and are 0 on terminal ones."""
    transitions, rewards, terminal = random_mdp(9, 3, 2, seed=1)
    policy = random_policy(rng, 9, 3)
    V = as_array(student.solve_bellman(transitions, rewards, terminal, policy, 0.9), "solve_bellman(...)")
    assert_shape(V, (9,), "solve_bellman(...)")
    backup = np.sum(policy * lookahead(transitions, rewards, terminal, V, 0.9), axis=1)
    assert_close(V, backup, "V - (the right-hand side of the Bellman equation at V)", atol=1e-10)
    assert_close(V[terminal], np.zeros(2), "V at terminal states")


@pytest.mark.points(1)
def test_q_from_v_is_one_step_of_lookahead(student, rng):
    """Q(s, a) = R(s, a) + gamma E[V(s')] over non-terminal s', whatever V says of terminal states."""
    transitions, rewards, terminal = random_mdp(8, 3, 2, seed=2)
    V = rng.normal(size=8)
    Q = student.q_from_v(transitions, rewards, terminal, V, 0.7)
    assert_close(Q, lookahead(transitions, rewards, terminal, V, 0.7), "q_from_v(...)")


@pytest.mark.points(2)
def test_policy_evaluation_converges_to_the_bellman_solution(student, rng):
    """The iterated values satisfy the Bellman equation of the policy (a random MDP, tol=1e-12)."""
    transitions, rewards, terminal = random_mdp(10, 4, 3, seed=3)
    policy = random_policy(rng, 10, 4)
    V = as_array(student.policy_evaluation(transitions, rewards, terminal, policy, 0.8, tol=1e-12),
                 "policy_evaluation(...)")
    assert_shape(V, (10,), "policy_evaluation(...)")
    backup = np.sum(policy * lookahead(transitions, rewards, terminal, V, 0.8), axis=1)
    assert_close(V, backup, "V - (the right-hand side of the Bellman equation at V)", atol=1e-9)


# -- 3. control

@pytest.mark.points(1)
def test_greedy_policy_is_one_hot_with_ties_to_the_lowest_action(student):
    """One 1 per row, on the largest Q; on ties the lowest action, as np.argmax."""
    Q = np.array([[0.0, 1.0, 1.0], [2.0, 2.0, 2.0], [-1.0, -3.0, -0.5]])
    assert_close(student.greedy_policy(Q), np.eye(3)[[1, 0, 2]], "greedy_policy(Q)")


def assert_optimal(transitions, rewards, terminal, gamma, V, what, atol):
    """V solves the Bellman optimality equation V = max_a Q(V) (0 at terminal states)."""
    Q = lookahead(transitions, rewards, terminal, V, gamma)
    assert_close(V, np.where(terminal, 0.0, Q.max(axis=1)), f"{what} - max_a Q(s, a)", atol=atol)


@pytest.mark.points(2)
def test_policy_iteration_returns_an_optimal_policy_and_its_values(student):
    """The values returned are those of the policy returned, and they satisfy the optimality equation."""
    transitions, rewards, terminal = random_mdp(12, 3, 2, seed=4)
    policy, V, iterations = student.policy_iteration(transitions, rewards, terminal, 0.9)
    assert_shape(policy, (12, 3), "the policy of policy_iteration")
    assert_close(np.sum(policy, axis=1), np.ones(12), "the rows of the policy")
    backup = np.sum(as_array(policy, "policy") * lookahead(transitions, rewards, terminal, V, 0.9), axis=1)
    assert_close(V, backup, "the values of policy_iteration - the Bellman backup of its policy", atol=1e-8)
    assert_optimal(transitions, rewards, terminal, 0.9, V, "the values of policy_iteration", 1e-8)


@pytest.mark.points(2)
def test_value_iteration_sweeps_synchronously_to_the_optimal_values(student):
    """Optimal values; the first change is that of one sweep from V = 0; it stops at the first change below tol."""
    transitions, rewards, terminal = random_mdp(12, 3, 2, seed=5)
    V, changes = student.value_iteration(transitions, rewards, terminal, 0.9, tol=1e-10)
    changes = as_array(changes, "the changes of value_iteration")
    assert_optimal(transitions, rewards, terminal, 0.9, V, "the values of value_iteration", 1e-8)
    first = np.max(np.abs(np.where(terminal, 0.0, rewards.max(axis=1))))
    assert_close(changes[0], first, "the first change (the first sweep from V = 0 gives max_a R(s, a))")
    if not (changes[-1] <= 1e-10 < changes[-2]):
        raise AssertionError("value_iteration should stop after the first sweep whose change is below tol")


# -- 4. Q-learning

@pytest.mark.points(2)
def test_epsilon_greedy_draws_in_the_stated_order(student):
    """u = rng.random() first; if u < epsilon, rng.integers(A), else the greedy action."""
    q_values = np.array([0.0, 3.0, 3.0, 1.0])
    replay = np.random.default_rng(7)
    expected = []
    for epsilon in [0.0, 0.5, 1.0] * 20:
        expected.append(int(replay.integers(4)) if replay.random() < epsilon else 1)
    rng = student.np.random.default_rng(7)
    actions = [student.epsilon_greedy(q_values, epsilon, rng) for epsilon in [0.0, 0.5, 1.0] * 20]
    assert_close(actions, expected, "the actions of epsilon_greedy with np.random.default_rng(7)")


@pytest.mark.points(2)
def test_q_learning_history_and_epsilon_schedule(student):
    """Q (S, A), zero at terminal states; history: three lists, epsilon decaying linearly; the same seed, the same Q."""
    env = student.gym.make("FrozenLake-v1")
    Q, history = student.q_learning(env, 30, epsilon_start=0.8, epsilon_end=0.2, decay_episodes=12, seed=3)
    assert_shape(Q, (16, 4), "Q")
    assert_close(Q[[c in "HG" for c in LAKE_4X4]], np.zeros((5, 4)), "Q at terminal states (never updated)")
    if not isinstance(history, dict) or sorted(history) != ["epsilon", "length", "return"]:
        raise AssertionError("history should be a dict with the keys 'return', 'length' and 'epsilon'")
    expected = [max(0.2, 0.8 - 0.6 * k / 12) for k in range(30)]
    assert_close(history["epsilon"], expected, "history['epsilon'] (a linear decay over 12 episodes, then 0.2)")
    assert_shape(history["length"], (30,), "history['length']")
    assert_shape(history["return"], (30,), "history['return']")
    again, _ = student.q_learning(env, 30, epsilon_start=0.8, epsilon_end=0.2, decay_episodes=12, seed=3)
    assert_close(again, Q, "Q of a second run with the same seed", rtol=0, atol=0)


def q_learning_replay(env, alpha, gamma, epsilons, seed):
    """Q-learning as its docstring states it, one episode per entry of ``epsilons``, with
    epsilon_greedy's draws written out: (Q, history)."""
    explore = np.random.default_rng(seed)
    Q = np.zeros((env.observation_space.n, env.action_space.n))
    history = {"return": [], "length": [], "epsilon": list(epsilons)}
    for k, epsilon in enumerate(epsilons):
        s, _ = env.reset(seed=None if k else seed)
        rewards, over = [], False
        while not over:
            a = int(explore.integers(Q.shape[1])) if explore.random() < epsilon else int(np.argmax(Q[s]))
            s2, r, terminated, truncated, _ = env.step(a)
            bootstrap = 0.0 if terminated else gamma * Q[s2].max()
            Q[s, a] += alpha * (r + bootstrap - Q[s, a])
            s, over = s2, terminated or truncated
            rewards.append(r)
        history["return"].append(sum(rewards))
        history["length"].append(len(rewards))
    return Q, history


@pytest.mark.points(2)
def test_q_learning_replays_step_by_step_on_the_slippery_lake(student):
    """One generator for all exploration, the environment seeded at the first reset only: the same Q and history."""
    settings = dict(alpha=0.3, gamma=0.9, epsilon_start=0.9, epsilon_end=0.1, decay_episodes=30, seed=5)
    Q, history = student.q_learning(student.gym.make("FrozenLake-v1"), 60, **settings)
    epsilons = [max(0.1, 0.9 - 0.8 * k / 30) for k in range(60)]
    expected_Q, expected = q_learning_replay(gym.make("FrozenLake-v1"), 0.3, 0.9, epsilons, seed=5)
    if not isinstance(history, dict):
        raise AssertionError(f"q_learning's history is a {type(history).__name__}, expected a dict")
    for key in ("epsilon", "length", "return"):
        assert_close(history.get(key), expected[key], f"history['{key}'] of 60 episodes")
    assert_close(Q, expected_Q, "Q after 60 episodes on the slippery 4x4 lake", atol=1e-12)


@pytest.mark.points(2)
def test_q_learning_finds_the_path_along_the_cliff(student):
    """On CliffWalking, 300 episodes with alpha = 0.5 learn the shortest path (13 steps)."""
    env = student.gym.make("CliffWalking-v1", max_episode_steps=200)
    Q = as_array(student.q_learning(env, 300, alpha=0.5, seed=1)[0], "Q")
    assert_shape(Q, (48, 4), "Q")
    grid = gym.make("CliffWalking-v1", max_episode_steps=50)
    state, _ = grid.reset(seed=0)
    total, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        state, reward, terminated, truncated, _ = grid.step(int(np.argmax(Q[state])))
        total += reward
    assert_close(total, -13, "the return of the greedy policy of Q from the start")


@pytest.mark.points(1)
def test_q_learning_bootstraps_when_a_time_limit_cuts_an_episode(student):
    """On CliffWalking cut after one step, Q(start, a) -> r + 0.9 max Q(start): the cut is no end state."""
    env = student.gym.make("CliffWalking-v1", max_episode_steps=1)
    Q = as_array(student.q_learning(env, 300, alpha=0.5, gamma=0.9, seed=0)[0], "Q")
    assert_shape(Q, (48, 4), "Q")
    # up: -1 into state 24 (never updated); right: -100 into the cliff and back; down, left: -1 against the edge
    assert_close(Q[36], [-1.0, -100 - 0.9, -1 - 0.9, -1 - 0.9], "Q at the start after 300 one-step episodes",
                 atol=0.01)


@pytest.mark.points(1)
def test_episode_returns_replay_in_the_environment(student):
    """The returns of a fixed policy match the grader's replay with the same seed."""
    env = student.gym.make("FrozenLake-v1")
    act = fetch(student.np.sign)  # action 0 in state 0, action 1 (down) elsewhere
    returns = student.episode_returns(env, act, 200, seed=4)
    assert_shape(returns, (200,), "episode_returns(env, act, 200, seed=4)")
    replay, lake = [], gym.make("FrozenLake-v1")
    for episode in range(200):
        state, _ = lake.reset(seed=4 if episode == 0 else None)
        total, terminated, truncated = 0.0, False, False
        while not (terminated or truncated):
            state, reward, terminated, truncated, _ = lake.step(int(np.sign(state)))
            total += reward
        replay.append(total)
    assert_close(returns, replay, "episode_returns(env, act, 200, seed=4)")


# -- 5. REINFORCE

PARAMETER_SHAPES = {"fc1.weight": (8, 4), "fc1.bias": (8,), "fc2.weight": (2, 8), "fc2.bias": (2,)}
BASELINE_SHAPES = {**PARAMETER_SHAPES, "fc2.weight": (1, 8), "fc2.bias": (1,)}


def state_of(model) -> dict:
    """The state_dict() of an MLP(4, 8, 2) of the submission, its names and shapes checked."""
    return checked_state_dict(model, PARAMETER_SHAPES)


def logits_of(state: dict, x: torch.Tensor) -> torch.Tensor:
    return F.linear(torch.tanh(F.linear(x, state["fc1.weight"], state["fc1.bias"])), state["fc2.weight"], state["fc2.bias"])


@pytest.mark.points(1)
def test_mlp_is_linear_tanh_linear(student, rng):
    """MLP(4, 8, 2) computes fc2(tanh(fc1(x))) with the weights of its own state_dict()."""
    model = student.MLP(4, 8, 2, dtype=torch.float64)
    x = torch.from_numpy(rng.normal(size=(6, 4)))
    assert_close(model(x), logits_of(state_of(model), x), "MLP(4, 8, 2)(x)")


@pytest.mark.points(1)
@pytest.mark.parametrize("gamma", [0.0, 0.9, 1.0])
def test_discounted_returns_match_the_direct_sum(student, rng, gamma):
    """G_t = sum over k >= t of gamma^(k - t) r_k."""
    rewards = rng.normal(size=12)
    expected = [sum(gamma ** (k - t) * rewards[k] for k in range(t, 12)) for t in range(12)]
    assert_close(student.discounted_returns(rewards, gamma), expected, f"discounted_returns(rewards, {gamma})")


@pytest.mark.points(1)
def test_action_log_probs_match_torch_distributions(student, rng):
    """log pi(a_t | s_t) equals Categorical(logits=...).log_prob(actions)."""
    model = student.MLP(4, 8, 2, dtype=torch.float64)
    observations = torch.from_numpy(rng.normal(size=(10, 4)))
    actions = torch.from_numpy(rng.integers(0, 2, 10))
    expected = torch.distributions.Categorical(logits=logits_of(state_of(model), observations)).log_prob(actions)
    assert_close(student.action_log_probs(model, observations, actions), expected, "action_log_probs(...)")


@pytest.mark.points(2)
def test_reinforce_losses_and_their_gradients(student, rng):
    """Both losses, and gradients computed in your code by autograd: none of L_pi reaches the baseline."""
    log_probs, values, returns = (torch.from_numpy(rng.normal(size=9)) for _ in range(3))
    advantages = returns - values
    policy_loss, value_loss = student.reinforce_losses(log_probs, values, returns)
    assert_close(policy_loss, -(advantages * log_probs).mean(), "policy_loss")
    assert_close(value_loss, (advantages ** 2).mean(), "value_loss")
    losses = fetch(student.reinforce_losses)
    vjp = student.torch.autograd.functional.vjp
    _, (grad_log_probs, grad_values, _) = vjp(losses, (log_probs, values, returns),
                                              (torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)))
    assert_close(grad_log_probs, -advantages / 9, "the gradient of policy_loss with respect to log_probs")
    assert_close(grad_values, torch.zeros(9), "the gradient of policy_loss with respect to the baseline values")
    _, (_, grad_values, _) = vjp(losses, (log_probs, values, returns),
                                 (torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)))
    assert_close(grad_values, -2 * advantages / 9, "the gradient of value_loss with respect to the values")


@pytest.mark.points(2)
def test_run_episode_replays_in_the_environment(student):
    """The observations and rewards are those of the actions taken, from env.reset(seed=seed)."""
    policy = student.MLP(4, 8, 2)
    observations, actions, rewards = student.run_episode(student.gym.make("CartPole-v1"), policy, seed=5)
    actions = as_array(actions, "actions")
    assert_shape(observations, (len(actions), 4), "observations")
    assert_shape(rewards, (len(actions),), "rewards")
    env = gym.make("CartPole-v1")
    observation, _ = env.reset(seed=5)
    for t, action in enumerate(actions):
        assert_close(observations[t], observation, f"observations[{t}]")
        observation, reward, terminated, truncated, _ = env.step(int(action))
        assert_close(rewards[t], reward, f"rewards[{t}]")
        if (terminated or truncated) != (t == len(actions) - 1):
            raise AssertionError(f"the episode should end when the environment says so (step {t})")


@pytest.mark.points(1)
def test_run_episode_samples_from_the_softmax(student):
    """A policy with pi(right) = 3/4 in every state pushes right about 3/4 of the time."""
    policy = student.MLP(4, 2, 2)
    state = {name: torch.zeros(shape) for name, shape in {"fc1.weight": (2, 4), "fc1.bias": (2,),
                                                           "fc2.weight": (2, 2)}.items()}
    state["fc2.bias"] = torch.tensor([0.0, float(np.log(3.0))])
    policy.load_state_dict(state)
    env = student.gym.make("CartPole-v1")
    actions = np.concatenate([as_array(student.run_episode(env, policy, seed=s)[1], "actions") for s in range(40)])
    share = float(np.mean(actions))
    if abs(share - 0.75) > 4 * np.sqrt(0.75 * 0.25 / len(actions)):
        raise AssertionError(f"the policy pushed right in {share:.1%} of {len(actions)} steps, expected about 75%")


@pytest.mark.points(2)
def test_train_reinforce_returns_the_episode_returns_and_stops_at_the_budget(student):
    """History: one undiscounted return per episode, adding up to the budget; both networks trained."""
    env = student.gym.make("CartPole-v1")
    policy, baseline = student.MLP(4, 8, 2), student.MLP(4, 8, 1)
    before = {"policy": state_of(policy), "baseline": checked_state_dict(baseline, BASELINE_SHAPES)}
    history = as_array(student.train_reinforce(env, policy, baseline, 2000, seed=2), "history")
    if not 2000 <= history.sum() < 2000 + 500:
        raise AssertionError(f"the episodes took {history.sum():.0f} steps in all (CartPole pays 1 per step); "
                             "training should stop once they reach total_steps = 2000")
    after = {"policy": state_of(policy), "baseline": checked_state_dict(baseline, BASELINE_SHAPES)}
    for network, state in before.items():
        if all(torch.equal(value, after[network][name]) for name, value in state.items()):
            raise AssertionError(f"train_reinforce did not change the parameters of the {network}")
