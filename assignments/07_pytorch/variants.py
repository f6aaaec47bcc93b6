"""Plausible wrong and correct-but-different answers for 07; the project's tests grade each.

The device bug (a tensor created with torch.full(x.shape, ...) on the default device) cannot
fail on a CPU-only machine by itself; it loses points there through the tests that make
'meta' the default device, so it is an ordinary BUG. tests/test_gpu_torch.py shows the same
code failing on a real GPU.
"""

from autograder.student import data
from autograder.building.variants import Edit, Replace, Variant


def make_reference_checkpoint(path):
    """The checkpoint.pt a reference student hands in: the notebook's model, trained the same way."""
    import torch

    from reference import torch_networks as nets

    X_train, y_train, *_ = data.digits(seed=0)
    torch.manual_seed(0)
    model = nets.TwoLayerMLP(64, 100, 10)
    nets.train(model, nets.make_loader(X_train, y_train))
    nets.save_checkpoint(model, path)


REFERENCE_FILES = {"checkpoint.pt": make_reference_checkpoint}

BUGS = [
    Variant("zero_grad_missing", "gradients accumulate: optimizer.zero_grad() is never called",
            Edit("train", "            optimizer.zero_grad()\n", "")),
    Variant("cross_entropy_on_softmax", "the cross-entropy applied to probabilities instead of logits",
            Edit("train", "F.cross_entropy(model(inputs), labels)",
                 "F.cross_entropy(F.softmax(model(inputs), dim=1), labels)")),
    Variant("predict_in_training_mode", "predictions made with dropout still active",
            Edit("predict", "    model.eval()\n", "")),
    Variant("train_mode_never_restored", "train() leaves the model in evaluation mode after predict()",
            Edit("train", "    model.train()\n", "")),
    Variant("slopes_on_default_device", "the slopes created with torch.full(x.shape, ...): on the CPU "
            "whatever the device of x",
            Edit("LeakyReLUFunction", "torch.full_like(x, negative_slope)",
                 "torch.full(x.shape, negative_slope, dtype=x.dtype)")),
    Variant("backward_without_none", "backward returns one gradient for two inputs of forward",
            Edit("LeakyReLUFunction", "return grad_output * slope, None", "return grad_output * slope")),
    Variant("slope_inverted", "the backward multiplies by negative_slope where x > 0",
            Edit("LeakyReLUFunction", "return grad_output * slope, None",
                 "return grad_output * (1 + ctx.negative_slope - slope), None"),
            Edit("LeakyReLUFunction", "ctx.save_for_backward(slope)",
                 "ctx.save_for_backward(slope)\n        ctx.negative_slope = negative_slope")),
    Variant("checkpoint_pickles_the_model", "the whole module pickled, which weights_only=True refuses",
            Edit("save_checkpoint", "torch.save(model.state_dict(), path)", "torch.save(model, path)")),
    Variant("shuffled_once", "make_loader draws one seeded permutation and serves it in every epoch",
            Replace("make_loader", """
def make_loader(X, y, batch_size=64, shuffle=True, seed=0, dtype=torch.float32):
    n = len(y)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(n)
    return DataLoader(DigitsDataset(X, y, dtype), batch_size=batch_size, sampler=order.tolist())
""")),
    Variant("unseeded_shuffle", "make_loader shuffles with the global random state, ignoring seed",
            Edit("make_loader", "shuffle=shuffle,\n                      generator=generator)",
                 "shuffle=shuffle)")),
]

