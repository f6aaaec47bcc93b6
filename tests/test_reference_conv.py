"""The reference convolution and pooling of assignment 08 (NumPy and PyTorch), checked by
central differences in float64 and against torch.nn.functional and torch.autograd."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from autograder.student import data, heldout
from autograder.student.gradcheck import numerical_vjp, rel_error
from reference import conv, modules, networks, torch_cnn

TOL = 1e-7
CONV_CASES = [  # x shape, w shape, stride, padding
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1),
    ((2, 2, 9, 9), (3, 2, 3, 3), 2, 1),
    ((1, 1, 5, 5), (2, 1, 5, 5), 1, 0),
    ((2, 3, 8, 7), (2, 3, 2, 2), 3, 2),
    ((3, 2, 6, 8), (2, 2, 1, 3), 2, 0),
]
CONVOLUTIONS = [(conv.conv_forward_naive, conv.conv_backward_naive), (conv.conv_forward, conv.conv_backward)]
POOLS = [(conv.max_pool_forward, conv.max_pool_backward, F.max_pool2d),
         (conv.avg_pool_forward, conv.avg_pool_backward, F.avg_pool2d)]
POOL_CASES = [((2, 3, 8, 8), 2, None), ((2, 2, 7, 9), 3, 1), ((1, 2, 9, 8), 3, 2), ((2, 1, 5, 5), 2, 3)]


@pytest.fixture
def rng():
    return np.random.default_rng(8)


def conv_inputs(rng, x_shape, w_shape):
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    return x, w, b


def autograd(f, *arrays, dout):
    """(f's output, the gradients of sum(f(...) * dout) for each array), in float64."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = f(*tensors)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("size, kernel, stride, padding", [
    (8, 3, 1, 1), (7, 3, 2, 0), (32, 5, 3, 2), (5, 5, 1, 0), (4, 1, 4, 0), (6, 7, 1, 1)])
def test_output_size_matches_torch(size, kernel, stride, padding):
    expected = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel),
                        stride=stride, padding=padding).shape[-1]
    assert conv.conv_output_size(size, kernel, stride, padding) == expected


@pytest.mark.parametrize("size, kernel, stride, padding, complaint", [
    (4, 5, 1, 0, "does not fit"), (3, 8, 1, 2, "does not fit"), (8, 3, 0, 1, "stride"),
    (8, 0, 1, 0, "kernel_size"), (8, 3, 1, -1, "padding")])
def test_output_size_rejects_impossible_configurations(size, kernel, stride, padding, complaint):
    with pytest.raises(ValueError, match=complaint):
        conv.conv_output_size(size, kernel, stride, padding)


@pytest.mark.parametrize("forward, backward", CONVOLUTIONS)
@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES)
def test_convolution_matches_torch_conv2d_and_autograd(rng, forward, backward, x_shape, w_shape, stride, padding):
    x, w, b = conv_inputs(rng, x_shape, w_shape)
    out, cache = forward(x, w, b, stride, padding)
    dout = rng.normal(size=out.shape)
    expected, grads = autograd(lambda *t: F.conv2d(*t, stride=stride, padding=padding), x, w, b, dout=dout)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    for got, want in zip(backward(dout, cache), grads):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("forward, backward", CONVOLUTIONS)
def test_convolution_backward_by_central_differences(rng, forward, backward):
    x, w, b = conv_inputs(rng, (2, 2, 5, 6), (3, 2, 3, 3))
    out, cache = forward(x, w, b, 2, 1)
    dout = rng.normal(size=out.shape)
    dx, dw, db = backward(dout, cache)
    assert rel_error(dx, numerical_vjp(lambda v: forward(v, w, b, 2, 1)[0], x, dout)) < TOL
    assert rel_error(dw, numerical_vjp(lambda v: forward(x, v, b, 2, 1)[0], w, dout)) < TOL
    assert rel_error(db, numerical_vjp(lambda v: forward(x, w, v, 2, 1)[0], b, dout)) < TOL


def test_convolution_is_cross_correlation_not_flipped(rng):
    """A kernel with one nonzero entry at the top left reads the pixel up and to the left."""
    x = rng.normal(size=(1, 1, 5, 5))
    w = np.zeros((1, 1, 3, 3))
    w[0, 0, 0, 0] = 1.0
    out, _ = conv.conv_forward(x, w, np.zeros(1), padding=1)
    np.testing.assert_array_equal(out[0, 0, 1:, 1:], x[0, 0, :-1, :-1])


