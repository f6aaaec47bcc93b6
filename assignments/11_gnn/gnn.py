# %% [markdown]
# # Assignment 11: Graph neural networks
#
# Molecules, road maps, citation networks and friendships are graphs: nodes joined by edges,
# with no natural order of the nodes and no fixed number of neighbours. A graph neural
# network works on any such graph with one set of weights, because it only ever does two
# things, both the same at every node and every edge:
#
# * **node-to-edge update**: each edge computes a new feature from the features of its two
#   endpoints and its own previous feature, with one shared network $\phi_e$;
# * **edge-to-node update**: each node *aggregates* the features of its incoming edges with
#   a permutation-invariant operation (sum, mean or max) and computes its new feature from
#   that and its own previous feature, with one shared network $\phi_v$.
#
# One round of both is a *message-passing layer*; after $k$ layers a node's feature depends
# on its $k$-hop neighbourhood. You will write the aggregation (a *scatter*) and both
# updates in NumPy with their backward passes, then the same layer in PyTorch, as a
# `torch_geometric` `MessagePassing` class, and the graph convolution (GCN) of Kipf and
# Welling, which `torch_geometric.nn.GCNConv` implements. You then use them to classify the
# members of a karate club from four labels, the communities of a generated graph, and
# whole graphs (cycles against trees).
#
# **How to work.** Fill in every cell that reads `raise NotImplementedError()`. Do not
# rename the functions, classes or methods or change their arguments. The cells after each
# answer check your work in seconds; run them. Before you hand in, run
# `course check gnn.ipynb` for the public tests. Hidden tests use other inputs, so make your
# code correct, not only passing.

# %% tags=["setup"]
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import MessagePassing
from tqdm.auto import tqdm

from autograder.student.torchcheck import vjp_first_argument  # autograd through your torch functions (section 5)

# %%
import time

import matplotlib.pyplot as plt
import networkx as nx
from torch_geometric.datasets import KarateClub
from torch_geometric.nn import GCNConv
from torch_geometric.utils import scatter as pyg_scatter
from torch_geometric.utils import to_networkx
from torch_geometric.utils import to_undirected as pyg_to_undirected

from autograder.student import generated
from autograder.student.gradcheck import numerical_vjp, rel_error

device = "cuda" if torch.cuda.is_available() else "cpu"
rng = np.random.default_rng(0)
print(f"training on {device}")

# %% [markdown]
# ## 1. Graphs as arrays
#
# A graph with $N$ nodes and $E$ edges is stored as three arrays:
#
# * node features `x` of shape $(N, D)$, one row per node;
# * `edge_index` of shape $(2, E)$, integers: edge $k$ goes from node `edge_index[0, k]`,
#   its **source** $s_k$, to node `edge_index[1, k]`, its **target** $t_k$;
# * edge features `e` of shape $(E, F)$, one row per edge (when there are any).
#
# Messages flow from source to target: a node hears from the edges that **end** at it.
# An undirected graph, where a friendship goes both ways, lists every edge in both
# directions, $(s, t)$ and $(t, s)$. This is `torch_geometric`'s convention; its `Data`
# object holds these arrays as tensors. Zachary's karate club, a classic: 34 members of a
# club that split into factions, with an edge between two members who met outside the club.
# The features are the identity matrix (each member is known only by its number), and four
# members carry a label, one per community.

# %%
karate = KarateClub()[0]
print(karate)
print("edges 0-4:", karate.edge_index[:, :5].tolist())
print("labelled members:", karate.train_mask.nonzero().ravel().tolist())

karate_graph = to_networkx(karate, to_undirected=True)  # nodes 0..33 in order, as the colours below
karate_layout = nx.spring_layout(karate_graph, seed=1)
nx.draw_networkx(karate_graph, karate_layout, node_color=karate.y.tolist(), cmap="tab10", vmax=9, node_size=250,
                 font_size=8, edgecolors=["black" if m else "none" for m in karate.train_mask.tolist()], linewidths=2)
plt.title("Karate club: the four communities (labelled members outlined)")
plt.axis("off")
plt.show()

