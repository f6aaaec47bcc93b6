# %% [markdown]
# # Assignment 13: Reinforcement learning
#
# In supervised learning every input comes with the right answer. An agent that acts in
# an environment gets no answers, only **rewards**, often long after the actions that
# earned them. At each step $t$ it sees a state $s_t$, takes an action $a_t$ drawn from its
# **policy** $\pi(a \mid s)$, receives a reward $r_t$ and lands in $s_{t+1}$; it wants to
# maximize the **return**, the discounted sum of the rewards to come,
#
# $$ G_t = r_t + \gamma\, r_{t+1} + \gamma^2 r_{t+2} + \dots = r_t + \gamma\, G_{t+1},
#    \qquad 0 \le \gamma \le 1 . $$
#
# The **value** $V_\pi(s) = \mathbb E_\pi[G_t \mid s_t = s]$ says how good a state is under
# $\pi$; the **action value** $Q_\pi(s, a)$ how good it is to take $a$ in $s$ and follow
# $\pi$ afterwards. This assignment goes from the case where everything is known to the case
# where nothing is:
#
# 1. **Planning** (sections 1-3): the environment's dynamics are given as a table. You
#    compute the values of a policy exactly, by a linear solve, and iteratively; then find
#    the best policy by policy iteration and value iteration.
# 2. **Q-learning** (section 4): the agent only samples transitions, and learns $Q$ from
#    its own experience, exploring with an $\varepsilon$-greedy policy.
# 3. **Policy gradient** (section 5): a neural network is the policy, trained in PyTorch
#    by REINFORCE with a learned baseline to balance a pole on a cart.
#
# The environments come from [gymnasium](https://gymnasium.farama.org/), the standard
# interface: `env.reset(seed=...)` starts an episode and returns `(observation, info)`;
# `env.step(action)` returns `(observation, reward, terminated, truncated, info)`, where
# *terminated* means the episode reached an end state of the task (a hole, the goal, a
# fallen pole) and *truncated* means it was cut off by a time limit.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check rl.ipynb` for the public tests. Hidden tests use other inputs (other maps,
# other seeds), so make your code correct, not only passing.

# %% tags=["setup"]
import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

# %%
import matplotlib.pyplot as plt
from gymnasium.envs.toy_text.frozen_lake import generate_random_map

from autograder.student.generated import random_mdp

FROZEN_LAKE_ARROWS = "←↓→↑"    # FrozenLake's actions 0, 1, 2, 3
CLIFF_WALKING_ARROWS = "↑→↓←"  # CliffWalking's actions 0, 1, 2, 3


