"""Bad or unusual input to graphcl.nn's public blocks, as a careless user would
pass it: each raises a clear TypeError/ValueError naming the argument (never a
torch-internal message or a silently wrong answer), and degenerate but valid
input (empty clusters, huge embeddings) gives the plain-PyTorch answer."""
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from graphcl import SparseGraph
from graphcl.nn import (MultiPositiveInfoNCE, NeighbourContrast, NodeAttentionAggregation,
                        SemanticAttention, StudentTAssignment, multi_positive_infonce,
                        neighbour_contrast, target_distribution)

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state")]


# --------------------------------------------------------------------------- #
# NodeAttentionAggregation
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# SemanticAttention
# --------------------------------------------------------------------------- #
def test_semantic_attention_empty_and_mismatched_views():
    module = SemanticAttention(4)
    with pytest.raises(ValueError, match="embeddings is empty"):  # was "stack expects ..."
        module([])
    with pytest.raises(ValueError, match=r"at least one embedding of at least one node.*"
                                         r"\(0, 5, 4\)"):
        module(torch.randn(0, 5, 4))  # used to return zeros
    with pytest.raises(ValueError, match=r"at least one embedding of at least one node.*"
                                         r"\(2, 0, 4\)"):
        module([torch.randn(0, 4), torch.randn(0, 4)], return_attention=True)  # NaN beta
    with pytest.raises(ValueError, match=r"embeddings\[1\] has shape \[6, 4\] on cpu but "
                                         r"embeddings\[0\] has shape \[5, 4\]"):
        module([torch.randn(5, 4), torch.randn(6, 4)])
    with pytest.raises(TypeError, match=r"embeddings\[1\] has dtype torch.float64"):
        module([torch.randn(5, 4), torch.randn(5, 4).double()])
    with pytest.raises(TypeError, match="embeddings have dtype torch.float64 but the module's "
                                        "parameters are torch.float32"):
        module([torch.randn(5, 4).double()])
    with pytest.raises(TypeError, match="embeddings have dtype torch.int64"):
        module([torch.ones(5, 4, dtype=torch.long)])
    with pytest.raises(TypeError, match=r"embeddings\[0\] must be a torch.Tensor, got int"):
        module([1, 2])
    with pytest.raises(TypeError, match="embeddings must be a sequence of tensors"):
        module(None)
    with pytest.raises(ValueError, match="embeddings contain NaN or Inf"):
        module([torch.randn(5, 4), torch.full((5, 4), math.nan)])
    with pytest.raises(ValueError, match="embeddings are on meta but the module's parameters"):
        module([torch.randn(5, 4, device="meta")])


def test_semantic_attention_accepts_any_iterable_and_checks_sizes():
    torch.manual_seed(0)
    module = SemanticAttention(4).eval()
    views = [torch.randn(5, 4) for _ in range(3)]
    torch.testing.assert_close(module(v for v in views), module(views))
    torch.testing.assert_close(module(torch.stack(views)), module(views))
    with pytest.raises(ValueError, match="hidden_channels must be >= 1, got 0"):
        SemanticAttention(4, hidden_channels=0)  # was silently replaced by channels
    with pytest.raises(ValueError, match="channels must be >= 1, got 0"):
        SemanticAttention(0)  # was a ZeroDivisionError
    with pytest.raises(ValueError, match="hidden_channels must be >= 1, got -3"):
        SemanticAttention(4, hidden_channels=-3)
    with pytest.raises(TypeError, match="attn_dropout must be a number"):
        SemanticAttention(4, attn_dropout=None)


# --------------------------------------------------------------------------- #
# StudentTAssignment and target_distribution
# --------------------------------------------------------------------------- #
def log_domain_assignment(z, centers, v, scale):
    """q in float64 from distances of z / scale and centers / scale:
    softmax_j of -(v+1)/2 log(1 + scale^2 d'^2 / v), written with logs."""
    d2 = ((z.double()[:, None] / scale - centers.double()[None] / scale) ** 2).sum(-1)
    log_ratio = d2.log() + 2 * math.log(scale) - math.log(v)
    return torch.softmax(-(v + 1) / 2 * F.softplus(log_ratio), 1)


@pytest.mark.parametrize("dtype,scale,v", [(torch.float32, 1e20, 1.0), (torch.float32, 1e5, 20.0),
                                           (torch.float64, 1e200, 3.0)])
def test_student_t_with_far_away_embeddings(dtype, scale, v):
    """Distances whose kernels all round to 0 (or whose squares overflow)
    gave NaN rows; q must still be the t-kernel's assignment."""
    g = torch.Generator().manual_seed(1)
    assign = StudentTAssignment(3, 4, v=v).to(dtype)
    centers = torch.randn(3, 4, generator=g, dtype=dtype) * scale
    assign.set_centers(centers)
    z = (torch.randn(6, 4, generator=g, dtype=dtype) * scale).requires_grad_()
    q = assign(z)
    torch.testing.assert_close(q.double(), log_domain_assignment(z.detach(), centers, v, scale),
                               rtol=1e-5, atol=1e-6)
    grad = torch.autograd.grad((q * torch.arange(3.0, dtype=dtype)).sum(), z)[0]
    assert torch.isfinite(grad).all()


