"""A training threshold measures what the student's training learned, not a lookup.

For every threshold test of 01-07: a submission whose training learns nothing and whose
predictions look each input up in the public data set (the worker can load it, or a
notebook can paste it) earns exactly the points of a submission that learns nothing at all.
Each cheat is the reference notebook with code appended to its answer cells; before the
comparison, the test shows through the worker that the lookup really finds the public
labels, so that the comparison is not vacuous.
"""

from __future__ import annotations

import copy
import dataclasses

import nbformat
import numpy as np
import pytest

from autograder.grading.extract import build_program
from autograder.grading.grade import grade_submission
from autograder.grading.program import is_answer
from autograder.sandbox import launch
from autograder.student import data

from conftest import COURSE, loaded, rubric_for, source_notebooks

LOOKUP = '''
import numpy as _np
from autograder.student import data as _public_data


def _public_rows(name):
    """Every row of a public data set with its label, as each split seed presents it."""
    rows, labels = [], []
    for seed in range(10):
        parts = getattr(_public_data, name)(seed=seed)
        rows += [parts[0], parts[2], parts[4]]
        labels += [parts[1], parts[3], parts[5]]
    return _np.concatenate(rows), _np.concatenate(labels)


def _look_up(X, name="digits"):
    """The label of the public row nearest to each row of X."""
    rows, labels = _public_rows(name)
    X = _np.asarray(X, dtype=float).reshape(len(X), -1)
    nearest = [int(_np.argmin(((rows - x) ** 2).sum(axis=1))) for x in X]
    return labels[nearest].astype(_np.int64)
'''


@dataclasses.dataclass
class Cheat:
    """``nothing`` (appended to cell ``cell``) makes the training learn nothing; ``lookup``
    (appended after it) makes the predictions look the public labels up; ``probe(student)``
    returns (predictions on the public test part, its labels) through the cheat."""

    assignment: str
    tests: list[str]
    cell: str
    nothing: str
    lookup: str
    probe: object


def digits_test():
    parts = data.digits(seed=0)
    return parts.X_test, parts.y_test


CHEATS = [
    Cheat("01_regression", ["test_logistic_regression_reaches_accuracy_threshold"], "logistic",
          "def fit_logistic(X, y, lr=0.5, epochs=300):\n    return np.zeros(X.shape[1] + 1), [0.0] * epochs\n",
          LOOKUP + "def predict(X, w):\n    return _look_up(X, 'breast_cancer')\n",
          lambda s: (s.predict(data.breast_cancer().X_test, np.zeros(31)), data.breast_cancer().y_test)),
    Cheat("02_activations_losses", ["test_softmax_regression_reaches_accuracy_threshold"], "softmax_regression",
          "def fit_softmax_regression(X, y, lr=1.0, epochs=300):\n"
          "    return np.zeros((X.shape[1], 10)), np.zeros(10), [0.0] * epochs\n",
          LOOKUP + "def predict_classes(X, W, b):\n    return _look_up(X)\n",
          lambda s: (s.predict_classes(digits_test()[0], np.zeros((64, 10)), np.zeros(10)), digits_test()[1])),
    Cheat("03_backprop", ["test_two_layer_net_reaches_digits_accuracy_threshold"], "train",
          "def train(model, X, y, **options):\n    return {'loss': [], 'train_acc': [], 'val_acc': []}\n",
          LOOKUP + "TwoLayerNet.predict = lambda self, X: _look_up(X)\n",
          lambda s: (s.TwoLayerNet(64, 10, 10).predict(digits_test()[0]), digits_test()[1])),
    Cheat("04_optimization", ["test_momentum_and_adam_train_faster_than_sgd"], "adam",
          "def sgd_momentum(w, dw, state=None, lr=1e-3, momentum=0.9):\n    return w, state\n\n\n"
          "def adam(w, dw, state=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):\n    return w, state\n",
          # weights learned elsewhere (on the public digits) instead of an update rule
          LOOKUP + "_learned = {}\n\n\ndef _pretrained(shape):\n"
          "    if not _learned:\n"
          "        import torch\n"
          "        X, y = _public_rows('digits')\n"
          "        g = torch.Generator().manual_seed(0)\n"
          "        W1 = (0.1 * torch.randn(64, 50, generator=g, dtype=torch.float64)).requires_grad_()\n"
          "        b1 = torch.zeros(50, dtype=torch.float64, requires_grad=True)\n"
          "        W2 = (0.1 * torch.randn(50, 10, generator=g, dtype=torch.float64)).requires_grad_()\n"
          "        b2 = torch.zeros(10, dtype=torch.float64, requires_grad=True)\n"
          "        opt = torch.optim.Adam([W1, b1, W2, b2], lr=0.01)\n"
          "        Xt, yt = torch.tensor(X), torch.tensor(y)\n"
          "        for _ in range(300):\n"
          "            loss = torch.nn.functional.cross_entropy(torch.relu(Xt @ W1 + b1) @ W2 + b2, yt)\n"
          "            opt.zero_grad(); loss.backward(); opt.step()\n"
          "        for t in (W1, b1, W2, b2):\n"
          "            _learned[tuple(t.shape)] = t.detach().numpy().copy()\n"
          "    return _learned.get(tuple(shape))\n\n\n"
          "def sgd_momentum(w, dw, state=None, lr=1e-3, momentum=0.9):\n"
          "    found = _pretrained(w.shape)\n    return (w if found is None else found), state\n\n\n"
          "adam = lambda w, dw, state=None, **hyper: sgd_momentum(w, dw, state)\n",
          None),
    Cheat("05_regularization", ["test_dropout_beats_an_overfitting_baseline",
                                "test_batchnorm_network_predicts_one_sample_at_a_time",
                                "test_bagged_ensemble_is_at_least_as_good_as_its_best_member"], "bagging",
          "def train(model, X, y, **options):\n    return {'loss': [], 'train_acc': [], 'val_acc': []}\n",
          LOOKUP + "Sequential.predict = lambda self, X: _look_up(X)\n"
          "bagging_predict = lambda models, X: _look_up(X)\n",
          lambda s: (s.make_mlp(64, 10, 10).predict(digits_test()[0]), digits_test()[1])),
    Cheat("06_training_practice", ["test_random_search_finds_a_configuration_above_threshold"], "cross_validate",
          "def fit_model(X, y, hidden_dim=100, weight_scale=1e-3, **options):\n"
          "    return TwoLayerNet(X.shape[1], hidden_dim, int(y.max()) + 1, weight_scale=weight_scale)\n",
          LOOKUP + "TwoLayerNet.predict = lambda self, X: _look_up(X)\n",
          lambda s: (s.TwoLayerNet(64, 10, 10).predict(digits_test()[0]), digits_test()[1])),
    Cheat("07_pytorch", ["test_mlp_reaches_accuracy_threshold", "test_checkpoint_reaches_accuracy_threshold",
                         "test_submitted_checkpoint_reaches_accuracy_threshold"], "checkpoint",
          "def train(model, loader, epochs=10, lr=0.1, momentum=0.9, device=None):\n    return []\n",
          LOOKUP + "def predict(model, X):\n    return torch.as_tensor(_look_up(X))\n",
          lambda s: (s.predict(s.TwoLayerMLP(64, 10, 10), digits_test()[0]), digits_test()[1])),
]


