"""Convolutional networks in PyTorch: parameter counts, an inception block, a residual block,
a small VGG-style classifier, deep plain and residual networks with their gradient norms,
and a training loop for image classifiers.

Every module takes ``device`` and ``dtype`` as torch.nn layers do and creates its layers with
them; nothing here names a device. Images are (N, C, H, W) tensors.
"""

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm


def conv2d_parameter_count(in_channels, out_channels, kernel_size, bias=True):
    """Number of trainable numbers of nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)
    with a square kernel: one kernel (in_channels, kernel_size, kernel_size) per output
    channel, plus one bias per output channel."""
    ### BEGIN SOLUTION
    return out_channels * (in_channels * kernel_size * kernel_size + (1 if bias else 0))
    ### END SOLUTION


def parameter_count(model):
    """Number of trainable numbers of a module: the sum of numel() over model.parameters()
    that require gradients."""
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
    ### END SOLUTION


class InceptionBlock(nn.Module):
    """GoogLeNet's inception block (torchvision's argument names): four parallel branches on
    the same input, each followed by a ReLU, concatenated on the channel axis.

    branch1 = Conv2d(in_channels, ch1x1, 1)
    branch2 = Sequential(Conv2d(in_channels, ch3x3red, 1), ReLU(), Conv2d(ch3x3red, ch3x3, 3, padding=1))
    branch3 = Sequential(Conv2d(in_channels, ch5x5red, 1), ReLU(), Conv2d(ch5x5red, ch5x5, 5, padding=2))
    branch4 = Sequential(MaxPool2d(3, stride=1, padding=1), Conv2d(in_channels, pool_proj, 1))

    The 1x1 convolutions before the 3x3 and 5x5 ones reduce the channels they must mix.
    forward: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W), the
    branches in this order.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                 device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        kw = {"device": device, "dtype": dtype}
        self.branch1 = nn.Conv2d(in_channels, ch1x1, 1, **kw)
        self.branch2 = nn.Sequential(nn.Conv2d(in_channels, ch3x3red, 1, **kw), nn.ReLU(),
                                     nn.Conv2d(ch3x3red, ch3x3, 3, padding=1, **kw))
        self.branch3 = nn.Sequential(nn.Conv2d(in_channels, ch5x5red, 1, **kw), nn.ReLU(),
                                     nn.Conv2d(ch5x5red, ch5x5, 5, padding=2, **kw))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                     nn.Conv2d(in_channels, pool_proj, 1, **kw))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        branches = [self.branch1, self.branch2, self.branch3, self.branch4]
        return torch.cat([F.relu(branch(x)) for branch in branches], dim=1)
        ### END SOLUTION


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut, added before the final ReLU:

        out = relu(conv2(relu(conv1(x))) + shortcut(x))

    conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1) and
    conv2 = Conv2d(out_channels, out_channels, 3, padding=1). The shortcut is the identity
    (nn.Identity(), no parameters) when the shapes agree (stride 1 and in_channels ==
    out_channels), else a projection Conv2d(in_channels, out_channels, 1, stride=stride).
    With ``residual=False`` the block is plain: ``shortcut`` is None (no projection, whatever
    the shapes) and out = relu(conv2(relu(conv1(x)))). Every layer with weights is created
    with ``device`` and ``dtype``.
    forward: (N, in_channels, H, W) -> (N, out_channels, H', W'), H' = (H - 1) // stride + 1.
    """

    def __init__(self, in_channels, out_channels, stride=1, residual=True, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        kw = {"device": device, "dtype": dtype}
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, **kw)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, **kw)
        if not residual:
            self.shortcut = None
        elif stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, **kw)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = self.conv2(F.relu(self.conv1(x)))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return F.relu(out)
        ### END SOLUTION


