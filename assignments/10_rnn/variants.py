"""Plausible wrong and correct-but-different answers for 10; the project's tests grade each.

No variant that forgets to detach the state between chunks runs to the end in PyTorch 2:
the second chunk's backward() reaches into the first chunk's freed graph and raises (with
retain_graph=True, the optimizer's in-place update of the weights makes it raise instead),
so both such bugs lose the points of every test that trains with train_tbptt, each with the
error as the reason.
"""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    # the vanilla RNN
    Variant("tanh_derivative_without_square", "the step's backward uses 1 - tanh instead of 1 - tanh^2",
            Edit("rnn_step_backward", "(1.0 - h_next ** 2)", "(1.0 - h_next)")),
    Variant("bptt_drops_the_recurrent_gradient", "each step's backward sees only dh[:, t], not the "
            "gradient that flows back from the next step",
            Edit("rnn_backward", "rnn_step_backward(dh[:, t] + dh_prev, cache[t])", "rnn_step_backward(dh[:, t], cache[t])")),
    Variant("weight_gradients_of_the_last_step", "the weight gradients of the earlier steps are "
            "overwritten instead of summed",
            Edit("rnn_backward", "dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t", "dWx, dWh, db = dWx_t, dWh_t, db_t")),
    Variant("time_and_batch_axes_swapped", "the forward pass indexes x[t] (a sample) instead of x[:, t] "
            "(a time step)",
            Edit("rnn_forward", "rnn_step_forward(x[:, t], h_prev", "rnn_step_forward(x[t], h_prev"),
            Edit("rnn_forward", "h[:, t] = h_prev", "h[t] = h_prev")),
    Variant("gradient_norms_of_all_states", "the loss for sequence length t sums every state up to t, "
            "not the t-th alone",
            Edit("h0_gradient_norms", "dh[:, t] = 1.0", "dh[:, :t + 1] = 1.0")),
    # clipping
    Variant("clipping_per_element", "every entry clipped to [-max_norm, max_norm] instead of the "
            "global norm rescaled",
            Replace("clip_grad_norm", """
def clip_grad_norm(grads, max_norm, eps=1e-6):
    total_norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    return {name: np.clip(g, -max_norm, max_norm) for name, g in grads.items()}, total_norm
""")),
    Variant("clipping_per_array", "each array clipped by its own norm",
            Replace("clip_grad_norm", """
def clip_grad_norm(grads, max_norm, eps=1e-6):
    total_norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    return {name: g * min(1.0, max_norm / (np.linalg.norm(g) + eps)) for name, g in grads.items()}, total_norm
""")),
    Variant("clipping_also_stretches", "every gradient rescaled to max_norm, short ones lengthened",
            Edit("clip_grad_norm", "min(1.0, max_norm / (total_norm + eps))", "max_norm / (total_norm + eps)")),
    Variant("clipping_in_place", "the gradients clipped in place, changing the caller's arrays",
            Edit("clip_grad_norm", "return {name: g * scale for name, g in grads.items()}, total_norm",
                 "for g in grads.values():\n        g *= scale\n    return dict(grads), total_norm")),
    # the LSTM
    Variant("gate_order_mixed_up", "the gates read in the order i, f, o, g instead of torch's i, f, g, o "
            "(forward and backward consistent with each other)",
            Edit("lstm_step_forward", "sigmoid(a[:, 3 * H:])", "sigmoid(a[:, 2 * H:3 * H])"),
            Edit("lstm_step_forward", "np.tanh(a[:, 2 * H:3 * H])", "np.tanh(a[:, 3 * H:])"),
            Edit("lstm_step_backward", "dg * (1 - g ** 2), do * o * (1 - o)]", "do * o * (1 - o), dg * (1 - g ** 2)]")),
    Variant("tanh_c_path_forgotten", "the backward ignores that h_t = o * tanh(c_t) depends on the cell",
            Edit("lstm_step_backward", "dc = dc_next + dh_next * o * (1.0 - tanh_c ** 2)", "dc = dc_next")),
    Variant("tanh_c_derivative_forgotten", "the gradient through tanh(c_t) misses the factor 1 - tanh^2(c_t)",
            Edit("lstm_step_backward", "dc = dc_next + dh_next * o * (1.0 - tanh_c ** 2)", "dc = dc_next + dh_next * o")),
    Variant("cell_state_not_carried", "every step starts from a cell of zeros",
            Edit("lstm_forward", "lstm_step_forward(x[:, t], h_prev, c_prev, Wx, Wh, b)",
                 "lstm_step_forward(x[:, t], h_prev, np.zeros_like(h0), Wx, Wh, b)")),
    Variant("cell_gradient_not_carried_back", "the backward starts every step with dc_next = 0",
            Edit("lstm_backward", "lstm_step_backward(dh[:, t] + dh_prev, dc_prev, cache[t])",
                 "lstm_step_backward(dh[:, t] + dh_prev, np.zeros_like(dc_prev), cache[t])")),
    # PyTorch: many-to-one
    Variant("lstm_reads_time_first", "nn.LSTM without batch_first=True: it runs across the batch",
            Edit("LSTMClassifier", "nn.LSTM(input_size, hidden_size, batch_first=True,",
                 "nn.LSTM(input_size, hidden_size,")),
    Variant("classifier_reads_the_first_step", "the logits come from the state after the first row",
            Edit("LSTMClassifier", "self.fc(outputs[:, -1])", "self.fc(outputs[:, 0])")),
    Variant("classifier_not_clipped", "train_classifier never clips the gradients",
            Edit("train_classifier", "            nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n", "")),
    Variant("classifier_zero_grad_missing", "gradients accumulate across steps",
            Edit("train_classifier", "            optimizer.zero_grad()\n", "")),
    # PyTorch: many-to-many
    Variant("state_not_detached", "the state is passed on to the next chunk with its graph",
            Edit("train_tbptt", "state = tuple(s.detach() for s in state)", "state = tuple(state)")),
    Variant("state_not_detached_graph_kept", "no detach, and retain_graph=True to silence the first error",
            Edit("train_tbptt", "state = tuple(s.detach() for s in state)", "state = tuple(state)"),
            Edit("train_tbptt", "loss.backward()", "loss.backward(retain_graph=True)")),
    Variant("state_reset_every_chunk", "every chunk starts from the zero state",
            Edit("train_tbptt", "model(inputs[:, chunk], state)", "model(inputs[:, chunk])")),
    Variant("chunks_cut_along_the_batch", "chunks taken along the first axis (series) instead of time",
            Edit("train_tbptt", "model(inputs[:, chunk], state)", "model(inputs[chunk], state)"),
            Edit("train_tbptt", "F.mse_loss(predictions, targets[:, chunk])", "F.mse_loss(predictions, targets[chunk])")),
    Variant("tbptt_not_clipped", "train_tbptt never clips the gradients",
            Edit("train_tbptt", "            nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n", "")),
    Variant("forecast_forgets_the_state", "each forecast step restarts from the zero state",
            Edit("forecast", "prediction, state = model(values[-1], state)", "prediction, _ = model(values[-1])")),
    Variant("predict_next_off_by_one", "one-step predictions made from the series shifted by one",
            Edit("predict_next", "[:, :-1, None]", "[:, 1:, None]")),
]

