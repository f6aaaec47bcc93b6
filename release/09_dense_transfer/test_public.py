"""Public tests for assignment 09: students have this file and can run it with `course check`.

Expected values come from PyTorch (F.interpolate, F.conv_transpose2d, autograd), from
formulas written out here, and from the weights of the student's own models; the hidden
tests compare against the reference solution on other inputs.
"""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from autograder.grading.proxy import fetch
from autograder.student import data, generated, weights
from autograder.student.checks import (as_array, assert_close, assert_raises, assert_shape, assert_unchanged,
                                       checked_state_dict)
from autograder.student.torchcheck import nt_xent_by_the_formula

F64 = torch.float64
PRETRAINED = "digitnet_0_to_4"


def double_conv_shapes(prefix: str, cin: int, cout: int) -> dict:
    shapes = {"0.weight": (cout, cin, 3, 3), "0.bias": (cout,), "3.weight": (cout, cout, 3, 3), "3.bias": (cout,)}
    for norm in ("1", "4"):
        shapes.update({f"{norm}.{name}": (cout,) for name in ("weight", "bias", "running_mean", "running_var")})
        shapes[f"{norm}.num_batches_tracked"] = ()
    return {f"{prefix}{name}": shape for name, shape in shapes.items()}


def unet_shapes(cin: int, classes: int, c: int) -> dict:
    shapes = {**double_conv_shapes("enc1.", cin, c), **double_conv_shapes("enc2.", c, 2 * c),
              **double_conv_shapes("bottleneck.", 2 * c, 4 * c), **double_conv_shapes("dec2.", 4 * c, 2 * c),
              **double_conv_shapes("dec1.", 2 * c, c)}
    shapes.update({"up2.weight": (4 * c, 2 * c, 2, 2), "up2.bias": (2 * c,), "up1.weight": (2 * c, c, 2, 2),
                   "up1.bias": (c,), "head.weight": (classes, c, 1, 1), "head.bias": (classes,)})
    return shapes


def random_state(shapes: dict, rng) -> dict:
    """Float64 tensors of the given shapes; running variances positive, counters zero."""
    state = {}
    for name, shape in shapes.items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(0)
        elif name.endswith("running_var"):
            state[name] = torch.from_numpy(rng.uniform(0.5, 2.0, shape))
        else:
            state[name] = torch.from_numpy(0.5 * rng.normal(size=shape))
    return state


def double_conv_formula(state: dict, prefix: str, x: torch.Tensor) -> torch.Tensor:
    for conv, norm in (("0", "1"), ("3", "4")):
        x = F.conv2d(x, state[f"{prefix}.{conv}.weight"], state[f"{prefix}.{conv}.bias"], padding=1)
        x = F.batch_norm(x, state[f"{prefix}.{norm}.running_mean"], state[f"{prefix}.{norm}.running_var"],
                         state[f"{prefix}.{norm}.weight"], state[f"{prefix}.{norm}.bias"], training=False)
        x = F.relu(x)
    return x


def unet_formula(state: dict, x: torch.Tensor) -> torch.Tensor:
    """The U-Net of the notebook, in evaluation mode, from its state_dict."""
    skip1 = double_conv_formula(state, "enc1", x)
    skip2 = double_conv_formula(state, "enc2", F.max_pool2d(skip1, 2))
    bottom = double_conv_formula(state, "bottleneck", F.max_pool2d(skip2, 2))
    up2 = F.conv_transpose2d(bottom, state["up2.weight"], state["up2.bias"], stride=2)
    up = double_conv_formula(state, "dec2", torch.cat([skip2, up2], dim=1))
    up1 = F.conv_transpose2d(up, state["up1.weight"], state["up1.bias"], stride=2)
    up = double_conv_formula(state, "dec1", torch.cat([skip1, up1], dim=1))
    return F.conv2d(up, state["head.weight"], state["head.bias"])


def digit_net_shapes(classes: int) -> dict:
    return {"features.0.weight": (16, 1, 3, 3), "features.0.bias": (16,), "features.3.weight": (32, 16, 3, 3),
            "features.3.bias": (32,), "head.weight": (classes, 128), "head.bias": (classes,)}


