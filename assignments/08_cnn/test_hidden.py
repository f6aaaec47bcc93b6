"""Hidden tests for assignment 08: never released. Expected values come from the reference.

The threshold tests train the student's code on a secret view of the course's images
(scikit-learn's digits, or MNIST where course.yml names it): turned or mirrored, shifted by
up to a pixel, noisy, classes renamed. They read the trained parameters back and compute the
test predictions with the reference networks, so that only what the training learned counts.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.grading.proxy import fetch
from autograder.student import data, heldout
from autograder.student.checks import (accuracy, assert_at_least, assert_close, assert_raises, assert_shape,
                                       with_params)
from autograder.student.torchcheck import with_state_of
from reference import conv as ref
from reference import modules, torch_cnn
from reference import torch_networks

COURSE_ROOT = Path(__file__).resolve().parents[2]
F64 = torch.float64


def held_out_images(secret):
    """The course's images as a secret view: the same turn or mirror for every image, shifts
    of up to one pixel, a little noise, and the classes renamed."""
    images = data.course_images(start=COURSE_ROOT)
    return heldout.relabeled(heldout.shifted_images(images, secret), secret)


def twin(student, name, *args, **kwargs):
    """(student module, reference module) of class ``name`` with the reference's float64 weights."""
    torch.manual_seed(3)
    reference = getattr(torch_cnn, name)(*args, dtype=F64, **kwargs)
    model = getattr(student, name)(*args, dtype=F64, **kwargs)
    model.load_state_dict(dict(reference.state_dict()))
    return model, reference


