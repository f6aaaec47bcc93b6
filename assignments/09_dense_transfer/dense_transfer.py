# %% [markdown]
# # Assignment 09: Dense prediction, transfer and representation learning
#
# A classifier answers one question per image. **Dense prediction** answers one per pixel:
# semantic segmentation gives every pixel a class. The network must therefore end as large
# as it started, and the tools for growing feature maps come first: bilinear upsampling and
# the transposed convolution, which you write in NumPy with their backward passes. A
# **U-Net** then combines them with the convolutions you know: an encoder that shrinks the
# image to see context, a decoder that grows it back, and skip connections that hand the
# decoder the fine detail the encoder saw before shrinking.
#
# Labels are expensive, and the second half of the assignment is about needing fewer of
# them. **Transfer learning** reuses the features of a network trained on another task:
# you freeze them, train a new head on a handful of labels, and then fine-tune everything
# with a small learning rate. **Representation learning** needs no labels at all: a
# contrastive loss teaches an encoder that two random views of one image belong together,
# and a linear classifier on its frozen features (a *linear probe*) measures what it learned.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check dense_transfer.ipynb` for the public tests. Hidden tests use other inputs,
# so make your code correct, not only passing.

# %% tags=["setup"]
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from autograder.student import data, generated, weights

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_sample_image

from autograder.student import heldout
from autograder.student.gradcheck import numerical_vjp, rel_error
from autograder.student.probe import linear_probe_accuracy
from autograder.student.torchcheck import nt_xent_by_the_formula

device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"training on {device}")
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Making feature maps larger
#
# Like every layer of this course, the NumPy functions of this section return new arrays
# and never change their arguments: not `x`, `w`, `b` or `dout`, nor the arrays of a cache.
#
# ### 1.1 Bilinear upsampling
#
# Linear interpolation along one axis reads the input at a fractional position `src`
# between two samples $i_0 = \lfloor \text{src} \rfloor$ and $i_1 = i_0 + 1$ (kept inside the
# input) and mixes them with $t = \text{src} - i_0$:
#
# $$ \text{out}_i = (1 - t)\, x_{i_0} + t\, x_{i_1} .$$
#
# Every output is a fixed mixture of inputs, so resizing a vector is a matrix product,
# $\text{out} = A x$ with $A \in \mathbb R^{\text{size\_out} \times \text{size\_in}}$, and
# **bilinear** resizing of an image applies one such matrix to the rows and one to the
# columns: $\text{out} = A_h\, x\, A_w^\top$ for every channel. Because the map is linear, its
# backward pass is its transpose: $\partial L / \partial x = A_h^\top\, \text{dout}\, A_w$.
#
# Where does output pixel $i$ read? That depends on what a pixel *is*, and PyTorch's
# `align_corners` switch chooses:
#
# - `align_corners=True` treats pixels as points and pins the first and last samples of
#   input and output together: $\text{src} = i\, \frac{\text{size\_in} - 1}{\text{size\_out} - 1}$
#   (0 when the output has one sample);
# - `align_corners=False` (the default) treats pixels as little squares and lines up their
#   outer edges: $\text{src} = (i + \tfrac12)\, \frac{\text{size\_in}}{\text{size\_out}} - \tfrac12$,
#   clamped at 0 so that the first output pixels do not read before the image.
#
# The two differ at every pixel but the corners, so mixing them up (training with one,
# deploying with the other) quietly shifts every prediction by a fraction of a pixel.
# Build $A$ with `np.add.at` or by indexing; where $i_0 = i_1$ (the last input sample) the
# two weights fall on the same entry and add up.

# %% solution="reference.upsampling:interpolation_matrix,bilinear_forward,bilinear_backward" grade_id="bilinear"
# filled in by the build

# %%
x = rng.normal(size=(2, 3, 4, 5))
for align_corners in (False, True):
    out, cache = bilinear_forward(x, (8, 10), align_corners)
    expected = F.interpolate(torch.tensor(x), size=(8, 10), mode="bilinear", align_corners=align_corners)
    assert np.allclose(out, expected.numpy()), f"bilinear_forward differs from F.interpolate (align_corners={align_corners})"
    dout = rng.normal(size=out.shape)
    numeric = numerical_vjp(lambda v: bilinear_forward(v, (8, 10), align_corners)[0], x, dout)
    error = rel_error(bilinear_backward(dout, cache), numeric)
    print(f"align_corners={align_corners}: forward matches F.interpolate, backward relative error {error:.1e}")
    assert error < 1e-6, "bilinear_backward disagrees with central differences"

