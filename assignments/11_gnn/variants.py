"""Plausible wrong and correct-but-different answers for 11; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    Variant("scatter_by_fancy_index", "out[index] += src: a repeated index adds one row only, so the sum "
            "depends on which edge comes last",
            Edit("scatter_forward", "np.add.at(out, index, src)", "out[index] += src")),
    Variant("mean_over_all_nodes", "the mean divides by the number of nodes instead of the node's degree",
            Edit("scatter_forward", "out /= np.maximum(count, 1)[:, None]", "out /= num_nodes")),
    Variant("max_gradient_to_every_row", "scatter_backward for max passes the gradient to every row, "
            "not only to the maximal one",
            Edit("scatter_backward", "dsrc = dsrc * winners / np.maximum(ties[index], 1)", "dsrc = dsrc")),
    Variant("endpoints_swapped", "the edge update concatenates [x_target, x_source, e]",
            Edit("edge_update_forward", "[x[source], x[target], e]", "[x[target], x[source], e]")),
    Variant("edge_gradient_by_fancy_index", "dx[source] += ...: a node that several edges share gets the "
            "gradient of one of them",
            Edit("edge_update_backward",
                 "dx = scatter_forward(dz[:, :d], source, num_nodes)[0] + scatter_forward(dz[:, d:2 * d], target, num_nodes)[0]",
                 "dx = np.zeros((num_nodes, d))\n    dx[source] += dz[:, :d]\n    dx[target] += dz[:, d:2 * d]")),
    Variant("aggregated_at_the_source", "the node update aggregates the edges that leave a node",
            Edit("node_update_forward", "scatter_forward(e, edge_index[1],", "scatter_forward(e, edge_index[0],")),
    Variant("torch_scatter_overwrites", "index_put without accumulation: the last edge into a node wins",
            Edit("scatter", "out = out.index_add(0, index, src)", "out = out.index_put((index,), src)")),
    Variant("torch_mean_over_all_nodes", "the torch mean divides by the number of nodes",
            Edit("scatter", "out = out / count.unsqueeze(1).to(src.dtype)", "out = out / num_nodes")),
    Variant("one_direction_only", "to_undirected lists every edge twice in its one direction",
            Edit("to_undirected", "[edge_index, edge_index.flip(0)]", "[edge_index, edge_index]")),
    Variant("pyg_endpoints_swapped", "edge_update concatenates x_i (target) before x_j (source)",
            Edit("PyGMessagePassingLayer", "torch.cat([x_j, x_i, edge_attr], dim=1)",
                 "torch.cat([x_i, x_j, edge_attr], dim=1)")),
    Variant("pyg_size_missing", "propagate without size: a last node without incoming edges is cut off",
            Edit("PyGMessagePassingLayer", "size = (x.shape[0], x.shape[0])", "size = None")),
    Variant("self_loops_forgotten", "gcn_norm adds no self-loops",
            Edit("gcn_norm", "    edge_index = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)\n", "")),
    Variant("out_degree", "the degree counts the edges that leave a node",
            Edit("gcn_norm", "torch.bincount(target, minlength=num_nodes)", "torch.bincount(source, minlength=num_nodes)")),
    Variant("random_walk_normalization", "weights 1 / deg(target) instead of 1 / sqrt(deg(source) deg(target))",
            Edit("gcn_norm", "return edge_index, scale[source] * scale[target]",
                 "return edge_index, scale[target] * scale[target]")),
    Variant("no_relu_between_convolutions", "GCN applies conv2 straight after conv1",
            Edit("GCN", "self.dropout(F.relu(self.conv1(x, edge_index)))", "self.dropout(self.conv1(x, edge_index))")),
    Variant("loss_on_every_node", "the loss includes the unlabelled nodes (whose y is -1)",
            Edit("train_node_classifier", "loss = F.cross_entropy(model(x, edge_index)[mask], labels)",
                 "loss = F.cross_entropy(model(x, edge_index), torch.as_tensor(y).to(weight.device))")),
    Variant("predict_nodes_with_dropout", "predict_nodes leaves the model in training mode",
            Edit("predict_nodes", "    model.eval()\n", "")),
    Variant("batch_without_offsets", "batch_graphs leaves every graph's nodes numbered from 0",
            Edit("batch_graphs", "edges + offset", "edges")),
    Variant("node_history_after_step", "train_node_classifier records the loss re-evaluated after each step",
            Edit("train_node_classifier", "        history.append(loss.item())",
                 "        with torch.no_grad():\n"
                 "            history.append(F.cross_entropy(model(x, edge_index)[mask], labels).item())")),
    Variant("readout_ignored", "GraphClassifier always reads out with the mean, whatever its readout",
            Edit("GraphClassifier", "readout(x, batch, num_graphs, self.readout)", "readout(x, batch, num_graphs, \"mean\")")),
    Variant("graph_classifier_in_float32", "GraphClassifier builds its layers without its device and dtype",
            Edit("GraphClassifier", 'factory = {"device": device, "dtype": dtype}', "factory = {}")),
    Variant("graph_zero_grad_missing", "train_graph_classifier never resets the gradients",
            Edit("train_graph_classifier", "        optimizer.zero_grad()\n", "")),
]

ALTERNATIVES = [
    Variant("incidence_matrices", "NumPy scatter as a product with a one-hot incidence matrix (a loop over "
            "nodes for max), the edge update's backward with np.add.at",
            Replace("scatter_forward", """
