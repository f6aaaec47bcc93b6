"""Hidden tests for assignment 11: never released. Expected values come from the reference.

Student modules start from the reference module's weights (sent as a state dict), so that
outputs, gradients and training can be compared in float64. The thresholds train the
student's code on graphs drawn from ``secret`` (the karate club renumbered, generated
graphs) and compute the predictions here, with the reference model, from the trained
state_dict().
"""

import numpy as np
import pytest
import torch
from torch_geometric.datasets import KarateClub

from autograder.grading.proxy import fetch
from autograder.student import generated
from autograder.student.checks import accuracy, as_array, assert_at_least, assert_close, assert_shape
from autograder.student.torchcheck import vjp_first_argument, with_state_of
from reference import gnn as ref
from reference import torch_gnn as tref

REDUCES = ["sum", "mean", "max"]
F64 = torch.float64


def graph(rng, num_nodes=8, num_edges=20):
    """A directed graph whose node 0 sends many edges, and whose last two nodes receive none."""
    source = np.r_[np.zeros(6, np.int64), rng.integers(0, num_nodes, num_edges - 6)]
    target = rng.integers(0, num_nodes - 2, num_edges)
    target = np.where(target == source, (target + 1) % (num_nodes - 2), target)
    return np.stack([source, target])


def simple_graph(rng):
    """``graph`` with every repeated edge listed once, in the order of first appearance."""
    edge_index = graph(rng)
    _, first = np.unique(edge_index, axis=1, return_index=True)
    return edge_index[:, np.sort(first)]


def tensors(*arrays):
    return tuple(torch.from_numpy(np.asarray(a)) for a in arrays)


def twin(student, name, *args, **kwargs):
    """(student module, reference module) of class ``name``, with the same weights."""
    torch.manual_seed(1)
    reference = getattr(tref, name)(*args, **kwargs)
    module = getattr(student, name)(*args, **kwargs)
    module.load_state_dict(dict(reference.state_dict()))
    return module, reference


# ---------------------------------------------------------------- NumPy


@pytest.mark.points(2)
@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_matches_reference_in_any_edge_order(student, rng, reduce):
    src, index, dout = rng.normal(size=(20, 4)), graph(rng)[1], rng.normal(size=(8, 4))
    expected, expected_cache = ref.scatter_forward(src, index, 8, reduce)
    expected_grad = ref.scatter_backward(dout, expected_cache)
    order = rng.permutation(20)
    out, cache = student.scatter_forward(src[order], index[order], 8, reduce)
    assert_close(out, expected, f"scatter_forward(..., '{reduce}') with the rows in another order")
    assert_close(student.scatter_backward(dout, cache), expected_grad[order], f"scatter_backward for '{reduce}'")


@pytest.mark.points(2)
def test_edge_update_matches_reference(student, rng):
    """A node that is the source of many edges collects the gradient of each."""
    edge_index = graph(rng)
    x, e, dout = rng.normal(size=(8, 2)), rng.normal(size=(20, 3)), rng.normal(size=(20, 5))
    w, b = rng.normal(size=(7, 5)), rng.normal(size=5)
    expected, cache = ref.edge_update_forward(x, e, edge_index, w, b)
    out, student_cache = student.edge_update_forward(x, e, edge_index, w, b)
    assert_close(out, expected, "edge_update_forward(x, e, edge_index, w, b)")
    grads = student.edge_update_backward(dout, student_cache)
    for name, got, want in zip(["dx", "de", "dw", "db"], grads, ref.edge_update_backward(dout, cache)):
        assert_close(got, want, f"{name} from edge_update_backward")


