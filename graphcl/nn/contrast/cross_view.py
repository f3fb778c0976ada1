r"""Both directions of a cross-view multi-positive InfoNCE (HeCo's
``lam * L(z1 -> z2) + (1 - lam) * L(z2 -> z1)``), fused into one pass over the
similarity tiles when the scores allow it."""
from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn

from graphcl.nn.contrast._blockwise import infonce_rows, scaled_inputs
from graphcl.nn.contrast._checks import (check_block_size, check_embeddings, check_tau,
                                         check_tau_range)
from graphcl.nn.contrast._fused_directions import CrossViewFunction
from graphcl.nn.contrast._numerics import DEFAULT_BLOCK_SIZE, BlockSize, compute_dtype
from graphcl.nn.contrast._positives import PositiveMask, Positives, prepare_mask

__all__ = ["cross_view_infonce", "CrossViewInfoNCE"]

# With cosine scores |s| <= 1/tau, so exp(s - 1/tau) lies in [exp(-2/tau), 1]:
# one fixed shift serves every row and every column at once. The gradient
# divides by positive sums that can be as small as exp(-2/tau); 2/tau <= 40
# keeps those quotients (<= e^40) far inside float32. Smaller tau takes the
# two-call path, which keeps per-row running maxima.
_MAX_SHIFT_RANGE = 40.0


def cross_view_infonce(z1: Tensor, z2: Tensor, pos_mask: PositiveMask, tau: Union[float, Tensor], *,
                       block_size: BlockSize = DEFAULT_BLOCK_SIZE) -> Tuple[Tensor, Tensor]:
    r"""Per-anchor multi-positive InfoNCE losses of both directions between two
    views of the same ``N`` nodes, with cosine similarity:

    .. math::
        s_{ij} = \frac{\cos(z^{(1)}_i, z^{(2)}_j)}{\tau}, \quad
        \ell^{1\to2}_i = \log \sum_j e^{s_{ij}} - \log \sum_j P_{ij} e^{s_{ij}}, \quad
        \ell^{2\to1}_i = \log \sum_j e^{s_{ji}} - \log \sum_j P_{ij} e^{s_{ji}}

    The same values as ``multi_positive_infonce(z1, z2, P, tau, reduction='none')``
    and ``multi_positive_infonce(z2, z1, P, tau, reduction='none')`` (both
    directions use the rows of ``P``, as HeCo does), from one pass over
    the tiles of :math:`s`: its transpose is the second direction's score
    matrix, so half of the GEMMs and exponentials are saved. Memory stays
    :math:`O(\text{block}^2 + N)`. Because cosine scores are bounded, one fixed
    shift :math:`1/\tau` replaces the running maxima; for :math:`\tau < 0.05`
    the two directions are computed separately instead.

    Args:
        z1, z2 (Tensor): the two views, :math:`(N, d)` each.
        pos_mask (Tensor or SparseGraph): :math:`(N, N)` positive weights
            :math:`\ge 0`, dense, sparse (COO/CSR) or a
            :class:`~graphcl.graph.SparseGraph`, every row with a positive.
        tau (float or Tensor): temperature :math:`\tau > 0`.
        block_size (int or (int, int), optional): tile size.

    Returns:
        ``(loss_12, loss_21)``, each :math:`(N,)`, in the dtype of ``z1``.

    Raises ``ValueError``/``TypeError`` naming ``z1``, ``z2``, ``pos_mask``
    or ``tau`` for the same bad inputs as :class:`MultiPositiveInfoNCE`
    (including a ``tau`` too small for the dtype).
    """
    names = ("z1", "z2")
    check_embeddings(z1, z2, names)
    check_tau(tau)
    dtype = compute_dtype(z1.dtype)
    check_tau_range(tau, dtype)
    br, bc = check_block_size(block_size)
    if z1.size(0) != z2.size(0):
        raise ValueError(f"z1 and z2 must be two views of the same nodes (same number of rows), "
                         f"got {z1.size(0)} and {z2.size(0)}")
    n = z1.size(0)
    pos = prepare_mask(pos_mask, n, n, z1.device, dtype, ref="z1")
    tau_value = float(tau.detach()) if isinstance(tau, Tensor) else float(tau)
    if 2.0 / tau_value > _MAX_SHIFT_RANGE:
        return _two_directions(z1, z2, pos, tau, br, bc)
    a, b = scaled_inputs(z1, z2, tau, normalize=True)
    losses = CrossViewFunction.apply(a, b, pos.dense, pos.rows, pos.cols, pos.vals, br, bc,
                                     1.0 / tau_value)
    if not bool(torch.isfinite(losses.detach()).all()):
        # a positive sum underflowed under the fixed shift (weights far below 1)
        return _two_directions(z1, z2, pos, tau, br, bc)
    losses = losses.to(z1.dtype)
    return losses[0], losses[1]


