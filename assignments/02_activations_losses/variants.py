"""Plausible wrong and correct-but-different answers for 02; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    Variant("softmax_without_max_shift", "the textbook softmax, which overflows at scores of 1000",
            Replace("softmax", """
def softmax(scores):
    e = np.exp(scores)
    return e / np.sum(e, axis=-1, keepdims=True)
""")),
    Variant("relu_gradient_passes_negatives", "ReLU backward lets the gradient through for x < 0",
            Edit("relu_backward", "np.where(x > 0, dout, 0.0)", "np.where(x > 0, dout, dout)")),
    Variant("leaky_slope_on_positive_side", "the leaky slope applied to x > 0 instead of x <= 0",
            Edit("leaky_relu_forward", "np.where(x > 0, x, negative_slope * x)",
                 "np.where(x > 0, negative_slope * x, x)"),
            Edit("leaky_relu_backward", "np.where(x > 0, dout, negative_slope * dout)",
                 "np.where(x > 0, negative_slope * dout, dout)")),
    Variant("cross_entropy_not_averaged", "cross-entropy summed over the batch instead of averaged",
            Edit("softmax_cross_entropy", "-np.mean(log_probs[np.arange(n), y])",
                 "-np.sum(log_probs[np.arange(n), y])"),
            Edit("softmax_cross_entropy", "return loss, dscores / n", "return loss, dscores")),
    Variant("hinge_counts_correct_class", "the hinge loss sums over every class, the correct one too",
            Edit("multiclass_hinge_loss", "    margins[rows, y] = 0.0\n", "")),
    Variant("prelu_alpha_gradient_averaged", "PReLU's alpha gradient averaged over the batch, not summed",
            Edit("prelu_backward", "np.sum(np.where(x > 0, 0.0, dout * x), axis=axes)",
                 "np.mean(np.where(x > 0, 0.0, dout * x), axis=axes)")),
    Variant("prelu_alpha_gradient_first_sample", "PReLU's alpha gradient taken from the first sample only",
            Edit("prelu_backward", "np.sum(np.where(x > 0, 0.0, dout * x), axis=axes)",
                 "np.sum(np.where(x > 0, 0.0, dout * x)[:1], axis=axes)")),
    Variant("tanh_derivative_not_squared", "tanh' written as 1 - tanh(x)",
            Edit("tanh_backward", "dout * (1.0 - out ** 2)", "dout * (1.0 - out)")),
    Variant("maxout_gradient_to_every_piece", "maxout sends the gradient to every piece, not the winner",
            Edit("maxout_backward", "dz = (pieces == winner) * dout", "dz = np.ones_like(pieces) * dout")),
    Variant("log_softmax_of_softmax", "log-softmax as log(softmax): -inf once a probability underflows",
            Replace("log_softmax", """
def log_softmax(scores):
    return np.log(softmax(scores))
""")),
    Variant("softmax_regression_bias_frozen", "softmax regression never updates the bias",
            Edit("fit_softmax_regression", "b = b - lr * dscores.sum(axis=0)", "b = b")),
    Variant("relu_forward_in_place", "relu_forward zeroes the negative entries of x itself: x[x < 0] = 0",
            Replace("relu_forward", """
def relu_forward(x):
    x[x < 0] = 0
    return x, x
""")),
    Variant("relu_backward_in_place", "relu_backward zeroes entries of dout itself and returns it",
            Replace("relu_backward", """
def relu_backward(dout, cache):
    dout[cache <= 0] = 0
    return dout
""")),
    Variant("softmax_shifts_scores_in_place", "softmax subtracts the maximum from the caller's scores",
            Replace("softmax", """
def softmax(scores):
    scores -= np.max(scores, axis=-1, keepdims=True)
    e = np.exp(scores)
    return e / np.sum(e, axis=-1, keepdims=True)
""")),
    Variant("sigmoid_overflow_silenced", "the textbook sigmoid with its overflow silenced by np.errstate",
            Replace("sigmoid", """
def sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))
""")),
    Variant("softmax_regression_history_after_step", "the history records the loss after each step, not before",
            Edit("fit_softmax_regression", "        history.append(float(loss))\n", ""),
            Edit("fit_softmax_regression", "        b = b - lr * dscores.sum(axis=0)\n",
                 "        b = b - lr * dscores.sum(axis=0)\n"
                 "        history.append(float(softmax_cross_entropy(X @ W + b, y)[0]))\n")),
]

ALTERNATIVES = [
    Variant("loops", "Python loops over samples and pieces instead of vectorized code",
            Replace("prelu_backward", """
def prelu_backward(dout, cache):
    x, alpha = cache
    dx, dalpha = np.zeros_like(x), np.zeros_like(alpha)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            negative = x[n, c] <= 0
            dx[n, c] = np.where(negative, alpha[c] * dout[n, c], dout[n, c])
            dalpha[c] += np.sum(dout[n, c] * x[n, c] * negative)
    return dx, dalpha
"""),
            Replace("maxout_forward", """
def maxout_forward(x, w, b):
    out = np.full((x.shape[0], w.shape[2]), -np.inf)
    winner = np.zeros(out.shape, dtype=int)
    for j in range(w.shape[0]):
        z = x @ w[j] + b[j]
        better = z > out
        out[better] = z[better]
        winner[better] = j
    return out, (x, w, winner)
"""),
            Replace("maxout_backward", """
def maxout_backward(dout, cache):
    x, w, winner = cache
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros((w.shape[0], w.shape[2]))
    for j in range(w.shape[0]):
        g = np.where(winner == j, dout, 0.0)
        dx += g @ w[j].T
        dw[j] = x.T @ g
        db[j] = g.sum(axis=0)
    return dx, dw, db
"""),
            Replace("softmax_cross_entropy", """
def softmax_cross_entropy(scores, y):
    n = len(scores)
    total, dscores = 0.0, np.zeros_like(scores)
    for i in range(n):
        log_p = log_softmax(scores[i])
        total -= log_p[y[i]]
        dscores[i] = np.exp(log_p)
        dscores[i, y[i]] -= 1
    return total / n, dscores / n
"""),
            Replace("multiclass_hinge_loss", """
def multiclass_hinge_loss(scores, y):
    n, c = scores.shape
    total, dscores = 0.0, np.zeros_like(scores)
    for i in range(n):
        for j in range(c):
            if j == y[i]:
                continue
            margin = scores[i, j] - scores[i, y[i]] + 1
            if margin > 0:
                total += margin
                dscores[i, j] += 1
                dscores[i, y[i]] -= 1
    return total / n, dscores / n
""")),
    Variant("other_stable_formulas", "logsumexp via np.logaddexp.reduce, softmax as exp(log_softmax), "
            "tanh from the sigmoid, ReLU and leaky ReLU by masks, L1 through np.where",
            Replace("log_softmax", """
def log_softmax(scores):
    return scores - np.logaddexp.reduce(scores, axis=-1, keepdims=True)
"""),
            Replace("softmax", """
def softmax(scores):
    return np.exp(log_softmax(scores))
"""),
            Replace("tanh_forward", """
def tanh_forward(x):
    out = 2.0 * sigmoid(2.0 * x) - 1.0
    return out, x
"""),
            Replace("tanh_backward", """
def tanh_backward(dout, cache):
    s = sigmoid(2.0 * cache)
    return dout * 4.0 * s * (1.0 - s)
"""),
            Replace("relu_forward", """
def relu_forward(x):
    mask = x > 0
    return x * mask, mask
"""),
            Replace("relu_backward", """
def relu_backward(dout, cache):
    return dout * cache
"""),
            Replace("leaky_relu_forward", """
def leaky_relu_forward(x, negative_slope=0.01):
    scale = np.where(x > 0, 1.0, negative_slope)
    return x * scale, scale
"""),
            Replace("leaky_relu_backward", """
def leaky_relu_backward(dout, cache):
    return dout * cache
