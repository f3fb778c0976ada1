"""nn blocks against dense formulas written out in the test."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import GCNConv

from graphcl import SparseGraph
from graphcl.nn.gcn_propagation import GCNPropagation
from graphcl.nn.node_attention import NodeAttentionAggregation
from graphcl.nn.semantic_attention import SemanticAttention


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


def dense_node_attention(module, x_src, x_dst, graph):
    """Loop over target nodes with torch.softmax over each neighbour list."""
    H, C = module.heads, module.channels
    rows = []
    for i in range(graph.num_rows):
        nbrs = graph.col[graph.row == i].long()
        heads = []
        for h in range(H):
            hs, hd = x_src.view(-1, H, C)[:, h], x_dst.view(-1, H, C)[:, h]
            if nbrs.numel() == 0:
                heads.append(torch.zeros(C))
                continue
            a = torch.cat([module.att_dst[h], module.att_src[h]])
            pair = torch.cat([hd[i].expand(nbrs.numel(), C), hs[nbrs]], 1)
            alpha = torch.softmax(F.leaky_relu(pair @ a, module.negative_slope), 0)
            heads.append((alpha[:, None] * hs[nbrs]).sum(0))
        rows.append(torch.cat(heads) if module.concat else torch.stack(heads).mean(0))
    return torch.stack(rows)


@pytest.mark.parametrize("heads,concat", [(1, True), (3, True), (2, False)])
def test_node_attention_matches_dense(backend, heads, concat):
    torch.manual_seed(1)
    graph = random_graph()
    module = NodeAttentionAggregation(4, heads=heads, concat=concat, negative_slope=0.01).eval()
    x_src, x_dst = torch.randn(9, 4 * heads), torch.randn(7, 4 * heads)
    torch.testing.assert_close(module(x_src, x_dst, graph),
                               dense_node_attention(module, x_src, x_dst, graph))


def test_node_attention_dropout_modes():
    """HeCo's 'parameter' mode drops entries of a: the weights still sum to 1,
    so equal neighbour embeddings come out unchanged; 'coefficients' mode does
    not keep that."""
    torch.manual_seed(2)
    graph = SparseGraph.from_edge_index(torch.tensor([[0, 1, 2, 3], [0, 0, 0, 0]]),
                                        num_src_nodes=4, num_dst_nodes=1)
    v = torch.randn(1, 8)
    x_src = v.expand(4, 8).clone()
    keep = NodeAttentionAggregation(8, attn_dropout=0.5, attn_dropout_mode="parameter").train()
    drop = NodeAttentionAggregation(8, attn_dropout=0.5, attn_dropout_mode="coefficients").train()
    for _ in range(5):
        torch.testing.assert_close(keep(x_src, v, graph), v)
    assert any(not torch.allclose(drop(x_src, v, graph), v) for _ in range(5))
    with pytest.raises(ValueError, match="attn_dropout_mode"):
        NodeAttentionAggregation(8, attn_dropout_mode="edges")
    with pytest.raises(ValueError, match=r"x_src must have shape \[N, 8\]"):
        keep(torch.randn(4, 7), v, graph)


def test_semantic_attention_matches_formula():
    torch.manual_seed(3)
    module = SemanticAttention(6, hidden_channels=5).eval()
    zs = [torch.randn(11, 6) for _ in range(3)]
    out, beta = module(zs, return_attention=True)
    w = torch.stack([(module.att[0] * torch.tanh(module.lin(z)).mean(0)).sum() for z in zs])
    expected_beta = torch.softmax(w, 0)
    torch.testing.assert_close(beta, expected_beta)
    torch.testing.assert_close(out, sum(b * z for b, z in zip(expected_beta, zs)))
    with pytest.raises(ValueError, match="embeddings must be P tensors"):
        module([torch.randn(11, 4)])
