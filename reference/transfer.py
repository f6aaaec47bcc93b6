"""Transfer learning in PyTorch: a small digit network whose convolutional features were
trained on other classes, a new head trained on top of the frozen features, then the whole
network fine-tuned with a smaller learning rate for the pre-trained layers.
"""

import torch
from torch import nn


def digit_features():
    """The convolutional features of an 8x8 digit image: (N, 1, 8, 8) -> (N, 128), as
    nn.Sequential(Conv2d(1, 16, 3, padding=1), ReLU(), MaxPool2d(2),
                  Conv2d(16, 32, 3, padding=1), ReLU(), MaxPool2d(2), Flatten()),
    with PyTorch's default initialization: 32 channels of 2 x 2 after two poolings."""
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    )
    ### END SOLUTION


class DigitNet(nn.Module):
    """A small CNN for 8x8 digit images: (N, 1, 8, 8) -> logits (N, num_classes).

    features = digit_features() maps an image to 128 features, then head =
    nn.Linear(128, num_classes) maps them to logits; created in this order.
    """

    def __init__(self, num_classes=5):
        super().__init__()
        ### BEGIN SOLUTION
        self.features = digit_features()
        self.head = nn.Linear(128, num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.head(self.features(x))
        ### END SOLUTION


def transfer_model(pretrained, num_classes):
    """A DigitNet(num_classes) whose features are the pre-trained ones and whose head is new.

    ``pretrained`` is the state_dict of a trained DigitNet (names -> tensors); its
    ``features.*`` entries are loaded, its ``head.*`` entries (trained for other classes)
    are not: the head keeps the fresh initialization of DigitNet(num_classes).
    """
    ### BEGIN SOLUTION
    model = DigitNet(num_classes)
    features = {name.removeprefix("features."): value for name, value in pretrained.items()
                if name.startswith("features.")}
    model.features.load_state_dict(features)
    return model
    ### END SOLUTION


def head_optimizer(model, lr=1e-2):
    """Freeze the features and return the optimizer of the head alone.

    Every parameter of model.features gets requires_grad = False (autograd then computes no
    gradient for it, and nothing can change it); the result is torch.optim.Adam over
    model.head's parameters with learning rate ``lr``.
    """
    ### BEGIN SOLUTION
    for parameter in model.features.parameters():
        parameter.requires_grad = False
    return torch.optim.Adam(model.head.parameters(), lr=lr)
    ### END SOLUTION


def fine_tune_optimizer(model, lr=1e-3, backbone_lr=1e-4):
    """Unfreeze the features and return an optimizer with one learning rate per part.

    Every parameter of model.features gets requires_grad = True again; the result is
    torch.optim.Adam with two parameter groups: model.features's parameters with learning
    rate ``backbone_lr``, then model.head's with ``lr``.
    """
    ### BEGIN SOLUTION
    for parameter in model.features.parameters():
        parameter.requires_grad = True
    return torch.optim.Adam([
        {"params": model.features.parameters(), "lr": backbone_lr},
        {"params": model.head.parameters(), "lr": lr},
    ])
    ### END SOLUTION