def draw_values(ax, V, shape, title, policy=None, arrows=FROZEN_LAKE_ARROWS, terminal=None, desc=None):
    """V (S,) as a grid of the given shape; each cell shows its value and, if a policy
    (S, A) is given, an arrow for its most likely action. Terminal cells are left blank,
    cells marked H (holes) in desc are drawn black."""
    grid = V.reshape(shape)
    image = ax.imshow(grid, cmap="viridis")
    for (row, col), value in np.ndenumerate(grid):
        state = row * shape[1] + col
        letter = desc[row][col] if desc is not None else ""
        if letter == "H":
            ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, color="black"))
            continue
        text = f"{value:.2f}"
        if policy is not None and not (terminal is not None and terminal[state]):
            text = f"{arrows[int(np.argmax(policy[state]))]}\n{text}"
        if letter in ("S", "G"):
            text = f"{letter}\n{text}"
        ax.text(col, row, text, ha="center", va="center", fontsize=8,
                color="white" if value < grid.mean() else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    plt.colorbar(image, ax=ax, fraction=0.046, pad=0.04)


def moving_average(values, window):
    """The mean of each run of ``window`` consecutive values: (len(values) - window + 1,)."""
    return np.convolve(values, np.ones(window) / window, mode="valid")

# %% [markdown]
# ## 1. A Markov decision process as arrays
#
# A finite **Markov decision process** (MDP) has states $s \in \{0, \dots, S-1\}$, actions
# $a \in \{0, \dots, A-1\}$, transition probabilities $P(s' \mid s, a)$ and rewards. In
# **FrozenLake** the agent walks on a frozen lake from the start `S` to the goal `G`
# without falling into a hole `H`. The ice is slippery: the agent moves in the intended
# direction with probability 1/3, and to either side with probability 1/3 each (walking
# into the edge leaves it where it is). Reaching the goal pays 1, everything else 0; a hole
# or the goal ends the episode.

# %%
env = gym.make("FrozenLake-v1", render_mode="ansi")
env.reset(seed=0)
print(env.render())
print("P[0][0] (state 0, action 0 = left):", env.unwrapped.P[0][0])
print("P[14][2] (state 14, action 2 = right):", env.unwrapped.P[14][2])

# %% [markdown]
# gymnasium's toy-text environments carry their model in `env.unwrapped.P`: `P[s][a]` is a
# list of tuples `(probability, next_state, reward, terminated)`. A next state can appear
# in several tuples (from state 0, slipping "up" and "left" both hit the edge and stay in
# 0), so their probabilities add up. Turn the table into three arrays:
#
# $$ \text{transitions}[s, a, s'] = P(s' \mid s, a), \qquad
#    \text{rewards}[s, a] = R(s, a) = \sum_{(p,\, s',\, r,\, \cdot)\ \in\ P[s][a]} p\, r, \qquad
#    \text{terminal}[s'] = \text{an episode ends on entering } s' . $$
#
# The expected reward $R(s, a)$ is all the planning below needs of the rewards. An episode
# is over once it enters a terminal state, so a terminal state is worth 0 and nothing
# is ever bootstrapped from it, **whatever its own row of the table says** (in
# CliffWalking, the goal's row leads on to other states; the code must never use it).

# %% solution="reference.mdp:mdp_arrays" grade_id="mdp_arrays"
# filled in by the build

# %%
transitions, rewards, terminal = mdp_arrays(env.unwrapped.P)
assert transitions.shape == (16, 4, 16) and rewards.shape == (16, 4) and terminal.dtype == bool
assert np.allclose(transitions.sum(axis=2), 1), "each transitions[s, a] must be a probability distribution"
assert np.isclose(transitions[0, 0, 0], 2 / 3), "slipping up and left both stay in state 0: add them up"
assert list(np.flatnonzero(terminal)) == [5, 7, 11, 12, 15], "the holes and the goal end an episode"
assert np.isclose(rewards[14, 2], 1 / 3), "right from 14 reaches the goal with probability 1/3"
print("FrozenLake as arrays: OK")

# %% [markdown]
# ## 2. The value of a policy
#
# A policy is an $(S, A)$ array of probabilities, `policy[s, a]` $= \pi(a \mid s)$. Its
# values satisfy the **Bellman expectation equation**: one step of reward, then the value
# of wherever the agent lands,
#
# $$ V_\pi(s) = \sum_a \pi(a \mid s) \Big[ R(s, a) + \gamma \sum_{s'} P(s' \mid s, a)\, V_\pi(s') \Big]
#    \quad \text{for non-terminal } s, \qquad V_\pi(s) = 0 \quad \text{for terminal } s . $$
#
# That is a linear system. Over the non-terminal states, with
# $P_\pi[s, s'] = \sum_a \pi(a \mid s) P(s' \mid s, a)$ and $R_\pi[s] = \sum_a \pi(a \mid s) R(s, a)$,
# it reads $V = R_\pi + \gamma P_\pi V$, so
#
# $$ V = (I - \gamma P_\pi)^{-1} R_\pi . $$
#
# `solve_bellman` solves it with `np.linalg.solve` (never an explicit inverse). Restrict
# $P_\pi$ and $R_\pi$ to the non-terminal states first (`np.ix_(live, live)` picks a
# sub-matrix): that both gives the terminal states their 0 and keeps them from being
# bootstrapped.

# %% solution="reference.mdp:solve_bellman" grade_id="solve_bellman"
# filled in by the build

# %% [markdown]
# The action values follow from the state values by one step of lookahead,
#
# $$ Q(s, a) = R(s, a) + \gamma \sum_{s' \text{ non-terminal}} P(s' \mid s, a)\, V(s'),
#    \qquad Q(s, a) = 0 \text{ for terminal } s , $$
#
# and $V_\pi(s) = \sum_a \pi(a \mid s)\, Q_\pi(s, a)$. Note where each value comes from:
# $V$ of the **next** state $s'$, averaged over $P(s' \mid s, a)$, discounted once.
#
# Solving a linear system costs $O(S^3)$; **iterative policy evaluation** avoids it. Start
# from $V_0 = 0$ and apply the right-hand side of the Bellman equation as an update,
# $V_{k+1}(s) = \sum_a \pi(a \mid s)\, Q_k(s, a)$ with $Q_k$ from $V_k$, to all states at
# once (a *synchronous* sweep: every new value uses the previous sweep's values). The
# update is a $\gamma$-contraction, so $V_k \to V_\pi$ from any start. Stop after the
# first sweep in which no value changes by more than `tol`.

# %% solution="reference.mdp:q_from_v,policy_evaluation" grade_id="policy_evaluation"
# filled in by the build

# %%
uniform = np.full((16, 4), 0.25)
exact = solve_bellman(transitions, rewards, terminal, uniform, 0.9)
iterative = policy_evaluation(transitions, rewards, terminal, uniform, 0.9)
print(f"largest difference, iterative vs exact: {np.max(np.abs(iterative - exact)):.1e}")
assert np.allclose(iterative, exact, atol=1e-8), "policy_evaluation should agree with solve_bellman"
Q = q_from_v(transitions, rewards, terminal, exact, 0.9)
assert np.allclose((uniform * Q).sum(axis=1), exact), "V should be the policy's average of Q"
assert np.all(Q[terminal] == 0), "terminal states have Q = 0"

# the same checks on a random MDP, whose terminal states have random rows of their own
T, R, done = random_mdp(10, 3, 2, seed=1)
policy = np.random.default_rng(0).dirichlet(np.ones(3), size=10)
assert np.allclose(policy_evaluation(T, R, done, policy, 0.8), solve_bellman(T, R, done, policy, 0.8), atol=1e-8)

fig, ax = plt.subplots(figsize=(4, 4))
draw_values(ax, exact, (4, 4), "V of the uniform random policy (γ = 0.9)",
            desc=["SFFF", "FHFH", "FFFH", "HFFG"])
plt.show()

# %% [markdown]
# ## 3. Control: policy iteration and value iteration
#
# A policy that is **greedy** with respect to $Q_\pi$ takes, in each state, an action of
# largest $Q_\pi(s, a)$. By the *policy improvement theorem* it is at least as good as
# $\pi$ in every state, and strictly better somewhere unless $\pi$ is already optimal.
# `greedy_policy` returns it as a one-hot $(S, A)$ array; on ties it picks the lowest
# action index, as `np.argmax` does.
#
# **Policy iteration** alternates the two steps: evaluate $\pi$, make it greedy, until the
# greedy policy is the policy itself. Start from the uniform random policy. It needs only
# a handful of iterations, each a full evaluation.
#
# **Value iteration** folds improvement into every sweep, applying the Bellman
# *optimality* equation as an update:
#
# $$ V_{k+1}(s) = \max_a \Big[ R(s, a) + \gamma \sum_{s'} P(s' \mid s, a)\, V_k(s') \Big] = \max_a Q_k(s, a) . $$
#
# It converges to the optimal values $V^*$; the largest change of a sweep shrinks at least
# by a factor $\gamma$ each time, and once it is below `tol`, $V$ is within
# $\text{tol}\,\gamma / (1 - \gamma)$ of $V^*$. Sweep synchronously, from $V_0 = 0$, and
# return the largest change of every sweep with $V$.

# %% solution="reference.mdp:greedy_policy,policy_iteration,value_iteration" grade_id="control"
# filled in by the build

# %%
gamma = 0.99
optimal_policy, V_policy, iterations = policy_iteration(transitions, rewards, terminal, gamma)
V_star, changes = value_iteration(transitions, rewards, terminal, gamma)
exact = solve_bellman(transitions, rewards, terminal, optimal_policy, gamma)
print(f"policy iteration: {iterations} evaluations; value iteration: {len(changes)} sweeps")
print(f"|V_policy_iteration - exact| = {np.max(np.abs(V_policy - exact)):.1e}, "
      f"|V_value_iteration - exact| = {np.max(np.abs(V_star - exact)):.1e}")
assert np.allclose(V_policy, exact, atol=1e-8) and np.allclose(V_star, exact, atol=1e-5)
assert np.array_equal(greedy_policy(np.array([[1.0, 3.0, 3.0]])), [[0.0, 1.0, 0.0]]), "ties: the lowest index"

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
draw_values(axes[0], V_star, (4, 4), f"FrozenLake: V* and a greedy policy (γ = {gamma})",
            policy=optimal_policy, terminal=terminal, desc=["SFFF", "FHFH", "FFFH", "HFFG"])
axes[1].semilogy(changes, label="largest change of the sweep")
axes[1].semilogy(changes[0] * gamma ** np.arange(len(changes)), "--", label="γ^k (the contraction bound)")
axes[1].set_xlabel("sweep k")
axes[1].set_title("Value iteration converges")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Written question (2 points).** In the right plot the largest change of a sweep falls at
# least as fast as $\gamma^k$. Why? With $\gamma = 0.99$, why does policy iteration need only
# a handful of evaluations while value iteration needs many sweeps?

# %% [markdown] written=2 grade_id="contraction"
# Model answer: the Bellman optimality operator $T$ is a $\gamma$-contraction in the max
# norm, $\lVert TV - TU \rVert_\infty \le \gamma \lVert V - U \rVert_\infty$, because it takes
# an expectation of $V$ discounted by $\gamma$ and a maximum over actions, which cannot
# enlarge differences. Successive changes are $V_{k+1} - V_k = T V_k - T V_{k-1}$, so each is
# at most $\gamma$ times the previous one: the changes fall at least like $\gamma^k$ (faster
# where episodes end early). With $\gamma = 0.99$, shrinking the change by $10^{-8}$ takes up
# to $\ln 10^{-8} / \ln 0.99 \approx 1800$ sweeps. Policy iteration evaluates each policy
# exactly (one linear solve) and then improves it greedily; every improvement is strict
# until the policy is optimal and there are finitely many deterministic policies, so it
# stops after a few iterations, each costlier than a sweep.
#
# Marking guide: 1 point for the contraction argument (max norm, factor $\gamma$) with its
# consequence for $\gamma = 0.99$; 1 point for exact evaluation and strict improvement over
# finitely many policies making policy iteration take few iterations.

# %% [markdown]
# The arrows look odd at first: next to a hole the agent walks *away* from it, because a
# slip sideways is as likely as the intended step. On **CliffWalking**, where the ice
# does not slip, every step costs 1 and stepping into the cliff (the bottom row) costs 100
# and sends the agent back to the start, the best path runs right along the edge.

# %%
cliff = gym.make("CliffWalking-v1")
T, R, done = mdp_arrays(cliff.unwrapped.P)
V_cliff, _ = value_iteration(T, R, done, 1.0)
cliff_policy = greedy_policy(q_from_v(T, R, done, V_cliff, 1.0))
assert np.isclose(V_cliff[36], -13), "from the start, the shortest safe path takes 13 steps"
fig, ax = plt.subplots(figsize=(12, 4))
draw_values(ax, V_cliff, (4, 12), "CliffWalking: V* and a greedy policy (γ = 1)", policy=cliff_policy,
            arrows=CLIFF_WALKING_ARROWS, terminal=done)
plt.show()

# %% [markdown]
# ## 4. Q-learning
#
# Planning needed the table $P$. A learning agent has only its experience: tuples
# $(s, a, r, s')$ from its own episodes. **Q-learning** estimates $Q^*$ from them directly.
# After every step it moves $Q(s, a)$ a fraction $\alpha$ towards a one-sample estimate of
# the Bellman optimality equation, the **TD target**:
#
# $$ Q(s, a) \leftarrow Q(s, a) + \alpha \big[ \underbrace{r + \gamma \max_{a'} Q(s', a')}_{\text{TD target}} - Q(s, a) \big] , $$
#
# where the target is just $r$ when $s'$ *terminated* the episode (a hole or the goal: no
# future). An episode *truncated* by the time limit did not reach an end state, so its
# last step still bootstraps.
#
# The update learns about the greedy policy whatever policy generated the data (it is
# *off-policy*), but the data must cover the states that matter. The **ε-greedy** policy
# explores with probability $\varepsilon$ and exploits otherwise. Explore a lot at first
# and less later: $\varepsilon$ decays linearly from `epsilon_start` to `epsilon_end` over
# the first `decay_episodes` episodes and then stays there. To make a run reproducible,
# draw all exploration from one `np.random.Generator`, in the order the docstring gives,
# and seed the environment once, at the first reset.

# %% solution="reference.tabular:epsilon_greedy,q_learning" grade_id="q_learning"
# filled in by the build

# %% [markdown]
# To see what a Q table is worth, run its greedy policy. `episode_returns` plays
# `n_episodes` episodes with a policy given as a function `act(observation) -> action` and
# returns the sum of the rewards of each; on FrozenLake that is 1 for reaching the goal and
# 0 otherwise, so the mean is the success rate.

# %% solution="reference.tabular:episode_returns" grade_id="episode_returns"
# filled in by the build

# %%
rng = np.random.default_rng(0)
assert epsilon_greedy(np.array([0.0, 2.0, 2.0]), 0.0, rng) == 1, "greedy: the lowest index on ties"
picks = [epsilon_greedy(np.array([0.0, 2.0, 1.0]), 1.0, rng) for _ in range(3000)]
assert abs(np.mean(np.equal(picks, 0)) - 1 / 3) < 0.05, "with epsilon = 1 every action is equally likely"

lake = gym.make("FrozenLake-v1")
Q, history = q_learning(lake, 3000, seed=0)
success = episode_returns(lake, lambda state: int(np.argmax(Q[state])), 1000, seed=1).mean()
best = episode_returns(lake, lambda state: int(np.argmax(optimal_policy[state])), 1000, seed=1).mean()
print(f"greedy policy of the learned Q: {success:.1%} of episodes reach the goal "
      f"(the optimal policy: {best:.1%})")
assert history["epsilon"][0] == 1.0 and history["epsilon"][-1] == 0.05, "epsilon decays from 1 to 0.05"

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].plot(moving_average(history["return"], 100), label="success rate (moving average of 100)")
axes[0].plot(history["epsilon"], label="ε")
axes[0].set_xlabel("episode")
axes[0].set_title("Q-learning on FrozenLake 4x4")
axes[0].legend()
draw_values(axes[1], Q.max(axis=1), (4, 4), "learned max_a Q(s, a) and its greedy policy", policy=Q,
            terminal=terminal, desc=["SFFF", "FHFH", "FFFH", "HFFG"])
