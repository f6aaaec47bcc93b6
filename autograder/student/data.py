"""Data sets that need no download, split and scaled the same way everywhere.

Every loader is deterministic for a given ``seed`` and returns a ``Split``: a training, a
validation and a test part (60/20/20 by default) of float64 features and int64 labels
(float64 targets for regression). Choose models and settings on the validation part; touch
the test part once, to report the model you chose. Rubrics grade on the test part only.

    split = data.digits()
    X_train, y_train, X_val, y_val, X_test, y_test = split     # or split.X_train, ...
"""

from __future__ import annotations

import codecs
import gzip
import importlib.util
import pickle
from pathlib import Path
from typing import NamedTuple

import numpy as np

FRACTIONS = (0.6, 0.2, 0.2)


class Split(NamedTuple):
    """A data set cut into training, validation and test parts."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def map_inputs(self, function) -> "Split":
        """The same split with ``function`` applied to each part's inputs."""
        return self._replace(X_train=function(self.X_train), X_val=function(self.X_val),
                             X_test=function(self.X_test))


def split(X: np.ndarray, y: np.ndarray, fractions=FRACTIONS, seed: int = 0) -> Split:
    """Shuffle the rows with ``np.random.default_rng(seed)`` and cut them into training,
    validation and test parts of the given fractions (which sum to 1)."""
    if not np.isclose(sum(fractions), 1.0) or len(fractions) != 3:
        raise ValueError(f"fractions {fractions} should be three numbers that sum to 1")
    order = np.random.default_rng(seed).permutation(len(X))
    n_val, n_test = (int(round(len(X) * f)) for f in fractions[1:])
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return Split(X[train], y[train], X[val], y[val], X[test], y[test])


def standardized(parts: Split) -> Split:
    """Features scaled to zero mean and unit variance with the training part's statistics."""
    mean, std = parts.X_train.mean(axis=0), parts.X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return parts.map_inputs(lambda X: (X - mean) / std)


def with_noisy_labels(parts: Split, fraction: float, n_train: int | None = None,
                      seed: int = 0) -> Split:
    """The first ``n_train`` training rows (all by default), a ``fraction`` of whose labels
    are replaced by classes drawn uniformly (``np.random.default_rng(seed)``); the
    validation and test parts are left clean."""
    n = len(parts.X_train) if n_train is None else n_train
    rng = np.random.default_rng(seed)
    labels = parts.y_train[:n].copy()
    flip = rng.random(n) < fraction
    labels[flip] = rng.integers(0, int(parts.y_train.max()) + 1, flip.sum())
    return parts._replace(X_train=parts.X_train[:n], y_train=labels)


def diabetes(seed: int = 0) -> Split:
    """scikit-learn's diabetes regression set: 442 x 10 standardized features, targets 25-346."""
    X = _bundled_csv("diabetes_data_raw.csv.gz")
    # As load_diabetes(scaled=True): centered and scaled to unit variance by the raw values'
    # statistics (computed as sklearn.preprocessing.scale does, to match it bit for bit), then
    # divided by sqrt(N).
    mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    X -= mean
    X /= std
    X /= X.shape[0] ** 0.5
    return standardized(split(X, _bundled_csv("diabetes_target.csv.gz"), seed=seed))


def breast_cancer(seed: int = 0) -> Split:
    """scikit-learn's breast-cancer set: 569 x 30 standardized features, labels 0 (malignant)
    / 1 (benign) as float64."""
    table = _bundled_csv("breast_cancer.csv", delimiter=",", skiprows=1)  # row 1: sizes, class names
    return standardized(split(table[:, :-1], table[:, -1], seed=seed))


def digits(seed: int = 0, images: bool = False) -> Split:
    """scikit-learn's digits: 1797 images of 8x8 pixels in [0, 1], labels 0-9; flattened to
    64 features, or with ``images`` shaped (N, 1, 8, 8) as a convolution expects."""
    table = _bundled_csv("digits.csv.gz", delimiter=",")  # 64 pixel values 0-16, then the label
    X = table[:, :-1].reshape(-1, 1, 8, 8) if images else table[:, :-1]
    return split(X / 16.0, table[:, -1].astype(np.int64), seed=seed)


