"""FusedGCNConv equals torch_geometric.nn.GCNConv with copied weights
(outputs and gradients, float32/float64, both graphcl backends)."""
import pytest
import torch
from torch_geometric.nn import GCNConv

from graphcl.nn.conv import FusedGCNConv

N = 9
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-13)}


def graph(dtype, seed=0):
    """Directed edges with duplicates and self-loops; node N - 1 isolated."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N - 1, (2, 30), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    ei = torch.cat([ei, torch.tensor([[1, 4], [1, 4]]), ei[:, :3]], 1)
    return ei, torch.rand(ei.size(1), generator=g, dtype=dtype) + 0.1


def pair(dtype, **kwargs):
    """(PyG's layer, ours) with the same weights."""
    torch.manual_seed(0)
    ref = GCNConv(5, 4, **kwargs).to(dtype)
    if ref.bias is not None:
        torch.nn.init.normal_(ref.bias)  # non-zero, so that a missing bias shows
    ours = FusedGCNConv(5, 4, **kwargs).to(dtype)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def outputs_and_grads(layer, x, *args):
    x = x.clone().requires_grad_()
    weight = args[1].clone().requires_grad_() if len(args) > 1 else None
    out = layer(x, args[0]) if weight is None else layer(x, args[0], weight)
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()
    wrt = [x] + list(layer.parameters()) + ([weight] if weight is not None else [])
    return [out] + list(torch.autograd.grad(loss, wrt))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kwargs", [{}, {"add_self_loops": False}, {"normalize": False},
                                    {"improved": True}, {"aggr": "mean"}, {"bias": False}])
def test_equals_pyg_gcnconv(backend, dtype, weighted, kwargs):
    if kwargs.get("improved") and not weighted:
        pytest.skip("PyG ignores improved without edge weights (see the next test)")
    ei, w = graph(dtype)
    ref, ours = pair(dtype, **kwargs)
    x = torch.randn(N, 5, dtype=dtype)
    args = (ei, w) if weighted else (ei,)
    for got, expected in zip(outputs_and_grads(ours, x, *args), outputs_and_grads(ref, x, *args)):
        torch.testing.assert_close(got, expected, **TOL[dtype])


def test_improved_without_weights_uses_two_on_the_diagonal(backend):
    """PyG's GCNConv drops improved when edge_weight is None (its
    add_remaining_self_loops fills no weights); with unit weights it applies."""
    ei, _ = graph(torch.float64)
    ref, ours = pair(torch.float64, improved=True)
    x = torch.randn(N, 5, dtype=torch.float64)
    expected = ref(x, ei, torch.ones(ei.size(1), dtype=torch.float64))
    torch.testing.assert_close(ours(x, ei), expected, **TOL[torch.float64])
    assert not torch.allclose(ref(x, ei), expected)


def test_duplicated_self_loops(backend):
    """A node with two self-loops keeps the weight of the last one (PyG's
    rule). PyG's gradient also reaches the overwritten loop (the backward of
    its index assignment); ours is the true one, 0 for that loop."""
    ei = torch.tensor([[0, 1, 1, 1, 2], [1, 1, 1, 0, 1]])
    w = torch.tensor([0.5, 2.0, 3.0, 1.5, 0.7], dtype=torch.float64, requires_grad=True)
    ref, ours = pair(torch.float64)
    x = torch.randn(3, 5, dtype=torch.float64)
    out = ours(x, ei, w)
    torch.testing.assert_close(out, ref(x, ei, w), **TOL[torch.float64])
    grad, = torch.autograd.grad(out.sum(), w)
    assert grad[1] == 0 and grad[2] != 0
    torch.autograd.gradcheck(lambda weight: ours(x, ei, weight), (w,))


def test_unfused_path_equals_fused(backend):
    """With fusion off (as in explain mode), PyG runs message() on the adj_t
    handed to propagate: the same sum."""
    ei, w = graph(torch.float64)
    _, ours = pair(torch.float64)
    x = torch.randn(N, 5, dtype=torch.float64)
    fused = ours(x, ei, w)
    ours.fuse = False
    torch.testing.assert_close(ours(x, ei, w), fused, **TOL[torch.float64])


def test_cached_keeps_the_first_graph(backend):
    ei, w = graph(torch.float32)
    other, _ = graph(torch.float32, seed=1)
    ref, ours = pair(torch.float32, cached=True)
    x = torch.randn(N, 5)
    ref(x, ei, w), ours(x, ei, w)
    torch.testing.assert_close(ours(x, other), ref(x, other), **TOL[torch.float32])
    torch.testing.assert_close(ours(x, other), ours(x, ei, w))
    ours.reset_parameters()
    ours.load_state_dict(ref.state_dict())
    assert not torch.allclose(ours(x, other), ref(x, ei, w))  # reset forgets the graph


def test_lazy_in_channels():
    ei, w = graph(torch.float32)
    ref, ours = GCNConv(-1, 4), FusedGCNConv(-1, 4)
    x = torch.randn(N, 6)
    ref(x, ei), ours(x, ei)
    ours.load_state_dict(ref.state_dict())
    torch.testing.assert_close(ours(x, ei, w), ref(x, ei, w), **TOL[torch.float32])


def test_bipartite_normalises_by_target_in_and_source_out_degree(backend):
    g = torch.Generator().manual_seed(2)
    ei = torch.stack([torch.randint(0, 7, (18,), generator=g),
                      torch.randint(0, 4, (18,), generator=g)])
    w = torch.rand(18, generator=g, dtype=torch.float64)
    conv = FusedGCNConv(5, 3, add_self_loops=False).double()
    x_src, x_dst = torch.randn(8, 5, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    a = torch.zeros(5, 8, dtype=torch.float64).index_put_((ei[1], ei[0]), w, accumulate=True)
    d_in, d_out = a.sum(1), a.sum(0)
    d_in, d_out = torch.where(d_in > 0, d_in, 1), torch.where(d_out > 0, d_out, 1)
    expected = (a / (d_in[:, None] * d_out[None, :]).sqrt()) @ conv.lin(x_src) + conv.bias
    torch.testing.assert_close(conv((x_src, x_dst), ei, w), expected, **TOL[torch.float64])
    assert conv((x_src, None), ei, w).shape == (8, 3)  # targets default to the sources' count
    with pytest.raises(ValueError, match="add_self_loops=False"):
        FusedGCNConv(5, 3)((x_src, x_dst), ei)


def test_bad_arguments():
    with pytest.raises(ValueError, match="aggr must be one of"):
        FusedGCNConv(5, 3, aggr="mul")
    with pytest.raises(ValueError, match="flow must be 'source_to_target'"):
        FusedGCNConv(5, 3, flow="target_to_source")
    with pytest.raises(TypeError, match="node_dim is fixed"):
        FusedGCNConv(5, 3, node_dim=1)
    with pytest.raises(ValueError, match="needs normalize=True"):
        FusedGCNConv(5, 3, add_self_loops=True, normalize=False)
    conv = FusedGCNConv(5, 3)
    with pytest.raises(ValueError, match="x must be 2-D"):
        conv(torch.randn(2, 4, 5), torch.tensor([[0], [1]]))
    with pytest.raises(TypeError, match="edge_index must be a graphcl.SparseGraph"):
        conv(torch.randn(4, 5), [[0, 1], [1, 0]])
