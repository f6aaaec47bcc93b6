"""Plausible wrong and correct-but-different answers for 13; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    Variant("duplicate_next_states_overwritten", "mdp_arrays assigns each tuple's probability instead of "
            "adding it, losing the slips that end in the same state",
            Edit("mdp_arrays", "transitions[state, action, next_state] += probability",
                 "transitions[state, action, next_state] = probability")),
    Variant("terminal_marked_on_the_source_state", "mdp_arrays marks the state a terminating step leaves, "
            "not the one it enters",
            Edit("mdp_arrays", "terminal[next_state] |= bool(terminated)", "terminal[state] |= bool(terminated)")),
    Variant("backup_uses_the_current_state", "the Bellman backup uses V of the current state instead of "
            "the expected V of the next state",
            Edit("q_from_v", "Q = rewards + gamma * transitions @ continuing",
                 "Q = rewards + gamma * continuing[:, None]")),
    Variant("terminal_states_bootstrapped", "q_from_v bootstraps from terminal states, using the value V "
            "gives them",
            Edit("q_from_v", "continuing = np.where(terminal, 0.0, V)", "continuing = V")),
    Variant("terminal_states_ignored", "terminal states are treated like any other: their own rows give "
            "them a value, and the solve includes them",
            Edit("q_from_v", "continuing = np.where(terminal, 0.0, V)", "continuing = V"),
            Edit("q_from_v", "    Q[terminal] = 0.0\n", ""),
            Edit("solve_bellman", "live = ~terminal", "live = np.ones_like(terminal)")),
    Variant("discount_applied_twice_in_evaluation", "policy_evaluation multiplies by gamma again, though "
            "q_from_v has already discounted",
            Edit("policy_evaluation", "new_V = np.sum(policy * q_from_v(", "new_V = gamma * np.sum(policy * q_from_v(")),
    Variant("discount_applied_twice_in_value_iteration", "value_iteration multiplies by gamma again",
            Edit("value_iteration", "new_V = q_from_v(transitions, rewards, terminal, V, gamma).max(axis=1)",
                 "new_V = gamma * q_from_v(transitions, rewards, terminal, V, gamma).max(axis=1)")),
    Variant("value_iteration_stops_late", "value_iteration stops one sweep late: it tests the change before "
            "recording it",
            Edit("value_iteration", "        V = new_V\n        if changes[-1] <= tol:\n            break\n",
                 "        if len(changes) > 1 and changes[-2] <= tol:\n            break\n        V = new_V\n")),
    Variant("epsilon_never_decays", "q_learning explores with epsilon_start in every episode",
            Edit("q_learning", "epsilon = max(epsilon_end, epsilon_start - (epsilon_start - epsilon_end) * "
                 "episode / decay_episodes)", "epsilon = epsilon_start")),
    Variant("q_learning_reseeds_every_episode", "q_learning starts every episode with env.reset(seed=seed)",
            Edit("q_learning", "env.reset(seed=seed if episode == 0 else None)", "env.reset(seed=seed)")),
    Variant("q_learning_explores_with_a_second_generator", "q_learning draws the random actions from a "
            "generator of their own, seeded with seed + 1",
            Edit("q_learning", "action = epsilon_greedy(Q[state], epsilon, rng)",
                 "action = epsilon_greedy(Q[state], epsilon, rng) if rng.random() >= epsilon else "
                 "int(explorer.integers(len(Q[state])))"),
            Edit("q_learning", "    rng = np.random.default_rng(seed)\n",
                 "    rng, explorer = np.random.default_rng(seed), np.random.default_rng(seed + 1)\n")),
    Variant("truncation_treated_as_termination", "q_learning does not bootstrap at a time limit either",
            Edit("q_learning", "target = reward if terminated else", "target = reward if terminated or truncated else")),
    Variant("returns_accumulated_forwards", "discounted_returns runs from the first step to the last",
            Edit("discounted_returns", "for t in reversed(range(len(rewards))):", "for t in range(len(rewards)):")),
    Variant("log_probs_of_unnormalized_logits", "action_log_probs picks the logits, not the log-softmax",
            Edit("action_log_probs", "log_probs = F.log_softmax(policy(observations), dim=-1)",
                 "log_probs = policy(observations)")),
    Variant("baseline_not_subtracted", "the policy loss weights log-probabilities by the returns alone",
            Edit("reinforce_losses", "advantages = returns - values.detach()", "advantages = returns")),
    Variant("baseline_gradient_flows", "the baseline is not detached: the policy loss trains the value network",
            Edit("reinforce_losses", "advantages = returns - values.detach()", "advantages = returns - values")),
    Variant("greedy_rollouts", "run_episode takes the most likely action instead of sampling one",
            Edit("run_episode", "action = int(torch.multinomial(F.softmax(logits, dim=-1), 1))",
                 "action = int(logits.argmax())")),
    Variant("baseline_never_trained", "train_reinforce steps on the policy loss only",
            Edit("train_reinforce", "(policy_loss + value_loss).backward()", "policy_loss.backward()")),
]

ALTERNATIVES = [
    Variant("mdp_arrays_as_a_list", "mdp_arrays returns [transitions, rewards, terminal], a list",
            Edit("mdp_arrays", "return transitions, rewards, terminal", "return [transitions, rewards, terminal]")),
    Variant("loops_and_other_formulas", "planning with explicit loops over states, np.add.at, a masked "
            "linear system and an identity-matrix greedy policy",
            Replace("mdp_arrays", """
