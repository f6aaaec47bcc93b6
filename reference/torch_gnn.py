"""Graph neural networks in PyTorch: scatter aggregation, the message-passing layer (plain and
as a torch_geometric MessagePassing), the GCN layer, node and graph classification.

Graphs are held as in ``reference.gnn``: node features x (N, D), edge features (E, F) and
``edge_index`` (2, E) int64, edge k going from edge_index[0, k] (source) to edge_index[1, k]
(target). Nothing here names a device: new tensors follow the tensors they work with.
"""

import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import MessagePassing
from tqdm.auto import tqdm


def scatter(src, index, num_nodes, reduce="sum"):
    """Row i of the output reduces every row k of ``src`` with index[k] == i: "sum", "mean"
    (the sum divided by the number of such rows) or "max" (per feature); zeros where no row
    points. The result does not depend on the order of the rows, and autograd differentiates
    it (max passes the gradient to the maximal row).

    src: (E, D) tensor, index: (E,) int64 on src's device, num_nodes: int -> (num_nodes, D),
    src's dtype and device. Equal to torch_geometric.utils.scatter(src, index, 0, num_nodes,
    reduce).
    """
    ### BEGIN SOLUTION
    out = src.new_zeros((num_nodes, src.shape[1]))
    if reduce == "max":
        rows = index.unsqueeze(1).expand_as(src)
        return out.scatter_reduce(0, rows, src, "amax", include_self=False)
    out = out.index_add(0, index, src)
    if reduce == "mean":
        count = torch.bincount(index, minlength=num_nodes).clamp(min=1)
        out = out / count.unsqueeze(1).to(src.dtype)
    return out
    ### END SOLUTION


def to_undirected(edge_index):
    """Both directions of every edge: (2, E) int64 listing each undirected edge once ->
    (2, 2E), every edge (s, t) followed somewhere by (t, s)."""
    ### BEGIN SOLUTION
    return torch.cat([edge_index, edge_index.flip(0)], dim=1)
    ### END SOLUTION


