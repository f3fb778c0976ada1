r"""SimCLR's NT-Xent loss, as a multi-positive InfoNCE over the ``2N`` views
(:mod:`~graphcl.nn.contrast.infonce`) with each row's own score removed."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from graphcl.nn.contrast._checks import check_view_pair
from graphcl.nn.contrast.infonce import multi_positive_infonce

# The own-score constant: after division by tau it is below -1e3, so its
# exponential is exactly 0 in float32/float64 next to any cosine score, which
# removes k = i from the denominator as NT-Xent does (no gradient flows to it).
_EXCLUDED_SELF = -1e3


def nt_xent(z1: Tensor, z2: Tensor, tau: float = 0.5) -> Tensor:
    r"""NT-Xent (SimCLR, Chen et al. ICML 2020, `arXiv 2002.05709
    <https://arxiv.org/abs/2002.05709>`_) of two views of ``N`` samples:

    .. math::
        \mathcal{L} = \frac{1}{2N} \sum_{i=1}^{2N} -\log
        \frac{e^{\cos(z_i, z_{p(i)})/\tau}}{\sum_{k \ne i} e^{\cos(z_i, z_k)/\tau}}

    over :math:`z = [z^{(1)}; z^{(2)}]` with :math:`p(i)` the other view of
    sample :math:`i`. Computed by :func:`multi_positive_infonce` (blockwise,
    no ``2N x 2N`` matrix in memory) with a sparse positive mask and the own
    score excluded.

    Args:
        z1, z2 (Tensor): ``[N, d]`` each, ``N >= 1``.
        tau (float, optional): temperature (default ``0.5``, SimCLR's CIFAR value).

    Returns:
        scalar.
    """
    check_view_pair(z1, z2)
    n = z1.size(0)
    z = torch.cat([z1, z2])
    rows = torch.arange(2 * n, device=z.device)
    cols = (rows + n) % (2 * n)
    pos = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(2 * n, device=z.device),
                                  (2 * n, 2 * n), check_invariants=False).coalesce()
    return multi_positive_infonce(z, z, pos, tau, diagonal=_EXCLUDED_SELF * tau)


class NTXentLoss(nn.Module):
    r"""Module form of :func:`nt_xent`.

    Args:
        tau (float, optional): temperature (default ``0.5``).

    Shapes:
        - z1, z2: ``[N, d]``
        - output: scalar
    """

    def __init__(self, tau: float = 0.5):
        super().__init__()
        self.tau = tau

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return nt_xent(z1, z2, self.tau)

    def extra_repr(self) -> str:
        return f"tau={self.tau}"


__all__ = ["nt_xent", "NTXentLoss"]
