"""Hidden tests for assignment 09: never released. Expected values come from the reference.

Student models are given the reference model's weights (or compared with it under the seed
0 that the worker sets before every call), so that forward passes and training can be
compared step by step in float64. The threshold tests train the student's code on data the
worker cannot look up (shapes generated from the secret, a secret view of the digits), read
the trained parameters back and compute every prediction with the reference networks; the
grader computes the mean IoU and trains the linear probe itself.
"""

import numpy as np
import pytest
import torch

from autograder.grading.proxy import fetch
from autograder.student import data, generated, heldout, weights
from autograder.student.checks import (assert_at_least, assert_close, assert_raises, assert_shape,
                                       assert_unchanged, checked_state_dict)
from autograder.student.probe import linear_probe_accuracy
from reference import contrastive as con
from reference import segmentation as seg
from reference import transfer as tr
from reference import upsampling as ref

F64 = torch.float64
PRETRAINED = weights.load("digitnet_0_to_4")


def loaded(reference, model):
    """The reference network ``reference`` holding the weights of the student's ``model``."""
    state = checked_state_dict(model, {name: tuple(value.shape) for name, value in reference.state_dict().items()})
    reference.load_state_dict({name: torch.as_tensor(np.asarray(value)) for name, value in state.items()})
    return reference


def assert_same_state(model, reference, what: str) -> None:
    state = model.state_dict()
    if not isinstance(state, dict):
        raise AssertionError(f"{what}.state_dict() returned {type(state).__name__}, expected a dict of tensors")
    for name, value in reference.state_dict().items():
        assert_close(state.get(name), value, f"{what}'s {name}")


def random_state(model, rng) -> dict:
    """Random float64 values for every tensor of ``model``'s state; running variances positive."""
    state = {}
    for name, value in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(3)
        elif name.endswith("running_var"):
            state[name] = torch.from_numpy(rng.uniform(0.5, 2.0, tuple(value.shape)))
        else:
            state[name] = torch.from_numpy(0.5 * rng.normal(size=tuple(value.shape)))
    return state


def twin(student, name: str, reference_class, *args, rng=None, **kwargs):
    """(student model, reference model) of the same architecture in float64 with the same
    weights: random ones from ``rng``, else the reference's own initialization (seed 1)."""
    torch.manual_seed(1)
    reference = reference_class(*args, **kwargs).double()
    if rng is not None:
        reference.load_state_dict(random_state(reference, rng))
    model = getattr(student, name)(*args, **kwargs).double()
    model.load_state_dict({k: v.clone() for k, v in reference.state_dict().items()})
    return model, reference


# ---------------------------------------------------------------- 1. upsampling


@pytest.mark.points(2)
def test_bilinear_matches_reference_up_and_down(student, grader, rng):
    for shape, size in [((1, 2, 5, 3), (11, 4)), ((2, 1, 6, 7), (3, 2)), ((1, 1, 4, 4), (1, 5))]:
        x = rng.normal(size=shape)
        for align_corners in (False, True):
            what = f"bilinear_forward(x of shape {shape}, {size}, align_corners={align_corners})"
            out, cache = student.bilinear_forward(x, size, align_corners)
            assert_unchanged(grader, what)
            expected, expected_cache = ref.bilinear_forward(x, size, align_corners)
            assert_close(out, expected, what)
            dout = rng.normal(size=expected.shape)
            assert_close(student.bilinear_backward(dout, cache), ref.bilinear_backward(dout, expected_cache),
                         f"bilinear_backward after {what}")


@pytest.mark.points(1)
def test_interpolation_matrix_matches_reference(student):
    for size_in, size_out in [(1, 4), (6, 6), (7, 3), (3, 8)]:
        for align_corners in (False, True):
            assert_close(student.interpolation_matrix(size_in, size_out, align_corners),
                         ref.interpolation_matrix(size_in, size_out, align_corners),
                         f"interpolation_matrix({size_in}, {size_out}, align_corners={align_corners})")


