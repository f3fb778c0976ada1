"""SchemaView (graphcl.nn.hetero) against its formula on a fixed sample."""
import pytest
import torch
from torch.nn import functional as F

from graphcl import SparseGraph
from graphcl.nn import SchemaView
from graphcl.sampling import sample_neighbors


def neighbour_graph(n, n_src, per_row, seed):
    """Every target has ``per_row`` distinct neighbours."""
    g = torch.Generator().manual_seed(seed)
    src = torch.cat([torch.randperm(n_src, generator=g)[:per_row] for _ in range(n)])
    dst = torch.arange(n).repeat_interleave(per_row)
    return SparseGraph.from_edge_index(torch.stack([src, dst]), num_src_nodes=n_src,
                                       num_dst_nodes=n)


def test_matches_formula_on_the_same_sample():
    torch.manual_seed(0)
    n, sizes, rate = 8, [12, 5], [3, 1]
    view = SchemaView(4, rate).double()
    graphs = [neighbour_graph(n, sizes[0], 5, 1), neighbour_graph(n, sizes[1], 2, 2)]
    h_target = torch.randn(n, 4, dtype=torch.float64)
    h_nbrs = [torch.randn(s, 4, dtype=torch.float64) for s in sizes]
    got = view(h_target, h_nbrs, graphs, torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(7)  # the same draws
    per_type = []
    for att, k, h, graph in zip(view.node_attention, rate, h_nbrs, graphs):
        sampled = sample_neighbors(graph, k, gen)
        # k distinct neighbours per row (every row has more): a dense masked softmax
        mask = sampled.to_dense(torch.float64)
        assert sampled.num_edges == n * k and bool((mask.sum(1) == k).all())
        score = (h_target @ att.att_dst[0])[:, None] + (h @ att.att_src[0])[None, :]
        score = F.leaky_relu(score, 0.01).masked_fill(mask == 0, float("-inf"))
        per_type.append(F.elu(torch.softmax(score, 1) @ h))
    stacked = torch.stack(per_type)
    att = view.type_attention
    w = (torch.tanh(att.lin(stacked)).mean(1) * att.att).sum(-1)
    torch.testing.assert_close(got, (torch.softmax(w, 0)[:, None, None] * stacked).sum(0))
    assert got.shape == (n, 4)


def test_reset_parameters_changes_the_attention_vectors():
    torch.manual_seed(0)
    view = SchemaView(4, [2, 2])
    with torch.no_grad():
        for p in view.parameters():
            p.fill_(3.0)
    view.reset_parameters()
    # every parameter is re-drawn (attention vectors, W) or zeroed (biases)
    assert all(not bool((p == 3.0).any()) for p in view.parameters())


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="sample_rate needs one entry"):
        SchemaView(4, [])
    with pytest.raises(ValueError, match=r"sample_rate\[1\] must be >= 1"):
        SchemaView(4, [2, 0])
    view = SchemaView(4, [2, 2])
    with pytest.raises(ValueError, match="h_neighbors and neighbors need one entry per"):
        view(torch.randn(8, 4), [torch.randn(5, 4)], [neighbour_graph(8, 5, 2, 0)])
