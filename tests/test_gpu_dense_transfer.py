"""On a CUDA machine, the torch references of assignment 09 run on the GPU, unchanged, and agree
with the CPU: the U-Net, its training loop, transfer learning, the views, NT-Xent and the
contrastive training.

Imports only torch, numpy, reference and autograder.student, and uses no conftest fixture
(run with ``pytest --noconftest``).
"""

import numpy as np
import pytest
import torch

from autograder.student import data, generated, weights
from reference import contrastive, segmentation, transfer

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

F64 = torch.float64
DEVICES = ["cpu", "cuda"]


def twins(make):
    """The same model (same weights, float64) on the CPU and on the GPU."""
    torch.manual_seed(0)
    cpu = make().double()
    gpu = make().double().to("cuda")
    gpu.load_state_dict(cpu.state_dict())
    return {"cpu": cpu, "cuda": gpu}


def cpu_state(model) -> dict:
    return {name: value.cpu() for name, value in model.state_dict().items()}


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_unet_logits_and_input_gradients_agree_on_gpu_and_cpu(mode):
    images, _ = generated.segmented_shapes(6, seed=1)
    results = {}
    for device, model in twins(lambda: segmentation.UNet(channels=4)).items():
        getattr(model, mode)()
        inputs = torch.from_numpy(images).to(device).requires_grad_()
        logits = model(inputs)
        logits.logsumexp(dim=1).sum().backward()
        assert logits.device.type == device
        results[device] = (logits.detach().cpu(), inputs.grad.cpu())
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-9, atol=1e-10)


def test_training_and_prediction_agree_on_gpu_and_cpu():
    images, masks = generated.segmented_shapes(40, seed=2)
    results = {}
    for device, model in twins(lambda: segmentation.UNet(channels=4)).items():
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        history = segmentation.train(model, optimizer, images, masks, epochs=2, batch_size=10, seed=3)
        labels = segmentation.predict(model, images)
        assert labels.device.type == "cpu"
        results[device] = (history, cpu_state(model), labels)
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-7)
    torch.testing.assert_close(results["cuda"][1], results["cpu"][1], rtol=1e-6, atol=1e-8)


def test_train_moves_a_cpu_unet_to_the_gpu_and_segments_the_shapes():
    images, masks = generated.segmented_shapes(700, seed=0)
    torch.manual_seed(0)
    model = segmentation.UNet()
    segmentation.train(model, torch.optim.Adam(model.parameters(), lr=2e-3), images[:400], masks[:400],
                       epochs=20, batch_size=32, device="cuda")
    assert model.head.weight.device.type == "cuda"
    score = segmentation.mean_iou(segmentation.predict(model, images[400:]).numpy(), masks[400:], 4)
    assert score >= 0.7  # course.yml's segmentation_miou


def test_frozen_features_stay_frozen_on_the_gpu_and_fine_tuning_moves_them():
    pretrained = weights.load("digitnet_0_to_4")
    X, y = data.digits(seed=0, images=True)[:2]
    model = transfer.transfer_model(pretrained, 5).to("cuda")
    segmentation.train(model, transfer.head_optimizer(model), X[:50], y[:50] % 5, epochs=3, batch_size=10)
    state = cpu_state(model)
    for name, value in pretrained.items():
        if name.startswith("features."):
            assert torch.equal(state[name], value)
    segmentation.train(model, transfer.fine_tune_optimizer(model), X[:50], y[:50] % 5, epochs=1, batch_size=50)
    assert not torch.equal(model.features[0].weight.cpu(), pretrained["features.0.weight"])


def test_views_and_loss_agree_on_gpu_and_cpu():
    images = torch.from_numpy(data.digits(seed=0, images=True).X_train[:16])
    views = {device: contrastive.augment(images.to(device), torch.Generator().manual_seed(5)) for device in DEVICES}
    assert views["cuda"].device.type == "cuda"
    torch.testing.assert_close(views["cuda"].cpu(), views["cpu"], rtol=1e-9, atol=1e-9)
    z1, z2 = torch.randn(8, 6, dtype=F64), torch.randn(8, 6, dtype=F64)
    losses = {device: contrastive.nt_xent_loss(z1.to(device), z2.to(device), 0.1) for device in DEVICES}
    torch.testing.assert_close(losses["cuda"].cpu(), losses["cpu"], rtol=1e-12, atol=0)


def test_contrastive_training_agrees_on_gpu_and_cpu():
    X = data.digits(seed=0, images=True).X_train[:200]
    results = {}
    for device, model in twins(contrastive.ContrastiveNet).items():
        history = contrastive.train_contrastive(model, X, epochs=2, batch_size=50, device=device)
        results[device] = (history, contrastive.encode(model, X[:20]))
        assert model.projector[0].weight.device.type == device
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-6)
    torch.testing.assert_close(results["cuda"][1], results["cpu"][1], rtol=1e-5, atol=1e-7)
