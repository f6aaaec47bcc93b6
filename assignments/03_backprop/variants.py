"""Plausible wrong and correct-but-different answers for 03; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    Variant("second_weights_ignore_weight_scale", "W2 drawn at the default scale 1e-3 whatever weight_scale says",
            Edit("TwoLayerNet", '"W2": weight_scale * rng', '"W2": 1e-3 * rng')),
    Variant("bias_gradient_missing", "the bias gradient left at zero",
            Edit("affine_backward", "db = dout.sum(axis=0)", "db = np.zeros_like(dout[0])")),
    Variant("dx_not_reshaped", "dx returned flattened, (N, D) instead of x's shape",
            Edit("affine_backward", "dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T")),
    Variant("weight_gradient_transposed", "dw computed as dout^T x, of shape (M, D)",
            Edit("affine_backward", "dw = x_flat.T @ dout", "dw = dout.T @ x_flat")),
    Variant("reg_gradient_missing_factor_2", "the L2 gradient 0.5 reg W: the factor 2 of d(W^2)/dW lost",
            Edit("TwoLayerNet", '"W1": dW1 + self.reg * W1', '"W1": dW1 + 0.5 * self.reg * W1'),
            Edit("TwoLayerNet", '"W2": dW2 + self.reg * W2', '"W2": dW2 + 0.5 * self.reg * W2')),
    Variant("relu_gate_skipped", "affine_relu_backward passes dout straight to the affine layer",
            Edit("affine_relu_backward", "da = relu_backward(dout, relu_cache)", "da = dout")),
    Variant("penalty_on_biases", "the L2 gradient also applied to the biases",
            Edit("TwoLayerNet", '"b1": db1,', '"b1": db1 + self.reg * b1,'),
            Edit("TwoLayerNet", '"b2": db2}', '"b2": db2 + self.reg * b2}')),
    Variant("backward_in_forward_order", "Sequential.backward walks the layers first to last",
            Edit("Sequential", "for layer in reversed(self.layers):", "for layer in self.layers:")),
    Variant("last_batch_dropped", "train skips the last, smaller batch of each epoch",
            Edit("train", "range(0, X.shape[0], batch_size)", "range(0, X.shape[0] - batch_size + 1, batch_size)")),
    Variant("update_not_in_place", "train rebinds the parameters instead of updating the arrays",
            Edit("train", "params[name] -= lr * grad", "params[name] = params[name] - lr * grad")),
    Variant("affine_relu_backward_gates_dout_in_place", "affine_relu_backward zeroes entries of the caller's "
            "dout instead of computing a new gradient",
            Replace("affine_relu_backward", """
def affine_relu_backward(dout, cache):
    affine_cache, relu_cache = cache
    dout[relu_cache <= 0] = 0
    return affine_backward(dout, affine_cache)
""")),
    Variant("train_shuffles_once", "one permutation drawn before the first epoch and reused by every epoch",
            Edit("train", "    for _ in range(epochs):\n        order = rng.permutation(X.shape[0])\n",
                 "    order = rng.permutation(X.shape[0])\n    for _ in range(epochs):\n")),
]

ALTERNATIVES = [
    Variant("loops_over_samples", "affine forward and backward as Python loops over samples",
            Replace("affine_forward", """
def affine_forward(x, w, b):
    out = np.zeros((x.shape[0], w.shape[1]))
    for n in range(x.shape[0]):
        out[n] = x[n].ravel() @ w + b
    return out, (x, w)
"""),
            Replace("affine_backward", """
def affine_backward(dout, cache):
    x, w = cache
    dx, dw, db = np.zeros(x.shape), np.zeros(w.shape), np.zeros(w.shape[1])
    for n in range(x.shape[0]):
        dx[n] = (w @ dout[n]).reshape(x.shape[1:])
        dw += np.outer(x[n].ravel(), dout[n])
        db += dout[n]
    return dx, dw, db
""")),
    Variant("einsum", "affine forward and backward with np.einsum; the cache holds the flat input",
            Replace("affine_forward", """
def affine_forward(x, w, b):
    flat = x.reshape(len(x), -1)
    return np.einsum("nd,dm->nm", flat, w) + b, (flat, w, x.shape)
"""),
            Replace("affine_backward", """
def affine_backward(dout, cache):
    flat, w, shape = cache
    dx = np.einsum("nm,dm->nd", dout, w).reshape(shape)
    return dx, np.einsum("nd,nm->dm", flat, dout), np.einsum("nm->m", dout)
""")),
    Variant("inline_network", "TwoLayerNet written out without the layer helpers; train with rng.shuffle",
            Replace("TwoLayerNet", """
