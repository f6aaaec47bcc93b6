"""Public tests for assignment 11: students have this file and can run it with `course check`.

Expected values come from torch_geometric (utils.scatter, GCNConv, Batch), from torch's
autograd, from central differences, and from the formulas of the notebook applied to the
student's own weights; the hidden tests compare against the reference solution on other
inputs.
"""

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GCNConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm
from torch_geometric.utils import scatter as pyg_scatter
from torch_geometric.utils import to_undirected as pyg_to_undirected

from autograder.student import generated
from autograder.student.checks import as_array, assert_close, assert_shape, assert_unchanged, checked_state_dict
from autograder.student.gradcheck import numerical_vjp
from autograder.student.torchcheck import vjp_first_argument
from autograder.grading.proxy import fetch

REDUCES = ["sum", "mean", "max"]
F64 = torch.float64
# edge k goes from EDGES[0, k] to EDGES[1, k]; nodes 0 and 2 receive several edges, node 5 none
EDGES = np.array([[0, 1, 2, 3, 4, 5, 0, 3, 1], [1, 2, 0, 0, 2, 4, 3, 2, 0]])


def directed_graph(rng, num_nodes=6):
    return rng.normal(size=(num_nodes, 3)), rng.normal(size=(EDGES.shape[1], 2)), EDGES.copy()


def columns(edge_index) -> list:
    """The edges of ``edge_index`` (2, E) as a sorted list of (source, target) pairs."""
    return sorted(map(tuple, as_array(edge_index, "edge_index").astype(np.int64).T.tolist()))


def layer_shapes(in_channels, edge_channels, out_channels) -> dict:
    return {"edge_mlp.weight": (out_channels, 2 * in_channels + edge_channels), "edge_mlp.bias": (out_channels,),
            "node_mlp.weight": (out_channels, in_channels + out_channels), "node_mlp.bias": (out_channels,)}


def layer_by_formula(state, x, edge_index, edge_attr, aggr):
    """The notebook's formulas, with torch_geometric's scatter, on the weights in ``state``."""
    source, target = edge_index
    e = F.relu(F.linear(torch.cat([x[source], x[target], edge_attr], 1), state["edge_mlp.weight"], state["edge_mlp.bias"]))
    m = pyg_scatter(e, target, 0, x.shape[0], aggr)
    return F.relu(F.linear(torch.cat([x, m], 1), state["node_mlp.weight"], state["node_mlp.bias"])), e


def dense(edge_index, weight, num_nodes):
    """The weighted adjacency matrix: entry (s, t) sums the weights of the edges s -> t."""
    edge_index = torch.as_tensor(as_array(edge_index, "edge_index").astype(np.int64))
    weight = torch.as_tensor(as_array(weight, "the edge weights"), dtype=F64)
    if weight.shape != (edge_index.shape[1],):
        raise AssertionError(f"the edge weights have shape {tuple(weight.shape)}, expected ({edge_index.shape[1]},)")
    return torch.zeros(num_nodes, num_nodes, dtype=F64).index_put_(tuple(edge_index), weight, accumulate=True)


def gcn_logits(state, x, edge_index):
    """GCN(...)'s logits in evaluation mode, computed with torch_geometric's GCNConv."""
    hidden = F.relu(_conv(state, "conv1", x, edge_index))
    return _conv(state, "conv2", hidden, edge_index)


def _conv(state, name, x, edge_index):
    weight = state[f"{name}.lin.weight"]
    conv = GCNConv(weight.shape[1], weight.shape[0]).to(weight.dtype)
    conv.load_state_dict({"lin.weight": weight, "bias": state[f"{name}.bias"]})
    return conv(x.to(weight.dtype), edge_index)