# %% [markdown]
# Generators and files usually list an undirected edge once, as networkx's `G.edges()`
# does. `to_undirected` adds the other direction: given each undirected edge once, it
# returns a $(2, 2E)$ tensor holding both directions of every edge. Forget it, and messages
# flow one way only: a node hears from the neighbours numbered below it and never from those
# above.

# %% solution="reference.torch_gnn:to_undirected" grade_id="undirected"
# filled in by the build

# %%
once = torch.tensor([[0, 0, 1, 2], [1, 2, 2, 3]])
both = to_undirected(once)
assert both.shape == (2, 8), "each of the 4 edges in both directions"
assert sorted(map(tuple, both.T.tolist())) == sorted(map(tuple, pyg_to_undirected(once).T.tolist()))
print("to_undirected:", both.tolist())

# %% [markdown]
# ## 2. Aggregation: scatter in NumPy
#
# The edge-to-node update needs, for every node $i$, one summary of the rows that point to
# it. Given rows `src` $(E, D)$ and, for each row $k$, the node `index[k]` it belongs to,
# a **scatter** computes
#
# $$ \mathrm{out}_i = \bigoplus_{k \,:\, \mathrm{index}_k = i} \mathrm{src}_k, \qquad
# \oplus \in \{\text{sum}, \text{mean}, \text{max}\}, $$
#
# with mean = sum divided by the node's number of rows (its *degree*, not the number of
# nodes), max taken per feature, and zeros for a node that no row points to. These three
# operations are **permutation invariant**: the order of the edges does not change the
# result, which is why a GNN does not care how the edges are listed.
#
# In NumPy, beware of `out[index] += src`: when an index repeats, the fancy-indexed
# assignment keeps only one of the rows, so the result depends on the edge order. The
# `ufunc.at` methods (`np.add.at(out, index, src)`, `np.maximum.at`) apply every row.
#
# The backward pass sends each node's gradient back to the rows that made it:
#
# $$ \text{sum: } \frac{\partial L}{\partial \mathrm{src}_k} = \mathrm{dout}_{\mathrm{index}_k}, \qquad
# \text{mean: } \frac{\mathrm{dout}_{\mathrm{index}_k}}{\deg(\mathrm{index}_k)}, \qquad
# \text{max: } \mathrm{dout}_{\mathrm{index}_k} \text{ where } \mathrm{src}_k \text{ is the maximum, else } 0 .$$
#
# When several rows tie for a maximum, they share the gradient equally, as torch does.

# %% solution="reference.gnn:scatter_forward,scatter_backward" grade_id="scatter_numpy"
# filled in by the build

# %% [markdown]
# `torch_geometric.utils.scatter(src, index, dim=0, dim_size=N, reduce=...)` is the same
# operation in torch, and its autograd gives the gradient to compare with. Node 5 below
# has no incoming row and must come out as zeros.

# %%
src = rng.normal(size=(9, 3))
index = np.array([0, 2, 0, 1, 4, 2, 0, 3, 4])
dout = rng.normal(size=(6, 3))
for reduce in ["sum", "mean", "max"]:
    out, cache = scatter_forward(src, index, 6, reduce)
    tensor = torch.tensor(src, requires_grad=True)
    expected = pyg_scatter(tensor, torch.tensor(index), 0, 6, reduce)
    expected.backward(torch.tensor(dout))
    assert np.allclose(out, expected.detach().numpy()), f"scatter_forward(..., '{reduce}') disagrees with torch_geometric"
    dsrc = scatter_backward(dout, cache)
    assert np.allclose(dsrc, tensor.grad.numpy()), f"scatter_backward for '{reduce}' disagrees with autograd"
    numeric = numerical_vjp(lambda v: scatter_forward(v, index, 6, reduce)[0], src, dout)
    assert rel_error(dsrc, numeric) < 1e-6, f"scatter_backward for '{reduce}' disagrees with central differences"
    order = rng.permutation(9)
    assert np.allclose(scatter_forward(src[order], index[order], 6, reduce)[0], out), "the edge order changed the result"