def scatter_forward(src, index, num_nodes, reduce="sum"):
    incidence = (np.arange(num_nodes)[:, None] == index[None, :]).astype(src.dtype)
    degree = incidence.sum(axis=1)
    if reduce == "max":
        out = np.zeros((num_nodes, src.shape[1]))
        for node in range(num_nodes):
            if degree[node]:
                out[node] = src[index == node].max(axis=0)
        return out, (incidence, degree, reduce, src, out)
    out = incidence @ src
    if reduce == "mean":
        out = out / np.maximum(degree, 1)[:, None]
    return out, (incidence, degree, reduce, src, out)
"""),
            Replace("scatter_backward", """
def scatter_backward(dout, cache):
    incidence, degree, reduce, src, out = cache
    if reduce == "sum":
        return incidence.T @ dout
    if reduce == "mean":
        return incidence.T @ (dout / np.maximum(degree, 1)[:, None])
    winners = incidence.T @ out == src
    ties = incidence @ winners
    return winners * (incidence.T @ (dout / np.maximum(ties, 1)))
"""),
            Replace("edge_update_backward", """
def edge_update_backward(dout, cache):
    (num_nodes, d), edge_index, z, w, a = cache
    da = np.where(a > 0, dout, 0.0)
    dz = da @ w.T
    dx = np.zeros((num_nodes, d))
    np.add.at(dx, edge_index[0], dz[:, :d])
    np.add.at(dx, edge_index[1], dz[:, d:2 * d])
    return dx, dz[:, 2 * d:], np.einsum("ki,kj->ij", z, da), np.einsum("kj->j", da)
""")),
    Variant("dense_torch", "torch scatter by a one-hot matrix (a loop over nodes for max), GCN by the dense "
            "normalized adjacency, batching by a loop",
            Replace("scatter", """
def scatter(src, index, num_nodes, reduce="sum"):
    nodes = torch.arange(num_nodes, device=src.device)
    incidence = (nodes.unsqueeze(1) == index.unsqueeze(0)).to(src.dtype)
    if reduce == "max":
        rows = [src[index == node].max(dim=0).values if bool((index == node).any()) else src.new_zeros(src.shape[1])
                for node in range(num_nodes)]
        return torch.stack(rows) if rows else src.new_zeros((0, src.shape[1]))
    out = incidence @ src
    if reduce == "mean":
        out = out / incidence.sum(dim=1, keepdim=True).clamp(min=1)
    return out
"""),
            Replace("to_undirected", """
def to_undirected(edge_index):
    source, target = edge_index
    return torch.stack([torch.cat([source, target]), torch.cat([target, source])])
"""),
            Replace("GCNLayer", """
class GCNLayer(nn.Module):
    def __init__(self, in_channels, out_channels, bias=True, device=None, dtype=None):
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=False, device=device, dtype=dtype)
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x, edge_index):
        n = x.shape[0]
        adjacency = torch.eye(n, dtype=x.dtype, device=x.device)
        adjacency = adjacency.index_put(tuple(edge_index), torch.ones(edge_index.shape[1], dtype=x.dtype, device=x.device),
                                        accumulate=True)
        scale = adjacency.sum(dim=0).rsqrt()
        out = (scale.unsqueeze(1) * adjacency * scale.unsqueeze(0)).T @ self.lin(x)
        return out + self.bias if self.bias is not None else out
"""),
            Replace("batch_graphs", """
def batch_graphs(edge_indices, num_nodes):
    parts, batch, offset = [], [], 0
    for g, (edges, n) in enumerate(zip(edge_indices, num_nodes)):
        parts.append(edges + offset)
        batch.append(torch.full((int(n),), g, dtype=torch.int64))
        offset += int(n)
    return torch.cat(parts, dim=1), torch.cat(batch)
""")),
    Variant("torch_geometric_inside", "the layer aggregates with torch_geometric's scatter; the "
            "MessagePassing layer computes its edge features without edge_updater",
            Replace("MessagePassingLayer", """
