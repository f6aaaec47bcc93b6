"""Real image data sets read from local files (never downloaded): MNIST's IDX files and
CIFAR-10's Python batches, written here in small versions of those formats; the `datasets:`
paths of course.yml that name them."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from autograder.course import ConfigError, load_course
from autograder.student import data

COURSE_YML = """
course: {{id: c, title: C}}
assignments:
  - {{id: a, title: A, notebooks: [a], due: 2026-10-16T23:59:00+00:00}}
{datasets}
"""


def write_idx(path, array: np.ndarray, compress: bool = False) -> None:
    """``array`` (uint8) in the IDX format: two zero bytes, type 0x08, the number of dimensions,
    big-endian sizes, then the bytes."""
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    (gzip.open if compress else open)(path, "wb").write(raw)


def write_mnist(folder, rng, n_train=12, n_test=5, compress=False) -> dict:
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / (name + ".gz" if compress else name), array, compress)
    return arrays


def write_cifar(folder, rng, per_batch=4, protocol=2) -> dict:
    """Five training batches and a test batch, dicts with bytes keys as the real files have."""
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"filenames": [f"img{i}.png".encode() for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
        batches[name] = batch
    return batches


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_idx_files(tmp_path, compress):
    arrays = write_mnist(tmp_path, np.random.default_rng(0), compress=compress)
    parts = data.mnist(tmp_path, validation=0.25, seed=1)
    assert parts.X_train.shape == (9, 1, 28, 28) and parts.X_val.shape == (3, 1, 28, 28)
    assert parts.X_train.dtype == np.float64 and parts.y_train.dtype == np.int64
    np.testing.assert_array_equal(parts.X_test[:, 0], arrays["t10k-images-idx3-ubyte"] / 255.0)
    np.testing.assert_array_equal(parts.y_test, arrays["t10k-labels-idx1-ubyte"])
    together = np.concatenate([parts.X_train, parts.X_val])[:, 0] * 255.0
    assert sorted(map(bytes, together.astype(np.uint8))) == sorted(map(bytes, arrays["train-images-idx3-ubyte"]))


def test_mnist_names_a_missing_file(tmp_path):
    write_mnist(tmp_path, np.random.default_rng(0))
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        data.mnist(tmp_path)


def test_idx_array_rejects_other_files(tmp_path):
    (tmp_path / "not-idx").write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.idx_array(tmp_path / "not-idx")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="declares shape"):
        data.idx_array(tmp_path / "short")


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar10_reads_python_batches(tmp_path, protocol):
    batches = write_cifar(tmp_path, np.random.default_rng(0), protocol=protocol)
    parts = data.cifar10(tmp_path, validation=0.25, seed=0)
    assert parts.X_train.shape == (15, 3, 32, 32) and parts.X_val.shape == (5, 3, 32, 32)
    first = batches["test_batch"][b"data"][0]
    np.testing.assert_array_equal(parts.X_test[0, 0], first[:1024].reshape(32, 32) / 255.0)  # red plane
    np.testing.assert_array_equal(parts.X_test[0, 2], first[2048:].reshape(32, 32) / 255.0)  # blue plane
    np.testing.assert_array_equal(parts.y_test, batches["test_batch"][b"labels"])
    assert parts.y_train.dtype == np.int64


class Trap:
    """Unpickling this calls open(path, "w"): a file appears if the loader runs what a file names."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_cifar10_refuses_pickles_that_name_other_code(tmp_path):
    write_cifar(tmp_path, np.random.default_rng(0))
    evidence = tmp_path / "code-ran"
    batch = pickle.loads((tmp_path / "data_batch_3").read_bytes())
    batch[b"labels"] = Trap(evidence)
    (tmp_path / "data_batch_3").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match="refused"):
        data.cifar10(tmp_path)
    assert not evidence.exists()


def test_cifar10_rejects_a_batch_without_data(tmp_path):
    write_cifar(tmp_path, np.random.default_rng(0))
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"labels": [1, 2]}))
    with pytest.raises(ValueError, match="not a CIFAR-10 batch"):
        data.cifar10(tmp_path)


def test_configured_path_reads_the_nearest_course_yml(tmp_path):
    (tmp_path / "course.yml").write_text(COURSE_YML.format(datasets="datasets: {mnist: data/mnist}"))
    inside = tmp_path / "release" / "08_cnn"
    inside.mkdir(parents=True)
    assert data.configured_path("mnist", inside) == tmp_path / "data" / "mnist"
    assert data.configured_path("cifar10", inside) is None
    assert load_course(tmp_path).datasets == {"mnist": "data/mnist"}


def test_course_images_are_digits_unless_mnist_is_configured(tmp_path):
    (tmp_path / "course.yml").write_text(COURSE_YML.format(datasets=""))
    assert data.course_images(start=tmp_path).X_train.shape[1:] == (1, 8, 8)
    write_mnist(tmp_path / "mnist", np.random.default_rng(0), n_train=30, n_test=8)
    (tmp_path / "course.yml").write_text(COURSE_YML.format(datasets="datasets: {mnist: mnist}"))
    parts = data.course_images(start=tmp_path, mnist_sizes=(20, 4, 6))
    assert (len(parts.X_train), len(parts.X_val), len(parts.X_test)) == (20, 4, 6)
    assert parts.X_train.shape[1:] == (1, 28, 28)


def test_course_yml_datasets_must_be_paths(tmp_path):
    (tmp_path / "course.yml").write_text(COURSE_YML.format(datasets="datasets: {mnist: [a, b]}"))
    with pytest.raises(ConfigError, match="datasets"):
        load_course(tmp_path)