def test_convolutions_reject_impossible_shapes(rng):
    x, w, b = conv_inputs(rng, (1, 1, 3, 3), (1, 1, 5, 5))
    for forward, _ in CONVOLUTIONS:
        with pytest.raises(ValueError, match="does not fit"):
            forward(x, w, b)


def test_windows_and_fold_are_adjoint(rng):
    """<sliding_windows(x), g> = <x, fold_windows(g)>: fold is the backward of the view."""
    x = rng.normal(size=(2, 3, 7, 8))
    windows = conv.sliding_windows(x, 3, 2, stride=2)
    assert windows.shape == (2, 3, 3, 4, 3, 2)
    np.testing.assert_array_equal(windows[1, 2, 1, 3], x[1, 2, 2:5, 6:8])
    g = rng.normal(size=windows.shape)
    assert np.isclose(np.sum(windows * g), np.sum(x * conv.fold_windows(g, x.shape, stride=2)))


@pytest.mark.parametrize("forward, backward, torch_pool", POOLS)
@pytest.mark.parametrize("x_shape, kernel, stride", POOL_CASES)
def test_pooling_matches_torch_and_autograd(rng, forward, backward, torch_pool, x_shape, kernel, stride):
    x = rng.normal(size=x_shape)
    out, cache = forward(x, kernel, stride)
    dout = rng.normal(size=out.shape)
    expected, (dx,) = autograd(lambda t: torch_pool(t, kernel, stride), x, dout=dout)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(backward(dout, cache), dx, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("forward, backward, torch_pool", POOLS)
def test_pooling_backward_by_central_differences(rng, forward, backward, torch_pool):
    x = rng.normal(size=(2, 2, 7, 7))
    out, cache = forward(x, 3, 2)
    dout = rng.normal(size=out.shape)
    assert rel_error(backward(dout, cache), numerical_vjp(lambda v: forward(v, 3, 2)[0], x, dout)) < TOL


def test_max_pool_gradient_goes_to_the_first_maximum_on_ties():
    x = np.zeros((1, 1, 2, 2))
    _, cache = conv.max_pool_forward(x, 2)
    dx = conv.max_pool_backward(np.ones((1, 1, 1, 1)), cache)
    expected, (torch_dx,) = autograd(lambda t: F.max_pool2d(t, 2), x, dout=np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dx, torch_dx)
    assert dx.sum() == 1.0


def test_conv1x1_is_channel_mixing(rng):
    x, w, b = rng.normal(size=(2, 4, 3, 5)), rng.normal(size=(3, 4)), rng.normal(size=3)
    out, cache = conv.conv1x1_forward(x, w, b)
    dout = rng.normal(size=out.shape)
    expected, grads = autograd(lambda x, w, b: F.conv2d(x, w[:, :, None, None], b), x, w, b, dout=dout)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(out, conv.conv_forward(x, w[:, :, None, None], b)[0], rtol=1e-12)
    for got, want in zip(conv.conv1x1_backward(dout, cache), grads):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    dx, dw, db = conv.conv1x1_backward(dout, cache)
    assert rel_error(dw, numerical_vjp(lambda v: conv.conv1x1_forward(x, v, b)[0], w, dout)) < TOL
    assert rel_error(dx, numerical_vjp(lambda v: conv.conv1x1_forward(v, w, b)[0], x, dout)) < TOL


@pytest.mark.parametrize("layer, torch_layer", [
    (lambda: modules.MaxPool2d(3, 2), lambda: torch.nn.MaxPool2d(3, 2)),
    (lambda: modules.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2)),
    (lambda: modules.Flatten(), lambda: torch.nn.Flatten()),
])
def test_parameter_free_layer_objects_match_torch(rng, layer, torch_layer):
    x = rng.normal(size=(2, 3, 7, 7))
    ours = layer()
    out = ours.forward(x)
    dout = rng.normal(size=out.shape)
    expected, (dx,) = autograd(torch_layer(), x, dout=dout)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(ours.backward(dout), dx, rtol=1e-12)
    assert ours.params == {} and ours.grads == {}