def numpy_cnn(namespace, channels, size):
    """The notebook's NumPy CNN, built from ``namespace``'s layer objects."""
    flat = 16 * (size // 2) ** 2
    he = lambda fan_in: float(np.sqrt(2.0 / fan_in))  # noqa: E731
    return namespace.Sequential(
        namespace.Conv2d(channels, 16, 3, padding=1, weight_scale=he(9 * channels), seed=0), namespace.ReLU(),
        namespace.MaxPool2d(2), namespace.Flatten(),
        namespace.Affine(flat, 64, weight_scale=he(flat), seed=1), namespace.ReLU(),
        namespace.Affine(64, 10, weight_scale=he(64), seed=2), reg=1e-4)


# -- NumPy: convolution and pooling


@pytest.mark.points(1)
def test_output_size_matches_reference(student):
    for args in [(28, 5, 1, 0), (10, 4, 3, 1), (1, 1, 1, 0), (6, 6, 2, 0), (13, 3, 5, 2), (3, 4, 1, 1)]:
        assert_close(student.conv_output_size(*args), ref.conv_output_size(*args), f"conv_output_size{args}")
    for args in [(2, 5, 1, 1), (8, 3, -1, 0), (8, 0, 1, 1)]:
        assert_raises(lambda: student.conv_output_size(*args), "ValueError", f"conv_output_size{args}")


def compare_convolution(student, rng, forward, backward, cases):
    """The student's ``forward``/``backward`` pair against the reference's on each case."""
    for x_shape, w_shape, stride, padding in cases:
        x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
        out, cache = getattr(student, forward)(x, w, b, stride, padding)
        expected, expected_cache = getattr(ref, forward)(x, w, b, stride, padding)
        what = f"{forward} for x {x_shape}, w {w_shape}, stride {stride}, padding {padding}"
        assert_close(out, expected, what)
        dout = rng.normal(size=expected.shape)
        for name, got, want in zip(("dx", "dw", "db"), getattr(student, backward)(dout, cache),
                                   getattr(ref, backward)(dout, expected_cache)):
            assert_close(got, want, f"{name} from {backward} after {what}")


@pytest.mark.points(2)
def test_naive_convolution_matches_reference_on_other_shapes(student, rng):
    compare_convolution(student, rng, "conv_forward_naive", "conv_backward_naive",
                        [((1, 2, 6, 9), (3, 2, 2, 4), 3, 2), ((3, 1, 5, 5), (2, 1, 1, 1), 1, 0)])


@pytest.mark.points(3)
def test_vectorized_convolution_matches_reference_on_other_shapes(student, rng):
    compare_convolution(student, rng, "conv_forward", "conv_backward",
                        [((1, 2, 6, 9), (3, 2, 2, 4), 3, 2), ((4, 3, 10, 7), (5, 3, 3, 3), 2, 0),
                         ((2, 4, 5, 5), (2, 4, 5, 5), 1, 2)])


@pytest.mark.points(1)
def test_convolutions_raise_when_the_kernel_does_not_fit(student, rng):
    x, w, b = rng.normal(size=(2, 1, 6, 2)), rng.normal(size=(1, 1, 3, 3)), rng.normal(size=1)
    for name in ("conv_forward_naive", "conv_forward"):
        assert_raises(lambda: getattr(student, name)(x, w, b, 2, 0), "ValueError",
                      f"{name} with a 3x3 kernel on 6x2 images")


@pytest.mark.points(1)
def test_windows_match_reference(student, rng):
    x = rng.normal(size=(2, 2, 9, 6))
    assert_close(student.sliding_windows(x, 2, 3, 3), ref.sliding_windows(x, 2, 3, 3), "sliding_windows(x, 2, 3, 3)")
    g = rng.normal(size=(2, 2, 3, 2, 2, 3))
    assert_close(student.fold_windows(g, x.shape, 3), ref.fold_windows(g, x.shape, 3), "fold_windows(g, x.shape, 3)")


@pytest.mark.points(2)
def test_pooling_matches_reference_on_other_shapes(student, rng):
    for x_shape, kernel, stride in [((1, 2, 9, 6), 3, 1), ((2, 3, 8, 11), 2, 3), ((3, 1, 6, 6), 4, 2)]:
        x = rng.normal(size=x_shape)
        for kind in ("max", "avg"):
            forward, backward = f"{kind}_pool_forward", f"{kind}_pool_backward"
            out, cache = getattr(student, forward)(x, kernel, stride)
            expected, expected_cache = getattr(ref, forward)(x, kernel, stride)
            what = f"{forward}(x, {kernel}, {stride}) for x {x_shape}"
            assert_close(out, expected, what)
            dout = rng.normal(size=expected.shape)
            assert_close(getattr(student, backward)(dout, cache), getattr(ref, backward)(dout, expected_cache),
                         f"{backward} after {what}")


@pytest.mark.points(1)
def test_conv1x1_matches_reference(student, rng):
    x, w, b = rng.normal(size=(3, 2, 5, 6)), rng.normal(size=(4, 2)), rng.normal(size=4)
    out, cache = student.conv1x1_forward(x, w, b)
    expected, expected_cache = ref.conv1x1_forward(x, w, b)
    assert_close(out, expected, "conv1x1_forward(x, w, b) for x (3, 2, 5, 6), w (4, 2)")
    dout = rng.normal(size=expected.shape)
    for name, got, want in zip(("dx", "dw", "db"), student.conv1x1_backward(dout, cache),
                               ref.conv1x1_backward(dout, expected_cache)):
        assert_close(got, want, f"{name} from conv1x1_backward")


# -- NumPy: layer objects and the CNN


@pytest.mark.points(2)
def test_layer_objects_match_reference(student, rng):
    layer = student.Conv2d(2, 3, 3, stride=2, padding=1, weight_scale=0.2, seed=7)
    expected = modules.Conv2d(2, 3, 3, stride=2, padding=1, weight_scale=0.2, seed=7)
    params = fetch(layer.params)
    for name, value in expected.params.items():
        assert_close(params.get(name), value, f"Conv2d(2, 3, 3, weight_scale=0.2, seed=7).params['{name}']")
    x = rng.normal(size=(2, 2, 7, 5))
    for ours, theirs, what in [(layer, expected, "Conv2d(2, 3, 3, stride=2, padding=1)"),
                               (student.MaxPool2d(3, 2), modules.MaxPool2d(3, 2), "MaxPool2d(3, 2)"),
                               (student.AvgPool2d(2, 1), modules.AvgPool2d(2, 1), "AvgPool2d(2, 1)"),
                               (student.Flatten(), modules.Flatten(), "Flatten()")]:
        out = theirs.forward(x)
        assert_close(ours.forward(x), out, f"{what}.forward(x)")
        dout = rng.normal(size=out.shape)
        assert_close(ours.backward(dout), theirs.backward(dout), f"{what}.backward(dout)")
    grads = fetch(layer.grads)
    for name, value in expected.grads.items():
        assert_close(grads.get(name), value, f"Conv2d.grads['{name}'] after backward")


@pytest.mark.points(2)
def test_sequential_cnn_matches_reference(student, rng):
    X, y = rng.normal(size=(6, 2, 6, 6)), rng.integers(0, 3, size=6)

    def cnn(namespace):
        return namespace.Sequential(namespace.Conv2d(2, 3, 3, stride=1, padding=1, weight_scale=0.5, seed=1),
                                    namespace.ReLU(), namespace.AvgPool2d(2), namespace.Flatten(),
                                    namespace.Affine(27, 3, weight_scale=0.5, seed=2), reg=0.3)

    model, expected = cnn(student), cnn(modules)
    with_params(expected, fetch(model.params))
    loss, grads = model.loss(X, y)
    expected_loss, expected_grads = expected.loss(X, y)
    assert_close(loss, expected_loss, "the loss of Sequential(Conv2d, ReLU, AvgPool2d, Flatten, Affine, reg=0.3)")
    for name, want in expected_grads.items():
        assert_close(grads.get(name), want, f"grads['{name}'] of that Sequential (the L2 penalty applies to '0.w')")


@pytest.mark.points(4)
@pytest.mark.time_limit(120)
def test_numpy_cnn_reaches_the_accuracy_threshold_on_held_out_images(student, secret, thresholds):
    """The notebook's NumPy CNN, trained by your train on held-out images, predicted by the grader."""
    parts = held_out_images(secret)
    channels, size = parts.X_train.shape[1], parts.X_train.shape[-1]
    model = numpy_cnn(student, channels, size)
    student.train(model, parts.X_train, parts.y_train, lr=0.2, epochs=30, batch_size=50, seed=0)
    trained = with_params(numpy_cnn(modules, channels, size), fetch(model.params))
    held_out = accuracy(trained.predict(parts.X_test), parts.y_test, "the trained CNN's predictions")
    assert_at_least(held_out, thresholds["numpy_cnn_accuracy"], "the NumPy CNN's test accuracy on held-out images")


# -- PyTorch


@pytest.mark.points(1)
def test_parameter_counts_match_reference(student):
    for args in [(7, 2, 4, False), (1, 1, 1, True), (32, 64, 3, True)]:
        assert_close(student.conv2d_parameter_count(*args), torch_cnn.conv2d_parameter_count(*args),
                     f"conv2d_parameter_count{args}")
    model, reference = twin(student, "SmallVGG", 2, 4, 12, (3, 5), 6)
    model.classifier.requires_grad_(False)
    reference.classifier.requires_grad_(False)
    assert_close(student.parameter_count(model), torch_cnn.parameter_count(reference),
                 "parameter_count of a SmallVGG whose classifier is frozen")


@pytest.mark.points(2)
def test_inception_block_matches_reference(student, rng):
    model, reference = twin(student, "InceptionBlock", 3, 2, 4, 3, 3, 1, 5)
    x = torch.from_numpy(rng.normal(size=(2, 3, 6, 5)))
    assert_close(model(x), reference(x).detach(), "InceptionBlock(3, 2, 4, 3, 3, 1, 5)(x) for x (2, 3, 6, 5)")


@pytest.mark.points(2)
@pytest.mark.parametrize("in_channels, out_channels, stride, residual", [
    (5, 5, 1, True), (3, 5, 1, True), (4, 4, 2, True), (4, 6, 2, False)])
def test_residual_block_matches_reference(student, rng, in_channels, out_channels, stride, residual):
    model, reference = twin(student, "ResidualBlock", in_channels, out_channels, stride=stride, residual=residual)
    x = torch.from_numpy(rng.normal(size=(2, in_channels, 7, 7)))
    out, grad = student.torch.autograd.functional.vjp(model, x, torch.ones(reference(x).shape, dtype=F64))
    expected, expected_grad = torch.autograd.functional.vjp(reference, x, torch.ones(reference(x).shape, dtype=F64))
    what = f"ResidualBlock({in_channels}, {out_channels}, stride={stride}, residual={residual})"
    assert_close(out, expected, f"{what}(x)")
    assert_close(grad, expected_grad, f"the input gradient of {what}")


@pytest.mark.points(1)
def test_small_vgg_matches_reference(student, rng):
    model, reference = twin(student, "SmallVGG", 2, 4, 12, (3, 5), 6)
    x = torch.from_numpy(rng.normal(size=(3, 2, 12, 12)))
    assert_close(model(x), reference(x).detach(), "SmallVGG(2, 4, 12, (3, 5), 6)(x)")


@pytest.mark.points(1)
def test_deep_network_matches_reference(student, rng):
    x = torch.from_numpy(rng.normal(size=(3, 2, 5, 5)))
    for residual in (False, True):
        model, reference = twin(student, "DeepConvNet", 3, 4, residual=residual, in_channels=2, num_classes=3,
                                image_size=5)
        assert_close(model(x), reference(x).detach(), f"DeepConvNet(3, 4, residual={residual}, in_channels=2, image_size=5)(x)")


@pytest.mark.points(1)
def test_gradient_norms_match_reference(student, rng):
    model, reference = twin(student, "SmallVGG", 1, 3, 8, (2, 3), 5)
    X, y = rng.normal(size=(7, 1, 8, 8)), rng.integers(0, 3, size=7)
    norms = student.gradient_norms(model, X, y)
    expected = torch_cnn.gradient_norms(reference, X, y)
    if not isinstance(norms, dict) or list(norms) != list(expected):
        raise AssertionError(f"gradient_norms returned {type(norms).__name__}; expected a dict with the keys "
                             f"{list(expected)}, in this order")
    assert_close(list(norms.values()), list(expected.values()), "gradient_norms(SmallVGG(...), X, y)")


@pytest.mark.points(2)
def test_fit_follows_reference_step_by_step(student, rng):
    """Shuffled float64 training of a linear classifier: every loss and the final weights."""
    X, y = rng.normal(size=(70, 2, 3, 3)), rng.integers(0, 4, size=70)
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(18, 4, dtype=F64))
    model = student.nn.Sequential(student.nn.Flatten(), student.nn.Linear(18, 4, dtype=F64))
    model.load_state_dict(dict(reference.state_dict()))
    losses = student.fit(model, X, y, epochs=3, lr=0.1, momentum=0.5, batch_size=32, seed=4)
    torch.manual_seed(0)
    expected = torch_cnn.fit(reference, X, y, epochs=3, lr=0.1, momentum=0.5, batch_size=32, seed=4)
    assert_shape(losses, (9,), "the losses of 3 epochs of 70 images in batches of 32")
    assert_close(losses, expected, "fit(...)'s losses (batches drawn with shuffle=True from the seeded generator)")
    state = model.state_dict()
    for name, value in reference.state_dict().items():
        assert_close(state.get(name), value, f"{name} after fit")


