"""minimum_spanning_forest: |V| - #components undirected edges, the total
weight of networkx's minimum spanning forest, a batch pruned like each of its
graphs alone, and bad input."""
import networkx as nx
import numpy as np
import pytest
import torch

from graphcl.graph import minimum_spanning_forest


def random_edges(n, e, seed):
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, e), rng.integers(0, n, e)
    keep = src != dst
    edges = np.stack([src[keep], dst[keep]])
    lo, hi = np.minimum(*edges), np.maximum(*edges)
    weights = np.abs(np.sin(lo * 7.3 + hi * 1.1)) + 0.01  # symmetric, distinct in practice
    return torch.from_numpy(edges), torch.from_numpy(weights)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forest_size_and_weight_match_networkx(seed):
    n = 30
    edges, weights = random_edges(n, 45, seed)
    keep = minimum_spanning_forest(edges, weights, n)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for (a, b), w in zip(edges.T.tolist(), weights.tolist()):
        if not graph.has_edge(a, b) or graph[a][b]["weight"] > w:
            graph.add_edge(a, b, weight=w)
    pairs = {tuple(sorted(p)) for p in edges[:, keep].T.tolist()}
    assert len(pairs) == n - nx.number_connected_components(graph)
    forest = nx.minimum_spanning_tree(graph)
    assert sum(graph[a][b]["weight"] for a, b in pairs) == pytest.approx(
        forest.size(weight="weight"))
    # both directions of a kept pair are kept
    assert all(tuple(sorted(p)) in pairs for p in edges[:, keep].T.tolist())


def test_batch_equals_each_graph_alone():
    parts = [random_edges(10, 18, s) for s in (3, 4)]
    alone = [minimum_spanning_forest(e, w, 10) for e, w in parts]
    batch_edges = torch.cat([parts[0][0], parts[1][0] + 10], 1)
    batch = minimum_spanning_forest(batch_edges, torch.cat([parts[0][1], parts[1][1]]), 20)
    assert torch.equal(batch, torch.cat(alone))


def test_zero_weights_and_self_loops():
    edges = torch.tensor([[0, 1, 2, 2], [1, 2, 0, 2]])
    keep = minimum_spanning_forest(edges, torch.tensor([0.0, 0.0, 5.0, 0.0]), 3)
    assert keep.tolist() == [True, True, False, False]


def test_bad_input():
    with pytest.raises(ValueError, match="edge_index"):
        minimum_spanning_forest(torch.tensor([0, 1]), torch.ones(2), 2)
    with pytest.raises(ValueError, match="weight"):
        minimum_spanning_forest(torch.tensor([[0], [1]]), torch.ones(2), 2)
    with pytest.raises(ValueError, match="outside"):
        minimum_spanning_forest(torch.tensor([[0], [4]]), torch.ones(1), 2)
    with pytest.raises(ValueError, match="non-negative"):
        minimum_spanning_forest(torch.tensor([[0], [1]]), torch.tensor([-1.0]), 2)