@pytest.mark.points(1)
def test_conv_transpose_output_size_matches_reference(student):
    for arguments in [(7, 2, 2, 0, 1), (3, 5, 3, 2, 2), (6, 4, 2, 1, 0), (1, 3, 1, 1, 0)]:
        assert_close(student.conv_transpose_output_size(*arguments), ref.conv_transpose_output_size(*arguments),
                     f"conv_transpose_output_size{arguments}")
    for arguments in [(5, 3, 3, 0, 3), (2, 2, 2, 0, -1), (1, 2, 1, 1, 0)]:
        assert_raises(lambda: student.conv_transpose_output_size(*arguments), "ValueError",
                      f"conv_transpose_output_size{arguments}")


@pytest.mark.points(3)
def test_conv_transpose_matches_reference_on_other_configurations(student, grader, rng):
    for (height, width, kernel, stride, padding, output_padding) in [
            (3, 4, 2, 2, 0, 1), (5, 3, 4, 3, 2, 1), (2, 2, 3, 1, 0, 0), (4, 4, 1, 2, 0, 1)]:
        x, w, b = rng.normal(size=(2, 3, height, width)), rng.normal(size=(3, 2, kernel, kernel)), rng.normal(size=2)
        config = f"kernel {kernel}, stride {stride}, padding {padding}, output_padding {output_padding}"
        out, cache = student.conv_transpose_forward(x, w, b, stride, padding, output_padding)
        assert_unchanged(grader, f"conv_transpose_forward ({config})")
        expected, expected_cache = ref.conv_transpose_forward(x, w, b, stride, padding, output_padding)
        assert_close(out, expected, f"conv_transpose_forward ({config})")
        dout = rng.normal(size=expected.shape)
        gradients = student.conv_transpose_backward(dout, cache)
        assert_unchanged(grader, f"conv_transpose_backward ({config})")
        for name, got, want in zip(("dx", "dw", "db"), gradients, ref.conv_transpose_backward(dout, expected_cache)):
            assert_close(got, want, f"{name} from conv_transpose_backward ({config})")


# ---------------------------------------------------------------- 2. U-Net


@pytest.mark.points(1)
def test_unet_initializes_like_the_reference(student):
    """UNet(3, 2, channels=3) creates its layers in the stated order, with PyTorch's defaults."""
    model = student.UNet(3, 2, channels=3)
    torch.manual_seed(0)
    assert_same_state(model, seg.UNet(3, 2, channels=3), "UNet(3, 2, channels=3)")


@pytest.mark.points(3)
def test_unet_forward_and_input_gradient_match_reference(student, rng):
    """Logits in training and evaluation mode, and the input gradient, with the reference's weights."""
    model, reference = twin(student, "UNet", seg.UNet, 1, 3, channels=3, rng=rng)
    x = torch.from_numpy(rng.normal(size=(3, 1, 12, 8)))
    grad_output = torch.from_numpy(rng.normal(size=(3, 3, 12, 8)))
    for mode in ("train", "eval"):
        getattr(model, mode)()
        getattr(reference, mode)()
        out, grad = student.torch.autograd.functional.vjp(model, x, grad_output)
        expected_out, expected_grad = torch.autograd.functional.vjp(reference, x, grad_output)
        assert_close(out, expected_out, f"UNet's logits in {mode} mode")
        assert_close(grad, expected_grad, f"the gradient of UNet's logits with respect to its input ({mode} mode)")


@pytest.mark.points(3)
def test_training_follows_reference_step_by_step(student):
    """A float64 U-Net trained with SGD and momentum: every loss and the final weights match."""
    images, masks = generated.segmented_shapes(30, size=8, seed=11)
    model, reference = twin(student, "UNet", seg.UNet, channels=2)
    history = student.train(model, student.torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), images,
                            masks, epochs=2, batch_size=8, seed=4)
    torch.manual_seed(0)
    expected = seg.train(reference, torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9), images, masks,
                         epochs=2, batch_size=8, seed=4)
    assert_shape(history, (8,), "the history of 2 epochs of 4 batches")
    assert_close(history, expected, "the training losses")
    assert_same_state(model, reference, "the U-Net after training")


