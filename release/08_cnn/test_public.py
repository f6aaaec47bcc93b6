"""Public tests for assignment 08: students have this file and can run it with `course check`.

Expected values come from PyTorch (torch.nn.functional, autograd and its built-in layers),
central differences and exact properties; the hidden tests compare against the reference
solution on other inputs.
"""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from autograder.student import data
from autograder.student.checks import (accuracy, assert_at_least, assert_close, assert_gradient, assert_raises,
                                       assert_shape, assert_unchanged, checked_state_dict)
from autograder.grading.proxy import fetch


def torch_vjp(function, arrays, dout):
    """function applied to float64 tensors made from ``arrays``, and the gradients of
    sum(output * dout) with respect to each."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = function(*tensors)
    out.backward(torch.as_tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def check_convolution(student, forward, backward, rng, x_shape, w_shape, stride, padding):
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    out, cache = getattr(student, forward)(x, w, b, stride, padding)
    dout = rng.normal(size=np.shape(out))
    expected, grads = torch_vjp(lambda *t: F.conv2d(*t, stride=stride, padding=padding), (x, w, b), dout)
    call = f"{forward}(x, w, b, stride={stride}, padding={padding})"
    assert_close(out, expected, f"{call} for x {x_shape}, w {w_shape}")
    for name, got, want in zip(("dx", "dw", "db"), getattr(student, backward)(dout, cache), grads):
        assert_close(got, want, f"{name} from {backward} after {call}")


def state_of(model, shapes: dict, what: str = "state_dict()") -> dict:
    """The model's state_dict() as tensors, after checking its names and shapes."""
    return {name: torch.as_tensor(value) for name, value in checked_state_dict(model, shapes, what).items()}


@pytest.mark.points(1)
def test_output_size_matches_torch(student):
    for size, kernel, stride, padding in [(8, 3, 1, 1), (32, 5, 2, 2), (7, 3, 3, 0), (5, 5, 1, 0), (9, 2, 4, 1), (2, 3, 1, 1)]:
        expected = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel),
                            stride=stride, padding=padding).shape[-1]
        assert_close(student.conv_output_size(size, kernel, stride, padding), expected,
                     f"conv_output_size({size}, {kernel}, {stride}, {padding})")


@pytest.mark.points(1)
def test_output_size_raises_value_error_for_impossible_configurations(student):
    for args in [(4, 7, 1, 1), (8, 3, 0, 1), (8, 3, 1, -1), (6, 0, 2, 0)]:
        assert_raises(lambda: student.conv_output_size(*args), "ValueError", f"conv_output_size{args}")


@pytest.mark.points(1)
def test_convolutions_raise_value_error_when_the_kernel_does_not_fit(student, rng):
    x, w, b = rng.normal(size=(1, 2, 3, 5)), rng.normal(size=(2, 2, 4, 4)), rng.normal(size=2)
    for name in ("conv_forward_naive", "conv_forward"):
        assert_raises(lambda: getattr(student, name)(x, w, b, 1, 0), "ValueError",
                      f"{name} with a 4x4 kernel on 3x5 images")


@pytest.mark.points(2)
def test_naive_convolution_matches_torch(student, rng):
    check_convolution(student, "conv_forward_naive", "conv_backward_naive", rng, (2, 3, 7, 6), (4, 3, 3, 3), 2, 1)


@pytest.mark.points(2)
def test_naive_convolution_backward_by_central_differences(student, rng):
    x, w, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    out, cache = student.conv_forward_naive(x, w, b, 1, 1)
    dout = rng.normal(size=np.shape(out))
    dx, dw, db = student.conv_backward_naive(dout, cache)

    def loss(x, w, b):
        return np.sum(F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1).numpy() * dout)

    assert_gradient(dx, lambda v: loss(v, w, b), x, "dx from conv_backward_naive")
    assert_gradient(dw, lambda v: loss(x, v, b), w, "dw from conv_backward_naive")
    assert_gradient(db, lambda v: loss(x, w, v), b, "db from conv_backward_naive")


