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
]

ALTERNATIVES = [
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
