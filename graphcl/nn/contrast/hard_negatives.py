r"""Synthetic hard negatives for a cross-view InfoNCE (our HeCo_MU-style
option: the HeCo paper names HeCo_MU but publishes no algorithm, so this
design is ours, after MoCHi's mixing of hard negatives)."""
from __future__ import annotations

import math
import numbers
from typing import Optional, Union

import torch
from torch import Tensor
from torch.nn import functional as F

from graphcl.nn.contrast._checks import check_block_size, check_embeddings, check_tau
from graphcl.nn.contrast._numerics import DEFAULT_BLOCK_SIZE, BlockSize, compute_dtype, unit_rows
from graphcl.nn.contrast._positives import PositiveMask, Positives, prepare_mask
from graphcl.nn.contrast.cross_view import CrossViewInfoNCE

__all__ = ["mixed_hard_negatives", "positive_logsumexp", "HardNegativeInfoNCE"]


def _check_count(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_mix(mix) -> float:
    if not isinstance(mix, numbers.Real) or isinstance(mix, bool) \
            or not (math.isfinite(mix) and 0.0 <= mix <= 1.0):
        raise ValueError(f"mix must be a number in [0, 1] (the smallest weight of the first "
                         f"negative of a mixed pair), got {mix!r}")
    return float(mix)


def _positives(anchor: Tensor, sample: Tensor, pos_mask: PositiveMask, tau) -> Positives:
    check_embeddings(anchor, sample)
    check_tau(tau)
    return prepare_mask(pos_mask, anchor.size(0), sample.size(0), anchor.device,
                        compute_dtype(anchor.dtype))


def _hardest_negatives(a: Tensor, s: Tensor, pos: Positives, k: int, block_size: int) -> Tensor:
    """``[N, k]`` indices of the samples with the highest cosine among each
    anchor's non-positives, ``block_size`` anchor rows at a time."""
    hard = []
    for start in range(0, a.size(0), block_size):
        stop = min(start + block_size, a.size(0))
        sim = a[start:stop] @ s.t()
        if pos.is_sparse:
            in_block = (pos.rows >= start) & (pos.rows < stop)
            sim[pos.rows[in_block] - start, pos.cols[in_block]] = float("-inf")
        else:  # a dense mask (DBLP's is 25% full) is used as is, not converted
            sim.masked_fill_(pos.dense[start:stop] > 0, float("-inf"))
        hard.append(sim.topk(min(k, s.size(0)), dim=1).indices)
    return torch.cat(hard)


def mixed_hard_negatives(anchor: Tensor, sample: Tensor, pos_mask: PositiveMask, tau: float,
                         k: int, mix: float, generator: Optional[torch.Generator] = None,
                         block_size: int = 4096) -> Tensor:
    r"""The log-sum-exp of synthetic hard negatives, per anchor.

    For every anchor :math:`z_i`, take its ``k`` hardest negatives (highest
    cosine among the non-positives of ``sample``), mix random pairs of them,

    .. math::
        \tilde n_m = \frac{\beta n_a + (1 - \beta) n_b}
                          {\lVert \beta n_a + (1 - \beta) n_b \rVert},
        \quad \beta \sim U(\mathrm{mix}, 1), \qquad
        \text{out}_i = \log \sum_{m=1}^{k} e^{\cos(z_i, \tilde n_m) / \tau}

    The hardest negatives are found blockwise (``block_size`` anchor rows at
    a time) and treated as constants (no gradient through the selection, as
    in MoCHi); gradients flow through the mixed vectors and the anchors.

    Args:
        anchor (Tensor): :math:`(N, d)`.
        sample (Tensor): :math:`(M, d)`, the candidates.
        pos_mask (Tensor or SparseGraph): :math:`(N, M)` positives (dense,
            sparse COO/CSR or a SparseGraph); they are never picked.
        tau (float): temperature :math:`\tau > 0`.
        k (int): hardest negatives per anchor (at most ``M`` are taken).
        mix (float): lower bound of :math:`\beta`, in ``[0, 1]``.
        generator (torch.Generator, optional): for the pairs and
            :math:`\beta`. (default: :obj:`None`, the global generator)
        block_size (int, optional): anchor rows scored at a time.
            (default: :obj:`4096`)

    Shapes:
        - **output:** :math:`(N,)`.
    """
    pos = _positives(anchor, sample, pos_mask, tau)
    k, mix = _check_count(k, "k"), _check_mix(mix)
    block_size = _check_count(block_size, "block_size")
    a, s = unit_rows(anchor), unit_rows(sample)
    with torch.no_grad():
        hard = _hardest_negatives(a, s, pos, k, block_size)  # [N, k]
    pair = torch.randint(0, hard.size(1), (hard.size(0), hard.size(1)), generator=generator,
                         device=hard.device)
    beta = mix + (1 - mix) * torch.rand(hard.size(0), hard.size(1), 1, generator=generator,
                                        device=hard.device)
    mixed = unit_rows(beta * s[hard] + (1 - beta) * s[hard.gather(1, pair)])
    return torch.logsumexp((mixed * a.unsqueeze(1)).sum(-1) / tau, dim=1)


def positive_logsumexp(anchor: Tensor, sample: Tensor, pos_mask: PositiveMask, tau: float,
                       block_size: int = 4096) -> Tensor:
    r""":math:`\log \sum_j P_{ij}\, e^{\cos(z_i, s_j) / \tau}` per anchor,
    differentiable (plain autograd).

    A sparse mask (or a SparseGraph) costs :math:`O(\text{nnz} \cdot d)`: only
    the positive pairs are scored. A dense one is scored in blocks of
    ``block_size`` anchor rows.

    Args:
        anchor (Tensor): :math:`(N, d)`.
        sample (Tensor): :math:`(M, d)`.
        pos_mask (Tensor or SparseGraph): :math:`(N, M)` weights
            :math:`\ge 0`, every row with a positive.
        tau (float): temperature :math:`\tau > 0`.
        block_size (int, optional): anchor rows per block of a dense mask.
            (default: :obj:`4096`)

    Shapes:
        - **output:** :math:`(N,)`.
    """
    pos = _positives(anchor, sample, pos_mask, tau)
    block_size = _check_count(block_size, "block_size")
    a, s = unit_rows(anchor), unit_rows(sample)
    if not pos.is_sparse:
        return torch.cat([_dense_block_logsumexp(a[start:start + block_size], s,
                                                 pos.dense[start:start + block_size], tau)
                          for start in range(0, a.size(0), block_size)])
    scores = (a[pos.rows] * s[pos.cols]).sum(1) / tau + pos.vals.to(a.dtype).log()
    shift = torch.full((a.size(0),), float("-inf"), dtype=a.dtype, device=a.device)
    shift = shift.scatter_reduce(0, pos.rows, scores.detach(), reduce="amax")  # only a shift
    total = torch.zeros_like(shift).index_add(0, pos.rows, (scores - shift[pos.rows]).exp())
    return total.log() + shift


def _dense_block_logsumexp(a: Tensor, s: Tensor, block: Tensor, tau) -> Tensor:
    block = block.to(a.dtype)
    log_weights = torch.where(block > 0, block.clamp_min(torch.finfo(a.dtype).tiny).log(),
                              torch.full((), float("-inf"), dtype=a.dtype, device=a.device))
    return torch.logsumexp(a @ s.t() / tau + log_weights, dim=1)


class HardNegativeInfoNCE(CrossViewInfoNCE):
    r""":class:`CrossViewInfoNCE` with ``k`` synthetic hard negatives added to
    the denominator of every anchor, in both directions (see
    :func:`mixed_hard_negatives`).

    With :math:`\ell_i = \mathrm{LSE}^{all}_i - \mathrm{LSE}^{pos}_i`, adding the
    mixed negatives gives

    .. math::
        \ell'_i = \log\big(e^{\mathrm{LSE}^{all}_i} + e^{\mathrm{LSE}^{mix}_i}\big)
                  - \mathrm{LSE}^{pos}_i
                = \ell_i + \mathrm{softplus}(\mathrm{LSE}^{mix}_i - \mathrm{LSE}^{all}_i),

    where :math:`\mathrm{LSE}^{all}_i = \ell_i + \mathrm{LSE}^{pos}_i` needs
    only the positives (:func:`positive_logsumexp`). Both directions use the
    rows of the mask, as :func:`cross_view_infonce` does.

    Args:
        tau (float): temperature :math:`\tau > 0`.
        k (int): synthetic negatives per anchor.
        mix (float, optional): lower bound of the mixing weight
            :math:`\beta \sim U(\mathrm{mix}, 1)`. (default: :obj:`0.5`)
        lam (float, optional): weight of the ``z1 -> z2`` direction.
            (default: :obj:`0.5`)
        block_size (int or (int, int), optional): tile size; its row count is
            the block of the hard-negative search. (default: :obj:`2048`)

    Shapes:
        - **input:** z1 :math:`(N, d)`, z2 :math:`(N, d)`, pos_mask
          :math:`(N, N)`, generator (optional) for the mixing draws.
        - **output:** scalar.
    """

    def __init__(self, tau: Union[float, Tensor], k: int, mix: float = 0.5, lam: float = 0.5,
                 block_size: BlockSize = DEFAULT_BLOCK_SIZE):
        super().__init__(tau, lam, block_size)
        self.k, self.mix = _check_count(k, "k"), _check_mix(mix)

    def forward(self, z1: Tensor, z2: Tensor, pos_mask: PositiveMask,
                generator: Optional[torch.Generator] = None) -> Tensor:
        loss_12, loss_21 = self.directions(z1, z2, pos_mask)
        loss_12 = self._with_hard_negatives(loss_12, z1, z2, pos_mask, generator)
        loss_21 = self._with_hard_negatives(loss_21, z2, z1, pos_mask, generator)
        return self.combine(loss_12, loss_21)

    def _with_hard_negatives(self, per_row: Tensor, anchor: Tensor, sample: Tensor,
                             pos_mask: PositiveMask, generator) -> Tensor:
        rows = check_block_size(self.block_size)[0]
        lse_all = per_row + positive_logsumexp(anchor, sample, pos_mask, self.tau, rows)
        lse_mix = mixed_hard_negatives(anchor, sample, pos_mask, self.tau, self.k, self.mix,
                                       generator, rows)
        return per_row + F.softplus(lse_mix - lse_all)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, k={self.k}, mix={self.mix}"
