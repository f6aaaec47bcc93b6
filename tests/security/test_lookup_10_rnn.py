"""Assignment 10's thresholds measure what the student's training learned, not a lookup: the
cheats of test_lookup.py's pattern, run by its own test.

The grader computes the predictions from the trained weights with the reference models, so
a forward pass that looks the public digits up (or, for the signal, which has no public
copy, one that answers with persistence) is never called when scoring: with training that
learns nothing, both earn nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.student import data

from test_lookup import LOOKUP, Cheat
from test_lookup import assert_lookup_earns_what_nothing_earns, threshold_tests

A = "10_rnn"


def digit_rows_test():
    parts = data.digits(seed=0, images=True)
    return torch.as_tensor(parts.X_test[:, 0], dtype=torch.float32), parts.y_test


CHEATS = [
    Cheat(A, ["test_classifier_reaches_accuracy_threshold"], "classifier",
          "def train_classifier(model, X, y, **options):\n    return []\n",
          LOOKUP + "LSTMClassifier.forward = lambda self, x: F.one_hot(torch.as_tensor(_look_up(x)), 10).float()\n",
          lambda s: (np.argmax(np.asarray(s.LSTMClassifier(8, 64, 10)(digit_rows_test()[0])), axis=1),
                     digit_rows_test()[1])),
    Cheat(A, ["test_signal_predictor_reaches_skill_threshold"], "tbptt",
          "def train_tbptt(model, series, **options):\n    return []\n",
          "SignalPredictor.forward = lambda self, x, state=None: (x.clone(), state)\n",  # persistence
          None),
]


@pytest.mark.parametrize("cheat", CHEATS, ids=[c.tests[0] for c in CHEATS])
def test_a_lookup_earns_what_learning_nothing_earns_in_10(cheat, built, tmp_path):
    assert_lookup_earns_what_nothing_earns(cheat, built, tmp_path)


def test_every_threshold_test_of_10_has_a_lookup_cheat():
    assert threshold_tests(A) == {t for c in CHEATS for t in c.tests}