def digit_features_formula(state: dict, x: torch.Tensor, prefix: str = "features") -> torch.Tensor:
    x = F.max_pool2d(F.relu(F.conv2d(x, state[f"{prefix}.0.weight"], state[f"{prefix}.0.bias"], padding=1)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, state[f"{prefix}.3.weight"], state[f"{prefix}.3.bias"], padding=1)), 2)
    return x.flatten(1)


def contrastive_shapes() -> dict:
    shapes = {name.replace("features.", "encoder."): shape for name, shape in digit_net_shapes(1).items()
              if name.startswith("features.")}
    shapes.update({"projector.0.weight": (64, 128), "projector.0.bias": (64,), "projector.2.weight": (32, 64),
                   "projector.2.bias": (32,)})
    return shapes


def default_weights(layers) -> dict:
    """name -> initial weight and bias of each layer (name, class, in, out[, kernel]), created in
    the given order after torch.manual_seed(0): the seed the worker sets before every call."""
    torch.manual_seed(0)
    state = {}
    for name, layer_class, *arguments in layers:
        layer = layer_class(*arguments)
        state[f"{name}.weight"], state[f"{name}.bias"] = layer.weight.detach(), layer.bias.detach()
    return state


def unet_layers(cin: int, classes: int, c: int) -> list:
    def block(name, cin, cout):
        return [(f"{name}.0", nn.Conv2d, cin, cout, 3), (f"{name}.3", nn.Conv2d, cout, cout, 3)]

    return [*block("enc1", cin, c), *block("enc2", c, 2 * c), *block("bottleneck", 2 * c, 4 * c),
            ("up2", nn.ConvTranspose2d, 4 * c, 2 * c, 2), *block("dec2", 4 * c, 2 * c),
            ("up1", nn.ConvTranspose2d, 2 * c, c, 2), *block("dec1", 2 * c, c), ("head", nn.Conv2d, c, classes, 1)]


def digit_net_layers(classes: int, prefix: str = "features") -> list:
    return [(f"{prefix}.0", nn.Conv2d, 1, 16, 3), (f"{prefix}.3", nn.Conv2d, 16, 32, 3), ("head", nn.Linear, 128, classes)]


def digit_images(n: int = 40):
    X, y = data.digits(seed=0, images=True)[:2]
    return X[:n], y[:n]


# ---------------------------------------------------------------- 1. upsampling


@pytest.mark.points(1)
def test_interpolation_matrix_matches_torch_linear_interpolation(student):
    """Column j of interpolation_matrix is F.interpolate(mode="linear") of the j-th unit vector."""
    for size_in, size_out in [(5, 9), (4, 3), (3, 1)]:
        for align_corners in (False, True):
            basis = torch.eye(size_in, dtype=F64)[:, None, :]
            expected = F.interpolate(basis, size=size_out, mode="linear", align_corners=align_corners)[:, 0, :].T
            assert_close(student.interpolation_matrix(size_in, size_out, align_corners), expected,
                         f"interpolation_matrix({size_in}, {size_out}, align_corners={align_corners})")


@pytest.mark.points(2)
def test_bilinear_forward_matches_interpolate(student, grader, rng):
    x = rng.normal(size=(2, 3, 4, 5))
    for align_corners in (False, True):
        out, _ = student.bilinear_forward(x, (8, 10), align_corners)
        assert_unchanged(grader, "bilinear_forward")
        expected = F.interpolate(torch.from_numpy(x), size=(8, 10), mode="bilinear", align_corners=align_corners)
        assert_close(out, expected, f"bilinear_forward(x, (8, 10), align_corners={align_corners})")


@pytest.mark.points(2)
def test_bilinear_backward_matches_autograd(student, rng):
    x = rng.normal(size=(2, 2, 3, 4))
    for align_corners in (False, True):
        out, cache = student.bilinear_forward(x, (7, 6), align_corners)
        dout = rng.normal(size=as_array(out, "bilinear_forward's output").shape)
        x_torch = torch.from_numpy(x).requires_grad_()
        F.interpolate(x_torch, size=(7, 6), mode="bilinear", align_corners=align_corners).backward(torch.from_numpy(dout))
        assert_close(student.bilinear_backward(dout, cache), x_torch.grad,
                     f"bilinear_backward for align_corners={align_corners}")