print("scatter: torch_geometric, autograd and central differences agree, in any edge order")

# %% [markdown]
# ## 3. The node-to-edge update
#
# Every edge $k$ from $s_k$ to $t_k$ computes its new feature from the features of its
# source, its target and itself, concatenated in this order, through one shared network. In
# this assignment every shared network is an affine layer and a ReLU:
#
# $$ z_k = [\,x_{s_k},\; x_{t_k},\; e_k\,], \qquad e'_k = \mathrm{relu}(z_k W + b),
# \qquad W \in \mathbb R^{(2D + F) \times H} . $$
#
# The forward pass *gathers* rows of `x` (`x[source]`). The backward of a gather is a
# scatter-sum: a node that is the source or target of several edges collects the gradient
# from each of them, so
# $\partial L / \partial x_i = \sum_{k: s_k = i} \partial L/\partial z_{k, \text{source part}}
# + \sum_{k: t_k = i} \partial L/\partial z_{k, \text{target part}}$. The gradients of $W$
# and $b$ are those of the affine layer of assignment 03, behind the ReLU's gate.

# %% solution="reference.gnn:edge_update_forward,edge_update_backward" grade_id="edge_update"
# filled in by the build

# %%
edge_index = np.array([[0, 0, 1, 2, 3, 3, 4], [1, 2, 2, 3, 0, 4, 0]])
x, e = rng.normal(size=(5, 3)), rng.normal(size=(7, 2))
w, b = rng.normal(size=(8, 4)), rng.normal(size=4)
dout = rng.normal(size=(7, 4))
out, cache = edge_update_forward(x, e, edge_index, w, b)
assert out.shape == (7, 4), "one new feature of size H per edge"
assert np.allclose(out[1], np.maximum(np.concatenate([x[0], x[2], e[1]]) @ w + b, 0)), "edge 1 goes from 0 to 2"
grads = edge_update_backward(dout, cache)
arguments = {"dx": x, "de": e, "dw": w, "db": b}
for position, (name, grad) in enumerate(zip(arguments, grads)):
    def forward(v, position=position):
        args = list(arguments.values())
        args[position] = v
        return edge_update_forward(args[0], args[1], edge_index, args[2], args[3])[0]
    error = rel_error(grad, numerical_vjp(forward, list(arguments.values())[position], dout))
    print(f"{name}: relative error {error:.1e}")
    assert error < 1e-6, f"{name} from edge_update_backward disagrees with central differences"

# %% [markdown]
# ## 4. The edge-to-node update
#
# Every node $i$ aggregates the new features of the edges that end at it, then computes its
# own new feature from its old one and that message:
#
# $$ m_i = \bigoplus_{k \,:\, t_k = i} e'_k, \qquad x'_i = \mathrm{relu}\big([\,x_i,\; m_i\,] W + b\big),
# \qquad W \in \mathbb R^{(D + H) \times M} . $$
#
# The backward pass splits $\partial L/\partial [x_i, m_i]$ into its two parts: the first is
# $\partial L/\partial x_i$, the second goes back through your `scatter_backward`.

# %% solution="reference.gnn:node_update_forward,node_update_backward" grade_id="node_update"
# filled in by the build

# %%
e_new = rng.normal(size=(7, 4))
w, b = rng.normal(size=(7, 5)), rng.normal(size=5)
dout = rng.normal(size=(5, 5))
for reduce in ["sum", "mean", "max"]:
    out, cache = node_update_forward(x, e_new, edge_index, w, b, reduce)
    assert out.shape == (5, 5)
    grads = node_update_backward(dout, cache)
    arguments = {"dx": x, "de": e_new, "dw": w, "db": b}
    for position, (name, grad) in enumerate(zip(arguments, grads)):
        def forward(v, position=position):
            args = list(arguments.values())
            args[position] = v
            return node_update_forward(args[0], args[1], edge_index, args[2], args[3], reduce)[0]
        error = rel_error(grad, numerical_vjp(forward, list(arguments.values())[position], dout))
        assert error < 1e-6, f"{name} from node_update_backward ('{reduce}') disagrees with central differences"