class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0, seed=0):
        rng = np.random.default_rng(seed)
        W1 = rng.normal(0.0, weight_scale, size=(input_dim, hidden_dim))
        W2 = rng.normal(0.0, weight_scale, size=(hidden_dim, num_classes))
        self.params = dict(W1=W1, b1=np.zeros(hidden_dim), W2=W2, b2=np.zeros(num_classes))
        self.reg = reg

    def scores(self, X):
        p = self.params
        return np.maximum(X.reshape(len(X), -1) @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]

    def loss(self, X, y):
        p, n = self.params, len(X)
        flat = X.reshape(n, -1)
        pre = flat @ p["W1"] + p["b1"]
        hidden = np.maximum(pre, 0)
        s = hidden @ p["W2"] + p["b2"]
        s = s - s.max(axis=1, keepdims=True)
        probs = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(n), y]).mean()
        loss += 0.5 * self.reg * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
        ds = probs
        ds[np.arange(n), y] -= 1
        ds /= n
        dhidden = ds @ p["W2"].T
        dpre = dhidden * (pre > 0)
        return loss, {"W1": flat.T @ dpre + self.reg * p["W1"], "b1": dpre.sum(0),
                      "W2": hidden.T @ ds + self.reg * p["W2"], "b2": ds.sum(0)}

    def predict(self, X):
        return self.scores(X).argmax(axis=1)
"""),
            Replace("train", """
def train(model, X, y, lr=0.1, epochs=10, batch_size=100, seed=0, X_val=None, y_val=None):
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(epochs):
        idx = np.arange(len(X))
        rng.shuffle(idx)
        for batch in np.array_split(idx, range(batch_size, len(X), batch_size)):
            loss, grads = model.loss(X[batch], y[batch])
            for name, p in model.params.items():
                np.subtract(p, lr * grads[name], out=p)
            history["loss"].append(loss)
        history["train_acc"].append((model.predict(X) == y).mean())
        if X_val is not None:
            history["val_acc"].append((model.predict(X_val) == y_val).mean())
    return history
""")),
]

# Mutants of the reference (bench/mutation.py) that no test can tell from it, and why.
_LAYERS_IGNORE_TRAIN = "03's layers (Affine, ReLU) ignore train and rng; 05 checks them, where Dropout uses them"
_ONLY_2D = "03 calls log_softmax on (N, C) scores only, where axis 1 is the last; 02 checks (..., C)"
EQUIVALENT_MUTANTS = [
    ("affine_forward: out = x.reshape(x.shape[0], -1) @ w + b -> out = x.reshape(x.shape[0], -2) @ w + b",
     "NumPy reads any negative size as the unknown one"),
    ("affine_backward: x_flat = x.reshape(x.shape[0], -1) -> x_flat = x.reshape(x.shape[0], -2)",
     "NumPy reads any negative size as the unknown one"),
    ("relu_forward: out = np.maximum(x, 0) -> out = np.maximum(0, x)", "np.maximum is symmetric"),
    ("log_softmax: shifted = scores - np.max(scores, axis=-1, keepdims=True) -> "
     "shifted = scores - np.max(scores, axis=1, keepdims=True)", _ONLY_2D),
    ("log_softmax: return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True)) -> "
     "return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))", _ONLY_2D),
    ("__init__: self.cache = None -> pass", "forward sets the cache before backward reads it"),
    ("forward: x = layer.forward(x, train=train, rng=self.rng) -> x = layer.forward(x, rng=self.rng)",
     _LAYERS_IGNORE_TRAIN),
    ("forward: x = layer.forward(x, train=train, rng=self.rng) -> x = layer.forward(x, train=train)",
     _LAYERS_IGNORE_TRAIN),
    ("loss: data_loss, dscores = softmax_cross_entropy(self.forward(X, train=True), y) -> "
     "data_loss, dscores = softmax_cross_entropy(self.forward(X), y)", "train=True is forward's default"),
    ("loss: data_loss, dscores = softmax_cross_entropy(self.forward(X, train=True), y) -> "
     "data_loss, dscores = softmax_cross_entropy(self.forward(X, train=False), y)", _LAYERS_IGNORE_TRAIN),
    ("predict: return np.argmax(self.forward(X, train=False), axis=1) -> "
     "return np.argmax(self.forward(X), axis=1)", _LAYERS_IGNORE_TRAIN),
    ("predict: return np.argmax(self.forward(X, train=False), axis=1) -> "
     "return np.argmax(self.forward(X, train=True), axis=1)", _LAYERS_IGNORE_TRAIN),
]
