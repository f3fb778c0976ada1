"""GraphMatchingLoss: the composed pipeline against its parts, the GCN against a
dense formula, remainder handling, learning on free embeddings, bad input."""
import pytest
import torch

from graphcl.knn import batched_knn_adjacency
from graphcl.nn.matching import GraphMatchingLoss, edge_affinity, hamming_loss, ipfp, node_affinity


def embeddings(n_rows, dim=16, seed=0, noise=0.1):
    g = torch.Generator().manual_seed(seed)
    z_s = torch.randn(n_rows, dim, generator=g)
    return z_s, z_s + noise * torch.randn(n_rows, dim, generator=g)


def dense_gcn(loss, z, adjacency):
    """H = A_hat relu(A_hat Z W1 + b1) W2 + b2, A_hat = D^-1/2 (A + I) D^-1/2 per graph
    (row i gathers its kNN neighbours j, D = the row sums, as PyG gcn_norm)."""
    n = z.size(1)
    a = adjacency.float() + torch.eye(n)
    deg = a.sum(2)
    a_hat = a / torch.sqrt(deg.unsqueeze(2) * deg.unsqueeze(1))
    h = torch.relu(a_hat @ loss.convs[0].lin(z) + loss.convs[0].bias)
    return a_hat @ loss.convs[1].lin(h) + loss.convs[1].bias


def test_refine_is_the_dense_gcn():
    torch.manual_seed(0)
    loss = GraphMatchingLoss(16, 8, nodes_per_graph=6, k=2)
    z = torch.randn(3, 6, 16)
    adjacency = loss.knn_graphs(z)
    torch.testing.assert_close(loss.refine(z, adjacency), dense_gcn(loss, z, adjacency))


def test_refine_graphconv_is_the_dense_formula():
    # the authors' GraphConv(aggr='add'): H1 = relu(A Z Wn1 + b1 + Z Wr1), H = A H1 Wn2 + b2 + H1 Wr2
    torch.manual_seed(0)
    loss = GraphMatchingLoss(16, 8, nodes_per_graph=6, k=2, conv="graphconv")
    with torch.no_grad():
        for conv in loss.convs:
            conv.bias.normal_()
    z = torch.randn(3, 6, 16)
    adjacency = loss.knn_graphs(z)
    a = adjacency.float()
    h = torch.relu(a @ loss.convs[0].lin(z) + loss.convs[0].bias + loss.roots[0](z))
    expected = a @ loss.convs[1].lin(h) + loss.convs[1].bias + loss.roots[1](h)
    torch.testing.assert_close(loss.refine(z, adjacency), expected)
    with pytest.raises(ValueError, match="conv"):
        GraphMatchingLoss(16, conv="gat")


def test_fewer_layers():
    # one layer is A_hat Z W + b; none leaves the projections as they are
    torch.manual_seed(0)
    z = torch.randn(3, 6, 16)
    one = GraphMatchingLoss(16, 8, nodes_per_graph=6, k=2, num_layers=1)
    adjacency = one.knn_graphs(z)
    a = adjacency.float() + torch.eye(6)
    a_hat = a / torch.sqrt(a.sum(2, keepdim=True) * a.sum(2).unsqueeze(1))
    torch.testing.assert_close(one.refine(z, adjacency),
                               a_hat @ one.convs[0].lin(z) + one.convs[0].bias)
    none = GraphMatchingLoss(16, nodes_per_graph=6, k=2, num_layers=0)
    assert len(list(none.parameters())) == 0 and torch.equal(none.refine(z, adjacency), z)
    with pytest.raises(ValueError, match="num_layers"):
        GraphMatchingLoss(16, num_layers=3)


def test_forward_without_noise_is_its_parts_and_drops_the_remainder():
    torch.manual_seed(0)
    loss = GraphMatchingLoss(16, 8, nodes_per_graph=8, k=3, noise_scale=0.0)
    z_s, z_t = embeddings(8 * 3 + 5)   # 3 graphs and 5 rows left over, dropped as the reference
    out = loss(z_s, z_t)
    assert out.matching.shape == (3, 8, 8)
    z = torch.stack([z_s[:24], z_t[:24]]).view(6, 8, 16)
    adjacency = batched_knn_adjacency(z, 3)
    h = dense_gcn(loss, z, adjacency)
    unary = node_affinity(h[:3], h[3:], 0.8)
    quadratic = edge_affinity(h[:3], adjacency[:3], h[3:], adjacency[3:])
    torch.testing.assert_close(out.unary, unary.detach())
    assert torch.equal(out.adjacency_s, adjacency[:3])
    expected = ipfp(unary.detach(), quadratic.detach())
    assert torch.equal(out.matching, expected)
    assert float(out.loss.detach()) == pytest.approx(float(hamming_loss(expected)))


def test_problems_are_what_forward_solves():
    # problems() with the same generator state gives the perturbed affinities
    # whose IPFP matching forward returns.
    torch.manual_seed(0)
    loss = GraphMatchingLoss(16, 8, nodes_per_graph=8, k=3)
    z_s, z_t = embeddings(8 * 3)
    problems = loss.problems(z_s, z_t, torch.Generator().manual_seed(5))
    out = loss(z_s, z_t, torch.Generator().manual_seed(5))
    torch.testing.assert_close(problems.unary, out.unary)
    assert not torch.equal(problems.noisy_unary, problems.unary)
    expected = ipfp(problems.noisy_unary.detach(), problems.quadratic.detach(),
                    max_iter=loss.solver_iterations)
    assert torch.equal(out.matching, expected)


@pytest.mark.parametrize("order", ["second", "first"])
def test_loss_falls_when_training_free_embeddings(order):
    # The two GCN layers smooth each 8-node graph, so the loss falls slowly and
    # noisily (measured, first step / mean of the last 5 of 40 steps: second
    # order 10.25 -> 7.0, first order 13.0 -> 8.5); the test asks for a 20 % drop.
    torch.manual_seed(0)
    loss = GraphMatchingLoss(16, 16, nodes_per_graph=8, k=3, noise_scale=0.05, order=order)
    z_s, z_t = embeddings(64, noise=0.5, seed=1)
    z_s.requires_grad_()
    z_t.requires_grad_()
    opt = torch.optim.Adam([z_s, z_t, *loss.parameters()], lr=0.01)
    gen = torch.Generator().manual_seed(0)
    history = []
    for _ in range(40):
        out = loss(z_s, z_t, gen)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        history.append(float(out.loss.detach()))
    first, last = history[0], sum(history[-5:]) / 5
    assert last < 0.8 * first, (first, last, history)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="k must be smaller than nodes_per_graph"):
        GraphMatchingLoss(16, nodes_per_graph=5, k=5)
    with pytest.raises(ValueError, match="order"):
        GraphMatchingLoss(16, order="third")
    with pytest.raises(ValueError, match="noise_scale"):
        GraphMatchingLoss(16, noise_scale=-1.0)
    loss = GraphMatchingLoss(16, nodes_per_graph=8, k=3)
    z_s, z_t = embeddings(16)
    with pytest.raises(ValueError, match="holds no graph"):
        loss(z_s[:7], z_t[:7])
    with pytest.raises(ValueError, match="same shape"):
        loss(z_s, z_t[:9])
    with pytest.raises(TypeError, match="z_s must be a float"):
        loss(z_s.long(), z_t)
    with pytest.raises(ValueError, match="channels"):
        loss(z_s[:, :8], z_t[:, :8])
