"""MetapathView (graphcl.nn.hetero) against a dense formula."""
import pytest
import torch

from graphcl import SparseGraph
from graphcl.nn import MetapathView


def sym_dense(graph):
    a = graph.to_dense(torch.float64)
    d_in, d_out = a.sum(1), a.sum(0)
    inv = lambda d: torch.where(d > 0, d.rsqrt(), torch.zeros_like(d))  # noqa: E731
    return inv(d_in)[:, None] * a * inv(d_out)[None, :]


def metapaths(n=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for e in (25, 40):
        ei = torch.randint(0, n, (2, e), generator=g)
        out.append(SparseGraph.from_edge_index(torch.cat([ei, ei.flip(0)], 1), num_nodes=n))
    return out


def test_matches_dense_gcn_and_semantic_attention():
    torch.manual_seed(0)
    view = MetapathView(6, 2).double()
    graphs = metapaths()
    h = torch.randn(10, 6, dtype=torch.float64)
    got = view(h, graphs)
    per_path = []
    for conv, graph in zip(view.convs, graphs):
        per_path.append(conv.activation(sym_dense(graph) @ (h @ conv.lin.weight.t()) + conv.bias))
    stacked = torch.stack(per_path)
    att = view.attention
    w = (torch.tanh(att.lin(stacked)).mean(1) * att.att).sum(-1)
    expected = (torch.softmax(w, 0)[:, None, None] * stacked).sum(0)
    torch.testing.assert_close(got, expected)
    assert got.shape == (10, 6)


def test_reset_parameters_resets_every_block():
    torch.manual_seed(0)
    view = MetapathView(6, 2)
    with torch.no_grad():
        for p in view.parameters():
            p.fill_(3.0)
    view.reset_parameters()
    assert all(float(conv.activation.weight.detach()) == 0.25 for conv in view.convs)  # PReLU's init
    assert all(float(conv.bias.detach().abs().sum()) == 0 for conv in view.convs)
    assert not torch.equal(view.attention.att, torch.full_like(view.attention.att, 3.0))


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="num_metapaths must be >= 1"):
        MetapathView(6, 0)
    view = MetapathView(6, 2)
    with pytest.raises(ValueError, match="metapaths needs 2 graphs"):
        view(torch.randn(10, 6), metapaths()[:1])
