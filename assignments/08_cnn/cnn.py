# %% [markdown]
# # Assignment 08: Convolutional networks
#
# A fully connected layer treats an image as a list of numbers: shift a digit by one pixel
# and every input changes, so it must learn each pattern again at every position. A
# **convolutional layer** uses what we know about images instead:
#
# * **local connectivity**: each output looks at a small window of the input (a 3x3 patch),
#   because nearby pixels belong together;
# * **weight sharing**: the same small kernel slides over every position, so a pattern it
#   detects is detected anywhere, with $F \cdot C \cdot k^2$ weights instead of one weight
#   per pair of pixels;
# * **translation equivariance**: a shifted input gives a shifted output. **Pooling** then
#   summarizes each small neighbourhood, which makes the features tolerant to small shifts.
#
# You will write convolution and pooling in NumPy, twice: with loops that follow the
# formula, then vectorized, fast enough to train on; stack them with your layer objects from
# assignment 03 into a CNN; and then build the architectures that made convolutional
# networks deep in PyTorch: inception blocks, residual blocks and a small VGG-style network.
# The last experiment shows why residual connections matter: in a deep plain network the
# gradient fades away before it reaches the first layer.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check cnn.ipynb` for the public tests. Hidden tests use other inputs, so make
# your code correct, not only passing.

# %% tags=["setup"]
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from autograder.student import data
from autograder.student.gradcheck import numerical_vjp, rel_error

# %%
import time

import matplotlib.pyplot as plt

rng = np.random.default_rng(0)
device = "cuda" if torch.cuda.is_available() else "cpu"


def check_against_torch(name, ours, theirs, tol=1e-8):
    """Assert that two arrays (or tensors) agree, and say so."""
    error = rel_error(np.asarray(ours), theirs.detach().numpy() if torch.is_tensor(theirs) else theirs)
    assert error < tol, f"{name} disagrees with PyTorch: relative error {error:.1e}"
    print(f"{name}: relative error {error:.1e}")


# %% [markdown]
# ## 1. The size of the output
#
# A kernel of size $F$ slides over an input of size $N$ padded with $P$ zeros on each side,
# moving $S$ pixels at a time (the **stride**). It fits at positions $0, S, 2S, \dots$ as
# long as it stays inside the padded input of size $N + 2P$, so there are
#
# $$ N' = \left\lfloor \frac{N + 2P - F}{S} \right\rfloor + 1 $$
#
# outputs along that axis (the formula holds for rows and columns separately, and for
# pooling too). With $S = 1$ and $P = (F - 1)/2$ the output keeps the input's size ("same"
# padding: $P = 1$ for a 3x3 kernel). A stride that does not divide $N + 2P - F$ simply
# leaves the last few pixels unvisited, as PyTorch does. But some configurations are
# impossible: a kernel longer than the padded input, a stride or kernel size below 1, or
# negative padding. `conv_output_size` raises a `ValueError` for these, with a message that
# names the numbers, instead of returning a size of zero or less.

# %% solution="reference.conv:conv_output_size" grade_id="output_size"
# filled in by the build

# %%
for size, kernel, stride, padding in [(8, 3, 1, 1), (32, 5, 2, 2), (7, 3, 3, 0), (5, 5, 1, 0)]:
    expected = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel),
                        stride=stride, padding=padding).shape[-1]
    assert conv_output_size(size, kernel, stride, padding) == expected, (size, kernel, stride, padding)
try:
    conv_output_size(4, 7, 1, 1)
    raise AssertionError("a 7-pixel kernel does not fit into 4 pixels padded to 6")
except ValueError as error:
    print(f"ValueError: {error}")

# %% [markdown]
# ## 2. Convolution, with loops
#
# A convolutional layer has $F$ filters; filter $f$ has a kernel $w_f$ of shape
# $(C, HH, WW)$, one slice per input channel, and a bias $b_f$. Output $(f, i, j)$ of
# sample $n$ is the kernel's dot product with the window of the padded input $x_\text{pad}$
# at row $iS$ and column $jS$:
#
# $$ \text{out}[n, f, i, j] = b_f + \sum_{c=0}^{C-1} \sum_{p=0}^{HH-1} \sum_{q=0}^{WW-1}
#    w[f, c, p, q]\; x_\text{pad}[n, c, iS + p, jS + q] . $$
#
# Strictly speaking this is a **cross-correlation**: a convolution in the mathematical sense
# flips the kernel first, $w[f, c, HH-1-p, WW-1-q]$. Deep-learning libraries, PyTorch
# included, compute the cross-correlation and call it convolution. For a network that
# learns its kernels either convention works, but they are not interchangeable: a kernel
# trained or loaded in one convention is mirrored in the other. Use PyTorch's.
#
# **Backward.** Each output touched one window of $x_\text{pad}$ with one kernel, so the
# chain rule sums over the outputs:
#
# $$ \frac{\partial L}{\partial b_f} = \sum_{n,i,j} \text{dout}[n,f,i,j], \qquad
#    \frac{\partial L}{\partial w[f,c,p,q]} = \sum_{n,i,j} \text{dout}[n,f,i,j]\; x_\text{pad}[n,c,iS+p,jS+q], $$
#
# and every window of $x_\text{pad}$ receives $\text{dout}[n,f,i,j]\, w_f$, added up where
# windows overlap; $dx$ is the middle of $dx_\text{pad}$, without the padding. Write both
# passes with four loops (samples, filters, output rows, output columns) and NumPy inside.