plt.tight_layout()
plt.show()

# %% [markdown]
# Compare the learned values with $V^*$ in section 3: close, but not equal, and the errors
# matter. With a constant $\alpha$ every update moves $Q(s, a)$ a tenth of the way towards
# one noisy sample, so the table never settles: it keeps following the luck of the last few
# episodes. The TD target also takes a max over these noisy estimates, and the max of noisy
# numbers is biased upwards (*maximization bias*). Where the estimates of two actions are
# within the noise of each other, the greedy arrow can point the wrong way, and on this map
# one wrong arrow next to a hole costs many episodes: the success rate can fall well below
# the optimal policy's, and it changes from seed to seed (try a few). More episodes, a step
# size that decays, or double Q-learning (two tables, one to pick the action and the other
# to value it) narrow the gap. The grader's maps (below) are kinder: it keeps only maps on
# which the goal can be reached with probability at least 0.9.

# %% [markdown]
# **What the grader measures.** A Q table learned on a map you know could be replaced by a
# planned one, so the grader draws three random 4x4 maps of its own
# (`generate_random_map(size=4, seed=...)`, turned by a multiple of 90 degrees and perhaps
# mirrored, so that the start and the goal can be in any two opposite corners; it keeps maps
# on which the goal can be reached with probability at least 0.9), trains
# `q_learning(env, 3000, seed=...)` with its other defaults and seeds of its choice, and runs
# the greedy policy of each Q table itself for 1000 episodes. On average it must reach the
# goal in at least **{{ thresholds.frozen_lake_success_rate }}** of them. The cell below does
# the same on maps you can see.