def mdp_arrays(table):
    S, A = len(table), len(table[0])
    rows = [(s, a, int(s2), p, r, d) for s in range(S) for a in range(A) for p, s2, r, d in table[s][a]]
    s, a, s2, p, r, d = (np.array(column) for column in zip(*rows))
    transitions = np.zeros((S, A, S))
    np.add.at(transitions, (s.astype(int), a.astype(int), s2.astype(int)), p)
    rewards = np.zeros((S, A))
    np.add.at(rewards, (s.astype(int), a.astype(int)), p * r)
    terminal = np.zeros(S, dtype=bool)
    terminal[s2[d.astype(bool)].astype(int)] = True
    return transitions, rewards, terminal
"""),
            Replace("solve_bellman", """
def solve_bellman(transitions, rewards, terminal, policy, gamma):
    S = len(terminal)
    P = np.zeros((S, S))
    r = np.zeros(S)
    for s in range(S):
        for a in range(rewards.shape[1]):
            P[s] += policy[s, a] * transitions[s, a]
            r[s] += policy[s, a] * rewards[s, a]
    P[:, terminal] = 0.0          # nothing is bootstrapped from a terminal state
    A = np.eye(S) - gamma * P
    A[terminal] = np.eye(S)[terminal]   # V(terminal) = 0
    r[terminal] = 0.0
    return np.linalg.solve(A, r)
"""),
            Replace("q_from_v", """
def q_from_v(transitions, rewards, terminal, V, gamma):
    S, A = rewards.shape
    Q = np.zeros((S, A))
    for s in range(S):
        if terminal[s]:
            continue
        for a in range(A):
            Q[s, a] = rewards[s, a] + gamma * sum(transitions[s, a, t] * V[t] for t in range(S) if not terminal[t])
    return Q
"""),
            Replace("policy_evaluation", """
def policy_evaluation(transitions, rewards, terminal, policy, gamma, tol=1e-10, max_iterations=100_000):
    V = np.zeros(len(terminal))
    for _ in range(max_iterations):
        Q = rewards + gamma * np.einsum("sat,t->sa", transitions, V * ~terminal)
        new_V = np.where(terminal, 0.0, np.einsum("sa,sa->s", policy, Q))
        done = np.allclose(new_V, V, rtol=0, atol=tol)
        V = new_V
        if done:
            return V
    return V
"""),
            Replace("greedy_policy", """
def greedy_policy(Q):
    return np.eye(Q.shape[1])[Q.argmax(axis=1)]
"""),
            Replace("value_iteration", """
def value_iteration(transitions, rewards, terminal, gamma, tol=1e-8, max_iterations=100_000):
    S = len(terminal)
    V = np.zeros(S)
    changes = []
    while len(changes) < max_iterations:
        old = V.copy()
        for s in range(S):
            if not terminal[s]:
                V[s] = max(rewards[s, a] + gamma * sum(transitions[s, a, t] * old[t] for t in range(S) if not terminal[t])
                           for a in range(rewards.shape[1]))
        changes.append(float(np.abs(V - old).max()))
        if changes[-1] <= tol:
            break
    return V, changes
""")),
    Variant("other_loops_for_learning", "Q-learning with rng.uniform and an explicit terminal branch; "
            "sampling with torch.distributions; returns by a linear filter; two Adam optimizers",
            Replace("epsilon_greedy", """