def gcn_by_formula(state, x, edge_index):
    """GCN's logits without dropout, from the weights in ``state``: GCNConv's normalized sums."""
    loops, weight = pyg_gcn_norm(edge_index, None, x.shape[0], add_self_loops=True, dtype=x.dtype)

    def conv(name, h):
        messages = weight.unsqueeze(1) * F.linear(h, state[f"{name}.lin.weight"])[loops[0]]
        return pyg_scatter(messages, loops[1], 0, x.shape[0]) + state[f"{name}.bias"]

    return conv("conv2", F.relu(conv("conv1", x)))


def graph_classifier_by_formula(state, x, edge_index, edge_attr, batch, num_graphs, aggr, readout):
    """GraphClassifier's logits by the notebook's formulas, from the weights in ``state``."""
    def layer(name, h, e):
        return layer_by_formula({k: state[f"{name}.{k}"] for k in layer_shapes(1, 1, 1)}, h, edge_index, e, aggr)

    h, e = layer("layer1", x, edge_attr)
    h, _ = layer("layer2", h, e)
    return F.linear(pyg_scatter(h, batch, 0, num_graphs, readout), state["head.weight"], state["head.bias"])


def adam_replay(state, loss_of, epochs, **hyper):
    """torch.optim.Adam(**hyper) on a copy of ``state``: the loss ``loss_of(params)`` of every
    epoch, computed before its step, and the parameters after the last step."""
    params = {name: torch.as_tensor(value).clone().requires_grad_() for name, value in state.items()}
    optimizer = torch.optim.Adam(params.values(), **hyper)
    history = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_of(params)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history, {name: value.detach() for name, value in params.items()}


def graph_classifier_shapes(in_channels, edge_channels, hidden_channels, num_classes) -> dict:
    return {**{f"layer1.{k}": s for k, s in layer_shapes(in_channels, edge_channels, hidden_channels).items()},
            **{f"layer2.{k}": s for k, s in layer_shapes(hidden_channels, hidden_channels, hidden_channels).items()},
            "head.weight": (num_classes, hidden_channels), "head.bias": (num_classes,)}


def small_graphs(n_graphs, seed):
    """cycles_and_trees graphs batched by torch_geometric: x, edge_index, edge_attr (all ones), batch, y."""
    edges, sizes, y = generated.cycles_and_trees(n_graphs, seed=seed)
    batch = Batch.from_data_list([Data(edge_index=pyg_to_undirected(torch.from_numpy(e)), num_nodes=int(n))
                                  for e, n in zip(edges, sizes)])
    return (torch.ones(batch.num_nodes, 1), batch.edge_index, torch.ones(batch.edge_index.shape[1], 1),
            batch.batch, y)


# ---------------------------------------------------------------- graphs and NumPy


@pytest.mark.points(1)
def test_to_undirected_adds_the_reverse_of_every_edge(student):
    once = torch.from_numpy(generated.stochastic_block_model(sizes=(6, 6), p_in=0.5, seed=2)[1])
    both = student.to_undirected(once)
    assert_shape(both, (2, 2 * once.shape[1]), "to_undirected(edge_index)")
    if columns(both) != columns(pyg_to_undirected(once)):
        raise AssertionError("to_undirected(edge_index) does not hold every edge in both directions")


@pytest.mark.points(2)
@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_forward_matches_torch_geometric(student, grader, rng, reduce):
    src, index = rng.normal(size=(9, 3)), EDGES[1].copy()
    out, _ = student.scatter_forward(src, index, 6, reduce)
    assert_unchanged(grader, f"scatter_forward(src, index, 6, '{reduce}')")
    expected = pyg_scatter(torch.from_numpy(src), torch.from_numpy(index), 0, 6, reduce)
    assert_close(out, expected, f"scatter_forward(src, index, 6, '{reduce}')")


@pytest.mark.points(2)
@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_backward_matches_autograd(student, rng, reduce):
    """scatter_backward gives torch's gradient; tied maxima share it equally."""
    src = rng.normal(size=(9, 3))
    src[8] = src[2]  # rows 2 and 8 both end at node 0: a tie
    index, dout = EDGES[1].copy(), rng.normal(size=(6, 3))
    _, cache = student.scatter_forward(src, index, 6, reduce)
    tensor = torch.tensor(src, requires_grad=True)
    pyg_scatter(tensor, torch.from_numpy(index), 0, 6, reduce).backward(torch.from_numpy(dout))
    assert_close(student.scatter_backward(dout, cache), tensor.grad, f"scatter_backward for '{reduce}'")