@pytest.mark.points(2)
@pytest.mark.parametrize("reduce", REDUCES)
def test_node_update_matches_reference(student, rng, reduce):
    edge_index = graph(rng)
    x, e, dout = rng.normal(size=(8, 2)), rng.normal(size=(20, 3)), rng.normal(size=(8, 4))
    w, b = rng.normal(size=(5, 4)), rng.normal(size=4)
    expected, cache = ref.node_update_forward(x, e, edge_index, w, b, reduce)
    out, student_cache = student.node_update_forward(x, e, edge_index, w, b, reduce)
    assert_close(out, expected, f"node_update_forward(..., '{reduce}')")
    grads = student.node_update_backward(dout, student_cache)
    for name, got, want in zip(["dx", "de", "dw", "db"], grads, ref.node_update_backward(dout, cache)):
        assert_close(got, want, f"{name} from node_update_backward ('{reduce}')")


# ---------------------------------------------------------------- PyTorch


@pytest.mark.points(2)
@pytest.mark.parametrize("reduce", REDUCES)
def test_torch_scatter_matches_reference(student, rng, reduce):
    src, index, grad_output = tensors(rng.normal(size=(20, 4)), graph(rng)[1], rng.normal(size=(8, 4)))
    expected, expected_grad = vjp_first_argument(tref.scatter, src, grad_output, index, 8, reduce)
    order = torch.from_numpy(rng.permutation(20))
    out, grad = student.vjp_first_argument(fetch(student.scatter), src[order], grad_output, index[order], 8, reduce)
    assert_close(out, expected, f"scatter(..., '{reduce}') with the rows in another order")
    assert_close(grad, expected_grad[order], f"the gradient of scatter(..., '{reduce}')")
    out32 = student.scatter(src.float(), index, 8, reduce)
    if as_array(out32, "scatter of float32 rows").dtype != np.float32:
        raise AssertionError("scatter of float32 rows should return float32 (the dtype of src)")


@pytest.mark.points(1)
def test_to_undirected_on_another_graph(student, rng):
    edge_index = torch.from_numpy(generated.stochastic_block_model(sizes=(9, 9, 9), p_in=0.4, seed=rng)[1])
    both = student.to_undirected(edge_index)
    expected = tref.to_undirected(edge_index)
    assert_shape(both, tuple(expected.shape), "to_undirected(edge_index)")
    if sorted(map(tuple, as_array(both, "to_undirected").T.tolist())) != sorted(map(tuple, expected.T.tolist())):
        raise AssertionError("to_undirected(edge_index) does not hold both directions of every edge")


@pytest.mark.points(2)
@pytest.mark.parametrize("name", ["MessagePassingLayer", "PyGMessagePassingLayer"])
@pytest.mark.parametrize("aggr", REDUCES)
def test_message_passing_layers_match_reference(student, rng, name, aggr):
    """Outputs, and the gradient with respect to the node features, on the reference's weights."""
    layer, reference = twin(student, name, 2, 3, 5, aggr=aggr, dtype=F64)
    x, edge_index, e = tensors(rng.normal(size=(8, 2)), graph(rng), rng.normal(size=(20, 3)))
    grad_output = tensors(rng.normal(size=(8, 5)), rng.normal(size=(20, 5)))
    out, grad = student.vjp_first_argument(layer, x, grad_output, edge_index, e)
    expected, expected_grad = vjp_first_argument(reference, x, grad_output, edge_index, e)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"{name}(...) should return a pair (node features, edge features)")
    assert_close(out[1], expected[1], f"the edge features of {name}(..., aggr='{aggr}')")
    assert_close(out[0], expected[0], f"the node features of {name}(..., aggr='{aggr}')")
    assert_close(grad, expected_grad, f"the gradient of {name}(..., aggr='{aggr}') with respect to x")


