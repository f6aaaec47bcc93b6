"""Plausible wrong and correct-but-different answers for 04; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    Variant("lbfgs_stores_every_pair", "every (s, y) pair stored, even without positive curvature",
            Edit("lbfgs", "if s @ y > 1e-10:", "if True:")),
    Variant("adam_without_bias_correction", "Adam's moments used without dividing by 1 - beta^t",
            Edit("adam", "m_hat = m / (1 - beta1 ** t)", "m_hat = m"),
            Edit("adam", "v_hat = v / (1 - beta2 ** t)", "v_hat = v")),
    Variant("rmsprop_without_squaring", "RMSProp averages the gradient instead of its square",
            Edit("rmsprop", "(1 - alpha) * dw ** 2", "(1 - alpha) * np.abs(dw)")),
    Variant("momentum_sign_error", "the velocity adds the gradient (torch's buffer sign in the lecture's form)",
            Edit("sgd_momentum", "v = momentum * v - lr * dw", "v = momentum * v + lr * dw")),
    Variant("nesterov_gradient_at_wrong_point", "Nesterov treated as if the gradient were taken at theta, "
            "not at the look-ahead point: plain momentum",
            Edit("sgd_nesterov", "return w + momentum * v - lr * dw,", "return w + v,")),
    Variant("lbfgs_history_wrong_order", "the first loop of the two-loop recursion runs oldest first",
            Edit("lbfgs_direction", "for i in reversed(range(m)):", "for i in range(m):")),
    Variant("step_decay_without_floor", "step decay with true division: a smooth exponential",
            Edit("step_decay", "epoch // step_size", "epoch / step_size")),
    Variant("hessian_without_regularization", "the Hessian forgets the reg * I of the penalty",
            Edit("logistic_objective", " + reg * np.eye(X.shape[1])", "")),
    Variant("armijo_without_sufficient_decrease", "any decrease accepted: the c t g.d term is missing",
            Edit("backtracking_line_search", "value + c * t * slope", "value")),
    Variant("sgd_updates_w_in_place", "w -= lr * dw: the right new w, but the caller's array changes",
            Replace("sgd", """
def sgd(w, dw, state=None, lr=1e-3):
    w -= lr * dw
    return w, None
""")),
    Variant("momentum_updates_state_in_place", "the velocity of the state dict updated in place and returned",
            Replace("sgd_momentum", """
def sgd_momentum(w, dw, state=None, lr=1e-3, momentum=0.9):
    if state is None:
        state = {"velocity": np.zeros_like(w)}
    v = state["velocity"]
    v *= momentum
    v -= lr * dw
    return w + v, state
""")),
    Variant("rmsprop_eps_inside_the_root", "RMSProp divides by sqrt(s + eps), not sqrt(s) + eps",
            Edit("rmsprop", "(np.sqrt(s) + eps)", "np.sqrt(s + eps)")),
    Variant("adam_eps_inside_the_root", "Adam divides by sqrt(v_hat + eps), not sqrt(v_hat) + eps",
            Edit("adam", "(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)")),
    Variant("adam_efficient_form_without_rescaled_eps", "the paper's efficient form with eps added to the "
            "uncorrected sqrt(v)",
            Replace("adam", """