# %% solution="reference.conv:conv_forward_naive,conv_backward_naive" grade_id="conv_naive"
# filled in by the build

# %%
x, w, b = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
out, cache = conv_forward_naive(x, w, b, stride=2, padding=1)
check_against_torch("conv_forward_naive", out, F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                                        stride=2, padding=1))
dout = rng.normal(size=out.shape)
dx, dw, db = conv_backward_naive(dout, cache)
for name, grad, numeric in [
    ("dx", dx, numerical_vjp(lambda v: conv_forward_naive(v, w, b, 2, 1)[0], x, dout)),
    ("dw", dw, numerical_vjp(lambda v: conv_forward_naive(x, v, b, 2, 1)[0], w, dout)),
    ("db", db, numerical_vjp(lambda v: conv_forward_naive(x, w, v, 2, 1)[0], b, dout)),
]:
    assert rel_error(grad, numeric) < 1e-7, f"{name} of conv_backward_naive disagrees with central differences"
print("conv_backward_naive agrees with central differences")

# %% [markdown]
# ## 3. Convolution without loops: im2col
#
# The loops run $N \cdot F \cdot H' \cdot W'$ times in Python, far too slow to train on.
# The trick is to copy every window of the padded input into one column of a matrix
# (**im2col**): with $K = C \cdot HH \cdot WW$ numbers per window and $N H' W'$ windows, the
# matrix `cols` is $(K, N H' W')$, and the whole convolution is one matrix product with the
# kernels flattened to rows, $W \in \mathbb R^{F \times K}$:
#
# $$ \text{out} = W \cdot \text{cols} + b \quad \in \mathbb R^{F \times N H' W'} , $$
#
# reshaped to $(F, N, H', W')$ and transposed to $(N, F, H', W')$.
#
# `sliding_windows` finds the windows without copying anything:
# `np.lib.stride_tricks.sliding_window_view(x, (HH, WW), axis=(2, 3))` is a *view* of shape
# $(N, C, H-HH+1, W-WW+1, HH, WW)$ whose entries point into `x`; keeping every `stride`-th
# window along both position axes leaves $(N, C, H', W', HH, WW)$. Only the reshape into
# `cols` copies (after a transpose that brings $C, HH, WW$ to the front). Keep `cols` in
# the cache: the backward pass needs it.
#
# **Backward**, with $\text{dout}$ reshaped to rows $D \in \mathbb R^{F \times N H' W'}$ in
# the same order: $db = D \mathbf 1$, $dW = D \cdot \text{cols}^\top$, and
# $d\text{cols} = W^\top D$, a gradient for every window. `fold_windows` is the backward of
# `sliding_windows`: it adds each window's gradient back onto the pixels the window
# covered. Loop over the $HH \cdot WW$ positions $(p, q)$ inside the kernel, not over the
# windows: for each, one strided slice of $dx$ (`dx[:, :, p:p + S*H':S, q:q + S*W':S]`)
# receives the entries $(\dots, p, q)$ of all windows at once.
#
# The grader times `conv_forward` and `conv_backward` on 64 images of 3x32x32 with 16
# filters of 3x3: together they must finish within 10 s. im2col needs a fraction of a
# second; the four loops of section 2 need far longer.

# %% solution="reference.conv:sliding_windows,fold_windows,conv_forward,conv_backward" grade_id="conv_vectorized"
# filled in by the build

# %%
x, w, b = rng.normal(size=(3, 2, 9, 8)), rng.normal(size=(4, 2, 3, 2)), rng.normal(size=4)
for stride, padding in [(1, 0), (2, 1), (3, 2)]:
    out, cache = conv_forward(x, w, b, stride, padding)
    expected, naive_cache = conv_forward_naive(x, w, b, stride, padding)
    assert np.allclose(out, expected), f"conv_forward differs from conv_forward_naive (stride {stride}, padding {padding})"
    dout = rng.normal(size=out.shape)
    for name, fast, slow in zip(("dx", "dw", "db"), conv_backward(dout, cache), conv_backward_naive(dout, naive_cache)):
        assert np.allclose(fast, slow), f"{name} of conv_backward differs from the naive one (stride {stride}, padding {padding})"
windows = sliding_windows(x, 3, 2, stride=2)
g = rng.normal(size=windows.shape)
assert np.isclose(np.sum(windows * g), np.sum(x * fold_windows(g, x.shape, stride=2))), \
    "fold_windows should be the backward of sliding_windows"
