"""Plausible wrong and correct-but-different answers for 05; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    Variant("dropout_not_rescaled", "dropout keeps survivors at their value, without 1 / (1 - p)",
            Edit("dropout_forward", "(rng.random(x.shape) >= p) / (1.0 - p)", "(rng.random(x.shape) >= p) * 1.0")),
    Variant("dropout_active_at_test_time", "dropout also drops units at test time",
            Edit("dropout_forward", "    if not train:\n        return x.copy(), np.ones_like(x)\n", "")),
    Variant("dropout_keeps_with_probability_p", "p taken as the probability of keeping a unit",
            Edit("dropout_forward", "(rng.random(x.shape) >= p) / (1.0 - p)", "(rng.random(x.shape) < p) / p")),
    Variant("batchnorm_batch_stats_at_test_time", "batch norm normalizes with batch statistics at test time",
            Edit("batchnorm_forward", "mean, var = running_mean, running_var",
                 "mean, var = x.mean(axis=0), x.var(axis=0)")),
    Variant("running_mean_never_updated", "the running mean is never updated",
            Edit("batchnorm_forward", "running_mean = (1 - momentum) * running_mean + momentum * mean",
                 "running_mean = running_mean")),
    Variant("running_var_biased", "the running variance takes the biased batch variance (divided by N)",
            Edit("batchnorm_forward", "momentum * var * n / (n - 1)", "momentum * var")),
    Variant("batchnorm_normalizes_with_unbiased_variance", "the batch is normalized with the variance over N - 1",
            Edit("batchnorm_forward", "var = x.var(axis=0)", "var = x.var(axis=0, ddof=1)")),
    Variant("momentum_convention_flipped", "running = momentum * running + (1 - momentum) * batch (Keras' convention)",
            Edit("batchnorm_forward", "running_mean = (1 - momentum) * running_mean + momentum * mean",
                 "running_mean = momentum * running_mean + (1 - momentum) * mean"),
            Edit("batchnorm_forward", "running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)",
                 "running_var = momentum * running_var + (1 - momentum) * var * n / (n - 1)")),
    Variant("batchnorm_backward_ignores_batch_statistics", "dx as if mean and variance were constants",
            Edit("batchnorm_backward", "(n * dout - dbeta - x_hat * dgamma)", "(n * dout)")),
    Variant("layernorm_over_batch_axis", "layer norm normalizes each feature over the batch",
            Edit("layernorm_forward", "mean = x.mean(axis=1, keepdims=True)", "mean = x.mean(axis=0, keepdims=True)"),
            Edit("layernorm_forward", "var = x.var(axis=1, keepdims=True)", "var = x.var(axis=0, keepdims=True)"),
            Edit("layernorm_backward", "d = dout.shape[1]", "d = dout.shape[0]"),
            Edit("layernorm_backward", "dx_hat.sum(axis=1, keepdims=True)", "dx_hat.sum(axis=0, keepdims=True)"),
            Edit("layernorm_backward", "(dx_hat * x_hat).sum(axis=1, keepdims=True)",
                 "(dx_hat * x_hat).sum(axis=0, keepdims=True)")),
    Variant("running_statistics_updated_in_place", "the running mean and variance updated in place "
            "(running_mean *= 1 - momentum ...) and returned",
            Edit("batchnorm_forward", "running_mean = (1 - momentum) * running_mean + momentum * mean",
                 "running_mean *= 1 - momentum\n        running_mean += momentum * mean"),
            Edit("batchnorm_forward", "running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)",
                 "running_var *= 1 - momentum\n        running_var += momentum * var * n / (n - 1)")),
    Variant("dropout_masks_x_in_place", "dropout multiplies the caller's x by the mask in place and returns it",
            Edit("dropout_forward", "return x * mask, mask", "x *= mask\n    return x, mask")),
    Variant("bagging_without_bootstrap", "every model trains on the same rows with the same seed",
            Edit("bagging_fit", "train(model, X[sample], y[sample], seed=seed + 1 + k, **train_args)",
                 "train(model, X, y, seed=seed, **train_args)"),
            Edit("bagging_fit", "dropout=dropout,\n                         seed=seed + 1 + k)",
                 "dropout=dropout,\n                         seed=seed)")),
]

ALTERNATIVES = [
    Variant("batchnorm_step_by_step", "the long backward through the computational graph, step by step",
            Replace("batchnorm_forward", """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True, momentum=0.1, eps=1e-5):
    if train:
        n = len(x)
        mu = np.sum(x, axis=0) / n
        centered = x - mu
        var = np.sum(centered ** 2, axis=0) / n
        new_mean = momentum * mu + (1 - momentum) * running_mean
        new_var = momentum * np.sum(centered ** 2, axis=0) / (n - 1) + (1 - momentum) * running_var
    else:
        mu, var = running_mean, running_var
        centered = x - mu
        new_mean, new_var = running_mean.copy(), running_var.copy()
    std = np.sqrt(var + eps)
    inv = 1 / std
    x_hat = centered * inv
    out = x_hat * gamma + beta
    return out, (centered, std, inv, x_hat, gamma), new_mean, new_var
"""),
            Replace("batchnorm_backward", """