# %% [markdown]
# A crop of a photograph, eight pixels square, enlarged six times: by repeating pixels, and
# bilinearly with both conventions. The difference image shows that the two conventions
# disagree everywhere except at the corners.

# %%
photo = load_sample_image("china.jpg").mean(axis=2) / 255.0
crop = photo[150:230:10, 300:380:10][None, None]  # every 10th pixel: 8 x 8
big = {flag: bilinear_forward(crop, (48, 48), flag)[0][0, 0] for flag in (False, True)}
fig, axes = plt.subplots(1, 4, figsize=(13, 3.3))
panels = [(np.kron(crop[0, 0], np.ones((6, 6))), "repeated pixels"),
          (big[False], "align_corners=False"), (big[True], "align_corners=True"),
          (big[True] - big[False], "difference")]
for ax, (image, title) in zip(axes, panels):
    ax.imshow(image, cmap="RdBu" if title == "difference" else "gray")
    ax.set(title=title, xticks=[], yticks=[])
plt.show()

# %% [markdown]
# ### 1.2 Transposed convolution
#
# A bilinear upsampling has no parameters. A **transposed convolution** learns how to grow
# a map: each input pixel $(i, j)$ *scatters* a copy of the kernel, weighted by its value,
# into the output at rows $i s + p - P$ and columns $j s + q - P$ for every kernel offset
# $(p, q)$ (stride $s$, padding $P$), and overlapping copies add up. With $C_\text{in}$
# input and $C_\text{out}$ output channels the kernel $w$ has shape
# $(C_\text{in}, C_\text{out}, K_h, K_w)$, PyTorch's layout for this layer, and input pixel
# $(i, j)$ adds $x_{n,:,i,j}^\top w_{:,:,p,q}$ (a vector of $C_\text{out}$ values) at each of
# those places. The name comes from linear algebra: written as a matrix, this map is the
# transpose of the convolution with the same kernel, stride and padding, so it maps that
# convolution's output size back to its input size:
#
# $$ H_\text{out} = (H - 1)\, s - 2P + K + \text{output\_padding}, \qquad 0 \le \text{output\_padding} < s .$$
#
# A stride-$s$ convolution maps $s$ different input sizes to the same output size;
# `output_padding` picks which one to return to (extra rows at the bottom and columns at the
# right). Raise a `ValueError` for an `output_padding` outside $[0, s)$ or an output shorter
# than one pixel.
#
# A simple way to write the forward pass: for each kernel offset $(p, q)$, add
# `np.einsum("nchw,co->nohw", x, w[:, :, p, q])` into every $s$-th row and column of an
# output that still has its padding (size $H_\text{out} + 2P$), then cut $P$ from each
# border and add the bias. The backward pass reads from the same places: every input pixel
# collects $w_{:,:,p,q}\, \text{dout}$ from the positions it was added to, $dw_{:,:,p,q}$
# sums $x$ times those same `dout` values, and $db$ sums `dout` over samples and positions.

# %% solution="reference.upsampling:conv_transpose_output_size,conv_transpose_forward,conv_transpose_backward" grade_id="conv_transpose"
# filled in by the build

# %%
x, w, b = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(3, 4, 3, 3)), rng.normal(size=4)
out, cache = conv_transpose_forward(x, w, b, stride=2, padding=1, output_padding=1)
tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
expected = F.conv_transpose2d(*tensors, stride=2, padding=1, output_padding=1)
assert out.shape == (2, 4, 8, 10), f"output shape {out.shape}, expected (2, 4, 8, 10)"
assert np.allclose(out, expected.detach().numpy()), "conv_transpose_forward differs from F.conv_transpose2d"
dout = rng.normal(size=out.shape)
expected.backward(torch.tensor(dout))
for name, grad, tensor in zip(("dx", "dw", "db"), conv_transpose_backward(dout, cache), tensors):
    print(f"{name}: largest difference to autograd {np.abs(grad - tensor.grad.numpy()).max():.1e}")
    assert np.allclose(grad, tensor.grad.numpy()), f"{name} differs from autograd"
numeric = numerical_vjp(lambda v: conv_transpose_forward(x, v, b, 2, 1, 1)[0], w, dout)
assert rel_error(conv_transpose_backward(dout, cache)[1], numeric) < 1e-6, "dw disagrees with central differences"
try:
    conv_transpose_output_size(4, 3, stride=2, output_padding=2)
    raise AssertionError("output_padding=2 with stride 2 should raise a ValueError")
