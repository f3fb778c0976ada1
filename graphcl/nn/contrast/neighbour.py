"""Graph-MLP's neighbour contrast (Ncontrast), the loss SCGC and SCGC* train with."""
from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor, nn

from graphcl.nn.contrast._blockwise import infonce_rows
from graphcl.nn.contrast._checks import check_block_size, check_embeddings
from graphcl.nn.contrast._numerics import DEFAULT_BLOCK_SIZE, BlockSize, compute_dtype
from graphcl.nn.contrast._positives import PositiveMask, prepare_mask

__all__ = ["NeighbourContrast", "neighbour_contrast"]


def _check_multiplier(tau) -> None:
    if not isinstance(tau, numbers.Real) or isinstance(tau, bool):
        raise TypeError(f"tau must be a number > 0 (it multiplies the cosine), got {tau!r}")
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a finite number > 0 (it multiplies the cosine), "
                         f"got {tau!r}")


def _check_eps(eps) -> None:
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) \
            or not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0 (it is added inside the log), "
                         f"got {eps!r}")


def neighbour_contrast(z: Tensor, target: PositiveMask, tau: float, *,
                       block_size: BlockSize = DEFAULT_BLOCK_SIZE, eps: float = 1e-8) -> Tensor:
    r"""Neighbour contrast of embeddings ``z`` against soft positives ``target``
    (e.g. :math:`\hat A^r` or :math:`\sum_{k \le r} \hat A^k`); see
    :class:`NeighbourContrast`."""
    _check_multiplier(tau)
    _check_eps(eps)
    check_embeddings(z, z, ("z", "z"))
    dtype = compute_dtype(z.dtype)
    if tau > torch.finfo(dtype).max / 4:  # the scores tau * cos span 2 tau
        raise ValueError(f"tau = {tau:.3g} is too large for {dtype}: the scores tau * cos reach "
                         f"{tau:.3g}; use a smaller tau or float64 embeddings")
    br, bc = check_block_size(block_size)
    n = z.size(0)
    pos = prepare_mask(target, n, n, z.device, dtype, name="target", ref="z")
    # -log(exp(-l) + eps) with l the exact blockwise per-row InfoNCE
    # (temperature 1 / tau, self-similarity replaced by 0).
    per_row = infonce_rows(z, z, pos, 1.0 / tau, True, br, bc, 0.0, ("z", "z")).to(z.dtype)
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
        - z: ``[N, d]``; target: ``[N, N]`` sparse (COO/CSR), dense, or a
          :class:`~graphcl.graph.SparseGraph` (its edge weights are the
          weights, e.g. :math:`\hat A^r` straight from
          ``SparseGraph.matrix_power``), weights >= 0, every row with a
          positive entry (self loops count)
        - output: scalar

    Bad arguments raise a ``TypeError``/``ValueError`` naming ``z``,
    ``target``, ``tau``, ``eps`` or ``block_size`` (see
    :class:`~graphcl.nn.MultiPositiveInfoNCE` for the checks).
    """

    def __init__(self, tau: float, block_size: BlockSize = DEFAULT_BLOCK_SIZE, eps: float = 1e-8):
        super().__init__()
        _check_multiplier(tau)
        check_block_size(block_size)
        _check_eps(eps)
        self.tau, self.block_size, self.eps = tau, block_size, eps

    def forward(self, z: Tensor, target: PositiveMask) -> Tensor:
        return neighbour_contrast(z, target, self.tau, block_size=self.block_size, eps=self.eps)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, block_size={self.block_size}"
