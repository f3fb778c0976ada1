"""SparseGraph: the builders agree, caches are right, normalisations match
their dense formulas, and the graph moves between devices."""
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from graphcl import SparseGraph, ops
from conftest import devices


def random_edges(n_src=20, n_dst=15, e=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, n_src, (e,), generator=g),
                        torch.randint(0, n_dst, (e,), generator=g)])


def test_builders_agree_with_dense_adjacency():
    ei = random_edges()
    w = torch.rand(ei.size(1))
    g = SparseGraph.from_edge_index(ei, w, num_src_nodes=20, num_dst_nodes=15)
    dense = torch.zeros(15, 20)
    dense.index_put_((ei[1], ei[0]), w, accumulate=True)
    torch.testing.assert_close(g.to_dense(), dense)
    # Per-edge values in the caller's order follow the edges into CSR order.
    torch.testing.assert_close(g.to_csr_order(w), g.edge_weight)
    m = sp.coo_matrix((w.numpy(), (ei[1].numpy(), ei[0].numpy())), shape=(15, 20))
    torch.testing.assert_close(SparseGraph.from_scipy(m).to_dense(), dense)
    g2 = SparseGraph.from_csr(g.rowptr, g.col, 20, g.edge_weight)
    torch.testing.assert_close(g2.to_dense(), dense)


def test_from_data_and_edge_index_sizes():
    ei = random_edges(10, 10)
    data = Data(edge_index=ei, num_nodes=12)
    g = SparseGraph.from_data(data)
    assert (g.num_rows, g.num_cols, g.num_edges) == (12, 12, ei.size(1))
    from torch_geometric import EdgeIndex
    eidx = EdgeIndex(ei, sparse_size=(10, 11))
    g2 = SparseGraph.from_edge_index(eidx)
    assert (g2.num_cols, g2.num_rows) == (10, 11)


def test_csc_cache_is_the_transpose():
    g = SparseGraph.from_edge_index(random_edges(), num_src_nodes=20, num_dst_nodes=15)
    colptr, csc_row, perm = g.csc
    assert g.csc[0] is colptr  # cached
    assert colptr.numel() == 21 and int(colptr[-1]) == g.num_edges
    # Walking the CSC visits every CSR edge once, grouped by source.
    assert sorted(perm.tolist()) == list(range(g.num_edges))
    assert torch.equal(g.col[perm], torch.repeat_interleave(torch.arange(20), colptr.diff()))
    assert torch.equal(g.row[perm], csc_row)


def test_degrees():
    ei = random_edges()
    w = torch.rand(ei.size(1))
    g = SparseGraph.from_edge_index(ei, w, num_src_nodes=20, num_dst_nodes=15)
    torch.testing.assert_close(g.degree("in"), torch.bincount(ei[1], minlength=15).float())
    torch.testing.assert_close(g.degree("out"), torch.bincount(ei[0], minlength=20).float())
    torch.testing.assert_close(g.degree("in", weighted=True), g.to_dense().sum(1))


@pytest.mark.parametrize("weighted", [False, True])
def test_normalizations_match_dense_formulas(weighted):
    ei = random_edges(12, 12, 50)
    ei = torch.cat([ei, ei.flip(0)], 1)  # symmetric
    half = torch.rand(ei.size(1) // 2, dtype=torch.float64)
    w = torch.cat([half, half]) if weighted else None  # symmetric weights
    g = SparseGraph.from_edge_index(ei, w, num_nodes=14)  # nodes 12, 13 isolated
    a = g.to_dense().double()
    d = a.sum(1)
    inv_sqrt = torch.where(d > 0, d.pow(-0.5), torch.zeros_like(d))
    torch.testing.assert_close(g.normalized("sym").to_dense().double(),
                               inv_sqrt[:, None] * a * inv_sqrt[None, :])
    inv = torch.where(d > 0, 1 / d, torch.zeros_like(d))
    torch.testing.assert_close(g.normalized("row").to_dense().double(), inv[:, None] * a)
    assert g.normalized("sym") is g.normalized("sym")  # cached
    # With self-loops: GCN's D^-1/2 (A + I) D^-1/2, where nodes that already
    # had a loop keep it instead of getting a second one.
    diag = torch.diagonal(a)
    a_hat = a - torch.diag(diag) + torch.diag(torch.where(diag > 0, diag, torch.ones_like(diag)))
    d_hat = a_hat.sum(1)
    torch.testing.assert_close(g.normalized("sym", add_self_loops=True).to_dense().double(),
                               d_hat.pow(-0.5)[:, None] * a_hat * d_hat.pow(-0.5)[None, :])
    with pytest.raises(ValueError, match="normalization must be one of"):
        g.normalized("left")


def test_self_loops_need_square_graph():
    g = SparseGraph.from_edge_index(random_edges(), num_src_nodes=20, num_dst_nodes=15)
    with pytest.raises(ValueError, match="square"):
        g.with_self_loops()


@pytest.mark.parametrize("device", devices())
def test_to_device_and_index_dtype(device):
    g = SparseGraph.from_edge_index(random_edges(), torch.rand(80), num_src_nodes=20,
                                    num_dst_nodes=15)
    g.csc, g.degree("in"), g.normalized("row")
    moved = g.to(device, index_dtype=torch.int32)
    assert moved.rowptr.dtype == torch.int32 and moved.csc[0].dtype == torch.int32
    assert moved.device.type == device and moved.csc[2].device.type == device
    x = torch.randn(20, 3, device=device)
    torch.testing.assert_close(ops.spmm(moved, x).cpu(), ops.spmm(g, x.cpu()))
    torch.testing.assert_close(moved.normalized("row").to_dense().cpu(),
                               g.normalized("row").to_dense())
