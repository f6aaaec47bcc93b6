"""Data generated in code from a seed: as many fresh samples as a test wants, and none of them
in any public set.

Every generator takes ``seed`` (an int or a NumPy Generator) and returns float64 inputs and
int64 labels (or float64 targets); the same seed gives the same data.
"""

from __future__ import annotations

import numpy as np


def two_moons(n: int = 200, noise: float = 0.1, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: X (n, 2), y (n,) in {0, 1}, Gaussian noise of std ``noise``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    angle = rng.uniform(0, np.pi, n)
    X = np.where(y[:, None] == 0, np.c_[np.cos(angle), np.sin(angle)],
                 np.c_[1 - np.cos(angle), 0.5 - np.sin(angle)])
    return X + noise * rng.standard_normal((n, 2)), y.astype(np.int64)


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms: X (n, 2) within about [-1, 1]^2, y (n,) the arm."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    radius = rng.uniform(0.05, 1.0, n)
    angle = 4.0 * radius + 2 * np.pi * y / classes + noise * rng.standard_normal(n)
    return np.c_[radius * np.sin(angle), radius * np.cos(angle)], y.astype(np.int64)


def ring_of_gaussians(n: int = 1000, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                      seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A mixture of ``modes`` equal Gaussians of std ``std`` whose means sit evenly on a circle
    of ``radius``, rotated by an angle drawn from ``seed``: X (n, 2), y (n,) the mode."""
    rng = np.random.default_rng(seed)
    means = ring_means(modes, radius, rng)
    y = rng.integers(0, modes, n)
    return means[y] + std * rng.standard_normal((n, 2)), y.astype(np.int64)


def ring_means(modes: int = 8, radius: float = 2.0, seed=0) -> np.ndarray:
    """The (modes, 2) means of ``ring_of_gaussians`` with the same arguments: evenly on the
    circle, turned by an angle that is the first draw from ``seed``."""
    angle = np.random.default_rng(seed).uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(modes) / modes
    return radius * np.c_[np.cos(angle), np.sin(angle)]


def noisy_sines(n: int = 64, length: int = 50, noise: float = 0.05,
                seed=0) -> np.ndarray:
    """``n`` sine waves of random frequency (0.1-0.3 rad per step), phase and amplitude
    (0.5-1.5) with Gaussian noise: an (n, length) array, one series per row."""
    rng = np.random.default_rng(seed)
    steps = np.arange(length)
    frequency, phase = rng.uniform(0.1, 0.3, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
    amplitude = rng.uniform(0.5, 1.5, (n, 1))
    return amplitude * np.sin(frequency * steps + phase) + noise * rng.standard_normal((n, length))


def stochastic_block_model(sizes=(100, 100, 100), p_in: float = 0.08, p_out: float = 0.01,
                           features: int = 8, signal: float = 0.5, labelled: int = 10,
                           seed=0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A graph of communities: node i belongs to block y_i (``sizes[c]`` nodes in block c, in
    random order); two nodes are joined with probability ``p_in`` inside a block and
    ``p_out`` across blocks. Node features are the block's mean (standard normal times
    ``signal``, drawn per block) plus standard normal noise.

    Returns x (N, features) float64, edge_index (2, M) int64 listing each undirected edge once
    (source < target), y (N,) int64, and train_mask (N,) bool marking ``labelled`` nodes of
    each block (the lowest-numbered ones, which the random order makes a random choice)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    source, target = np.triu_indices(len(y), k=1)
    joined = rng.random(len(source)) < np.where(y[source] == y[target], p_in, p_out)
    means = signal * rng.standard_normal((len(sizes), features))
    x = means[y] + rng.standard_normal((len(y), features))
    rank_in_block = np.zeros(len(y), dtype=np.int64)
    for block in range(len(sizes)):
        rank_in_block[y == block] = np.arange(sizes[block])
    edge_index = np.stack([source[joined], target[joined]]).astype(np.int64)
    return x, edge_index, y.astype(np.int64), rank_in_block < labelled


def cycles_and_trees(n_graphs: int = 200, min_nodes: int = 6, max_nodes: int = 16,
                     seed=0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Small graphs, each a cycle (label 0) or a random tree (label 1, every node joined to
    a random earlier one) of ``min_nodes`` to ``max_nodes`` nodes, numbered in random order.

    Returns (edge_indices: a list of ``n_graphs`` (2, E_g) int64 arrays, each listing every
    undirected edge once with nodes numbered from 0; num_nodes (n_graphs,) int64; y
    (n_graphs,) int64)."""
    rng = np.random.default_rng(seed)
    num_nodes = rng.integers(min_nodes, max_nodes + 1, n_graphs)
    y = rng.integers(0, 2, n_graphs)
    edge_indices = []
    for n, label in zip(num_nodes, y):
        if label == 0:
            source, target = np.arange(n), (np.arange(n) + 1) % n
        else:
            target = np.arange(1, n)
            source = rng.integers(0, target)
        names = rng.permutation(n)
        edge_indices.append(np.stack([names[source], names[target]]).astype(np.int64))
    return edge_indices, num_nodes.astype(np.int64), y.astype(np.int64)


def random_mdp(n_states: int = 12, n_actions: int = 3, n_terminal: int = 2,
               seed=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A finite MDP with random dynamics: (transitions (S, A, S), each row a probability
    distribution over next states drawn from a Dirichlet(1/2) distribution; rewards (S, A),
    standard normal; terminal (S,) bool, ``n_terminal`` random states where an episode ends).

    The rows of terminal states are as random as the others, so code that bootstraps from a
    terminal state, or gives one a value, gets a wrong answer."""
    rng = np.random.default_rng(seed)
    transitions = rng.dirichlet(np.full(n_states, 0.5), size=(n_states, n_actions))
    rewards = rng.standard_normal((n_states, n_actions))
    terminal = np.zeros(n_states, dtype=bool)
    terminal[rng.choice(n_states, n_terminal, replace=False)] = True
    return transitions, rewards, terminal


def segmented_shapes(n: int = 200, size: int = 16, max_shapes: int = 2, noise: float = 0.1,
                     seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Images of circles, squares and triangles with a label for every pixel: images
    (n, 1, size, size), masks (n, size, size) int64 with 0 background, 1 circle, 2 square,
    3 triangle.

    Each image holds 1 to ``max_shapes`` shapes of random class, centre, brightness (0.5-1)
    and size (the three of equal area for a radius of 0.2-0.35 times ``size``); squares
    stand upright and triangles point up; a later shape covers an earlier one. Gaussian
    noise of std ``noise`` is added to every pixel."""
    rng = np.random.default_rng(seed)
    centres = np.arange(size) + 0.5
    y, x = np.meshgrid(centres, centres, indexing="ij")
    images, masks = np.zeros((n, 1, size, size)), np.zeros((n, size, size), dtype=np.int64)
    for image, mask in zip(images, masks):
        for _ in range(rng.integers(1, max_shapes + 1)):
            label, radius = int(rng.integers(1, 4)), rng.uniform(0.2, 0.35) * size
            cy, cx = rng.uniform(0.7 * radius, size - 0.7 * radius, 2)
            if label == 1:
                inside = (y - cy) ** 2 + (x - cx) ** 2 <= radius ** 2
            else:  # a regular polygon: inside the half-plane of every edge
                corners = 4 if label == 2 else 3
                apothem = radius * np.sqrt(np.pi / (corners * np.tan(np.pi / corners)))
                normals = np.pi / 2 + 2 * np.pi * np.arange(corners) / corners
                inside = np.all([(x - cx) * np.cos(a) + (y - cy) * np.sin(a) <= apothem for a in normals], axis=0)
            mask[inside] = label
            image[0][inside] = rng.uniform(0.5, 1.0)
    return images + noise * rng.standard_normal(images.shape), masks