print("node update: every gradient agrees with central differences")

# %% [markdown]
# **Permutation equivariance.** Renumber the nodes: new node $\pi(i)$ is old node $i$, so
# the feature rows are reordered and every edge's endpoints renamed. A message-passing
# layer must give the same features, reordered the same way: nothing in it may depend on
# the numbering. Reordering the edges changes nothing at all. Here the whole layer (edge
# update, then node update) on both numberings:

# %%
def layer(x, e, edge_index, reduce="max"):
    e_new, _ = edge_update_forward(x, e, edge_index, w_edge, b_edge)
    return node_update_forward(x, e_new, edge_index, w_node, b_node, reduce)[0], e_new


w_edge, b_edge = rng.normal(size=(8, 4)), rng.normal(size=4)
w_node, b_node = rng.normal(size=(7, 5)), rng.normal(size=5)
perm = rng.permutation(5)                 # old node i becomes node perm[i]
inverse = np.argsort(perm)                # new node j was old node inverse[j]
edge_order = rng.permutation(7)
out, e_out = layer(x, e, edge_index)
out_perm, e_perm = layer(x[inverse], e[edge_order], perm[edge_index][:, edge_order])
assert np.allclose(out_perm, out[inverse]) and np.allclose(e_perm, e_out[edge_order])
bigger = np.array([[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 0]])  # a cycle of 8 nodes
print("another graph, the same weights:", layer(rng.normal(size=(8, 3)), rng.normal(size=(8, 2)), bigger)[0].shape)

# %% [markdown]
# ## 5. Scatter in PyTorch
#
# From here on autograd writes the backward passes. The torch version of the scatter takes
# a tensor `src` $(E, D)$, an int64 `index` $(E,)$ on the same device, and returns
# $(N, D)$ with `src`'s dtype and device. Torch has what you need: `Tensor.index_add`
# (sum), `torch.bincount` (degrees) and `Tensor.scatter_reduce(0, rows, src, "amax",
# include_self=False)` (max; `rows` is `index` repeated along the features, for example
# `index.unsqueeze(1).expand_as(src)`). Create new tensors with `src.new_zeros(...)` so
# that they land on `src`'s device. The out-of-place methods (without the trailing `_`)
# keep autograd happy. `vjp_first_argument(f, x, grad_output, *args)` (from
# `autograder.student.torchcheck`) returns `f(x, *args)` and the gradient that autograd
# sends back to `x`.

# %% solution="reference.torch_gnn:scatter" grade_id="scatter_torch"
# filled in by the build

# %%
src = torch.randn(9, 3, dtype=torch.float64)
index = torch.tensor([0, 2, 0, 1, 4, 2, 0, 3, 4])
grad_output = torch.randn(6, 3, dtype=torch.float64)
for reduce in ["sum", "mean", "max"]:
    out, grad = vjp_first_argument(scatter, src, grad_output, index, 6, reduce)
    expected, expected_grad = vjp_first_argument(pyg_scatter, src, grad_output, index, 0, 6, reduce)
    assert torch.allclose(out, expected), f"scatter(..., '{reduce}') disagrees with torch_geometric"
    assert torch.allclose(grad, expected_grad), f"the gradient of scatter(..., '{reduce}') disagrees"

big_src, big_index = torch.randn(200_000, 16), torch.randint(0, 10_000, (200_000,))
for name, function in [("yours", lambda: scatter(big_src, big_index, 10_000, "mean")),
                       ("torch_geometric", lambda: pyg_scatter(big_src, big_index, 0, 10_000, "mean"))]:
    started = time.perf_counter()
    for _ in range(5):
        function()
    print(f"{name:>16}: {(time.perf_counter() - started) / 5 * 1e3:.1f} ms for 200,000 edges")