def batchnorm_backward(dout, cache):
    centered, std, inv, x_hat, gamma = cache
    n = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dinv = np.sum(dx_hat * centered, axis=0)
    dcentered = dx_hat * inv
    dstd = -dinv / std ** 2
    dvar = dstd * 0.5 / std
    dsq = np.ones_like(centered) * dvar / n
    dcentered = dcentered + 2 * centered * dsq
    dmu = -np.sum(dcentered, axis=0)
    dx = dcentered + np.ones_like(centered) * dmu / n
    return dx, dgamma, dbeta
""")),
    Variant("dropout_binomial_mask", "a Bernoulli mask kept unscaled in the cache, rescaled in both passes",
            Replace("dropout_forward", """
def dropout_forward(x, p, train=True, rng=None):
    if not train or p == 0:
        return x, None
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    keep = generator.binomial(1, 1 - p, size=x.shape).astype(bool)
    out = np.where(keep, x / (1 - p), 0.0)
    return out, (keep, p)
"""),
            Replace("dropout_backward", """
def dropout_backward(dout, cache):
    if cache is None:
        return dout
    keep, p = cache
    return np.where(keep, dout / (1 - p), 0.0)
""")),
    Variant("layernorm_by_transposing", "layer norm as batch-norm formulas on the transposed input, with loops",
            Replace("layernorm_forward", """
def layernorm_forward(x, gamma, beta, eps=1e-5):
    xt = x.T
    mu = xt.mean(axis=0)
    sigma = np.sqrt(((xt - mu) ** 2).mean(axis=0) + eps)
    x_hat = ((xt - mu) / sigma).T
    return x_hat * gamma + beta, (x_hat, sigma, gamma)
"""),
            Replace("layernorm_backward", """
def layernorm_backward(dout, cache):
    x_hat, sigma, gamma = cache
    dgamma = np.zeros_like(gamma)
    dbeta = np.zeros_like(gamma)
    dx = np.zeros_like(dout)
    for i in range(dout.shape[0]):
        dgamma += dout[i] * x_hat[i]
        dbeta += dout[i]
        g = dout[i] * gamma
        dx[i] = (g - g.mean() - x_hat[i] * np.mean(g * x_hat[i])) / sigma[i]
    return dx, dgamma, dbeta
""")),
    Variant("bagging_with_choice", "bootstrap rows from rng.choice, probabilities by a hand-written softmax",
            Replace("bagging_fit", """
def bagging_fit(X, y, n_models=5, hidden_dim=100, batchnorm=False, dropout=0.0, seed=0, **train_args):
    rng = np.random.default_rng(seed)
    classes = int(y.max()) + 1
    ensemble = []
    for k in range(n_models):
        rows = rng.choice(X.shape[0], size=X.shape[0], replace=True)
        net = make_mlp(X.shape[1], hidden_dim, classes, batchnorm, dropout, seed=seed + k + 1)
        train(net, X[rows], y[rows], seed=seed + k + 1, **train_args)
        ensemble.append(net)
    return ensemble
"""),
            Replace("bagging_predict", """
def bagging_predict(models, X):
    total = 0
    for model in models:
        scores = model.forward(X, train=False)
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        total = total + e / e.sum(axis=1, keepdims=True)
    return total.argmax(axis=1)
""")),
]

# Mutants of the reference (bench/mutation.py) that no test can tell from it, and why.
_ONLY_2D = "05 calls log_softmax on (N, C) scores only, where axis 1 is the last; 02 checks (..., C)"
_NUMPY_RESHAPE = "NumPy reads any negative size as the unknown one"
EQUIVALENT_MUTANTS = [
    ("relu_forward: out = np.maximum(x, 0) -> out = np.maximum(0, x)", "np.maximum is symmetric"),
    ("log_softmax: shifted = scores - np.max(scores, axis=-1, keepdims=True) -> "
     "shifted = scores - np.max(scores, axis=1, keepdims=True)", _ONLY_2D),
    ("log_softmax: return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True)) -> "
     "return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))", _ONLY_2D),
    ("affine_forward: out = x.reshape(x.shape[0], -1) @ w + b -> out = x.reshape(x.shape[0], -2) @ w + b",
     _NUMPY_RESHAPE),
    ("affine_backward: x_flat = x.reshape(x.shape[0], -1) -> x_flat = x.reshape(x.shape[0], -2)", _NUMPY_RESHAPE),
    ("__init__: self.cache = None -> pass", "forward sets the cache before backward reads it"),
    ("loss: data_loss, dscores = softmax_cross_entropy(self.forward(X, train=True), y) -> "
     "data_loss, dscores = softmax_cross_entropy(self.forward(X), y)", "train=True is forward's default"),
    ("dropout_forward: mask = (rng.random(x.shape) >= p) / (1.0 - p) -> mask = (rng.random(x.shape) > p) / (1.0 - p)",
     "differs only where a uniform draw equals p exactly (probability 2^-53 an entry)"),
    ("backward: return dropout_backward(dout, self.cache) -> return dropout_backward(self.cache, dout)",
     "dropout_backward multiplies its two arguments"),
    ("bagging_predict: proba = np.mean([np.exp(log_softmax(model.forward(X, train=False))) for model in models], "
     "axis=0) -> proba = np.sum([np.exp(log_softmax(model.forward(X, train=False))) for model in models], axis=0)",
     "a sum has the argmax of the mean"),
]
