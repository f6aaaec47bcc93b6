"""Line search, Newton's method and L-BFGS for smooth functions of a vector.

An objective is a function ``fun(x) -> (value, grad)`` of ``x`` of shape (D,), returning a
float and a (D,) gradient (scipy's ``jac=True`` convention); Newton also needs
``hess(x) -> (D, D)``. The optimizers return ``(x, history)``, history holding the value
at the start and after every iteration.
"""

import numpy as np


def logistic_objective(X, y, reg=1e-2):
    """L2-regularized logistic regression, f(w) = mean_i BCE(sigmoid(x_i w), y_i) + reg/2 |w|^2.

    X: (N, D), y: (N,) 0/1 labels. Returns (fun, hess): fun(w) -> (f, grad (D,)) with
    grad = X^T (p - y) / N + reg w, and hess(w) -> X^T diag(p (1 - p)) X / N + reg I of
    shape (D, D), where p = sigmoid(X w). No intermediate result of fun or hess overflows,
    for any logits.
    """
    ### BEGIN SOLUTION
    def probabilities(w):
        return np.exp(-np.logaddexp(0.0, -(X @ w)))

    def fun(w):
        z = X @ w
        value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * reg * w @ w
        grad = X.T @ (probabilities(w) - y) / len(y) + reg * w
        return float(value), grad

    def hess(w):
        p = probabilities(w)
        return (X.T * (p * (1 - p))) @ X / len(y) + reg * np.eye(X.shape[1])

    return fun, hess
    ### END SOLUTION


def backtracking_line_search(fun, x, direction, alpha=1.0, rho=0.5, c=1e-4, max_steps=60):
    """Largest step t = alpha rho^k (k = 0, 1, ..., max_steps - 1) meeting the Armijo condition

    f(x + t d) <= f(x) + c t grad(x) . d,  for a descent direction d of shape (D,).
    Returns t, or alpha rho^max_steps if none of them meets the condition.
    """
    ### BEGIN SOLUTION
    value, grad = fun(x)
    slope = grad @ direction
    t = alpha
    for _ in range(max_steps):
        if fun(x + t * direction)[0] <= value + c * t * slope:
            break
        t *= rho
    return t
    ### END SOLUTION


def newton(fun, hess, x0, max_iter=20, tolerance_grad=1e-8):
    """Damped Newton's method: d = -H^-1 grad, step t = backtracking_line_search(fun, x, d)
    (its default alpha, rho and c), x <- x + t d.

    Before every iteration, stops if max |grad| <= tolerance_grad; at most max_iter
    iterations. Returns (x, history): history is a list of the function values (floats),
    f(x0) first and then the value after every iteration, so k iterations give k + 1
    values. x0 is left unchanged.
    """
    ### BEGIN SOLUTION
    x = np.array(x0, dtype=np.float64)
    value, grad = fun(x)
    history = [value]
    for _ in range(max_iter):
        if np.max(np.abs(grad)) <= tolerance_grad:
            break
        direction = -np.linalg.solve(hess(x), grad)
        x = x + backtracking_line_search(fun, x, direction) * direction
        value, grad = fun(x)
        history.append(value)
    return x, history
    ### END SOLUTION


def lbfgs_direction(grad, s_history, y_history):
    """The L-BFGS direction -H grad by the two-loop recursion.

    grad: (D,); s_history, y_history: sequences of the m most recent (D,) steps
    s_i = x_{i+1} - x_i and gradient changes y_i = grad_{i+1} - grad_i, oldest first.
    H starts from gamma I with gamma = s.y / y.y of the newest pair (1 if there is none).
    Returns the direction, shape (D,).
    """
    ### BEGIN SOLUTION
    m = len(s_history)
    q = np.array(grad, dtype=np.float64)
    rhos = [1.0 / (y_history[i] @ s_history[i]) for i in range(m)]
    alphas = [0.0] * m
    for i in reversed(range(m)):  # newest pair first
        alphas[i] = rhos[i] * (s_history[i] @ q)
        q = q - alphas[i] * y_history[i]
    gamma = (s_history[-1] @ y_history[-1]) / (y_history[-1] @ y_history[-1]) if m else 1.0
    r = gamma * q
    for i in range(m):  # oldest pair first
        beta = rhos[i] * (y_history[i] @ r)
        r = r + (alphas[i] - beta) * s_history[i]
    return -r
    ### END SOLUTION


def lbfgs(fun, x0, history_size=10, max_iter=100, tolerance_grad=1e-7):
    """L-BFGS: d = lbfgs_direction(...) from the last history_size pairs, step
    t = backtracking_line_search(fun, x, d) (its default alpha, rho and c), x <- x + t d.

    A pair (s, y) is stored only when s.y > 1e-10 (positive curvature). Before every
    iteration, stops if max |grad| <= tolerance_grad; at most max_iter iterations. Returns
    (x, history): history is a list of the function values (floats), f(x0) first and then
    the value after every iteration, so k iterations give k + 1 values. x0 is left unchanged.
    """
    ### BEGIN SOLUTION
    x = np.array(x0, dtype=np.float64)
    value, grad = fun(x)
    history, s_history, y_history = [value], [], []
    for _ in range(max_iter):
        if np.max(np.abs(grad)) <= tolerance_grad:
            break
        direction = lbfgs_direction(grad, s_history, y_history)
        x_new = x + backtracking_line_search(fun, x, direction) * direction
        value, grad_new = fun(x_new)
        s, y = x_new - x, grad_new - grad
        if s @ y > 1e-10:
            s_history, y_history = (s_history + [s])[-history_size:], (y_history + [y])[-history_size:]
        x, grad = x_new, grad_new
        history.append(value)
    return x, history
    ### END SOLUTION
