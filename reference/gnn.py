"""Message passing on graphs in NumPy: scatter aggregation, the node-to-edge update and the
edge-to-node update, each with its backward pass.

A graph with N nodes and E directed edges is held as node features x (N, D), edge features
e (E, F) and ``edge_index`` (2, E) of integers: edge k goes from node ``edge_index[0, k]``
(its source) to node ``edge_index[1, k]`` (its target), and messages flow along it from
source to target. An undirected graph lists each edge in both directions.

The shared network of both updates is one affine layer followed by a ReLU,
relu(z @ w + b), applied to every row z alike.
"""

import numpy as np


def scatter_forward(src, index, num_nodes, reduce="sum"):
    """Aggregate the rows of ``src`` by their ``index``: row i of the output reduces every row
    k of src with index[k] == i, in any order.

    src: (E, D) floats, index: (E,) ints in [0, num_nodes), reduce: "sum", "mean" (the sum
    divided by the number of rows with that index) or "max" (per feature) -> out
    (num_nodes, D); an index that no row carries gets zeros. Returns (out, cache).
    """
    ### BEGIN SOLUTION
    count = np.bincount(index, minlength=num_nodes)
    out = np.zeros((num_nodes, src.shape[1]), dtype=src.dtype)
    winners = None
    if reduce == "max":
        out[count > 0] = -np.inf
        np.maximum.at(out, index, src)
        winners = src == out[index]
    else:
        np.add.at(out, index, src)
        if reduce == "mean":
            out /= np.maximum(count, 1)[:, None]
    return out, (index, count, reduce, winners)
    ### END SOLUTION


def scatter_backward(dout, cache):
    """Gradient of scatter_forward: dout (num_nodes, D) -> dsrc (E, D).

    Sum passes dout[i] to every row with index i, mean passes dout[i] / count[i], max passes
    it to the row that holds the maximum (shared equally among rows that tie, as torch does).
    """
    ### BEGIN SOLUTION
    index, count, reduce, winners = cache
    dsrc = dout[index]
    if reduce == "mean":
        dsrc = dsrc / count[index][:, None]
    elif reduce == "max":
        ties = np.zeros(dout.shape)
        np.add.at(ties, index, winners)
        dsrc = dsrc * winners / np.maximum(ties[index], 1)
    return dsrc
    ### END SOLUTION


def edge_update_forward(x, e, edge_index, w, b):
    """Node-to-edge update: every edge k from node s to node t gets the feature
    e'_k = relu([x_s, x_t, e_k] @ w + b), its source's, its target's and its own features
    concatenated in this order.

    x: (N, D), e: (E, F), edge_index: (2, E) ints, w: (2D + F, H), b: (H,) -> out (E, H);
    returns (out, cache).
    """
    ### BEGIN SOLUTION
    source, target = edge_index
    z = np.concatenate([x[source], x[target], e], axis=1)
    a = z @ w + b
    return np.maximum(a, 0), (x.shape, edge_index, z, w, a)
    ### END SOLUTION


def edge_update_backward(dout, cache):
    """Gradients of edge_update_forward: dout (E, H) -> (dx (N, D), de (E, F), dw, db).

    A node's gradient sums the contributions of every edge it is the source or the target of.
    """
    ### BEGIN SOLUTION
    (num_nodes, d), edge_index, z, w, a = cache
    da = dout * (a > 0)
    dz = da @ w.T
    source, target = edge_index
    dx = scatter_forward(dz[:, :d], source, num_nodes)[0] + scatter_forward(dz[:, d:2 * d], target, num_nodes)[0]
    return dx, dz[:, 2 * d:], z.T @ da, da.sum(axis=0)
    ### END SOLUTION


def node_update_forward(x, e, edge_index, w, b, reduce="sum"):
    """Edge-to-node update: every node i aggregates the features of the edges that end at it,
    m_i = reduce {e_k : edge_index[1, k] == i}, then x'_i = relu([x_i, m_i] @ w + b).

    x: (N, D), e: (E, H), edge_index: (2, E) ints, w: (D + H, M), b: (M,), reduce: "sum",
    "mean" or "max" as in scatter_forward -> out (N, M); returns (out, cache).
    """
    ### BEGIN SOLUTION
    m, scatter_cache = scatter_forward(e, edge_index[1], x.shape[0], reduce)
    z = np.concatenate([x, m], axis=1)
    a = z @ w + b
    return np.maximum(a, 0), (x.shape[1], scatter_cache, z, w, a)
    ### END SOLUTION


def node_update_backward(dout, cache):
    """Gradients of node_update_forward: dout (N, M) -> (dx (N, D), de (E, H), dw, db)."""
    ### BEGIN SOLUTION
    d, scatter_cache, z, w, a = cache
    da = dout * (a > 0)
    dz = da @ w.T
    return dz[:, :d], scatter_backward(dz[:, d:], scatter_cache), z.T @ da, da.sum(axis=0)
    ### END SOLUTION