@pytest.mark.points(1)
def test_edge_update_forward_concatenates_source_target_edge(student, rng):
    x, e, edge_index = directed_graph(rng)
    w, b = rng.normal(size=(8, 4)), rng.normal(size=4)
    out, _ = student.edge_update_forward(x, e, edge_index, w, b)
    source, target = edge_index
    expected = np.maximum(np.concatenate([x[source], x[target], e], axis=1) @ w + b, 0)
    assert_close(out, expected, "edge_update_forward(x, e, edge_index, w, b)")


@pytest.mark.points(2)
def test_edge_update_backward_by_central_differences(student, rng):
    x, e, edge_index = directed_graph(rng)
    w, b, dout = rng.normal(size=(8, 4)), rng.normal(size=4), rng.normal(size=(9, 4))
    _, cache = student.edge_update_forward(x, e, edge_index, w, b)
    grads = student.edge_update_backward(dout, cache)
    arrays = [x, e, w, b]
    for position, name in enumerate(["dx", "de", "dw", "db"]):
        def forward(v, position=position):
            args = list(arrays)
            args[position] = v
            return np.maximum(np.concatenate([args[0][edge_index[0]], args[0][edge_index[1]], args[1]], 1)
                              @ args[2] + args[3], 0)
        expected = numerical_vjp(forward, arrays[position].copy(), dout)
        assert_close(grads[position], expected, f"{name} from edge_update_backward", rtol=1e-5, atol=1e-7)


@pytest.mark.points(2)
@pytest.mark.parametrize("reduce", REDUCES)
def test_node_update_matches_autograd(student, rng, reduce):
    x, _, edge_index = directed_graph(rng)
    e, w, b = rng.normal(size=(9, 4)), rng.normal(size=(7, 5)), rng.normal(size=5)
    dout = rng.normal(size=(6, 5))
    out, cache = student.node_update_forward(x, e, edge_index, w, b, reduce)
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, e, w, b)]
    tx, te, tw, tb = tensors
    m = pyg_scatter(te, torch.from_numpy(edge_index[1]), 0, 6, reduce)
    expected = torch.relu(torch.cat([tx, m], 1) @ tw + tb)
    assert_close(out, expected.detach(), f"node_update_forward(..., reduce='{reduce}')")
    expected.backward(torch.from_numpy(dout))
    grads = student.node_update_backward(dout, cache)
    for name, got, tensor in zip(["dx", "de", "dw", "db"], grads, tensors):
        assert_close(got, tensor.grad, f"{name} from node_update_backward ('{reduce}')")


@pytest.mark.points(2)
def test_node_update_is_permutation_equivariant(student, rng):
    """Renumbering the nodes and reordering the edges only reorders the node features."""
    x, _, edge_index = directed_graph(rng)
    e, w, b = rng.normal(size=(9, 4)), rng.normal(size=(7, 5)), rng.normal(size=5)
    perm, order = rng.permutation(6), rng.permutation(9)
    inverse = np.argsort(perm)
    for reduce in REDUCES:
        out, _ = student.node_update_forward(x, e, edge_index, w, b, reduce)
        renumbered, _ = student.node_update_forward(x[inverse], e[order], perm[edge_index][:, order], w, b, reduce)
        assert_close(renumbered, as_array(out, "node_update_forward")[inverse],
                     f"node_update_forward(..., '{reduce}') on renumbered nodes")


# ---------------------------------------------------------------- PyTorch layers