def _two_directions(z1, z2, pos: Positives, tau, br: int, bc: int) -> Tuple[Tensor, Tensor]:
    """Both directions as two blockwise InfoNCE calls (running row maxima
    instead of one fixed shift), on an already validated mask."""
    names = ("z1", "z2")
    l12 = infonce_rows(z1, z2, pos, tau, True, br, bc, None, names)
    l21 = infonce_rows(z2, z1, pos, tau, True, br, bc, None, names[::-1])
    return l12.to(z1.dtype), l21.to(z1.dtype)


def check_lam(lam) -> float:
    """``lam`` weights the first direction; it must lie in [0, 1]."""
    if not isinstance(lam, numbers.Real) or isinstance(lam, bool) \
            or not (math.isfinite(lam) and 0.0 <= lam <= 1.0):
        raise ValueError(f"lam must be a number in [0, 1] (the weight of the z1 -> z2 "
                         f"direction), got {lam!r}")
    return float(lam)


class CrossViewInfoNCE(nn.Module):
    r"""HeCo's cross-view contrast between two views of the same nodes: the
    :math:`\lambda`-weighted mean of both directions of
    :func:`cross_view_infonce`,

    .. math::
        \mathcal{L} = \frac{\lambda}{N} \sum_i \ell^{1\to2}_i
            + \frac{1 - \lambda}{N} \sum_i \ell^{2\to1}_i

    (Wang et al., `"Self-supervised Heterogeneous Graph Neural Network with
    Co-contrastive Learning" <https://arxiv.org/abs/2105.09111>`_, Eq. 10-12).

    Args:
        tau (float or Tensor): temperature :math:`\tau > 0`.
        lam (float, optional): weight :math:`\lambda \in [0, 1]` of the
            ``z1 -> z2`` direction. (default: :obj:`0.5`)
        block_size (int or (int, int), optional): tile size.
            (default: :obj:`2048`)

    Shapes:
        - **input:** z1 :math:`(N, d)`, z2 :math:`(N, d)`, pos_mask
          :math:`(N, N)` (dense, sparse COO/CSR or a SparseGraph); ``forward``
          also takes a ``generator`` it ignores, so that it is interchangeable
          with :class:`~graphcl.nn.HardNegativeInfoNCE`.
        - **output:** scalar.
    """

    def __init__(self, tau: Union[float, Tensor], lam: float = 0.5,
                 block_size: BlockSize = DEFAULT_BLOCK_SIZE):
        super().__init__()
        check_tau(tau)
        check_block_size(block_size)
        self.tau, self.lam, self.block_size = tau, check_lam(lam), block_size

    def directions(self, z1: Tensor, z2: Tensor, pos_mask: PositiveMask) -> Tuple[Tensor, Tensor]:
        """The per-anchor losses of both directions, ``(N,)`` each."""
        return cross_view_infonce(z1, z2, pos_mask, self.tau, block_size=self.block_size)

    def combine(self, loss_12: Tensor, loss_21: Tensor) -> Tensor:
        return self.lam * loss_12.mean() + (1 - self.lam) * loss_21.mean()

    def forward(self, z1: Tensor, z2: Tensor, pos_mask: PositiveMask,
                generator: Optional[torch.Generator] = None) -> Tensor:
        return self.combine(*self.directions(z1, z2, pos_mask))

    def extra_repr(self) -> str:
        tau = self.tau
        tau = f"tensor({float(tau):g})" if isinstance(tau, Tensor) else float(tau)
        return f"tau={tau}, lam={self.lam}, block_size={self.block_size}"
