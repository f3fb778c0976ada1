"""Graph-MLP's neighbour contrast (Ncontrast), the loss SCGC and SCGC* train with."""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor, nn

from graphcl.nn.infonce import DEFAULT_BLOCK_SIZE, BlockSize, multi_positive_infonce


def neighbour_contrast(z: Tensor, target: Tensor, tau: float, *,
                       block_size: BlockSize = DEFAULT_BLOCK_SIZE, eps: float = 1e-8) -> Tensor:
    r"""Neighbour contrast of embeddings ``z`` against soft positives ``target``
    (e.g. :math:`\hat A^r` or :math:`\sum_{k \le r} \hat A^k`); see
    :class:`NeighbourContrast`."""
    if not (isinstance(tau, (int, float)) and not isinstance(tau, bool) and tau > 0):
        raise ValueError(f"tau must be a number > 0 (it multiplies the cosine), got {tau!r}")
    # -log(exp(-l) + eps) with l the exact blockwise per-row InfoNCE.
    per_row = multi_positive_infonce(z, z, target, 1.0 / tau, block_size=block_size,
                                     reduction="none", diagonal=0.0)
    return -torch.log(torch.exp(-per_row) + eps).mean()


class NeighbourContrast(nn.Module):
    r"""Graph-MLP's Ncontrast loss with a soft structural target :math:`B`:

    .. math::
        s_{ij} = \cos(z_i, z_j)\ (i \ne j), \quad s_{ii} = 0, \qquad
        \mathcal{L} = -\frac{1}{N} \sum_i \log\Big(
            \frac{\sum_j B_{ij} e^{\tau s_{ij}}}{\sum_j e^{\tau s_{ij}}} + \epsilon\Big)

    :math:`\tau` *multiplies* the cosine (an inverse temperature), as in the
    reference code. It is computed blockwise (no N x N similarity matrix) with
    a sparse :math:`B`, so N = 100k fits in memory.

    Args:
        tau (float): multiplier of the cosine, > 0.
        block_size (int or (int, int)): tile size of the blockwise InfoNCE.
        eps (float): the reference's ``1e-8`` inside the log.

    Shapes:
        - z: ``[N, d]``; target: ``[N, N]`` sparse (COO/CSR) or dense, weights
          >= 0, every row with a positive entry (self loops count)
        - output: scalar
    """

    def __init__(self, tau: float, block_size: BlockSize = DEFAULT_BLOCK_SIZE, eps: float = 1e-8):
        super().__init__()
        self.tau, self.block_size, self.eps = tau, block_size, eps

    def forward(self, z: Tensor, target: Tensor) -> Tensor:
        return neighbour_contrast(z, target, self.tau, block_size=self.block_size, eps=self.eps)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, block_size={self.block_size}"