@pytest.mark.points(2)
@pytest.mark.parametrize("reduce", REDUCES)
def test_torch_scatter_and_its_gradient_match_torch_geometric(student, rng, reduce):
    src, index = torch.from_numpy(rng.normal(size=(9, 3))), torch.from_numpy(EDGES[1].copy())
    grad_output = torch.from_numpy(rng.normal(size=(6, 3)))
    out, grad = student.vjp_first_argument(fetch(student.scatter), src, grad_output, index, 6, reduce)
    expected, expected_grad = vjp_first_argument(pyg_scatter, src, grad_output, index, 0, 6, reduce)
    assert_close(out, expected, f"scatter(src, index, 6, '{reduce}')")
    assert_close(grad, expected_grad, f"the gradient of scatter(src, index, 6, '{reduce}')")
    if as_array(student.scatter(src.float(), index, 6, reduce), "scatter of float32 rows").dtype != np.float32:
        raise AssertionError("scatter of float32 rows should return float32 (the dtype of src)")


@pytest.mark.points(2)
@pytest.mark.parametrize("name", ["MessagePassingLayer", "PyGMessagePassingLayer"])
@pytest.mark.parametrize("aggr", REDUCES)
def test_message_passing_layers_follow_the_formulas(student, rng, name, aggr):
    """The edge and node features of the layer, with node 5 receiving no edge."""
    layer = getattr(student, name)(3, 2, 4, aggr=aggr, dtype=F64)
    state = checked_state_dict(layer, layer_shapes(3, 2, 4))
    x, e, edge_index = (torch.from_numpy(a) for a in directed_graph(rng))
    out, e_out = layer(x, edge_index, e)
    expected, expected_e = layer_by_formula(state, x, edge_index, e, aggr)
    assert_close(e_out, expected_e, f"the edge features of {name}(..., aggr='{aggr}')")
    assert_close(out, expected, f"the node features of {name}(..., aggr='{aggr}')")


@pytest.mark.points(2)
def test_message_passing_layer_is_equivariant_and_size_free(student, rng):
    """Renumbered nodes give reordered outputs; a larger graph runs with the same weights."""
    layer = student.MessagePassingLayer(3, 2, 4, aggr="max", dtype=F64)
    x, e, edge_index = directed_graph(rng)
    perm, order = rng.permutation(6), rng.permutation(9)
    inverse = np.argsort(perm)
    out, e_out = layer(torch.from_numpy(x), torch.from_numpy(edge_index), torch.from_numpy(e))
    out_p, e_p = layer(torch.from_numpy(x[inverse]), torch.from_numpy(perm[edge_index][:, order]), torch.from_numpy(e[order]))
    assert_close(out_p, as_array(out, "the node features")[inverse], "the node features on renumbered nodes")
    assert_close(e_p, as_array(e_out, "the edge features")[order], "the edge features of reordered edges")
    bigger = np.stack([np.arange(12), (np.arange(12) + 1) % 12])
    out_big, _ = layer(torch.from_numpy(rng.normal(size=(12, 3))), torch.from_numpy(bigger),
                       torch.from_numpy(rng.normal(size=(12, 2))))
    assert_shape(out_big, (12, 4), "the node features of a 12-node graph")


@pytest.mark.points(2)
def test_gcn_norm_matches_torch_geometric_on_a_directed_graph(student):
    """Self-loops added, and degrees counted at the targets (in-degree + 1)."""
    edge_index = torch.from_numpy(EDGES.copy())
    result = student.gcn_norm(edge_index, 6, F64)
    if not isinstance(result, tuple) or len(result) != 2:
        raise AssertionError("gcn_norm should return a pair (edge_index, weight)")
    expected = dense(*pyg_gcn_norm(edge_index, None, 6, add_self_loops=True, dtype=F64), 6)
    assert_close(dense(*result, 6), expected, "the normalized adjacency from gcn_norm")


