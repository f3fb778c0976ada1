"""graphcl's ops and blocks on what a PyG user holds: every adjacency form
gives the SparseGraph result, per-edge tensors in the input's own order."""
import warnings

import pytest
import torch
from torch_geometric import EdgeIndex
from torch_geometric.utils import softmax as pyg_softmax

from graphcl import SparseGraph, ops
from graphcl.nn import GCNPropagation, NodeAttentionAggregation

N = 7


def square_edges(seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N - 1, (2, 20), generator=g)  # node N - 1 isolated
    return ei, torch.rand(20, generator=g, dtype=torch.float64)


def adjacency_forms(ei, w):
    """name -> (adjacency, edge_weight to pass with it)."""
    coo = torch.sparse_coo_tensor(ei.flip(0), w, (N, N)).coalesce()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        csr = coo.to_sparse_csr()
    return {"edge_index": (ei, w), "EdgeIndex": (EdgeIndex(ei, sparse_size=(N, N)), w),
            "coo": (coo, None), "csr": (csr, None),
            "SparseGraph": (SparseGraph.from_edge_index(ei, w, num_nodes=N), None)}


def test_spmm_on_every_form(backend):
    ei, w = square_edges()
    x = torch.randn(N, 3, dtype=torch.float64, requires_grad=True)
    dense = torch.zeros(N, N, dtype=torch.float64).index_put_((ei[1], ei[0]), w, accumulate=True)
    expected = dense @ x
    grad_expected, = torch.autograd.grad(expected.sum(), x)
    for name, (adj, weight) in adjacency_forms(ei, w).items():
        out = ops.spmm(adj, x) if weight is None else ops.spmm(adj, x, weight)
        assert out.shape == (N, 3), name  # the isolated node N - 1 included
        torch.testing.assert_close(out, expected, msg=name)
        grad, = torch.autograd.grad(out.sum(), x)
        torch.testing.assert_close(grad, grad_expected, msg=name)


def test_per_edge_ops_keep_the_edge_index_order(backend):
    ei, _ = square_edges()
    a, b = torch.randn(N, 4, dtype=torch.float64), torch.randn(N, 4, dtype=torch.float64)
    scores = torch.randn(20, 2, dtype=torch.float64, requires_grad=True)
    # sddmm: out[e] = <a[target_e], b[source_e]>, in the columns' order
    torch.testing.assert_close(ops.sddmm(ei, a, b), (a[ei[1]] * b[ei[0]]).sum(-1))
    # segment_softmax: PyG's softmax grouped by target, in the columns' order
    out = ops.segment_softmax(ei, scores)
    expected = pyg_softmax(scores, ei[1], num_nodes=N)
    torch.testing.assert_close(out, expected)
    weights = torch.randn(20, 2, dtype=torch.float64)
    grad, = torch.autograd.grad((out * weights).sum(), scores)
    grad_expected, = torch.autograd.grad((expected * weights).sum(), scores)
    torch.testing.assert_close(grad, grad_expected)
    # spmm's edge_weight follows the columns too
    w = torch.rand(20, dtype=torch.float64)
    dense = torch.zeros(N, N, dtype=torch.float64).index_put_((ei[1], ei[0]), w, accumulate=True)
    torch.testing.assert_close(ops.spmm(ei, a, w), dense @ a)


def test_a_sparse_graph_keeps_csr_order(backend):
    ei, _ = square_edges()
    graph = SparseGraph.from_edge_index(ei, num_nodes=N)
    a, b = torch.randn(N, 4), torch.randn(N, 4)
    row, col = graph.row.long(), graph.col.long()
    torch.testing.assert_close(ops.sddmm(graph, a, b), (a[row] * b[col]).sum(-1))
    torch.testing.assert_close(ops.sddmm(a=a, b=b, graph=graph), (a[row] * b[col]).sum(-1))
    w = torch.rand(graph.num_edges)
    torch.testing.assert_close(ops.spmm(x=a, graph=graph, edge_weight=w),
                               ops.spmm(graph, a, w))


def test_ops_on_a_bipartite_edge_index(backend):
    g = torch.Generator().manual_seed(1)
    ei = torch.stack([torch.randint(0, 6, (12,), generator=g),
                      torch.randint(0, 3, (12,), generator=g)])
    x, a = torch.randn(6, 2), torch.randn(4, 2)  # 4 targets: the last one has no edge
    sized = EdgeIndex(ei, sparse_size=(6, 4))
    dense = torch.zeros(4, 6).index_put_((ei[1], ei[0]), torch.ones(12), accumulate=True)
    torch.testing.assert_close(ops.spmm(sized, x), dense @ x)
    torch.testing.assert_close(ops.sddmm(ei, a, x), (a[ei[1]] * x[ei[0]]).sum(-1))


def test_ops_name_the_graph_argument(backend):
    x = torch.randn(3, 2)
    with pytest.raises(TypeError, match="graph must be a graphcl.SparseGraph, an edge_index"):
        ops.spmm([[0, 1], [1, 0]], x)
    with pytest.raises(ValueError, match="edge_index\\[0\\] holds node 5"):
        ops.spmm(torch.tensor([[5], [0]]), x)
    with pytest.raises(ValueError, match="edge_weight must have shape \\[2\\]"):
        ops.spmm(torch.tensor([[0, 1], [1, 0]]), x, torch.ones(3))


@pytest.mark.parametrize("normalization", ["sym", "pyg"])
def test_gcn_propagation_on_every_form(backend, normalization):
    ei, w = square_edges()
    w = w.float()
    block = GCNPropagation(3, 2, normalization=normalization, add_self_loops=True)
    x = torch.randn(N, 3)
    expected = block(x, SparseGraph.from_edge_index(ei, w, num_nodes=N))
    for name, (adj, weight) in adjacency_forms(ei, w).items():
        out = block(x, adj, weight)
        torch.testing.assert_close(out, expected, msg=name)
    with pytest.raises(ValueError, match="edge_weight cannot be given with a SparseGraph"):
        block(x, SparseGraph.from_edge_index(ei, num_nodes=N), w)


def test_node_attention_on_an_edge_index(backend):
    g = torch.Generator().manual_seed(2)
    ei = torch.stack([torch.randint(0, 5, (14,), generator=g),
                      torch.randint(0, 3, (14,), generator=g)])
    block = NodeAttentionAggregation(4, heads=2).eval()
    x_src, x_dst = torch.randn(6, 8), torch.randn(4, 8)  # isolated nodes on both sides
    expected = block(x_src, x_dst, SparseGraph.from_edge_index(ei, num_src_nodes=6,
                                                               num_dst_nodes=4))
    torch.testing.assert_close(block(x_src, x_dst, ei), expected)
    torch.testing.assert_close(block(x_src, x_dst, EdgeIndex(ei, sparse_size=(6, 4))), expected)
