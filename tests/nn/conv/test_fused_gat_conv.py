"""FusedGATConv equals torch_geometric.nn.GATConv with copied weights
(outputs, gradients and attention coefficients, float32/float64, both
graphcl backends, homogeneous and bipartite)."""
import pytest
import torch
from torch_geometric.nn import GATConv

from graphcl.nn.conv import FusedGATConv

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-13)}


def edges(num_src, num_dst, seed=0, num_edges=30):
    """Unique edges (attention per edge is then comparable), self-loops
    included, the last target without incoming edges."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.stack([torch.randint(0, num_src, (num_edges,), generator=g),
                      torch.randint(0, num_dst - 1, (num_edges,), generator=g)])
    ei = torch.cat([ei, torch.tensor([[0, 2], [0, 2]])], 1)
    ei = torch.unique(ei, dim=1)
    return ei[:, torch.randperm(ei.size(1), generator=g)]  # not in CSR order


def pair(dtype, in_channels, **kwargs):
    torch.manual_seed(0)
    ref = GATConv(in_channels, 4, **kwargs).to(dtype)
    if ref.bias is not None:
        torch.nn.init.normal_(ref.bias)
    ours = FusedGATConv(in_channels, 4, **kwargs).to(dtype)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def outputs_and_grads(layer, x, edge_index):
    xs = [t.clone().requires_grad_() for t in (x if isinstance(x, tuple) else (x,))]
    out = layer(tuple(xs) if isinstance(x, tuple) else xs[0], edge_index)
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()
    return [out] + list(torch.autograd.grad(loss, xs + list(layer.parameters())))


CASES = [{}, {"heads": 3}, {"heads": 2, "concat": False}, {"add_self_loops": False},
         {"negative_slope": 0.01, "heads": 2}, {"residual": True, "heads": 2},
         {"bias": False}]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kwargs", CASES)
def test_equals_pyg_gatconv(backend, dtype, kwargs):
    ei = edges(8, 8)
    ref, ours = pair(dtype, 5, **kwargs)
    x = torch.randn(8, 5, dtype=dtype)
    for got, expected in zip(outputs_and_grads(ours, x, ei), outputs_and_grads(ref, x, ei)):
        torch.testing.assert_close(got, expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("add_self_loops", [False, True])
def test_bipartite_equals_pyg(backend, dtype, add_self_loops):
    """A pair of features (lin_src/lin_dst); with self-loops, PyG's rule: one
    loop per node below min(num_src, num_dst)."""
    ei = edges(9, 5)
    ref, ours = pair(dtype, (5, 3), heads=2, add_self_loops=add_self_loops, residual=True)
    x = (torch.randn(9, 5, dtype=dtype), torch.randn(5, 3, dtype=dtype))
    for got, expected in zip(outputs_and_grads(ours, x, ei), outputs_and_grads(ref, x, ei)):
        torch.testing.assert_close(got, expected, **TOL[dtype])
    # no target features: scores from the sources only, N_dst = N_src
    ei_sq = edges(9, 9)
    torch.testing.assert_close(ours((x[0], None), ei_sq), ref((x[0], None), ei_sq),
                               **TOL[dtype])


def test_attention_weights_match_pyg(backend):
    ei = edges(8, 8)
    ref, ours = pair(torch.float64, 5, heads=2)
    x = torch.randn(8, 5, dtype=torch.float64)
    _, (ref_ei, ref_alpha) = ref(x, ei, return_attention_weights=True)
    out, (our_ei, our_alpha) = ours(x, ei, return_attention_weights=True)
    assert our_alpha.shape == (ref_ei.size(1), 2)

    def as_dense(edge_index, alpha):
        dense = torch.zeros(8, 8, 2, dtype=torch.float64)
        dense[edge_index[1], edge_index[0]] = alpha
        return dense
    torch.testing.assert_close(as_dense(our_ei, our_alpha), as_dense(ref_ei, ref_alpha),
                               **TOL[torch.float64])
    torch.testing.assert_close(out, ref(x, ei), **TOL[torch.float64])


def test_unfused_path_equals_fused(backend):
    ei = edges(8, 8)
    _, ours = pair(torch.float64, 5, heads=2)
    x = torch.randn(8, 5, dtype=torch.float64)
    fused = ours(x, ei)
    ours.fuse = False
    torch.testing.assert_close(ours(x, ei), fused, **TOL[torch.float64])


def test_dropout_only_in_training():
    ei = edges(8, 8)
    ref, ours = pair(torch.float32, 5, dropout=0.5)
    x = torch.randn(8, 5)
    ref.eval(), ours.eval()
    torch.testing.assert_close(ours(x, ei), ref(x, ei), **TOL[torch.float32])
    ours.train()
    torch.manual_seed(1)
    assert not torch.allclose(ours(x, ei), ref(x, ei))


def test_lazy_in_channels():
    ei = edges(8, 8)
    ref, ours = GATConv((-1, -1), 4, heads=2), FusedGATConv((-1, -1), 4, heads=2)
    x = torch.randn(8, 6)
    ref(x, ei), ours(x, ei)
    ours.load_state_dict(ref.state_dict())
    torch.testing.assert_close(ours(x, ei), ref(x, ei), **TOL[torch.float32])


def test_bad_arguments():
    with pytest.raises(ValueError, match="aggr must be one of"):
        FusedGATConv(5, 3, aggr="mean")
    conv = FusedGATConv(5, 3)
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="takes no edge features"):
        conv(torch.randn(2, 5), ei, torch.randn(2, 4))
    with pytest.raises(ValueError, match="pair"):
        conv((torch.randn(2, 5),) * 3, ei)
    with pytest.raises(TypeError, match=r"x\[0\] \(source features\) must be a torch.Tensor"):
        conv((None, torch.randn(2, 5)), ei)