print("conv_forward and conv_backward agree with the loops")

# %% [markdown]
# How much faster? The same layer (16 images of 3x16x16, 8 filters of 3x3), forward and
# backward, with loops, with im2col, and with PyTorch in float64.

# %%
x, w, b = rng.normal(size=(16, 3, 16, 16)), rng.normal(size=(8, 3, 3, 3)), rng.normal(size=8)


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def torch_conv():
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    F.conv2d(*tensors, padding=1).sum().backward()


naive = seconds(lambda: conv_backward_naive(np.ones((16, 8, 16, 16)), conv_forward_naive(x, w, b, 1, 1)[1]))
fast = seconds(lambda: conv_backward(np.ones((16, 8, 16, 16)), conv_forward(x, w, b, 1, 1)[1]))
print(f"loops {1e3 * naive:.0f} ms, im2col {1e3 * fast:.1f} ms ({naive / fast:.0f} times faster), "
      f"PyTorch {1e3 * seconds(torch_conv):.1f} ms")

# %% [markdown]
# ## 4. Pooling
#
# A pooling layer summarizes each $k \times k$ window of every channel by one number, with
# windows `stride` apart (by default `stride` $= k$: windows side by side). It has no
# parameters, acts on each channel separately, and shrinks the image:
# $H' = \lfloor (H - k) / S \rfloor + 1$ (no padding here).
#
# * **Max pooling** keeps the largest value of each window. Its backward sends each
#   window's gradient to that one element, the "winner", and nothing to the others:
#   changing a value that is not the maximum does not change the output. Remember in the
#   cache where the winner sat in its window (`argmax` over the window flattened in
#   row-major order picks the first on a tie, as PyTorch does).
# * **Average pooling** takes the mean. Its backward gives every element of the window an
#   equal share of the window's gradient, $\text{dout} / k^2$.
#
# Windows may overlap when the stride is smaller than $k$; then a pixel collects the
# gradients of all the windows it belongs to, which is exactly what `fold_windows` adds up.

# %% solution="reference.conv:max_pool_forward,max_pool_backward,avg_pool_forward,avg_pool_backward" grade_id="pooling"
# filled in by the build

# %%
x = rng.normal(size=(2, 3, 7, 7))
for kernel, stride in [(2, 2), (3, 2), (3, 1)]:
    for name, forward, backward, torch_pool in [("max", max_pool_forward, max_pool_backward, F.max_pool2d),
                                                ("average", avg_pool_forward, avg_pool_backward, F.avg_pool2d)]:
        inputs = torch.tensor(x, requires_grad=True)
        expected = torch_pool(inputs, kernel, stride)
        out, cache = forward(x, kernel, stride)
        dout = rng.normal(size=out.shape)
        expected.backward(torch.tensor(dout))
        check_against_torch(f"{name} pooling {kernel}x{kernel}, stride {stride}", out, expected)
        check_against_torch(f"  and its backward", backward(dout, cache), inputs.grad)

# %% [markdown]
# ## 5. Edge filters on a photograph
#
# Before any learning: kernels made by hand. The **Sobel** kernel below responds to a change
# of brightness from left to right, and its transpose to a change from top to bottom; the
# **Laplacian** responds to a pixel that differs from its four neighbours, wherever the
# edge runs. Here they are applied, with your `conv_forward`, to one of scikit-learn's
# sample photographs in gray, first shrunk by a 2x2 average pooling. The length
# $\sqrt{g_x^2 + g_y^2}$ of the two Sobel responses outlines the edges in any direction.
#
# The last panel shows why the convention matters: the Sobel kernel flipped, as a
# convolution in the mathematical sense would apply it, is a different filter. It gives
# the same response with the opposite sign: bright-to-dark edges where the original finds
# dark-to-bright ones.

# %%
from sklearn.datasets import load_sample_images

photo = load_sample_images().images[0].mean(axis=2) / 255.0  # (427, 640) gray values in [0, 1]
small, _ = avg_pool_forward(photo[None, None], 2)             # (1, 1, 213, 320)
sobel_x = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
laplacian = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
kernels = np.stack([sobel_x, sobel_x.T, laplacian, sobel_x[::-1, ::-1]])[:, None]  # (4, 1, 3, 3)
responses, _ = conv_forward(small, kernels, np.zeros(4), padding=1)
gx, gy, lap, flipped = responses[0]

fig, axes = plt.subplots(2, 3, figsize=(14, 6.5))
panels = [(small[0, 0], "the photograph, pooled 2x2", "gray"),
          (gx, "Sobel: left to right, $g_x$", "RdBu"), (gy, "Sobel transposed: top to bottom, $g_y$", "RdBu"),
          (np.hypot(gx, gy), "edge strength $\\sqrt{g_x^2 + g_y^2}$", "magma"), (lap, "Laplacian", "RdBu"),
          (flipped, "Sobel flipped: $-g_x$", "RdBu")]