except ValueError as error:
    print(f"refused as it should be: {error}")

# %% [markdown]
# Where kernel copies overlap, outputs receive more contributions than their neighbours.
# Scattering a kernel of ones from an image of ones counts them: with stride 2, a 3x3
# kernel overlaps on every other row and column and leaves a **checkerboard**, an artefact
# that a network has to learn to cancel. A 2x2 kernel with stride 2 tiles the output
# exactly, and that is the up-convolution the U-Net below uses.

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))
for ax, kernel in zip(axes, (2, 3, 4)):
    counts, _ = conv_transpose_forward(np.ones((1, 1, 6, 6)), np.ones((1, 1, kernel, kernel)), np.zeros(1), stride=2)
    ax.imshow(counts[0, 0], cmap="viridis", vmin=0, vmax=4)
    ax.set(title=f"{kernel}x{kernel} kernel, stride 2", xticks=[], yticks=[])
plt.show()

# %% [markdown]
# ## 2. Semantic segmentation with a U-Net
#
# The data are generated in code: noisy images of circles, squares and triangles, each
# pixel labelled 0 (background), 1 (circle), 2 (square) or 3 (triangle). Telling a square
# from a circle of the same area needs the whole shape, while the label has to be placed
# pixel by pixel: context and detail at once.

# %%
CLASSES = ["background", "circle", "square", "triangle"]
images, masks = generated.segmented_shapes(700, size=16, seed=0)
X_seg_train, y_seg_train = images[:400], masks[:400]
X_seg_val, y_seg_val = images[400:], masks[400:]