ALTERNATIVES = [
    Variant("where_and_saved_input", "the activation keeps x and builds the gradient with torch.where; "
            "dropout and prediction written with torch.nn.functional and inference_mode",
            Replace("LeakyReLUFunction", """
class LeakyReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return torch.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return torch.where(x > 0, grad_output, grad_output * ctx.negative_slope), None
"""),
            Replace("TwoLayerMLP", """
class TwoLayerMLP(nn.Module):
    def __init__(self, in_features, hidden_features, out_features, dropout=0.0, negative_slope=0.01,
                 device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.fc1 = nn.Linear(in_features, hidden_features, **factory)
        self.fc2 = nn.Linear(hidden_features, out_features, **factory)
        self.p = dropout
        self.negative_slope = negative_slope

    def forward(self, x):
        h = LeakyReLUFunction.apply(self.fc1(x), self.negative_slope)
        h = F.dropout(h, p=self.p, training=self.training)
        return self.fc2(h)
"""),
            Replace("predict", """
def predict(model, X):
    model.eval()
    p = next(model.parameters())
    X = torch.tensor(np.asarray(X), dtype=p.dtype, device=p.device)
    with torch.inference_mode():
        return torch.cat([model(chunk).argmax(1) for chunk in X.split(64)]).to("cpu")
""")),
    Variant("own_sampler_and_dropout", "a DataLoader with a sampler drawing torch.randperm from its own seeded "
            "generator, and dropout written by hand: correct, with other random draws than the reference",
            Replace("make_loader", """
def make_loader(X, y, batch_size=64, shuffle=True, seed=0, dtype=torch.float32):
    generator = torch.Generator()
    generator.manual_seed(seed)
    dataset = DigitsDataset(X, y, dtype)

    class EpochPermutation(torch.utils.data.Sampler):
        def __len__(self):
            return len(dataset)

        def __iter__(self):
            return iter(torch.randperm(len(dataset), generator=generator).tolist())

    return DataLoader(dataset, batch_size=batch_size, sampler=EpochPermutation() if shuffle else None)
"""),
            Replace("TwoLayerMLP", """
class TwoLayerMLP(nn.Module):
    def __init__(self, in_features, hidden_features, out_features, dropout=0.0, negative_slope=0.01,
                 device=None, dtype=None):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features, device=device, dtype=dtype)
        self.fc2 = nn.Linear(hidden_features, out_features, device=device, dtype=dtype)
        self.p, self.negative_slope = dropout, negative_slope

    def forward(self, x):
        hidden = leaky_relu(self.fc1(x), self.negative_slope)
        if self.training and self.p > 0:
            hidden = hidden * (torch.rand_like(hidden) >= self.p) / (1 - self.p)
        return self.fc2(hidden)
""")),
    Variant("hand_written_momentum", "SGD with momentum written out, log-softmax + NLL, a Dataset that "
            "indexes arrays on the fly, and a checkpoint loaded to the CPU and then moved",
            Replace("train", """
def train(model, loader, epochs=10, lr=0.1, momentum=0.9, device=None):
    model = model.to(device) if device is not None else model
    where = next(model.parameters()).device
    velocity = [None for _ in model.parameters()]
    history = []
    model.train()
    for epoch in tqdm(range(epochs), disable=None):
        for xb, yb in loader:
            model.zero_grad(set_to_none=True)
            loss = F.nll_loss(F.log_softmax(model(xb.to(where)), dim=1), yb.to(where))
            loss.backward()
            with torch.no_grad():
                for i, p in enumerate(model.parameters()):
                    velocity[i] = p.grad.clone() if velocity[i] is None else momentum * velocity[i] + p.grad
                    p -= lr * velocity[i]
            history.append(float(loss))
    return history
"""),
            Replace("DigitsDataset", """
class DigitsDataset(Dataset):
    def __init__(self, X, y, dtype=torch.float32):
        self.X, self.y, self.dtype = np.asarray(X), np.asarray(y), dtype

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        return torch.tensor(self.X[index], dtype=self.dtype), torch.tensor(int(self.y[index]))
"""),
            Replace("load_checkpoint", """
def load_checkpoint(path, device=None):
    state = torch.load(path, map_location="cpu", weights_only=True)
    w1, w2 = state["fc1.weight"], state["fc2.weight"]
    model = TwoLayerMLP(w1.shape[1], w1.shape[0], w2.shape[0], dtype=w1.dtype)
    model.load_state_dict(state)
    if device is not None:
        model = model.to(device)
    model.eval()
    return model
""")),
]

# Mutants of the reference (bench/mutation.py) that no test can tell from it, and why.
_CPU = ("equivalent on the CPU, where every tensor is already on the model's device; graded on a GPU, "
        "test_mlp_reaches_accuracy_threshold trains with device='cuda'")
_PROGRESS = "the progress bar's text is not graded"
_CPU_CHECKPOINT = "a checkpoint written on the CPU loads the same whatever map_location says"
EQUIVALENT_MUTANTS = [
    ("train: if device is not None: model.to(device) -> pass", _CPU),
    ("train: if device is not None: -> if device is None:", _CPU),
    ("train: model.to(device) -> pass", _CPU),
    ("train: device = next(model.parameters()).device -> pass", _CPU),
    ("train: inputs, labels = inputs.to(device), labels.to(device) -> pass", _CPU),
    ('train: progress = tqdm(range(epochs), desc="epochs", disable=None) -> progress = tqdm(range(epochs), '
     'disable=None)', _PROGRESS),
    ('train: progress = tqdm(range(epochs), desc="epochs", disable=None) -> progress = tqdm(range(epochs), '
     "desc='epochs')", _PROGRESS),
    ("train: progress.set_postfix(loss=history[-1]) -> pass", _PROGRESS),
    ("train: progress.set_postfix(loss=history[-1]) -> progress.set_postfix()", _PROGRESS),
    ("train: progress.set_postfix(loss=history[-1]) -> progress.set_postfix(loss=history[-0])", _PROGRESS),
    ('load_checkpoint: state = torch.load(path, map_location=device or "cpu", weights_only=True) -> '
     "state = torch.load(path, weights_only=True)", _CPU_CHECKPOINT),
    ('load_checkpoint: state = torch.load(path, map_location=device or "cpu", weights_only=True) -> '
     "state = torch.load(path, map_location=device and 'cpu', weights_only=True)", _CPU_CHECKPOINT),
    ('load_checkpoint: state = torch.load(path, map_location=device or "cpu", weights_only=True) -> '
     "state = torch.load(path, map_location=device or 'cpu')", "weights_only=True is torch.load's default"),
    ('load_checkpoint: state = torch.load(path, map_location=device or "cpu", weights_only=True) -> '
     'state = torch.load(path, map_location=device or "cpu", weights_only=False)',
     "not observable: it matters for a file with pickled objects, and a test can only have the worker write "
     "files of plain tensors, which both settings load"),
]
