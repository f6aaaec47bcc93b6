"""Tabular Q-learning with epsilon-greedy exploration, and the returns of a fixed policy.

Environments are gymnasium environments with discrete states and actions (FrozenLake,
CliffWalking, Taxi); a Q table is an (S, A) float64 array.
"""

import numpy as np
from tqdm.auto import tqdm


def epsilon_greedy(q_values, epsilon, rng):
    """One action for a state whose action values are ``q_values`` (A,): a uniformly random
    action with probability ``epsilon``, else the greedy one (the lowest index on ties).

    Draws u = rng.random() first (rng: a np.random.Generator); if u < epsilon it returns
    int(rng.integers(A)), else int(np.argmax(q_values)) without a second draw.
    """
    ### BEGIN SOLUTION
    if rng.random() < epsilon:
        return int(rng.integers(len(q_values)))
    return int(np.argmax(q_values))
    ### END SOLUTION


def q_learning(env, n_episodes, alpha=0.1, gamma=0.99, epsilon_start=1.0, epsilon_end=0.05,
               decay_episodes=None, seed=0):
    """Q-learning on ``env`` for ``n_episodes`` episodes: (Q (S, A), history).

    Q starts at 0. Episode k (from 0) explores with
    epsilon_k = max(epsilon_end, epsilon_start - (epsilon_start - epsilon_end) * k / decay_episodes),
    decay_episodes defaulting to n_episodes // 2: a linear decay, then constant. The first
    episode starts with env.reset(seed=seed), later ones with env.reset(); actions come from
    epsilon_greedy(Q[state], epsilon_k, rng) with rng = np.random.default_rng(seed). After
    every step (s, a, r, s2):

        Q[s, a] += alpha * (r + gamma * max_a2 Q[s2, a2] - Q[s, a]),

    without the max term when s2 terminated the episode (a truncated episode still
    bootstraps). history is a dict of three lists with one entry per episode: "return" (the
    sum of its rewards), "length" (its number of steps) and "epsilon" (epsilon_k).
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    Q = np.zeros((env.observation_space.n, env.action_space.n))
    decay_episodes = decay_episodes or max(n_episodes // 2, 1)
    history = {"return": [], "length": [], "epsilon": []}
    for episode in tqdm(range(n_episodes), desc="episodes", disable=None):
        epsilon = max(epsilon_end, epsilon_start - (epsilon_start - epsilon_end) * episode / decay_episodes)
        state, _ = env.reset(seed=seed if episode == 0 else None)
        total, steps, done = 0.0, 0, False
        while not done:
            action = epsilon_greedy(Q[state], epsilon, rng)
            next_state, reward, terminated, truncated, _ = env.step(action)
            target = reward if terminated else reward + gamma * np.max(Q[next_state])
            Q[state, action] += alpha * (target - Q[state, action])
            state, total, steps, done = next_state, total + reward, steps + 1, terminated or truncated
        history["return"].append(total)
        history["length"].append(steps)
        history["epsilon"].append(epsilon)
    return Q, history
    ### END SOLUTION


def episode_returns(env, act, n_episodes, seed):
    """The returns (n_episodes,) of the policy ``act`` (a function: observation -> action):
    the sum of the rewards of each of ``n_episodes`` episodes, the first started with
    env.reset(seed=seed), the others with env.reset(), each run until it terminates or is
    truncated."""
    ### BEGIN SOLUTION
    returns = np.zeros(n_episodes)
    for episode in range(n_episodes):
        observation, _ = env.reset(seed=seed if episode == 0 else None)
        done = False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(act(observation))
            returns[episode] += reward
            done = terminated or truncated
    return returns
    ### END SOLUTION