@pytest.mark.points(4)
@pytest.mark.time_limit(120)
def test_small_vgg_beats_the_mlp_on_held_out_images(student, secret, thresholds, device):
    """SmallVGG trained by your fit reaches the accuracy threshold and beats 07's MLP by the margin."""
    parts = held_out_images(secret)
    channels, size = parts.X_train.shape[1], parts.X_train.shape[-1]
    model = student.SmallVGG(in_channels=channels, image_size=size)
    student.fit(model, parts.X_train, parts.y_train, epochs=30, lr=0.05, seed=0, device=device)
    cnn = with_state_of(torch_cnn.SmallVGG(in_channels=channels, image_size=size), model.state_dict())
    cnn_accuracy = accuracy(torch_networks.predict(cnn, parts.X_test).numpy(), parts.y_test, "the CNN's predictions")
    flat = lambda X: X.reshape(len(X), -1)  # noqa: E731
    torch.manual_seed(0)
    mlp = torch_networks.TwoLayerMLP(channels * size * size, 100, 10)
    torch_networks.train(mlp, torch_networks.make_loader(flat(parts.X_train), parts.y_train))
    mlp_accuracy = accuracy(torch_networks.predict(mlp, flat(parts.X_test)).numpy(), parts.y_test)
    assert_at_least(cnn_accuracy, thresholds["cnn_accuracy"], "the small VGG's test accuracy on held-out images")
    assert_at_least(cnn_accuracy - mlp_accuracy, thresholds["cnn_gain_over_mlp"],
                    f"the small VGG's test accuracy ({cnn_accuracy:.3f}) minus the MLP's ({mlp_accuracy:.3f})")


