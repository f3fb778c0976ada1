r"""VICReg's variance-invariance-covariance loss (Bardes, Ponce, LeCun, ICLR 2022)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.nn.contrast._checks import check_view_pair


def vicreg_loss(z1: Tensor, z2: Tensor, sim_weight: float = 25.0, var_weight: float = 25.0,
                cov_weight: float = 1.0, eps: float = 1e-4) -> Tensor:
    r"""VICReg (`arXiv 2105.04906 <https://arxiv.org/abs/2105.04906>`_) of two views:

    .. math::
        \lambda \frac{1}{N}\sum_i \lVert z_i - z'_i\rVert^2
        + \mu \sum_{Z \in \{z, z'\}} \frac{1}{d}\sum_j \max(0, 1 - \sqrt{\mathrm{Var}(Z_{:j}) + \epsilon})
        + \nu \sum_{Z} \frac{1}{d} \sum_{j \ne k} C(Z)_{jk}^2

    with :math:`C(Z)` the covariance (``N - 1`` denominator), as the authors'
    code computes it (``F.mse_loss`` for the first term).

    Args:
        z1, z2 (Tensor): ``[N, d]`` each, ``N >= 2``.
        sim_weight, var_weight, cov_weight (float, optional): :math:`\lambda, \mu, \nu`
            (defaults ``25, 25, 1``, the paper's).
        eps (float, optional): :math:`\epsilon` (default ``1e-4``).

    Returns:
        scalar.
    """
    check_view_pair(z1, z2)
    n, d = z1.shape
    if n < 2:
        raise ValueError(f"VICReg needs at least 2 rows for a variance, got {n}")
    invariance = F.mse_loss(z1, z2)
    variance = z1.new_zeros(())
    covariance = z1.new_zeros(())
    for z in (z1, z2):
        z = z - z.mean(0)
        std = torch.sqrt(z.var(0) + eps)
        variance = variance + torch.relu(1.0 - std).mean()
        cov = (z.T @ z) / (n - 1)
        off = cov - torch.diag(torch.diagonal(cov))
        covariance = covariance + off.pow(2).sum() / d
    return sim_weight * invariance + var_weight * variance + cov_weight * covariance


class VICRegLoss(nn.Module):
    r"""Module form of :func:`vicreg_loss` (same arguments).

    Shapes:
        - z1, z2: ``[N, d]``
        - output: scalar
    """

    def __init__(self, sim_weight: float = 25.0, var_weight: float = 25.0, cov_weight: float = 1.0,
                 eps: float = 1e-4):
        super().__init__()
        self.sim_weight, self.var_weight = sim_weight, var_weight
        self.cov_weight, self.eps = cov_weight, eps

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return vicreg_loss(z1, z2, self.sim_weight, self.var_weight, self.cov_weight, self.eps)


__all__ = ["vicreg_loss", "VICRegLoss"]
