# %% [markdown]
# # Assignment 07: Networks in PyTorch
#
# In assignment 03 you wrote a two-layer network by hand: every layer with its forward and
# its backward, a loop over mini-batches, an update rule. PyTorch supplies each of these
# pieces, and a real project uses them: `nn.Module` holds the parameters, autograd writes
# the backward pass, `Dataset` and `DataLoader` cut the data into batches, `torch.optim`
# updates the weights, and `state_dict()` saves a trained model to a file. This assignment
# rebuilds the network from these pieces, and teaches the habits that keep PyTorch code
# correct: a hand-written backward checked with `gradcheck`, code that runs on a CPU or a
# GPU without change, gradients reset at every step, training and evaluation modes, logits
# for the loss, and checkpoints that can be loaded without trusting the file.
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check pytorch.ipynb` for the public tests. Hidden tests use other inputs, so make
# your code correct, not only passing.
#
# **What you hand in:** this notebook and the file `checkpoint.pt` that its last cell
# writes beside it.

# %% tags=["setup"]
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from autograder.student import data

# %%
import matplotlib.pyplot as plt

device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"training on {device}")

# %% [markdown]
# ## 1. A custom autograd function: leaky ReLU
#
# Autograd records every operation of the forward pass and runs their derivatives backwards.
# When you want a backward of your own (a faster formula, a numerically safer one, or an
# operation autograd does not know), you subclass `torch.autograd.Function` and write two
# static methods: `forward(ctx, *inputs)` computes the output and stores in `ctx` what the
# backward needs (`ctx.save_for_backward(tensor)` for tensors, plain attributes for numbers),
# and `backward(ctx, grad_output)` returns one gradient per input of `forward`, `None` for an
# input that is not a tensor. You call it as `LeakyReLUFunction.apply(x, negative_slope)`.
#
# The leaky ReLU with slope $\alpha$ (`negative_slope`) is a multiplication by a local slope,
# which is also its derivative:
#
# $$ s_i = \begin{cases} 1 & x_i > 0 \\ \alpha & x_i \le 0 \end{cases}, \qquad
# \mathrm{out}_i = s_i\, x_i, \qquad \frac{\partial L}{\partial x_i} = s_i \frac{\partial L}{\partial \mathrm{out}_i} .$$
#
# So `forward` builds the tensor of slopes, saves it, and returns $s \odot x$; `backward`
# returns $s \odot$ `grad_output`. Build the slopes from `x` itself (`torch.full_like`,
# `torch.ones_like`), not with `torch.full(x.shape, ...)`: the `_like` functions create the
# new tensor with the dtype **and the device** of `x`, so the same code runs on a GPU.

# %% solution="reference.torch_networks:LeakyReLUFunction,leaky_relu" grade_id="leaky_relu"
# filled in by the build

# %% [markdown]
# `torch.autograd.gradcheck` compares your backward with central differences of your
# forward, for every input entry. It needs float64 (in float32 the differences are mostly
# rounding noise) and inputs away from the kink at 0, where the derivative jumps.

# %%
x = torch.randn(4, 5, dtype=torch.float64)
x = (x + 0.1 * x.sign()).requires_grad_()  # keep |x| >= 0.1, away from the kink
assert torch.autograd.gradcheck(lambda v: LeakyReLUFunction.apply(v, 0.2), (x,)), "gradcheck failed"
out = leaky_relu(x, 0.2)
out.backward(torch.ones_like(out))
expected = F.leaky_relu(x.detach(), 0.2)
assert torch.allclose(out, expected), "the forward disagrees with F.leaky_relu"
assert torch.allclose(x.grad, torch.where(x > 0, 1.0, 0.2).double()), "the backward disagrees"
print("leaky ReLU: gradcheck and F.leaky_relu agree")

# %% [markdown]
# ## 2. The two-layer network as an `nn.Module`
#
# A module creates its layers in `__init__` and says how to combine them in `forward`; any
# `nn.Module` or `nn.Parameter` assigned to an attribute is registered, so
# `model.parameters()`, `model.to(device)` and `model.state_dict()` find it. The network of
# assignment 03, with a leaky ReLU and dropout, computes
#
# $$ \mathrm{logits} = \mathrm{fc}_2\big(\mathrm{dropout}(\mathrm{leaky\_relu}(\mathrm{fc}_1(x)))\big),
# \qquad \mathrm{fc}(x) = x W^\top + b . $$
#
# Use `nn.Linear` for `fc1` and `fc2` (created in this order, with the names `fc1` and
# `fc2`), `nn.Dropout` for the dropout, and your `leaky_relu`. Pass `device` and `dtype` on
# to the layers, as every `torch.nn` layer does. Return logits, not probabilities: the loss
# applies the softmax itself.

# %% solution="reference.torch_networks:TwoLayerMLP" grade_id="mlp"
# filled in by the build

# %%
torch.manual_seed(0)
model = TwoLayerMLP(64, 32, 10, dropout=0.5)
assert [name for name, _ in model.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
batch = torch.randn(8, 64)
assert model(batch).shape == (8, 10), "the logits should have shape (N, out_features)"
model.eval()
assert torch.equal(model(batch), model(batch)), "in evaluation mode the output must not be random"
model.train()
assert not torch.equal(model(batch), model(batch)), "in training mode dropout should change the output"
print("TwoLayerMLP: OK")

# %% [markdown]
# **Does it run on a GPU?** On a machine without one you can still find a tensor created
# on the wrong device: make another device the *default*, the one a tensor gets when its
# creator names none. PyTorch's `meta` device holds shapes without data. With `meta` as the
# default, a forward pass on CPU inputs mixes devices, and fails, exactly where a tensor
# is created without following its inputs, as `torch.zeros(n)` would on a GPU.

# %%
model = TwoLayerMLP(64, 32, 10, dtype=torch.float64)
inputs = torch.randn(8, 64, dtype=torch.float64)
torch.set_default_device("meta")
try:
    logits = model(inputs)
finally:
    torch.set_default_device(None)
assert logits.device.type == "cpu"
print("the forward pass creates its tensors on the device of its inputs")

# %% [markdown]
# ## 3. Data: a `Dataset` and a `DataLoader`
#
# A `Dataset` answers two questions: how many samples (`__len__`) and what sample `i` is
# (`__getitem__`). A `DataLoader` draws indices, collects the samples into batches (stacking
# the tensors) and, with `shuffle=True`, reshuffles every epoch. Seeding its own
# `torch.Generator` makes the batches reproducible without touching the global random state.
#
# `DigitsDataset` holds the 8x8 digit images as rows of 64 features (a tensor of `dtype`)
# and their labels as int64, the type the cross-entropy wants for class indices.

# %% solution="reference.torch_networks:DigitsDataset,make_loader" grade_id="data"
# filled in by the build

# %%
X_train, y_train, X_val, y_val, _, _ = data.digits()
dataset = DigitsDataset(X_train, y_train)
features, label = dataset[0]
assert len(dataset) == len(X_train)
assert features.shape == (64,) and features.dtype == torch.float32
assert label.dtype == torch.int64 and label.ndim == 0
batches = list(make_loader(X_train, y_train, batch_size=100))
assert [len(labels) for _, labels in batches] == [100] * (len(X_train) // 100) + [len(X_train) % 100]
again = list(make_loader(X_train, y_train, batch_size=100))
assert torch.equal(batches[0][1], again[0][1]), "the same seed must give the same batches"
print(f"{len(dataset)} training images in {len(batches)} batches")

# %% [markdown]
# ## 4. Training and evaluation
#
# One step of training, for a batch $(X, y)$:
#
# 1. move the batch to the model's device: `inputs.to(device)`;
# 2. `optimizer.zero_grad()`: `backward` *adds* to `.grad`, so without it every step
#    follows the sum of all earlier gradients;
# 3. the mean cross-entropy of the **logits**, `F.cross_entropy(model(inputs), labels)`,
#    $L = -\frac1N \sum_i \log \mathrm{softmax}(z_i)_{y_i}$; it applies the log-softmax
#    itself, stably. Given probabilities instead, it would apply a second softmax;
# 4. `loss.backward()`, then `optimizer.step()`: $w \leftarrow w - \eta\, v$ with momentum
#    $v \leftarrow \mu v + \nabla_w L$ (`torch.optim.SGD(..., lr, momentum)`).
#
# `model.train()` switches dropout on for training; `model.eval()` switches it off for
# predictions (and batch norm to its running statistics), and `torch.no_grad()` saves the
# memory autograd would spend on a graph nobody differentiates. `train` shows a progress
# bar with `tqdm(..., disable=None)`, which hides itself when the output is not a terminal
# or a notebook (for example, while the grader runs your code).

# %% solution="reference.torch_networks:train,predict" grade_id="training"
# filled in by the build

# %%
torch.manual_seed(0)
model = TwoLayerMLP(64, 100, 10, dropout=0.2)
history = train(model, make_loader(X_train, y_train), epochs=10, lr=0.1, device=device)
accuracy = (predict(model, X_val).numpy() == y_val).mean()
print(f"validation accuracy: {accuracy:.3f}")

steps_per_epoch = len(history) // 10
epoch_means = np.mean(np.reshape(history, (10, steps_per_epoch)), axis=1)
plt.plot(history, alpha=0.4, label="each step")
plt.plot(np.arange(1, 11) * steps_per_epoch, epoch_means, "o-", label="epoch mean")
plt.yscale("log")
plt.xlabel("step")
plt.ylabel("cross-entropy")
plt.title("Training loss")
plt.legend()
plt.show()
assert accuracy >= {{ thresholds.digits_accuracy }}, "the grader requires {{ thresholds.digits_accuracy }}"

# %% [markdown]
# **Written question (2 points).** Read the plot: why do the losses of single steps scatter
# so much more than the epoch means? The model uses dropout (`p=0.2`): what does it do in
# training mode, and why must `predict` switch the model to evaluation mode?

# %% [markdown] written=2 grade_id="noisy_steps_dropout"
# Model answer: each step's loss is measured on a different random mini-batch, so it is a
# noisy estimate of the training loss (its variance falls like one over the batch size),
# and dropout draws a new random mask every step, adding more noise; the epoch mean
# averages dozens of batches and masks. In training mode dropout zeroes each hidden unit
# with probability 0.2 and scales the survivors by $1/0.8$, so that the expected
# activation equals the one without dropout; this keeps units from relying on each other
# (a cheap ensemble of thinned networks). At evaluation `model.eval()` turns dropout off:
# predictions become deterministic and use the whole network, whose activations already
# have the right scale thanks to the $1/(1-p)$ factor. Predicting in training mode would give
# random, less accurate answers.
#
# Marking guide: 1 point for mini-batch sampling (and dropout masks) as the source of the
# per-step noise; 1 point for inverted dropout in training and switching it off in
# evaluation mode, with why.

# %% [markdown]
# **What the grader checks.** It trains `TwoLayerMLP(64, 100, 10)` with your `train`'s
# default arguments on `make_loader(X_train, y_train)` and computes the predictions of the
# trained weights itself (from `model.state_dict()`, with its own copy of the network). The
# digits are public, so a program could look an image's label up instead of learning it:
# the grader trains and tests on a secretly transformed copy (the 64 pixel values of every
# image rotated together, plus a little noise), which the network learns as well and no
# lookup can match. It requires a test accuracy of at least **{{ thresholds.digits_accuracy }}**,
# and the same, **{{ thresholds.checkpoint_accuracy }}**, of a `TwoLayerMLP(64, 100, 10,
# dropout=0.1)` trained for 10 epochs, saved with `save_checkpoint` and restored with
# `load_checkpoint`.

# %% [markdown]
# ## 5. Checkpoints
#
# `model.state_dict()` is an ordered dict from parameter names to tensors; `torch.save`
# writes it to a file. Save the state dict, not the model object: a pickled model
# needs its class to load, and unpickling runs code from the file. Loading with
# `torch.load(path, weights_only=True)` accepts only tensors and plain containers, so a
# checkpoint from someone else cannot run anything on your machine. `map_location` puts the
# tensors on the device you ask for, whatever device saved them.
#
# `load_checkpoint` rebuilds the network from the shapes of the saved weights:
# `fc1.weight` has shape (hidden, in) and `fc2.weight` shape (out, hidden).

# %% solution="reference.torch_networks:save_checkpoint,load_checkpoint" grade_id="checkpoint"
# filled in by the build

# %% [markdown]
# **Hand in `checkpoint.pt` with your notebook.** The grader loads it with your
# `load_checkpoint` and computes the predictions of its weights itself on the test part of
# `data.digits()`; it requires an accuracy of at least
# **{{ thresholds.submitted_checkpoint_accuracy }}**. Train on the training part only. Any size of
# hidden layer works; dropout and the slope are not saved, only the weights.

# %%
save_checkpoint(model, "checkpoint.pt")
restored = load_checkpoint("checkpoint.pt")
assert not restored.training, "load_checkpoint should return the model in evaluation mode"
assert torch.equal(predict(restored, X_val), predict(model, X_val)), "the restored model differs"
print(f"checkpoint.pt written; restored validation accuracy {(predict(restored, X_val).numpy() == y_val).mean():.3f}")
