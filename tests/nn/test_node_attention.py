"""NodeAttentionAggregation against dense formulas written out here, and its
bad input (each raises a clear TypeError/ValueError naming the argument)."""
import math

import pytest
import torch
from torch.nn import functional as F

from graphcl import SparseGraph
from graphcl.nn import NodeAttentionAggregation


def random_graph(n_src=9, n_dst=7, e=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.stack([torch.randint(0, n_src, (e,), generator=g),
                      torch.randint(0, n_dst, (e,), generator=g)])
    return SparseGraph.from_edge_index(ei, num_src_nodes=n_src, num_dst_nodes=n_dst)


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


@pytest.fixture
def bipartite():
    """3 source nodes -> 2 target nodes."""
    return SparseGraph.from_edge_index(torch.tensor([[0, 1, 2], [0, 0, 1]]), num_src_nodes=3,
                                       num_dst_nodes=2)


def dense_attention(module, x_src, x_dst, graph):
    """One head, concat: softmax over each target's neighbour list."""
    out = torch.zeros(graph.num_rows, module.channels, dtype=x_src.dtype)
    a = torch.cat([module.att_dst[0], module.att_src[0]]).to(x_src.dtype)
    for i in range(graph.num_rows):
        nbrs = graph.col[graph.row == i].long()
        if nbrs.numel():
            pair = torch.cat([x_dst[i].expand(nbrs.numel(), -1), x_src[nbrs]], 1)
            alpha = torch.softmax(F.leaky_relu(pair @ a, module.negative_slope), 0)
            out[i] = (alpha[:, None] * x_src[nbrs]).sum(0)
    return out


def test_node_attention_row_counts_must_match_the_graph(backend, bipartite):
    module = NodeAttentionAggregation(4).eval()
    x_src, x_dst = torch.randn(3, 4), torch.randn(2, 4)
    torch.testing.assert_close(module(x_src, x_dst, bipartite),
                               dense_attention(module, x_src, x_dst, bipartite))
    for rows in (1, 5):  # too few gave "index out of range in self"; too many was accepted
        with pytest.raises(ValueError, match=rf"x_dst has {rows} rows but the graph has 2 "
                                             rf"target nodes \(num_rows\)"):
            module(x_src, torch.randn(rows, 4), bipartite)
    for rows in (2, 6):
        with pytest.raises(ValueError, match=rf"x_src has {rows} rows but the graph has 3 "
                                             rf"source nodes \(num_cols\)"):
            module(torch.randn(rows, 4), x_dst, bipartite)


def test_node_attention_bad_inputs_name_the_argument(bipartite):
    module = NodeAttentionAggregation(4)
    x_src, x_dst = torch.randn(3, 4), torch.randn(2, 4)
    with pytest.raises(TypeError, match="x_src and x_dst must have the same dtype"):
        module(x_src, x_dst.double(), bipartite)
    with pytest.raises(TypeError, match="x_dst must be floating point, got torch.int64"):
        module(x_src, torch.ones(2, 4, dtype=torch.long), bipartite)
    with pytest.raises(TypeError, match="x_src must be a torch.Tensor, got list"):
        module(x_src.tolist(), x_dst, bipartite)
    with pytest.raises(TypeError, match="graph must be a graphcl.SparseGraph.*got str"):
        module(x_src, x_dst, "edges")
    nan = x_dst.clone()
    nan[1, 2] = float("nan")  # was reported as "edge_weight contains NaN"
    with pytest.raises(ValueError, match="x_dst contains NaN or Inf"):
        module(x_src, nan, bipartite)
    with pytest.raises(ValueError, match="x_src is on meta but the graph is on cpu"):
        module(torch.randn(3, 4, device="meta"), torch.randn(2, 4, device="meta"), bipartite)
    with torch.no_grad():  # a^T h = 4 * 3e38 for every node: beyond float32
        module.att_src.fill_(1.0)
        module.att_dst.fill_(1.0)
    with pytest.raises(ValueError, match="attention scores .* overflow torch.float32"):
        module(torch.full((3, 4), 3e38), torch.full((2, 4), 3e38), bipartite)


def test_node_attention_constructor_arguments():
    for kwargs, error, message in (
            (dict(channels=0), ValueError, "channels must be >= 1, got 0"),
            (dict(channels=2.5), TypeError, "channels must be an int >= 1, got 2.5"),
            (dict(channels=4, heads=0), ValueError, "heads must be >= 1, got 0"),
            (dict(channels=4, negative_slope="0.2"), TypeError, "negative_slope must be a finite"),
            (dict(channels=4, negative_slope=math.nan), TypeError, "negative_slope must be"),
            (dict(channels=4, attn_dropout="0.1"), TypeError, "attn_dropout must be a number")):
        with pytest.raises(error, match=message):
            NodeAttentionAggregation(**kwargs)