for ax, (image, title, cmap) in zip(axes.flat, panels):
    limit = np.abs(image).max() if cmap == "RdBu" else None
    ax.imshow(image, cmap=cmap, vmin=-limit if limit else None, vmax=limit)
    ax.set(title=title, xticks=[], yticks=[])
plt.tight_layout()
plt.show()
assert np.allclose(flipped, -gx), "the flipped Sobel kernel should give -g_x"

# %% [markdown]
# ## 6. 1x1 convolution: mixing channels
#
# A kernel of size 1x1 sees one pixel, so it cannot detect shapes; what it does is mix the
# $C$ channels of each pixel into $F$ new ones with the same matrix everywhere:
#
# $$ \text{out}[n, f, i, j] = b_f + \sum_c w[f, c]\; x[n, c, i, j] , $$
#
# an affine layer applied at every pixel, with $F \cdot C$ weights. Networks use it to
# change the number of channels cheaply, for example to reduce 256 channels to 64 before
# an expensive 3x3 convolution (section 9). Write it with `np.einsum` (or a transpose and a
# matrix product); `w` has shape $(F, C)$, and the result equals `conv_forward` with the
# kernel `w[:, :, None, None]`.

# %% solution="reference.conv:conv1x1_forward,conv1x1_backward" grade_id="conv1x1"
# filled in by the build

# %%
x, w, b = rng.normal(size=(2, 5, 4, 3)), rng.normal(size=(3, 5)), rng.normal(size=3)
out, cache = conv1x1_forward(x, w, b)
check_against_torch("conv1x1_forward", out, F.conv2d(torch.tensor(x), torch.tensor(w[:, :, None, None]), torch.tensor(b)))
dout = rng.normal(size=out.shape)
dx, dw, db = conv1x1_backward(dout, cache)
for name, grad, numeric in [
    ("dx", dx, numerical_vjp(lambda v: conv1x1_forward(v, w, b)[0], x, dout)),
    ("dw", dw, numerical_vjp(lambda v: conv1x1_forward(x, v, b)[0], w, dout)),
    ("db", db, numerical_vjp(lambda v: conv1x1_forward(x, w, v)[0], b, dout)),
]:
    assert rel_error(grad, numeric) < 1e-7, f"{name} of conv1x1_backward disagrees with central differences"
print("conv1x1_backward agrees with central differences")

# %% [markdown]
# ## 7. A convolutional network in NumPy
#
# Your layer objects from assignment 03 follow one protocol: `params` and `grads` dicts,
# `forward(x, train=True, rng=None)` that keeps a cache, and `backward(dout)` that fills
# `grads` and returns `dx`. `Sequential` stacks any such layers and `train` trains any
# model with `params` and `loss`. **Paste into the next cell your answer cells `affine`,
# `relu_from_02`, `softmax_loss_from_02`, `modular` and `train` from assignment 03**,
# unchanged.

# %% solution="reference.activations:relu_forward,relu_backward,log_softmax reference.losses:softmax_cross_entropy reference.layers:affine_forward,affine_backward reference.modules:Affine,ReLU,Sequential reference.networks:train" grade_id="from_03"
# filled in by the build

# %% [markdown]
# Now the new layers, each a thin wrapper of the functions above:
#
# * `Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, weight_scale=1e-3, seed=0)`
#   calls `conv_forward` and `conv_backward`. Its `params` are `"w"`, of shape
#   (out_channels, in_channels, kernel_size, kernel_size), drawn from
#   $\mathcal N(0, \sigma^2)$ with $\sigma$ = `weight_scale` and
#   `np.random.default_rng(seed)` (one `standard_normal` draw of that shape), and `"b"`, of
#   zeros. Naming the kernel `"w"` means `Sequential`'s L2 penalty applies to it.
# * `MaxPool2d(kernel_size=2, stride=None)` and `AvgPool2d(kernel_size=2, stride=None)`
#   call the pooling functions; they have no parameters.
# * `Flatten()` turns (N, d1, ..., dk) into (N, d1 ... dk) for the affine layer after it,
#   and its backward turns the gradient back into the shape of the latest input.

# %% solution="reference.modules:Conv2d,MaxPool2d,AvgPool2d,Flatten" grade_id="layer_objects"
# filled in by the build

# %%
layer = Conv2d(3, 4, 3, stride=2, padding=1, weight_scale=0.5, seed=1)
torch_layer = nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=torch.float64)
torch_layer.load_state_dict({"weight": torch.tensor(layer.params["w"]), "bias": torch.tensor(layer.params["b"])})
x = rng.normal(size=(2, 3, 7, 6))
inputs = torch.tensor(x, requires_grad=True)
expected = torch_layer(inputs)
out = layer.forward(x)
dout = rng.normal(size=out.shape)
expected.backward(torch.tensor(dout))
check_against_torch("Conv2d.forward", out, expected)
check_against_torch("Conv2d.backward", layer.backward(dout), inputs.grad)
check_against_torch("Conv2d.grads['w']", layer.grads["w"], torch_layer.weight.grad)
flat = Flatten()
assert flat.forward(x).shape == (2, 126) and flat.backward(np.ones((2, 126))).shape == x.shape