@pytest.mark.points(2)
def test_gcn_layer_matches_reference_on_a_directed_graph(student, rng):
    """Self-loops and in-degrees on a graph whose nodes send and receive unequal numbers of
    edges (a simple graph: A + I, as the notebook defines the layer)."""
    layer, reference = twin(student, "GCNLayer", 3, 4, dtype=F64)
    torch.nn.init.normal_(reference.bias)
    layer.load_state_dict(dict(reference.state_dict()))
    x, edge_index, grad_output = tensors(rng.normal(size=(8, 3)), simple_graph(rng), rng.normal(size=(8, 4)))
    out, grad = student.vjp_first_argument(layer, x, grad_output, edge_index)
    expected, expected_grad = vjp_first_argument(reference, x, grad_output, edge_index)
    assert_close(out, expected, "GCNLayer(3, 4) on a directed graph")
    assert_close(grad, expected_grad, "the gradient of GCNLayer(3, 4) with respect to x")


def small_sbm(rng):
    x, edge_index, y, mask = generated.stochastic_block_model(sizes=(15, 15, 15), labelled=4, seed=rng)
    return x, tref.to_undirected(torch.from_numpy(edge_index)), y, mask


@pytest.mark.points(2)
def test_node_training_follows_reference_step_by_step(student, rng):
    """Float64 training without dropout: every loss and the final weights match the reference."""
    model, reference = twin(student, "GCN", 8, 6, 3, dropout=0.0, dtype=F64)
    x, edge_index, y, mask = small_sbm(rng)
    labels = np.where(mask, y, -1)
    history = student.train_node_classifier(model, x, edge_index, labels, mask, epochs=15, lr=0.05, weight_decay=1e-3)
    expected = tref.train_node_classifier(reference, x, edge_index, labels, mask, epochs=15, lr=0.05, weight_decay=1e-3)
    assert_shape(history, (15,), "the history of 15 epochs")
    assert_close(history, expected, "the training losses")
    state = model.state_dict()
    for key, value in reference.state_dict().items():
        assert_close(state.get(key) if isinstance(state, dict) else None, value, f"{key} after training")


@pytest.mark.points(1)
def test_predict_nodes_matches_reference(student, rng):
    model, reference = twin(student, "GCN", 8, 6, 3, dropout=0.5, dtype=F64)
    x, edge_index, _, _ = small_sbm(rng)
    model.train()
    labels = student.predict_nodes(model, x, edge_index)
    assert_close(labels, tref.predict_nodes(reference, x, edge_index), "predict_nodes(model, x, edge_index)")


@pytest.mark.points(1)
def test_batch_graphs_and_readout_match_reference(student, rng):
    edges, sizes, _ = generated.cycles_and_trees(5, seed=rng)
    edge_indices, sizes = [torch.from_numpy(e) for e in edges], [int(n) for n in sizes]
    edge_index, batch = student.batch_graphs(edge_indices, sizes)
    expected_edges, expected_batch = tref.batch_graphs(edge_indices, sizes)
    assert_close(edge_index, expected_edges, "the edge_index from batch_graphs", rtol=0, atol=0)
    assert_close(batch, expected_batch, "the batch vector from batch_graphs", rtol=0, atol=0)
    x, order = torch.from_numpy(rng.normal(size=(sum(sizes), 3))), torch.from_numpy(rng.permutation(sum(sizes)))
    for reduce in REDUCES:
        expected = tref.readout(x, expected_batch, 5, reduce)
        assert_close(student.readout(x[order], expected_batch[order], 5, reduce), expected,
                     f"readout(..., '{reduce}') of nodes in another order")


def structure_only(edges, sizes):
    """Graphs as one batch (reference batching), both directions of every edge, features 1."""
    edge_index, batch = tref.batch_graphs([tref.to_undirected(torch.from_numpy(e)) for e in edges],
                                          [int(n) for n in sizes])
    return np.ones((len(batch), 1)), edge_index, np.ones((edge_index.shape[1], 1)), batch


