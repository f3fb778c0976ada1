"""SparseGraph.with_remaining_self_loops against PyG's self-loop utilities,
transpose and to_edge_index against dense references."""
import pytest
import torch
from torch_geometric.utils import add_remaining_self_loops, add_self_loops, remove_self_loops

from graphcl import SparseGraph


def dense(edge_index, weight, num_dst, num_src):
    out = torch.zeros(num_dst, num_src, dtype=torch.float64)
    w = torch.ones(edge_index.size(1), dtype=torch.float64) if weight is None else weight
    out.index_put_((edge_index[1], edge_index[0]), w.double(), accumulate=True)
    return out


def graph_with_loops(n=7, weighted=True):
    g = torch.Generator().manual_seed(3)
    ei = torch.randint(0, n, (2, 24), generator=g)
    ei = torch.cat([ei, torch.tensor([[2, 2, 5], [2, 2, 5]])], 1)  # repeated self-loops
    w = torch.rand(ei.size(1), generator=g, dtype=torch.float64) if weighted else None
    return ei, w


@pytest.mark.parametrize("fill_value", [1.0, 2.0])
def test_remaining_self_loops_match_pyg(fill_value):
    ei, w = graph_with_loops()
    graph = SparseGraph.from_edge_index(ei, w, num_nodes=7)
    ref_ei, ref_w = add_remaining_self_loops(ei, w, fill_value, 7)
    looped = graph.with_remaining_self_loops(fill_value)
    assert looped.num_edges == ref_ei.size(1)
    assert torch.equal(looped.to_dense(torch.float64), dense(ref_ei, ref_w, 7, 7))


def test_remaining_self_loops_of_an_unweighted_graph():
    """PyG fills no weights when none are given; the fill value still
    applies here: existing loops keep 1, added ones get fill_value."""
    ei, _ = graph_with_loops(weighted=False)
    graph = SparseGraph.from_edge_index(ei, num_nodes=7)
    assert graph.with_remaining_self_loops().edge_weight is None
    ref_ei, ref_w = add_remaining_self_loops(ei, torch.ones(ei.size(1)), 2.0, 7)
    assert torch.equal(graph.with_remaining_self_loops(2.0).to_dense(torch.float64),
                       dense(ref_ei, ref_w, 7, 7))


def test_remaining_self_loops_are_cached_and_moved():
    ei, w = graph_with_loops()
    graph = SparseGraph.from_edge_index(ei, w, num_nodes=7)
    looped = graph.with_remaining_self_loops(2.0)
    assert graph.with_remaining_self_loops(2.0) is looped
    assert graph.with_remaining_self_loops(1.0) is not looped
    moved = graph.to(index_dtype=torch.int32)
    moved_loops = moved.with_remaining_self_loops(2.0)
    assert moved_loops.index_dtype == torch.int32
    assert torch.equal(moved_loops.to_dense(torch.float64), looped.to_dense(torch.float64))


def test_bipartite_loops_follow_gatconv():
    """GATConv on a bipartite block: every self-loop removed, one added to each
    node below min(num_src, num_dst)."""
    g = torch.Generator().manual_seed(4)
    ei = torch.stack([torch.randint(0, 8, (20,), generator=g),
                      torch.randint(0, 5, (20,), generator=g)])
    ei = torch.cat([ei, torch.tensor([[1, 1, 4], [1, 1, 4]])], 1)
    graph = SparseGraph.from_edge_index(ei, num_src_nodes=8, num_dst_nodes=5)
    ref, _ = add_self_loops(remove_self_loops(ei)[0], num_nodes=5)
    looped = graph.with_remaining_self_loops(num_loops=5)
    assert (looped.num_rows, looped.num_cols) == (5, 8)
    assert torch.equal(looped.to_dense(torch.float64), dense(ref, None, 5, 8))
    # fewer loops than nodes: the loops of nodes 3 and 4 are dropped too
    ref3, _ = add_self_loops(remove_self_loops(ei)[0], num_nodes=3)
    assert torch.equal(graph.with_remaining_self_loops(num_loops=3).to_dense(torch.float64),
                       dense(ref3, None, 5, 8))


def test_self_loop_arguments_are_checked():
    graph = SparseGraph.from_edge_index(torch.tensor([[0, 3], [1, 0]]), num_src_nodes=4,
                                        num_dst_nodes=2)
    with pytest.raises(ValueError, match="square graph"):
        graph.with_remaining_self_loops()
    with pytest.raises(ValueError, match="num_loops = 3 exceeds"):
        graph.with_remaining_self_loops(num_loops=3)
    with pytest.raises(TypeError, match="num_loops must be an int"):
        graph.with_remaining_self_loops(num_loops=1.5)


def test_transpose_and_to_edge_index():
    g = torch.Generator().manual_seed(5)
    ei = torch.stack([torch.randint(0, 6, (15,), generator=g),
                      torch.randint(0, 4, (15,), generator=g)])
    w = torch.rand(15, generator=g, dtype=torch.float64)
    graph = SparseGraph.from_edge_index(ei, w, num_src_nodes=6, num_dst_nodes=4)
    t = graph.transpose()
    assert (t.num_rows, t.num_cols) == (6, 4)
    assert torch.equal(t.to_dense(), graph.to_dense().T)
    assert torch.equal(t.transpose().to_dense(), graph.to_dense())
    assert SparseGraph.from_edge_index(ei, num_src_nodes=6, num_dst_nodes=4).transpose() \
        .edge_weight is None
    rebuilt = SparseGraph.from_edge_index(graph.to_edge_index(), graph.edge_weight,
                                          num_src_nodes=6, num_dst_nodes=4)
    assert torch.equal(rebuilt.rowptr, graph.rowptr) and torch.equal(rebuilt.col, graph.col)
    assert torch.equal(rebuilt.edge_weight, graph.edge_weight)