@pytest.mark.points(3)
def test_residual_network_keeps_the_first_layer_gradient(student, secret, thresholds):
    """At initialization the residual network's first-layer gradient is orders larger than the plain one's."""
    parts = held_out_images(secret)
    channels, size = parts.X_train.shape[1], parts.X_train.shape[-1]
    X, y = parts.X_train[:256], parts.y_train[:256]
    stem = {}
    for residual in (False, True):
        arguments = dict(residual=residual, in_channels=channels, image_size=size)
        model = student.DeepConvNet(6, 8, **arguments)
        norms = student.gradient_norms(model, X, y)
        expected = torch_cnn.gradient_norms(with_state_of(torch_cnn.DeepConvNet(6, 8, **arguments), model.state_dict()), X, y)
        what = f"gradient_norms(DeepConvNet(6, 8, residual={residual}), X, y)['stem.weight']"
        assert_close(norms.get("stem.weight") if isinstance(norms, dict) else norms, expected["stem.weight"], what,
                     rtol=1e-3)
        stem[residual] = expected["stem.weight"]
    assert_at_least(stem[True] / stem[False], thresholds["residual_gradient_ratio"],
                    "the first layer's gradient norm, residual over plain")


@pytest.mark.points(4)
@pytest.mark.time_limit(120)
def test_residual_network_trains_better_than_the_plain_one(student, secret, thresholds, device):
    """DeepConvNet(6, 8) trained by your fit: the residual one beats the plain one by the margin."""
    parts = held_out_images(secret)
    channels, size = parts.X_train.shape[1], parts.X_train.shape[-1]
    held_out = {}
    for residual in (False, True):
        arguments = dict(residual=residual, in_channels=channels, image_size=size)
        model = student.DeepConvNet(6, 8, **arguments)
        student.fit(model, parts.X_train, parts.y_train, epochs=6, lr=0.05, seed=0, device=device)
        trained = with_state_of(torch_cnn.DeepConvNet(6, 8, **arguments), model.state_dict())
        held_out[residual] = accuracy(torch_networks.predict(trained, parts.X_test).numpy(), parts.y_test)
    assert_at_least(held_out[True] - held_out[False], thresholds["residual_accuracy_gain"],
                    f"the residual network's test accuracy ({held_out[True]:.3f}) minus the plain one's "
                    f"({held_out[False]:.3f})")