class SmallVGG(nn.Module):
    """A small VGG-style classifier: 3x3 convolutions with padding 1, each followed by a
    ReLU, stacked between 2x2 max poolings, then two linear layers.

    features = Sequential(Conv2d(in_channels, c1, 3, padding=1), ReLU(),
                          Conv2d(c1, c1, 3, padding=1), ReLU(), MaxPool2d(2),
                          Conv2d(c1, c2, 3, padding=1), ReLU(), MaxPool2d(2))
    classifier = Sequential(Flatten(), Linear(c2 * (image_size // 4) ** 2, hidden), ReLU(),
                            Linear(hidden, num_classes))

    with (c1, c2) = ``channels``. Every layer with weights is created with ``device`` and
    ``dtype`` (with dtype=torch.float64 the network computes in float64).
    forward: (N, in_channels, image_size, image_size) -> (N, num_classes) logits.
    """

    def __init__(self, in_channels=1, num_classes=10, image_size=8, channels=(16, 32), hidden=64,
                 device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        kw = {"device": device, "dtype": dtype}
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1, **kw), nn.ReLU(),
            nn.Conv2d(c1, c1, 3, padding=1, **kw), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1, **kw), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * (image_size // 4) ** 2, hidden, **kw), nn.ReLU(),
            nn.Linear(hidden, num_classes, **kw))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.classifier(self.features(x))
        ### END SOLUTION


class DeepConvNet(nn.Module):
    """A deep network of ``depth`` blocks at one resolution, plain or residual:

    stem = Conv2d(in_channels, channels, 3, padding=1), followed by a ReLU;
    blocks = Sequential of ``depth`` ResidualBlock(channels, channels, residual=residual);
    head = Linear(channels * image_size ** 2, num_classes) on the flattened features.

    It has 2 * depth + 2 layers with weights, each created with ``device`` and ``dtype``, and
    the same parameters whatever ``residual`` says. forward: (N, in_channels, image_size, image_size) -> (N, num_classes) logits.
    """

    def __init__(self, depth, channels=8, residual=True, in_channels=1, num_classes=10, image_size=8,
                 device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        kw = {"device": device, "dtype": dtype}
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1, **kw)
        self.blocks = nn.Sequential(*[ResidualBlock(channels, channels, residual=residual, **kw)
                                      for _ in range(depth)])
        self.head = nn.Linear(channels * image_size * image_size, num_classes, **kw)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        features = self.blocks(F.relu(self.stem(x)))
        return self.head(features.flatten(1))
        ### END SOLUTION


def gradient_norms(model, X, y):
    """The Euclidean norm of the gradient of the mean cross-entropy of model(X) against the
    labels y, for every parameter: a dict name -> float in model.named_parameters() order.

    X (N, C, H, W) and y (N,), arrays or tensors, are converted to the model's dtype (labels
    to int64) and moved to its device. One forward and backward pass in training mode; the
    parameters and their .grad are left as they were.
    """
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    inputs = torch.as_tensor(X, dtype=weight.dtype).to(weight.device)
    labels = torch.as_tensor(y, dtype=torch.int64).to(weight.device)
    names, params = zip(*model.named_parameters())
    model.train()
    loss = F.cross_entropy(model(inputs), labels)
    grads = torch.autograd.grad(loss, params)
    return {name: grad.norm().item() for name, grad in zip(names, grads)}
    ### END SOLUTION


def fit(model, X, y, epochs=10, lr=0.05, momentum=0.9, batch_size=64, seed=0, device=None):
    """Train a classifier on images X (N, C, H, W) with labels y (N,), arrays or tensors, by
    mini-batch torch.optim.SGD(lr, momentum) on the mean cross-entropy of its logits, with a
    progress bar over the epochs.

    The model is moved to ``device`` (None: it stays where it is); X is converted to the
    model's dtype and y to int64. Every epoch visits the samples in a new random order, in
    batches of ``batch_size`` (the last one may be smaller), drawn by a DataLoader with
    shuffle=True from a torch.Generator seeded with ``seed``. The model is in training mode
    throughout. Returns the loss of every step (a list of floats, in order).
    """
    ### BEGIN SOLUTION
    if device is not None:
        model.to(device)
    weight = next(model.parameters())
    dataset = TensorDataset(torch.as_tensor(X, dtype=weight.dtype), torch.as_tensor(y, dtype=torch.int64))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    model.train()
    losses = []
    progress = tqdm(range(epochs), desc="epochs", disable=None)
    for _ in progress:
        for inputs, labels in loader:
            inputs, labels = inputs.to(weight.device), labels.to(weight.device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        progress.set_postfix(loss=losses[-1])
    return losses
    ### END SOLUTION
