"""Synthetic hard negatives (graphcl.nn.contrast.hard_negatives) against the
formulas written out densely."""
import pytest
import torch
from torch.nn import functional as F

from graphcl import SparseGraph
from graphcl.nn import HardNegativeInfoNCE, mixed_hard_negatives, multi_positive_infonce
from graphcl.nn.contrast import positive_logsumexp


def dense_scores(a, b, tau):
    return (F.normalize(a, dim=1) @ F.normalize(b, dim=1).t()) / tau


def test_hard_negative_loss_matches_dense_formula():
    """With hard negatives each direction's loss is
    logaddexp(LSE_all_i, LSE_mix_i) - LSE_pos_i, written out densely here."""
    g = torch.Generator().manual_seed(3)
    a = torch.randn(12, 5, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(12, 5, generator=g, dtype=torch.float64, requires_grad=True)
    pos = ((torch.rand(12, 12, generator=g) < 0.2) | torch.eye(12, dtype=torch.bool)).double()
    loss = HardNegativeInfoNCE(0.7, 3, mix=0.5, lam=0.3)
    got = loss(a, b, pos.to_sparse(), torch.Generator().manual_seed(9))
    gen = torch.Generator().manual_seed(9)  # the same draws, in the same order
    directions = []
    for x, y in ((a, b), (b, a)):
        sim = dense_scores(x, y, 0.7)
        lse_mix = mixed_hard_negatives(x, y, pos.to_sparse(), 0.7, 3, 0.5, gen)
        directions.append((torch.logaddexp(torch.logsumexp(sim, 1), lse_mix)
                           - torch.logsumexp(sim + pos.log(), 1)).mean())
    expected = 0.3 * directions[0] + 0.7 * directions[1]
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(torch.autograd.grad(got, (a, b)),
                               torch.autograd.grad(expected, (a, b)))
    assert "k=3" in repr(loss)


def test_mixed_negatives_are_never_positives_and_follow_the_formula():
    """The mixed vectors come from the k hardest non-positives; with mix = 1
    (beta = 1) they are those negatives themselves."""
    g = torch.Generator().manual_seed(1)
    a = torch.randn(9, 4, generator=g, dtype=torch.float64)
    b = torch.randn(11, 4, generator=g, dtype=torch.float64)
    pos = (torch.rand(9, 11, generator=g) < 0.3) | (torch.arange(11) == 0)
    sim = dense_scores(a, b, 0.4).masked_fill(pos, float("-inf"))
    hardest = sim.topk(3, dim=1).values
    got = mixed_hard_negatives(a, b, pos, 0.4, 3, 1.0, torch.Generator().manual_seed(0))
    # beta = 1: the mixed vectors are the 3 hardest negatives themselves.
    torch.testing.assert_close(got, torch.logsumexp(hardest, 1))
    assert torch.isfinite(hardest).all()  # 3 non-positives exist in every row


@pytest.mark.parametrize("block_size", [5, 64])
def test_hard_negative_helpers_agree_on_dense_and_sparse_masks(block_size):
    """The dense-mask paths (used for DBLP without converting to sparse) give the
    same positive log-sum-exp, gradients and hardest negatives as the sparse ones
    and a SparseGraph, also when the rows are split into blocks; stored zeros are
    not positives."""
    g = torch.Generator().manual_seed(4)
    a = torch.randn(13, 6, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(13, 6, generator=g, dtype=torch.float64, requires_grad=True)
    weights = (torch.rand(13, 13, generator=g, dtype=torch.float64) + 0.5) * (
        torch.rand(13, 13, generator=g) < 0.3)
    dense = weights + torch.eye(13, dtype=torch.float64)
    indices = dense.nonzero().t()
    extra_zero = torch.tensor([[0], [int((dense[0] == 0).nonzero()[0])]])  # stored 0 entry
    sparse = torch.sparse_coo_tensor(torch.cat([indices, extra_zero], 1),
                                     torch.cat([dense[indices[0], indices[1]],
                                                torch.zeros(1, dtype=torch.float64)]), (13, 13),
                                     check_invariants=True)
    graph = SparseGraph.from_edge_index(indices.flip(0), dense[indices[0], indices[1]],
                                        num_nodes=13)
    masks = (sparse, dense, graph)
    results = []
    for mask in masks:
        lse = positive_logsumexp(a, b, mask, 0.6, block_size)
        results.append((lse, torch.autograd.grad(lse.sum(), (a, b))))
    expected = torch.logsumexp(dense_scores(a, b, 0.6) + dense.log(), 1)
    for lse, grads in results:
        torch.testing.assert_close(lse, expected)
        torch.testing.assert_close(grads, results[0][1])
    mixed = [mixed_hard_negatives(a, b, mask, 0.6, 4, 0.5, torch.Generator().manual_seed(2),
                                  block_size) for mask in masks]
    torch.testing.assert_close(mixed[0], mixed[1])
    torch.testing.assert_close(mixed[0], mixed[2])


def test_hard_negative_loss_equals_cross_view_loss_plus_softplus():
    """Adding the mixed negatives' LSE to the denominator is
    loss_i + softplus(LSE_mix - LSE_all), with LSE_all from the positives."""
    g = torch.Generator().manual_seed(6)
    a = torch.randn(10, 4, generator=g, dtype=torch.float64)
    b = torch.randn(10, 4, generator=g, dtype=torch.float64)
    pos = torch.eye(10).to_sparse()
    per_row = multi_positive_infonce(a, b, pos, 0.5, reduction="none")
    lse_all = torch.logsumexp(dense_scores(a, b, 0.5), 1)
    torch.testing.assert_close(per_row + positive_logsumexp(a, b, pos, 0.5), lse_all)


def test_bad_arguments_name_the_argument():
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    pos = torch.eye(4)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        mixed_hard_negatives(a, b, pos, 0.5, 0, 0.5)
    with pytest.raises(ValueError, match=r"mix must be a number in \[0, 1\]"):
        mixed_hard_negatives(a, b, pos, 0.5, 2, 1.5)
    with pytest.raises(ValueError, match="block_size must be an integer >= 1"):
        positive_logsumexp(a, b, pos, 0.5, block_size=0)
    with pytest.raises(ValueError, match="tau must be a finite number > 0"):
        positive_logsumexp(a, b, pos, -1.0)
    with pytest.raises(ValueError, match="pos_mask must have shape"):
        mixed_hard_negatives(a, b, torch.eye(5), 0.5, 2, 0.5)
    with pytest.raises(ValueError, match="pos_mask has 1 row"):
        positive_logsumexp(a, b, torch.diag(torch.tensor([1.0, 1, 1, 0])), 0.5)
    with pytest.raises(ValueError, match="lam must be a number in"):
        HardNegativeInfoNCE(0.5, 2, lam=2.0)
