"""Assignment 09's thresholds measure what the student's training learned, not a lookup: the
cheats of test_lookup.py's pattern, run by its own test.

The transfer thresholds train on a secret view of the digits 5-9 (shifted, noisy, classes
renamed) and the probe threshold on a secret view of all digits (turned or mirrored, shifted,
noisy); the grader reads the trained state_dict() back and computes every prediction, and
every representation the probe sees, with the reference networks. A forward pass or an
``encode`` that answers from the public digits is never called when scoring, so with
training that learns nothing such a cheat earns nothing.

The segmentation threshold (``test_unet_reaches_the_mean_iou_threshold``) trains and scores
on shape images generated from the secret: no public copy of them exists to look up.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.student import data

from test_lookup import LOOKUP, Cheat
from test_lookup import assert_lookup_earns_what_nothing_earns, threshold_tests

A = "09_dense_transfer"
HEAD_TEST = "test_new_head_on_frozen_features_beats_training_from_scratch"
FINE_TUNE_TEST = "test_fine_tuned_network_reaches_the_accuracy_threshold"
PROBE_TEST = "test_linear_probe_on_contrastive_features_beats_random_features"
WITHOUT_LOOKUP = {"test_unet_reaches_the_mean_iou_threshold"}

NO_TRAINING = "def train(model, optimizer, X, y, epochs=10, batch_size=32, seed=0, device=None):\n    return []\n"
NO_CONTRASTIVE_TRAINING = "def train_contrastive(model, X, **options):\n    return []\n"
ANSWERS_FROM_PUBLIC_LABELS = LOOKUP + '''

def _public_labels_as(x, width):
    labels = torch.as_tensor(_look_up(torch.as_tensor(x).detach().cpu().numpy()))
    return F.one_hot(labels, width).to(torch.as_tensor(x).dtype)
'''


def digit_images():
    parts = data.digits(seed=0, images=True)
    return parts.X_test, parts.y_test


def classifier_probe(student):
    images, labels = digit_images()
    logits = student.DigitNet(10)(torch.as_tensor(images))
    return np.argmax(np.asarray(logits), axis=1), labels


def encoder_probe(student):
    images, labels = digit_images()
    features = student.encode(student.ContrastiveNet(), images)
    return np.argmax(np.asarray(features)[:, :10], axis=1), labels


CHEATS = [
    Cheat(A, [HEAD_TEST, FINE_TUNE_TEST], "transfer", NO_TRAINING,
          ANSWERS_FROM_PUBLIC_LABELS + "DigitNet.forward = lambda self, x: _public_labels_as(x, 10)\n",
          classifier_probe),
    Cheat(A, [PROBE_TEST], "contrastive", NO_CONTRASTIVE_TRAINING,
          ANSWERS_FROM_PUBLIC_LABELS + "encode = lambda model, X: _public_labels_as(X, 128)\n", encoder_probe),
]


@pytest.mark.parametrize("cheat", CHEATS, ids=["digit_net_forward_from_public_labels", "encode_from_public_labels"])
def test_a_lookup_earns_what_learning_nothing_earns_in_09(cheat, built, tmp_path):
    assert_lookup_earns_what_nothing_earns(cheat, built, tmp_path)


def test_every_threshold_test_of_09_has_a_lookup_cheat():
    assert threshold_tests(A) - WITHOUT_LOOKUP == {t for c in CHEATS for t in c.tests}
