"""The tiled backward pass of the blockwise InfoNCE: the tiles are recomputed
from the forward's per-row log-sum-exps (private to :mod:`graphcl.nn.contrast`)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphcl.nn.contrast._numerics import blocks, half_log_tiny, log_tiny
from graphcl.nn.contrast._pairs import add_positive_pair_grads
from graphcl.nn.contrast._positives import Positives
from graphcl.nn.contrast._tiles import set_diagonal, set_gathered_diagonal

# Above |a_i| |b_j| * eps = 2^-20 (float32: scores beyond ~8; float64: ~4e9) the
# backward repeats the forward's GEMMs exactly instead of fusing the shift.
_CONSISTENT_SCORES_TOLERANCE = 2.0 ** -20


def _shifted_scores(out: Tensor, a_r: Tensor, b_c: Tensor, neg_shift: Tensor,
                    consistent: bool) -> Tensor:
    """out = a_r @ b_c.T + neg_shift (a column). The fused addmm rounds
    differently from the forward's mm (float64 on CPU): harmless for ordinary
    scores, but with huge ones (``consistent``) the forward's exact GEMM is
    repeated and the shift subtracted after it."""
    if not consistent:
        return torch.addmm(neg_shift, a_r, b_c.t(), out=out)
    return torch.mm(a_r, b_c.t(), out=out).add_(neg_shift)


def needs_consistent_scores(a: Tensor, b: Tensor) -> bool:
    """Whether |s_ij| can be so large that one rounding of the GEMM moves
    exp(s_ij - lse_i) noticeably: |a_i| |b_j| * eps > 2^-20."""
    bound = float(a.norm(dim=1).amax()) * float(b.norm(dim=1).amax())
    return not bound * torch.finfo(a.dtype).eps <= _CONSISTENT_SCORES_TOLERANCE


def backward_grads(a: Tensor, b: Tensor, pos: Positives, lse: Tensor, lse_pos: Tensor,
              loss: Tensor, w: Tensor, br: int, bc: int, need_a: bool, need_b: bool,
              diag: Optional[float] = None, exact_rows: Optional[Tensor] = None,
              consistent: bool = False):
    """dL/ds_ij = w_i (exp(s_ij - lse_i) - P_ij exp(s_ij - lse_pos_i)), recomputing
    s tile by tile; grad_a = G b, grad_b = G^T a. ``exact_rows`` are the rows
    the forward pass recomputed exactly (dense mask); they take the same path
    here. Every exp() argument is <= 0 in exact arithmetic and clamped to it."""
    n, m = a.size(0), b.size(0)
    dtype = a.dtype
    exp_floor = log_tiny(dtype)
    grad_a = torch.zeros_like(a) if need_a else None
    grad_b = torch.zeros_like(b) if need_b else None
    w_c = w.to(dtype)
    neg_lse = (-lse).to(dtype)
    if not pos.is_sparse:
        # exp(loss_i) turns softmax_all into the positives' softmax; rows with a
        # loss beyond -log(sqrt(tiny)) were recomputed exactly in the forward
        # pass and take the exact path below instead.
        bad = torch.zeros(n, dtype=torch.bool, device=a.device)
        bad[exact_rows] = True
        ratio = loss.clamp_max(-half_log_tiny(dtype)).exp().masked_fill_(bad, 0.0)
        neg_ratio = (-ratio).to(dtype)
    buf = torch.empty(min(br, n), min(bc, m), dtype=dtype, device=a.device)
    pbuf = None if pos.is_sparse else torch.empty_like(buf)
    for r0, r1 in blocks(n, br):
        a_r = a[r0:r1]
        aw_r = a_r * w_c[r0:r1].unsqueeze(1) if need_b else None
        ga_r = torch.zeros_like(a_r) if need_a else None
        bias = neg_lse[r0:r1].unsqueeze(1)
        for c0, c1 in blocks(m, bc):
            e = _shifted_scores(buf[: r1 - r0, : c1 - c0], a_r, b[c0:c1], bias, consistent)
            e.clamp_(exp_floor, 0.0).exp_()  # softmax over all candidates
            if not pos.is_sparse:
                t = pbuf[: r1 - r0, : c1 - c0]
                pos.masked_into(t, e, r0, r1, c0, c1)
                e.addcmul_(t, neg_ratio[r0:r1].unsqueeze(1))  # - P * positives' softmax
            set_diagonal(e, r0, c0, None if diag is None else 0.0)  # a constant: no gradient
            if need_a:
                ga_r.addmm_(e, b[c0:c1])
            if need_b:
                grad_b[c0:c1].addmm_(e.t(), aw_r)
        if need_a:
            grad_a[r0:r1] = ga_r.mul_(w_c[r0:r1].unsqueeze(1))

    if pos.is_sparse:
        add_positive_pair_grads(a, b, pos, lse_pos, w_c, grad_a, grad_b, diag is not None)
        return grad_a, grad_b

    # The forward's rows and chunks, so that a_k and every GEMM below are the
    # forward's own (see forward_stats).
    for k0, k1 in blocks(exact_rows.numel(), br):
        rows = exact_rows[k0:k1]
        a_k = a.index_select(0, rows)
        bias = (-lse_pos[rows]).unsqueeze(1)
        wk = w_c[rows].unsqueeze(1)
        ga_k = torch.zeros_like(a_k) if need_a else None
        for c0, c1 in blocks(m, bc):
            q = torch.mm(a_k, b[c0:c1].t()).to(bias.dtype)  # in the accumulation dtype
            q.add_(pos.log_block(rows, c0, c1, bias.dtype)).add_(bias).clamp_max_(0.0).exp_()
            q = q.to(dtype).mul_(wk).neg_()
            set_gathered_diagonal(q, rows, c0, c1, None if diag is None else 0.0)
            if need_a:
                ga_k.addmm_(q, b[c0:c1])
            if need_b:
                grad_b[c0:c1].addmm_(q.t(), a_k)
        if need_a:
            grad_a.index_add_(0, rows, ga_k)
    return grad_a, grad_b