@pytest.mark.points(1)
def test_conv_transpose_output_size_matches_torch(student):
    for size, kernel, stride, padding, output_padding in [(4, 3, 2, 1, 1), (8, 2, 2, 0, 0), (5, 3, 1, 1, 0)]:
        layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding)
        expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
        arguments = (size, kernel, stride, padding, output_padding)
        assert_close(student.conv_transpose_output_size(*arguments), expected, f"conv_transpose_output_size{arguments}")


@pytest.mark.points(1)
def test_conv_transpose_output_size_refuses_impossible_configurations(student):
    for arguments in [(4, 3, 2, 0, 2), (3, 3, 2, 1, -1), (1, 1, 1, 1, 0), (2, 1, 1, 1, 0)]:
        assert_raises(lambda: student.conv_transpose_output_size(*arguments), "ValueError",
                      f"conv_transpose_output_size{arguments}")


@pytest.mark.points(2)
def test_conv_transpose_forward_matches_torch(student, grader, rng):
    x, w, b = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(3, 4, 3, 3)), rng.normal(size=4)
    for stride, padding, output_padding in [(1, 0, 0), (2, 1, 1)]:
        out, _ = student.conv_transpose_forward(x, w, b, stride, padding, output_padding)
        assert_unchanged(grader, "conv_transpose_forward")
        expected = F.conv_transpose2d(*map(torch.from_numpy, (x, w, b)), stride=stride, padding=padding,
                                      output_padding=output_padding)
        assert_close(out, expected, f"conv_transpose_forward with stride {stride}, padding {padding}, "
                                    f"output_padding {output_padding}")


@pytest.mark.points(2)
def test_conv_transpose_backward_matches_autograd(student, grader, rng):
    x, w, b = rng.normal(size=(2, 3, 4, 3)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=2)
    out, cache = student.conv_transpose_forward(x, w, b, 2, 1, 1)
    dout = rng.normal(size=as_array(out, "conv_transpose_forward's output").shape)
    tensors = [torch.from_numpy(a).requires_grad_() for a in (x, w, b)]
    F.conv_transpose2d(*tensors, stride=2, padding=1, output_padding=1).backward(torch.from_numpy(dout))
    gradients = student.conv_transpose_backward(dout, cache)
    assert_unchanged(grader, "conv_transpose_backward")
    for name, got, tensor in zip(("dx", "dw", "db"), gradients, tensors):
        assert_close(got, tensor.grad, f"{name} from conv_transpose_backward (stride 2, padding 1)")


# ---------------------------------------------------------------- 2. U-Net


@pytest.mark.points(1)
def test_double_conv_has_the_stated_layers(student, rng):
    block = student.double_conv(3, 5)
    checked_state_dict(block, double_conv_shapes("", 3, 5))
    assert_shape(block(torch.from_numpy(rng.normal(size=(2, 3, 6, 4))).float()), (2, 5, 6, 4),
                 "double_conv(3, 5) applied to (2, 3, 6, 4)")


@pytest.mark.points(3)
def test_unet_matches_its_formula_in_evaluation_mode(student, rng):
    """UNet(2, 3, channels=4) with random weights and statistics gives the logits of the notebook's diagram."""
    shapes = unet_shapes(2, 3, 4)
    model = student.UNet(2, 3, channels=4)
    checked_state_dict(model, shapes)
    state = random_state(shapes, rng)
    model.double()
    model.load_state_dict(state)
    model.eval()
    x = torch.from_numpy(rng.normal(size=(2, 2, 8, 12)))
    assert_close(model(x), unet_formula(state, x), "UNet(2, 3, channels=4)'s logits in evaluation mode")