# %% [markdown]
# **The network the grader trains.** Conv - ReLU - max pool - affine - ReLU - affine, with
# He initialization ($\sigma = \sqrt{2 / \text{fan-in}}$, where the fan-in of a kernel is
# $C \cdot k^2$):
#
# | index | layer | `params` |
# | --- | --- | --- |
# | 0 | `Conv2d(C, 16, 3, padding=1, weight_scale=sqrt(2 / (9 C)), seed=0)` | `0.w` (16, C, 3, 3), `0.b` (16,) |
# | 1, 2, 3 | `ReLU()`, `MaxPool2d(2)`, `Flatten()` | |
# | 4 | `Affine(16 (S/2)^2, 64, weight_scale=sqrt(2 / (16 (S/2)^2)), seed=1)` | `4.w`, `4.b` (64,) |
# | 5 | `ReLU()` | |
# | 6 | `Affine(64, 10, weight_scale=sqrt(2 / 64), seed=2)` | `6.w` (64, 10), `6.b` (10,) |
#
# for images of C channels and S x S pixels, in `Sequential(..., reg=1e-4)`, trained by
# `train(model, X_train, y_train, lr=0.2, epochs=30, batch_size=50, seed=0)`. The images
# below are scikit-learn's digits (8x8, one channel), or MNIST where your course names it.