def test_student_t_bad_inputs_name_the_argument():
    assign = StudentTAssignment(3, 4)
    with pytest.raises(TypeError, match="z has dtype torch.float64 but the cluster centres are "
                                        "torch.float32"):
        assign(torch.randn(5, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match="z must be floating point"):
        assign(torch.ones(5, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        assign([[0.0] * 4])
    with pytest.raises(ValueError, match="z contains NaN or Inf"):
        assign(torch.full((5, 4), math.nan))
    with pytest.raises(ValueError, match="z is on meta"):
        assign(torch.randn(5, 4, device="meta"))
    with pytest.raises(ValueError, match="centers contains NaN or Inf"):
        assign.set_centers(torch.full((3, 4), math.nan))
    with pytest.raises(TypeError, match="centers must be an array of numbers"):
        assign.set_centers("centres")
    with pytest.raises(TypeError, match="num_clusters must be an int >= 1, got 2.5"):
        StudentTAssignment(2.5, 4)
    with pytest.raises(ValueError, match="v must be a finite number > 0, got inf"):
        StudentTAssignment(2, 4, v=math.inf)  # every kernel would be 1: a uniform q
    with pytest.raises(TypeError, match="v must be a number > 0"):
        StudentTAssignment(2, 4, v="1")


def target_distribution_float64(q):
    """p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij, written
    out entry by entry in float64 with 0/0 := 0 for an empty cluster."""
    q = q.double()
    n, k = q.shape
    freq = [float(q[:, j].sum()) for j in range(k)]
    weight = torch.tensor([[float(q[i, j]) ** 2 / freq[j] if freq[j] > 0 else 0.0
                            for j in range(k)] for i in range(n)], dtype=torch.float64)
    return weight / weight.sum(1, keepdim=True)


def test_target_distribution_matches_the_formula():
    g = torch.Generator().manual_seed(2)
    q = torch.softmax(torch.randn(12, 4, generator=g), 1)
    torch.testing.assert_close(target_distribution(q).double(), target_distribution_float64(q),
                               rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(target_distribution(q.double()), target_distribution_float64(q))


def test_target_distribution_with_an_empty_cluster():
    """A column of q summing to 0 made every row NaN; it must get 0 mass and
    leave the other clusters' targets as without it."""
    g = torch.Generator().manual_seed(3)
    q = torch.softmax(torch.randn(10, 4, generator=g), 1)
    q[:, 2] = 0.0
    q = q / q.sum(1, keepdim=True)
    p = target_distribution(q)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p.double(), target_distribution_float64(q), rtol=1e-6, atol=1e-7)
    assert bool((p[:, 2] == 0).all())
    kept = [0, 1, 3]
    torch.testing.assert_close(p[:, kept], target_distribution(q[:, kept]))
    torch.testing.assert_close(p.sum(1), torch.ones(10))


def test_target_distribution_bad_inputs():
    with pytest.raises(ValueError, match=r"q must be 2-D, got shape \[2\]"):
        target_distribution(torch.tensor([0.5, 0.5]))
    with pytest.raises(TypeError, match="q must be floating point"):
        target_distribution(torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="q must be a torch.Tensor"):
        target_distribution([[0.5, 0.5]])
    with pytest.raises(ValueError, match="q contains NaN or Inf"):
        target_distribution(torch.tensor([[math.nan, 1.0], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="q has negative entries"):
        target_distribution(torch.tensor([[-0.5, 1.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"q has a row without any assignment mass \(first: "
                                         r"row 1\)"):
        target_distribution(torch.tensor([[0.5, 0.5], [0.0, 0.0]]))
    assert target_distribution(torch.zeros(0, 3)).shape == (0, 3)


# --------------------------------------------------------------------------- #
# neighbour_contrast and the InfoNCE module
# --------------------------------------------------------------------------- #
def test_neighbour_contrast_arguments_are_named_as_the_caller_wrote_them():
    z, target = torch.randn(4, 3), torch.eye(4)
    with pytest.raises(ValueError, match="tau must be a finite number > 0 .*multiplies.*got inf"):
        neighbour_contrast(z, target, math.inf)  # was "tau ... got 0.0" (its inverse)
    with pytest.raises(ValueError, match=r"tau = 1e\+300 is too large for torch.float32"):
        neighbour_contrast(z, target, 1e300)  # was about "tau = 1e-300"
    with pytest.raises(TypeError, match="tau must be a number > 0"):
        neighbour_contrast(z, target, "1.0")
    for eps in (-1.0, math.nan):  # both returned NaN
        with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
            neighbour_contrast(z, target, 1.0, eps=eps)
    with pytest.raises(ValueError, match="z contains NaN or Inf"):  # was "anchor ..."
        neighbour_contrast(torch.full((4, 3), math.nan), target, 1.0)
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        neighbour_contrast(z.tolist(), target, 1.0)
    with pytest.raises(ValueError, match=r"^target must have shape"):
        neighbour_contrast(z, torch.eye(5), 1.0)
    with pytest.raises(ValueError, match=r"^target is on meta but z is on cpu"):
        neighbour_contrast(z, torch.eye(4, device="meta"), 1.0)
    with pytest.raises(ValueError, match="tau must be a finite number > 0"):
        NeighbourContrast(0.0)  # was accepted until the first forward
    with pytest.raises(ValueError, match="eps must be"):
        NeighbourContrast(1.0, eps=-1e-8)
    # numpy scalars are numbers too
    torch.testing.assert_close(neighbour_contrast(z, target, np.float32(2.0)),
                               neighbour_contrast(z, target, 2.0))


def test_infonce_normalize_must_be_a_bool():
    a, s, mask = torch.randn(4, 3), torch.randn(5, 3), torch.ones(4, 5)
    with pytest.raises(TypeError, match="normalize must be True or False, got 'no'"):
        multi_positive_infonce(a, s, mask, 0.5, normalize="no")  # "no" counted as True
    with pytest.raises(TypeError, match="normalize must be True or False"):
        MultiPositiveInfoNCE(0.5, normalize="False")