@pytest.mark.points(1)
def test_predict_gives_the_class_of_highest_logit_per_pixel(student, rng):
    model = student.UNet(1, 4, channels=2)
    state = random_state(unet_shapes(1, 4, 2), rng)
    model.double()
    model.load_state_dict(state)
    model.train()
    x = rng.normal(size=(3, 1, 8, 8))
    labels = student.predict(model, x)
    assert_shape(labels, (3, 8, 8), "predict(UNet, images of shape (3, 1, 8, 8))")
    assert_close(labels, unet_formula(state, torch.from_numpy(x)).argmax(dim=1), "predict(model, X) (in evaluation mode)")


@pytest.mark.points(2)
def test_training_follows_the_seeded_loader_step_by_step(student):
    """Every loss of 4 epochs: Adam on the cross-entropy of the batches of one DataLoader seeded with 3."""
    X, y = digit_images(300)
    model = student.DigitNet(10).double()
    state = {k: v.clone() for k, v in checked_state_dict(model, digit_net_shapes(10)).items()}
    history = student.train(model, student.torch.optim.Adam(model.parameters(), lr=3e-3), X, y, epochs=4,
                            batch_size=50, seed=3)
    assert_shape(history, (24,), "the history of 4 epochs of 6 batches")
    params = {name: value.clone().requires_grad_() for name, value in state.items()}
    optimizer = torch.optim.Adam(params.values(), lr=3e-3)
    loader = DataLoader(TensorDataset(torch.as_tensor(X, dtype=F64), torch.as_tensor(y, dtype=torch.int64)),
                        batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(3))
    expected = []
    for _ in range(4):
        for inputs, labels in loader:
            optimizer.zero_grad()
            logits = F.linear(digit_features_formula(params, inputs), params["head.weight"], params["head.bias"])
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            optimizer.step()
            expected.append(loss.item())
    assert_close(history, expected, "the losses of train(..., epochs=4, seed=3), one loader for all epochs")


@pytest.mark.points(1)
def test_training_labels_every_pixel(student):
    images, masks = generated.segmented_shapes(20, seed=5)
    model = student.UNet(channels=2)
    history = student.train(model, student.torch.optim.SGD(model.parameters(), lr=0.1), images, masks,
                            epochs=2, batch_size=8)
    assert_shape(history, (6,), "the history of 2 epochs of 3 batches of (N, 16, 16) masks")


@pytest.mark.points(1)
def test_mean_iou_by_hand(student):
    target = np.array([[[0, 0, 1], [1, 2, 2]]])
    predicted = np.array([[[0, 1, 1], [1, 2, 0]]])
    assert_close(student.mean_iou(predicted, target, 4), (1 / 3 + 2 / 3 + 1 / 2) / 3,
                 "mean_iou (classes 0, 1, 2: 1/3, 2/3, 1/2; class 3 absent)")
    assert_close(student.mean_iou(target, target, 3), 1.0, "mean_iou of a perfect prediction")
    target = np.array([[[0, 0], [1, 1]], [[0, 0], [0, 2]]])
    predicted = np.array([[[0, 1], [1, 1]], [[0, 0], [3, 2]]])
    assert_close(student.mean_iou(predicted, target, 5), (3 / 5 + 2 / 3 + 1 + 0) / 4,
                 "mean_iou of two images, pixels counted together (classes 0-3: 3/5, 2/3, 1, 0; class 3 "
                 "predicted only, class 4 absent)")


# ---------------------------------------------------------------- 3. transfer learning


@pytest.mark.points(1)
def test_digit_net_has_the_stated_layers(student, rng):
    model = student.DigitNet(7).double()
    state = checked_state_dict(model, digit_net_shapes(7))
    x = torch.from_numpy(rng.uniform(size=(4, 1, 8, 8)))
    expected = F.linear(digit_features_formula(state, x), state["head.weight"], state["head.bias"])
    assert_close(model(x), expected, "DigitNet(7)'s logits")