def _bundled_csv(name: str, **loadtxt_options) -> np.ndarray:
    """The float64 table in one of the CSV files (gzip-compressed if the name ends in .gz)
    that scikit-learn ships in sklearn/datasets/data, read without importing scikit-learn
    (which takes most of a second)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("this data set comes with scikit-learn: pip install scikit-learn",
                                  name="sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as file:
        return np.loadtxt(file, dtype=np.float64, **loadtxt_options)


# -- Real image data sets from local files, where an instructor has them (never downloaded)

MNIST_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
               "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_array(path) -> np.ndarray:
    """The array stored in one IDX file, MNIST's format (gzip-compressed if the name ends in
    .gz): two zero bytes, a byte naming the value type, a byte giving the number of
    dimensions, one big-endian uint32 size per dimension, then the values in row-major order."""
    path = Path(path)
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (its first bytes are {raw[:4]!r})")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    values = np.frombuffer(raw, dtype, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{path} declares shape {shape} but holds {values.size} values")
    return values.reshape(shape)


def mnist(folder, validation: float = 1 / 6, seed: int = 0) -> Split:
    """MNIST from its four IDX files in ``folder`` (train-images-idx3-ubyte,
    train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or
    .gz): images (N, 1, 28, 28) in [0, 1], labels int64. The official training images are
    shuffled with ``seed`` and a ``validation`` fraction of them held out; the official test
    images are the test part."""
    folder = Path(folder)

    def read(key):
        name = MNIST_FILES[key]
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return idx_array(candidate)
        raise FileNotFoundError(f"MNIST: neither {name} nor {name}.gz is in {folder}")

    images = {key: read(key) for key in MNIST_FILES}
    scale = lambda X: X[:, None].astype(np.float64) / 255.0  # noqa: E731
    return _hold_out(scale(images["train_images"]), images["train_labels"].astype(np.int64),
                     scale(images["test_images"]), images["test_labels"].astype(np.int64),
                     validation, seed)


def cifar10(folder, validation: float = 0.1, seed: int = 0) -> Split:
    """CIFAR-10 from its Python batches in ``folder`` (data_batch_1 ... data_batch_5 and
    test_batch): images (N, 3, 32, 32) in [0, 1], labels int64. The batches are pickles,
    read by an unpickler that accepts dicts, lists, strings, bytes, numbers and NumPy arrays
    and refuses anything else. The training batches are shuffled with ``seed`` and a
    ``validation`` fraction held out; test_batch is the test part."""
    folder = Path(folder)
    train = [_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    X_test, y_test = _cifar_batch(folder / "test_batch")
    return _hold_out(np.concatenate([X for X, _ in train]), np.concatenate([y for _, y in train]),
                     X_test, y_test, validation, seed)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10: {path.name} is not in {path.parent}")
    with open(path, "rb") as file:
        try:
            batch = _BatchUnpickler(file, encoding="bytes").load()
        except pickle.UnpicklingError as error:
            raise ValueError(f"{path} is not a CIFAR-10 batch: {error}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path} holds a {type(batch).__name__}, not a CIFAR-10 batch (a dict)")
    field = lambda name: batch.get(name.encode(), batch.get(name))  # noqa: E731
    data, labels = field("data"), field("labels")
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels is None:
        raise ValueError(f"{path} lacks 'data' (N, 3072) and 'labels': not a CIFAR-10 batch")
    images = data.reshape(-1, 3, 32, 32).astype(np.float64) / 255.0
    return images, np.asarray(labels, dtype=np.int64)


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler for CIFAR-10 batches: it builds dicts, lists, strings, bytes, numbers and
    NumPy arrays, and refuses every other class or function a file may name, since loading
    those could run code."""

    @staticmethod
    def _allowed() -> dict:
        core = np._core if hasattr(np, "_core") else np.core
        allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                   ("_codecs", "encode"): codecs.encode}  # how protocol-2 pickles store bytes
        for package in ("numpy.core", "numpy._core"):  # arrays by protocol 2 (the real files) and 5
            allowed[(f"{package}.multiarray", "_reconstruct")] = core.multiarray._reconstruct
            allowed[(f"{package}.numeric", "_frombuffer")] = core.numeric._frombuffer
        return allowed

    def find_class(self, module, name):
        allowed = self._allowed()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never "
                                         "holds (refused: loading it could run code)")
        return allowed[(module, name)]


def _hold_out(X, y, X_test, y_test, validation: float, seed: int) -> Split:
    """A Split whose validation part is a ``validation`` fraction of (X, y), drawn with
    ``np.random.default_rng(seed)``, and whose test part is (X_test, y_test)."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_val = int(round(len(X) * validation))
    val, train = order[:n_val], order[n_val:]
    return Split(X[train], y[train], X[val], y[val], X_test, y_test)


def configured_path(name: str, start=".") -> Path | None:
    """The local path that the nearest course.yml at or above the folder ``start`` names for
    the data set ``name`` under ``datasets:`` (relative paths count from course.yml's folder);
    None where there is no course.yml or it names no such data set."""
    import yaml

    start = Path(start).resolve()
    for folder in [start, *start.parents]:
        if (folder / "course.yml").is_file():
            config = yaml.safe_load((folder / "course.yml").read_text()) or {}
            path = (config.get("datasets") or {}).get(name)
            return None if path is None else folder / Path(path).expanduser()
    return None


def course_images(seed: int = 0, start=".", mnist_sizes=(1000, 500, 1000)) -> Split:
    """Images to classify with a convolutional network: MNIST (its first ``mnist_sizes``
    training, validation and test images) where course.yml names its folder under
    ``datasets: mnist:``, else scikit-learn's digits as (N, 1, 8, 8) images."""
    folder = configured_path("mnist", start)
    if folder is None:
        return digits(seed=seed, images=True)
    parts = mnist(folder, seed=seed)
    n_train, n_val, n_test = mnist_sizes
    return Split(parts.X_train[:n_train], parts.y_train[:n_train], parts.X_val[:n_val],
                 parts.y_val[:n_val], parts.X_test[:n_test], parts.y_test[:n_test])
