"""NT-Xent (on the blockwise InfoNCE) and VICReg against plain-PyTorch references."""
import pytest
import torch
import torch.nn.functional as F

from graphcl.nn.contrast import NTXentLoss, VICRegLoss, nt_xent, vicreg_loss


def reference_nt_xent(z1, z2, tau):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    scores = z @ z.T / tau
    scores = scores.masked_fill(torch.eye(len(z), dtype=torch.bool), float("-inf"))
    n = len(z1)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(scores, target)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_nt_xent_matches_cross_entropy_reference(tau):
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(33, 8, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(33, 8, generator=g, dtype=torch.float64, requires_grad=True)
    ours, ref = nt_xent(z1, z2, tau), reference_nt_xent(z1, z2, tau)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(torch.autograd.grad(ours, (z1, z2)), torch.autograd.grad(ref, (z1, z2)))
    assert float(NTXentLoss(tau)(z1.detach().float(), z2.detach().float())) == \
        pytest.approx(float(ref), rel=1e-5)


def reference_vicreg(z1, z2):
    inv = ((z1 - z2) ** 2).mean()
    total = 25 * inv
    for z in (z1, z2):
        z = z - z.mean(0)
        std = torch.sqrt(z.var(0) + 1e-4)
        total = total + 25 * torch.mean(torch.relu(1 - std))
        cov = z.T @ z / (len(z) - 1)
        d = z.size(1)
        off = sum(cov[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
        total = total + off / d
    return total


def test_vicreg_matches_the_loop_reference():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(20, 6, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = 0.3 * torch.randn(20, 6, generator=g, dtype=torch.float64)
    torch.testing.assert_close(vicreg_loss(z1, z2), reference_vicreg(z1, z2))
    assert torch.autograd.gradcheck(lambda a: VICRegLoss()(a, z2), (z1,))


def test_bad_shapes():
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="same shape"):
        vicreg_loss(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="at least 2 rows"):
        vicreg_loss(torch.randn(1, 3), torch.randn(1, 3))