# %% [markdown]
# ## 6. The message-passing layer as an `nn.Module`
#
# The same layer in PyTorch, with `nn.Linear` for the two shared networks. A linear layer
# computes $z W^\top + b$, so its `weight` is the transpose of the NumPy $W$:
#
# $$ e'_k = \mathrm{relu}\big(\mathrm{edge\_mlp}([x_{s_k}, x_{t_k}, e_k])\big), \qquad
#    x'_i = \mathrm{relu}\big(\mathrm{node\_mlp}([x_i, \textstyle\bigoplus_{k: t_k = i} e'_k])\big). $$
#
# `edge_mlp` maps $2 \cdot$ `in_channels` + `edge_channels` to `out_channels`, and
# `node_mlp` maps `in_channels` + `out_channels` to `out_channels`; create them in this
# order, with these names. The layer returns both the new node features and the new edge
# features, so that layers can be stacked. Use your `scatter` with the layer's `aggr`.

# %% solution="reference.torch_gnn:MessagePassingLayer" grade_id="layer"
# filled in by the build

# %%
torch.manual_seed(0)
mp = MessagePassingLayer(3, 2, 5, aggr="mean", dtype=torch.float64)
assert [name for name, _ in mp.named_parameters()] == ["edge_mlp.weight", "edge_mlp.bias", "node_mlp.weight", "node_mlp.bias"]
w_edge, b_edge = mp.edge_mlp.weight.detach().numpy().T, mp.edge_mlp.bias.detach().numpy()
w_node, b_node = mp.node_mlp.weight.detach().numpy().T, mp.node_mlp.bias.detach().numpy()
out, e_out = mp(torch.tensor(x), torch.tensor(edge_index), torch.tensor(e))
expected, expected_e = layer(x, e, edge_index, "mean")
assert np.allclose(out.detach().numpy(), expected) and np.allclose(e_out.detach().numpy(), expected_e)
print("MessagePassingLayer agrees with your NumPy updates")

# %% [markdown]
# ## 7. The same layer in `torch_geometric`
#
# `torch_geometric.nn.MessagePassing` organizes a layer into methods that its machinery
# calls with the right rows:
#
# * `self.edge_updater(edge_index, size=..., **kwargs)` calls your `edge_update(...)` and
#   returns its result: one row per edge;
# * `self.propagate(edge_index, size=..., **kwargs)` calls `message(...)` (one row per edge),
#   aggregates the messages at the targets with the `aggr` given to `super().__init__`,
#   then calls `update(aggr_out, ...)` (one row per node).
#
# Their arguments are filled by name from the keyword arguments you pass: a name with the
# suffix `_j` gets the rows of the edges' sources (`x_j` is `x[edge_index[0]]`), `_i` those
# of their targets (`x_i` is `x[edge_index[1]]`), and any other name the tensor itself. Pass
# `size=(N, N)`: `propagate` otherwise infers the number of nodes from the tensors `message`
# reads, and `message` here reads only edge features, so a last node with no incoming edge
# would be left out. Create `edge_mlp` and `node_mlp` as in `MessagePassingLayer`, so that the
# two layers load each other's `state_dict`.

# %% solution="reference.torch_gnn:PyGMessagePassingLayer" grade_id="pyg_layer"
# filled in by the build

# %%
isolated = np.array([[0, 1, 2, 3], [1, 2, 0, 2]])  # node 4 has no incoming edge
for aggr in ["sum", "mean", "max"]:
    torch.manual_seed(0)
    plain, pyg = MessagePassingLayer(3, 2, 5, aggr=aggr), PyGMessagePassingLayer(3, 2, 5, aggr=aggr)
    pyg.load_state_dict(plain.state_dict())
    inputs = (torch.randn(5, 3), torch.tensor(isolated), torch.randn(4, 2))
    for got, want in zip(pyg(*inputs), plain(*inputs)):
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-6), f"the layers differ for aggr='{aggr}'"
print("PyGMessagePassingLayer and MessagePassingLayer agree")

