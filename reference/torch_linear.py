"""Linear and logistic regression in PyTorch, the same models as ``reference.linear``."""

import torch
from torch import nn


class LinearModel(nn.Module):
    """One affine map x -> x w + b to a single output, in float64, starting at zero.

    forward: (N, in_features) -> (N,). For logistic regression the output is the logit.
    """

    def __init__(self, in_features):
        super().__init__()
        ### BEGIN SOLUTION
        self.linear = nn.Linear(in_features, 1, dtype=torch.float64)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.linear(x).squeeze(-1)
        ### END SOLUTION


def train_gd(model, X, y, loss="mse", lr=0.1, epochs=500):
    """Full-batch gradient descent on ``loss`` ("mse" or "bce" from logits) with torch.optim.SGD.

    X: (N, D), y: (N,) arrays or tensors, moved to the model's device. Returns the list of
    losses before each step.
    """
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    X = torch.as_tensor(X, dtype=torch.float64, device=device)
    y = torch.as_tensor(y, dtype=torch.float64, device=device)
    criterion = {"mse": nn.functional.mse_loss,
                 "bce": nn.functional.binary_cross_entropy_with_logits}[loss]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        optimizer.zero_grad()
        value = criterion(model(X), y)
        value.backward()
        optimizer.step()
        history.append(value.item())
    return history
    ### END SOLUTION