# %%
rates = []
for map_seed in range(3):
    desc = np.rot90([list(row) for row in generate_random_map(size=4, seed=map_seed)], map_seed)
    lake = gym.make("FrozenLake-v1", desc=["".join(row) for row in desc])
    Q, _ = q_learning(lake, 3000, seed=map_seed)
    rates.append(episode_returns(lake, lambda state: int(np.argmax(Q[state])), 1000, seed=10).mean())
print("success rates:", np.round(rates, 3), f"mean {np.mean(rates):.3f} "
      f"(the grader requires {{ thresholds.frozen_lake_success_rate }} on its maps)")

# %% [markdown]
# ## 5. Policy gradient: REINFORCE with a baseline
#
# Tables do not scale to continuous states. In **CartPole** the state is four numbers (cart
# position and velocity, pole angle and angular velocity), the two actions push the cart
# left or right, every step the pole stays up pays 1, and an episode ends when the pole
# falls past 12 degrees or the cart leaves the track, or is truncated after 500 steps.
#
# A **policy network** maps a state to the logits of the actions, $\pi_\theta(a \mid s) =
# \mathrm{softmax}(f_\theta(s))_a$. The **policy gradient theorem** gives the gradient of
# the expected return as an expectation over the policy's own episodes,
#
# $$ \nabla_\theta J(\theta) = \mathbb E_{\pi_\theta}\Big[ \sum_t \big(G_t - b(s_t)\big)\,
#    \nabla_\theta \log \pi_\theta(a_t \mid s_t) \Big] , $$
#
# which **REINFORCE** estimates from one episode at a time: make the actions that were
# followed by a high return more likely. Any **baseline** $b(s_t)$ that does not depend on
# the action leaves the expectation unchanged (since $\sum_a \nabla \pi(a \mid s) = 0$) and,
# chosen well, greatly reduces its variance. The natural choice is a learned value
# $b(s) = V_\phi(s)$, fitted to the returns by regression. So each episode gives two losses,
#
# $$ L_\pi = -\frac1T \sum_t \big(G_t - V_\phi(s_t)\big) \log \pi_\theta(a_t \mid s_t), \qquad
#    L_V = \frac1T \sum_t \big(G_t - V_\phi(s_t)\big)^2 , $$
#
# where in $L_\pi$ the baseline is a **constant** (`.detach()`): the policy loss must not
# train the value network. Both networks have the same form, fixed so that the grader can
# run your trained policy itself:
#
# $$ f(x) = \mathrm{fc}_2\big(\tanh(\mathrm{fc}_1(x))\big), \qquad \mathrm{fc}(x) = x W^\top + b , $$
#
# with `fc1` and `fc2` `nn.Linear` layers created in this order, under these names; the
# policy has one output per action, the value network one output.

