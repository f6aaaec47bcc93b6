"""REINFORCE with a learned baseline in PyTorch: discounted returns, episodes, the two losses
and the training loop.

Nothing here names a device: the networks stay where they are (or move to ``device=``) and
every tensor is created on the device of the network that uses it.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm


class MLP(nn.Module):
    """fc1 - tanh - fc2: a policy (out_features = number of actions, giving logits) or a
    value function (out_features = 1).

    fc1 = nn.Linear(in_features, hidden_features) and fc2 = nn.Linear(hidden_features,
    out_features), created in this order with PyTorch's default initialization, so that
    state_dict() holds fc1.weight, fc1.bias, fc2.weight, fc2.bias.
    forward: (..., in_features) -> (..., out_features).
    """

    def __init__(self, in_features, hidden_features, out_features, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        self.fc1 = nn.Linear(in_features, hidden_features, device=device, dtype=dtype)
        self.fc2 = nn.Linear(hidden_features, out_features, device=device, dtype=dtype)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.fc2(torch.tanh(self.fc1(x)))
        ### END SOLUTION


def discounted_returns(rewards, gamma):
    """The return G_t = r_t + gamma r_{t+1} + gamma^2 r_{t+2} + ... of every step of one
    episode: rewards (T,) -> returns (T,) float64 array, computed backwards from the last
    step with G_t = r_t + gamma G_{t+1} (and G_T = 0)."""
    ### BEGIN SOLUTION
    returns = np.zeros(len(rewards))
    following = 0.0
    for t in reversed(range(len(rewards))):
        following = rewards[t] + gamma * following
        returns[t] = following
    return returns
    ### END SOLUTION


def run_episode(env, policy, seed=None):
    """One episode of ``policy`` (logits of the actions) on ``env``, started with
    env.reset(seed=seed) and run until it terminates or is truncated:
    (observations (T, D) float32, actions (T,) int64, rewards (T,) float64) arrays.

    Each action is drawn from softmax(policy(observation)) with torch's global random
    generator, on the policy's device and in its dtype, without recording gradients.
    """
    ### BEGIN SOLUTION
    weight = next(policy.parameters())
    observation, _ = env.reset(seed=seed)
    observations, actions, rewards = [], [], []
    done = False
    while not done:
        with torch.no_grad():
            logits = policy(torch.as_tensor(observation, dtype=weight.dtype, device=weight.device))
            action = int(torch.multinomial(F.softmax(logits, dim=-1), 1))
        observations.append(observation)
        actions.append(action)
        observation, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
        done = terminated or truncated
    return (np.array(observations, dtype=np.float32), np.array(actions, dtype=np.int64),
            np.array(rewards, dtype=np.float64))
    ### END SOLUTION


def action_log_probs(policy, observations, actions):
    """log pi(a_t | s_t) for every step: observations (T, D) and actions (T,) int64 tensors on
    the policy's device -> (T,) tensor, differentiable with respect to the policy."""
    ### BEGIN SOLUTION
    log_probs = F.log_softmax(policy(observations), dim=-1)
    return log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)
    ### END SOLUTION


def reinforce_losses(log_probs, values, returns):
    """The two losses of REINFORCE with a baseline, for one episode of T steps:

        policy_loss = -mean_t (G_t - V(s_t)) log pi(a_t | s_t),  the baseline V held constant,
        value_loss = mean_t (G_t - V(s_t))^2.

    log_probs, values, returns: (T,) tensors. Returns (policy_loss, value_loss), scalar
    tensors; no gradient of policy_loss reaches ``values``.
    """
    ### BEGIN SOLUTION
    advantages = returns - values.detach()
    policy_loss = -(advantages * log_probs).mean()
    value_loss = F.mse_loss(values, returns)
    return policy_loss, value_loss
    ### END SOLUTION


def train_reinforce(env, policy, baseline, total_steps, lr=0.01, gamma=0.99, seed=0, device=None):
    """REINFORCE with a learned baseline, one episode per update, until at least
    ``total_steps`` environment steps have been taken (the last episode is finished).

    torch.manual_seed(seed) first; the first episode starts with env.reset(seed=seed), later
    ones with env.reset() (``run_episode``). Both networks move to ``device`` (None: they
    stay where they are). One torch.optim.Adam(lr) over the parameters of both networks
    takes one step per episode on policy_loss + value_loss (``reinforce_losses``, with
    discounted returns and baseline values (T,) = baseline(observations)[:, 0]).
    Returns the list of the episodes' undiscounted returns (sums of rewards), in order.
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    if device is not None:
        policy.to(device)
        baseline.to(device)
    weight = next(policy.parameters())
    optimizer = torch.optim.Adam([*policy.parameters(), *baseline.parameters()], lr=lr)
    history, steps = [], 0
    progress = tqdm(total=total_steps, desc="steps", disable=None)
    while steps < total_steps:
        observations, actions, rewards = run_episode(env, policy, seed if not history else None)
        observations = torch.as_tensor(observations, dtype=weight.dtype, device=weight.device)
        actions = torch.as_tensor(actions, device=weight.device)
        returns = torch.as_tensor(discounted_returns(rewards, gamma), dtype=weight.dtype, device=weight.device)
        log_probs = action_log_probs(policy, observations, actions)
        policy_loss, value_loss = reinforce_losses(log_probs, baseline(observations)[:, 0], returns)
        optimizer.zero_grad()
        (policy_loss + value_loss).backward()
        optimizer.step()
        history.append(float(rewards.sum()))
        steps += len(rewards)
        progress.update(len(rewards))
        progress.set_postfix(episode_return=history[-1])
    progress.close()
    return history
    ### END SOLUTION
