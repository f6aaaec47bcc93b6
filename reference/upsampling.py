"""Making feature maps larger: bilinear upsampling and transposed convolution, in NumPy.

Both are linear maps of their input. Bilinear interpolation is separable: one small
(size_out, size_in) interpolation matrix per axis, so its backward pass applies the
transposed matrices. A transposed convolution scatters every input pixel, weighted by the
kernel, into a window of the output; its backward pass gathers from the same windows. The
conventions are PyTorch's (``F.interpolate(mode="bilinear")``, ``F.conv_transpose2d``).
"""

import numpy as np


def interpolation_matrix(size_in, size_out, align_corners=False):
    """The (size_out, size_in) matrix A of 1-D linear interpolation: resized = A @ values.

    Output position i samples the input at the coordinate
      align_corners=True:  src = i * (size_in - 1) / (size_out - 1)   (0 when size_out is 1),
                           so the first and last samples of input and output coincide;
      align_corners=False: src = (i + 0.5) * size_in / size_out - 0.5, clamped below at 0,
                           so the pixels' edges coincide (pixels are squares, not points).
    With i0 = floor(src), i1 = min(i0 + 1, size_in - 1) and t = src - i0, row i holds
    1 - t at column i0 and t at column i1 (their sum where i0 == i1).
    """
    ### BEGIN SOLUTION
    i = np.arange(size_out, dtype=np.float64)
    if align_corners:
        src = i * ((size_in - 1) / (size_out - 1)) if size_out > 1 else np.zeros(size_out)
    else:
        src = np.maximum((i + 0.5) * (size_in / size_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    i1 = np.minimum(i0 + 1, size_in - 1)
    t = src - i0
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    np.add.at(matrix, (rows, i0), 1.0 - t)
    np.add.at(matrix, (rows, i1), t)
    return matrix
    ### END SOLUTION


def bilinear_forward(x, size, align_corners=False):
    """Bilinear resizing of every channel to ``size`` = (H_out, W_out), as
    F.interpolate(x, size, mode="bilinear", align_corners=align_corners).

    x: (N, C, H, W) -> out: (N, C, H_out, W_out), out = A_h @ x @ A_w^T for each channel,
    with A_h = interpolation_matrix(H, H_out) and A_w = interpolation_matrix(W, W_out);
    cache: (A_h, A_w).
    """
    ### BEGIN SOLUTION
    a_h = interpolation_matrix(x.shape[2], size[0], align_corners)
    a_w = interpolation_matrix(x.shape[3], size[1], align_corners)
    out = np.einsum("ih,nchw,jw->ncij", a_h, x, a_w, optimize=True)
    return out, (a_h, a_w)
    ### END SOLUTION


def bilinear_backward(dout, cache):
    """Gradient of bilinear_forward: dout (N, C, H_out, W_out) -> dx (N, C, H, W),
    dx = A_h^T @ dout @ A_w for each channel (the map is linear, so its backward pass is
    its transpose)."""
    ### BEGIN SOLUTION
    a_h, a_w = cache
    return np.einsum("ih,ncij,jw->nchw", a_h, dout, a_w, optimize=True)
    ### END SOLUTION


def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0):
    """Length of a transposed convolution's output along one axis:
    (size - 1) * stride - 2 * padding + kernel_size + output_padding.

    It inverts the output size of a convolution with the same kernel_size, stride and
    padding; output_padding (0 <= output_padding < stride) picks one of the ``stride``
    input sizes that such a convolution maps to ``size``. Raises ValueError for an
    output_padding outside that range or an output shorter than 1.
    """
    ### BEGIN SOLUTION
    if not 0 <= output_padding < stride:
        raise ValueError(f"output_padding must satisfy 0 <= output_padding < stride, got "
                         f"output_padding={output_padding}, stride={stride}")
    out = (size - 1) * stride - 2 * padding + kernel_size + output_padding
    if out < 1:
        raise ValueError(f"input size {size} with kernel {kernel_size}, stride {stride}, padding "
                         f"{padding} gives an empty output ({out})")
    return out
    ### END SOLUTION


def conv_transpose_forward(x, w, b, stride=1, padding=0, output_padding=0):
    """Transposed convolution, as F.conv_transpose2d(x, w, b, stride, padding, output_padding).

    x: (N, C_in, H, W), w: (C_in, C_out, KH, KW) (the layout torch uses for transposed
    convolutions), b: (C_out,) -> out: (N, C_out, H_out, W_out) with sizes from
    conv_transpose_output_size. Input pixel (i, j) adds x[n, :, i, j] @ w[:, :, p, q] to the
    output at (i * stride + p - padding, j * stride + q - padding) for every kernel offset
    (p, q); positions that fall outside the output are dropped. cache: (x, w, stride, padding,
    output_padding).
    """
    ### BEGIN SOLUTION
    n, _, height, width = x.shape
    _, c_out, kh, kw = w.shape
    h_out = conv_transpose_output_size(height, kh, stride, padding, output_padding)
    w_out = conv_transpose_output_size(width, kw, stride, padding, output_padding)
    # accumulate on the uncropped grid, then cut ``padding`` from each border
    full = np.zeros((n, c_out, h_out + 2 * padding, w_out + 2 * padding))
    for p in range(kh):
        for q in range(kw):
            rows = slice(p, p + stride * (height - 1) + 1, stride)
            cols = slice(q, q + stride * (width - 1) + 1, stride)
            full[:, :, rows, cols] += np.einsum("nchw,co->nohw", x, w[:, :, p, q])
    out = full[:, :, padding:padding + h_out, padding:padding + w_out] + b[None, :, None, None]
    return out, (x, w, stride, padding, output_padding)
    ### END SOLUTION


def conv_transpose_backward(dout, cache):
    """Gradients of conv_transpose_forward: dout (N, C_out, H_out, W_out) ->
    (dx (N, C_in, H, W), dw (C_in, C_out, KH, KW), db (C_out,)).

    Every input pixel reads back from the output window it was added to:
    dx[n, :, i, j] = sum over (p, q) of w[:, :, p, q] @ dout[n, :, i * stride + p - padding,
    j * stride + q - padding], dw[:, :, p, q] the matching sums of x[n, :, i, j] times those
    dout values over n, i, j, and db the sum of dout over n, h, w.
    """
    ### BEGIN SOLUTION
    x, w, stride, padding, _ = cache
    _, _, height, width = x.shape
    kh, kw = w.shape[2:]
    full = np.pad(dout, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for p in range(kh):
        for q in range(kw):
            window = full[:, :, p:p + stride * (height - 1) + 1:stride, q:q + stride * (width - 1) + 1:stride]
            dx += np.einsum("nohw,co->nchw", window, w[:, :, p, q])
            dw[:, :, p, q] = np.einsum("nchw,nohw->co", x, window)
    return dx, dw, dout.sum(axis=(0, 2, 3))
    ### END SOLUTION
