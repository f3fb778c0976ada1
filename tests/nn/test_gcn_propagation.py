"""GCNPropagation against a dense formula and PyG's GCNConv."""
import pytest
import torch
from torch import nn
from torch_geometric.nn import GCNConv

from graphcl import SparseGraph
from graphcl.nn import GCNPropagation


def random_graph(n_src=9, n_dst=7, e=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.stack([torch.randint(0, n_src, (e,), generator=g),
                      torch.randint(0, n_dst, (e,), generator=g)])
    return SparseGraph.from_edge_index(ei, num_src_nodes=n_src, num_dst_nodes=n_dst)


@pytest.mark.parametrize("normalization", ["sym", "row", "none"])
def test_gcn_propagation_matches_dense(backend, normalization):
    torch.manual_seed(0)
    ei = torch.randint(0, 10, (2, 40))
    graph = SparseGraph.from_edge_index(torch.cat([ei, ei.flip(0)], 1), num_nodes=10)
    conv = GCNPropagation(5, 3, normalization, add_self_loops=True, activation=nn.PReLU())
    nn.init.normal_(conv.bias)
    x = torch.randn(10, 5, requires_grad=True)
    a_hat = graph.normalized(normalization, add_self_loops=True).to_dense()
    expected = conv.activation(a_hat @ conv.lin(x) + conv.bias)
    out = conv(x, graph)
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert x.grad is not None and conv.lin.weight.grad.abs().sum() > 0


def directed_graph_with_loops(seed=0, n=12, e=45):
    """Directed edges, duplicates, existing self-loops (node 4 has two) and an
    isolated node (n - 1)."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n - 1, (2, e), generator=g)
    ei = torch.cat([ei, torch.tensor([[4, 4, 6], [4, 4, 6]]), ei[:, :4]], 1)
    return ei, torch.rand(ei.size(1), generator=g) + 0.05


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("add_self_loops", [True, False])
def test_gcn_propagation_pyg_equals_gcnconv(backend, dtype, weighted, add_self_loops):
    """normalization='pyg' is GCNConv's gcn_norm: in-degree on both ends and
    add_remaining_self_loops, checked against GCNConv with copied weights."""
    torch.manual_seed(4)
    ei, w = directed_graph_with_loops()
    w = w.to(dtype) if weighted else None
    reference = GCNConv(5, 3, add_self_loops=add_self_loops).to(dtype)
    conv = GCNPropagation(5, 3, "pyg", add_self_loops=add_self_loops).to(dtype)
    with torch.no_grad():
        nn.init.normal_(reference.bias)
        conv.lin.weight.copy_(reference.lin.weight)
        conv.bias.copy_(reference.bias)
    graph = SparseGraph.from_edge_index(ei, w, num_nodes=12)
    x = torch.randn(12, 5, dtype=dtype)
    x_ref, x_ours = x.clone().requires_grad_(), x.clone().requires_grad_()
    expected, out = reference(x_ref, ei, w), conv(x_ours, graph)
    torch.testing.assert_close(out, expected)
    (expected ** 2).sum().backward()
    (out ** 2).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad)
    torch.testing.assert_close(conv.lin.weight.grad, reference.lin.weight.grad)
    # The default ('sym', in/out degrees) is a different operator on this
    # directed graph: 'pyg' is what makes it GCNConv.
    sym = GCNPropagation(5, 3, "sym", add_self_loops=add_self_loops).to(dtype)
    sym.load_state_dict(conv.state_dict())
    assert not torch.allclose(sym(x, graph), expected)