@pytest.mark.points(1)
def test_networks_start_from_the_default_initialization_in_the_stated_order(student):
    """Built after torch.manual_seed(0), as every call is: PyTorch's defaults, drawn in the docstrings' order."""
    contrastive_layers = [*digit_net_layers(1, "encoder")[:2], ("projector.0", nn.Linear, 128, 64),
                          ("projector.2", nn.Linear, 64, 32)]
    for what, model, shapes, layers in [
            ("UNet(2, 3, channels=2)", student.UNet(2, 3, channels=2), unet_shapes(2, 3, 2), unet_layers(2, 3, 2)),
            ("DigitNet(6)", student.DigitNet(6), digit_net_shapes(6), digit_net_layers(6)),
            ("ContrastiveNet()", student.ContrastiveNet(), contrastive_shapes(), contrastive_layers)]:
        state = checked_state_dict(model, shapes, f"{what}.state_dict()")
        for name, value in default_weights(layers).items():
            assert_close(state[name], value, f"{what}'s initial {name}")


@pytest.mark.points(1)
def test_transfer_model_keeps_the_features_and_makes_a_new_head(student):
    """The pre-trained features; the head of DigitNet(num_classes) as its constructor draws it, also for 5 classes."""
    pretrained = weights.load(PRETRAINED)
    for classes in (3, 5):
        state = checked_state_dict(student.transfer_model(pretrained, classes), digit_net_shapes(classes))
        for name, value in pretrained.items():
            if name.startswith("features."):
                assert_close(state[name], value, f"transfer_model(...)'s {name} (the pre-trained one)", rtol=0, atol=0)
        fresh = default_weights(digit_net_layers(classes))
        for name in ("head.weight", "head.bias"):
            assert_close(state[name], fresh[name], f"transfer_model(pretrained, {classes})'s {name} (the initial one "
                                                   f"of DigitNet({classes}))")


@pytest.mark.points(2)
def test_head_optimizer_freezes_the_features(student):
    """After head_optimizer, the features have requires_grad False and training moves the head only."""
    pretrained = weights.load(PRETRAINED)
    model = student.transfer_model(pretrained, 5)
    optimizer = student.head_optimizer(model, lr=1e-2)
    for index in ("0", "3"):
        for name in ("weight", "bias"):
            if fetch(getattr(getattr(model.features, index), name).requires_grad) is not False:
                raise AssertionError(f"features.{index}.{name}.requires_grad is still True after head_optimizer")
    if fetch(model.head.weight.requires_grad) is not True:
        raise AssertionError("head.weight.requires_grad is False: the head must stay trainable")
    before = checked_state_dict(model, digit_net_shapes(5))
    X, y = digit_images()
    student.train(model, optimizer, X, y % 5, epochs=2, batch_size=10)
    after = checked_state_dict(model, digit_net_shapes(5))
    for name, value in before.items():
        if name.startswith("features."):
            assert_close(after[name], value, f"{name} after training the head", rtol=0, atol=0)
    if np.allclose(np.asarray(after["head.weight"]), np.asarray(before["head.weight"])):
        raise AssertionError("training with head_optimizer did not change the head")


@pytest.mark.points(2)
def test_fine_tune_optimizer_moves_each_part_by_its_learning_rate(student):
    """Adam's first step moves every weight by about its group's learning rate: 1e-4 for the features, 1e-2 for the head."""
    model = student.transfer_model(weights.load(PRETRAINED), 5)
    student.head_optimizer(model)
    optimizer = student.fine_tune_optimizer(model, lr=1e-2, backbone_lr=1e-4)
    before = checked_state_dict(model, digit_net_shapes(5))
    X, y = digit_images(10)
    student.train(model, optimizer, X, y % 5, epochs=1, batch_size=10)
    for name, value in checked_state_dict(model, digit_net_shapes(5)).items():
        step = float(np.max(np.abs(np.asarray(value) - np.asarray(before[name]))))
        expected = 1e-4 if name.startswith("features.") else 1e-2
        if not np.isclose(step, expected, rtol=1e-2):
            raise AssertionError(f"one step of fine_tune_optimizer(model, lr=1e-2, backbone_lr=1e-4) moved {name} "
                                 f"by at most {step:.2e}; Adam's first step moves it by about {expected:.0e}")


