"""A two-layer classifier in PyTorch: a custom autograd function, a module, data, training, checkpoints.

Nothing here names a device: tensors are created on the device of the tensors they work
with, and training runs wherever the model is (or wherever ``device=`` says).
"""

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm


class LeakyReLUFunction(torch.autograd.Function):
    """Leaky ReLU with a hand-written backward: out = slope * x, where slope is 1 for x > 0 and
    ``negative_slope`` elsewhere; d out / d x = slope.

    forward(ctx, x, negative_slope): x of any shape -> out of the same shape and dtype.
    backward(ctx, grad_output) -> (grad_output * slope, None): no gradient for the number
    ``negative_slope``.
    """

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ### BEGIN SOLUTION
        slope = torch.full_like(x, negative_slope)
        slope[x > 0] = 1.0
        ctx.save_for_backward(slope)
        return x * slope
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        ### BEGIN SOLUTION
        (slope,) = ctx.saved_tensors
        return grad_output * slope, None
        ### END SOLUTION


def leaky_relu(x, negative_slope=0.01):
    """LeakyReLUFunction applied to x: any shape -> the same shape."""
    ### BEGIN SOLUTION
    return LeakyReLUFunction.apply(x, negative_slope)
    ### END SOLUTION


class TwoLayerMLP(nn.Module):
    """fc1 - leaky ReLU - dropout - fc2, returning logits.

    fc1 = nn.Linear(in_features, hidden_features) and fc2 = nn.Linear(hidden_features,
    out_features), created in this order with PyTorch's default initialization, so that
    state_dict() holds fc1.weight, fc1.bias, fc2.weight, fc2.bias. Dropout with probability
    ``dropout`` acts in training mode only. forward: (N, in_features) -> (N, out_features).
    """

    def __init__(self, in_features, hidden_features, out_features, dropout=0.0, negative_slope=0.01,
                 device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        self.fc1 = nn.Linear(in_features, hidden_features, device=device, dtype=dtype)
        self.fc2 = nn.Linear(hidden_features, out_features, device=device, dtype=dtype)
        self.dropout = nn.Dropout(dropout)
        self.negative_slope = negative_slope
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        hidden = leaky_relu(self.fc1(x), self.negative_slope)
        return self.fc2(self.dropout(hidden))
        ### END SOLUTION


class DigitsDataset(Dataset):
    """Pairs (features, label) from X (N, D) and y (N,), arrays or tensors.

    len(dataset) = N; dataset[i] = (X[i] as a (D,) tensor of ``dtype``, y[i] as a 0-d int64
    tensor). The data stay on the CPU; training moves each batch.
    """

    def __init__(self, X, y, dtype=torch.float32):
        ### BEGIN SOLUTION
        self.X = torch.as_tensor(X, dtype=dtype)
        self.y = torch.as_tensor(y, dtype=torch.int64)
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self.y)
        ### END SOLUTION

    def __getitem__(self, index):
        ### BEGIN SOLUTION
        return self.X[index], self.y[index]
        ### END SOLUTION


def make_loader(X, y, batch_size=64, shuffle=True, seed=0, dtype=torch.float32):
    """A DataLoader over DigitsDataset(X, y, dtype) in batches of ``batch_size`` (the last one
    may be smaller). With ``shuffle`` the order changes every epoch, drawn from a
    torch.Generator seeded with ``seed``, so that the same call gives the same batches."""
    ### BEGIN SOLUTION
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(DigitsDataset(X, y, dtype), batch_size=batch_size, shuffle=shuffle,
                      generator=generator)
    ### END SOLUTION


def train(model, loader, epochs=10, lr=0.1, momentum=0.9, device=None):
    """Mini-batch training of a classifier with torch.optim.SGD(lr, momentum) on the mean
    cross-entropy of its logits, ``epochs`` passes over ``loader``, with a progress bar.

    The model is moved to ``device`` (None: it stays where it is) and each batch follows the
    model. The model is in training mode throughout. Returns the loss of every step (a list
    of floats, in order).
    """
    ### BEGIN SOLUTION
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    model.train()
    history = []
    progress = tqdm(range(epochs), desc="epochs", disable=None)
    for _ in progress:
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        progress.set_postfix(loss=history[-1])
    return history
    ### END SOLUTION


def predict(model, X):
    """Predicted classes for X (N, D), an array or tensor: an (N,) int64 tensor on the CPU.

    The model runs in evaluation mode, without recording gradients, on its own device and
    dtype (X is converted to them).
    """
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    model.eval()
    with torch.no_grad():
        inputs = torch.as_tensor(X, dtype=weight.dtype).to(weight.device)
        return model(inputs).argmax(dim=1).cpu()
    ### END SOLUTION


def save_checkpoint(model, path):
    """Write the model's state_dict() (its tensors, nothing else) to ``path`` with torch.save."""
    ### BEGIN SOLUTION
    torch.save(model.state_dict(), path)
    ### END SOLUTION


def load_checkpoint(path, device=None):
    """The TwoLayerMLP whose state_dict() save_checkpoint wrote to ``path``, on ``device`` (None:
    the CPU), in evaluation mode.

    The file is read with torch.load(..., weights_only=True), which accepts tensors and plain
    containers only and never runs code from the file. Layer sizes and dtype come from the
    saved weights; the other arguments of TwoLayerMLP keep their defaults.
    """
    ### BEGIN SOLUTION
    state = torch.load(path, map_location=device or "cpu", weights_only=True)
    hidden_features, in_features = state["fc1.weight"].shape
    out_features = state["fc2.weight"].shape[0]
    model = TwoLayerMLP(in_features, hidden_features, out_features, device=device,
                        dtype=state["fc1.weight"].dtype)
    model.load_state_dict(state)
    return model.eval()
    ### END SOLUTION