def appended(notebook: nbformat.NotebookNode, cell: str, code: str) -> nbformat.NotebookNode:
    """``notebook`` with ``code`` appended to its answer cell ``cell``."""
    notebook = copy.deepcopy(notebook)
    [target] = [c for c in notebook.cells if is_answer(c) and c.metadata["nbgrader"]["grade_id"] == cell]
    target.source += "\n\n" + code
    return notebook


def untrained_checkpoint(path):
    import torch

    from reference import torch_networks as nets

    torch.manual_seed(0)
    nets.save_checkpoint(nets.TwoLayerMLP(64, 100, 10), path)


def threshold_tests(assignment: str) -> set[str]:
    """The hidden tests of ``assignment`` that take the ``thresholds`` fixture."""
    hidden = (COURSE.assignment_dir(assignment) / "test_hidden.py").read_text()
    return {line.split("(")[0].removeprefix("def ") for line in hidden.splitlines()
            if line.startswith("def test_") and "thresholds" in line}


@pytest.mark.parametrize("cheat", CHEATS, ids=[c.assignment for c in CHEATS])
def test_a_lookup_earns_what_learning_nothing_earns(cheat, built, tmp_path):
    assert_lookup_earns_what_nothing_earns(cheat, built, tmp_path)


def assert_lookup_earns_what_nothing_earns(cheat, built, tmp_path):
    """Grades the reference notebook with ``cheat.nothing`` appended to its cell, then with
    ``cheat.lookup`` too: both earn 0 on ``cheat.tests``, and ``cheat.probe`` shows the
    lookup does find the public answers."""
    [(name, source)] = source_notebooks(built, cheat.assignment).items()
    reference = nbformat.read(source, as_version=4)
    nothing = appended(reference, cheat.cell, cheat.nothing)
    lookup = appended(nothing, cheat.cell, cheat.lookup)
    rubric = dataclasses.replace(rubric_for(cheat.assignment), only=cheat.tests)
    scores = {}
    for label, notebook in [("nothing", nothing), ("lookup", lookup)]:
        folder = tmp_path / label
        folder.mkdir()
        nbformat.write(notebook, folder / f"{name}.ipynb")
        if COURSE.assignment(cheat.assignment).files:
            untrained_checkpoint(folder / "checkpoint.pt")
        result = grade_submission(rubric, label, {name: folder / f"{name}.ipynb"})
        assert {t.name for t in result.tests} == set(cheat.tests)
        scores[label] = {t.name: t.score for t in result.tests}
    assert scores["lookup"] == scores["nothing"], f"the lookup earned {scores['lookup']}"
    assert sum(scores["nothing"].values()) == 0, f"learning nothing earned {scores['nothing']}"
    if cheat.probe is not None:  # the lookup does find the public labels, where there is no view
        program = build_program(rubric.instructor, {name: tmp_path / "lookup" / f"{name}.ipynb"})
        with loaded(program, rubric.limits, launch.detect_isolation()) as student:
            predicted, labels = cheat.probe(student)
        assert np.mean(np.asarray(predicted) == labels) == 1.0


def test_every_threshold_test_of_the_first_half_has_a_lookup_cheat():
    covered = {(c.assignment, t) for c in CHEATS for t in c.tests}
    for assignment in [c.assignment for c in CHEATS]:
        assert {(assignment, t) for t in threshold_tests(assignment)} <= covered