@pytest.mark.points(1)
def test_predict_matches_reference(student, rng):
    model, reference = twin(student, "DigitNet", tr.DigitNet, 6, rng=rng)
    X = rng.uniform(size=(25, 1, 8, 8))
    model.train()
    labels = student.predict(model, X)
    assert_shape(labels, (25,), "predict(DigitNet(6), X)")
    assert_close(labels, seg.predict(reference, X), "predict(model, X) for a DigitNet")
    unet, unet_reference = twin(student, "UNet", seg.UNet, channels=2, rng=rng)
    unet.train()
    images = rng.normal(size=(4, 1, 8, 8))
    assert_close(student.predict(unet, images), seg.predict(unet_reference, images),
                 "predict(model, X) for a U-Net (batch norm in evaluation mode)")


@pytest.mark.points(1)
def test_mean_iou_matches_reference(student, rng):
    target = rng.integers(0, 3, size=(5, 7, 6))
    predicted = np.where(rng.uniform(size=target.shape) < 0.7, target, rng.integers(0, 4, size=target.shape))
    assert_close(student.mean_iou(predicted, target, 5), seg.mean_iou(predicted, target, 5),
                 "mean_iou with a class present in one array only and one absent from both")


def segmentation_score(student, secret, device="cpu") -> float:
    """The grader's procedure: UNet() trained with the notebook's call on 400 images generated
    from ``secret``; the mean IoU of 300 more, from its weights with the reference U-Net."""
    images, masks = generated.segmented_shapes(700, seed=secret)
    model = student.UNet()
    student.train(model, student.torch.optim.Adam(model.parameters(), lr=2e-3), images[:400], masks[:400],
                  epochs=20, batch_size=32, device=device)
    reference = loaded(seg.UNet(), model)
    return seg.mean_iou(seg.predict(reference, images[400:]).numpy(), masks[400:], 4)


@pytest.mark.points(4)
@pytest.mark.time_limit(180)
def test_unet_reaches_the_mean_iou_threshold(student, secret, thresholds, device):
    """UNet() trained with the notebook's call on 400 secret images; the grader's mean IoU on 300 more."""
    assert_at_least(segmentation_score(student, secret, device), thresholds["segmentation_miou"],
                    "the mean IoU of the trained UNet() on new images")


# ---------------------------------------------------------------- 3. transfer learning


@pytest.mark.points(1)
def test_digit_net_initializes_like_the_reference(student):
    model = student.DigitNet(4)
    torch.manual_seed(0)
    assert_same_state(model, tr.DigitNet(4), "DigitNet(4)")


@pytest.mark.points(1)
def test_transfer_model_matches_reference(student):
    """The pre-trained features and the new head's default initialization (seed 0)."""
    model = student.transfer_model(PRETRAINED, 5)
    torch.manual_seed(0)
    assert_same_state(model, tr.transfer_model(PRETRAINED, 5), "transfer_model(pretrained, 5)")


