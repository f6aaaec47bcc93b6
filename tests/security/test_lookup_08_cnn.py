"""Assignment 08's thresholds measure what the student's training learned, not a lookup: the
cheats of test_lookup.py's pattern, run by its own test.

The grader trains on a secret view of the digit images (turned or mirrored, shifted, noisy,
classes renamed) and computes the test predictions from the trained parameters
(``model.params``, ``state_dict()``) with the reference networks, so a ``predict`` or a
``forward`` that answers from the public digits is never called when scoring. With training
that learns nothing, such a cheat earns nothing.

The gradient-ratio threshold (``test_residual_network_keeps_the_first_layer_gradient``)
measures the initialized networks, before any training, from the student's weights with the
reference code: there is no label to look up, so it has no cheat here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.student import data

from test_lookup import LOOKUP, Cheat
from test_lookup import assert_lookup_earns_what_nothing_earns, threshold_tests

A = "08_cnn"
NUMPY_TEST = "test_numpy_cnn_reaches_the_accuracy_threshold_on_held_out_images"
VGG_TEST = "test_small_vgg_beats_the_mlp_on_held_out_images"
RESIDUAL_TEST = "test_residual_network_trains_better_than_the_plain_one"
WITHOUT_LOOKUP = {"test_residual_network_keeps_the_first_layer_gradient"}

NO_NUMPY_TRAINING = "def train(model, X, y, **options):\n    return {'loss': [], 'train_acc': [], 'val_acc': []}\n"
NO_TORCH_TRAINING = "def fit(model, X, y, **options):\n    return []\n"
FORWARD_FROM_PUBLIC_LABELS = LOOKUP + '''

def _forward_from_public_labels(self, x):
    return F.one_hot(torch.as_tensor(_look_up(x.detach().cpu().numpy())), 10).to(x.dtype)
'''


def digit_images():
    parts = data.digits(seed=0, images=True)
    return parts.X_test, parts.y_test


def numpy_probe(student):
    images, labels = digit_images()
    return student.Sequential(student.Flatten()).predict(images), labels


def torch_probe(network):
    def probe(student):
        images, labels = digit_images()
        logits = network(student)(torch.as_tensor(images, dtype=torch.float32))
        return np.argmax(np.asarray(logits), axis=1), labels
    return probe


CHEATS = [
    Cheat(A, [NUMPY_TEST], "from_03", NO_NUMPY_TRAINING,
          LOOKUP + "Sequential.predict = lambda self, X: _look_up(X)\n", numpy_probe),
    Cheat(A, [VGG_TEST], "small_vgg", NO_TORCH_TRAINING,
          FORWARD_FROM_PUBLIC_LABELS + "SmallVGG.forward = _forward_from_public_labels\n",
          torch_probe(lambda s: s.SmallVGG())),
    Cheat(A, [RESIDUAL_TEST], "deep_networks", NO_TORCH_TRAINING,  # this fit replaces the earlier cell's
          FORWARD_FROM_PUBLIC_LABELS + "DeepConvNet.forward = _forward_from_public_labels\n",
          torch_probe(lambda s: s.DeepConvNet(2, 4))),
]


@pytest.mark.parametrize("cheat", CHEATS, ids=["numpy_predict_from_public_labels", "small_vgg_forward_from_public_labels",
                                               "deep_net_forward_from_public_labels"])
def test_a_lookup_earns_what_learning_nothing_earns_in_08(cheat, built, tmp_path):
    assert_lookup_earns_what_nothing_earns(cheat, built, tmp_path)


def test_every_threshold_test_of_08_has_a_lookup_cheat():
    assert threshold_tests(A) - WITHOUT_LOOKUP == {t for c in CHEATS for t in c.tests}