@pytest.mark.points(2)
def test_graph_training_follows_reference_step_by_step(student, rng):
    """GraphClassifier's logits and its float64 training match the reference."""
    model, reference = twin(student, "GraphClassifier", 1, 1, 6, 2, aggr="sum", readout="max", dtype=F64)
    edges, sizes, y = generated.cycles_and_trees(12, seed=rng)
    inputs = structure_only(edges, sizes)
    history = student.train_graph_classifier(model, *inputs, y, epochs=8, lr=0.02)
    expected = tref.train_graph_classifier(reference, *inputs, y, epochs=8, lr=0.02)
    assert_shape(history, (8,), "the history of 8 epochs")
    assert_close(history, expected, "the training losses")
    labels = student.predict_graphs(model, *inputs, 12)
    assert_close(labels, tref.predict_graphs(reference, *inputs, 12), "predict_graphs(...)")


# ---------------------------------------------------------------- thresholds


def renumbered_karate(secret):
    """The karate club with its members renumbered, its edges reordered and its communities
    renamed by permutations drawn from ``secret``: (x, edge_index, y, train_mask)."""
    data = KarateClub()[0]
    members, names = secret.permutation(34), secret.permutation(4)
    edge_index = members[data.edge_index.numpy()][:, secret.permutation(data.edge_index.shape[1])]
    y = np.empty(34, np.int64)
    y[members] = names[data.y.numpy()]
    train_mask = np.zeros(34, bool)
    train_mask[members[data.train_mask.numpy()]] = True
    return np.eye(34), edge_index, y, train_mask


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_gcn_classifies_the_renumbered_karate_club(student, secret, thresholds, device):
    """GCN(34, 16, 4) trained with train_node_classifier's defaults on the karate club, renumbered in secret."""
    x, edge_index, y, train_mask = renumbered_karate(secret)
    model = student.GCN(34, 16, 4)
    student.train_node_classifier(model, x, edge_index, np.where(train_mask, y, -1), train_mask, device=device)
    trained = with_state_of(tref.GCN(34, 16, 4), model)
    predicted = tref.predict_nodes(trained, x, torch.from_numpy(edge_index)).numpy()
    held_out = accuracy(predicted[~train_mask], y[~train_mask], "the predictions of the trained GCN")
    assert_at_least(held_out, thresholds["karate_accuracy"], "accuracy on the unlabelled members")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_gcn_classifies_a_secret_stochastic_block_model(student, secret, thresholds, device):
    """GCN(8, 16, 3) trained with train_node_classifier's defaults on a stochastic block model drawn in secret."""
    x, edge_index, y, train_mask = generated.stochastic_block_model(seed=secret)
    edge_index = tref.to_undirected(torch.from_numpy(edge_index))
    model = student.GCN(8, 16, 3)
    student.train_node_classifier(model, x, edge_index, np.where(train_mask, y, -1), train_mask, device=device)
    trained = with_state_of(tref.GCN(8, 16, 3), model)
    predicted = tref.predict_nodes(trained, x, edge_index).numpy()
    held_out = accuracy(predicted[~train_mask], y[~train_mask], "the predictions of the trained GCN")
    assert_at_least(held_out, thresholds["sbm_accuracy"], "accuracy on the unlabelled nodes")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_graph_classifier_tells_secret_cycles_from_trees(student, secret, thresholds, device):
    """GraphClassifier(1, 1, 16, 2) trained with train_graph_classifier's defaults on 200 graphs drawn in secret."""
    edges, sizes, y = generated.cycles_and_trees(200, seed=secret)
    test_edges, test_sizes, test_y = generated.cycles_and_trees(200, seed=secret)
    model = student.GraphClassifier(1, 1, 16, 2)
    student.train_graph_classifier(model, *structure_only(edges, sizes), y, device=device)
    trained = with_state_of(tref.GraphClassifier(1, 1, 16, 2), model)
    predicted = tref.predict_graphs(trained, *structure_only(test_edges, test_sizes), len(test_y)).numpy()
    held_out = accuracy(predicted, test_y, "the predictions of the trained GraphClassifier")
    assert_at_least(held_out, thresholds["cycles_vs_trees_accuracy"], "accuracy on the test graphs")
