"""The reference graph neural networks of assignment 11: the NumPy message passing checked by
central differences in float64 and against torch.autograd; the PyTorch layers against
torch_geometric (utils.scatter, MessagePassing, GCNConv) on the same weights; invariance to
the order of nodes and edges; the three trainings."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.datasets import KarateClub
from torch_geometric.nn import GCNConv
from torch_geometric.utils import scatter as pyg_scatter
from torch_geometric.utils import to_undirected as pyg_to_undirected

from autograder.student import generated
from autograder.student.gradcheck import numerical_vjp, rel_error
from reference import gnn
from reference import torch_gnn as tg

TOL = 1e-7
REDUCES = ["sum", "mean", "max"]
F64 = torch.float64


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def random_graph(rng, num_nodes=6, num_edges=14):
    """A directed graph with repeated targets and one node (the last) that no edge reaches."""
    source = rng.integers(0, num_nodes, num_edges)
    target = rng.integers(0, num_nodes - 1, num_edges)
    return np.stack([source, target])


def t(array):
    return torch.from_numpy(np.asarray(array))


def sorted_columns(edge_index):
    return sorted(map(tuple, np.asarray(edge_index).T.tolist()))


# ---------------------------------------------------------------- NumPy scatter


@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_forward_matches_torch_geometric(rng, reduce):
    src, index = rng.normal(size=(14, 3)), random_graph(rng)[1]
    out, _ = gnn.scatter_forward(src, index, 6, reduce)
    expected = pyg_scatter(t(src), t(index), 0, 6, reduce)
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-12)
    assert np.all(out[5] == 0), "a node without edges aggregates to zero"


@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_does_not_depend_on_row_order(rng, reduce):
    src, index = rng.normal(size=(14, 3)), random_graph(rng)[1]
    order = rng.permutation(14)
    np.testing.assert_allclose(gnn.scatter_forward(src[order], index[order], 6, reduce)[0],
                               gnn.scatter_forward(src, index, 6, reduce)[0], rtol=1e-12)


@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_backward_by_central_differences_and_autograd(rng, reduce):
    src, index, dout = rng.normal(size=(14, 3)), random_graph(rng)[1], rng.normal(size=(6, 3))
    _, cache = gnn.scatter_forward(src, index, 6, reduce)
    dsrc = gnn.scatter_backward(dout, cache)
    assert rel_error(dsrc, numerical_vjp(lambda v: gnn.scatter_forward(v, index, 6, reduce)[0], src, dout)) < TOL
    tensor = t(src).requires_grad_()
    pyg_scatter(tensor, t(index), 0, 6, reduce).backward(t(dout))
    np.testing.assert_allclose(dsrc, tensor.grad.numpy(), rtol=1e-12)


def test_scatter_max_shares_the_gradient_among_ties_as_torch_does():
    src = np.array([[1.0, 2.0], [1.0, 0.0], [0.5, 2.0]])
    index, dout = np.array([0, 0, 0]), np.array([[1.0, 3.0]])
    dsrc = gnn.scatter_backward(dout, gnn.scatter_forward(src, index, 1, "max")[1])
    tensor = t(src).requires_grad_()
    pyg_scatter(tensor, t(index), 0, 1, "max").backward(t(dout))
    np.testing.assert_allclose(dsrc, tensor.grad.numpy())
    np.testing.assert_allclose(dsrc, [[0.5, 1.5], [0.5, 0.0], [0.0, 1.5]])


# ---------------------------------------------------------------- NumPy updates


def edge_inputs(rng, d=3, f=2, h=4):
    edge_index = random_graph(rng)
    x, e = rng.normal(size=(6, d)), rng.normal(size=(14, f))
    w, b = rng.normal(size=(2 * d + f, h)), rng.normal(size=h)
    return x, e, edge_index, w, b, rng.normal(size=(14, h))


def node_inputs(rng, d=3, h=2, m=4):
    edge_index = random_graph(rng)
    x, e = rng.normal(size=(6, d)), rng.normal(size=(14, h))
    w, b = rng.normal(size=(d + h, m)), rng.normal(size=m)
    return x, e, edge_index, w, b, rng.normal(size=(6, m))


def check_backward(forward, grads, arrays, dout):
    """Each gradient in ``grads`` against central differences of ``forward`` in its argument."""
    for position, grad in grads.items():
        def f(v, position=position):
            args = list(arrays)
            args[position] = v
            return forward(*args)[0]
        assert rel_error(grad, numerical_vjp(f, arrays[position], dout)) < TOL, f"argument {position}"


def test_edge_update_forward_is_the_formula(rng):
    x, e, edge_index, w, b, _ = edge_inputs(rng)
    out, _ = gnn.edge_update_forward(x, e, edge_index, w, b)
    s, r = edge_index
    np.testing.assert_allclose(out, np.maximum(np.c_[x[s], x[r], e] @ w + b, 0), rtol=1e-12)


def test_edge_update_backward_by_central_differences(rng):
    x, e, edge_index, w, b, dout = edge_inputs(rng)
    dx, de, dw, db = gnn.edge_update_backward(dout, gnn.edge_update_forward(x, e, edge_index, w, b)[1])
    forward = lambda x, e, w, b: gnn.edge_update_forward(x, e, edge_index, w, b)  # noqa: E731
    check_backward(forward, {0: dx, 1: de, 2: dw, 3: db}, [x, e, w, b], dout)


@pytest.mark.parametrize("reduce", REDUCES)
def test_node_update_backward_by_central_differences(rng, reduce):
    x, e, edge_index, w, b, dout = node_inputs(rng)
    grads = gnn.node_update_backward(dout, gnn.node_update_forward(x, e, edge_index, w, b, reduce)[1])
    forward = lambda x, e, w, b: gnn.node_update_forward(x, e, edge_index, w, b, reduce)  # noqa: E731
    check_backward(forward, dict(enumerate(grads)), [x, e, w, b], dout)


@pytest.mark.parametrize("reduce", REDUCES)
def test_message_passing_backward_matches_torch_autograd(rng, reduce):
    """Edge update then node update, against the torch layer with the same weights."""
    x, e, edge_index, w_edge, b_edge, _ = edge_inputs(rng, d=3, f=2, h=4)
    w_node, b_node = rng.normal(size=(3 + 4, 5)), rng.normal(size=5)
    dout = rng.normal(size=(6, 5))
    e_new, edge_cache = gnn.edge_update_forward(x, e, edge_index, w_edge, b_edge)
    out, node_cache = gnn.node_update_forward(x, e_new, edge_index, w_node, b_node, reduce)
    dx_node, de_new, dw_node, db_node = gnn.node_update_backward(dout, node_cache)
    dx_edge, de, dw_edge, db_edge = gnn.edge_update_backward(de_new, edge_cache)

    layer = tg.MessagePassingLayer(3, 2, 4, aggr=reduce, dtype=F64)
    layer.edge_mlp.weight.data, layer.edge_mlp.bias.data = t(w_edge.T.copy()), t(b_edge)
    layer.node_mlp = torch.nn.Linear(7, 5, dtype=F64)
    layer.node_mlp.weight.data, layer.node_mlp.bias.data = t(w_node.T.copy()), t(b_node)
    xt, et = t(x).requires_grad_(), t(e).requires_grad_()
    expected, _ = layer(xt, t(edge_index), et)
    expected.backward(t(dout))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(dx_node + dx_edge, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(de, et.grad.numpy(), rtol=1e-10, atol=1e-12)
    for got, param in [(dw_edge.T, layer.edge_mlp.weight), (db_edge, layer.edge_mlp.bias),
                       (dw_node.T, layer.node_mlp.weight), (db_node, layer.node_mlp.bias)]:
        np.testing.assert_allclose(got, param.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_node_update_is_permutation_equivariant(rng):
    x, e, edge_index, w, b, _ = node_inputs(rng)
    perm = rng.permutation(6)  # new node perm[i] is old node i
    inverse = np.argsort(perm)
    out, _ = gnn.node_update_forward(x[inverse], e, perm[edge_index], w, b, "max")
    np.testing.assert_allclose(out, gnn.node_update_forward(x, e, edge_index, w, b, "max")[0][inverse])


# ---------------------------------------------------------------- PyTorch layers


@pytest.mark.parametrize("reduce", REDUCES)
def test_torch_scatter_matches_torch_geometric_with_gradients(rng, reduce):
    src, index, dout = t(rng.normal(size=(14, 3))), t(random_graph(rng)[1]), t(rng.normal(size=(6, 3)))
    mine, theirs = src.clone().requires_grad_(), src.clone().requires_grad_()
    out, expected = tg.scatter(mine, index, 6, reduce), pyg_scatter(theirs, index, 0, 6, reduce)
    torch.testing.assert_close(out, expected)
    out.backward(dout)
    expected.backward(dout)
    torch.testing.assert_close(mine.grad, theirs.grad)


def test_to_undirected_lists_both_directions(rng):
    edge_index = t(generated.stochastic_block_model(sizes=(10, 10), p_in=0.3, seed=1)[1])
    both = tg.to_undirected(edge_index)
    assert both.shape == (2, 2 * edge_index.shape[1])
    assert sorted_columns(both) == sorted_columns(pyg_to_undirected(edge_index))


@pytest.mark.parametrize("aggr", REDUCES)
def test_message_passing_layer_equals_the_torch_geometric_one(rng, aggr):
    torch.manual_seed(0)
    plain = tg.MessagePassingLayer(3, 2, 5, aggr=aggr, dtype=F64)
    pyg = tg.PyGMessagePassingLayer(3, 2, 5, aggr=aggr, dtype=F64)
    pyg.load_state_dict(plain.state_dict())
    x, edge_attr, edge_index = t(rng.normal(size=(6, 3))), t(rng.normal(size=(14, 2))), t(random_graph(rng))
    for got, want in zip(pyg(x, edge_index, edge_attr), plain(x, edge_index, edge_attr)):
        torch.testing.assert_close(got, want)


def test_message_passing_layer_is_permutation_equivariant_and_size_free(rng):
    torch.manual_seed(0)
    layer = tg.MessagePassingLayer(3, 2, 5, aggr="mean", dtype=F64)
    x, edge_attr, edge_index = t(rng.normal(size=(6, 3))), t(rng.normal(size=(14, 2))), random_graph(rng)
    out, e_out = layer(x, t(edge_index), edge_attr)
    perm, order = rng.permutation(6), rng.permutation(14)
    inverse = np.argsort(perm)
    out_p, e_p = layer(x[inverse], t(perm[edge_index][:, order]), edge_attr[order])
    torch.testing.assert_close(out_p, out[inverse])
    torch.testing.assert_close(e_p, e_out[order])
    bigger = random_graph(rng, 11, 30)
    assert layer(t(rng.normal(size=(11, 3))), t(bigger), t(rng.normal(size=(30, 2))))[0].shape == (11, 5)


def dense(edge_index, weight, num_nodes):
    matrix = torch.zeros(num_nodes, num_nodes, dtype=weight.dtype)
    return matrix.index_put_(tuple(edge_index), weight, accumulate=True)


def test_gcn_norm_matches_torch_geometric_on_a_directed_graph():
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    edge_index = t(np.array([[0, 0, 0, 1, 2, 3], [1, 2, 3, 2, 3, 1]]))
    mine = dense(*tg.gcn_norm(edge_index, 5, F64), 5)
    theirs = dense(*gcn_norm(edge_index, None, 5, add_self_loops=True, dtype=F64), 5)
    torch.testing.assert_close(mine, theirs)


def test_gcn_layer_matches_gcnconv_on_the_same_weights(rng):
    torch.manual_seed(0)
    conv = GCNConv(4, 3).double()
    torch.nn.init.normal_(conv.bias)
    layer = tg.GCNLayer(4, 3, dtype=F64)
    assert sorted(layer.state_dict()) == sorted(conv.state_dict())
    layer.load_state_dict(conv.state_dict())
    x, edge_index = t(rng.normal(size=(6, 4))), t(random_graph(rng))
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    torch.testing.assert_close(layer(x, edge_index), conv(x, edge_index))


def test_batch_graphs_matches_torch_geometric_batch(rng):
    graphs = [random_graph(rng, n, 2 * n) for n in (4, 7, 5)]
    edge_index, batch = tg.batch_graphs([t(g) for g in graphs], [4, 7, 5])
    expected = Batch.from_data_list([Data(edge_index=t(g), num_nodes=n) for g, n in zip(graphs, (4, 7, 5))])
    torch.testing.assert_close(edge_index, expected.edge_index)
    torch.testing.assert_close(batch, expected.batch)


def test_readout_is_invariant_to_node_order(rng):
    x, batch = t(rng.normal(size=(9, 3))), t(np.array([0, 0, 0, 1, 1, 1, 1, 2, 2]))
    order = t(rng.permutation(9))
    for reduce in REDUCES:
        torch.testing.assert_close(tg.readout(x[order], batch[order], 3, reduce), tg.readout(x, batch, 3, reduce))


# ---------------------------------------------------------------- training


def test_gcn_classifies_karate_club_from_four_labels():
    data = KarateClub()[0]
    torch.manual_seed(0)
    model = tg.GCN(34, 16, 4)
    y = torch.where(data.train_mask, data.y, -1)
    tg.train_node_classifier(model, data.x, data.edge_index, y, data.train_mask)
    predicted = tg.predict_nodes(model, data.x, data.edge_index)
    assert (predicted == data.y)[~data.train_mask].float().mean() > 0.7


def test_gcn_uses_the_graph_on_a_stochastic_block_model():
    x, edge_index, y, mask = generated.stochastic_block_model(seed=5)
    edge_index = tg.to_undirected(t(edge_index))
    accuracies = {}
    for name, edges in [("graph", edge_index), ("no edges", edge_index[:, :0])]:
        torch.manual_seed(0)
        model = tg.GCN(8, 16, 3)
        tg.train_node_classifier(model, x, edges, np.where(mask, y, -1), mask)
        accuracies[name] = (tg.predict_nodes(model, x, edges).numpy() == y)[~mask].mean()
    assert accuracies["graph"] > 0.9 and accuracies["no edges"] < 0.8, accuracies


def graph_batch(edge_indices, num_nodes):
    edge_index, batch = tg.batch_graphs([tg.to_undirected(t(e)) for e in edge_indices], list(num_nodes))
    return torch.ones(len(batch), 1), edge_index, torch.ones(edge_index.shape[1], 1), batch


def test_sum_aggregation_tells_cycles_from_trees_and_mean_cannot():
    edges, sizes, y = generated.cycles_and_trees(200, seed=0)
    test_edges, test_sizes, test_y = generated.cycles_and_trees(200, seed=1)
    accuracies = {}
    for aggr in ("sum", "mean"):
        torch.manual_seed(0)
        model = tg.GraphClassifier(1, 1, 16, 2, aggr=aggr)
        tg.train_graph_classifier(model, *graph_batch(edges, sizes), y)
        predicted = tg.predict_graphs(model, *graph_batch(test_edges, test_sizes), 200)
        accuracies[aggr] = (predicted.numpy() == test_y).mean()
    assert accuracies["sum"] > 0.95 and accuracies["mean"] < 0.7, accuracies
