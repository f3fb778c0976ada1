"""BPR loss against its formula, its gradient, and bad input."""
import pytest
import torch

from graphcl.nn import BPRLoss, bpr_loss


def test_bpr_matches_the_formula_and_is_stable():
    torch.manual_seed(0)
    pos, neg = torch.randn(7, dtype=torch.float64), torch.randn(7, 3, dtype=torch.float64)
    expected = -torch.log(torch.sigmoid(pos.unsqueeze(1) - neg)).mean()
    torch.testing.assert_close(bpr_loss(pos, neg), expected)
    torch.testing.assert_close(BPRLoss("sum")(pos, neg[:, 0]),
                               -torch.log(torch.sigmoid(pos - neg[:, 0])).sum())
    assert BPRLoss("none")(pos, neg).shape == (7, 3)
    # a gap of -1000 would give log(0) = -inf in the naive form
    assert torch.isfinite(bpr_loss(torch.tensor([-500.0]), torch.tensor([500.0])))
    assert bpr_loss(torch.tensor([-500.0]), torch.tensor([500.0])).item() == pytest.approx(1000.0)


def test_bpr_gradcheck():
    pos = torch.randn(5, dtype=torch.float64, requires_grad=True)
    neg = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(bpr_loss, (pos, neg))


def test_bpr_bad_input():
    with pytest.raises(ValueError, match="neg_scores must be"):
        bpr_loss(torch.randn(3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="pos_scores must be 1-D"):
        bpr_loss(torch.randn(3, 1), torch.randn(3))
    with pytest.raises(TypeError, match="floating point"):
        bpr_loss(torch.ones(3, dtype=torch.long), torch.ones(3))
    with pytest.raises(ValueError, match="reduction"):
        BPRLoss("max")
