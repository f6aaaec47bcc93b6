"""Finite Markov decision processes as arrays: the exact values of a policy, Q from V, greedy
improvement, policy iteration and value iteration.

An MDP with S states and A actions is three arrays: ``transitions`` (S, A, S) with
transitions[s, a, s2] = P(s2 | s, a), ``rewards`` (S, A) with the expected reward R(s, a) of
taking a in s, and ``terminal`` (S,) bool, the states where an episode ends. A terminal
state is worth 0 and nothing is bootstrapped from it, whatever its own row of
``transitions`` says. A policy is an (S, A) array of action probabilities, rows summing to 1.
"""

import numpy as np


def mdp_arrays(table):
    """The MDP of a gymnasium transition table (``env.unwrapped.P``) as arrays.

    table[s][a] is a list of (probability, next_state, reward, terminated) tuples, for every
    state s in 0..S-1 and action a in 0..A-1. Returns

    - transitions (S, A, S) float64: transitions[s, a, s2] = P(s2 | s, a); a next state that
      appears in several tuples gets the sum of their probabilities;
    - rewards (S, A) float64: R(s, a), the sum of probability * reward over the tuples;
    - terminal (S,) bool: True for every state that some tuple enters with terminated=True.
    """
    ### BEGIN SOLUTION
    n_states, n_actions = len(table), len(table[0])
    transitions = np.zeros((n_states, n_actions, n_states))
    rewards = np.zeros((n_states, n_actions))
    terminal = np.zeros(n_states, dtype=bool)
    for state in range(n_states):
        for action in range(n_actions):
            for probability, next_state, reward, terminated in table[state][action]:
                transitions[state, action, next_state] += probability
                rewards[state, action] += probability * reward
                terminal[next_state] |= bool(terminated)
    return transitions, rewards, terminal
    ### END SOLUTION


def solve_bellman(transitions, rewards, terminal, policy, gamma):
    """The exact values V (S,) of ``policy`` (S, A): the solution of the linear Bellman equations

        V(s) = sum_a pi(a|s) [R(s, a) + gamma sum_s2 P(s2|s, a) V(s2)]   for non-terminal s,
        V(s) = 0                                                          for terminal s,

    solved as one linear system over the non-terminal states. gamma < 1, or a policy that
    reaches a terminal state with probability 1.
    """
    ### BEGIN SOLUTION
    live = ~terminal
    policy_transitions = np.einsum("sa,sat->st", policy, transitions)[np.ix_(live, live)]
    policy_rewards = np.sum(policy * rewards, axis=1)[live]
    values = np.zeros(len(terminal))
    values[live] = np.linalg.solve(np.eye(live.sum()) - gamma * policy_transitions, policy_rewards)
    return values
    ### END SOLUTION


def q_from_v(transitions, rewards, terminal, V, gamma):
    """Action values Q (S, A) from state values V (S,), one step of lookahead:

        Q(s, a) = R(s, a) + gamma sum_s2 P(s2|s, a) V(s2)  over non-terminal s2,

    and Q(s, a) = 0 for terminal s. The value V gives a terminal state is ignored.
    """
    ### BEGIN SOLUTION
    continuing = np.where(terminal, 0.0, V)
    Q = rewards + gamma * transitions @ continuing
    Q[terminal] = 0.0
    return Q
    ### END SOLUTION


def policy_evaluation(transitions, rewards, terminal, policy, gamma, tol=1e-10, max_iterations=100_000):
    """The values V (S,) of ``policy`` (S, A) by iterative policy evaluation.

    Starts from V = 0 and repeats synchronous sweeps V(s) <- sum_a pi(a|s) Q(s, a), with Q
    from the previous sweep's V (``q_from_v``), until no value changes by more than ``tol``
    in a sweep, or for at most ``max_iterations`` sweeps. V is 0 at terminal states.
    """
    ### BEGIN SOLUTION
    V = np.zeros(len(terminal))
    for _ in range(max_iterations):
        new_V = np.sum(policy * q_from_v(transitions, rewards, terminal, V, gamma), axis=1)
        change = np.max(np.abs(new_V - V))
        V = new_V
        if change <= tol:
            break
    return V
    ### END SOLUTION


def greedy_policy(Q):
    """The deterministic policy (S, A) that is greedy with respect to Q (S, A): a one-hot row
    per state, on the action of largest Q; ties go to the lowest action index (np.argmax)."""
    ### BEGIN SOLUTION
    policy = np.zeros_like(Q, dtype=float)
    policy[np.arange(len(Q)), np.argmax(Q, axis=1)] = 1.0
    return policy
    ### END SOLUTION


def policy_iteration(transitions, rewards, terminal, gamma, tol=1e-10, max_iterations=100):
    """An optimal policy by policy iteration: (policy (S, A), V (S,), iterations).

    Starts from the uniform random policy. Each iteration evaluates the current policy with
    ``policy_evaluation`` (tolerance ``tol``) and makes it greedy with respect to its Q;
    stops when that leaves the policy unchanged, or after ``max_iterations`` evaluations.
    Returns the last policy evaluated, its values and the number of evaluations made.
    """
    ### BEGIN SOLUTION
    n_states, n_actions = rewards.shape
    policy = np.full((n_states, n_actions), 1.0 / n_actions)
    for iteration in range(1, max_iterations + 1):
        V = policy_evaluation(transitions, rewards, terminal, policy, gamma, tol)
        improved = greedy_policy(q_from_v(transitions, rewards, terminal, V, gamma))
        if np.array_equal(improved, policy) or iteration == max_iterations:
            break
        policy = improved
    return policy, V, iteration
    ### END SOLUTION


def value_iteration(transitions, rewards, terminal, gamma, tol=1e-8, max_iterations=100_000):
    """The optimal values V* (S,) by value iteration: (V, changes).

    Starts from V = 0 and repeats synchronous sweeps V(s) <- max_a Q(s, a), with Q from the
    previous sweep's V (``q_from_v``), until no value changes by more than ``tol`` in a
    sweep, or for at most ``max_iterations`` sweeps. ``changes`` is the list of the largest
    change max_s |V_new(s) - V(s)| of every sweep, in order.
    """
    ### BEGIN SOLUTION
    V = np.zeros(len(terminal))
    changes = []
    for _ in range(max_iterations):
        new_V = q_from_v(transitions, rewards, terminal, V, gamma).max(axis=1)
        changes.append(float(np.max(np.abs(new_V - V))))
        V = new_V
        if changes[-1] <= tol:
            break
    return V, changes
    ### END SOLUTION