@pytest.mark.points(2)
def test_gcn_layer_matches_gcnconv_on_its_weights(student, rng):
    layer = student.GCNLayer(3, 4, dtype=F64)
    state = checked_state_dict(layer, {"lin.weight": (4, 3), "bias": (4,)})
    conv = GCNConv(3, 4).double()
    conv.load_state_dict({"lin.weight": state["lin.weight"], "bias": torch.from_numpy(rng.normal(size=4))})
    layer.load_state_dict(dict(conv.state_dict()))
    x, edge_index = torch.from_numpy(rng.normal(size=(6, 3))), torch.from_numpy(EDGES.copy())
    assert_close(layer(x, edge_index), conv(x, edge_index).detach(), "GCNLayer(3, 4) on a directed graph")


# ---------------------------------------------------------------- classification


GCN_SHAPES = {"conv1.lin.weight": (16, 34), "conv1.bias": (16,), "conv2.lin.weight": (4, 16), "conv2.bias": (4,)}


@pytest.mark.points(1)
def test_gcn_has_two_gcn_layers_and_drops_out_in_training_only(student, rng):
    model = student.GCN(34, 16, 4, dropout=0.5, dtype=F64)
    state = checked_state_dict(model, GCN_SHAPES)
    x, edge_index = torch.from_numpy(rng.normal(size=(6, 34))), torch.from_numpy(EDGES.copy())
    model.eval()
    assert_close(model(x, edge_index), gcn_logits(state, x, edge_index).detach(), "GCN's logits in evaluation mode")
    model.train()
    if np.allclose(as_array(model(x, edge_index), "GCN's logits"), gcn_logits(state, x, edge_index).detach().numpy()):
        raise AssertionError("in training mode GCN(..., dropout=0.5) gives the logits of evaluation mode: "
                             "is the dropout applied?")


@pytest.mark.points(2)
def test_node_classifier_learns_from_labelled_nodes_only(student):
    """Unlabelled nodes carry y = -1, which must never reach the loss."""
    x, edge_index, y, mask = generated.stochastic_block_model(sizes=(20, 20), labelled=5, seed=4)
    edge_index = pyg_to_undirected(torch.from_numpy(edge_index))
    model = student.GCN(8, 8, 2)
    history = student.train_node_classifier(model, x, edge_index, np.where(mask, y, -1), mask, epochs=30)
    assert_shape(history, (30,), "the history of 30 epochs")
    if not history[-1] < history[0]:
        raise AssertionError("the training loss did not decrease in 30 epochs")


@pytest.mark.points(2)
def test_node_classifier_follows_adam_with_weight_decay(student):
    """The history holds each epoch's loss before its step; the weights follow torch.optim.Adam."""
    x, edge_index, y, mask = generated.stochastic_block_model(sizes=(10, 10), labelled=3, seed=5)
    edge_index = pyg_to_undirected(torch.from_numpy(edge_index))
    model = student.GCN(8, 6, 2, dropout=0.0, dtype=F64)
    shapes = {"conv1.lin.weight": (6, 8), "conv1.bias": (6,), "conv2.lin.weight": (2, 6), "conv2.bias": (2,)}
    state = checked_state_dict(model, shapes)
    history = student.train_node_classifier(model, x, edge_index, np.where(mask, y, -1), mask, epochs=5, lr=0.05,
                                            weight_decay=0.1)
    x, target, mask = torch.from_numpy(x), torch.from_numpy(y[mask]), torch.from_numpy(mask)
    expected, params = adam_replay(state, lambda p: F.cross_entropy(gcn_by_formula(p, x, edge_index)[mask], target),
                                   5, lr=0.05, weight_decay=0.1)
    assert_shape(history, (5,), "the history of 5 epochs")
    assert_close(history, expected, "the losses of train_node_classifier (each epoch's, before its step)")
    trained = checked_state_dict(model, shapes)
    for name, value in params.items():
        assert_close(trained[name], value, f"{name} after 5 epochs of Adam with weight_decay=0.1")


@pytest.mark.points(1)
def test_predict_nodes_returns_the_highest_logit_without_dropout(student, rng):
    model = student.GCN(34, 16, 4, dropout=0.5, dtype=F64)
    state = checked_state_dict(model, GCN_SHAPES)
    x, edge_index = torch.from_numpy(rng.normal(size=(6, 34))), torch.from_numpy(EDGES.copy())
    model.train()
    labels = student.predict_nodes(model, x, edge_index)
    assert_shape(labels, (6,), "predict_nodes(model, x, edge_index)")
    assert_close(labels, gcn_logits(state, x, edge_index).argmax(1), "predict_nodes(model, x, edge_index)")