# %% solution="reference.policy_gradient:MLP" grade_id="mlp"
# filled in by the build

# %% [markdown]
# The returns of an episode are computed **backwards**, from its last step, with
# $G_t = r_t + \gamma G_{t+1}$ and $G_T = 0$: one pass instead of a sum per step.

# %% solution="reference.policy_gradient:discounted_returns" grade_id="discounted_returns"
# filled in by the build

# %%
rewards_example = np.array([1.0, 0.0, -2.0, 3.0])
direct = [sum(0.9 ** (k - t) * rewards_example[k] for k in range(t, 4)) for t in range(4)]
assert np.allclose(discounted_returns(rewards_example, 0.9), direct), "G_t = sum_k gamma^(k-t) r_k"
print("returns:", discounted_returns(rewards_example, 0.9))

# %% [markdown]
# An episode is collected without recording gradients: each action is *sampled* from
# $\mathrm{softmax}(f_\theta(s))$ (`torch.multinomial`, or `torch.distributions.Categorical`)
# with torch's global generator. The log-probabilities are computed afterwards, for all
# steps at once, by `action_log_probs`; use `F.log_softmax` (stable) rather than the log
# of a softmax, and pick each step's action with `gather`.

# %% solution="reference.policy_gradient:run_episode,action_log_probs,reinforce_losses" grade_id="reinforce_losses"
# filled in by the build