def test_conv2d_layer_object_matches_torch(rng):
    layer = modules.Conv2d(3, 4, 3, stride=2, padding=1, weight_scale=0.5, seed=2)
    assert layer.params["w"].shape == (4, 3, 3, 3) and np.all(layer.params["b"] == 0)
    x = rng.normal(size=(2, 3, 7, 6))
    out = layer.forward(x)
    dout = rng.normal(size=out.shape)
    expected, grads = autograd(lambda *t: F.conv2d(*t, stride=2, padding=1), x, layer.params["w"],
                               layer.params["b"], dout=dout)
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    np.testing.assert_allclose(layer.backward(dout), grads[0], rtol=1e-10)
    np.testing.assert_allclose(layer.grads["w"], grads[1], rtol=1e-10)
    np.testing.assert_allclose(layer.grads["b"], grads[2], rtol=1e-10)


def small_cnn(channels=3, size=6, reg=0.0):
    return modules.Sequential(
        modules.Conv2d(1, channels, 3, padding=1, weight_scale=0.5, seed=1), modules.ReLU(),
        modules.MaxPool2d(2), modules.Flatten(),
        modules.Affine(channels * (size // 2) ** 2, 4, weight_scale=0.5, seed=2), reg=reg)


def test_sequential_cnn_gradients_by_central_differences(rng):
    X, y = rng.normal(size=(5, 1, 6, 6)), rng.integers(0, 4, size=5)
    model = small_cnn(reg=0.1)
    _, grads = model.loss(X, y)
    for name, value in model.params.items():
        def loss_of(v, name=name):
            saved = model.params[name].copy()
            model.params[name][...] = v
            result = model.loss(X, y)[0]
            model.params[name][...] = saved
            return result
        numeric = numerical_vjp(loss_of, value.copy(), np.ones(()))
        assert rel_error(grads[name], numeric) < 1e-6, name


def test_sequential_cnn_matches_torch_autograd(rng):
    X, y = rng.normal(size=(5, 1, 6, 6)), rng.integers(0, 4, size=5)
    model = small_cnn()
    loss, grads = model.loss(X, y)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    h = F.max_pool2d(F.relu(F.conv2d(torch.tensor(X), p["0.w"], p["0.b"], padding=1)), 2)
    torch_loss = F.cross_entropy(h.flatten(1) @ p["4.w"] + p["4.b"], torch.tensor(y))
    torch_loss.backward()
    assert np.isclose(loss, torch_loss.item())
    for name, tensor in p.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_numpy_cnn_learns_a_held_out_view_of_the_digits():
    """The graded NumPy CNN with the notebook's settings on one held-out view, well above chance."""
    parts = heldout.relabeled(heldout.shifted_images(data.digits(images=True), np.random.default_rng(5)),
                              np.random.default_rng(6))
    he = lambda fan_in: np.sqrt(2.0 / fan_in)  # noqa: E731
    model = modules.Sequential(
        modules.Conv2d(1, 16, 3, padding=1, weight_scale=he(9), seed=0), modules.ReLU(),
        modules.MaxPool2d(2), modules.Flatten(),
        modules.Affine(256, 64, weight_scale=he(256), seed=1), modules.ReLU(),
        modules.Affine(64, 10, weight_scale=he(64), seed=2), reg=1e-4)
    networks.train(model, parts.X_train, parts.y_train, lr=0.2, epochs=30, batch_size=50, seed=0)
    assert np.mean(model.predict(parts.X_test) == parts.y_test) > 0.88


# -- PyTorch


def test_conv2d_parameter_count_matches_torch():
    for args in [(3, 16, 3), (16, 8, 1), (1, 4, 5)]:
        for bias in (True, False):
            layer = torch.nn.Conv2d(*args, bias=bias)
            assert torch_cnn.conv2d_parameter_count(*args, bias=bias) == torch_cnn.parameter_count(layer)


def test_inception_block_concatenates_its_branches_on_channels():
    torch.manual_seed(0)
    block = torch_cnn.InceptionBlock(6, 4, 3, 5, 2, 3, 2, dtype=torch.float64)
    x = torch.randn(2, 6, 7, 7, dtype=torch.float64)
    out = block(x)
    assert out.shape == (2, 4 + 5 + 3 + 2, 7, 7)
    branches = [block.branch1(x), block.branch2(x), block.branch3(x), block.branch4(x)]
    torch.testing.assert_close(out, torch.relu(torch.cat(branches, dim=1)))
    pool = F.max_pool2d(x, 3, stride=1, padding=1)
    torch.testing.assert_close(out[:, -2:], torch.relu(F.conv2d(pool, block.branch4[1].weight, block.branch4[1].bias)))
    count = torch_cnn.conv2d_parameter_count
    expected = (count(6, 4, 1) + count(6, 3, 1) + count(3, 5, 3) + count(6, 2, 1) + count(2, 3, 5)
                + count(6, 2, 1))
    assert torch_cnn.parameter_count(block) == expected


@pytest.mark.parametrize("in_channels, out_channels, stride, projection", [
    (4, 4, 1, False), (4, 6, 1, True), (4, 4, 2, True)])
def test_residual_block_adds_its_shortcut_before_the_activation(in_channels, out_channels, stride, projection):
    torch.manual_seed(0)
    block = torch_cnn.ResidualBlock(in_channels, out_channels, stride=stride, dtype=torch.float64)
    x = torch.randn(2, in_channels, 6, 6, dtype=torch.float64)
    main = F.conv2d(F.relu(F.conv2d(x, block.conv1.weight, block.conv1.bias, stride=stride, padding=1)),
                    block.conv2.weight, block.conv2.bias, padding=1)
    shortcut = F.conv2d(x, block.shortcut.weight, block.shortcut.bias, stride=stride) if projection else x
    torch.testing.assert_close(block(x), F.relu(main + shortcut))
    assert isinstance(block.shortcut, torch.nn.Conv2d if projection else torch.nn.Identity)
    plain = torch_cnn.ResidualBlock(in_channels, out_channels, stride=stride, residual=False)
    assert plain.shortcut is None


def test_small_vgg_has_the_stated_layers():
    model = torch_cnn.SmallVGG(in_channels=3, num_classes=5, image_size=12)
    assert model(torch.randn(2, 3, 12, 12)).shape == (2, 5)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias",
                     "features.5.weight", "features.5.bias", "classifier.1.weight", "classifier.1.bias",
                     "classifier.3.weight", "classifier.3.bias"]
    count = torch_cnn.conv2d_parameter_count
    assert torch_cnn.parameter_count(model) == (count(3, 16, 3) + count(16, 16, 3) + count(16, 32, 3)
                                                + 32 * 9 * 64 + 64 + 64 * 5 + 5)


def test_deep_plain_and_residual_networks_have_the_same_parameters():
    plain, residual = (torch_cnn.DeepConvNet(4, 6, residual=r, image_size=8) for r in (False, True))
    assert [(n, p.shape) for n, p in plain.named_parameters()] == [(n, p.shape) for n, p in residual.named_parameters()]
    assert residual(torch.randn(3, 1, 8, 8)).shape == (3, 10)


def test_gradient_norms_match_autograd_and_leave_the_model_alone(rng):
    torch.manual_seed(0)
    model = torch_cnn.DeepConvNet(2, 4, image_size=6, dtype=torch.float64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = rng.normal(size=(5, 1, 6, 6)), rng.integers(0, 10, size=5)
    norms = torch_cnn.gradient_norms(model, X, y)
    F.cross_entropy(model(torch.tensor(X)), torch.tensor(y)).backward()
    assert list(norms) == [name for name, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        assert np.isclose(norms[name], p.grad.norm().item(), rtol=1e-12)
        torch.testing.assert_close(p.detach(), before[name])


def test_residual_connections_keep_the_first_layer_gradient():
    X, y, *_ = data.digits(images=True)
    norms = {}
    for residual in (False, True):
        torch.manual_seed(0)
        model = torch_cnn.DeepConvNet(6, 8, residual=residual, image_size=8)
        norms[residual] = torch_cnn.gradient_norms(model, X[:256], y[:256])["stem.weight"]
    assert norms[True] / norms[False] > 1e4


def test_fit_returns_a_loss_per_step_and_repeats_itself():
    X, y, *_ = data.digits(images=True)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        runs.append(torch_cnn.fit(model, X[:200], y[:200], epochs=3, lr=0.1, batch_size=64, seed=2))
    assert len(runs[0]) == 3 * 4 and runs[0] == runs[1]
    assert np.mean(runs[0][-4:]) < 0.8 * np.mean(runs[0][:4])
