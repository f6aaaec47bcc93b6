"""Plausible wrong and correct-but-different answers for 06; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    Variant("schedule_ignored_in_update", "the rate is looked up but the update uses the initial lr",
            Edit("train_with_schedule", "params[name] -= rate * grad", "params[name] -= lr * grad")),
    Variant("decay_per_step", "the schedule is advanced every mini-batch step instead of every epoch",
            Edit("train_with_schedule", "rate = learning_rate(epoch, lr, schedule, **schedule_args)\n",
                 "rate = learning_rate(len(history['loss']), lr, schedule, **schedule_args)\n")),
    Variant("overlapping_folds", "each fold drawn from its own permutation, so folds overlap",
            Edit("k_fold_indices", "folds = np.array_split(np.random.default_rng(seed).permutation(n), k)",
                 "folds = [np.random.default_rng(seed + i).permutation(n)[:n // k] for i in range(k)]")),
    Variant("validation_fold_in_training", "every fold also trains on its own validation fold",
            Edit("k_fold_indices", "for j, f in enumerate(folds) if j != i", "for j, f in enumerate(folds)")),
    Variant("split_not_stratified", "one shuffle of all indices cut by the fractions, ignoring the classes",
            Replace("stratified_split", """
def stratified_split(y, fractions=(0.8, 0.2), seed=0):
    order = np.random.default_rng(seed).permutation(len(y))
    bounds = np.round(np.cumsum(fractions) / np.sum(fractions) * len(y)).astype(int)
    return tuple(np.sort(part) for part in np.split(order, bounds[:-1]))
""")),
    Variant("evaluate_on_training_data", "evaluate reports the training accuracy",
            Edit("evaluate", "model.predict(X_val) == y_val", "model.predict(X_train) == y_train")),
    Variant("log_uniform_drawn_uniformly", "('log', low, high) drawn uniformly between low and high",
            Edit("sample_config", "float(np.exp(rng.uniform(np.log(spec[1]), np.log(spec[2]))))",
                 "float(rng.uniform(spec[1], spec[2]))")),
    Variant("random_search_reseeds_every_trial", "every trial draws from a fresh generator seeded alike",
            Edit("random_search", "config = sample_config(space, rng)", "config = sample_config(space, seed)")),
    Variant("search_keeps_lowest_score", "the search returns the configuration with the lowest score",
            Edit("grid_search", "np.argmax(", "np.argmin("),
            Edit("random_search", "np.argmax(", "np.argmin(")),
    Variant("crop_offset_off_by_one", "corners drawn from {0, ..., 2p - 1}: the last shift never happens",
            Edit("random_crop", "rng.integers(0, 2 * padding + 1,", "rng.integers(0, 2 * padding,")),
    Variant("brightness_per_pixel", "a fresh brightness offset for every pixel",
            Edit("adjust_brightness", "size=(len(images),) + (1,) * (images.ndim - 1)", "size=images.shape")),
    Variant("brightness_not_clipped", "brightness leaves the data range",
            Edit("adjust_brightness", "np.clip(images + delta, low, high)", "images + delta")),
    Variant("contrast_around_batch_mean", "contrast scales around the mean of the whole batch",
            Edit("adjust_contrast", "mean = images.mean(axis=(-2, -1), keepdims=True)", "mean = images.mean()")),
    Variant("flip_upside_down", "the flip reverses the rows (vertical flip), not the columns",
            Edit("horizontal_flip", "out[flip] = images[flip][..., ::-1]", "out[flip] = images[flip][..., ::-1, :]")),
    Variant("augment_shuffles_images_not_labels", "augment shuffles the batch but returns the labels in the old order",
            Edit("augment", "out = horizontal_flip(out, flip, rng)\n",
                 "out = horizontal_flip(out, flip, rng)[rng.permutation(len(out))]\n")),
    Variant("augment_flip_permutes_labels", "augment mirrors the label order along with the images",
            Edit("augment", "return out, labels.copy()", "return out, labels[::-1].copy()")),
    Variant("he_uses_fan_out", "He variance 2 / fan_out",
            Edit("initialize", '"he": np.sqrt(2.0 / fan_in)', '"he": np.sqrt(2.0 / fan_out)')),
    Variant("xavier_ignores_fan_in", "Xavier variance from the fan-out",
            Edit("initialize", '"xavier": np.sqrt(1.0 / fan_in)', '"xavier": np.sqrt(1.0 / fan_out)')),
    Variant("xavier_std_is_one_over_fan_in", "Xavier std 1 / fan_in, variance 1 / fan_in^2",
            Edit("initialize", '"xavier": np.sqrt(1.0 / fan_in)', '"xavier": 1.0 / fan_in')),
    Variant("xavier_as_glorot", "Xavier read as Glorot's variance 2 / (fan_in + fan_out), not the lecture's 1 / fan_in",
            Edit("initialize", '"xavier": np.sqrt(1.0 / fan_in)', '"xavier": np.sqrt(2.0 / (fan_in + fan_out))')),
    Variant("fit_model_trains_with_the_default_seed", "fit_model passes its seed to TwoLayerNet but not to "
            "train_with_schedule",
            Edit("fit_model", "seed=seed, **schedule_args)", "**schedule_args)")),
    Variant("overfit_records_the_loss_after_each_update", "overfit_one_batch records the loss after its update",
            Edit("overfit_one_batch", "losses.append(float(loss))", "losses.append(float(model.loss(X, y)[0]))")),
    Variant("brightness_in_place", "adjust_brightness adds the offsets to the caller's images and clips them in place",
            Replace("adjust_brightness", """