@pytest.mark.points(2)
def test_frozen_features_do_not_change_and_get_no_gradient(student):
    """After head_optimizer, training leaves every feature exactly as pre-trained, without gradients."""
    X, y = data.digits(seed=1, images=True)[:2]
    model = student.transfer_model(PRETRAINED, 5)
    student.train(model, student.head_optimizer(model, lr=0.05), X[:200], y[:200] // 2, epochs=3, batch_size=20)
    state = model.state_dict()
    for name, value in PRETRAINED.items():
        if name.startswith("features."):
            assert_close(state.get(name), value, f"{name} after training with head_optimizer", rtol=0, atol=0)
    for index in ("0", "3"):
        layer = getattr(model.features, index)
        if fetch(layer.weight.requires_grad) is not False or fetch(layer.weight.grad) is not None:
            raise AssertionError(f"features.{index}.weight still requires (or has) a gradient after head_optimizer")


@pytest.mark.points(2)
def test_fine_tuning_follows_reference_step_by_step(student):
    """Head, then fine-tuning with two learning rates, in float64: losses and weights match."""
    X, y = data.digits(seed=2, images=True)[:2]
    X, y = X[:60], y[:60] % 5
    model = student.transfer_model(PRETRAINED, 5).double()
    torch.manual_seed(0)
    reference = tr.transfer_model(PRETRAINED, 5).double()
    history = student.train(model, student.head_optimizer(model, lr=0.02), X, y, epochs=2, batch_size=20)
    history += student.train(model, student.fine_tune_optimizer(model, lr=3e-3, backbone_lr=5e-4), X, y,
                             epochs=2, batch_size=20, seed=1)
    expected = seg.train(reference, tr.head_optimizer(reference, lr=0.02), X, y, epochs=2, batch_size=20)
    expected += seg.train(reference, tr.fine_tune_optimizer(reference, lr=3e-3, backbone_lr=5e-4), X, y,
                          epochs=2, batch_size=20, seed=1)
    assert_close(history, expected, "the losses of head training then fine-tuning")
    assert_same_state(model, reference, "the fine-tuned network")


def few_label_draws(secret, draws: int = 5, per_class: int = 5):
    """Draws of ``per_class`` labelled training images per class, and the test part, from a
    secret view of the digits 5-9: moved by up to a pixel, noisy, labels renamed to 0-4."""
    parts = data.digits(seed=0, images=True)
    noise = 0.05 * float(parts.X_train.std())
    view = parts.map_inputs(lambda X: heldout.translated(X, secret, 1) + noise * secret.standard_normal(X.shape))
    names = secret.permutation(5)
    train, test = view.y_train >= 5, view.y_test >= 5
    X, y = view.X_train[train], names[view.y_train[train] - 5]
    picks = [np.concatenate([secret.choice(np.flatnonzero(y == k), per_class, replace=False) for k in range(5)])
             for _ in range(draws)]
    return [(X[pick], y[pick]) for pick in picks], view.X_test[test], names[view.y_test[test] - 5]


def accuracy_of(model, X, y) -> float:
    """Test accuracy of the reference DigitNet(5) holding the student's trained weights."""
    return float(np.mean(seg.predict(loaded(tr.DigitNet(5), model), X).numpy() == y))


def transfer_scores(student, secret, device="cpu", scratch=True, fine_tune=True) -> dict:
    """The grader's procedure: on each of five draws of five labels per class, DigitNet(5)
    from scratch, the new head on frozen features, then fine-tuning; their test accuracies
    (from the trained weights, with the reference DigitNet) averaged over the draws."""
    draws, X_test, y_test = few_label_draws(secret)
    scores = {"scratch": [], "head": [], "fine_tuned": []}
    for X, y in draws:
        if scratch:
            baseline = student.DigitNet(5)
            student.train(baseline, student.torch.optim.Adam(baseline.parameters(), lr=3e-3), X, y, epochs=60,
                          batch_size=10, device=device)
            scores["scratch"].append(accuracy_of(baseline, X_test, y_test))
        model = student.transfer_model(PRETRAINED, 5)
        student.train(model, student.head_optimizer(model, lr=1e-2), X, y, epochs=60, batch_size=10, device=device)
        scores["head"].append(accuracy_of(model, X_test, y_test))
        if fine_tune:
            student.train(model, student.fine_tune_optimizer(model, lr=1e-3, backbone_lr=1e-4), X, y, epochs=30,
                          batch_size=10, device=device)
            scores["fine_tuned"].append(accuracy_of(model, X_test, y_test))
    return {name: float(np.mean(values)) for name, values in scores.items() if values}


@pytest.mark.points(4)
@pytest.mark.time_limit(120)
def test_new_head_on_frozen_features_beats_training_from_scratch(student, secret, thresholds, device):
    """Five labels per class of unseen digits: the new head's accuracy, and its gain over scratch."""
    scores = transfer_scores(student, secret, device, fine_tune=False)
    assert_at_least(scores["head"], thresholds["transfer_accuracy"],
                    "the test accuracy of the new head on frozen features (mean of 5 draws)")
    assert_at_least(scores["head"] - scores["scratch"], thresholds["transfer_gain_over_scratch"],
                    f"the new head's accuracy minus that of training from scratch ({scores['scratch']:.3f})")


@pytest.mark.points(2)
@pytest.mark.time_limit(120)
def test_fine_tuned_network_reaches_the_accuracy_threshold(student, secret, thresholds, device):
    """The new head, then all layers with fine_tune_optimizer(lr=1e-3, backbone_lr=1e-4) for 30 epochs."""
    scores = transfer_scores(student, secret, device, scratch=False)
    assert_at_least(scores["fine_tuned"], thresholds["fine_tune_accuracy"],
                    "the test accuracy of the fine-tuned network (mean of 5 draws)")


# ---------------------------------------------------------------- 4. contrastive learning


@pytest.mark.points(2)
def test_nt_xent_and_its_gradient_match_reference(student, rng):
    """Values for other sizes and temperatures; gradients (at the default temperature 0.5) by autograd."""
    one = torch.tensor(1.0, dtype=F64)
    for n, dim, temperature in [(3, 5, 0.7), (8, 4, 0.05), (2, 2, 1.5)]:
        z1, z2 = torch.from_numpy(rng.normal(size=(n, dim))), torch.from_numpy(3 * rng.normal(size=(n, dim)))
        assert_close(student.nt_xent_loss(z1, z2, temperature), con.nt_xent_loss(z1, z2, temperature),
                     f"nt_xent_loss for N={n}, D={dim}, T={temperature}")
        _, grads = student.torch.autograd.functional.vjp(fetch(student.nt_xent_loss), (z1, z2), one)
        _, expected = torch.autograd.functional.vjp(con.nt_xent_loss, (z1, z2), one)
        for name, got, want in zip(("z1", "z2"), grads, expected):
            assert_close(got, want, f"the gradient of nt_xent_loss with respect to {name} (N={n}, D={dim})")


@pytest.mark.points(1)
def test_nt_xent_is_stable_for_small_temperatures(student, rng):
    z1, z2 = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    for temperature in (0.01, 0.002):
        loss = student.nt_xent_loss(torch.from_numpy(z1).float(), torch.from_numpy(z2).float(), temperature)
        expected = con.nt_xent_loss(torch.from_numpy(z1), torch.from_numpy(z2), temperature)
        assert_close(loss, expected, f"nt_xent_loss in float32 for T={temperature}", rtol=1e-3)


@pytest.mark.points(1)
def test_contrastive_net_and_encode_match_reference(student, rng):
    model = student.ContrastiveNet()
    torch.manual_seed(0)
    reference = con.ContrastiveNet()
    assert_same_state(model, reference, "ContrastiveNet()")
    model, reference = twin(student, "ContrastiveNet", con.ContrastiveNet, rng=rng)
    X = rng.uniform(size=(7, 1, 8, 8))
    with torch.no_grad():
        expected = reference(torch.from_numpy(X))
    assert_close(model(torch.from_numpy(X)), expected, "ContrastiveNet's projections")
    assert_close(student.encode(model, X), con.encode(reference, X), "encode(model, X)")


def probe_scores(student, secret, device="cpu") -> tuple[float, float]:
    """The grader's procedure: ContrastiveNet() trained with the notebook's call on a secret
    view of the digits; the linear probe's test accuracy on its encoder's features (computed
    with the reference encoder) and on an untrained encoder's."""
    view = heldout.shifted_images(data.digits(seed=0, images=True), secret)
    model = student.ContrastiveNet()
    student.train_contrastive(model, view.X_train, epochs=30, lr=3e-3, batch_size=128, temperature=0.2,
                              device=device)
    trained = loaded(con.ContrastiveNet(), model)
    torch.manual_seed(0)
    untrained = con.ContrastiveNet()

    def probe(net):
        return linear_probe_accuracy(con.encode(net, view.X_train).numpy(), view.y_train,
                                     con.encode(net, view.X_test).numpy(), view.y_test)

    return probe(trained), probe(untrained)


@pytest.mark.points(4)
@pytest.mark.time_limit(120)
def test_linear_probe_on_contrastive_features_beats_random_features(student, secret, thresholds, device):
    """ContrastiveNet() trained with the notebook's call on a secret view; the grader's probe on its features."""
    learned, baseline = probe_scores(student, secret, device)
    assert_at_least(learned, thresholds["probe_accuracy"], "the linear probe's test accuracy on the trained encoder")
    assert_at_least(learned - baseline, thresholds["probe_gain_over_random"],
                    f"the probe's accuracy minus that on an untrained encoder ({baseline:.3f})")