"""),
            Replace("l1_loss", """
def l1_loss(y_pred, y):
    diff = y_pred - y
    n = diff.size
    grad = np.where(diff > 0, 1.0, np.where(diff < 0, -1.0, 0.0)) / n
    return float(np.abs(diff).sum() / n), grad
"""),
            Replace("multiclass_hinge_loss", """
def multiclass_hinge_loss(scores, y):
    n, c = scores.shape
    onehot = np.eye(c)[y]
    correct = np.sum(scores * onehot, axis=1, keepdims=True)
    margins = (scores - correct + 1.0) * (1 - onehot)
    violated = (margins > 0) * 1.0
    grad = violated - onehot * violated.sum(axis=1, keepdims=True)
    return np.maximum(margins, 0).sum() / n, grad / n
""")),
    Variant("maxout_gradients_as_a_list", "maxout_backward returns [dx, dw, db], a list",
            Edit("maxout_backward", "return dx, dw, db", "return [dx, dw, db]")),
    Variant("torch_maxout_stacked", "the Maxout module built with torch.rand, torch.stack and gather",
            Replace("Maxout", """
class Maxout(nn.Module):
    def __init__(self, in_features, out_features, pieces=2, device=None, dtype=None):
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        shape = (pieces, in_features, out_features)
        self.weight = nn.Parameter(torch.rand(shape, device=device, dtype=dtype) * 2 * bound - bound)
        self.bias = nn.Parameter(torch.rand(shape[0], shape[2], device=device, dtype=dtype) * 2 * bound - bound)

    def forward(self, x):
        z = torch.stack([x @ w + b for w, b in zip(self.weight, self.bias)])
        index = z.argmax(dim=0, keepdim=True)
        return z.gather(0, index).squeeze(0)
""")),
]

# Mutants of the reference (bench/mutation.py) that no test can tell from it, and why.
EQUIVALENT_MUTANTS = [
    ("sigmoid: z = np.asarray(z, dtype=np.float64) -> pass", "the same values for any array of numbers"),
    ("sigmoid: z = np.asarray(z, dtype=np.float64) -> z = np.asarray(z)", "the same values for any array of numbers"),
    ("sigmoid: return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)) -> "
     "return np.where(z > 0, 1.0 / (1.0 + e), e / (1.0 + e))", "both branches give 0.5 at z = 0"),
    ("relu_forward: out = np.maximum(x, 0) -> out = np.maximum(0, x)", "np.maximum is symmetric"),
    ("leaky_relu_forward: out = np.where(x > 0, x, negative_slope * x) -> "
     "out = np.where(x >= 0, x, negative_slope * x)", "both branches give 0 at x = 0"),
    ("prelu_forward: out = np.where(x > 0, x, a * x) -> out = np.where(x >= 0, x, a * x)",
     "both branches give 0 at x = 0"),
    ("prelu_backward: dalpha = np.sum(np.where(x > 0, 0.0, dout * x), axis=axes) -> "
     "dalpha = np.sum(np.where(x >= 0, 0.0, dout * x), axis=axes)", "both branches give 0 at x = 0"),
    ("prelu_forward: a = alpha.reshape((1, -1) + (1,) * (x.ndim - 2)) -> "
     "a = alpha.reshape((1, -2) + (1,) * (x.ndim - 2))", "NumPy reads any negative size as the unknown one"),
    ("prelu_backward: a = alpha.reshape((1, -1) + (1,) * (x.ndim - 2)) -> "
     "a = alpha.reshape((1, -2) + (1,) * (x.ndim - 2))", "NumPy reads any negative size as the unknown one"),
    ("maxout_forward: out = np.take_along_axis(z, winner[None], axis=0)[0] -> "
     "out = np.take_along_axis(z, winner[None], axis=0)[-1]", "the axis taken along has length 1"),
    ("multiclass_hinge_loss: margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0) -> "
     "margins = np.maximum(scores - scores[rows, y][:, None] + 1.0, 0.0)", "np.maximum is symmetric"),
]
