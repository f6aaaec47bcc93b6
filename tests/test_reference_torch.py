"""reference.torch_networks: the custom autograd function, the module, data, training, checkpoints."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from autograder.student import data
from reference import torch_networks as tn


@pytest.fixture
def x64():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, 5, dtype=torch.float64, generator=generator)
    return x + 0.1 * x.sign()  # |x| >= 0.1: central differences stay off the kink


@pytest.fixture(scope="module")
def digits():
    return data.digits(seed=0)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5])
def test_leaky_relu_passes_gradcheck(x64, slope):
    x = x64.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda v: tn.LeakyReLUFunction.apply(v, slope), (x,))
    assert torch.autograd.gradgradcheck(lambda v: tn.LeakyReLUFunction.apply(v, slope), (x,))


@pytest.mark.parametrize("slope", [0.01, 0.3])
def test_leaky_relu_matches_torch_forward_and_backward(slope):
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    x_torch = x.detach().clone().requires_grad_()
    grad_output = torch.tensor([1.0, -2.0, 3.0, 0.5, -1.0], dtype=torch.float64)
    out, expected = tn.leaky_relu(x, slope), F.leaky_relu(x_torch, slope)
    out.backward(grad_output)
    expected.backward(grad_output)
    assert torch.equal(out, expected)
    assert torch.equal(x.grad, x_torch.grad)  # also at 0, where both take the negative slope


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_leaky_relu_keeps_dtype(dtype):
    x = torch.randn(3, 4, dtype=dtype, requires_grad=True)
    out = tn.leaky_relu(x)
    out.sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype


def test_mlp_is_the_two_layer_formula():
    torch.manual_seed(0)
    model = tn.TwoLayerMLP(7, 5, 3, negative_slope=0.1, dtype=torch.float64).eval()
    x = torch.randn(4, 7, dtype=torch.float64)
    hidden = F.leaky_relu(x @ model.fc1.weight.T + model.fc1.bias, 0.1)
    assert torch.allclose(model(x), hidden @ model.fc2.weight.T + model.fc2.bias)
    assert list(model.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_mlp_initializes_like_two_linear_layers_in_order():
    torch.manual_seed(3)
    model = tn.TwoLayerMLP(7, 5, 3)
    torch.manual_seed(3)
    fc1, fc2 = torch.nn.Linear(7, 5), torch.nn.Linear(5, 3)
    assert torch.equal(model.fc1.weight, fc1.weight) and torch.equal(model.fc2.bias, fc2.bias)


def test_mlp_dropout_acts_in_training_mode_only():
    torch.manual_seed(0)
    model = tn.TwoLayerMLP(20, 50, 4, dropout=0.5)
    x = torch.randn(10, 20)
    train_out = model(x)
    model.eval()
    assert torch.equal(model(x), model(x))
    assert not torch.allclose(train_out, model(x))


def test_forward_and_backward_create_no_tensor_on_the_default_device():
    model = tn.TwoLayerMLP(6, 4, 3, dtype=torch.float64)
    x = torch.randn(5, 6, dtype=torch.float64)
    expected = model(x)
    torch.set_default_device("meta")
    try:
        out = model(x)
        out.sum().backward()
    finally:
        torch.set_default_device(None)
    assert out.device.type == "cpu" and torch.allclose(out, expected)


def test_meta_default_device_catches_a_device_bound_tensor():
    """The trick the rubric uses: a tensor created without device= fails against CPU inputs."""
    x = torch.randn(3, dtype=torch.float64)
    torch.set_default_device("meta")
    try:
        with pytest.raises((RuntimeError, NotImplementedError)):
            slope = torch.full(x.shape, 0.1, dtype=x.dtype)
            slope[x > 0] = 1.0
            x * slope
    finally:
        torch.set_default_device(None)


def test_dataset_items_and_length(digits):
    X, y, *_ = digits
    dataset = tn.DigitsDataset(X, y, dtype=torch.float64)
    features, label = dataset[5]
    assert len(dataset) == len(X)
    assert features.dtype == torch.float64 and torch.equal(features, torch.from_numpy(X[5]))
    assert label.dtype == torch.int64 and label.ndim == 0 and int(label) == y[5]


def test_loader_is_reproducible_and_follows_the_seed(digits):
    X, y, *_ = digits
    first = [labels for _, labels in tn.make_loader(X, y, batch_size=100, seed=0)]
    again = [labels for _, labels in tn.make_loader(X, y, batch_size=100, seed=0)]
    other = [labels for _, labels in tn.make_loader(X, y, batch_size=100, seed=1)]
    assert [len(b) for b in first] == [100] * (len(X) // 100) + [len(X) % 100]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])
    unshuffled = next(iter(tn.make_loader(X, y, batch_size=100, shuffle=False)))[1]
    assert torch.equal(unshuffled, torch.from_numpy(y[:100]))


def test_train_matches_plain_sgd_with_momentum(digits):
    X, y, *_ = digits
    torch.manual_seed(0)
    model = tn.TwoLayerMLP(64, 16, 10, dtype=torch.float64)
    copy = tn.TwoLayerMLP(64, 16, 10, dtype=torch.float64)
    copy.load_state_dict(model.state_dict())
    history = tn.train(model, tn.make_loader(X[:200], y[:200], batch_size=50, shuffle=False,
                                             dtype=torch.float64), epochs=2, lr=0.1, momentum=0.9)
    velocity = [torch.zeros_like(p) for p in copy.parameters()]
    expected = []
    for _ in range(2):
        for start in range(0, 200, 50):
            inputs, labels = torch.from_numpy(X[start:start + 50]), torch.from_numpy(y[start:start + 50])
            loss = -torch.log_softmax(copy(inputs), dim=1)[torch.arange(50), labels].mean()
            grads = torch.autograd.grad(loss, list(copy.parameters()))
            with torch.no_grad():
                for p, v, g in zip(copy.parameters(), velocity, grads):
                    v.mul_(0.9).add_(g)
                    p -= 0.1 * v
            expected.append(loss.item())
    np.testing.assert_allclose(history, expected, rtol=1e-10)
    for p, q in zip(model.parameters(), copy.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def test_train_leaves_the_model_in_training_mode_and_on_its_device(digits):
    X, y, *_ = digits
    model = tn.TwoLayerMLP(64, 8, 10, dropout=0.5).eval()
    tn.train(model, tn.make_loader(X[:64], y[:64]), epochs=1, device="cpu")
    assert model.training and model.fc1.weight.device.type == "cpu"


def test_mlp_reaches_the_course_threshold_quickly(digits):
    X_train, y_train, _, _, X_test, y_test = digits
    torch.manual_seed(0)
    model = tn.TwoLayerMLP(64, 100, 10)
    history = tn.train(model, tn.make_loader(X_train, y_train))
    predicted = tn.predict(model, X_test)
    assert predicted.dtype == torch.int64 and predicted.device.type == "cpu" and not model.training
    assert (predicted.numpy() == y_test).mean() >= 0.95
    assert history[-1] < history[0] / 10


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = tn.TwoLayerMLP(64, 12, 10, dtype=torch.float64)
    path = tmp_path / "checkpoint.pt"
    tn.save_checkpoint(model, path)
    state = torch.load(path, weights_only=True)
    assert list(state) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    restored = tn.load_checkpoint(path)
    assert not restored.training and restored.fc1.weight.dtype == torch.float64
    assert restored.fc1.out_features == 12
    for name, value in restored.state_dict().items():
        assert torch.equal(value, state[name])


def test_a_pickled_module_is_refused_by_load_checkpoint(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save(tn.TwoLayerMLP(4, 3, 2), path)
    with pytest.raises(Exception, match="weights_only"):
        tn.load_checkpoint(path)