# %%
def numpy_cnn(channels, size):
    he = lambda fan_in: np.sqrt(2.0 / fan_in)  # noqa: E731
    flat = 16 * (size // 2) ** 2
    return Sequential(Conv2d(channels, 16, 3, padding=1, weight_scale=he(9 * channels), seed=0), ReLU(),
                      MaxPool2d(2), Flatten(),
                      Affine(flat, 64, weight_scale=he(flat), seed=1), ReLU(),
                      Affine(64, 10, weight_scale=he(64), seed=2), reg=1e-4)


images = data.course_images()
X_train, y_train, X_val, y_val, X_test, y_test = images
channels, size = X_train.shape[1], X_train.shape[-1]
print(f"{len(X_train)} training images of {channels} x {size} x {size}")

model = numpy_cnn(channels, size)
losses, val_acc = [], []
for epoch in tqdm(range(30), desc="epochs"):
    history = train(model, X_train, y_train, lr=0.2, epochs=1, batch_size=50, seed=epoch, X_val=X_val, y_val=y_val)
    losses += history["loss"]
    val_acc += history["val_acc"]
print(f"validation accuracy of the NumPy CNN: {val_acc[-1]:.3f}")
assert val_acc[-1] >= {{ thresholds.numpy_cnn_accuracy }}, "the grader requires {{ thresholds.numpy_cnn_accuracy }}"

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
left.plot(losses, lw=0.5)
left.set(xlabel="step", ylabel="batch loss", yscale="log", title="Training loss")
right.plot(val_acc)
right.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy")
plt.show()

# %% [markdown]
# **What the grader checks.** It builds and trains this network with your layers and your
# `train`, reads the trained `model.params` and computes the predictions of those weights
# itself, with its own copy of the network. The digits are public, so a program could look
# an image's label up instead of learning it; the grader therefore trains and tests on a
# secretly transformed copy: every image turned or mirrored in the same secret way, moved
# by up to one pixel in each direction, with a little noise, and the ten classes renamed.
# A convolutional network learns such a copy as well as the original, and no lookup can
# match it. It requires a test accuracy of at least **{{ thresholds.numpy_cnn_accuracy }}**.
#
# **What did it learn?** Each of the 16 kernels of the first layer is a 3x3 image; the
# feature maps are what the layer makes of one digit, after the ReLU: each kernel lights up
# where its pattern occurs.

# %%
kernels = model.params["0.w"]
digit = X_val[:1]
maps = model.layers[1].forward(model.layers[0].forward(digit, train=False))[0]
fig, axes = plt.subplots(2, 17, figsize=(17, 2.4))
axes[0, 0].imshow(digit[0].mean(axis=0), cmap="gray_r")
axes[0, 0].set_title("input")
axes[1, 0].axis("off")
limit = np.abs(kernels).max()
for k in range(16):
    axes[0, k + 1].imshow(kernels[k].mean(axis=0), cmap="RdBu", vmin=-limit, vmax=limit)
    axes[1, k + 1].imshow(maps[k], cmap="magma")
for ax in axes.flat:
    ax.set(xticks=[], yticks=[])
axes[0, 1].set_ylabel("kernel")
axes[1, 1].set_ylabel("feature map")
plt.show()

# %% [markdown]
# ## 8. PyTorch: counting parameters
#
# From here on, PyTorch's `nn.Conv2d` and `nn.MaxPool2d` do what you just wrote. Where a
# network spends its parameters explains much of its design. A convolution with $C$ input
# and $F$ output channels and a $k \times k$ kernel has one kernel $(C, k, k)$ and one bias
# per output channel:
#
# $$ \#\text{params} = F\,(C k^2 + 1) , $$
#
# independent of the image size, unlike a fully connected layer. Two stacked 3x3
# convolutions see a 5x5 window, like one 5x5 convolution, with $2 \cdot 9 C^2$ instead of
# $25 C^2$ weights and one more nonlinearity: the reason VGG uses only 3x3 kernels.
# `parameter_count(model)` counts what an optimizer would train: the elements of every
# parameter that requires a gradient.

# %% solution="reference.torch_cnn:conv2d_parameter_count,parameter_count" grade_id="parameter_counts"
# filled in by the build

# %%
for args in [(3, 64, 3), (64, 64, 1), (16, 8, 5)]:
    assert conv2d_parameter_count(*args) == parameter_count(nn.Conv2d(*args)), args
    assert conv2d_parameter_count(*args, bias=False) == parameter_count(nn.Conv2d(*args, bias=False)), args
two_3x3, one_5x5 = 2 * conv2d_parameter_count(64, 64, 3), conv2d_parameter_count(64, 64, 5)
print(f"64 channels: two 3x3 convolutions {two_3x3:,} parameters, one 5x5 convolution {one_5x5:,}")

# %% [markdown]
# ## 9. An inception block
#
# Which kernel size is best, 1x1, 3x3 or 5x5? GoogLeNet's answer: all of them, side by
# side. An inception block runs four branches on the same input and concatenates their
# outputs **on the channel axis** (`dim=1` of an (N, C, H, W) tensor: the images stay the
# same size, the channels pile up):
#
# 1. a 1x1 convolution to `ch1x1` channels;
# 2. a 1x1 convolution to `ch3x3red` channels, a ReLU, a 3x3 convolution (padding 1) to `ch3x3`;
# 3. a 1x1 convolution to `ch5x5red` channels, a ReLU, a 5x5 convolution (padding 2) to `ch5x5`;
# 4. a 3x3 max pooling with stride 1 and padding 1, then a 1x1 convolution to `pool_proj`.
#
# Each branch ends in a ReLU. The 1x1 "reductions" in front of the 3x3 and 5x5 convolutions
# are what makes the block affordable: they shrink the channels the big kernels must mix.
# Use the attribute names `branch1` (the `nn.Conv2d`), `branch2`, `branch3` and `branch4`
# (each an `nn.Sequential` of the layers above, in order), and pass `device` and `dtype` on
# to every layer with weights.

# %% solution="reference.torch_cnn:InceptionBlock" grade_id="inception"
# filled in by the build

# %%
block = InceptionBlock(192, 64, 96, 128, 16, 32, 32)
x = torch.randn(2, 192, 8, 8)
out = block(x)
assert out.shape == (2, 64 + 128 + 32 + 32, 8, 8), f"expected (2, 256, 8, 8), got {tuple(out.shape)}"
assert torch.allclose(out[:, :64], F.relu(block.branch1(x))), "the first 64 channels come from branch1"
assert torch.allclose(out[:, -32:], F.relu(block.branch4(x))), "the last 32 channels come from branch4"
without_reductions = (conv2d_parameter_count(192, 64, 1) + conv2d_parameter_count(192, 128, 3)
                      + conv2d_parameter_count(192, 32, 5) + conv2d_parameter_count(192, 32, 1))
print(f"GoogLeNet's block 3a: {parameter_count(block):,} parameters; "
      f"without the 1x1 reductions it would need {without_reductions:,}")

# %% [markdown]
# ## 10. A residual block
#
# Stacking more layers should never hurt: the extra layers could learn the identity. In
# practice deep plain networks train *worse* than shallower ones. A residual block makes the
# identity the default: its layers learn only a correction $\mathcal F(x)$ that is **added to
# the input before the final activation**,
#
# $$ \text{out} = \operatorname{relu}\big(\mathcal F(x) + \text{shortcut}(x)\big), \qquad
#    \mathcal F(x) = \text{conv}_2(\operatorname{relu}(\text{conv}_1(x))) . $$
#
# Both convolutions are 3x3 with padding 1; `conv1` has the block's stride. The shortcut
# is the identity (`nn.Identity()`) when input and output have the same shape; when the
# block changes the number of channels or downsamples (stride 2), the shortcut is a
# **projection**, a 1x1 convolution with the same stride. With `residual=False` the block
# is plain, `shortcut = None` whatever the shapes (no projection either), for the
# comparison of section 12. (Real ResNets add batch normalization after every
# convolution; it is left out here, so that the shortcut alone makes the difference.)

# %% solution="reference.torch_cnn:ResidualBlock" grade_id="residual"
# filled in by the build

# %%
x = torch.randn(2, 16, 8, 8)
identity, projection = ResidualBlock(16, 16), ResidualBlock(16, 32, stride=2)
assert isinstance(identity.shortcut, nn.Identity) and isinstance(projection.shortcut, nn.Conv2d)
assert projection(x).shape == (2, 32, 4, 4)
expected = F.relu(identity.conv2(F.relu(identity.conv1(x))) + x)
assert torch.allclose(identity(x), expected), "out = relu(conv2(relu(conv1(x))) + x)"
print(f"identity block: {parameter_count(identity):,} parameters; projection block: {parameter_count(projection):,}")

# %% [markdown]
# ## 11. A small VGG-style network, trained
#
# VGG's recipe: only 3x3 convolutions with padding 1 (which keep the size) and ReLUs, a 2x2
# max pooling to halve the image whenever the channels grow, then fully connected layers:
#
# | `features` | `classifier` |
# | --- | --- |
# | 0 `Conv2d(in_channels, c1, 3, padding=1)`, 1 `ReLU()` | 0 `Flatten()` |
# | 2 `Conv2d(c1, c1, 3, padding=1)`, 3 `ReLU()`, 4 `MaxPool2d(2)` | 1 `Linear(c2 (S/4)^2, hidden)`, 2 `ReLU()` |
# | 5 `Conv2d(c1, c2, 3, padding=1)`, 6 `ReLU()`, 7 `MaxPool2d(2)` | 3 `Linear(hidden, num_classes)` |
#
# with `(c1, c2) = channels` and images of S x S pixels. Both are `nn.Sequential`, so the
# parameters are named `features.0.weight`, ..., `classifier.3.bias`. Like the blocks of
# sections 9 and 10 and the networks of section 12, `SmallVGG` passes `device` and `dtype`
# on to every layer with weights: `SmallVGG(..., dtype=torch.float64)` computes in float64.
#
# `fit` trains any classifier on arrays of images: mini-batch SGD with momentum on the
# mean cross-entropy of the logits, as in assignment 07, with the data in a
# `TensorDataset` and a `DataLoader` that shuffles with its own seeded `torch.Generator`.
# It moves the model to `device` and each batch to the model's device, converts the
# images to the model's dtype, and returns the loss of every step.

# %% solution="reference.torch_cnn:SmallVGG,fit" grade_id="small_vgg"
# filled in by the build

# %%
def accuracy_of(model, X, y):
    """The fraction of images X whose highest logit is the label y (model in evaluation mode)."""
    weight = next(model.parameters())
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(X, dtype=weight.dtype).to(weight.device))
    return (logits.argmax(dim=1).cpu().numpy() == y).mean()