class MessagePassingLayer(nn.Module):
    def __init__(self, in_channels, edge_channels, out_channels, aggr="sum", device=None, dtype=None):
        super().__init__()
        self.edge_mlp = nn.Linear(2 * in_channels + edge_channels, out_channels, device=device, dtype=dtype)
        self.node_mlp = nn.Linear(in_channels + out_channels, out_channels, device=device, dtype=dtype)
        self.aggr = aggr

    def forward(self, x, edge_index, edge_attr):
        from torch_geometric.utils import scatter as pyg_scatter

        row, col = edge_index
        e = torch.relu(self.edge_mlp(torch.cat((x.index_select(0, row), x.index_select(0, col), edge_attr), -1)))
        m = pyg_scatter(e, col, 0, x.size(0), reduce=self.aggr)
        return torch.relu(self.node_mlp(torch.cat((x, m), -1))), e
"""),
            Replace("PyGMessagePassingLayer", """
class PyGMessagePassingLayer(MessagePassing):
    def __init__(self, in_channels, edge_channels, out_channels, aggr="sum", device=None, dtype=None):
        super().__init__(aggr=aggr, flow="source_to_target")
        self.edge_mlp = nn.Linear(2 * in_channels + edge_channels, out_channels, device=device, dtype=dtype)
        self.node_mlp = nn.Linear(in_channels + out_channels, out_channels, device=device, dtype=dtype)

    def forward(self, x, edge_index, edge_attr):
        source, target = edge_index
        e = F.relu(self.edge_mlp(torch.cat([x[source], x[target], edge_attr], dim=-1)))
        return self.propagate(edge_index, x=x, e=e, size=(x.size(0), x.size(0))), e

    def message(self, e):
        return e

    def update(self, aggr_out, x):
        return F.relu(self.node_mlp(torch.cat([x, aggr_out], dim=-1)))
""")),
    Variant("pair_as_a_list", "both message-passing layers return [x', e'], a list",
            Edit("MessagePassingLayer", "return F.relu(self.node_mlp(torch.cat([x, messages], dim=1))), edge_attr",
                 "return [F.relu(self.node_mlp(torch.cat([x, messages], dim=1))), edge_attr]"),
            Edit("PyGMessagePassingLayer",
                 "return self.propagate(edge_index, x=x, edge_attr=edge_attr, size=size), edge_attr",
                 "return [self.propagate(edge_index, x=x, edge_attr=edge_attr, size=size), edge_attr]")),
    Variant("dense_adjacency_by_assignment", "GCNLayer by the dense D^-1/2 (A + I) D^-1/2 of the notebook, "
            "A built by assignment (a simple graph)",
            Replace("GCNLayer", """
class GCNLayer(nn.Module):
    def __init__(self, in_channels, out_channels, bias=True, device=None, dtype=None):
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=False, device=device, dtype=dtype)
        self.bias = nn.Parameter(torch.zeros(out_channels, device=device, dtype=dtype)) if bias else None

    def forward(self, x, edge_index):
        n = x.shape[0]
        a_hat = torch.zeros(n, n, dtype=x.dtype, device=x.device)
        a_hat[edge_index[1], edge_index[0]] = 1
        a_hat = a_hat + torch.eye(n, dtype=x.dtype, device=x.device)
        scale = a_hat.sum(dim=1).rsqrt()
        out = scale.unsqueeze(1) * a_hat * scale.unsqueeze(0) @ self.lin(x)
        return out if self.bias is None else out + self.bias
""")),
    Variant("nll_and_indices", "training with log-softmax and NLL on the indices of the labelled nodes; "
            "prediction under inference_mode",
            Replace("train_node_classifier", """
def train_node_classifier(model, x, edge_index, y, train_mask, epochs=200, lr=0.01, weight_decay=5e-4,
                          device=None):
    model = model if device is None else model.to(device)
    p = next(model.parameters())
    x = torch.tensor(np.asarray(x), dtype=p.dtype, device=p.device)
    edge_index = torch.tensor(np.asarray(edge_index), dtype=torch.int64, device=p.device)
    labelled = torch.tensor(np.flatnonzero(np.asarray(train_mask)), device=p.device)
    labels = torch.tensor(np.asarray(y), device=p.device)[labelled]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = []
    model.train()
    for epoch in tqdm(range(epochs), disable=None):
        optimizer.zero_grad(set_to_none=True)
        log_probs = F.log_softmax(model(x, edge_index), dim=1)
        loss = F.nll_loss(log_probs[labelled], labels)
        loss.backward()
        optimizer.step()
        history.append(float(loss))
    return history
"""),
            Replace("predict_nodes", """
def predict_nodes(model, x, edge_index):
    model.eval()
    p = next(model.parameters())
    with torch.inference_mode():
        logits = model(torch.tensor(np.asarray(x), dtype=p.dtype, device=p.device),
                       torch.tensor(np.asarray(edge_index), device=p.device))
    return logits.argmax(dim=-1).to("cpu")
""")),
]