# %%
torch.manual_seed(0)
policy = MLP(4, 32, 2)
cartpole = gym.make("CartPole-v1")
observations, actions, episode_rewards = run_episode(cartpole, policy, seed=0)
print(f"the untrained policy balances the pole for {len(actions)} steps")
assert observations.shape == (len(actions), 4) and episode_rewards.sum() == len(actions)

observations, actions = torch.as_tensor(observations), torch.as_tensor(actions)
log_pi = action_log_probs(policy, observations, actions)
expected = torch.distributions.Categorical(logits=policy(observations)).log_prob(actions)
assert torch.allclose(log_pi, expected, atol=1e-6), "log pi(a_t | s_t) disagrees with torch.distributions"

values = torch.randn(len(actions), requires_grad=True)
returns = torch.as_tensor(discounted_returns(episode_rewards, 0.99), dtype=torch.float32)
policy_loss, value_loss = reinforce_losses(log_pi.detach().requires_grad_(), values, returns)
(grad_values,) = torch.autograd.grad(policy_loss, values, allow_unused=True)
assert grad_values is None or torch.all(grad_values == 0), "the policy loss must not reach the baseline"
print(f"policy loss {policy_loss.item():.3f}, value loss {value_loss.item():.3f}")

# %% [markdown]
# Training repeats: collect one episode, compute its returns and both losses, and take one
# step of a single `torch.optim.Adam` over the parameters of both networks on
# $L_\pi + L_V$ (their parameters are disjoint, so this is two independent updates). Stop
# once the episodes have taken `total_steps` steps in all. Seed torch once at the start and
# the environment at the first reset, so that a run is reproducible. Move the networks to
# `device` and create every tensor on their device, so the same code trains on a GPU.

