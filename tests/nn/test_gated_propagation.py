"""GatedCosinePropagation against a dense per-node transcription of GPN's
propagation layer, the reference's section-6 checks (no self-message, nodes
without in-edges keep their state, the gate with h = h0), exactness of the
target-only steps, gradients, and bad input."""
import pytest
import torch
from torch.nn import functional as F

from graphcl import SparseGraph
from graphcl.nn import GatedCosinePropagation


def dense_propagation(module, x, adjacency):
    """GPN's ``propagate`` + ``cosine_softmax_gate`` with a dense adjacency
    (``adjacency[a, b] = 1``: a receives from b), heads averaged per step."""
    H, D = module.heads, module.attention_channels
    h = x
    for s in range(module.steps):
        outs = []
        for j in range(H):
            wq = module.query[s][:, j * D:(j + 1) * D]
            wk = module.key[s][:, j * D:(j + 1) * D]
            q, k = h @ wq, h @ wk
            qn = q / q.norm(dim=1, keepdim=True).clamp_min(module.eps)
            kn = k / k.norm(dim=1, keepdim=True).clamp_min(module.eps)
            raw = kn @ qn.T  # raw[a, b] = cos(W_q h_b, W_k h_a)
            att = torch.where(adjacency > 0, raw * module.temperature,
                              torch.full_like(raw, -9e15))
            m = torch.softmax(att, 1) @ h
            has_in = (adjacency.sum(1) > 0).unsqueeze(1)
            m = torch.where(has_in, m, h)
            g = torch.softmax(module.temperature * torch.stack(
                [F.cosine_similarity(h, x, dim=-1), F.cosine_similarity(m, x, dim=-1)], 1), 1)
            outs.append(g[:, 1:] * m + g[:, :1] * h)
        h = torch.stack(outs).mean(0)
    return h


def random_dag_graph(n=9, e=14, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, n, (e,), generator=g)
    dst = torch.randint(0, n, (e,), generator=g)
    keep = src != dst
    pairs = torch.unique(torch.stack([src[keep], dst[keep]]), dim=1)
    return SparseGraph.from_edge_index(pairs, num_nodes=n), pairs


@pytest.mark.parametrize("heads,steps", [(1, 1), (5, 2), (3, 3)])
def test_matches_dense_reference(backend, heads, steps):
    torch.manual_seed(0)
    module = GatedCosinePropagation(6, attention_channels=4, heads=heads, steps=steps,
                                    init_std=0.5)
    graph, pairs = random_dag_graph()
    x = torch.randn(9, 6)
    adjacency = torch.zeros(9, 9)
    adjacency[pairs[1], pairs[0]] = 1
    torch.testing.assert_close(module(x, graph), dense_propagation(module, x, adjacency))


def test_no_self_message_and_isolated_nodes_keep_state():
    """Node 0 receives only from node 1: its message is h_1 exactly (a single
    in-edge gets weight 1, itself none); node 2 has no in-edge and keeps x_2."""
    module = GatedCosinePropagation(4, attention_channels=3, heads=2, steps=1, init_std=0.3)
    x = torch.randn(3, 4)
    graph = SparseGraph.from_edge_index(torch.tensor([[1], [0]]), num_nodes=3)
    out, gates = module(x, graph, return_gates=True)
    g = torch.softmax(torch.stack([torch.tensor(1.0), F.cosine_similarity(x[1], x[0], dim=0)]), 0)
    torch.testing.assert_close(out[0], g[1] * x[1] + g[0] * x[0])
    torch.testing.assert_close(out[2], x[2])
    torch.testing.assert_close(out[1], x[1])  # node 1 has no in-edge either
    torch.testing.assert_close(gates[0, 2], torch.full((2,), 0.5))


def test_gate_with_h_equal_h0_is_softmax_of_one_and_message_cosine():
    torch.manual_seed(1)
    module = GatedCosinePropagation(5, attention_channels=4, heads=3, steps=1, temperature=2.0,
                                    init_std=0.4)
    graph, pairs = random_dag_graph(n=7, e=12, seed=3)
    x = torch.randn(7, 5)
    _, gates = module(x, graph, return_gates=True)
    adjacency = torch.zeros(7, 7)
    adjacency[pairs[1], pairs[0]] = 1
    D = 4
    for j in range(3):
        q = x @ module.query[0][:, j * D:(j + 1) * D]
        k = x @ module.key[0][:, j * D:(j + 1) * D]
        raw = F.normalize(k, dim=1) @ F.normalize(q, dim=1).T * 2.0
        m = torch.softmax(raw.masked_fill(adjacency == 0, -1e30), 1) @ x
        m = torch.where(adjacency.sum(1, keepdim=True) > 0, m, x)
        expected = torch.softmax(2.0 * torch.stack(
            [torch.ones(7), F.cosine_similarity(m, x, dim=1)], 1), 1)[:, 1]
        torch.testing.assert_close(gates[0, :, j], expected)


def test_targets_give_the_same_outputs():
    torch.manual_seed(2)
    module = GatedCosinePropagation(6, attention_channels=4, heads=5, steps=2, init_std=0.5)
    graph, _ = random_dag_graph(n=12, e=30, seed=5)
    x = torch.randn(12, 6)
    targets = torch.tensor([0, 3, 7])
    torch.testing.assert_close(module(x, graph, targets=targets), module(x, graph)[targets])


def test_gradcheck():
    torch.manual_seed(3)
    module = GatedCosinePropagation(3, attention_channels=2, heads=2, steps=2,
                                    init_std=0.5).double()
    graph, _ = random_dag_graph(n=5, e=8, seed=1)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: module(v, graph), (x,))
    module(x, graph).sum().backward()
    assert module.query.grad is not None and module.query.grad.abs().sum() > 0


def test_reset_parameters_and_bad_input():
    module = GatedCosinePropagation(4, attention_channels=2, heads=2, steps=2, init_std=0.001)
    assert module.query.shape == (2, 4, 4)
    with torch.no_grad():
        module.query.fill_(1.0)
    module.reset_parameters()
    assert module.query.std() < 0.01
    graph = SparseGraph.from_edge_index(torch.tensor([[0], [1]]), num_nodes=2)
    with pytest.raises(ValueError, match="x must be"):
        module(torch.randn(2, 3), graph)
    with pytest.raises(ValueError, match="square"):
        module(torch.randn(3, 4), graph)
    with pytest.raises(TypeError, match="SparseGraph"):
        module(torch.randn(2, 4), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="2 graphs"):
        module(torch.randn(2, 4), [graph])
    with pytest.raises(IndexError, match="targets"):
        module(torch.randn(2, 4), graph, targets=torch.tensor([5]))
    with pytest.raises(ValueError, match="temperature"):
        GatedCosinePropagation(4, temperature=0.0)
    with pytest.raises(TypeError, match="heads"):
        GatedCosinePropagation(4, heads=2.5)
