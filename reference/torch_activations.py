"""Maxout in PyTorch, the same layer as ``reference.activations.maxout_forward``."""

import math

import torch
from torch import nn


class Maxout(nn.Module):
    """Maximum over ``pieces`` affine maps: out = max_j (x @ weight[j] + bias[j]).

    weight: (pieces, in_features, out_features), bias: (pieces, out_features), both drawn
    from U(-1/sqrt(in_features), 1/sqrt(in_features)) like nn.Linear.
    forward: (N, in_features) -> (N, out_features).
    """

    def __init__(self, in_features, out_features, pieces=2, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(pieces, in_features, out_features, device=device,
                                               dtype=dtype).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(pieces, out_features, device=device,
                                             dtype=dtype).uniform_(-bound, bound))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        z = x @ self.weight + self.bias[:, None, :]  # (pieces, N, out_features)
        return z.max(dim=0).values
        ### END SOLUTION
