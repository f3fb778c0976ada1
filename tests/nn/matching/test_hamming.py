"""The Hamming loss (LVM-Med Eq. 5) against its definition."""
import pytest
import torch

from graphcl.nn.matching import hamming_loss


def test_hamming_counts_wrong_entries_mean_over_graphs():
    eye = torch.eye(4)
    swapped = eye[[1, 0, 2, 3]]        # two nodes swapped: 4 wrong entries
    batch = torch.stack([eye, swapped])
    assert float(hamming_loss(batch)) == pytest.approx((0 + 4) / 2)
    assert float(hamming_loss(batch, swapped)) == pytest.approx((4 + 0) / 2)
    relaxed = torch.full((1, 4, 4), 0.25, requires_grad=True)
    loss = hamming_loss(relaxed)
    loss.backward()
    torch.testing.assert_close(relaxed.grad[0], 1 - 2 * eye)   # linear in v


def test_hamming_bad_input():
    with pytest.raises(TypeError, match="matching"):
        hamming_loss(torch.eye(3))
    with pytest.raises(ValueError, match="target"):
        hamming_loss(torch.zeros(2, 3, 3), torch.eye(4))