def adjust_brightness(images, max_delta, rng=None, low=0.0, high=1.0):
    rng = np.random.default_rng(rng)
    images += rng.uniform(-max_delta, max_delta, size=(len(images),) + (1,) * (images.ndim - 1))
    np.clip(images, low, high, out=images)
    return images
""")),
    Variant("flip_in_place", "horizontal_flip mirrors the chosen images inside the caller's array",
            Replace("horizontal_flip", """
def horizontal_flip(images, p=0.5, rng=None):
    flip = np.random.default_rng(rng).random(len(images)) < p
    images[flip] = images[flip][..., ::-1]
    return images
""")),
    Variant("every_layer_reseeded", "every layer draws its weights from a generator seeded alike",
            Edit("make_deep_mlp", "initialize(fan_in, fan_out, init, rng)", "initialize(fan_in, fan_out, init, seed)")),
]

ALTERNATIVES = [
    Variant("uniform_initialization", "uniform weights of the same variances, layers built in a while loop",
            Replace("initialize", """
def initialize(fan_in, fan_out, method, rng=None):
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    variance = {"zeros": 0.0, "small": 1e-4, "large": 1.0, "xavier": 1 / fan_in, "he": 2 / fan_in}[method]
    limit = np.sqrt(3 * variance)
    return generator.uniform(-limit, limit, size=(fan_in, fan_out)) if limit > 0 else np.zeros((fan_in, fan_out))
"""),
            Replace("make_deep_mlp", """
def make_deep_mlp(sizes, activation="relu", init="he", seed=0):
    generator = np.random.default_rng(seed)
    layers, k = [], 0
    while k + 1 < len(sizes):
        layer = Affine(sizes[k], sizes[k + 1])
        layer.params["w"] = initialize(sizes[k], sizes[k + 1], init, generator)
        layer.params["b"] = np.zeros(sizes[k + 1])
        layers.append(layer)
        if k + 2 < len(sizes):
            layers.append({"relu": ReLU, "tanh": Tanh}[activation]())
        k += 1
    return Sequential(*layers, seed=seed)
""")),
    Variant("splits_by_masks_and_modulo", "folds by position modulo k, splits with rng.shuffle and loops",
            Replace("k_fold_indices", """
def k_fold_indices(n, k=5, seed=0):
    order = np.random.default_rng(seed).permutation(n)
    fold_of = np.empty(n, dtype=int)
    fold_of[order] = np.arange(n) % k
    return [(np.flatnonzero(fold_of != i), np.flatnonzero(fold_of == i)) for i in range(k)]
"""),
            Replace("stratified_split", """
def stratified_split(y, fractions=(0.8, 0.2), seed=0):
    generator = np.random.default_rng(seed)
    total = sum(fractions)
    parts = [[] for _ in fractions]
    for label in sorted(set(y.tolist())):
        members = [i for i in range(len(y)) if y[i] == label]
        generator.shuffle(members)
        start, cumulative = 0, 0.0
        for k, fraction in enumerate(fractions):
            cumulative += fraction
            stop = int(round(cumulative / total * len(members)))
            parts[k].extend(members[start:stop])
            start = stop
    return tuple(np.array(sorted(part), dtype=int) for part in parts)