# %% [markdown]
# ## 8. Graph convolution
#
# The GCN of Kipf and Welling is a simpler message-passing layer: the message along an edge
# is a linear map of the source's feature, scaled by a fixed weight; the aggregation is a
# sum. Every node also sends a message to itself (a **self-loop**), so its own feature is
# kept. With $\hat A = A + I$ and $\hat D$ the diagonal matrix of the degrees of $\hat A$,
#
# $$ X' = \hat D^{-1/2} \hat A \hat D^{-1/2} X \Theta + b, \qquad\text{per edge:}\qquad
#    x'_t = \sum_{s \to t} \frac{1}{\sqrt{\deg(s)\deg(t)}}\, \Theta^\top x_s + b , $$
#
# where the sum runs over the edges that end at $t$, its self-loop included. The symmetric
# normalization keeps a node with many neighbours from growing features many times larger
# than a node with few. On a directed graph, $\deg$ counts the edges that **end** at a node
# (its in-degree, plus one for the self-loop), as `GCNConv` does: the number of messages a
# node receives.
#
# `gcn_norm` returns the edges with one self-loop per node added (the input has none) and
# the weight of every edge; `GCNLayer` has the parameters of `GCNConv`, `lin` (a linear map
# without bias) and `bias`, so that each loads the other's `state_dict`.

# %% solution="reference.torch_gnn:gcn_norm,GCNLayer" grade_id="gcn"
# filled in by the build

# %%
directed = torch.tensor([[0, 0, 0, 1, 2, 3], [1, 2, 3, 2, 3, 1]])  # in-degree differs from out-degree
torch.manual_seed(0)
conv = GCNConv(4, 3)
nn.init.normal_(conv.bias)
mine = GCNLayer(4, 3)
mine.load_state_dict(conv.state_dict())
features = torch.randn(5, 4)
assert torch.allclose(mine(features, directed), conv(features, directed), atol=1e-6), "GCNLayer disagrees with GCNConv"
loops, weight = gcn_norm(directed, 5)
print(f"{loops.shape[1]} edges with the self-loops; node 4, alone, keeps its feature with weight "
      f"{weight[(loops[0] == 4) & (loops[1] == 4)].item():.2f}")

# %% [markdown]
# ## 9. Node classification
#
# A node classifier predicts a class for every node from its features and its
# neighbourhood. Only a few nodes are labelled: the loss is the cross-entropy over those,
# but the forward pass runs on the whole graph, so the labelled nodes teach the weights
# that all nodes use (*semi-supervised* learning). The network is two GCN layers:
#
# $$ \mathrm{logits} = \mathrm{conv}_2\big(\mathrm{dropout}(\mathrm{relu}(\mathrm{conv}_1(X, A))), A\big) . $$
#
# `train_node_classifier` takes one Adam step per epoch on the whole graph and records the
# loss of the forward pass that the step minimizes, computed before the step. Its `y` holds
# labels only where `train_mask` is True; the other entries are not labels (the grader fills
# them with $-1$, an error if one reaches the loss).
#
# **Graded:** the grader trains `GCN(34, 16, 4)` with `train_node_classifier`'s defaults on
# the karate club with the members renumbered and the communities renamed in a secret way,
# the features still the identity; from your trained model's `state_dict()` it computes the
# predictions itself and requires an accuracy of at least {{ thresholds.karate_accuracy }}
# on the 30 unlabelled members.

# %% solution="reference.torch_gnn:GCN,train_node_classifier,predict_nodes" grade_id="node_classification"
# filled in by the build

# %%
torch.manual_seed(0)
model = GCN(34, 16, 4)
partial_labels = torch.where(karate.train_mask, karate.y, -1)
history = train_node_classifier(model, karate.x, karate.edge_index, partial_labels, karate.train_mask, device=device)
predicted = predict_nodes(model, karate.x, karate.edge_index)
unlabelled = ~karate.train_mask
accuracy = (predicted == karate.y)[unlabelled].float().mean().item()
print(f"accuracy on the 30 unlabelled members: {accuracy:.3f}")

figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
left.plot(history)
left.set(xlabel="epoch", ylabel="cross-entropy on the 4 labelled members", yscale="log", title="Training")
wrong = (predicted != karate.y).tolist()
nx.draw_networkx(karate_graph, karate_layout, ax=right, node_color=predicted.tolist(), cmap="tab10", vmax=9,
                 node_size=250, font_size=8, edgecolors=["red" if w else "none" for w in wrong], linewidths=2)