@pytest.mark.points(2)
def test_batch_graphs_matches_torch_geometric(student, rng):
    sizes = [4, 7, 5]
    graphs = [np.stack([rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)]) for n in sizes]
    edge_index, batch = student.batch_graphs([torch.from_numpy(g) for g in graphs], sizes)
    expected = Batch.from_data_list([Data(edge_index=torch.from_numpy(g), num_nodes=n) for g, n in zip(graphs, sizes)])
    assert_close(edge_index, expected.edge_index, "the edge_index from batch_graphs", rtol=0, atol=0)
    assert_close(batch, expected.batch, "the batch vector from batch_graphs", rtol=0, atol=0)


@pytest.mark.points(2)
def test_readout_is_invariant_to_node_order(student, rng):
    x, batch = torch.from_numpy(rng.normal(size=(9, 3))), torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2])
    order = torch.from_numpy(rng.permutation(9))
    for reduce in REDUCES:
        expected = pyg_scatter(x, batch, 0, 3, reduce)
        assert_close(student.readout(x, batch, 3, reduce), expected, f"readout(x, batch, 3, '{reduce}')")
        assert_close(student.readout(x[order], batch[order], 3, reduce), expected,
                     f"readout(x, batch, 3, '{reduce}') with the nodes in another order")


@pytest.mark.points(2)
def test_graph_classifier_trains_and_predicts(student):
    x, edge_index, edge_attr, batch, y = small_graphs(40, seed=3)
    model = student.GraphClassifier(1, 1, 8, 2)
    checked_state_dict(model, graph_classifier_shapes(1, 1, 8, 2))
    history = student.train_graph_classifier(model, x, edge_index, edge_attr, batch, y, epochs=20)
    assert_shape(history, (20,), "the history of 20 epochs")
    if not history[-1] < history[0]:
        raise AssertionError("the training loss did not decrease in 20 epochs")
    assert_shape(student.predict_graphs(model, x, edge_index, edge_attr, batch, 40), (40,),
                 "predict_graphs(...) for 40 graphs")


@pytest.mark.points(2)
def test_graph_classifier_follows_its_formulas_and_adam(student):
    """aggr, readout and dtype reach the model; the history holds each epoch's loss before its step."""
    x, edge_index, edge_attr, batch, y = small_graphs(10, seed=6)
    inputs = (x.double(), edge_index, edge_attr.double(), batch)
    model = student.GraphClassifier(1, 1, 5, 2, aggr="sum", readout="max", dtype=F64)
    shapes = graph_classifier_shapes(1, 1, 5, 2)
    state = checked_state_dict(model, shapes)
    logits = model(*inputs, 10)
    if as_array(logits, "GraphClassifier's logits").dtype != np.float64:
        raise AssertionError("GraphClassifier(..., dtype=torch.float64) should compute in float64")
    assert_close(logits, graph_classifier_by_formula(state, *inputs, 10, "sum", "max").detach(),
                 "the logits of GraphClassifier(1, 1, 5, 2, aggr='sum', readout='max')")
    history = student.train_graph_classifier(model, *inputs, y, epochs=5, lr=0.05)
    target = torch.from_numpy(y)
    expected, params = adam_replay(
        state, lambda p: F.cross_entropy(graph_classifier_by_formula(p, *inputs, 10, "sum", "max"), target), 5, lr=0.05)
    assert_shape(history, (5,), "the history of 5 epochs")
    assert_close(history, expected, "the losses of train_graph_classifier (each epoch's, before its step)")
    trained = checked_state_dict(model, shapes)
    for name, value in params.items():
        assert_close(trained[name], value, f"{name} after 5 epochs of Adam")