torch.manual_seed(0)
vgg = SmallVGG(in_channels=channels, image_size=size)
vgg_losses = fit(vgg, X_train, y_train, epochs=30, lr=0.05, device=device)
torch.manual_seed(0)
mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, 100), nn.LeakyReLU(), nn.Linear(100, 10))
mlp_losses = fit(mlp, X_train, y_train, epochs=10, lr=0.1, device=device)
vgg_accuracy, mlp_accuracy = accuracy_of(vgg, X_val, y_val), accuracy_of(mlp, X_val, y_val)
print(f"validation accuracy: small VGG {vgg_accuracy:.3f} ({parameter_count(vgg):,} parameters), "
      f"MLP {mlp_accuracy:.3f} ({parameter_count(mlp):,} parameters)")
plt.plot(vgg_losses, lw=0.6, label="small VGG")
plt.plot(mlp_losses, lw=0.6, label="MLP")
plt.gca().set(xlabel="step", ylabel="batch loss", yscale="log", title="Training loss")
plt.legend()
plt.show()

# %% [markdown]
# **What the grader checks.** On the secretly transformed digits of section 7, it trains
# `SmallVGG(in_channels=C, image_size=S)` with `fit(model, X_train, y_train, epochs=30,
# lr=0.05, seed=0)`, reads the trained `model.state_dict()` and computes the predictions
# itself. It trains the MLP of assignment 07 itself on the same images, flattened
# (`TwoLayerMLP(C S^2, 100, 10)` with `train`'s defaults: 10 epochs, lr 0.1, momentum 0.9,
# batches of 64). The small VGG must reach a test accuracy of at least
# **{{ thresholds.cnn_accuracy }}** and beat the MLP by at least
# **{{ thresholds.cnn_gain_over_mlp }}**: shifted digits are what convolutions are made for.

