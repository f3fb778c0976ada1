"""node_affinity, edge_affinity and padded_edges against dense loop references."""
import pytest
import torch

from graphcl.nn.matching import edge_affinity, node_affinity, padded_edges
from matching_support import dense_edge_affinity_loop, random_problem


def test_node_affinity_is_alpha_cosine_plus_local():
    z_s, _, z_t, _ = random_problem(2, 5)
    local = torch.rand(2, 5, 5, dtype=torch.float64)
    out = node_affinity(z_s, z_t, 0.8, local)
    for b in range(2):
        for i in range(5):
            for a in range(5):
                cos = torch.nn.functional.cosine_similarity(z_s[b, i], z_t[b, a], dim=0)
                assert out[b, i, a] == pytest.approx(0.8 * float(cos) + 0.2 * float(local[b, i, a]))


def test_edge_affinity_matches_the_loop_reference():
    z_s, adj_s, z_t, adj_t = random_problem(2, 4, seed=1)
    q = edge_affinity(z_s, adj_s, z_t, adj_t)
    for b in range(2):
        torch.testing.assert_close(q[b], dense_edge_affinity_loop(z_s[b], adj_s[b], z_t[b], adj_t[b]))


def test_edge_affinity_gradient_and_perturbation():
    z_s, adj_s, z_t, adj_t = random_problem(2, 4, seed=2)
    z_s.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: edge_affinity(z, adj_s, z_t, adj_t), (z_s,))
    shifted = edge_affinity(z_s, adj_s, z_t, adj_t, perturb=lambda c: c + 10.0).detach()
    plain = edge_affinity(z_s, adj_s, z_t, adj_t).detach()
    support = (adj_s[:, :, None, :, None] & adj_t[:, None, :, None, :]).reshape(plain.shape)
    torch.testing.assert_close(shifted - plain, 10.0 * support.double())


def test_padded_edges_lists_every_edge_once():
    _, adj, _, _ = random_problem(4, 6, seed=3)
    adj[0] = False  # a graph without edges
    src, dst, valid = padded_edges(adj)
    assert src.shape[1] == int(adj.sum((1, 2)).max())
    for b in range(4):
        listed = {(int(s), int(d)) for s, d, ok in zip(src[b], dst[b], valid[b]) if ok}
        assert listed == {tuple(e) for e in adj[b].nonzero().tolist()}
        assert int(valid[b].sum()) == len(listed)


def test_bad_inputs_name_the_argument():
    z = torch.randn(2, 4, 3)
    with pytest.raises(ValueError, match="same shape"):
        node_affinity(z, torch.randn(2, 5, 3))
    with pytest.raises(TypeError, match="z_s"):
        node_affinity(torch.zeros(2, 4, 3, dtype=torch.long), z)
    with pytest.raises(ValueError, match="local"):
        node_affinity(z, z, local=torch.zeros(2, 3, 3))
    adj = torch.zeros(2, 4, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="adjacency_t"):
        edge_affinity(z, adj, z, adj[:, :3, :3])
    with pytest.raises(TypeError, match="adjacency"):
        padded_edges(adj.float())


def test_an_edge_whose_endpoints_coincide_has_no_direction():
    # Two nodes with the same closed kNN neighbourhood get the same GCN mean;
    # their edge must score 0 and pass no gradient (normalising it gave
    # gradients of 1e5 and more that drowned the rest, see benchmarks/lvmmed).
    z_s, adj_s, z_t, adj_t = random_problem(1, 4, seed=4)
    adj_s[:] = False
    adj_s[0, 0, 1] = adj_s[0, 2, 3] = True
    adj_t[:] = False
    adj_t[0, 0, 1] = True
    z_s = z_s.clone()
    z_s[0, 1] = z_s[0, 0] * (1 + 1e-9)   # edge 0 -> 1 is rounding noise long
    z_s.requires_grad_()
    q = edge_affinity(z_s, adj_s, z_t, adj_t)
    assert float(q[0, 0 * 4 + 0, 1 * 4 + 1]) == 0.0
    expected = dense_edge_affinity_loop(z_s[0].detach(), adj_s[0], z_t[0], adj_t[0])
    assert float(expected[2 * 4 + 0, 3 * 4 + 1]) != 0.0   # the real edge 2 -> 3 still scores
    torch.testing.assert_close(q[0, 2 * 4 + 0, 3 * 4 + 1], expected[2 * 4 + 0, 3 * 4 + 1])
    q.sum().backward()
    assert torch.isfinite(z_s.grad).all()
    assert float(z_s.grad[0, :2].abs().max()) == 0.0          # the degenerate edge's endpoints
    assert float(z_s.grad[0, 2:].abs().max()) > 0.0           # the real edge's do learn
