"""Assignment 11's thresholds measure what the student's training learned, not a lookup: the
cheats of test_lookup.py's pattern, run by its own test.

The grader computes the predictions from the trained state_dict() with the reference
models, so a forward pass that answers from the public karate labels, from the notebook's
public block model, or by a hand-written rule (a tree has leaves) is never called when
scoring. The karate club is renumbered in secret, so weights fitted to its public labels
(the one lookup that survives into a state_dict) score like guessing. With training that
learns nothing, every cheat earns nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.datasets import KarateClub

from autograder.student import generated

from test_lookup import Cheat
from test_lookup import assert_lookup_earns_what_nothing_earns, threshold_tests

A = "11_gnn"
KARATE_TEST = "test_gcn_classifies_the_renumbered_karate_club"
SBM_TEST = "test_gcn_classifies_a_secret_stochastic_block_model"
GRAPHS_TEST = "test_graph_classifier_tells_secret_cycles_from_trees"

NO_NODE_TRAINING = "def train_node_classifier(model, x, edge_index, y, train_mask, **options):\n    return []\n"
NO_GRAPH_TRAINING = "def train_graph_classifier(model, x, edge_index, edge_attr, batch, y, **options):\n    return []\n"

PUBLIC_LABELS = '''
from torch_geometric.datasets import KarateClub as _KarateClub

from autograder.student import generated


def _public_labels(num_nodes):
    """The karate club's public labels, or those of the notebook's block model, by node number."""
    if num_nodes == 34:
        return _KarateClub()[0].y
    return torch.as_tensor(generated.stochastic_block_model(seed=0)[2])
'''

ANSWER_FROM_PUBLIC_LABELS = PUBLIC_LABELS + '''
GCN.forward = lambda self, x, edge_index: F.one_hot(_public_labels(len(x)), 4 if len(x) == 34 else 3).float()
'''

FIT_PUBLIC_LABELS = PUBLIC_LABELS + '''

def train_node_classifier(model, x, edge_index, y, train_mask, epochs=200, lr=0.01, weight_decay=5e-4, device=None):
    """Fit every member's public label on the public graph, whatever graph and labels are given."""
    public = _KarateClub()[0]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    model.train()
    for _ in range(300):
        optimizer.zero_grad()
        F.cross_entropy(model(public.x, public.edge_index), public.y).backward()
        optimizer.step()
    return []
'''

TREES_HAVE_LEAVES = '''
def _rule(self, x, edge_index, edge_attr, batch, num_graphs):
    """A hand-written rule, not a learned one: a graph with a node of degree 1 is a tree."""
    degree = torch.bincount(edge_index[1], minlength=len(batch))
    has_leaf = scatter((degree == 1).double().unsqueeze(1), batch, num_graphs, "max").squeeze(1)
    return torch.stack([1 - has_leaf, has_leaf], dim=1)


GraphClassifier.forward = _rule
'''


def karate():
    data = KarateClub()[0]
    return np.eye(34), data.edge_index, data.y.numpy(), data.train_mask.numpy()


def public_sbm():
    x, edge_index, y, mask = generated.stochastic_block_model(seed=0)
    return x, torch.from_numpy(np.r_["1", edge_index, edge_index[::-1]]), y, mask


def node_probe(task, trains: bool):
    """(predictions on the public graph through the cheat, its public labels)."""
    def probe(student):
        x, edge_index, y, mask = task()
        model = student.GCN(x.shape[1], 16, int(y.max()) + 1)
        if trains:
            student.train_node_classifier(model, x, edge_index, np.where(mask, y, -1), mask)
        return student.predict_nodes(model, x, edge_index), y
    return probe


def graphs_probe(student):
    edges, sizes, y = generated.cycles_and_trees(200, seed=0)
    edge_index, batch = student.batch_graphs([student.to_undirected(torch.from_numpy(e)) for e in edges],
                                             [int(n) for n in sizes])
    x, edge_attr = torch.ones(len(batch), 1), torch.ones(edge_index.shape[1], 1)
    return student.predict_graphs(student.GraphClassifier(1, 1, 16, 2), x, edge_index, edge_attr, batch, 200), y


CHEATS = [
    Cheat(A, [KARATE_TEST, SBM_TEST], "node_classification", NO_NODE_TRAINING, ANSWER_FROM_PUBLIC_LABELS,
          node_probe(karate, trains=False)),
    Cheat(A, [KARATE_TEST], "node_classification", NO_NODE_TRAINING, FIT_PUBLIC_LABELS,
          node_probe(karate, trains=True)),
    Cheat(A, [GRAPHS_TEST], "graph_classification", NO_GRAPH_TRAINING, TREES_HAVE_LEAVES, graphs_probe),
]


@pytest.mark.parametrize("cheat", CHEATS, ids=["answers_from_public_labels", "weights_fit_public_karate",
                                               "trees_have_leaves_rule"])
def test_a_lookup_earns_what_learning_nothing_earns_in_11(cheat, built, tmp_path):
    assert_lookup_earns_what_nothing_earns(cheat, built, tmp_path)


def test_the_public_block_model_lookup_finds_its_labels(built, tmp_path):
    """The first cheat's probe covers the karate club; its block-model branch works too."""
    cheat = Cheat(A, [SBM_TEST], "node_classification", NO_NODE_TRAINING, ANSWER_FROM_PUBLIC_LABELS,
                  node_probe(public_sbm, trains=False))
    assert_lookup_earns_what_nothing_earns(cheat, built, tmp_path)


def test_every_threshold_test_of_11_has_a_lookup_cheat():
    assert threshold_tests(A) == {t for c in CHEATS for t in c.tests}
