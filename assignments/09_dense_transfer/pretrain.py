"""Pre-train the DigitNet whose features assignment 09 transfers, and write its weights.

DigitNet(5) learns digits 0-4 of the training part of ``data.digits(seed=0)``, each image
also in eight copies moved by up to a pixel, with Adam; everything is seeded and runs on
one thread, so the same code writes the same file. The digits 5-9 are never seen: they
are what the notebook transfers to.

    python assignments/09_dense_transfer/pretrain.py [OUTPUT]   (default: the shipped file)
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

from autograder.student import data, heldout, weights
from reference.segmentation import predict, train
from reference.transfer import DigitNet

NAME = "digitnet_0_to_4"
SEED = 0


def pretrain(seed: int = SEED) -> tuple[dict, float]:
    """(the trained DigitNet(5)'s state_dict, its accuracy on the test part's digits 0-4)."""
    X_train, y_train, _, _, X_test, y_test = data.digits(seed=0, images=True)
    X_train, y_train = X_train[y_train < 5], y_train[y_train < 5]
    shifts = np.random.default_rng(seed)
    X_train = np.concatenate([X_train] + [heldout.translated(X_train, shifts, 1) for _ in range(8)])
    torch.manual_seed(seed)
    model = DigitNet(5)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    train(model, optimizer, X_train, np.tile(y_train, 9), epochs=20, batch_size=32, seed=seed)
    accuracy = float((predict(model, X_test[y_test < 5]).numpy() == y_test[y_test < 5]).mean())
    return {name: value.contiguous() for name, value in model.state_dict().items()}, accuracy


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    output = argv[0] if argv else weights.path(NAME)
    state, accuracy = pretrain()
    save_file(state, output, metadata={"script": "assignments/09_dense_transfer/pretrain.py",
                                       "seed": str(SEED), "test_accuracy_digits_0_to_4": f"{accuracy:.4f}"})
    os.chmod(output, 0o644)  # the grading worker runs as another user
    print(f"wrote {output}: test accuracy on digits 0-4 {accuracy:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