@pytest.mark.points(1)
def test_sliding_windows_and_fold_windows(student, rng):
    """sliding_windows is a view of every window; fold_windows is its backward."""
    x = rng.normal(size=(2, 3, 7, 8))
    windows = student.sliding_windows(x, 3, 2, 2)
    assert_shape(windows, (2, 3, 3, 4, 3, 2), "sliding_windows(x, 3, 2, 2) for x (2, 3, 7, 8)")
    assert_close(np.asarray(windows)[1, 2, 1, 3], x[1, 2, 2:5, 6:8], "sliding_windows(x, 3, 2, 2)[1, 2, 1, 3]")
    g = rng.normal(size=(2, 3, 3, 4, 3, 2))
    folded = student.fold_windows(g, x.shape, 2)
    assert_shape(folded, x.shape, "fold_windows(g, (2, 3, 7, 8), 2)")
    _, (expected,) = torch_vjp(lambda t: t.unfold(2, 3, 2).unfold(3, 2, 2), (x,), g)
    assert_close(folded, expected, "fold_windows(g, x.shape, 2), the backward of sliding_windows")


@pytest.mark.points(2)
def test_vectorized_convolution_matches_torch(student, rng):
    check_convolution(student, "conv_forward", "conv_backward", rng, (3, 2, 9, 8), (4, 2, 3, 2), 2, 1)


@pytest.mark.points(1)
def test_vectorized_convolution_with_stride_3_and_padding_2(student, rng):
    check_convolution(student, "conv_forward", "conv_backward", rng, (2, 3, 8, 7), (2, 3, 2, 2), 3, 2)


@pytest.mark.points(1)
@pytest.mark.time_limit(10)
def test_vectorized_convolution_is_fast(student, rng):
    """conv_forward and conv_backward on 64 images of 3x32x32 with 16 3x3 filters, in 10 s."""
    x, w, b = rng.normal(size=(64, 3, 32, 32)), rng.normal(size=(16, 3, 3, 3)), rng.normal(size=16)
    out, cache = student.conv_forward(x, w, b, 1, 1)
    assert_shape(out, (64, 16, 32, 32), "conv_forward(x, w, b, 1, 1)")
    dx, _, _ = student.conv_backward(np.ones((64, 16, 32, 32)), cache)
    assert_shape(dx, x.shape, "dx from conv_backward")


@pytest.mark.points(2)
@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 2), (3, 1)])
def test_max_pooling_matches_torch(student, rng, kernel, stride):
    """Max pooling and its backward, on values with ties (the first maximum wins, as in torch)."""
    x = rng.integers(0, 4, size=(2, 3, 7, 7)).astype(np.float64)
    out, cache = student.max_pool_forward(x, kernel, stride)
    dout = rng.normal(size=np.shape(out))
    expected, (dx,) = torch_vjp(lambda t: F.max_pool2d(t, kernel, stride), (x,), dout)
    assert_close(out, expected, f"max_pool_forward(x, {kernel}, {stride})")
    assert_close(student.max_pool_backward(dout, cache), dx, f"max_pool_backward after max_pool_forward(x, {kernel}, {stride})")


@pytest.mark.points(2)
@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 2), (3, 1)])
def test_average_pooling_matches_torch(student, rng, kernel, stride):
    x = rng.normal(size=(2, 3, 7, 7))
    out, cache = student.avg_pool_forward(x, kernel, stride)
    dout = rng.normal(size=np.shape(out))
    expected, (dx,) = torch_vjp(lambda t: F.avg_pool2d(t, kernel, stride), (x,), dout)
    assert_close(out, expected, f"avg_pool_forward(x, {kernel}, {stride})")
    assert_close(student.avg_pool_backward(dout, cache), dx, f"avg_pool_backward after avg_pool_forward(x, {kernel}, {stride})")


@pytest.mark.points(2)
def test_conv1x1_matches_torch(student, rng):
    x, w, b = rng.normal(size=(2, 5, 4, 3)), rng.normal(size=(3, 5)), rng.normal(size=3)
    out, cache = student.conv1x1_forward(x, w, b)
    dout = rng.normal(size=np.shape(out))
    expected, grads = torch_vjp(lambda x, w, b: F.conv2d(x, w[:, :, None, None], b), (x, w, b), dout)
    assert_close(out, expected, "conv1x1_forward(x, w, b)")
    for name, got, want in zip(("dx", "dw", "db"), student.conv1x1_backward(dout, cache), grads):
        assert_close(got, want, f"{name} from conv1x1_backward")


