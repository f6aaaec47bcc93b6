"""Dense prediction in PyTorch: a U-Net that labels every pixel, its training loop, and the
mean intersection over union that scores it.

The training loop and ``predict`` serve any classifier whose logits have the classes on
axis 1: (N, K) for whole images, (N, K, H, W) for every pixel.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm


def double_conv(in_channels, out_channels):
    """Two rounds of 3x3 convolution (padding 1, so the size stays), batch norm and ReLU:
    nn.Sequential(Conv2d(in, out, 3, padding=1), BatchNorm2d(out), ReLU(),
    Conv2d(out, out, 3, padding=1), BatchNorm2d(out), ReLU()).
    (N, in_channels, H, W) -> (N, out_channels, H, W)."""
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(),
    )
    ### END SOLUTION


class UNet(nn.Module):
    """A U-Net with two poolings: (N, in_channels, H, W) -> logits (N, num_classes, H, W), for
    H and W divisible by 4. With c = channels, created in this order:

    enc1 = double_conv(in_channels, c)      at full size; its output is skip 1
    enc2 = double_conv(c, 2c)               after 2x2 max pooling; its output is skip 2
    bottleneck = double_conv(2c, 4c)        after another 2x2 max pooling
    up2 = ConvTranspose2d(4c, 2c, 2, stride=2),   dec2 = double_conv(4c, 2c)
    up1 = ConvTranspose2d(2c, c, 2, stride=2),    dec1 = double_conv(2c, c)
    head = Conv2d(c, num_classes, 1)

    Each decoder level doubles the size with its up-convolution and concatenates the skip of
    the same size before it on the channel axis, skip first: dec2(cat([skip2, up2(b)], 1)).
    """

    def __init__(self, in_channels=1, num_classes=4, channels=8):
        super().__init__()
        ### BEGIN SOLUTION
        c = channels
        self.enc1 = double_conv(in_channels, c)
        self.enc2 = double_conv(c, 2 * c)
        self.bottleneck = double_conv(2 * c, 4 * c)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.dec2 = double_conv(4 * c, 2 * c)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.dec1 = double_conv(2 * c, c)
        self.head = nn.Conv2d(c, num_classes, 1)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        skip1 = self.enc1(x)
        skip2 = self.enc2(F.max_pool2d(skip1, 2))
        bottom = self.bottleneck(F.max_pool2d(skip2, 2))
        up = self.dec2(torch.cat([skip2, self.up2(bottom)], dim=1))
        up = self.dec1(torch.cat([skip1, self.up1(up)], dim=1))
        return self.head(up)
        ### END SOLUTION


def train(model, optimizer, X, y, epochs=10, batch_size=32, seed=0, device=None):
    """Mini-batch training of a classifier on the mean cross-entropy of its logits; returns
    the loss of every step (a list of floats, in order).

    X: (N, C, H, W) images, y: (N,) class labels or (N, H, W) labels per pixel (arrays or
    tensors). The model is moved to ``device`` (None: it stays where it is) and is in
    training mode throughout; ``optimizer`` updates what it was given. The inputs take the
    dtype of the model's first parameter. Each epoch visits the samples in the order of a
    DataLoader(TensorDataset(X, y), batch_size, shuffle=True, generator=
    torch.Generator().manual_seed(seed)), created once, and shows a progress bar.
    """
    ### BEGIN SOLUTION
    if device is not None:
        model.to(device)
    weight = next(model.parameters())
    dataset = TensorDataset(torch.as_tensor(X, dtype=weight.dtype), torch.as_tensor(y, dtype=torch.int64))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    model.train()
    history = []
    progress = tqdm(range(epochs), desc="epochs", disable=None)
    for _ in progress:
        for inputs, labels in loader:
            inputs, labels = inputs.to(weight.device), labels.to(weight.device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        progress.set_postfix(loss=history[-1])
    return history
    ### END SOLUTION


def predict(model, X):
    """The class of highest logit for every image, or every pixel: X (N, C, H, W), an array
    or tensor -> an int64 CPU tensor of shape (N,) or (N, H, W).

    The model runs in evaluation mode (batch norm uses its running statistics), without
    recording gradients, on its own device and dtype.
    """
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    model.eval()
    with torch.no_grad():
        inputs = torch.as_tensor(X, dtype=weight.dtype).to(weight.device)
        return model(inputs).argmax(dim=1).cpu()
    ### END SOLUTION


def mean_iou(predicted, target, num_classes):
    """Mean intersection over union of two label arrays of the same shape (any number of
    images): for each class k, IoU_k = |predicted == k and target == k| / |predicted == k or
    target == k|, counted over all pixels together; the mean over the classes whose union is
    not empty. Returns a float."""
    ### BEGIN SOLUTION
    predicted, target = np.asarray(predicted), np.asarray(target)
    ious = []
    for k in range(num_classes):
        union = np.sum((predicted == k) | (target == k))
        if union:
            ious.append(np.sum((predicted == k) & (target == k)) / union)
    return float(np.mean(ious))
    ### END SOLUTION
