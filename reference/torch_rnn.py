"""Recurrent networks in PyTorch: a many-to-one LSTM classifier and a many-to-many LSTM that
predicts the next value of a signal, trained by truncated backpropagation through time.

Sequences are batch-first, (N, T, features), as ``nn.LSTM(..., batch_first=True)`` reads
them. Nothing here names a device: training runs wherever the model is (or ``device=``
says), and inputs follow the model.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm


class LSTMClassifier(nn.Module):
    """Many-to-one: an LSTM reads a sequence, a linear layer classifies its last hidden state.

    lstm = nn.LSTM(input_size, hidden_size, batch_first=True) and fc = nn.Linear(hidden_size,
    num_classes), created in this order, so that state_dict() holds lstm.weight_ih_l0,
    lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0, fc.weight, fc.bias.
    forward: x (N, T, input_size) -> logits (N, num_classes), from the zero initial state.
    """

    def __init__(self, input_size, hidden_size, num_classes, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True, device=device, dtype=dtype)
        self.fc = nn.Linear(hidden_size, num_classes, device=device, dtype=dtype)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        outputs, _ = self.lstm(x)
        return self.fc(outputs[:, -1])
        ### END SOLUTION


def train_classifier(model, X, y, epochs=20, lr=1e-2, batch_size=64, max_norm=1.0, seed=0, device=None):
    """Mini-batch training of a classifier with torch.optim.Adam(lr) on the mean cross-entropy
    of its logits, the gradients clipped to a global norm of ``max_norm`` before every step.

    X (N, T, D) and y (N,) integer labels, arrays or tensors. Every epoch visits all samples
    once, in batches of ``batch_size`` (the last may be smaller), in a new random order drawn
    from a torch.Generator seeded with ``seed``: the same call gives the same result. The
    model is moved to ``device`` (None: it stays where it is), the batches follow it in the
    model's dtype, and it is in training mode throughout. Returns the mean loss of every
    step's batch (a list of floats, in order).
    """
    ### BEGIN SOLUTION
    if device is not None:
        model.to(device)
    weight = next(model.parameters())
    X = torch.as_tensor(X, dtype=weight.dtype).to(weight.device)
    y = torch.as_tensor(y, dtype=torch.int64).to(weight.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    history = []
    progress = tqdm(range(epochs), desc="epochs", disable=None)
    for _ in progress:
        order = torch.randperm(len(X), generator=generator).to(weight.device)
        for batch in order.split(batch_size):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            history.append(loss.item())
        progress.set_postfix(loss=history[-1])
    return history
    ### END SOLUTION


class SignalPredictor(nn.Module):
    """Many-to-many: at every step, a prediction of the signal's next value.

    lstm = nn.LSTM(1, hidden_size, batch_first=True) and fc = nn.Linear(hidden_size, 1),
    created in this order (state_dict() keys as for LSTMClassifier).
    forward(x, state=None): x (N, T, 1), state a pair (h, c) of (1, N, hidden_size) tensors
    or None for zeros -> (predictions (N, T, 1), the state (h, c) after the last step).
    """

    def __init__(self, hidden_size=32, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        self.lstm = nn.LSTM(1, hidden_size, batch_first=True, device=device, dtype=dtype)
        self.fc = nn.Linear(hidden_size, 1, device=device, dtype=dtype)
        ### END SOLUTION

    def forward(self, x, state=None):
        ### BEGIN SOLUTION
        outputs, state = self.lstm(x, state)
        return self.fc(outputs), state
        ### END SOLUTION


def train_tbptt(model, series, chunk_length=20, epochs=60, lr=1e-2, max_norm=1.0, device=None):
    """Truncated backpropagation through time for next-value prediction.

    series (N, L), an array or tensor: the inputs are series[:, :-1] and the targets
    series[:, 1:], both as (N, L - 1, 1). Every epoch starts from the zero state and walks
    along time in chunks of ``chunk_length`` steps (the last may be shorter), all N series
    at once. For each chunk: the model runs from the state the previous chunk ended in; one
    step of torch.optim.Adam(lr) on the chunk's mean squared error, the gradients clipped to
    a global norm of ``max_norm``; then the state is detached from the graph, so the next
    chunk's gradient stops at this chunk's end. The model is moved to ``device`` (None: it
    stays where it is), the data follow it in its dtype. Returns the loss of every chunk (a
    list of floats, in order).
    """
    ### BEGIN SOLUTION
    if device is not None:
        model.to(device)
    weight = next(model.parameters())
    series = torch.as_tensor(series, dtype=weight.dtype).to(weight.device)
    inputs, targets = series[:, :-1, None], series[:, 1:, None]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    history = []
    progress = tqdm(range(epochs), desc="epochs", disable=None)
    for _ in progress:
        state = None
        for start in range(0, inputs.shape[1], chunk_length):
            chunk = slice(start, start + chunk_length)
            predictions, state = model(inputs[:, chunk], state)
            loss = F.mse_loss(predictions, targets[:, chunk])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            state = tuple(s.detach() for s in state)
            history.append(loss.item())
        progress.set_postfix(loss=history[-1])
    return history
    ### END SOLUTION


def predict_next(model, series):
    """One-step predictions: for series (N, L), an array or tensor, the (N, L - 1) tensor
    whose entry t is the model's prediction of series[:, t + 1] from series[:, :t + 1],
    running from the zero state. Evaluation mode, no gradients, on the model's device and
    dtype; the result is on the CPU."""
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    model.eval()
    with torch.no_grad():
        inputs = torch.as_tensor(series, dtype=weight.dtype).to(weight.device)[:, :-1, None]
        return model(inputs)[0][..., 0].cpu()
    ### END SOLUTION


def forecast(model, context, steps):
    """Free-running forecast: the model reads context (N, T), an array or tensor, from the
    zero state; its prediction after the last value is the first forecast value, which is
    fed back as the next input, and so on. Returns the (N, steps) forecast (steps >= 1) as
    a CPU tensor. Evaluation mode, no gradients, on the model's device and dtype."""
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    model.eval()
    with torch.no_grad():
        inputs = torch.as_tensor(context, dtype=weight.dtype).to(weight.device)[:, :, None]
        predictions, state = model(inputs)
        values = [predictions[:, -1:]]
        for _ in range(steps - 1):
            prediction, state = model(values[-1], state)
            values.append(prediction)
        return torch.cat(values, dim=1)[..., 0].cpu()
    ### END SOLUTION


def skill_over_persistence(predictions, series):
    """How much better than "the next value equals this one": 1 - MSE(predictions,
    series[:, 1:]) / MSE(series[:, :-1], series[:, 1:]), for one-step predictions (N, L - 1)
    of series (N, L) (arrays or CPU tensors). 1 is perfect, 0 no better than persistence."""
    ### BEGIN SOLUTION
    predictions, series = np.asarray(predictions, dtype=np.float64), np.asarray(series, dtype=np.float64)
    model_error = np.mean((predictions - series[:, 1:]) ** 2)
    persistence_error = np.mean((series[:, :-1] - series[:, 1:]) ** 2)
    return float(1.0 - model_error / persistence_error)
    ### END SOLUTION