@pytest.mark.points(1)
def test_convolution_and_pooling_leave_their_arguments_unchanged(student, grader, rng):
    x, w, b = rng.normal(size=(2, 2, 6, 6)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    for forward, backward, args in [("conv_forward", "conv_backward", (w, b, 2, 1)),
                                    ("conv_forward_naive", "conv_backward_naive", (w, b, 2, 1)),
                                    ("max_pool_forward", "max_pool_backward", (3, 1)),
                                    ("avg_pool_forward", "avg_pool_backward", (3, 1))]:
        out, cache = getattr(student, forward)(x, *args)
        assert_unchanged(grader, forward)
        getattr(student, backward)(rng.normal(size=np.shape(out)), cache)
        assert_unchanged(grader, backward)


@pytest.mark.points(2)
def test_layer_objects_match_torch(student, rng):
    layer = student.Conv2d(3, 4, 3, stride=2, padding=1, weight_scale=0.5, seed=1)
    params = fetch(layer.params)
    assert_shape(params.get("w"), (4, 3, 3, 3), "Conv2d(3, 4, 3).params['w']")
    assert_close(params["w"], 0.5 * np.random.default_rng(1).standard_normal((4, 3, 3, 3)),
                 "Conv2d(3, 4, 3, weight_scale=0.5, seed=1).params['w'] "
                 "(0.5 times one standard_normal draw of np.random.default_rng(1))")
    assert_close(params.get("b"), np.zeros(4), "Conv2d(3, 4, 3).params['b']")
    x = rng.normal(size=(2, 3, 7, 6))
    out = layer.forward(x)
    dout = rng.normal(size=np.shape(out))
    expected, grads = torch_vjp(lambda *t: F.conv2d(*t, stride=2, padding=1), (x, params["w"], params["b"]), dout)
    assert_close(out, expected, "Conv2d(3, 4, 3, stride=2, padding=1).forward(x)")
    assert_close(layer.backward(dout), grads[0], "Conv2d.backward(dout)")
    assert_close(fetch(layer.grads).get("w"), grads[1], "Conv2d.grads['w'] after backward")
    for name, make, torch_layer in [("MaxPool2d(3, 2)", lambda: student.MaxPool2d(3, 2), lambda t: F.max_pool2d(t, 3, 2)),
                                    ("AvgPool2d(2)", lambda: student.AvgPool2d(2), lambda t: F.avg_pool2d(t, 2)),
                                    ("Flatten()", lambda: student.Flatten(), lambda t: t.flatten(1))]:
        pool = make()
        out = pool.forward(x)
        dout = rng.normal(size=np.shape(out))
        expected, (dx,) = torch_vjp(torch_layer, (x,), dout)
        assert_close(out, expected, f"{name}.forward(x)")
        assert_close(pool.backward(dout), dx, f"{name}.backward(dout)")


@pytest.mark.points(1)
def test_sequential_cnn_loss_and_gradients_match_torch(student, rng):
    """The pasted Sequential around the new layers: the mean cross-entropy plus
    0.5 * reg * sum(w^2) over every parameter named "w" (the kernel "0.w" included), and every
    gradient, compared with torch."""
    X, y = rng.normal(size=(5, 2, 6, 6)), rng.integers(0, 4, size=5)
    model = student.Sequential(student.Conv2d(2, 3, 3, padding=1, weight_scale=0.5, seed=1), student.ReLU(),
                               student.MaxPool2d(2), student.Flatten(),
                               student.Affine(27, 4, weight_scale=0.5, seed=2), reg=0.2)
    start = checked_state_dict(fetch(model.params), {"0.w": (3, 2, 3, 3), "0.b": (3,), "4.w": (27, 4), "4.b": (4,)},
                               "Sequential's params")
    params = {name: torch.tensor(value, requires_grad=True) for name, value in start.items()}
    hidden = F.max_pool2d(F.relu(F.conv2d(torch.tensor(X), params["0.w"], params["0.b"], padding=1)), 2)
    scores = hidden.flatten(1) @ params["4.w"] + params["4.b"]
    expected = F.cross_entropy(scores, torch.tensor(y)) + 0.5 * 0.2 * (params["0.w"].square().sum()
                                                                       + params["4.w"].square().sum())
    expected.backward()
    loss, grads = model.loss(X, y)
    what = "Sequential(Conv2d, ReLU, MaxPool2d, Flatten, Affine, reg=0.2)"
    assert_close(loss, expected.item(), f"the loss of {what}")
    for name, value in params.items():
        assert_close(grads.get(name), value.grad, f"grads['{name}'] of {what} (the L2 penalty applies to '0.w')")


@pytest.mark.points(2)
def test_sequential_cnn_overfits_50_digits(student):
    """Conv - ReLU - max pool - affine, in your Sequential, learns 50 digits by heart."""
    parts = data.digits(images=True)
    X, y = parts.X_train[:50], parts.y_train[:50]
    model = student.Sequential(student.Conv2d(1, 8, 3, padding=1, weight_scale=0.5, seed=0), student.ReLU(),
                               student.MaxPool2d(2), student.Flatten(),
                               student.Affine(128, 10, weight_scale=0.1, seed=1))
    student.train(model, X, y, lr=0.1, epochs=60, batch_size=50)
    assert_at_least(accuracy(model.predict(X), y, "Sequential.predict(X)"), 1.0, "training accuracy on 50 digits")


# -- PyTorch


@pytest.mark.points(1)
def test_parameter_counts_match_torch(student):
    for args in [(3, 16, 3), (16, 8, 1), (1, 4, 5)]:
        for bias in (True, False):
            expected = sum(p.numel() for p in torch.nn.Conv2d(*args, bias=bias).parameters())
            assert_close(student.conv2d_parameter_count(*args, bias=bias), expected,
                         f"conv2d_parameter_count{args + (bias,)}")
    block = student.InceptionBlock(6, 4, 3, 5, 2, 3, 2)
    assert_close(student.parameter_count(block), sum(np.asarray(v).size for v in block.state_dict().values()),
                 "parameter_count(InceptionBlock(6, 4, 3, 5, 2, 3, 2))")
    block.branch1.requires_grad_(False)
    assert_close(student.parameter_count(block), sum(np.asarray(v).size for k, v in block.state_dict().items()
                                                     if not k.startswith("branch1.")),
                 "parameter_count of an InceptionBlock whose branch1 does not require gradients")


INCEPTION = {"branch1.weight": (4, 6, 1, 1), "branch1.bias": (4,),
             "branch2.0.weight": (3, 6, 1, 1), "branch2.0.bias": (3,), "branch2.2.weight": (5, 3, 3, 3), "branch2.2.bias": (5,),
             "branch3.0.weight": (2, 6, 1, 1), "branch3.0.bias": (2,), "branch3.2.weight": (3, 2, 5, 5), "branch3.2.bias": (3,),
             "branch4.1.weight": (2, 6, 1, 1), "branch4.1.bias": (2,)}


def inception_by_hand(state, x):
    relu, conv = F.relu, F.conv2d
    branches = [conv(x, state["branch1.weight"], state["branch1.bias"]),
                conv(relu(conv(x, state["branch2.0.weight"], state["branch2.0.bias"])),
                     state["branch2.2.weight"], state["branch2.2.bias"], padding=1),
                conv(relu(conv(x, state["branch3.0.weight"], state["branch3.0.bias"])),
                     state["branch3.2.weight"], state["branch3.2.bias"], padding=2),
                conv(F.max_pool2d(x, 3, stride=1, padding=1), state["branch4.1.weight"], state["branch4.1.bias"])]
    return relu(torch.cat(branches, dim=1))


@pytest.mark.points(2)
def test_inception_block_matches_its_formula(student, rng):
    block = student.InceptionBlock(6, 4, 3, 5, 2, 3, 2, dtype=torch.float64)
    state = state_of(block, INCEPTION)
    x = torch.from_numpy(rng.normal(size=(2, 6, 7, 7)))
    out = block(x)
    assert_shape(out, (2, 14, 7, 7), "InceptionBlock(6, 4, 3, 5, 2, 3, 2) on (2, 6, 7, 7)")
    assert_close(out, inception_by_hand(state, x), "InceptionBlock(...)(x): the four branches, ReLU, "
                                                   "concatenated on the channel axis in order")


def residual_by_hand(state, x, stride):
    main = F.conv2d(F.relu(F.conv2d(x, state["conv1.weight"], state["conv1.bias"], stride=stride, padding=1)),
                    state["conv2.weight"], state["conv2.bias"], padding=1)
    shortcut = F.conv2d(x, state["shortcut.weight"], state["shortcut.bias"], stride=stride) if "shortcut.weight" in state else x
    return F.relu(main + shortcut)


@pytest.mark.points(2)
@pytest.mark.parametrize("in_channels, out_channels, stride, residual", [(4, 4, 1, True), (4, 6, 2, True),
                                                                       (3, 5, 2, False)])
def test_residual_block_matches_its_formula(student, rng, in_channels, out_channels, stride, residual):
    """Residual: relu(conv2(relu(conv1(x))) + shortcut(x)), a projection where the shape changes.
    Plain (residual=False): no shortcut and no parameters for one, whatever the shapes."""
    block = student.ResidualBlock(in_channels, out_channels, stride=stride, residual=residual, dtype=torch.float64)
    shapes = {"conv1.weight": (out_channels, in_channels, 3, 3), "conv1.bias": (out_channels,),
              "conv2.weight": (out_channels, out_channels, 3, 3), "conv2.bias": (out_channels,)}
    if residual and (in_channels != out_channels or stride != 1):
        shapes.update({"shortcut.weight": (out_channels, in_channels, 1, 1), "shortcut.bias": (out_channels,)})
    what = f"ResidualBlock({in_channels}, {out_channels}, stride={stride}, residual={residual})"
    state = state_of(block, shapes, f"{what}.state_dict()")
    x = torch.from_numpy(rng.normal(size=(2, in_channels, 6, 6)))
    if residual:
        expected, formula = residual_by_hand(state, x, stride), "relu(conv2(relu(conv1(x))) + shortcut(x))"
    else:
        expected = F.relu(F.conv2d(F.relu(F.conv2d(x, state["conv1.weight"], state["conv1.bias"], stride=stride,
                                                   padding=1)), state["conv2.weight"], state["conv2.bias"], padding=1))
        formula = "relu(conv2(relu(conv1(x))))"
    assert_close(block(x), expected, f"{what}(x) = {formula}")


def small_vgg_by_hand(state, x):
    def conv(h, i):
        return F.relu(F.conv2d(h, state[f"features.{i}.weight"], state[f"features.{i}.bias"], padding=1))

    h = F.max_pool2d(conv(F.max_pool2d(conv(conv(x, 0), 2), 2), 5), 2).flatten(1)
    h = F.relu(F.linear(h, state["classifier.1.weight"], state["classifier.1.bias"]))
    return F.linear(h, state["classifier.3.weight"], state["classifier.3.bias"])


@pytest.mark.points(1)
def test_small_vgg_matches_its_formula(student, rng):
    """The stated layers, built in float64 with dtype=torch.float64, and their forward pass."""
    model = student.SmallVGG(in_channels=3, num_classes=5, image_size=12, channels=(4, 6), hidden=7,
                             dtype=torch.float64)
    state = state_of(model, {"features.0.weight": (4, 3, 3, 3), "features.0.bias": (4,),
                             "features.2.weight": (4, 4, 3, 3), "features.2.bias": (4,),
                             "features.5.weight": (6, 4, 3, 3), "features.5.bias": (6,),
                             "classifier.1.weight": (7, 54), "classifier.1.bias": (7,),
                             "classifier.3.weight": (5, 7), "classifier.3.bias": (5,)})
    for name, value in state.items():
        if value.dtype != torch.float64:
            raise AssertionError(f"SmallVGG(..., dtype=torch.float64)'s {name} is {value.dtype}, expected torch.float64")
    x = torch.from_numpy(rng.normal(size=(2, 3, 12, 12)))
    assert_close(model(x), small_vgg_by_hand(state, x), "SmallVGG(3, 5, 12, (4, 6), 7, dtype=torch.float64)(x)")


def deep_net_by_hand(state, x, residual, depth=2):
    h = F.relu(F.conv2d(x, state["stem.weight"], state["stem.bias"], padding=1))
    for i in range(depth):
        block = {k.split(".", 2)[2]: v for k, v in state.items() if k.startswith(f"blocks.{i}.")}
        if residual:
            h = residual_by_hand(block, h, 1)
        else:
            h = F.relu(F.conv2d(F.relu(F.conv2d(h, block["conv1.weight"], block["conv1.bias"], padding=1)),
                                block["conv2.weight"], block["conv2.bias"], padding=1))
    return F.linear(h.flatten(1), state["head.weight"], state["head.bias"])


DEEP = {"stem.weight": (4, 1, 3, 3), "stem.bias": (4,),
        **{f"blocks.{i}.{name}": shape for i in range(2) for name, shape in [
            ("conv1.weight", (4, 4, 3, 3)), ("conv1.bias", (4,)), ("conv2.weight", (4, 4, 3, 3)), ("conv2.bias", (4,))]},
        "head.weight": (10, 4 * 36), "head.bias": (10,)}


@pytest.mark.points(1)
def test_deep_networks_plain_and_residual_have_the_same_parameters(student, rng):
    x = torch.from_numpy(rng.normal(size=(3, 1, 6, 6)))
    for residual in (False, True):
        model = student.DeepConvNet(2, 4, residual=residual, image_size=6, dtype=torch.float64)
        state = state_of(model, DEEP)
        assert_close(model(x), deep_net_by_hand(state, x, residual),
                     f"DeepConvNet(2, 4, residual={residual}, image_size=6)(x)")


@pytest.mark.points(1)
def test_gradient_norms_match_autograd(student, rng):
    model = student.DeepConvNet(2, 4, image_size=6, dtype=torch.float64)
    state = {name: value.requires_grad_() for name, value in state_of(model, DEEP).items()}
    X, y = rng.normal(size=(5, 1, 6, 6)), rng.integers(0, 10, size=5)
    norms = student.gradient_norms(model, X, y)
    if not isinstance(norms, dict) or list(norms) != list(state):
        raise AssertionError(f"gradient_norms should return a dict with the keys {list(state)}, in this order")
    loss = F.cross_entropy(deep_net_by_hand(state, torch.from_numpy(X), True), torch.from_numpy(y))
    for (name, _), grad in zip(state.items(), torch.autograd.grad(loss, list(state.values()))):
        assert_close(norms[name], grad.norm().item(), f"gradient_norms(model, X, y)['{name}']")


@pytest.mark.points(1)
def test_fit_follows_sgd_on_the_batches_of_the_seeded_loader(student, rng):
    """Every loss and the final weights against torch's SGD with momentum on the batches of
    DataLoader(shuffle=True, generator=torch.Generator().manual_seed(seed)), one loader for
    all epochs: a new order every epoch, the same orders for the same seed."""
    X, y = rng.normal(size=(45, 2, 2, 2)), rng.integers(0, 3, size=45)
    start = {"1.weight": torch.from_numpy(rng.normal(size=(3, 8))), "1.bias": torch.from_numpy(rng.normal(size=3))}
    model = student.nn.Sequential(student.nn.Flatten(), student.nn.Linear(8, 3, dtype=torch.float64))
    model.load_state_dict(start)
    losses = student.fit(model, X, y, epochs=3, lr=0.2, momentum=0.6, batch_size=20, seed=5)
    expected_model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3, dtype=torch.float64))
    expected_model.load_state_dict(start)
    optimizer = torch.optim.SGD(expected_model.parameters(), lr=0.2, momentum=0.6)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
                                         batch_size=20, shuffle=True, generator=torch.Generator().manual_seed(5))
    expected = []
    for _ in range(3):
        for images, labels in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(expected_model(images), labels)
            loss.backward()
            optimizer.step()
            expected.append(loss.item())
    assert_shape(losses, (9,), "fit(...)'s losses for 3 epochs of 45 images in batches of 20")
    assert_close(losses, expected, "fit(model, X, y, epochs=3, lr=0.2, momentum=0.6, batch_size=20, seed=5)'s losses "
                 "(the batches of one DataLoader with shuffle=True and torch.Generator().manual_seed(seed))")
    state = checked_state_dict(model, {name: value.shape for name, value in start.items()}, "the model's state_dict()")
    for name, value in expected_model.state_dict().items():
        assert_close(state[name], value, f"{name} after fit")


@pytest.mark.points(1)
def test_fit_trains_and_returns_a_loss_per_step(student):
    parts = data.digits(images=True)
    model = student.nn.Sequential(student.nn.Flatten(), student.nn.Linear(64, 10))
    losses = student.fit(model, parts.X_train[:200], parts.y_train[:200], epochs=3, lr=0.1, batch_size=64)
    assert_shape(losses, (12,), "fit(...)'s losses for 3 epochs of 200 images in batches of 64")
    losses = np.asarray(losses)
    assert losses[-3:].mean() < 0.8 * losses[:3].mean(), (
        f"the training loss did not go down ({losses[:3].mean():.3f} -> {losses[-3:].mean():.3f})")