ALTERNATIVES = [
    Variant("loops_and_einsum", "NumPy written differently: per-gate weight slices, einsum, one "
            "backward pass per length computed with Jacobian products, clipping of a flat vector",
            Replace("rnn_step_backward", """
def rnn_step_backward(dh_next, cache):
    x, h_prev, Wx, Wh, h_next = cache
    da = dh_next - dh_next * h_next * h_next
    return (np.einsum("nh,dh->nd", da, Wx), np.einsum("nh,kh->nk", da, Wh),
            np.einsum("nd,nh->dh", x, da), np.einsum("nk,nh->kh", h_prev, da), np.einsum("nh->h", da))
"""),
            Replace("rnn_backward", """
def rnn_backward(dh, cache):
    T = dh.shape[1]
    grads = [None] * T
    carry = np.zeros_like(dh[:, 0])
    totals = None
    for t in range(T - 1, -1, -1):
        dx_t, carry, *dparams = rnn_step_backward(dh[:, t] + carry, cache[t])
        grads[t] = dx_t
        totals = dparams if totals is None else [a + b for a, b in zip(totals, dparams)]
    return (np.stack(grads, axis=1), carry, *totals)
"""),
            Replace("lstm_step_forward", """
def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    blocks = [x @ Wx[:, k * H:(k + 1) * H] + h_prev @ Wh[:, k * H:(k + 1) * H] + b[k * H:(k + 1) * H]
              for k in range(4)]
    i, f, g, o = 1 / (1 + np.exp(-blocks[0])), 1 / (1 + np.exp(-blocks[1])), np.tanh(blocks[2]), \\
        1 / (1 + np.exp(-blocks[3]))
    c_next = f * c_prev + i * g
    h_next = o * np.tanh(c_next)
    return h_next, c_next, {"x": x, "h": h_prev, "c": c_prev, "c_next": c_next, "Wx": Wx, "Wh": Wh,
                            "gates": (i, f, g, o)}
"""),
            Replace("lstm_step_backward", """
def lstm_step_backward(dh_next, dc_next, cache):
    i, f, g, o = cache["gates"]
    t = np.tanh(cache["c_next"])
    dc = dc_next + dh_next * o * (1 - t * t)
    da = np.hstack([dc * g * i * (1 - i), dc * cache["c"] * f * (1 - f), dc * i * (1 - g * g),
                    dh_next * t * o * (1 - o)])
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, f * dc, cache["x"].T @ da, cache["h"].T @ da,
            np.sum(da, axis=0))
"""),
            Replace("h0_gradient_norms", """
def h0_gradient_norms(x, h0, Wx, Wh, b, forward=rnn_forward, backward=rnn_backward):
    h, cache = forward(x, h0, Wx, Wh, b)
    N, T, H = h.shape
    norms = []
    for t in range(1, T + 1):
        dh = np.zeros((N, T, H))
        dh[:, t - 1] = np.ones((N, H))
        norms.append(np.sqrt(np.sum(backward(dh, cache)[1] ** 2)))
    return np.array(norms)
"""),
            Replace("clip_grad_norm", """
def clip_grad_norm(grads, max_norm, eps=1e-6):
    total_norm = float(np.linalg.norm(np.concatenate([np.ravel(g) for g in grads.values()])))
    if total_norm + eps <= max_norm:
        return {name: np.array(g, copy=True) for name, g in grads.items()}, total_norm
    return {name: g * (max_norm / (total_norm + eps)) for name, g in grads.items()}, total_norm
""")),
    Variant("torch_written_differently", "the classifier reads h_n, trains from a DataLoader with a "
            "seeded generator; TBPTT detaches h and c by name and writes the MSE out; forecasts "
            "read the context one step at a time",
            Replace("LSTMClassifier", """
class LSTMClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, device=None, dtype=None):
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size, num_layers=1, batch_first=True, **kw)
        self.fc = nn.Linear(hidden_size, num_classes, **kw)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.fc(h_n[-1])
"""),
            Replace("train_classifier", """
def train_classifier(model, X, y, epochs=20, lr=1e-2, batch_size=64, max_norm=1.0, seed=0, device=None):
    model = model if device is None else model.to(device)
    p = next(model.parameters())
    dataset = torch.utils.data.TensorDataset(torch.tensor(np.asarray(X), dtype=p.dtype),
                                             torch.tensor(np.asarray(y), dtype=torch.long))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr)
    losses = []
    model.train()
    for _ in tqdm(range(epochs), disable=None):
        for xb, yb in loader:
            xb, yb = xb.to(p.device), yb.to(p.device)
            opt.zero_grad(set_to_none=True)
            loss = F.nll_loss(F.log_softmax(model(xb), dim=-1), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
            opt.step()
            losses.append(float(loss))
    return losses
"""),
            Replace("train_tbptt", """
def train_tbptt(model, series, chunk_length=20, epochs=60, lr=1e-2, max_norm=1.0, device=None):
    if device is not None:
        model = model.to(device)
    p = next(model.parameters())
    s = torch.tensor(np.asarray(series), dtype=p.dtype, device=p.device).unsqueeze(-1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    steps = s.shape[1] - 1
    for epoch in range(epochs):
        h = c = None
        for start in range(0, steps, chunk_length):
            stop = min(start + chunk_length, steps)
            out, (h, c) = model(s[:, start:stop], None if h is None else (h, c))
            loss = ((out - s[:, start + 1:stop + 1]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            opt.step()
            h, c = h.detach(), c.detach()
            losses.append(loss.item())
    return losses
"""),
            Replace("forecast", """
def forecast(model, context, steps):
    p = next(model.parameters())
    model.eval()
    out = []
    with torch.inference_mode():
        values = torch.tensor(np.asarray(context), dtype=p.dtype, device=p.device)
        state = None
        for t in range(values.shape[1]):
            prediction, state = model(values[:, t].reshape(-1, 1, 1), state)
        for _ in range(steps):
            out.append(prediction.reshape(-1))
            prediction, state = model(prediction, state)
    return torch.stack(out, dim=1).cpu()
"""),
            Replace("skill_over_persistence", """
def skill_over_persistence(predictions, series):
    series = torch.as_tensor(np.asarray(series), dtype=torch.float64)
    predictions = torch.as_tensor(np.asarray(predictions), dtype=torch.float64)
    target = series[:, 1:]
    return 1.0 - (F.mse_loss(predictions, target) / F.mse_loss(series[:, :-1], target)).item()
""")),
]