# ---------------------------------------------------------------- 4. contrastive learning


@pytest.mark.points(1)
def test_augment_is_reproducible_and_leaves_its_input(student, grader):
    images = torch.from_numpy(digit_images(6)[0])
    first = student.augment(images, student.torch.Generator().manual_seed(3))
    assert_unchanged(grader, "augment")
    again = student.augment(images, student.torch.Generator().manual_seed(3))
    other = student.augment(images, student.torch.Generator().manual_seed(4))
    assert_shape(first, (6, 1, 8, 8), "augment(images, generator)")
    assert_close(again, first, "augment with the same generator seed", rtol=0, atol=0)
    if np.allclose(as_array(other, "augment"), as_array(first, "augment")):
        raise AssertionError("augment gives the same views for generator seeds 3 and 4")
    change = float(np.mean(np.abs(as_array(first, "augment") - images.numpy())))
    if not 0.01 < change < float(images.abs().mean()):
        raise AssertionError(f"augment changes the pixels by {change:.3f} on average: not a view of the same digit")


@pytest.mark.points(1)
def test_augment_without_randomness_is_the_identity(student, rng):
    images = torch.from_numpy(rng.uniform(size=(3, 2, 8, 6)))
    same = student.augment(images, student.torch.Generator(), max_angle=0, max_scale=0, max_shift=0, noise=0)
    assert_close(same, images, "augment(..., max_angle=0, max_scale=0, max_shift=0, noise=0)", atol=1e-6)


@pytest.mark.points(2)
def test_nt_xent_matches_the_formula(student, rng):
    for n, dim, temperature in [(4, 3, 0.5), (6, 8, 0.1)]:
        z1, z2 = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
        loss = student.nt_xent_loss(torch.from_numpy(z1), torch.from_numpy(z2), temperature)
        assert_close(loss, nt_xent_by_the_formula(z1, z2, temperature), f"nt_xent_loss for N={n}, T={temperature}")


@pytest.mark.points(1)
def test_nt_xent_gradient_matches_central_differences(student, rng):
    from autograder.student.gradcheck import numerical_vjp

    z1, z2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    loss = fetch(student.nt_xent_loss)
    _, (grad1, _) = student.torch.autograd.functional.vjp(loss, (torch.from_numpy(z1), torch.from_numpy(z2)),
                                                          torch.tensor(1.0, dtype=F64))
    numeric = numerical_vjp(lambda v: nt_xent_by_the_formula(v, z2, 0.5), z1, np.array(1.0))
    assert_close(grad1, numeric, "the gradient of nt_xent_loss with respect to z1", rtol=1e-5, atol=1e-8)


@pytest.mark.points(1)
def test_nt_xent_is_finite_for_a_small_temperature_in_float32(student, rng):
    z1, z2 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    loss = student.nt_xent_loss(torch.from_numpy(z1).float(), torch.from_numpy(z2).float(), 0.01)
    assert_close(loss, nt_xent_by_the_formula(z1, z2, 0.01), "nt_xent_loss in float32 for T=0.01", rtol=1e-3)


@pytest.mark.points(1)
def test_contrastive_net_projects_and_encode_returns_the_representation(student, rng):
    model = student.ContrastiveNet().double()
    state = checked_state_dict(model, contrastive_shapes())
    x = torch.from_numpy(rng.uniform(size=(5, 1, 8, 8)))
    assert_shape(model(x), (5, 32), "ContrastiveNet()'s projections")
    assert_close(student.encode(model, x.numpy()), digit_features_formula(state, x, "encoder"),
                 "encode(model, X): the encoder's output")


@pytest.mark.points(1)
def test_train_contrastive_returns_one_loss_per_step(student):
    model = student.ContrastiveNet()
    history = student.train_contrastive(model, digit_images(100)[0], epochs=2, batch_size=50)
    assert_shape(history, (4,), "the history of 2 epochs of 2 batches")
    if not np.all(np.isfinite(as_array(history, "train_contrastive's history"))):
        raise AssertionError("train_contrastive's losses are not finite")
