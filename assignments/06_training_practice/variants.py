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
