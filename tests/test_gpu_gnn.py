"""On a CUDA machine, reference.torch_gnn runs on the GPU, unchanged, and agrees with the CPU.

Imports only torch, numpy, torch_geometric, reference and autograder.student, and uses no
conftest fixture (run with ``pytest --noconftest`` where the grading extras are missing).
"""

import numpy as np
import pytest
import torch

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

pytest.importorskip("torch_geometric")

from autograder.student import generated  # noqa: E402
from reference import torch_gnn as tg  # noqa: E402

F64 = torch.float64
DEVICES = ["cpu", "cuda"]


def graph(seed=0, num_nodes=40, num_edges=160):
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes, (2, num_edges), generator=g)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    return torch.randn(num_nodes, 5, dtype=F64, generator=g), edge_index, torch.randn(edge_index.shape[1], 3, dtype=F64, generator=g)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_scatter_and_its_gradient_agree_on_gpu_and_cpu(reduce):
    x, edge_index, _ = graph()
    results = {}
    for device in DEVICES:
        src = x[edge_index[0]].to(device).requires_grad_()
        out = tg.scatter(src, edge_index[1].to(device), 40, reduce)
        out.pow(2).sum().backward()
        assert out.device.type == device
        results[device] = (out.detach().cpu(), src.grad.cpu())
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("layer", ["MessagePassingLayer", "PyGMessagePassingLayer", "GCNLayer"])
def test_layers_agree_on_gpu_and_cpu(layer):
    x, edge_index, edge_attr = graph(1)
    torch.manual_seed(0)
    args = (5, 4) if layer == "GCNLayer" else (5, 3, 4, "max")
    cpu = getattr(tg, layer)(*args, dtype=F64)
    gpu = getattr(tg, layer)(*args, dtype=F64, device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    results = {}
    for device, module in [("cpu", cpu), ("cuda", gpu)]:
        inputs = (x.to(device), edge_index.to(device)) + (() if layer == "GCNLayer" else (edge_attr.to(device),))
        out = module(*inputs)
        out = out[0] if isinstance(out, tuple) else out
        out.sum().backward()
        results[device] = (out.detach().cpu(), [p.grad.cpu() for p in module.parameters()])
    torch.testing.assert_close(results["cuda"], results["cpu"], rtol=1e-9, atol=1e-12)


def test_node_classifier_trains_on_the_gpu_like_on_the_cpu():
    x, edge_index, y, mask = generated.stochastic_block_model(seed=3)
    edge_index = tg.to_undirected(torch.from_numpy(edge_index))
    labels = np.where(mask, y, -1)
    histories, predictions = {}, {}
    for device in DEVICES:
        torch.manual_seed(0)
        model = tg.GCN(8, 16, 3, dropout=0.0, dtype=F64)
        histories[device] = tg.train_node_classifier(model, x, edge_index, labels, mask, epochs=50, device=device)
        assert model.conv1.lin.weight.device.type == device
        predictions[device] = tg.predict_nodes(model, x, edge_index)
    np.testing.assert_allclose(histories["cuda"], histories["cpu"], rtol=1e-7)
    assert predictions["cuda"].device.type == "cpu" and torch.equal(predictions["cuda"], predictions["cpu"])


def test_graph_classifier_reaches_the_threshold_on_the_gpu():
    def batched(edges, sizes):
        edge_index, batch = tg.batch_graphs([tg.to_undirected(torch.from_numpy(e)) for e in edges], list(sizes))
        return torch.ones(len(batch), 1), edge_index, torch.ones(edge_index.shape[1], 1), batch

    edges, sizes, y = generated.cycles_and_trees(200, seed=0)
    test_edges, test_sizes, test_y = generated.cycles_and_trees(200, seed=1)
    torch.manual_seed(0)
    model = tg.GraphClassifier(1, 1, 16, 2)
    tg.train_graph_classifier(model, *batched(edges, sizes), y, device="cuda")
    assert model.head.weight.device.type == "cuda"
    predicted = tg.predict_graphs(model, *batched(test_edges, test_sizes), 200)
    assert (predicted.numpy() == test_y).mean() >= 0.9  # course.yml's cycles_vs_trees_accuracy
