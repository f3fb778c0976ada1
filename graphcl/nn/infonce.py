"""Multi-positive InfoNCE, blockwise: an online log-sum-exp over tiles of the
similarity matrix, so memory is O(N·block) instead of O(N²)."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

REDUCTIONS = ("mean", "sum", "none")
_PAIR_CHUNK = 1 << 20  # positive pairs gathered at a time (bounds O(nnz·d) temporaries)


def _positive_pairs(pos_mask: Tensor, n: int, m: int) -> Tuple[Tensor, Tensor, Tensor]:
    """(rows, cols, weights) of the non-zero mask entries, sorted by row."""
    if not isinstance(pos_mask, Tensor):
        raise TypeError(f"pos_mask must be a torch.Tensor, got {type(pos_mask).__name__}")
    if tuple(pos_mask.shape) != (n, m):
        raise ValueError(f"pos_mask must have shape [{n}, {m}] (anchors x samples), "
                         f"got {tuple(pos_mask.shape)}")
    if pos_mask.layout == torch.sparse_csr:
        pos_mask = pos_mask.to_sparse_coo()
    if pos_mask.is_sparse:
        pos_mask = pos_mask.coalesce()
        rows, cols = pos_mask.indices()
        weights = pos_mask.values()
    else:
        rows, cols = pos_mask.nonzero(as_tuple=True)
        weights = pos_mask[rows, cols]
    weights = weights.to(torch.float64 if weights.dtype == torch.float64 else torch.float32)
    if weights.numel() and bool((weights < 0).any()):
        raise ValueError("pos_mask has negative entries (positive weights must be >= 0)")
    keep = weights > 0
    rows, cols, weights = rows[keep], cols[keep], weights[keep]
    has_pos = torch.zeros(n, dtype=torch.bool, device=rows.device)
    has_pos[rows] = True
    if not bool(has_pos.all()):
        missing = (~has_pos).nonzero().view(-1)
        raise ValueError(f"{missing.numel()} anchor rows have no positive in pos_mask "
                         f"(first: row {int(missing[0])}); InfoNCE is undefined for them")
    order = torch.argsort(rows, stable=True)
    return rows[order], cols[order], weights[order]


def _pair_scores(a: Tensor, s: Tensor, rows: Tensor, cols: Tensor, tau: float) -> Tensor:
    return torch.cat([(a[rows[i:i + _PAIR_CHUNK]] * s[cols[i:i + _PAIR_CHUNK]]).sum(-1) / tau
                      for i in range(0, rows.numel(), _PAIR_CHUNK)])


class _BlockwiseInfoNCE(torch.autograd.Function):
    """Per-anchor loss LSE_j s_ij - log sum_j P_ij exp(s_ij) with s = a s^T / tau,
    for already normalised a and s. Backward recomputes the tiles."""

    @staticmethod
    def forward(ctx, a, s, rows, cols, weights, tau, block_rows, block_cols):
        n = a.size(0)
        lse_all = torch.empty(n, dtype=a.dtype, device=a.device)
        for r0 in range(0, n, block_rows):
            a_blk = a[r0:r0 + block_rows]
            running_max = torch.full((a_blk.size(0),), float("-inf"), dtype=a.dtype, device=a.device)
            running_sum = torch.zeros_like(running_max)
            for c0 in range(0, s.size(0), block_cols):
                tile = a_blk @ s[c0:c0 + block_cols].t() / tau
                tile_max = tile.max(dim=1).values
                new_max = torch.maximum(running_max, tile_max)
                running_sum = running_sum * torch.exp(running_max - new_max) + \
                    torch.exp(tile - new_max[:, None]).sum(1)
                running_max = new_max
            lse_all[r0:r0 + block_rows] = running_max + running_sum.log()
        pair = _pair_scores(a, s, rows, cols, tau)
        row_max = torch.full((n,), float("-inf"), dtype=a.dtype, device=a.device)
        row_max = row_max.scatter_reduce(0, rows, pair, "amax")
        pos_sum = torch.zeros(n, dtype=a.dtype, device=a.device)
        pos_sum.index_add_(0, rows, weights.to(a.dtype) * torch.exp(pair - row_max[rows]))
        lse_pos = row_max + pos_sum.log()
        ctx.save_for_backward(a, s, rows, cols, weights, lse_all, lse_pos, pair)
        ctx.tau, ctx.block_rows, ctx.block_cols = tau, block_rows, block_cols
        return lse_all - lse_pos

    @staticmethod
    def backward(ctx, grad_loss):
        a, s, rows, cols, weights, lse_all, lse_pos, pair = ctx.saved_tensors
        tau = ctx.tau
        grad_a = torch.zeros_like(a)
        grad_s = torch.zeros_like(s)
        g = grad_loss.to(a.dtype)
        # d loss_i / d s_ij = g_i * (softmax_ij - q_ij); the softmax part over tiles:
        for r0 in range(0, a.size(0), ctx.block_rows):
            a_blk = a[r0:r0 + ctx.block_rows]
            scale = g[r0:r0 + ctx.block_rows, None]
            shift = lse_all[r0:r0 + ctx.block_rows, None]
            for c0 in range(0, s.size(0), ctx.block_cols):
                s_blk = s[c0:c0 + ctx.block_cols]
                prob = torch.exp(a_blk @ s_blk.t() / tau - shift) * scale
                grad_a[r0:r0 + ctx.block_rows] += prob @ s_blk
                grad_s[c0:c0 + ctx.block_cols] += prob.t() @ a_blk
        # ... and the positive part q_ij = P_ij exp(s_ij - LSE_pos_i), pair by pair.
        q = g[rows] * weights.to(a.dtype) * torch.exp(pair - lse_pos[rows])
        for i in range(0, rows.numel(), _PAIR_CHUNK):
            r, c, w = rows[i:i + _PAIR_CHUNK], cols[i:i + _PAIR_CHUNK], q[i:i + _PAIR_CHUNK, None]
            grad_a.index_add_(0, r, -w * s[c])
            grad_s.index_add_(0, c, -w * a[r])
        return grad_a / tau, grad_s / tau, None, None, None, None, None, None


def multi_positive_infonce(anchor: Tensor, sample: Tensor, pos_mask: Tensor, tau: float, *,
                           normalize: bool = True, block_size: int = 2048,
                           reduction: str = "mean") -> Tensor:
    r"""Multi-positive InfoNCE between anchors and samples:

    .. math::
        \ell_i = \log \sum_j e^{s_{ij}} - \log \sum_j P_{ij} e^{s_{ij}},
        \qquad s_{ij} = \cos(z^a_i, z^s_j) / \tau

    HeCo computes :math:`-\log(\sum_j P_{ij} S_{ij} / (\sum_j S_{ij} + 10^{-8}))`
    with :math:`S = e^{s}`: the same value without the :math:`10^{-8}`.

    The similarity matrix is never built: it is visited in
    ``block_size x block_size`` tiles with an online log-sum-exp, and the
    backward pass recomputes the tiles, so memory is O((N + M) d + block²)
    plus the positives. The positive term only touches the positive pairs
    (O(nnz · d)).

    Args:
        anchor (Tensor): ``[N, d]`` anchors.
        sample (Tensor): ``[M, d]`` samples (may be ``anchor`` itself).
        pos_mask (Tensor): ``[N, M]`` non-negative positive weights, dense
            (bool or float) or sparse (COO or CSR). Every row needs a positive.
        tau (float): temperature (> 0).
        normalize (bool): cosine similarity (default) or raw dot products.
        block_size (int): tile size.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (per anchor).

    Shapes:
        - output: scalar, or ``[N]`` with ``reduction='none'``
    """
    for name, t in (("anchor", anchor), ("sample", sample)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 2:
            raise ValueError(f"{name} must be 2-D [rows, dim], got shape {tuple(t.shape)}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be floating point, got {t.dtype}")
        if bool(torch.isnan(t).any()):
            raise ValueError(f"{name} contains NaN")
    if anchor.size(1) != sample.size(1):
        raise ValueError(f"anchor has dimension {anchor.size(1)} but sample has {sample.size(1)}")
    if anchor.dtype != sample.dtype:
        raise TypeError(f"anchor has dtype {anchor.dtype} but sample has {sample.dtype}")
    if anchor.device != sample.device or pos_mask.device != anchor.device:
        raise ValueError(f"anchor ({anchor.device}), sample ({sample.device}) and pos_mask "
                         f"({pos_mask.device}) must be on one device")
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")
    if int(block_size) < 1:
        raise ValueError(f"block_size must be at least 1, got {block_size}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    rows, cols, weights = _positive_pairs(pos_mask, anchor.size(0), sample.size(0))
    if normalize:
        anchor, sample = F.normalize(anchor, dim=1), F.normalize(sample, dim=1)
    loss = _BlockwiseInfoNCE.apply(anchor, sample, rows, cols, weights, float(tau),
                                   int(block_size), int(block_size))
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


class MultiPositiveInfoNCE(nn.Module):
    r"""Module form of :func:`multi_positive_infonce`.

    Args:
        tau (float): temperature.
        block_size (int): tile size of the blockwise computation.
        normalize (bool): cosine (default) or dot-product similarity.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.

    Shapes:
        - anchor: ``[N, d]``, sample: ``[M, d]``, pos_mask: ``[N, M]``
        - output: scalar (or ``[N]``)
    """

    def __init__(self, tau: float, block_size: int = 2048, normalize: bool = True,
                 reduction: str = "mean"):
        super().__init__()
        self.tau, self.block_size = tau, block_size
        self.normalize, self.reduction = normalize, reduction

    def forward(self, anchor: Tensor, sample: Tensor, pos_mask: Tensor) -> Tensor:
        return multi_positive_infonce(anchor, sample, pos_mask, self.tau, normalize=self.normalize,
                                      block_size=self.block_size, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, block_size={self.block_size}"
