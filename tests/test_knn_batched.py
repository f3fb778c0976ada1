"""batched_knn_adjacency equals graphcl.knn.knn_graph on every graph, ties included."""
import pytest
import torch

from graphcl.knn import batched_knn_adjacency, knn_graph


def test_batched_knn_equals_knn_graph_per_graph():
    x = torch.randn(6, 16, 5, generator=torch.Generator().manual_seed(0))
    x[0, 9] = x[0, 2]            # a duplicate row: node 9 can lose its own slot to node 2
    x[1, :4] = x[1, 4:8]         # several ties
    x[2] = 0.0                   # every distance tied
    adjacency = batched_knn_adjacency(x, 5)
    for b in range(6):
        src, dst = knn_graph(x[b], 5)
        expected = torch.zeros(16, 16, dtype=torch.bool)
        expected[src, dst] = True
        assert torch.equal(adjacency[b], expected), b
    assert not adjacency.diagonal(dim1=1, dim2=2).any()
    assert int(adjacency[3].sum()) == 16 * 5


def test_batched_knn_bad_input():
    with pytest.raises(ValueError, match="k must satisfy"):
        batched_knn_adjacency(torch.randn(2, 5, 3), 5)
    with pytest.raises(TypeError, match="x must be a float"):
        batched_knn_adjacency(torch.randn(5, 3), 2)
    with pytest.raises(TypeError, match="k must be an int"):
        batched_knn_adjacency(torch.randn(2, 5, 3), 2.0)
    with pytest.raises(ValueError, match="NaN"):
        batched_knn_adjacency(torch.full((1, 4, 2), float("nan")), 2)