right.set_title("Predicted communities (mistakes outlined in red)")
right.axis("off")
plt.show()
assert accuracy >= 0.6, "a two-layer GCN should find most communities from four labels"

# %% [markdown]
# ### Communities in a generated graph
#
# A *stochastic block model* joins two nodes with probability $p_{\text{in}}$ when they
# belong to the same community (block) and $p_{\text{out}} \ll p_{\text{in}}$ otherwise.
# Here every node also has noisy features around its community's mean, too noisy to classify
# a node alone. The graph lists each edge once: make it undirected first. Ten nodes per
# community are labelled; half of the others form a validation set, on which we compare the
# GCN with the same network on a graph without edges, which sees only each node's own
# features. The test half is touched once, at the end.
#
# **Graded:** the grader generates such a graph (the defaults of
# `generated.stochastic_block_model`) from a secret seed, trains `GCN(8, 16, 3)` with
# `train_node_classifier`'s defaults on it (made undirected), and requires an accuracy of at
# least {{ thresholds.sbm_accuracy }} on the unlabelled nodes, computed from your model's
# `state_dict()`.

# %%
x_sbm, edges_sbm, y_sbm, labelled = generated.stochastic_block_model(seed=0)
edges_sbm = to_undirected(torch.from_numpy(edges_sbm))
others = np.flatnonzero(~labelled)
validation, test = others[: len(others) // 2], others[len(others) // 2:]
print(f"{len(y_sbm)} nodes, {edges_sbm.shape[1] // 2} edges, {labelled.sum()} labelled")

scores = {}
for name, edges in [("GCN on the graph", edges_sbm), ("GCN without edges", edges_sbm[:, :0])]:
    torch.manual_seed(0)
    model = GCN(8, 16, 3)
    train_node_classifier(model, x_sbm, edges, np.where(labelled, y_sbm, -1), labelled, device=device)
    predicted = predict_nodes(model, x_sbm, edges).numpy()
    scores[name] = (model, edges, (predicted[validation] == y_sbm[validation]).mean())
    print(f"{name:>18}: validation accuracy {scores[name][2]:.3f}")
best = max(scores, key=lambda name: scores[name][2])
model, edges, _ = scores[best]
print(f"chosen: {best}; test accuracy {(predict_nodes(model, x_sbm, edges).numpy()[test] == y_sbm[test]).mean():.3f}")

# %% [markdown]
# ## 10. Graph classification
#
# To classify whole graphs, a network needs one vector per graph: a **readout** reduces the
# node features of each graph with a permutation-invariant operation (sum, mean or max), so
# the answer cannot depend on how the nodes are numbered.
#
# Many small graphs are trained at once as **one** graph made of disjoint parts:
# `batch_graphs` renumbers the nodes of graph $g$ after those of graphs $0..g-1$ (adding the
# number of nodes before it to its `edge_index`) and returns `batch`, the graph of every
# node, which is the `index` of the readout's scatter. No edge joins two parts, so no message
# crosses from one graph to another.
#
# `GraphClassifier` stacks two `MessagePassingLayer`s, the readout and a linear head.
# `train_graph_classifier` takes one Adam step per epoch on all graphs at once, recording
# each epoch's loss before its step as `train_node_classifier` does, and `predict_graphs`
# returns the class of each graph.
#
# The task: tell cycles from trees. Every node and every edge carries the single feature 1,
# so the structure is all there is to learn from.
#
# **Graded:** the grader generates 200 training and 200 test graphs
# (`generated.cycles_and_trees`'s defaults) from a secret seed, made undirected, with
# features 1, trains `GraphClassifier(1, 1, 16, 2)` with `train_graph_classifier`'s
# defaults and requires an accuracy of at least {{ thresholds.cycles_vs_trees_accuracy }} on
# the test graphs, computed from your model's `state_dict()`.

# %% solution="reference.torch_gnn:batch_graphs,readout,GraphClassifier,train_graph_classifier,predict_graphs" grade_id="graph_classification"
# filled in by the build

# %%
def structure_only(edge_indices, num_nodes):
    """The graphs as one batch, both directions of every edge, and features 1."""
    edge_index, batch = batch_graphs([to_undirected(torch.from_numpy(e)) for e in edge_indices], list(num_nodes))
    return torch.ones(len(batch), 1), edge_index, torch.ones(edge_index.shape[1], 1), batch


edges_train, sizes_train, y_train = generated.cycles_and_trees(200, seed=0)
edges_val, sizes_val, y_val = generated.cycles_and_trees(200, seed=1)
figure, axes = plt.subplots(1, 4, figsize=(12, 3))
examples = [*np.flatnonzero(y_train == 0)[:2], *np.flatnonzero(y_train == 1)[:2]]
for ax, g in zip(axes, examples):
    example = nx.Graph(edges_train[g].T.tolist())
    nx.draw(example, nx.kamada_kawai_layout(example), ax=ax, node_size=40)
    ax.set_title(f"{['cycle', 'tree'][y_train[g]]}, {sizes_train[g]} nodes")
plt.show()

figure, ax = plt.subplots()
for aggr in ["sum", "mean"]:
    torch.manual_seed(0)
    model = GraphClassifier(1, 1, 16, 2, aggr=aggr)
    history = train_graph_classifier(model, *structure_only(edges_train, sizes_train), y_train, device=device)
    predicted = predict_graphs(model, *structure_only(edges_val, sizes_val), len(y_val)).numpy()
    ax.plot(history, label=f"aggr='{aggr}': validation accuracy {(predicted == y_val).mean():.2f}")
ax.set(xlabel="epoch", ylabel="cross-entropy", title="Cycles against trees")
ax.legend()
plt.show()

# %% [markdown]
# With features all equal, every message of the first layer is the same vector. A **sum**
# of $d$ equal messages is $d$ times that vector: the layer learns each node's degree, and
# trees have leaves (degree 1) while cycles have none. A **mean** of equal vectors is that
# vector again, whatever the degree, so every node of every graph looks alike and the
# classifier can only guess. The aggregation decides what a GNN can tell apart.
#
# Finally, the readout does not care about the numbering: renumber the nodes of the
# validation graphs and the logits stay the same.

# %%
x_val, edge_index_val, edge_attr_val, batch_val = structure_only(edges_val, sizes_val)
perm = torch.from_numpy(rng.permutation(len(batch_val)))  # old node i becomes node perm[i]
inverse = torch.argsort(perm)
model = model.cpu().eval()
with torch.no_grad():
    logits = model(x_val, edge_index_val, edge_attr_val, batch_val, len(y_val))
    renumbered = model(x_val[inverse], perm[edge_index_val], edge_attr_val, batch_val[inverse], len(y_val))
assert torch.allclose(logits, renumbered, atol=1e-5), "the graph logits changed with the node numbering"
print("the logits do not depend on the numbering of the nodes")

# %% [markdown]
# **Written question (2 points).** Which parts of the model guarantee that the graph logits
# do not depend on how the nodes are numbered? Name one change to the model that would
# break this property.

# %% [markdown] written=2 grade_id="permutation_invariance"
# Model answer: every message-passing layer applies the same weights to every edge and
# every node, and combines a node's incoming messages with a symmetric aggregation (sum,
# mean or max), which does not depend on the order of the messages; renumbering the nodes
# therefore only permutes the rows of every layer's output (the layers are permutation
# equivariant). The readout then pools the node embeddings of each graph with a symmetric
# function (sum or mean over the graph's nodes), which removes the remaining dependence on
# the order: the graph logits are invariant. It breaks as soon as the model uses the
# numbering: flattening or concatenating the node embeddings in index order before an MLP,
# feeding the node index (or a one-hot of it) as a feature, an RNN over the nodes, or an
# aggregation that depends on the edge order (taking the first neighbour).
#
# Marking guide: 1 point for shared weights with symmetric aggregation (equivariant layers)
# and a symmetric readout (invariant output); 1 point for a correct example of a change
# that breaks it.
