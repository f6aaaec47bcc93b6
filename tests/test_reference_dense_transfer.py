"""The reference of assignment 09: upsampling and transposed convolution in NumPy (checked by
central differences in float64 and against torch), the U-Net, transfer learning with the
shipped pre-trained weights, and the contrastive loss."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from autograder.student import data, generated, heldout, weights
from autograder.student.gradcheck import numerical_vjp, rel_error
from autograder.student.probe import linear_probe_accuracy
from autograder.student.torchcheck import nt_xent_by_the_formula
from reference import contrastive, segmentation, transfer, upsampling

from conftest import ROOT

TOL = 1e-7
F64 = torch.float64


@pytest.fixture
def rng():
    return np.random.default_rng(9)


# ---------------------------------------------------------------- bilinear upsampling

RESIZES = [((2, 3, 4, 5), (8, 10)), ((1, 2, 5, 5), (3, 7)), ((2, 1, 1, 3), (4, 1)), ((1, 1, 6, 6), (6, 6))]


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shape, size", RESIZES)
def test_bilinear_matches_torch_interpolate(rng, shape, size, align_corners):
    x = rng.normal(size=shape)
    out, _ = upsampling.bilinear_forward(x, size, align_corners)
    expected = F.interpolate(torch.tensor(x), size=size, mode="bilinear", align_corners=align_corners)
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolation_rows_are_convex_weights(align_corners):
    matrix = upsampling.interpolation_matrix(5, 12, align_corners)
    assert matrix.shape == (12, 5) and (matrix >= 0).all()
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)


def test_align_corners_true_keeps_the_corner_values(rng):
    x = rng.normal(size=(1, 1, 3, 4))
    out, _ = upsampling.bilinear_forward(x, (7, 9), align_corners=True)
    np.testing.assert_allclose(out[..., [0, -1], :][..., [0, -1]], x[..., [0, -1], :][..., [0, -1]])


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shape, size", RESIZES[:2])
def test_bilinear_backward_by_central_differences_and_autograd(rng, shape, size, align_corners):
    x = rng.normal(size=shape)
    out, cache = upsampling.bilinear_forward(x, size, align_corners)
    dout = rng.normal(size=out.shape)
    dx = upsampling.bilinear_backward(dout, cache)
    numeric = numerical_vjp(lambda v: upsampling.bilinear_forward(v, size, align_corners)[0], x, dout)
    assert rel_error(dx, numeric) < TOL
    xt = torch.tensor(x, requires_grad=True)
    F.interpolate(xt, size=size, mode="bilinear", align_corners=align_corners).backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- transposed convolution

CONFIGS = [  # (H, W, kernel, stride, padding, output_padding)
    (4, 5, 3, 2, 1, 1), (3, 3, 2, 2, 0, 0), (5, 4, 3, 1, 1, 0), (3, 4, 4, 3, 2, 2), (2, 3, 1, 1, 0, 0),
]


@pytest.mark.parametrize("size, kernel, stride, padding, output_padding", [
    (4, 3, 2, 1, 1), (8, 2, 2, 0, 0), (5, 3, 1, 1, 0), (1, 1, 1, 0, 0), (3, 4, 3, 2, 2)])
def test_output_size_matches_torch(size, kernel, stride, padding, output_padding):
    layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding)
    expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
    assert upsampling.conv_transpose_output_size(size, kernel, stride, padding, output_padding) == expected


@pytest.mark.parametrize("arguments", [(4, 3, 2, 0, 2), (4, 3, 1, 0, 1), (1, 1, 1, 1, 0), (2, 2, 1, 2, 0)])
def test_output_size_refuses_impossible_configurations(arguments):
    with pytest.raises(ValueError):
        upsampling.conv_transpose_output_size(*arguments)


@pytest.mark.parametrize("config", CONFIGS)
def test_conv_transpose_matches_torch_forward_and_autograd(rng, config):
    height, width, kernel, stride, padding, output_padding = config
    x, w, b = rng.normal(size=(2, 3, height, width)), rng.normal(size=(3, 4, kernel, kernel)), rng.normal(size=4)
    out, cache = upsampling.conv_transpose_forward(x, w, b, stride, padding, output_padding)
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    expected = F.conv_transpose2d(*tensors, stride=stride, padding=padding, output_padding=output_padding)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    dout = rng.normal(size=out.shape)
    expected.backward(torch.tensor(dout))
    for got, tensor in zip(upsampling.conv_transpose_backward(dout, cache), tensors):
        np.testing.assert_allclose(got, tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS[:3])
def test_conv_transpose_backward_by_central_differences(rng, config):
    height, width, kernel, stride, padding, output_padding = config
    x, w, b = rng.normal(size=(2, 2, height, width)), rng.normal(size=(2, 3, kernel, kernel)), rng.normal(size=3)
    forward = lambda x, w, b: upsampling.conv_transpose_forward(x, w, b, stride, padding, output_padding)[0]  # noqa: E731
    out, cache = upsampling.conv_transpose_forward(x, w, b, stride, padding, output_padding)
    dout = rng.normal(size=out.shape)
    dx, dw, db = upsampling.conv_transpose_backward(dout, cache)
    assert rel_error(dx, numerical_vjp(lambda v: forward(v, w, b), x, dout)) < TOL
    assert rel_error(dw, numerical_vjp(lambda v: forward(x, v, b), w, dout)) < TOL
    assert rel_error(db, numerical_vjp(lambda v: forward(x, w, v), b, dout)) < TOL


def test_conv_transpose_is_the_adjoint_of_a_convolution(rng):
    """<conv_transpose(x), y> = <x, conv(y)> with the same kernel, stride and padding."""
    x, w = rng.normal(size=(2, 3, 4, 4)), rng.normal(size=(3, 5, 3, 3))
    out, _ = upsampling.conv_transpose_forward(x, w, np.zeros(5), stride=2, padding=1, output_padding=1)
    y = rng.normal(size=out.shape)
    conv = F.conv2d(torch.tensor(y), torch.tensor(w), stride=2, padding=1).numpy()
    assert np.isclose(np.sum(out * y), np.sum(x * conv))


# ---------------------------------------------------------------- U-Net


def test_segmented_shapes_are_seeded_and_labelled():
    images, masks = generated.segmented_shapes(20, size=16, seed=4)
    again, _ = generated.segmented_shapes(20, size=16, seed=4)
    assert images.shape == (20, 1, 16, 16) and masks.shape == (20, 16, 16) and masks.dtype == np.int64
    assert np.array_equal(images, again) and set(np.unique(masks)) <= {0, 1, 2, 3}
    assert (masks > 0).any(axis=(1, 2)).all(), "every image holds a shape"
    assert images[:, 0][masks > 0].mean() > images[:, 0][masks == 0].mean() + 0.4


def test_unet_keeps_the_size_and_has_the_stated_parameters():
    torch.manual_seed(0)
    model = segmentation.UNet(in_channels=2, num_classes=5, channels=4)
    assert model(torch.randn(3, 2, 16, 12)).shape == (3, 5, 16, 12)
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes["up2.weight"] == (16, 8, 2, 2) and shapes["dec2.0.weight"] == (8, 16, 3, 3)
    assert shapes["dec1.0.weight"] == (4, 8, 3, 3) and shapes["head.weight"] == (5, 4, 1, 1)
    assert list(shapes)[0] == "enc1.0.weight" and list(shapes)[-1] == "head.bias"


def test_unet_output_sees_the_input_through_the_skip_connection():
    """With the last up-convolution silenced, the logits still depend on the input: through
    the full-size skip, concatenated beside it."""
    torch.manual_seed(0)
    model = segmentation.UNet(channels=4).eval()
    with torch.no_grad():
        model.up1.weight.zero_()
        model.up1.bias.zero_()
        logits = model(torch.randn(2, 1, 8, 8))
    assert not torch.allclose(logits[0], logits[1])


def test_mean_iou_by_hand():
    target = np.array([[0, 0, 1], [1, 2, 2]])
    predicted = np.array([[0, 1, 1], [1, 2, 0]])
    # class 0: 1 / 3, class 1: 2 / 3, class 2: 1 / 2; class 3 absent from both
    assert np.isclose(segmentation.mean_iou(predicted, target, 4), np.mean([1 / 3, 2 / 3, 1 / 2]))


def test_unet_learns_the_shapes():
    torch.manual_seed(0)
    images, masks = generated.segmented_shapes(300, seed=0)
    model = segmentation.UNet()
    history = segmentation.train(model, torch.optim.Adam(model.parameters(), lr=3e-3), images[:200],
                                 masks[:200], epochs=8)
    assert np.mean(history[-7:]) < 0.5 * np.mean(history[:7])
    assert segmentation.mean_iou(segmentation.predict(model, images[200:]).numpy(), masks[200:], 4) > 0.5


# ---------------------------------------------------------------- transfer learning


@pytest.fixture(scope="module")
def pretrained():
    return weights.load("digitnet_0_to_4")


def test_pretraining_script_reproduces_the_shipped_weights(tmp_path, pretrained):
    from safetensors import safe_open
    from safetensors.torch import load_file

    output = tmp_path / "again.safetensors"
    script = ROOT / "assignments" / "09_dense_transfer" / "pretrain.py"
    subprocess.run([sys.executable, str(script), str(output)], check=True, cwd=ROOT, capture_output=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    again = load_file(output)
    assert sorted(again) == sorted(pretrained)
    for name, value in pretrained.items():
        torch.testing.assert_close(again[name], value, rtol=1e-4, atol=1e-5)
    with safe_open(output, "pt") as new, safe_open(weights.path("digitnet_0_to_4"), "pt") as shipped:
        assert new.metadata() == shipped.metadata()


def test_shipped_weights_classify_digits_0_to_4(pretrained):
    model = transfer.DigitNet(5)
    model.load_state_dict(pretrained)
    _, _, _, _, X_test, y_test = data.digits(seed=0, images=True)
    low = y_test < 5
    assert (segmentation.predict(model, X_test[low]).numpy() == y_test[low]).mean() > 0.97


def test_transfer_model_loads_the_features_and_makes_a_new_head(pretrained):
    torch.manual_seed(0)
    model = transfer.transfer_model(pretrained, 3)
    state = model.state_dict()
    for name, value in pretrained.items():
        if name.startswith("features."):
            assert torch.equal(state[name], value)
    assert state["head.weight"].shape == (3, 128)
    torch.manual_seed(0)
    assert torch.equal(state["head.weight"], transfer.DigitNet(3).head.weight)


def test_head_optimizer_freezes_the_features_and_trains_the_head(pretrained, rng):
    model = transfer.transfer_model(pretrained, 5)
    optimizer = transfer.head_optimizer(model, lr=0.01)
    assert not any(p.requires_grad for p in model.features.parameters())
    X, y = rng.uniform(size=(20, 1, 8, 8)), rng.integers(0, 5, 20)
    head_before = model.head.weight.detach().clone()
    segmentation.train(model, optimizer, X, y, epochs=2, batch_size=10)
    for name, value in model.features.state_dict().items():
        assert torch.equal(value, pretrained[f"features.{name}"])
    assert all(p.grad is None for p in model.features.parameters())
    assert not torch.equal(model.head.weight, head_before)


def test_fine_tune_optimizer_moves_each_part_by_its_learning_rate(pretrained, rng):
    """Adam's first step moves every weight by about its group's learning rate."""
    model = transfer.transfer_model(pretrained, 5)
    transfer.head_optimizer(model)
    optimizer = transfer.fine_tune_optimizer(model, lr=1e-2, backbone_lr=1e-4)
    assert all(p.requires_grad for p in model.parameters())
    assert [g["lr"] for g in optimizer.param_groups] == [1e-4, 1e-2]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = rng.uniform(size=(10, 1, 8, 8)), rng.integers(0, 5, 10)
    segmentation.train(model, optimizer, X, y, epochs=1, batch_size=10)
    for name, value in model.state_dict().items():
        step = (value - before[name]).abs().max().item()
        assert np.isclose(step, 1e-4 if name.startswith("features") else 1e-2, rtol=1e-3), name


# ---------------------------------------------------------------- contrastive learning


@pytest.mark.parametrize("n, dim, temperature", [(4, 3, 0.5), (6, 8, 0.1), (2, 5, 1.0)])
def test_nt_xent_matches_the_formula(rng, n, dim, temperature):
    z1, z2 = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
    loss = contrastive.nt_xent_loss(torch.tensor(z1), torch.tensor(z2), temperature)
    assert np.isclose(loss.item(), nt_xent_by_the_formula(z1, z2, temperature), rtol=1e-12)


def test_nt_xent_gradient_by_central_differences_and_gradcheck(rng):
    z1, z2 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    t1, t2 = (torch.tensor(z, requires_grad=True) for z in (z1, z2))
    contrastive.nt_xent_loss(t1, t2, 0.3).backward()
    numeric = numerical_vjp(lambda v: nt_xent_by_the_formula(v, z2, 0.3), z1, np.array(1.0))
    assert rel_error(t1.grad.numpy(), numeric) < TOL
    assert torch.autograd.gradcheck(lambda a, b: contrastive.nt_xent_loss(a, b, 0.3), (t1, t2))


def test_nt_xent_is_small_for_matching_views_and_large_for_swapped_ones(rng):
    z = torch.tensor(rng.normal(size=(8, 16)))
    assert contrastive.nt_xent_loss(z, z, 0.1) < contrastive.nt_xent_loss(z, z.roll(1, 0), 0.1) - 1


def test_augment_is_reproducible_and_keeps_shape_dtype_and_input():
    images = torch.tensor(data.digits(seed=0, images=True).X_train[:6])
    copy = images.clone()
    first = contrastive.augment(images, torch.Generator().manual_seed(3))
    again = contrastive.augment(images, torch.Generator().manual_seed(3))
    other = contrastive.augment(images, torch.Generator().manual_seed(4))
    assert first.shape == images.shape and first.dtype == F64 and torch.equal(images, copy)
    assert torch.equal(first, again) and not torch.allclose(first, other)
    assert (first - images).abs().mean() < images.abs().mean()


def test_augment_without_randomness_is_the_identity(rng):
    images = torch.tensor(rng.uniform(size=(3, 2, 8, 6)))
    same = contrastive.augment(images, torch.Generator(), max_angle=0, max_scale=0, max_shift=0, noise=0)
    torch.testing.assert_close(same, images)


def test_contrastive_training_beats_random_features_under_a_linear_probe():
    """On digits moved by up to a pixel, where random convolutions fall behind."""
    X_train, y_train, _, _, X_test, y_test = data.digits(seed=0, images=True)
    torch.manual_seed(0)
    model, random = contrastive.ContrastiveNet(), contrastive.ContrastiveNet()
    history = contrastive.train_contrastive(model, X_train, epochs=10)
    assert np.mean(history[-9:]) < np.mean(history[:9])
    shifts = np.random.default_rng(0)
    X_train, X_test = heldout.translated(X_train, shifts, 1), heldout.translated(X_test, shifts, 1)

    def probe(net):
        features = [contrastive.encode(net, X).numpy() for X in (X_train, X_test)]
        return linear_probe_accuracy(features[0], y_train, features[1], y_test)

    assert probe(model) > probe(random) + 0.05
