"""SparseGraph: the builders agree, caches are right, normalisations match
their dense formulas (exactly in float64, and PyG's gcn_norm for 'pyg'),
powers are right and bounded, and the graph moves between devices."""
import warnings

import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data
from torch_geometric.nn.conv.gcn_conv import gcn_norm

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


# --------------------------------------------------------------------------- #
# float64 normalisation is exact in float64
# --------------------------------------------------------------------------- #
def dense_normalized(a: torch.Tensor, kind: str) -> torch.Tensor:
    """The normalisations written out on a dense float64 adjacency."""
    d_in, d_out = a.sum(1), a.sum(0)
    if kind == "row":
        return torch.where(d_in > 0, 1 / d_in, torch.zeros_like(d_in))[:, None] * a
    inv_in = torch.where(d_in > 0, d_in.rsqrt(), torch.zeros_like(d_in))
    if kind == "pyg":  # in-degree on both ends
        return inv_in[:, None] * a * inv_in[None, :]
    inv_out = torch.where(d_out > 0, d_out.rsqrt(), torch.zeros_like(d_out))
    return inv_in[:, None] * a * inv_out[None, :]


# Two float64 ulps: the old float32 coefficients were off by about 1e-8
# relative, which the default float64 tolerance (1e-7) would not see.
EXACT = dict(rtol=4.5e-16, atol=0.0)


@pytest.mark.parametrize("kind", ["sym", "row", "pyg"])
def test_float64_features_get_float64_exact_normalisation(backend, kind):
    # The example: path 0-1-2, whose 'sym' weights are 1/sqrt(2).
    path = SparseGraph.from_edge_index(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]))
    out = ops.spmm(path.normalized("sym"), torch.eye(3, dtype=torch.float64))
    root_half = torch.tensor(0.5, dtype=torch.float64).sqrt()
    torch.testing.assert_close(out[[0, 1, 1, 2], [1, 0, 2, 1]], root_half.expand(4), **EXACT)
    # A directed graph with duplicates, a self-loop and an isolated node, with
    # float32 weights: float64 features see them widened, then normalised in
    # float64, never the float32 coefficients cast up.
    ei = torch.tensor([[0, 1, 1, 2, 3, 3, 0, 2], [1, 0, 2, 1, 0, 0, 0, 3]])
    w = torch.tensor([0.3, 1.7, 2.9, 0.1, 0.7, 1.1, 0.6, 0.35])
    for weight in (None, w):
        g = SparseGraph.from_edge_index(ei, weight, num_nodes=5)
        for loops in (False, True):
            norm = g.normalized(kind, add_self_loops=loops)
            assert norm.edge_weight.dtype == torch.float32  # stored as before
            if loops:  # each node's diagonal: its self-loop, or 1 where it had none
                base = loops_dense(g, per_node_last=kind == "pyg")
            else:
                base = g.to_dense(torch.float64)
            expected = dense_normalized(base, kind)
            x = torch.eye(5, dtype=torch.float64)
            torch.testing.assert_close(ops.spmm(norm, x), expected, **EXACT)
            torch.testing.assert_close(norm.to_dense(torch.float64), expected, **EXACT)
            moved = norm.to("cpu", index_dtype=torch.int32)  # keeps what it needs to recompute
            torch.testing.assert_close(ops.spmm(moved, x), expected, **EXACT)
            # float32 features still get the stored float32 coefficients.
            assert ops.spmm(norm, x.float()).dtype == torch.float32


def loops_dense(g: SparseGraph, per_node_last: bool) -> torch.Tensor:
    """Dense float64 adjacency after adding self-loops: 'sym'/'row' keep every
    existing loop (duplicates summed) and add weight 1 where a node has none;
    'pyg' (add_remaining_self_loops) keeps one loop per node, weighted like the
    node's last existing loop."""
    a = g.to_dense(torch.float64)
    w = g.edge_weight.double() if g.edge_weight is not None else torch.ones(g.num_edges,
                                                                            dtype=torch.float64)
    for i in range(g.num_rows):
        loops = [k for k in range(g.num_edges) if g.row[k] == i and g.col[k] == i]
        if not loops:
            a[i, i] = 1.0
        elif per_node_last:
            a[i, i] = w[loops[-1]]
    return a


def test_float64_normalisation_through_the_gcn_block():
    from graphcl.nn.gcn_propagation import GCNPropagation
    path = SparseGraph.from_edge_index(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]))
    conv = GCNPropagation(3, 3, "sym", bias=False).double()
    with torch.no_grad():
        conv.lin.weight.copy_(torch.eye(3, dtype=torch.float64))
    expected = dense_normalized(path.to_dense(torch.float64), "sym")
    torch.testing.assert_close(conv(torch.eye(3, dtype=torch.float64), path), expected, **EXACT)


