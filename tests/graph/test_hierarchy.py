"""graphcl.graph.hierarchy: ancestor distance groups by a vectorised BFS,
checked against networkx shortest paths on random DAGs."""
import networkx as nx
import pytest
import torch

from graphcl.graph.hierarchy import ancestor_distance_groups


def random_dag(n: int, extra: int, seed: int) -> torch.Tensor:
    """A forest (parent index < child index) plus extra upward edges: a DAG with
    several parents per node."""
    g = torch.Generator().manual_seed(seed)
    child = torch.arange(1, n)
    parent = (torch.rand(n - 1, generator=g) * child).long()
    extra_child = torch.randint(1, n, (extra,), generator=g)
    extra_parent = (torch.rand(extra, generator=g) * extra_child).long()
    return torch.stack([torch.cat([child, extra_child]), torch.cat([parent, extra_parent])])


@pytest.mark.parametrize("seed", [0, 1])
def test_distances_equal_networkx(seed):
    edges = random_dag(60, 25, seed)
    groups = ancestor_distance_groups(edges, 60, max_distance=3)
    digraph = nx.DiGraph(edges.t().tolist())
    digraph.add_nodes_from(range(60))
    expected = {(u, a): d for u, lengths in nx.all_pairs_shortest_path_length(digraph)
                for a, d in lengths.items()}
    got = {(u, a): d for u, a, d in zip(groups.node.tolist(), groups.ancestor.tolist(),
                                        groups.distance.tolist())}
    assert got == expected
    assert groups.sizes == [sum(1 for d in expected.values() if min(d, 3) == g) for g in range(4)]


def test_stacked_is_the_sum_of_row_normalised_groups():
    edges = random_dag(30, 10, 2)
    groups = ancestor_distance_groups(edges, 30, max_distance=2)
    for direction in ("ancestors", "descendants"):
        graph, group = groups.stacked(direction)
        alpha = torch.tensor([0.5, 0.3, 0.2])
        weighted = graph.with_edge_weight(graph.edge_weight * alpha[group]).to_dense()
        expected = sum(a * g.to_dense() for a, g in zip(alpha, groups.graphs(direction)))
        assert torch.allclose(weighted, expected)
        # Each non-empty (row, group) block of the stacked graph averages.
        for sub in groups.graphs(direction):
            sums = sub.to_dense().sum(1)
            assert torch.allclose(sums[sums > 0], torch.ones(int((sums > 0).sum())))
    # Ancestor phase on a chain 0 -> 1 -> 2: node 0's distance-2 group is node 2.
    chain = ancestor_distance_groups(torch.tensor([[0, 1], [1, 2]]), max_distance=2)
    up = chain.graphs("ancestors")
    assert up[2].to_dense()[0].tolist() == [0.0, 0.0, 1.0]
    assert chain.graphs("descendants")[2].to_dense()[2].tolist() == [1.0, 0.0, 0.0]
    merged = chain.merged("ancestors").to_dense()
    assert torch.allclose(merged[0], torch.full((3,), 1 / 3))


def test_cycle_and_bad_input_raise():
    with pytest.raises(ValueError, match="edge_index.*cycle"):
        ancestor_distance_groups(torch.tensor([[0, 1, 2], [1, 2, 0]]))
    with pytest.raises(ValueError, match="edge_index.*cycle"):
        ancestor_distance_groups(torch.tensor([[3], [3]]), 4)  # a self-loop
    with pytest.raises(ValueError, match="shape"):
        ancestor_distance_groups(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="num_nodes"):
        ancestor_distance_groups(torch.tensor([[0], [5]]), 3)
    with pytest.raises(ValueError, match="max_distance"):
        ancestor_distance_groups(torch.tensor([[0], [1]]), max_distance=0)
    with pytest.raises(ValueError, match="direction"):
        ancestor_distance_groups(torch.tensor([[0], [1]])).stacked("up")


def test_isolated_nodes_keep_only_themselves():
    groups = ancestor_distance_groups(torch.zeros(2, 0, dtype=torch.long), 4)
    assert groups.sizes == [4, 0, 0, 0, 0]
