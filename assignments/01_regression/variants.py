"""Plausible wrong and correct-but-different answers for 01; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    Variant("bce_not_averaged", "BCE summed over the batch instead of averaged",
            Edit("bce_with_logits", "np.mean(losses)", "np.sum(losses)"),
            Edit("bce_with_logits", "(sigmoid(z) - y) / z.size", "sigmoid(z) - y")),
    Variant("gradient_sign_flipped", "gradient ascent: the logistic update adds the gradient",
            Edit("fit_logistic", "w = w - lr", "w = w + lr")),
    Variant("sigmoid_overflows", "the textbook sigmoid, which overflows for z < -709",
            Replace("sigmoid", "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-z))\n")),
    Variant("bias_column_forgotten", "the normal equations solved without the bias column",
            Edit("fit_normal_equations", "Xb = add_bias(X)", "Xb = X")),
    Variant("never_trains", "the update is computed but never assigned to w",
            Edit("fit_logistic", "w = w - lr * (Xb.T @ dlogits)", "w - lr * (Xb.T @ dlogits)")),
    Variant("mse_gradient_missing_factor_2", "the MSE gradient without its factor 2",
            Edit("mse_loss", "2.0 * diff / diff.size", "diff / diff.size")),
    Variant("torch_loss_on_probabilities", "BCE with logits applied to probabilities",
            Edit("train_gd", "value = criterion(model(X), y)", "value = criterion(torch.sigmoid(model(X)), y)")),
    Variant("mse_modifies_y_pred", "mse_loss subtracts in place: right values, but the caller's y_pred changes",
            Replace("mse_loss", """
def mse_loss(y_pred, y):
    y_pred -= y
    return np.mean(y_pred ** 2), 2.0 * y_pred / y_pred.size
""")),
    Variant("sigmoid_overflow_silenced", "the textbook sigmoid with its overflow silenced by np.errstate",
            Replace("sigmoid", """
def sigmoid(z):
    with np.errstate(all="ignore"):
        return 1.0 / (1.0 + np.exp(-z))
""")),
    Variant("bce_gradient_overflow_silenced", "the BCE gradient through a textbook sigmoid, overflow silenced",
            Edit("bce_with_logits", "dlogits = (sigmoid(z) - y) / z.size",
                 "with np.errstate(over='ignore'):\n        dlogits = (1.0 / (1.0 + np.exp(-z)) - y) / z.size")),
    Variant("linear_gd_history_after_step", "fit_linear_gd records the loss after each step, not before",
            Edit("fit_linear_gd", "history.append(float(loss))\n        w = w - lr * (Xb.T @ dy_pred)",
                 "w = w - lr * (Xb.T @ dy_pred)\n        history.append(float(mse_loss(Xb @ w, y)[0]))")),
    Variant("torch_model_in_float32", "the PyTorch model and data in float32: close, but not step for step",
            Edit("LinearModel", "nn.Linear(in_features, 1, dtype=torch.float64)", "nn.Linear(in_features, 1)"),
            Edit("train_gd", "X = torch.as_tensor(X, dtype=torch.float64, device=device)",
                 "X = torch.as_tensor(X, dtype=torch.float32, device=device)"),
            Edit("train_gd", "y = torch.as_tensor(y, dtype=torch.float64, device=device)",
                 "y = torch.as_tensor(y, dtype=torch.float32, device=device)")),
]

ALTERNATIVES = [
    Variant("tanh_sigmoid_and_private_copies", "the sigmoid as (1 + tanh(z / 2)) / 2, which never overflows; "
            "losses that work in place on their own copies",
            Replace("sigmoid", """
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))
"""),
            Replace("mse_loss", """
def mse_loss(y_pred, y):
    diff = np.array(y_pred, dtype=float)
    diff -= y
    grad = diff.copy()
    grad *= 2.0 / diff.size
    diff **= 2
    return diff.mean(), grad
""")),
    Variant("loops_and_lstsq", "Python loops instead of vectorized code; lstsq instead of solve",
            Replace("add_bias", """
def add_bias(X):
    return np.column_stack([np.ones(len(X)), X])
"""),
            Replace("fit_normal_equations", """
def fit_normal_equations(X, y):
    w, *_ = np.linalg.lstsq(add_bias(X), y, rcond=None)
    return w
"""),
            Replace("mse_loss", """
def mse_loss(y_pred, y):
    n = len(y)
    total, grad = 0.0, np.zeros(n)
    for i in range(n):
        total += (y_pred[i] - y[i]) ** 2
        grad[i] = 2 * (y_pred[i] - y[i]) / n
    return total / n, grad
"""),
            Replace("sigmoid", """
def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))
"""),
            Replace("bce_with_logits", """
def bce_with_logits(logits, y):
    n = len(logits)
    losses, grad = [], np.zeros(n)
    for i, (z, label) in enumerate(zip(logits, y)):
        losses.append(np.logaddexp(0.0, z) - z * label)
        grad[i] = (sigmoid(z) - label) / n
    return sum(losses) / n, grad
""")),
    Variant("torch_by_hand", "a module with its own Parameters and a hand-written update",
            Replace("LinearModel", """
class LinearModel(nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(in_features, dtype=torch.float64))
        self.bias = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        return x @ self.weight + self.bias
"""),
            Replace("train_gd", """
def train_gd(model, X, y, loss="mse", lr=0.1, epochs=500):
    device = next(model.parameters()).device
    X = torch.tensor(X, dtype=torch.float64, device=device)
    y = torch.tensor(y, dtype=torch.float64, device=device)
    history = []
    for _ in range(epochs):
        out = model(X)
        if loss == "mse":
            value = ((out - y) ** 2).mean()
        else:
            value = (nn.functional.softplus(out) - out * y).mean()
        model.zero_grad()
        value.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        history.append(float(value))
    return history
""")),
]

# Mutants of the reference (bench/mutation.py) that no test can tell from it, and why.
EQUIVALENT_MUTANTS = [
    ("add_bias: ones = np.ones((X.shape[0], 1), dtype=X.dtype) -> ones = np.ones((X.shape[0], 1))",
     "the same array for float64 X; the contract states no other dtype"),
    ("sigmoid: z = np.asarray(z, dtype=np.float64) -> pass", "the same values for any array of numbers"),
    ("sigmoid: z = np.asarray(z, dtype=np.float64) -> z = np.asarray(z)", "the same values for any array of numbers"),
    ("sigmoid: return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)) -> "
     "return np.where(z > 0, 1.0 / (1.0 + e), e / (1.0 + e))", "both branches give 0.5 at z = 0"),
    ("bce_with_logits: z = np.asarray(logits, dtype=np.float64) -> z = np.asarray(logits)",
     "the same values for float logits, the contract's"),
    ("bce_with_logits: losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))) -> "
     "losses = np.maximum(0, z) - z * y + np.log1p(np.exp(-np.abs(z)))", "np.maximum is symmetric"),
    ("forward: return self.linear(x).squeeze(-1) -> return self.linear(x).squeeze(1)",
     "the same for (N, in_features) inputs, the contract's"),
    ("train_gd: X = torch.as_tensor(X, dtype=torch.float64, device=device) -> "
     "X = torch.as_tensor(X, dtype=torch.float64)", "01 is graded on the CPU, where the model is"),
    ("train_gd: y = torch.as_tensor(y, dtype=torch.float64, device=device) -> "
     "y = torch.as_tensor(y, dtype=torch.float64)", "01 is graded on the CPU, where the model is"),
]
