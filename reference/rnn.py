"""Recurrent networks in NumPy: the vanilla RNN and the LSTM, one step and a whole sequence,
forward and backward (backpropagation through time); gradient norms through time; clipping.

Sequences are batch-first: x (N, T, D) holds N sequences of T steps of D features, and the
hidden states h (N, T, H) hold the state after every step. Weights act on the right, as in
the affine layer: x_t @ Wx with Wx (D, H) (LSTM: (D, 4H)). The LSTM's four blocks of 4H
columns are the gates in torch's order: input i, forget f, candidate g, output o. No
function changes its arguments in place.
"""

import numpy as np

from reference.activations import sigmoid


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One step of the vanilla RNN: h_next = tanh(x @ Wx + h_prev @ Wh + b).

    x (N, D), h_prev (N, H), Wx (D, H), Wh (H, H), b (H,) -> (h_next (N, H), cache).
    """
    ### BEGIN SOLUTION
    h_next = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h_next, (x, h_prev, Wx, Wh, h_next)
    ### END SOLUTION


def rnn_step_backward(dh_next, cache):
    """Gradients of one RNN step, given dh_next (N, H), the gradient of the loss with
    respect to h_next: -> (dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,))."""
    ### BEGIN SOLUTION
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next * (1.0 - h_next ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    ### END SOLUTION


def rnn_forward(x, h0, Wx, Wh, b):
    """The vanilla RNN over a whole sequence, starting from the state h0.

    x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,) -> (h (N, T, H), cache), where
    h[:, t] is the state after step t: h[:, 0] = tanh(x[:, 0] @ Wx + h0 @ Wh + b) and
    h[:, t] = tanh(x[:, t] @ Wx + h[:, t - 1] @ Wh + b).
    """
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches, h_prev = [], h0
    for t in range(T):
        h_prev, cache = rnn_step_forward(x[:, t], h_prev, Wx, Wh, b)
        h[:, t] = h_prev
        caches.append(cache)
    return h, caches
    ### END SOLUTION


def rnn_backward(dh, cache):
    """Backpropagation through time. dh (N, T, H) is the gradient of the loss with respect
    to every hidden state h[:, t] *as an output* (not counting its effect on later steps):
    -> (dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,))."""
    ### BEGIN SOLUTION
    dxs, dWx, dWh, db = [], 0.0, 0.0, 0.0
    dh_prev = np.zeros_like(dh[:, 0])
    for t in reversed(range(dh.shape[1])):
        dx_t, dh_prev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dh_prev, cache[t])
        dxs.append(dx_t)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dxs[::-1], axis=1), dh_prev, dWx, dWh, db
    ### END SOLUTION


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One step of the LSTM. With a = x @ Wx + h_prev @ Wh + b (N, 4H) cut into four
    blocks of H columns a_i, a_f, a_g, a_o (in this order):

        i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o),
        c_next = f * c_prev + i * g,  h_next = o * tanh(c_next).

    x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,)
    -> (h_next (N, H), c_next (N, H), cache).
    """
    ### BEGIN SOLUTION
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c_next = f * c_prev + i * g
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c
    return h_next, c_next, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c)
    ### END SOLUTION


def lstm_step_backward(dh_next, dc_next, cache):
    """Gradients of one LSTM step, given the gradients of the loss with respect to h_next
    and c_next (both (N, H)):
    -> (dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,))."""
    ### BEGIN SOLUTION
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c = cache
    dc = dc_next + dh_next * o * (1.0 - tanh_c ** 2)
    di, df, dg, do = dc * g, dc * c_prev, dc * i, dh_next * tanh_c
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, h_prev.T @ da, da.sum(axis=0)
    ### END SOLUTION


def lstm_forward(x, h0, Wx, Wh, b):
    """The LSTM over a whole sequence, from the hidden state h0 and a cell state of zeros.

    x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) -> (h (N, T, H), cache), where
    h[:, t] is the hidden state after step t; the cell state is carried from each step
    to the next.
    """
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches, h_prev, c_prev = [], h0, np.zeros_like(h0)
    for t in range(T):
        h_prev, c_prev, cache = lstm_step_forward(x[:, t], h_prev, c_prev, Wx, Wh, b)
        h[:, t] = h_prev
        caches.append(cache)
    return h, caches
    ### END SOLUTION


def lstm_backward(dh, cache):
    """Backpropagation through time for the LSTM; dh (N, T, H) as for rnn_backward:
    -> (dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,))."""
    ### BEGIN SOLUTION
    dxs, dWx, dWh, db = [], 0.0, 0.0, 0.0
    dh_prev = dc_prev = np.zeros_like(dh[:, 0])
    for t in reversed(range(dh.shape[1])):
        dx_t, dh_prev, dc_prev, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dh_prev, dc_prev, cache[t])
        dxs.append(dx_t)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dxs[::-1], axis=1), dh_prev, dWx, dWh, db
    ### END SOLUTION


def h0_gradient_norms(x, h0, Wx, Wh, b, forward=rnn_forward, backward=rnn_backward):
    """How far back the gradient reaches: for every t = 1, ..., T, the norm
    ||dL_t / dh0|| (the square root of the sum of squares of all N x H entries) of
    L_t = sum(h[:, t - 1]), the sum of the hidden state after t steps over x.

    x (N, T, D), h0 (N, H), weights as ``forward`` takes them -> (T,) array. ``forward`` and
    ``backward`` are a sequence layer's pair (the vanilla RNN's by default; lstm_forward
    and lstm_backward work too).
    """
    ### BEGIN SOLUTION
    h, cache = forward(x, h0, Wx, Wh, b)
    norms = np.zeros(h.shape[1])
    for t in range(h.shape[1]):
        dh = np.zeros_like(h)
        dh[:, t] = 1.0
        norms[t] = np.linalg.norm(backward(dh, cache)[1])
    return norms
    ### END SOLUTION


def clip_grad_norm(grads, max_norm, eps=1e-6):
    """Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ does it.

    grads: dict name -> array. The total norm is sqrt(sum of all squared entries of all
    arrays), and every array is multiplied by the same factor
    min(1, max_norm / (total_norm + eps)): a gradient longer than max_norm is shortened to
    that length, its direction kept. Returns (a new dict with the keys of ``grads``,
    total_norm as a float, measured before clipping); ``grads`` is not modified.
    """
    ### BEGIN SOLUTION
    total_norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    scale = min(1.0, max_norm / (total_norm + eps))
    return {name: g * scale for name, g in grads.items()}, total_norm
    ### END SOLUTION
