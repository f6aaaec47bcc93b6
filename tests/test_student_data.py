"""The student-safe data helpers: splits, generated data and held-out views."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from autograder.student import data, generated, heldout
from conftest import ROOT


def test_splits_are_disjoint_deterministic_and_sized_60_20_20():
    first, again, other = data.digits(seed=0), data.digits(seed=0), data.digits(seed=1)
    assert [len(part) for part in first[::2]] == [1079, 359, 359]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first.X_train, other.X_train)
    rows = [tuple(r) for part in first[::2] for r in part]
    assert len(set(rows)) >= 1790  # digits holds a few identical images; the parts do not overlap by index
    assert first.X_train.dtype == np.float64 and first.y_train.dtype == np.int64
    assert 0 <= first.X_train.min() and first.X_train.max() <= 1


def test_digits_as_images_are_the_same_pixels():
    flat, images = data.digits(seed=2), data.digits(seed=2, images=True)
    assert images.X_train.shape[1:] == (1, 8, 8)
    assert np.array_equal(images.X_test.reshape(len(images.X_test), -1), flat.X_test)


def _through_scikit_learn(name: str, seed: int) -> data.Split:
    """The Split that ``name`` gives, built from scikit-learn's own loader of that data set."""
    from sklearn import datasets

    if name in ("diabetes", "breast_cancer"):
        bunch = getattr(datasets, f"load_{name}")()
        X, y = bunch.data.astype(np.float64), bunch.target.astype(np.float64)
        return data.standardized(data.split(X, y, seed=seed))
    bunch = datasets.load_digits()
    X = bunch.images[:, None] if name == "digit_images" else bunch.data
    return data.split(X / 16.0, bunch.target.astype(np.int64), seed=seed)


@pytest.mark.parametrize("name", ["diabetes", "breast_cancer", "digits", "digit_images"])
def test_bundled_data_sets_equal_scikit_learns_loaders_bit_for_bit(name):
    load = (lambda seed: data.digits(seed, images=True)) if name == "digit_images" else getattr(data, name)
    for seed in (0, 7):
        for mine, theirs in zip(load(seed), _through_scikit_learn(name, seed)):
            assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
            np.testing.assert_array_equal(mine, theirs)


def test_bundled_data_sets_load_without_importing_scikit_learn():
    code = ("import sys; import autograder.student.data as d; d.diabetes(); d.breast_cancer(); d.digits(); "
            "d.digits(images=True); print(sorted(m for m in sys.modules if m.startswith('sklearn')))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


def test_bundled_data_sets_without_scikit_learn_name_the_package_to_install(monkeypatch):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-learn"):
        data.digits()


def test_standardized_uses_the_training_part_only():
    parts = data.breast_cancer(seed=3)
    assert np.allclose(parts.X_train.mean(axis=0), 0) and np.allclose(parts.X_train.std(axis=0), 1)
    assert not np.allclose(parts.X_test.mean(axis=0), 0)


def test_noisy_labels_change_only_the_training_part():
    clean = data.digits(seed=1)
    noisy = data.with_noisy_labels(clean, fraction=0.3, n_train=300, seed=1)
    assert len(noisy.X_train) == 300 and np.array_equal(noisy.X_train, clean.X_train[:300])
    changed = np.mean(noisy.y_train != clean.y_train[:300])
    assert 0.2 < changed < 0.3  # 30% redrawn, a tenth of them to the same class
    assert np.array_equal(noisy.y_test, clean.y_test)


def test_split_rejects_fractions_that_do_not_add_up():
    with pytest.raises(ValueError, match="sum to 1"):
        data.split(np.zeros((10, 2)), np.zeros(10), fractions=(0.5, 0.2, 0.2))


@pytest.mark.parametrize("make", [generated.two_moons, generated.spirals, generated.ring_of_gaussians])
def test_generated_data_follows_its_seed(make):
    X, y = make(seed=4)
    again, other = make(seed=4), make(seed=5)
    assert np.array_equal(X, again[0]) and np.array_equal(y, again[1])
    assert not np.array_equal(X, other[0])
    assert X.shape == (len(y), 2) and y.dtype == np.int64


def test_ring_means_are_the_modes_the_samples_come_from():
    X, y = generated.ring_of_gaussians(n=2000, modes=6, std=0.01, seed=7)
    means = generated.ring_means(modes=6, seed=7)
    assert np.allclose([X[y == k].mean(axis=0) for k in range(6)], means, atol=0.01)


def test_noisy_sines_have_the_asked_shape():
    series = generated.noisy_sines(n=5, length=30, seed=0)
    assert series.shape == (5, 30) and np.abs(series).max() < 2


def nearest_label_accuracy(parts):
    """What a lookup of each test row in the public training rows earns."""
    public = data.digits(seed=0)
    distances = ((parts.X_test[:, None, :] - public.X_train[None]) ** 2).sum(axis=2)
    return np.mean(public.y_train[np.argmin(distances, axis=1)] == parts.y_test)


def test_a_rotated_view_keeps_what_a_model_learns_and_defeats_a_lookup():
    parts = data.digits(seed=0)
    view = heldout.rotated(parts, np.random.default_rng(0))
    assert np.array_equal(view.y_test, parts.y_test) and view.X_test.shape == parts.X_test.shape
    assert nearest_label_accuracy(parts._replace(X_test=parts.X_test[:200], y_test=parts.y_test[:200])) > 0.95
    assert nearest_label_accuracy(view._replace(X_test=view.X_test[:200], y_test=view.y_test[:200])) < 0.3
    own = ((view.X_test[:200, None] - view.X_train[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert np.mean(view.y_train[own] == view.y_test[:200]) > 0.9  # learning from the view still works


def test_a_random_rotation_is_orthogonal():
    q = heldout.random_rotation(16, np.random.default_rng(1))
    assert np.allclose(q @ q.T, np.eye(16))


def test_shifted_images_keep_shapes_and_labels_and_move_pixels():
    parts = data.digits(seed=0, images=True)
    view = heldout.shifted_images(parts, np.random.default_rng(3), shift=1, noise=0.0)
    assert view.X_train.shape == parts.X_train.shape and np.array_equal(view.y_val, parts.y_val)
    assert not np.allclose(view.X_train, parts.X_train)
    assert np.isclose(view.X_train.sum(), parts.X_train.sum(), rtol=0.15)  # moved; a little ink leaves the edges


def test_relabeled_views_rename_classes_consistently():
    parts = data.digits(seed=0)
    view = heldout.relabeled(parts, np.random.default_rng(2))
    mapping = dict(zip(parts.y_train, view.y_train))
    assert len(mapping) == 10 and sorted(mapping.values()) == list(range(10))
    assert all(mapping[a] == b for a, b in zip(parts.y_test, view.y_test))