""")),
    Variant("search_with_log10_and_choice", "10 ** uniform(log10 low, log10 high), rng.choice, a running best",
            Replace("sample_config", """
def sample_config(space, rng=None):
    generator = np.random.default_rng(rng)
    config = {}
    for name in space:
        spec = space[name]
        if type(spec) is list:
            config[name] = generator.choice(spec)
        elif spec[0] == "uniform":
            config[name] = spec[1] + (spec[2] - spec[1]) * generator.random()
        else:
            config[name] = 10 ** generator.uniform(np.log10(spec[1]), np.log10(spec[2]))
    return config
"""),
            Replace("random_search", """
def random_search(X_train, y_train, X_val, y_val, space, n_trials=10, seed=0, **fixed):
    generator = np.random.default_rng(seed)
    best, best_score, results = None, -np.inf, []
    for trial in range(n_trials):
        config = sample_config(space, generator)
        score = evaluate(X_train, y_train, X_val, y_val, **fixed, **config)
        results.append(dict(config, score=score))
        if score > best_score:
            best, best_score = dict(config), score
    return best, results
""")),
    Variant("augmentation_with_loops", "per-image loops, np.flip, crop on a zero canvas",
            Replace("random_crop", """
def random_crop(images, padding, rng=None):
    generator = np.random.default_rng(rng)
    h, w = images.shape[-2], images.shape[-1]
    out = np.empty_like(images)
    for n in range(images.shape[0]):
        canvas = np.zeros(images.shape[1:-2] + (h + 2 * padding, w + 2 * padding), dtype=images.dtype)
        canvas[..., padding:padding + h, padding:padding + w] = images[n]
        top = generator.integers(2 * padding + 1)
        left = generator.integers(2 * padding + 1)
        out[n] = canvas[..., top:top + h, left:left + w]
    return out
"""),
            Replace("horizontal_flip", """
def horizontal_flip(images, p=0.5, rng=None):
    generator = np.random.default_rng(rng)
    return np.stack([np.flip(image, axis=-1) if generator.random() < p else image for image in images])
"""),
            Replace("adjust_brightness", """
def adjust_brightness(images, max_delta, rng=None, low=0.0, high=1.0):
    generator = np.random.default_rng(rng)
    out = np.empty_like(images, dtype=float)
    for n in range(len(images)):
        out[n] = np.minimum(np.maximum(images[n] + (2 * generator.random() - 1) * max_delta, low), high)
    return out
""")),
]

# Mutants of the reference (bench/mutation.py) that no test can tell from it, and why.
_LAYERS_IGNORE_TRAIN = "06's layers (Affine, ReLU, Tanh) ignore train and rng; 05 checks them, where Dropout uses them"
_ONLY_2D = "06 calls log_softmax on (N, C) scores only, where axis 1 is the last; 02 checks (..., C)"
_NUMPY_RESHAPE = "NumPy reads any negative size as the unknown one"
_CLIP = "np.clip(low, x, high) is minimum(maximum(low, x), high), the same as np.clip(x, low, high)"
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
    ("make_deep_mlp: return Sequential(*layers, seed=seed) -> return Sequential(*layers)", _LAYERS_IGNORE_TRAIN),
    ("hidden_activations: X = layer.forward(X, train=False) -> X = layer.forward(X)", _LAYERS_IGNORE_TRAIN),
    ("hidden_activations: X = layer.forward(X, train=False) -> X = layer.forward(X, train=True)",
     _LAYERS_IGNORE_TRAIN),
    ("adjust_brightness: return np.clip(images + delta, low, high) -> return np.clip(low, images + delta, high)",
     _CLIP),
    ("adjust_contrast: return np.clip(mean + factor * (images - mean), low, high) -> "
     "return np.clip(low, mean + factor * (images - mean), high)", _CLIP),
    ("adjust_brightness: return np.clip(images + delta, low, high) -> return np.clip(images - delta, low, high)",
     "-delta is drawn from the same symmetric distribution as delta; the docstring fixes no draw"),
    ("horizontal_flip: flip = rng.random(len(images)) < p -> flip = rng.random(len(images)) <= p",
     "differs only where a uniform draw equals p exactly (probability 2^-53 an image)"),
]
