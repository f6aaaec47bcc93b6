"""Convolution and pooling in NumPy, as functional layers.

Layers follow ``X_forward(x, *params) -> (out, cache)`` and ``X_backward(dout, cache)``; the
backward returns ``dx`` alone for a layer without parameters and ``(dx, *dparams)`` otherwise.
Images are (N, C, H, W): N samples of C channels, H rows and W columns. Every convolution
here is a cross-correlation, as in ``torch.nn.functional.conv2d``: the kernel is not flipped,

    out[n, f, i, j] = b[f] + sum_{c, p, q} w[f, c, p, q] * x_pad[n, c, i * stride + p, j * stride + q],

where ``x_pad`` is ``x`` with ``padding`` zeros on every side. The layer objects ``Conv2d``,
``MaxPool2d``, ``AvgPool2d`` and ``Flatten`` in ``reference.modules`` wrap these functions.
"""

import numpy as np


def conv_output_size(size, kernel_size, stride=1, padding=0):
    """Output length of a convolution or pooling along one axis:
    floor((size + 2 * padding - kernel_size) / stride) + 1.

    Raises ValueError, naming the numbers, when the configuration is impossible:
    kernel_size or stride below 1, padding below 0, or a kernel longer than the padded input.
    """
    ### BEGIN SOLUTION
    if kernel_size < 1 or stride < 1 or padding < 0:
        raise ValueError(f"kernel_size ({kernel_size}) and stride ({stride}) must be at least 1 "
                         f"and padding ({padding}) at least 0")
    padded = size + 2 * padding
    if kernel_size > padded:
        raise ValueError(f"a kernel of size {kernel_size} does not fit in an input of size {size} "
                         f"padded by {padding} on each side ({padded})")
    return (padded - kernel_size) // stride + 1
    ### END SOLUTION