def adam(w, dw, state=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    state = state or {"step": 0, "exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}
    t = state["step"] + 1
    m = betas[0] * state["exp_avg"] + (1 - betas[0]) * dw
    v = betas[1] * state["exp_avg_sq"] + (1 - betas[1]) * dw ** 2
    step_size = lr * np.sqrt(1 - betas[1] ** t) / (1 - betas[0] ** t)
    return w - step_size * m / (np.sqrt(v) + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v}
""")),
    Variant("logistic_objective_overflow_silenced", "the Hessian's sigmoid as 1 / (1 + exp(-z)), overflow silenced",
            Edit("logistic_objective", "return np.exp(-np.logaddexp(0.0, -(X @ w)))",
                 "with np.errstate(over='ignore'):\n            return 1.0 / (1.0 + np.exp(-(X @ w)))")),
    Variant("newton_history_of_iterates", "newton's history holds the iterates x, not the values f(x)",
            Edit("newton", "history = [value]", "history = [x.copy()]"),
            Edit("newton", "history.append(value)", "history.append(x.copy())")),
    Variant("lbfgs_history_without_the_start", "lbfgs's history leaves out f(x0)",
            Edit("lbfgs", "history, s_history, y_history = [value], [], []",
                 "history, s_history, y_history = [], [], []")),
]

ALTERNATIVES = [
    Variant("cs231n_forms", "momentum and Nesterov written with the previous velocity; schedules with "
            "math and NumPy powers",
            Replace("sgd_momentum", """
def sgd_momentum(w, dw, state=None, lr=1e-3, momentum=0.9):
    previous = 0.0 * w if state is None else state["velocity"]
    velocity = -lr * dw + momentum * previous
    return np.add(w, velocity), dict(velocity=velocity)
"""),
            Replace("sgd_nesterov", """
def sgd_nesterov(w, dw, state=None, lr=1e-3, momentum=0.9):
    previous = np.zeros(np.shape(w)) if state is None else state["velocity"]
    velocity = momentum * previous - lr * dw
    return w - momentum * previous + (1 + momentum) * velocity, {"velocity": velocity}
"""),
            Replace("step_decay", """
def step_decay(epoch, lr, step_size, gamma=0.1):
    import math
    return lr * math.pow(gamma, math.floor(epoch / step_size))
"""),
            Replace("inverse_sqrt_decay", """
def inverse_sqrt_decay(epoch, lr):
    return lr * np.power(epoch + 1, -0.5)
""")),
    Variant("in_place_on_private_copies", "momentum and Nesterov that update copies of the state in place; "
            "Newton's history as plain floats",
            Replace("sgd_momentum", """
def sgd_momentum(w, dw, state=None, lr=1e-3, momentum=0.9):
    v = np.zeros_like(w) if state is None else state["velocity"].copy()
    v *= momentum
    v -= lr * dw
    new_w = w.copy()
    new_w += v
    return new_w, {"velocity": v}
"""),
            Replace("sgd_nesterov", """
def sgd_nesterov(w, dw, state=None, lr=1e-3, momentum=0.9):
    v = np.zeros_like(w) if state is None else np.array(state["velocity"])
    v *= momentum
    v -= lr * dw
    step = momentum * v
    step -= lr * dw
    return w + step, {"velocity": v}
"""),
            Edit("newton", "history = [value]", "history = [float(value)]"),
            Edit("newton", "history.append(value)", "history.append(float(value))")),
    Variant("paper_forms", "Adam in the paper's efficient form with a rescaled eps; RMSProp with np.square",
            Replace("adam", """
def adam(w, dw, state=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    state = state or {"step": 0, "exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}
    t = state["step"] + 1
    m = betas[0] * state["exp_avg"] + (1 - betas[0]) * dw
    v = betas[1] * state["exp_avg_sq"] + (1 - betas[1]) * np.square(dw)
    correction = np.sqrt(1 - betas[1] ** t)
    step_size = lr * correction / (1 - betas[0] ** t)
    new_w = w - step_size * m / (np.sqrt(v) + eps * correction)
    return new_w, {"step": t, "exp_avg": m, "exp_avg_sq": v}
"""),
            Replace("rmsprop", """
def rmsprop(w, dw, state=None, lr=1e-2, alpha=0.99, eps=1e-8):
    avg = np.square(dw) * (1 - alpha)
    if state is not None:
        avg = avg + alpha * state["square_avg"]
    return w - lr * dw / (eps + np.sqrt(avg)), {"square_avg": avg}
""")),
    Variant("stacked_histories_and_cholesky", "L-BFGS on stacked arrays, Newton by Cholesky, the "
            "objective with einsum and a where-based sigmoid",
            Replace("lbfgs_direction", """
def lbfgs_direction(grad, s_history, y_history):
    S, Y = np.array(s_history, dtype=float).reshape(-1, len(grad)), np.array(y_history, dtype=float).reshape(-1, len(grad))
    rho = 1.0 / np.einsum("ij,ij->i", S, Y)
    q = np.array(grad, dtype=float)
    a = np.zeros(len(S))
    for i in range(len(S) - 1, -1, -1):
        a[i] = rho[i] * S[i].dot(q)
        q -= a[i] * Y[i]
    r = q * (S[-1].dot(Y[-1]) / Y[-1].dot(Y[-1]) if len(S) else 1.0)
    for i in range(len(S)):
        r += S[i] * (a[i] - rho[i] * Y[i].dot(r))
    return -r
"""),
            Replace("newton", """
def newton(fun, hess, x0, max_iter=20, tolerance_grad=1e-8):
    x = np.asarray(x0, dtype=float).copy()
    f, g = fun(x)
    values = [f]
    iterations = 0
    while iterations < max_iter and np.abs(g).max() > tolerance_grad:
        L = np.linalg.cholesky(hess(x))
        d = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        x = x + backtracking_line_search(fun, x, d) * d
        f, g = fun(x)
        values.append(f)
        iterations += 1
    return x, values
"""),
            Replace("logistic_objective", """
def logistic_objective(X, y, reg=1e-2):
    n, d = X.shape

    def sigma(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def fun(w):
        z = X @ w
        losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return losses.sum() / n + reg / 2 * np.sum(w ** 2), np.einsum("ij,i->j", X, sigma(z) - y) / n + reg * w

    def hess(w):
        p = sigma(X @ w)
        return np.einsum("ij,i,ik->jk", X, p * (1 - p), X) / n + np.diag(np.full(d, float(reg)))

    return fun, hess
""")),
]

# Mutants of the reference (bench/mutation.py) that no test can tell from it, and why.
_COPY = "the same values: x (or q) is rebound to a new float array before it changes"
EQUIVALENT_MUTANTS = [
    ("probabilities: return np.exp(-np.logaddexp(0.0, -(X @ w))) -> return np.exp(-np.logaddexp(-(X @ w), 0.0))",
     "np.logaddexp is symmetric"),
    ("fun: value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * w @ w -> "
     "value = np.mean(np.logaddexp(z, 0.0) - y * z) + 0.5 * reg * w @ w", "np.logaddexp is symmetric"),
    ("backtracking_line_search: if fun(x + t * direction)[0] <= value + c * t * slope: -> "
     "if fun(x + t * direction)[0] < value + c * t * slope:",
     "differs only where f(x + t d) equals the Armijo bound exactly, which no descent direction of a test reaches"),
    ("newton: x = np.array(x0, dtype=np.float64) -> x = np.array(x0)", _COPY),
    ("lbfgs: x = np.array(x0, dtype=np.float64) -> x = np.array(x0)", _COPY),
    ("lbfgs_direction: q = np.array(grad, dtype=np.float64) -> q = np.array(grad)", _COPY),
    ("lbfgs_direction: alphas = [0.0] * m -> alphas = [1.0] * m", "the first loop sets every alpha before use"),
    ("lbfgs: if s @ y > 1e-10: -> if s @ y >= 1e-10:", "differs only where s.y is exactly 1e-10"),
]