class MessagePassingLayer(nn.Module):
    """One round of message passing: the node-to-edge update, then the edge-to-node update.

    e'_k = relu(edge_mlp([x_s, x_t, e_k])) for each edge k from s to t;
    x'_i = relu(node_mlp([x_i, aggr {e'_k : edge k ends at i}])).

    edge_mlp = nn.Linear(2 in_channels + edge_channels, out_channels) and node_mlp =
    nn.Linear(in_channels + out_channels, out_channels), created in this order; aggr is
    "sum", "mean" or "max". forward(x (N, in_channels), edge_index (2, E), edge_attr (E,
    edge_channels)) -> (x' (N, out_channels), e' (E, out_channels)).
    """

    def __init__(self, in_channels, edge_channels, out_channels, aggr="sum", device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        factory = {"device": device, "dtype": dtype}
        self.edge_mlp = nn.Linear(2 * in_channels + edge_channels, out_channels, **factory)
        self.node_mlp = nn.Linear(in_channels + out_channels, out_channels, **factory)
        self.aggr = aggr
        ### END SOLUTION

    def forward(self, x, edge_index, edge_attr):
        ### BEGIN SOLUTION
        source, target = edge_index
        edge_attr = F.relu(self.edge_mlp(torch.cat([x[source], x[target], edge_attr], dim=1)))
        messages = scatter(edge_attr, target, x.shape[0], self.aggr)
        return F.relu(self.node_mlp(torch.cat([x, messages], dim=1))), edge_attr
        ### END SOLUTION


class PyGMessagePassingLayer(MessagePassing):
    """MessagePassingLayer as a torch_geometric MessagePassing: the same arguments, the same
    parameters (edge_mlp, node_mlp), the same outputs.

    forward computes the edge features with ``self.edge_updater`` (which calls
    ``edge_update``), then the node features with ``self.propagate`` (``message``, the
    aggregation, ``update``), telling both the number of nodes: ``size=(N, N)``.
    """

    def __init__(self, in_channels, edge_channels, out_channels, aggr="sum", device=None, dtype=None):
        ### BEGIN SOLUTION
        super().__init__(aggr=aggr)
        factory = {"device": device, "dtype": dtype}
        self.edge_mlp = nn.Linear(2 * in_channels + edge_channels, out_channels, **factory)
        self.node_mlp = nn.Linear(in_channels + out_channels, out_channels, **factory)
        ### END SOLUTION

    def forward(self, x, edge_index, edge_attr):
        ### BEGIN SOLUTION
        size = (x.shape[0], x.shape[0])
        edge_attr = self.edge_updater(edge_index, x=x, edge_attr=edge_attr, size=size)
        return self.propagate(edge_index, x=x, edge_attr=edge_attr, size=size), edge_attr
        ### END SOLUTION

    def edge_update(self, x_j, x_i, edge_attr):
        ### BEGIN SOLUTION
        return F.relu(self.edge_mlp(torch.cat([x_j, x_i, edge_attr], dim=1)))
        ### END SOLUTION

    def message(self, edge_attr):
        ### BEGIN SOLUTION
        return edge_attr
        ### END SOLUTION

    def update(self, aggr_out, x):
        ### BEGIN SOLUTION
        return F.relu(self.node_mlp(torch.cat([x, aggr_out], dim=1)))
        ### END SOLUTION


def gcn_norm(edge_index, num_nodes, dtype=torch.float32):
    """The edges of a GCN layer and their weights: ``edge_index`` (2, E) of a graph without
    self-loops, with a self-loop added at every node -> (edge_index (2, E + N), weight
    (E + N,) of ``dtype``), the weight of edge s -> t being 1 / sqrt(deg(s) deg(t)), where
    deg counts the edges that end at a node, its self-loop included (the in-degree + 1)."""
    ### BEGIN SOLUTION
    loops = torch.arange(num_nodes, device=edge_index.device)
    edge_index = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
    source, target = edge_index
    degree = torch.bincount(target, minlength=num_nodes).to(dtype)
    scale = degree.pow(-0.5)
    return edge_index, scale[source] * scale[target]
    ### END SOLUTION


class GCNLayer(nn.Module):
    """Graph convolution (Kipf and Welling): x'_t = sum over edges s -> t of gcn_norm's
    weight times lin(x_s), plus bias, the self-loops included.

    lin = nn.Linear(in_channels, out_channels, bias=False) with PyTorch's default
    initialization, and bias an nn.Parameter of zeros (out_channels,) when ``bias``: the
    parameters of torch_geometric.nn.GCNConv (``lin.weight``, ``bias``).
    forward(x (N, in_channels), edge_index (2, E)) -> (N, out_channels).
    """

    def __init__(self, in_channels, out_channels, bias=True, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        self.lin = nn.Linear(in_channels, out_channels, bias=False, device=device, dtype=dtype)
        self.bias = nn.Parameter(torch.zeros(out_channels, device=device, dtype=dtype)) if bias else None
        ### END SOLUTION

    def forward(self, x, edge_index):
        ### BEGIN SOLUTION
        edge_index, weight = gcn_norm(edge_index, x.shape[0], x.dtype)
        source, target = edge_index
        out = scatter(weight.unsqueeze(1) * self.lin(x)[source], target, x.shape[0])
        return out if self.bias is None else out + self.bias
        ### END SOLUTION


class GCN(nn.Module):
    """A two-layer GCN node classifier: conv1 - ReLU - dropout - conv2, returning logits.

    conv1 = GCNLayer(in_channels, hidden_channels), conv2 = GCNLayer(hidden_channels,
    out_channels), created in this order; dropout with probability ``dropout`` acts on the
    hidden features in training mode only. forward(x (N, in_channels), edge_index (2, E))
    -> logits (N, out_channels).
    """

    def __init__(self, in_channels, hidden_channels, out_channels, dropout=0.5, device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = GCNLayer(in_channels, hidden_channels, device=device, dtype=dtype)
        self.conv2 = GCNLayer(hidden_channels, out_channels, device=device, dtype=dtype)
        self.dropout = nn.Dropout(dropout)
        ### END SOLUTION

    def forward(self, x, edge_index):
        ### BEGIN SOLUTION
        hidden = self.dropout(F.relu(self.conv1(x, edge_index)))
        return self.conv2(hidden, edge_index)
        ### END SOLUTION


def train_node_classifier(model, x, edge_index, y, train_mask, epochs=200, lr=0.01, weight_decay=5e-4,
                          device=None):
    """Full-graph training of a node classifier with torch.optim.Adam(lr, weight_decay) on the
    mean cross-entropy of the logits of the nodes in ``train_mask``, one step per epoch.

    x (N, D) floats, edge_index (2, E) int64, y (N,) int64 (labels where train_mask is True;
    the other entries are not labels), train_mask (N,) bool; arrays or tensors. The model is
    moved to ``device`` (None: it stays where it is), the data follow it, with x converted
    to the model's dtype. Returns the loss of every epoch (a list of floats): the loss that
    the epoch's step minimizes, computed before that step.
    """
    ### BEGIN SOLUTION
    if device is not None:
        model.to(device)
    weight = next(model.parameters())
    x = torch.as_tensor(x).to(weight.device, weight.dtype)
    edge_index = torch.as_tensor(edge_index).to(weight.device)
    mask = torch.as_tensor(train_mask).to(weight.device)
    labels = torch.as_tensor(y).to(weight.device)[mask]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    history = []
    for _ in tqdm(range(epochs), desc="epochs", disable=None):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x, edge_index)[mask], labels)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history
    ### END SOLUTION


def predict_nodes(model, x, edge_index):
    """The class of every node: the model's highest logit, in evaluation mode, without
    gradients -> (N,) int64 tensor on the CPU."""
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    model.eval()
    with torch.no_grad():
        x = torch.as_tensor(x).to(weight.device, weight.dtype)
        return model(x, torch.as_tensor(edge_index).to(weight.device)).argmax(dim=1).cpu()
    ### END SOLUTION


def batch_graphs(edge_indices, num_nodes):
    """Many graphs as one graph of disjoint parts: graph g's nodes are renumbered after those
    of graphs 0..g-1 (the number of nodes before it is added to its edge_index).

    edge_indices: list of G tensors (2, E_g) int64, each numbering its nodes from 0;
    num_nodes: list of G ints -> (edge_index (2, sum E_g): the edges of graph 0, then those of
    graph 1, ..., each graph's in its own order; batch (sum num_nodes,) int64: the graph of
    every node).
    """
    ### BEGIN SOLUTION
    sizes = torch.as_tensor(num_nodes)
    offsets = torch.cumsum(sizes, 0) - sizes
    edge_index = torch.cat([edges + offset for edges, offset in zip(edge_indices, offsets)], dim=1)
    return edge_index, torch.repeat_interleave(torch.arange(len(sizes)), sizes)
    ### END SOLUTION


def readout(x, batch, num_graphs, reduce="mean"):
    """Graph-level features: the node features of each graph reduced ("sum", "mean" or
    "max"), whatever the order of the nodes. x (N, D), batch (N,) int64 -> (num_graphs, D)."""
    ### BEGIN SOLUTION
    return scatter(x, batch, num_graphs, reduce)
    ### END SOLUTION


class GraphClassifier(nn.Module):
    """Two message-passing layers, a readout and a linear head.

    layer1 = MessagePassingLayer(in_channels, edge_channels, hidden_channels, aggr),
    layer2 = MessagePassingLayer(hidden_channels, hidden_channels, hidden_channels, aggr),
    head = nn.Linear(hidden_channels, num_classes), created in this order, all three on
    ``device`` with ``dtype``. layer2 takes the node
    and edge features that layer1 returns; the head takes the ``readout`` ("sum", "mean" or
    "max") of layer2's node features.
    forward(x (N, in_channels), edge_index (2, E), edge_attr (E, edge_channels), batch (N,),
    num_graphs) -> logits (num_graphs, num_classes).
    """

    def __init__(self, in_channels, edge_channels, hidden_channels, num_classes, aggr="sum",
                 readout="mean", device=None, dtype=None):
        super().__init__()
        ### BEGIN SOLUTION
        factory = {"device": device, "dtype": dtype}
        self.layer1 = MessagePassingLayer(in_channels, edge_channels, hidden_channels, aggr, **factory)
        self.layer2 = MessagePassingLayer(hidden_channels, hidden_channels, hidden_channels, aggr, **factory)
        self.head = nn.Linear(hidden_channels, num_classes, **factory)
        self.readout = readout
        ### END SOLUTION

    def forward(self, x, edge_index, edge_attr, batch, num_graphs):
        ### BEGIN SOLUTION
        x, edge_attr = self.layer1(x, edge_index, edge_attr)
        x, _ = self.layer2(x, edge_index, edge_attr)
        return self.head(readout(x, batch, num_graphs, self.readout))
        ### END SOLUTION


def train_graph_classifier(model, x, edge_index, edge_attr, batch, y, epochs=100, lr=0.01, device=None):
    """Full-batch training of a graph classifier with torch.optim.Adam(lr) on the mean
    cross-entropy of the logits of all graphs, one step per epoch.

    x (N, D), edge_index (2, E), edge_attr (E, F), batch (N,) and y (G,): the G graphs
    batched by batch_graphs, with their labels; arrays or tensors. The model is moved to
    ``device`` (None: it stays where it is), the data follow it, features converted to the
    model's dtype. Returns the loss of every epoch (a list of floats): the loss that the
    epoch's step minimizes, computed before that step.
    """
    ### BEGIN SOLUTION
    if device is not None:
        model.to(device)
    weight = next(model.parameters())
    x, edge_attr = (torch.as_tensor(t).to(weight.device, weight.dtype) for t in (x, edge_attr))
    edge_index, batch, y = (torch.as_tensor(t).to(weight.device) for t in (edge_index, batch, y))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    history = []
    for _ in tqdm(range(epochs), desc="epochs", disable=None):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x, edge_index, edge_attr, batch, len(y)), y)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history
    ### END SOLUTION


def predict_graphs(model, x, edge_index, edge_attr, batch, num_graphs):
    """The class of every graph: the model's highest logit, in evaluation mode, without
    gradients -> (num_graphs,) int64 tensor on the CPU."""
    ### BEGIN SOLUTION
    weight = next(model.parameters())
    model.eval()
    with torch.no_grad():
        x, edge_attr = (torch.as_tensor(t).to(weight.device, weight.dtype) for t in (x, edge_attr))
        edge_index, batch = (torch.as_tensor(t).to(weight.device) for t in (edge_index, batch))
        return model(x, edge_index, edge_attr, batch, num_graphs).argmax(dim=1).cpu()
    ### END SOLUTION