def conv_forward_naive(x, w, b, stride=1, padding=0):
    """Convolution (cross-correlation, as torch) with loops over samples, filters and output
    positions.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,) -> out: (N, F, H', W') with
    H' = conv_output_size(H, HH, stride, padding) and W' likewise (a ValueError where the
    kernel does not fit); cache: (x, w, b, stride, padding).
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    n_images, _, height, width = x.shape
    n_filters, _, kernel_h, kernel_w = w.shape
    out_h = conv_output_size(height, kernel_h, stride, padding)
    out_w = conv_output_size(width, kernel_w, stride, padding)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n_images, n_filters, out_h, out_w))
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    window = x_pad[n, :, i * stride:i * stride + kernel_h, j * stride:j * stride + kernel_w]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, stride, padding)
    ### END SOLUTION


def conv_backward_naive(dout, cache):
    """Gradients of conv_forward_naive with the same loops: dout (N, F, H', W') ->
    (dx (N, C, H, W), dw (F, C, HH, WW), db (F,)).

    Each output touched one window of the padded input: the window receives dout times the
    kernel, the kernel receives dout times the window.
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    x, w, _, stride, padding = cache
    kernel_h, kernel_w = w.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_pad, dw = np.zeros(x_pad.shape), np.zeros(w.shape)
    db = dout.sum(axis=(0, 2, 3))
    n_images, n_filters, out_h, out_w = dout.shape
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    rows = slice(i * stride, i * stride + kernel_h)
                    cols = slice(j * stride, j * stride + kernel_w)
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
                    dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    dx = dx_pad[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    return dx, dw, db
    ### END SOLUTION


def sliding_windows(x, kernel_h, kernel_w, stride=1):
    """Every kernel-sized window of x, without copying: x (N, C, H, W) -> a read-only view
    (N, C, H', W', kernel_h, kernel_w) with

        view[n, c, i, j] = x[n, c, i * stride:i * stride + kernel_h, j * stride:j * stride + kernel_w],

    H' = (H - kernel_h) // stride + 1 and W' likewise (no padding: pad x first).
    """
    ### BEGIN SOLUTION
    windows = np.lib.stride_tricks.sliding_window_view(x, (kernel_h, kernel_w), axis=(2, 3))
    return windows[:, :, ::stride, ::stride]
    ### END SOLUTION


def fold_windows(dwindows, shape, stride=1):
    """The backward of sliding_windows: dwindows (N, C, H', W', kh, kw), a gradient for every
    window, -> dx of ``shape`` (N, C, H, W), where each window's gradient is added at the
    pixels the window covered (pixels in several windows collect the sum)."""
    ### BEGIN SOLUTION
    n, c, height, width = shape
    out_h, out_w, kernel_h, kernel_w = dwindows.shape[2:]
    dx = np.zeros((c, n, height, width))  # channels first: the sums below read and write in order
    for p in range(kernel_h):
        for q in range(kernel_w):
            rows, cols = slice(p, p + stride * out_h, stride), slice(q, q + stride * out_w, stride)
            dx[:, :, rows, cols] += dwindows[:, :, :, :, p, q].transpose(1, 0, 2, 3)
    return dx.transpose(1, 0, 2, 3)
    ### END SOLUTION


def conv_forward(x, w, b, stride=1, padding=0):
    """Convolution (cross-correlation, as torch) without Python loops over samples or
    positions (im2col): the windows of the padded input (sliding_windows) laid out as the
    columns of one matrix, multiplied by the kernels flattened to rows.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,) -> out: (N, F, H', W'), the same numbers as
    conv_forward_naive (a ValueError where the kernel does not fit); cache: (x, w, b, stride,
    padding, cols) with cols (C HH WW, N H' W').
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    n_filters, channels, kernel_h, kernel_w = w.shape
    out_h = conv_output_size(x.shape[2], kernel_h, stride, padding)
    out_w = conv_output_size(x.shape[3], kernel_w, stride, padding)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_windows(x_pad, kernel_h, kernel_w, stride)  # (N, C, H', W', HH, WW), a view
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(channels * kernel_h * kernel_w, -1)  # a copy
    out = (w.reshape(n_filters, -1) @ cols).reshape(n_filters, x.shape[0], out_h, out_w)
    out = out.transpose(1, 0, 2, 3) + b[:, None, None]
    return out, (x, w, b, stride, padding, cols)
    ### END SOLUTION


def conv_backward(dout, cache):
    """Gradients of conv_forward without Python loops over samples or positions:
    dout (N, F, H', W') -> (dx (N, C, H, W), dw (F, C, HH, WW), db (F,)).
    The arguments are left unchanged."""
    ### BEGIN SOLUTION
    x, w, _, stride, padding, cols = cache
    n_filters, channels, kernel_h, kernel_w = w.shape
    n_images, _, out_h, out_w = dout.shape
    dout_rows = dout.transpose(1, 0, 2, 3).reshape(n_filters, -1)  # (F, N H' W')
    db = dout_rows.sum(axis=1)
    dw = (cols @ dout_rows.T).T.reshape(w.shape)
    dcols = w.reshape(n_filters, -1).T @ dout_rows  # (C HH WW, N H' W')
    dwindows = dcols.reshape(channels, kernel_h, kernel_w, n_images, out_h, out_w).transpose(3, 0, 4, 5, 1, 2)
    padded = (n_images, channels, x.shape[2] + 2 * padding, x.shape[3] + 2 * padding)
    dx_pad = fold_windows(dwindows, padded, stride)
    dx = dx_pad[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    return dx, dw, db
    ### END SOLUTION


def max_pool_forward(x, kernel_size=2, stride=None):
    """Max pooling, as torch.nn.functional.max_pool2d without padding: the largest value of
    every kernel_size x kernel_size window, windows ``stride`` apart (default: kernel_size).

    x: (N, C, H, W) -> out: (N, C, H', W') with H' = conv_output_size(H, kernel_size, stride);
    cache: (x.shape, kernel_size, stride, winner), where winner (N, C, H', W') is the
    position of each window's largest element in the window, counted in row-major order
    (the first one on a tie, as torch does).
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    conv_output_size(x.shape[2], kernel_size, stride)
    conv_output_size(x.shape[3], kernel_size, stride)
    windows = sliding_windows(x, kernel_size, kernel_size, stride)
    flat = windows.reshape(*windows.shape[:4], kernel_size * kernel_size)  # (N, C, H', W', k k)
    winner = flat.argmax(axis=-1)
    return flat.max(axis=-1), (x.shape, kernel_size, stride, winner)
    ### END SOLUTION


def max_pool_backward(dout, cache):
    """Gradient of max pooling: dout (N, C, H', W') -> dx (N, C, H, W). Each window's
    gradient goes to the window's largest element alone; a pixel in several windows
    collects the sum.
    The arguments are left unchanged."""
    ### BEGIN SOLUTION
    shape, kernel_size, stride, winner = cache
    one_hot = winner[..., None] == np.arange(kernel_size * kernel_size)  # (N, C, H', W', k k)
    dwindows = (one_hot * dout[..., None]).reshape(*dout.shape, kernel_size, kernel_size)
    return fold_windows(dwindows, shape, stride)
    ### END SOLUTION


def avg_pool_forward(x, kernel_size=2, stride=None):
    """Average pooling, as torch.nn.functional.avg_pool2d without padding: the mean of every
    kernel_size x kernel_size window, windows ``stride`` apart (default: kernel_size).

    x: (N, C, H, W) -> out: (N, C, H', W'); cache: (x, kernel_size, stride).
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    conv_output_size(x.shape[2], kernel_size, stride)
    conv_output_size(x.shape[3], kernel_size, stride)
    out = sliding_windows(x, kernel_size, kernel_size, stride).mean(axis=(4, 5))
    return out, (x, kernel_size, stride)
    ### END SOLUTION


def avg_pool_backward(dout, cache):
    """Gradient of average pooling: dout (N, C, H', W') -> dx (N, C, H, W). Every element of
    a window receives the window's gradient divided by kernel_size^2; a pixel in several
    windows collects the sum.
    The arguments are left unchanged."""
    ### BEGIN SOLUTION
    x, kernel_size, stride = cache
    share = dout / (kernel_size * kernel_size)
    dwindows = np.broadcast_to(share[..., None, None], (*dout.shape, kernel_size, kernel_size))
    return fold_windows(dwindows, x.shape, stride)
    ### END SOLUTION


def conv1x1_forward(x, w, b):
    """1x1 convolution as channel mixing: the same affine map of the C channels at every
    pixel, out[n, f, i, j] = sum_c w[f, c] x[n, c, i, j] + b[f], which equals
    conv_forward(x, w[:, :, None, None], b).

    x: (N, C, H, W), w: (F, C), b: (F,) -> out: (N, F, H, W); cache: (x, w).
    The arguments are left unchanged.
    """
    ### BEGIN SOLUTION
    out = np.einsum("fc,nchw->nfhw", w, x) + b[:, None, None]
    return out, (x, w)
    ### END SOLUTION


def conv1x1_backward(dout, cache):
    """Gradients of conv1x1_forward: dout (N, F, H, W) -> (dx (N, C, H, W), dw (F, C), db (F,)).

    The arguments are left unchanged."""
    ### BEGIN SOLUTION
    x, w = cache
    dx = np.einsum("fc,nfhw->nchw", w, dout)
    dw = np.einsum("nfhw,nchw->fc", dout, x)
    return dx, dw, dout.sum(axis=(0, 2, 3))
    ### END SOLUTION