def epsilon_greedy(q_values, epsilon, rng):
    explore = rng.uniform() < epsilon
    return int(rng.integers(0, len(q_values))) if explore else int(np.flatnonzero(q_values == np.max(q_values))[0])
"""),
            Replace("q_learning", """
def q_learning(env, n_episodes, alpha=0.1, gamma=0.99, epsilon_start=1.0, epsilon_end=0.05,
               decay_episodes=None, seed=0):
    rng = np.random.default_rng(seed)
    n_states, n_actions = env.observation_space.n, env.action_space.n
    Q = np.zeros((n_states, n_actions))
    decay = decay_episodes if decay_episodes else max(1, n_episodes // 2)
    slope = (epsilon_start - epsilon_end) / decay
    history = {"return": [], "length": [], "epsilon": []}
    for k in range(n_episodes):
        epsilon = epsilon_start - slope * k if k < decay else epsilon_end
        epsilon = max(epsilon, epsilon_end)
        state = env.reset(seed=seed)[0] if k == 0 else env.reset()[0]
        rewards = []
        while True:
            action = epsilon_greedy(Q[state], epsilon, rng)
            next_state, reward, terminated, truncated, info = env.step(action)
            if terminated:
                Q[state, action] += alpha * (reward - Q[state, action])
            else:
                Q[state, action] += alpha * (reward + gamma * Q[next_state].max() - Q[state, action])
            rewards.append(reward)
            state = next_state
            if terminated or truncated:
                break
        history["return"].append(float(sum(rewards)))
        history["length"].append(len(rewards))
        history["epsilon"].append(float(epsilon))
    return Q, history
"""),
            Replace("discounted_returns", """
def discounted_returns(rewards, gamma):
    from scipy.signal import lfilter

    rewards = np.asarray(rewards, dtype=np.float64)
    return lfilter([1.0], [1.0, -gamma], rewards[::-1])[::-1].copy()
"""),
            Replace("run_episode", """
def run_episode(env, policy, seed=None):
    parameter = next(policy.parameters())
    observations, actions, rewards = [], [], []
    observation, _ = env.reset(seed=seed)
    while True:
        with torch.no_grad():
            x = torch.tensor(observation, dtype=parameter.dtype, device=parameter.device)
            action = torch.distributions.Categorical(logits=policy(x)).sample().item()
        next_observation, reward, terminated, truncated, _ = env.step(action)
        observations.append(observation)
        actions.append(action)
        rewards.append(reward)
        observation = next_observation
        if terminated or truncated:
            return np.stack(observations).astype(np.float32), np.array(actions, dtype=np.int64), np.array(rewards, dtype=float)
"""),
            Replace("action_log_probs", """
def action_log_probs(policy, observations, actions):
    return torch.distributions.Categorical(logits=policy(observations)).log_prob(actions)
"""),
            Replace("reinforce_losses", """
def reinforce_losses(log_probs, values, returns):
    with torch.no_grad():
        advantages = returns - values
    policy_loss = -torch.mean(advantages * log_probs)
    value_loss = torch.mean((returns - values) ** 2)
    return policy_loss, value_loss
"""),
            Replace("train_reinforce", """
def train_reinforce(env, policy, baseline, total_steps, lr=0.01, gamma=0.99, seed=0, device=None):
    torch.manual_seed(seed)
    if device is not None:
        policy, baseline = policy.to(device), baseline.to(device)
    p = next(policy.parameters())
    policy_optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    value_optimizer = torch.optim.Adam(baseline.parameters(), lr=lr)
    returns_seen, steps, episode = [], 0, 0
    with tqdm(total=total_steps, disable=None) as bar:
        while steps < total_steps:
            obs, acts, rews = run_episode(env, policy, seed=seed if episode == 0 else None)
            episode += 1
            obs_t = torch.tensor(obs, dtype=p.dtype, device=p.device)
            G = torch.tensor(discounted_returns(rews, gamma), dtype=p.dtype, device=p.device)
            values = baseline(obs_t).squeeze(-1)
            policy_loss, value_loss = reinforce_losses(
                action_log_probs(policy, obs_t, torch.tensor(acts, device=p.device)), values, G)
            policy_optimizer.zero_grad()
            policy_loss.backward()
            policy_optimizer.step()
            value_optimizer.zero_grad()
            value_loss.backward()
            value_optimizer.step()
            returns_seen.append(float(np.sum(rews)))
            steps += len(rews)
            bar.update(len(rews))
    return returns_seen
""")),
]
