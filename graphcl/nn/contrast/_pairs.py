"""The positives' terms of a sparse mask, from the positive pairs only
(:math:`O(\\text{nnz} \\cdot d)`; private to :mod:`graphcl.nn.contrast`)."""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from graphcl.nn.contrast._numerics import acc_dtype, blocks
from graphcl.nn.contrast._positives import Positives

_PAIR_CHUNK = 1 << 15  # positive pairs gathered at a time on the sparse path


def pair_scores(a: Tensor, b: Tensor, rows: Tensor, cols: Tensor):
    """Yields (slice, s_pair) with s_pair = <a_row, b_col> for chunks of pairs."""
    for p0, p1 in blocks(rows.numel(), _PAIR_CHUNK):
        r, c = rows[p0:p1], cols[p0:p1]
        yield p0, p1, (a.index_select(0, r) * b.index_select(0, c)).sum(1)


def sparse_log_pos(a: Tensor, b: Tensor, pos: Positives, diag: Optional[float]) -> Tensor:
    """log sum_j P_ij exp(s_ij) from the positive pairs only, O(nnz * d)."""
    n = a.size(0)
    acc = acc_dtype(a.dtype)
    v = torch.empty(pos.rows.numel(), dtype=acc, device=a.device)  # s_ij + log P_ij
    for p0, p1, s in pair_scores(a, b, pos.rows, pos.cols):
        v[p0:p1] = s
    if diag is not None:
        v.masked_fill_(pos.rows == pos.cols, diag)
    v.add_(pos.vals.to(acc).log())
    row_max = torch.full((n,), -math.inf, dtype=acc, device=a.device)
    row_max.scatter_reduce_(0, pos.rows, v, reduce="amax", include_self=True)
    sums = torch.zeros(n, dtype=acc, device=a.device).index_add_(0, pos.rows,
                                                                  (v - row_max[pos.rows]).exp())
    return row_max + sums.log()


def add_positive_pair_grads(a: Tensor, b: Tensor, pos: Positives, lse_pos: Tensor,
                             w: Tensor, grad_a: Optional[Tensor], grad_b: Optional[Tensor],
                             zero_diagonal: bool = False) -> None:
    """The positives' part of the gradient of a sparse mask, from the pairs:
    dl/ds_ij += -w_i P_ij exp(s_ij - lse_pos_i) for s = a b^T, added into
    ``grad_a``/``grad_b`` (either may be None). Swapping (a, grad_a) with
    (b, grad_b) gives the transposed direction, s_ji."""
    acc = lse_pos.dtype
    for p0, p1, s in pair_scores(a, b, pos.rows, pos.cols):
        r, c = pos.rows[p0:p1], pos.cols[p0:p1]
        # P_ij exp(s_ij - lse_pos_i) = exp(s_ij + log P_ij - lse_pos_i) <= 1
        q = (s.to(acc) + pos.vals[p0:p1].to(acc).log() - lse_pos[r]).clamp_max_(0.0).exp_()
        g = q.to(a.dtype).mul_(w[r]).neg_()
        if zero_diagonal:
            g.masked_fill_(r == c, 0.0)
        if grad_a is not None:
            grad_a.index_add_(0, r, g.unsqueeze(1) * b.index_select(0, c))
        if grad_b is not None:
            grad_b.index_add_(0, c, g.unsqueeze(1) * a.index_select(0, r))