# --------------------------------------------------------------------------- #
# 'pyg' normalisation = torch_geometric's gcn_norm
# --------------------------------------------------------------------------- #
def pyg_test_graphs():
    """Directed, with existing self-loops (one node with two), duplicates and
    an isolated node."""
    g = torch.Generator().manual_seed(5)
    ei = torch.randint(0, 11, (2, 40), generator=g)
    loops = torch.tensor([[2, 2, 5, 7], [2, 2, 5, 7]])
    ei = torch.cat([ei, loops, ei[:, :3]], 1)  # + duplicates; node 11 isolated
    w = torch.rand(ei.size(1), generator=g) + 0.1
    return ei, w


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("add_self_loops", [False, True])
def test_pyg_normalization_equals_gcn_norm(dtype, weighted, add_self_loops):
    ei, w = pyg_test_graphs()
    w = w.to(dtype) if weighted else None
    g = SparseGraph.from_edge_index(ei, w, num_nodes=12)
    ref_ei, ref_w = gcn_norm(ei, w, 12, add_self_loops=add_self_loops, dtype=dtype)
    expected = torch.zeros(12, 12, dtype=dtype).index_put_((ref_ei[1], ref_ei[0]), ref_w,
                                                           accumulate=True)
    got = g.normalized("pyg", add_self_loops=add_self_loops)
    torch.testing.assert_close(got.to_dense(dtype), expected)
    # The graph is directed, so the in/out-degree 'sym' is a different matrix.
    assert not torch.allclose(g.normalized("sym", add_self_loops).to_dense(dtype), expected)
    if add_self_loops:  # exactly one self-loop per node
        assert int((got.row == got.col).sum()) == 12


def test_pyg_normalization_needs_a_square_graph():
    g = SparseGraph.from_edge_index(random_edges(), num_src_nodes=20, num_dst_nodes=15)
    with pytest.raises(ValueError, match="'pyg'.*square"):
        g.normalized("pyg")


# --------------------------------------------------------------------------- #
# CSR order without an overflowing sort key
# --------------------------------------------------------------------------- #
def test_csr_order_with_huge_source_count():
    # dst * num_src + src overflows int64 for num_src = 2**62 and dst >= 2.
    big = 2 ** 62
    src = torch.tensor([big - 1, 5, 0, big - 2, 7, 5, 3])
    dst = torch.tensor([3, 2, 3, 0, 1, 2, 0])
    g = SparseGraph.from_edge_index(torch.stack([src, dst]), num_src_nodes=big, num_dst_nodes=4)
    order = sorted(range(7), key=lambda e: (int(dst[e]), int(src[e]), e))
    assert g.input_perm.tolist() == order
    assert g.col.tolist() == [int(src[e]) for e in order]
    assert g.rowptr.tolist() == [0, 2, 3, 5, 7]
    assert g.row.tolist() == sorted(dst.tolist())


# --------------------------------------------------------------------------- #
# matrix_power: right at every order, bounded work, warns on overflow
# --------------------------------------------------------------------------- #
def small_weighted_graph(n=9, seed=4):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, 25), generator=g)
    return SparseGraph.from_edge_index(ei, torch.rand(25, generator=g, dtype=torch.float64),
                                       num_nodes=n).normalized("row", add_self_loops=True)


@pytest.mark.parametrize("order", [1, 2, 5, 8, 9, 12, 16, 23])
@pytest.mark.parametrize("cumulative", [False, True])
def test_matrix_power_matches_dense(order, cumulative):
    g = small_weighted_graph()
    a = g.to_dense()
    expected = sum(torch.linalg.matrix_power(a, k) for k in range(1, order + 1)) \
        if cumulative else torch.linalg.matrix_power(a, order)
    torch.testing.assert_close(g.matrix_power(order, cumulative).to_dense(), expected)


@pytest.mark.parametrize("cumulative", [False, True])
def test_matrix_power_of_a_huge_order_takes_few_products(monkeypatch, cumulative):
    g = small_weighted_graph()
    products = []
    matmul = SparseGraph.matmul
    monkeypatch.setattr(SparseGraph, "matmul",
                        lambda self, other: products.append(1) or matmul(self, other))
    order = 1000
    got = g.matrix_power(order, cumulative)
    assert len(products) <= 3 * order.bit_length()
    a = g.to_dense()
    expected = torch.linalg.matrix_power(a, order)
    if cumulative:
        expected = sum(torch.linalg.matrix_power(a, k) for k in range(1, order + 1))
    torch.testing.assert_close(got.to_dense(), expected)
    products.clear()
    g.matrix_power(2 ** 62 + 12345, cumulative)  # no hang: about 3 products per bit
    assert len(products) <= 3 * 63


def test_matrix_power_warns_when_weights_overflow():
    # Path counts of a complete graph grow like 9**k: float32 overflows near k = 40.
    n = 10
    ei = torch.tensor([[i, j] for i in range(n) for j in range(n) if i != j]).t()
    g = SparseGraph.from_edge_index(ei, num_nodes=n)
    with pytest.warns(RuntimeWarning, match="overflowed to Inf"):
        g.matrix_power(64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # finite powers do not warn
        g.matrix_power(30)
        g.normalized("row").matrix_power(10 ** 6)


def test_matrix_power_order_is_checked():
    g = small_weighted_graph()
    for bad in (2.0, True, "3", None):
        with pytest.raises(TypeError, match="order must be an int"):
            g.matrix_power(bad)
    for bad in (0, -3, 2 ** 63):
        with pytest.raises(ValueError, match="order must be"):
            g.matrix_power(bad)
    import numpy as np
    torch.testing.assert_close(g.matrix_power(np.int64(3)).to_dense(),
                               g.matrix_power(3).to_dense())