fig, axes = plt.subplots(2, 6, figsize=(12, 4.2))
for k in range(6):
    axes[0, k].imshow(images[k, 0], cmap="gray")
    axes[1, k].imshow(masks[k], cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    for ax in axes[:, k]:
        ax.set(xticks=[], yticks=[])
axes[0, 0].set_ylabel("image")
axes[1, 0].set_ylabel("labels")
plt.show()

# %% [markdown]
# ### 2.1 The network
#
# The **encoder** is a stack of `double_conv` blocks (two 3x3 convolutions with padding 1,
# each followed by batch normalization and a ReLU) separated by 2x2 max pooling; each
# pooling halves the size and lets the next block see twice as far. The **decoder** grows
# the map back with 2x2 transposed convolutions of stride 2 (section 1.2), and before each
# of its blocks it **concatenates** the encoder's output of the same size, the *skip
# connection*, on the channel axis (`dim=1`; axis 0 holds the samples, 2 and 3 the
# positions). A 1x1 convolution finally maps the channels to one logit per class, at every
# pixel. With $c$ = `channels`, for a 16x16 input:
#
# ```
# x (1, 16x16) -> enc1 -> skip1 (c, 16x16) ----------------------------------------.
#                 max pool -> enc2 -> skip2 (2c, 8x8) -------------------.          |
#                             max pool -> bottleneck (4c, 4x4)           |          |
#                                       up2 -> (2c, 8x8) -> cat [skip2, up] (4c) -> dec2 (2c, 8x8)
#                                                  up1 -> (c, 16x16) -> cat [skip1, up] (2c) -> dec1 (c, 16x16)
#                                                                                  head (1x1) -> (4, 16x16)
# ```
#
# The skip goes first in each concatenation, and the layers are created in the order the
# docstring lists them: the grader loads its own weights into your network by name and
# shape, so these names and shapes are part of the answer. It also grades the **initial
# weights**: it calls your code after `torch.manual_seed(0)` and compares the fresh network
# with its own, built after the same seed. So create the layers in the listed order, each
# with PyTorch's default initialization, and draw no other random numbers before them. The
# same holds for `DigitNet`, the new head of `transfer_model` and `ContrastiveNet` below.

# %% solution="reference.segmentation:double_conv,UNet" grade_id="unet"
# filled in by the build

# %%
torch.manual_seed(0)
model = UNet(channels=4)
shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
assert model(torch.randn(3, 1, 16, 16)).shape == (3, 4, 16, 16), "UNet keeps the size and gives 4 logits per pixel"
assert shapes["up2.weight"] == (16, 8, 2, 2), "up2 = ConvTranspose2d(4c, 2c, 2, stride=2)"
assert shapes["dec2.0.weight"] == (8, 16, 3, 3), "dec2's first convolution reads the skip and the upsampled map: 4c channels"
assert shapes["dec1.0.weight"] == (4, 8, 3, 3), "dec1's first convolution reads 2c channels"
print(f"UNet(channels=8) has {sum(p.numel() for p in UNet().parameters())} parameters")

# %% [markdown]
# ### 2.2 Training and prediction
#
# One training loop serves this section and the next: a classifier's logits have the
# classes on axis 1, shape $(N, K)$ for whole images or $(N, K, H, W)$ for every pixel, and
# `F.cross_entropy` accepts both, with labels of shape $(N,)$ or $(N, H, W)$ (it averages
# over samples *and* pixels). `train` receives the optimizer, so that the caller decides
# which parameters it updates and how fast: section 3 depends on this.
#
# Convert the data to tensors of the model's dtype, cut them into batches with a
# `DataLoader(TensorDataset(X, y), batch_size, shuffle=True, generator=...)` seeded as the
# docstring says and created once, so that every epoch draws a new order from the same
# generator (the grader replays your training step by step, every epoch), keep the model in
# training mode, and move each batch to the model's device. `predict` switches to
# evaluation mode, which makes batch normalization use the running statistics it collected
# during training instead of the statistics of the batch at hand.

# %% solution="reference.segmentation:train,predict" grade_id="training"
# filled in by the build

# %% [markdown]
# ### 2.3 Intersection over union
#
# Pixel accuracy flatters a segmentation: most pixels are background. The **intersection
# over union** of class $k$ compares the set of pixels predicted $k$ with the set labelled
# $k$,
#
# $$ \text{IoU}_k = \frac{|\{\hat y = k\} \cap \{y = k\}|}{|\{\hat y = k\} \cup \{y = k\}|}, $$
#
# counted over all pixels of all images together; the **mean IoU** averages it over the
# classes whose union is not empty (a class absent from both says nothing).

# %% solution="reference.segmentation:mean_iou" grade_id="mean_iou"
# filled in by the build

# %%
target = np.array([[0, 0, 1], [1, 2, 2]])
predicted = np.array([[0, 1, 1], [1, 2, 0]])
assert np.isclose(mean_iou(predicted, target, 4), (1 / 3 + 2 / 3 + 1 / 2) / 3), "IoU of classes 0, 1, 2 are 1/3, 2/3, 1/2"
assert mean_iou(target, target, 4) == 1.0

# %% [markdown]
# Now train the U-Net: 400 images, Adam with learning rate 2e-3, 20 epochs of batches of 32.
#
# **What the grader checks.** It trains `UNet()` with exactly this call, `train(model,
# torch.optim.Adam(model.parameters(), lr=2e-3), X, masks, epochs=20, batch_size=32)`, on
# 400 images that it generates with `generated.segmented_shapes` from a secret seed, so
# that no copy of them exists anywhere. It then computes the masks of 300 more such images
# itself, from your trained parameters, and requires a mean IoU of at least
# **{{ thresholds.segmentation_miou }}**.

# %%
torch.manual_seed(0)
unet = UNet()
history = train(unet, torch.optim.Adam(unet.parameters(), lr=2e-3), X_seg_train, y_seg_train,
                epochs=20, batch_size=32, device=device)
predicted = predict(unet, X_seg_val).numpy()
score = mean_iou(predicted, y_seg_val, 4)
print(f"validation mean IoU: {score:.3f} (the grader requires {{ thresholds.segmentation_miou }} on its own images)")

fig, axes = plt.subplots(3, 7, figsize=(14, 6.4))
for k in range(7):
    axes[0, k].imshow(X_seg_val[k, 0], cmap="gray")
    axes[1, k].imshow(y_seg_val[k], cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    axes[2, k].imshow(predicted[k], cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
for ax in axes.flat:
    ax.set(xticks=[], yticks=[])
for row, title in enumerate(["image", "truth", "predicted"]):
    axes[row, 0].set_ylabel(title)
plt.show()
plt.plot(history)
plt.yscale("log")
plt.xlabel("step")
plt.ylabel("cross-entropy per pixel")
plt.title("U-Net training loss")
plt.show()
assert score > {{ thresholds.segmentation_miou }}, "the U-Net should segment the validation shapes"

# %% [markdown]
# ## 3. Transfer learning
#
# A small CNN for the 8x8 digits, `DigitNet`, was trained inside this course on the digits
# 0-4 only: a script of the course trains it from a fixed seed, and a test of the course
# checks that running the script again reproduces the file shipped with your kit. The file
# is in the **safetensors** format: tensors and nothing else. Unlike a pickle, which can run
# any code while it is loaded, such a file can come from anyone and be read without risk;
# `weights.load` reads it into a state dict.
#
# The task now is to recognize the digits **5-9** (labelled 0-4 here) from only **five
# labelled images per class**. The convolutional features that tell 0-4 apart (strokes,
# loops, corners) are useful for 5-9 as well; the head that maps them to the five old
# classes is not. So:
#
# 1. `transfer_model` builds a `DigitNet` for the new classes, loads the pre-trained
#    `features.*` weights and keeps the new, randomly initialized head: the head of
#    `DigitNet(num_classes)` as its constructor drew it (graded, see section 2.1);
# 2. `head_optimizer` **freezes** the features (`requires_grad = False` on each of their
#    parameters, so that autograd computes no gradient for them and no optimizer can move
#    them) and returns an Adam optimizer of the head alone. Setting `model.features.
#    requires_grad = False` is a common slip: it creates a new attribute on the module and
#    freezes nothing; `requires_grad_(False)` or a loop over the parameters does it;
# 3. `fine_tune_optimizer` then **unfreezes** everything and returns Adam with two
#    *parameter groups*: the pre-trained features move with a learning rate ten times
#    smaller than the head's, so that a few noisy labels refine them without wiping out
#    what they learned.
#
# The features are `digit_features()`, which section 4 reuses.

# %%
pretrained = weights.load("digitnet_0_to_4")
for name, value in pretrained.items():
    print(f"{name:20s} {tuple(value.shape)}")

# %% solution="reference.transfer:digit_features,DigitNet,transfer_model,head_optimizer,fine_tune_optimizer" grade_id="transfer"
# filled in by the build

# %%
X_train, y_train, X_val, y_val, X_test, y_test = data.digits(seed=0, images=True)
model = DigitNet(5)
model.load_state_dict(pretrained)
old = y_val < 5
print(f"the pre-trained network on the validation digits 0-4: accuracy {(predict(model, X_val[old]).numpy() == y_val[old]).mean():.3f}")

model = transfer_model(pretrained, 5)
assert torch.equal(model.features[0].weight, pretrained["features.0.weight"]), "the features should be the pre-trained ones"
optimizer = head_optimizer(model, lr=1e-2)
assert not any(p.requires_grad for p in model.features.parameters()), "head_optimizer should freeze the features"
assert all(p.requires_grad for p in model.head.parameters()), "the head stays trainable"
optimizer = fine_tune_optimizer(model, lr=1e-3, backbone_lr=1e-4)
assert [group["lr"] for group in optimizer.param_groups] == [1e-4, 1e-3], "two groups: the features, then the head"
assert all(p.requires_grad for p in model.parameters()), "fine_tune_optimizer should unfreeze the features"
print("transfer_model, head_optimizer and fine_tune_optimizer: OK")

# %% [markdown]
# Five labelled images of each of the digits 5-9, drawn from the training part; the
# validation part's 5-9 measure the result. Three networks learn from the same 25 labels:
# one from scratch (Adam, learning rate 3e-3, all parameters), one with a new head on the
# frozen pre-trained features (learning rate 1e-2) and, continuing from the latter, one
# fine-tuned with the two parameter groups (1e-3 for the head, 1e-4 for the features).

# %%
def few_labels(X, y, per_class, seed):
    """``per_class`` images of each of the digits 5-9, relabelled 0-4."""
    pick = np.random.default_rng(seed)
    index = np.concatenate([pick.choice(np.flatnonzero(y == digit), per_class, replace=False) for digit in range(5, 10)])
    return X[index], y[index] - 5


def transfer_and_scratch(X, y, X_eval, y_eval):
    """Accuracies (scratch, new head, fine-tuned) on X_eval and the three loss histories."""
    torch.manual_seed(0)
    scratch = DigitNet(5)
    scratch_history = train(scratch, torch.optim.Adam(scratch.parameters(), lr=3e-3), X, y, epochs=60,
                            batch_size=10, device=device)
    model = transfer_model(pretrained, 5)
    head_history = train(model, head_optimizer(model, lr=1e-2), X, y, epochs=60, batch_size=10, device=device)
    head_accuracy = (predict(model, X_eval).numpy() == y_eval).mean()
    fine_history = train(model, fine_tune_optimizer(model, lr=1e-3, backbone_lr=1e-4), X, y, epochs=30,
                         batch_size=10, device=device)
    accuracies = [(predict(m, X_eval).numpy() == y_eval).mean() for m in (scratch, model)]
    return (accuracies[0], head_accuracy, accuracies[1]), (scratch_history, head_history, fine_history)


new = y_val >= 5
X_few, y_few = few_labels(X_train, y_train, 5, seed=0)
(scratch_acc, head_acc, fine_acc), (scratch_loss, head_loss, fine_loss) = transfer_and_scratch(
    X_few, y_few, X_val[new], y_val[new] - 5)
print(f"validation accuracy on 5-9 from 25 labels: scratch {scratch_acc:.3f}, new head {head_acc:.3f}, fine-tuned {fine_acc:.3f}")

steps = np.arange(1, len(head_loss) + len(fine_loss) + 1)
plt.plot(steps[:len(scratch_loss)], scratch_loss, label="from scratch")
plt.plot(steps[:len(head_loss)], head_loss, label="new head, frozen features")
plt.plot(steps[len(head_loss):], fine_loss, label="then fine-tuned")
plt.yscale("log")
plt.xlabel("step")
plt.ylabel("training loss")
plt.legend()
plt.show()

# %% [markdown]
# **Written question (2 points).** With 25 labelled images of the digits 5-9, why does a new
# head on the frozen features of a network trained on 0-4 generalize better than a network
# trained from scratch, although the latter ends with the lower training loss? Why train
# the head first and then fine-tune the body with a smaller learning rate than the head's,
# rather than fine-tuning everything at once?

# %% [markdown] written=2 grade_id="why_transfer"
# Model answer: the features learned on 0-4 (strokes, edges, loops, their positions) are
# useful for 5-9 too, so on frozen features only the linear head (645 parameters) is fit
# to the 25 labels: a convex problem (softmax regression on fixed features) with little
# room to overfit. From scratch, every parameter must be learned from 25 images: the
# network memorizes them, driving its training loss below the frozen model's (about
# $2 \cdot 10^{-3}$ against $10^{-2}$), and learns features that generalize worse
# (validation accuracy about 0.83 against 0.94). Training the head first means that
# fine-tuning starts from a sensible head: a random head would send large, meaningless
# gradients into the pretrained body and destroy its features in the first steps. The
# body then gets a small learning rate so that the few labels adapt the features gently
# instead of overwriting them (overfitting the 25 images, or forgetting what was learned
# on 0-4). Here fine-tuning lowers the training loss further but leaves the validation
# accuracy about where the new head put it (0.93 against 0.94): 25 labels add little to
# the pretrained features, and the small learning rate keeps fine-tuning from doing harm.
#
# Marking guide: 1 point for transferable features with few trainable parameters against
# memorizing the 25 images from scratch (lower training loss, worse validation accuracy);
# 1 point for head-first training and the small body learning rate protecting the
# pretrained features.

# %% [markdown]
# The training losses say little about the new digits (25 images are easily memorized);
# the validation accuracy does. How does the advantage depend on the number of labels?
# Each point below is one draw of the labelled images, so a difference of a few points
# between two curves can be the luck of that draw (the grader averages five draws).

# %%
counts = [2, 5, 10, 20]
curves = np.array([transfer_and_scratch(*few_labels(X_train, y_train, n, seed=0), X_val[new], y_val[new] - 5)[0]
                   for n in tqdm(counts, desc="label counts")])
for column, label in enumerate(["from scratch", "new head, frozen features", "fine-tuned"]):
    plt.plot(counts, curves[:, column], "o-", label=label)
plt.xscale("log")
plt.xticks(counts, [str(n) for n in counts])
plt.xlabel("labelled images per class")
plt.ylabel("validation accuracy on 5-9")
plt.legend()
plt.show()

# %% [markdown]
# **What the grader checks.** It draws five labelled images per class five times from a
# secretly transformed copy of the digits 5-9 (every image moved by up to a pixel, a little
# noise, the five labels renamed), runs exactly the three trainings of
# `transfer_and_scratch` on each draw (with its `train`, `DigitNet`, `transfer_model`,
# `head_optimizer` and `fine_tune_optimizer` being yours), and computes the predictions on
# the test part itself, from your trained parameters. Averaged over the draws, the new head
# must reach an accuracy of at least **{{ thresholds.transfer_accuracy }}** and beat the
# network trained from scratch by at least **{{ thresholds.transfer_gain_over_scratch }}**,
# and the fine-tuned network must reach **{{ thresholds.fine_tune_accuracy }}**. It also
# checks that the frozen features did not change, not even a little.

# %% [markdown]
# ## 4. Contrastive representation learning
#
# Without any label, what should an encoder learn? SimCLR's answer: two random **views**
# of the same image (turned, zoomed, moved, noisy) should map to nearby points, and views of
# different images to distant ones. `augment` makes a view: a random affine map per image,
# applied with `F.affine_grid` and `F.grid_sample`, that is, by bilinear sampling as in
# section 1.1, then Gaussian noise. `F.affine_grid` takes for each image a 2x3 matrix
# $\theta$ that maps *output* coordinates to *input* coordinates, both in $[-1, 1]$ (one
# pixel is $2 / W$ wide): for a turn by $\alpha$, a zoom by $z$ and a shift $(t_x, t_y)$,
#
# $$ \theta = \begin{pmatrix} \cos\alpha / z & -\sin\alpha / z & t_x \\ \sin\alpha / z & \cos\alpha / z & t_y \end{pmatrix} .$$
#
# Draw every random number from the `generator` you are given, on the CPU, and move it to
# the images' device: the same generator state then gives the same views on any device.

# %% solution="reference.contrastive:augment" grade_id="augment"
# filled in by the build

# %%
originals = torch.tensor(X_train[:8])
views = [augment(originals, torch.Generator().manual_seed(seed)) for seed in range(3)]
again = augment(originals, torch.Generator().manual_seed(0))
assert torch.equal(views[0], again), "the same generator seed should give the same views"
assert torch.equal(originals, torch.tensor(X_train[:8])), "augment should not change its input"
fig, axes = plt.subplots(4, 8, figsize=(10, 5.2))
for row, batch in enumerate([originals] + views):
    for k in range(8):
        axes[row, k].imshow(batch[k, 0], cmap="gray_r")
        axes[row, k].set(xticks=[], yticks=[])
axes[0, 0].set_ylabel("original")
for row in range(1, 4):
    axes[row, 0].set_ylabel(f"view {row}")
plt.show()

# %% [markdown]
# ### 4.1 The NT-Xent loss
#
# A batch of $N$ images gives $2N$ views: projections $z_1$ (first views) and $z_2$
# (second views), stacked as $u = [z_1; z_2]$ and scaled to unit length, so that
# $s_{ij} = u_i^\top u_j$ is the cosine similarity. For row $i$, the other view of the same
# image, $p(i)$ ($i + N$ or $i - N$), is the *positive*; the $2N - 2$ views of the other
# images are *negatives*. The normalized temperature-scaled cross-entropy treats finding
# the positive among all other rows as a classification with logits $s_{ik} / T$:
#
# $$ \ell_i = -\log \frac{\exp(s_{i,p(i)} / T)}{\sum_{k \ne i} \exp(s_{ik} / T)}, \qquad
#    L = \frac{1}{2N} \sum_{i=1}^{2N} \ell_i . $$
#
# Three details carry the method. The denominator runs over every $k \ne i$: the positive
# is in it **once** (it is one of the classes), and $i$ itself is not (its similarity with
# itself is always 1, a free answer). The temperature $T$ divides **every** similarity, the
# positive's in the numerator as well as those in the denominator. And small temperatures
# ($T = 0.1$ and below) make $s / T$ large: $e^{s/T}$ overflows in float32 for $T = 0.01$,
# so compute $\log \sum \exp$ with `torch.logsumexp` (or let `F.cross_entropy` do it, with
# the diagonal masked by $-\infty$), never with `exp` and `log` separately.

# %% solution="reference.contrastive:nt_xent_loss" grade_id="nt_xent"
# filled in by the build

# %% [markdown]
# `nt_xent_by_the_formula` (from the course's helpers) computes the loss anchor by anchor
# with loops in NumPy: your vectorized loss and its gradient must agree with it.

# %%
z1, z2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
for temperature in (0.1, 0.5, 2.0):
    loss = nt_xent_loss(torch.tensor(z1), torch.tensor(z2), temperature)
    assert np.isclose(loss.item(), nt_xent_by_the_formula(z1, z2, temperature)), f"wrong loss for T = {temperature}"
t1 = torch.tensor(z1, requires_grad=True)
nt_xent_loss(t1, torch.tensor(z2), 0.5).backward()
numeric = numerical_vjp(lambda v: nt_xent_by_the_formula(v, z2, 0.5), z1, np.array(1.0))
print(f"NT-Xent matches the formula; gradient relative error {rel_error(t1.grad.numpy(), numeric):.1e}")
cold = nt_xent_loss(torch.tensor(z1, dtype=torch.float32), torch.tensor(z2, dtype=torch.float32), 0.01)
assert torch.isfinite(cold), "the loss overflows for a small temperature in float32"

# %% [markdown]
# ### 4.2 Encoder, projection head and training
#
# `ContrastiveNet` reuses `digit_features()` as its **encoder** and adds a small
# **projection head** (a two-layer MLP). The loss compares projections, but it is the
# encoder's output, the *representation*, that is kept: the projection head absorbs what
# the loss needs and the representation keeps more of the image. `train_contrastive` draws
# two views of every batch and minimizes NT-Xent with Adam; no label is used anywhere, and
# `encode` returns the representation of a set of images.

# %% solution="reference.contrastive:ContrastiveNet,train_contrastive,encode" grade_id="contrastive"
# filled in by the build

# %%
torch.manual_seed(0)
random_net = ContrastiveNet()  # the same architecture, never trained: the baseline
torch.manual_seed(0)
contrastive_net = ContrastiveNet()
history = train_contrastive(contrastive_net, X_train, epochs=30, lr=3e-3, batch_size=128, temperature=0.2,
                            device=device)
plt.plot(history)
plt.xlabel("step")
plt.ylabel("NT-Xent loss")
plt.title("Contrastive training, no labels")
plt.show()

# %% [markdown]
# A **linear probe** trains a linear classifier (scikit-learn's logistic regression on
# standardized features, `linear_probe_accuracy`) on the frozen representation of labelled
# training images and scores it on the validation part. The same probe on the features of
# the untrained encoder is the baseline, and a strong one: random convolutions followed by
# ReLU and pooling already separate clean, centred digits well. The contrastive encoder
# learned more where the data vary as its views did (digits moved by a pixel, as real
# images never sit exactly in the centre) and where labels are few. The table probes four
# ways: all training labels or ten per class, on the digits as they are or each moved by up
# to a pixel.

# %%
def probe_accuracy(net, X_fit, y_fit, X_score, y_score):
    """The linear probe's accuracy on X_score, fitted on the representation of X_fit."""
    return linear_probe_accuracy(encode(net, X_fit).numpy(), y_fit, encode(net, X_score).numpy(), y_score)


shifts = np.random.default_rng(1)
moved = {"as they are": (X_train, X_val),
         "moved by up to a pixel": (heldout.translated(X_train, shifts, 1), heldout.translated(X_val, shifts, 1))}
ten_per_class = np.concatenate([np.random.default_rng(0).choice(np.flatnonzero(y_train == digit), 10, replace=False)
                                for digit in range(10)])
probes = {}
print(f"{'linear probe on the validation digits':48s} {'contrastive':>12s} {'random':>8s}")
for name, (fit, score) in moved.items():
    for labels, rows in [("all labels", slice(None)), ("10 per class", ten_per_class)]:
        probes[name, labels] = [probe_accuracy(net, fit[rows], y_train[rows], score, y_val)
                                for net in (contrastive_net, random_net)]
        print(f"{name + ', ' + labels:48s} {probes[name, labels][0]:12.3f} {probes[name, labels][1]:8.3f}")
learned, baseline = probes["moved by up to a pixel", "all labels"]

# %% [markdown]
# A 2-D projection of the representations of the moved validation digits (their first two
# principal components), coloured by the digit, shows what the probe sees.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
for ax, (net, title) in zip(axes, [(random_net, "random encoder"), (contrastive_net, "contrastive encoder")]):
    features = encode(net, moved["moved by up to a pixel"][1]).numpy()
    centred = features - features.mean(axis=0)
    projected = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    points = ax.scatter(projected[:, 0], projected[:, 1], c=y_val, cmap="tab10", s=8)
    ax.set(title=title, xticks=[], yticks=[])
fig.colorbar(points, ax=axes, label="digit")
plt.show()

# %% [markdown]
# **What the grader checks.** It trains a `ContrastiveNet()` with `train_contrastive(model,
# X, epochs=30, lr=3e-3, batch_size=128, temperature=0.2)` on the training part of a
# secretly transformed copy of the digits (turned or mirrored, each image moved by up to a
# pixel, noisy; no labels cross to your code), computes the representations itself from
# your trained parameters, and fits `linear_probe_accuracy` on them with all training
# labels. The probe must reach a test accuracy of at least **{{ thresholds.probe_accuracy }}**
# and beat the same probe on an untrained encoder by at least
# **{{ thresholds.probe_gain_over_random }}**. The check below asks the same of the moved
# validation digits.

# %%
print(f"moved digits, all labels: contrastive {learned:.3f}, random {baseline:.3f}")
assert learned > {{ thresholds.probe_accuracy }} and learned > baseline + {{ thresholds.probe_gain_over_random }}, \
    "the contrastive features should beat the random ones under a linear probe"