# %% solution="reference.policy_gradient:train_reinforce" grade_id="train_reinforce"
# filled in by the build

# %% [markdown]
# **What the grader measures.** The grader initializes `MLP(4, 32, 2)` and `MLP(4, 32, 1)`
# with weights of its choice, trains them with `train_reinforce(env, policy, baseline,
# 40_000, seed=...)` and its other defaults on CartPole-v1, counts the steps your training
# took (at most one episode, 500 steps, past the budget), then runs the **greedy** policy
# (the action of largest logit) of the trained network itself for 20 episodes: their
# average return must be at least **{{ thresholds.cartpole_return }}** (500 is the most an
# episode can earn).

# %%
torch.manual_seed(0)
policy, baseline = MLP(4, 32, 2), MLP(4, 32, 1)
device = "cuda" if torch.cuda.is_available() else "cpu"
history = train_reinforce(cartpole, policy, baseline, 40_000, seed=0, device=device)


@torch.no_grad()
def greedy_action(observation):
    return int(policy(torch.as_tensor(observation, device=device)).argmax())


evaluation = episode_returns(cartpole, greedy_action, 20, seed=1)
print(f"{len(history)} episodes; greedy policy: average return {evaluation.mean():.1f} "
      f"(the grader requires {{ thresholds.cartpole_return }})")
plt.plot(history, alpha=0.4, label="episode return")
plt.plot(np.arange(19, len(history)), moving_average(history, 20), label="moving average of 20")
plt.xlabel("episode")
plt.ylabel("return (steps balanced)")
plt.title("REINFORCE with a baseline on CartPole")
plt.legend()
plt.show()

# %% [markdown]
# The curve stays noisy even late in training: each update follows a gradient estimated
# from a single episode, so one unlucky episode can undo part of what was learned; and the
# returns of the *sampled* actions can understate what the greedy policy earns. To see what
# the baseline does, train again with `values` replaced by zeros in the policy loss and
# compare the curves. **Actor-critic** methods go one step further and replace the
# return $G_t$ by $r_t + \gamma V_\phi(s_{t+1})$, bootstrapping as Q-learning did: less
# variance, at the price of the bias of an estimated value.