# %% [markdown]
# ## 12. Deep plain networks against residual networks
#
# `DeepConvNet(depth, channels, residual)` stacks `depth` blocks of section 10 at one
# resolution: `stem`, a 3x3 convolution (padding 1) from the input's channels to
# `channels`, followed by a ReLU; `blocks`, an `nn.Sequential` of `depth`
# `ResidualBlock(channels, channels, residual=residual)`; and `head`, a linear layer on the
# flattened features, `Linear(channels * S^2, num_classes)`. The plain and the residual
# network have exactly the same parameters; only the additions differ.
#
# `gradient_norms(model, X, y)` measures, for one batch, how strongly the loss pulls on each
# parameter: the Euclidean norm $\lVert \partial L / \partial \theta \rVert$ of the
# gradient of the mean cross-entropy, for every parameter in `named_parameters()` order.
# Use `torch.autograd.grad(loss, parameters)`, which returns the gradients without adding
# them to `.grad`, and run the model in training mode on its own device and dtype.
#
# In a plain network, the backward pass multiplies the gradient by one layer's Jacobian
# after another. With PyTorch's default initialization each layer shrinks it, so after a
# dozen layers almost nothing reaches the first one: it cannot learn. A residual block's
# Jacobian is $I + \partial\mathcal F / \partial x$: the identity carries the gradient past
# every block unchanged.

# %% solution="reference.torch_cnn:DeepConvNet,gradient_norms" grade_id="deep_networks"
# filled in by the build

# %%
networks = {}
for residual in (False, True):
    torch.manual_seed(0)
    networks[residual] = DeepConvNet(6, 8, residual=residual, in_channels=channels, image_size=size)
norms = {residual: gradient_norms(net, X_train[:256], y_train[:256]) for residual, net in networks.items()}
weights = [name for name in norms[True] if name.endswith("weight")]
for residual, label in [(False, "plain"), (True, "residual")]:
    plt.semilogy([norms[residual][name] for name in weights], "o-", label=label)
plt.xticks(range(len(weights)), [name.removesuffix(".weight") for name in weights], rotation=60)
plt.ylabel("gradient norm")
plt.title("Gradient norms at initialization, DeepConvNet(6, 8)")
plt.legend()
plt.show()
ratio = norms[True]["stem.weight"] / norms[False]["stem.weight"]
print(f"first layer: the residual network's gradient is {ratio:.1e} times the plain network's")

# %%
histories = {residual: fit(net, X_train, y_train, epochs=6, lr=0.05, device=device)
             for residual, net in networks.items()}
for residual, label in [(False, "plain"), (True, "residual")]:
    plt.plot(histories[residual], lw=0.6, label=f"{label}: validation accuracy "
             f"{accuracy_of(networks[residual], X_val, y_val):.3f}")
plt.gca().set(xlabel="step", ylabel="batch loss", title="Training DeepConvNet(6, 8)")
plt.legend()
plt.show()

# %% [markdown]
# **Written question (2 points).** The plain and the residual network have exactly the same
# parameters. Use the gradient-norm plot to explain the difference between their training
# curves. Would a larger learning rate rescue the plain network?

# %% [markdown] written=2 grade_id="plain_vs_residual"
# Model answer: in the plain network the gradient reaching a layer is the product of the
# Jacobians of all layers above it; at this initialization each factor shrinks it, so the
# plot falls from about $10^{-2}$ at the head to about $10^{-7}$ at the stem, a million
# times less than the residual network's stem receives. The forward signal shrinks the
# same way: by the head, every image gives almost the same features, so even the head can
# learn no more than the class frequencies. The plain network's loss therefore stays flat
# at $\log 10 \approx 2.3$ and its validation accuracy at chance (about 0.1). Each residual
# block adds the identity to its Jacobian ($I + \partial \mathcal F / \partial x$), so every
# layer receives a gradient of similar size ($10^{-2}$ to $10^{-1}$), and the residual
# network's loss falls from 2.3 to near 0 within a few dozen steps (validation accuracy
# about 0.96). A larger learning rate does not fix this: it scales every layer's step by
# the same factor while the layers' gradients differ by about five orders of magnitude, so
# the head's steps become unstable long before the first layers move (learning rates of
# 0.5 and 2 leave this plain network at chance; 10 makes it diverge). What helps is
# changing the Jacobians (skip connections, normalization, an initialization that keeps
# the signal's and the gradient's scale).
#
# Marking guide: 1 point for vanishing gradients in the early layers of the plain network
# (product of shrinking Jacobians) against the identity path of the residual blocks, tied
# to the training curves (plain: loss flat near 2.3, chance accuracy; residual: loss falls
# near 0); 1 point for why one global learning rate cannot fix a ratio between layers.

# %% [markdown]
# **What the grader checks.** With your `DeepConvNet(6, 8, residual=...,
# in_channels=C, image_size=S)` (`torch.manual_seed(0)` before each), on the secretly
# transformed digits: the ratio of the first layer's (`stem.weight`) gradient norms,
# residual over plain, from your `gradient_norms` on the first 256 training images, must be
# at least **{{ thresholds.residual_gradient_ratio }}**; and after
# `fit(model, X_train, y_train, epochs=6, lr=0.05, seed=0)` the residual network's test
# accuracy, computed by the grader from the trained `state_dict()`, must exceed the plain
# network's by at least **{{ thresholds.residual_accuracy_gain }}**.
