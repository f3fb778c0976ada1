"""The tiled log-sum-exp forward pass of the blockwise InfoNCE: per-row
statistics from row x column tiles with an online log-sum-exp (private to
:mod:`graphcl.nn.contrast`)."""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from graphcl.nn.contrast._numerics import acc_dtype, blocks, half_log_tiny, log_tiny
from graphcl.nn.contrast._pairs import sparse_log_pos
from graphcl.nn.contrast._positives import Positives


def set_diagonal(tile: Tensor, r0: int, c0: int, diag: Optional[float]) -> None:
    """Overwrites the entries (i, i) of a tile whose top-left corner is the
    global entry (r0, c0): they lie on the tile's diagonal r0 - c0."""
    if diag is not None:
        tile.diagonal(r0 - c0).fill_(diag)


def set_gathered_diagonal(tile: Tensor, rows: Tensor, c0: int, c1: int,
                           diag: Optional[float]) -> None:
    """Same for a tile of gathered anchor rows (``rows``) x columns [c0, c1)."""
    if diag is not None:
        inside = ((rows >= c0) & (rows < c1)).nonzero().flatten()
        tile[inside, rows[inside] - c0] = diag


def forward_stats(a: Tensor, b: Tensor, pos: Positives, br: int, bc: int,
                   diag: Optional[float] = None):
    """Returns (lse_all [N], lse_pos [N], loss [N]) in the accumulation dtype
    and the rows whose lse_pos was recomputed exactly (``[K]``, int64).

    Row block x column block tiles; per tile one GEMM, then an online
    log-sum-exp update (running row max m, running sums rescaled by
    exp(m_old - m_new)). The dense mask's positive sums share the tile's
    exp(); rows whose positive sum falls below sqrt(tiny) or whose loss
    exceeds -log(sqrt(tiny)) (~43 in float32) are recomputed exactly
    afterwards, from gathered rows. The backward pass takes exactly these
    rows, in the same chunks, through the same GEMMs: with huge scores
    (tiny tau) a recomputed score that differs in its last bit from the
    forward's would move exp() by orders of magnitude. The loss of the other
    rows is log(sum) - log(positives' sum), both relative to the row maximum:
    lse_all - lse_pos would lose log(P) next to a score of 1e20.
    The exact rows are computed in the accumulation dtype (a float32 log
    weight of -690 carries an absolute error of 3e-5)."""
    n, m = a.size(0), b.size(0)
    dtype, acc = a.dtype, acc_dtype(a.dtype)
    exp_floor = log_tiny(dtype)
    lse = torch.empty(n, dtype=acc, device=a.device)
    lse_pos = None if pos.is_sparse else torch.empty(n, dtype=acc, device=a.device)
    loss = None if pos.is_sparse else torch.empty(n, dtype=acc, device=a.device)
    buf = torch.empty(min(br, n), min(bc, m), dtype=dtype, device=a.device)
    pbuf = None if pos.is_sparse else torch.empty_like(buf)
    for r0, r1 in blocks(n, br):
        a_r = a[r0:r1]
        run_max = torch.full((r1 - r0,), -math.inf, dtype=dtype, device=a.device)
        run_sum = torch.zeros(r1 - r0, dtype=acc, device=a.device)
        pos_sum = None if pos.is_sparse else torch.zeros_like(run_sum)
        for c0, c1 in blocks(m, bc):
            s = buf[: r1 - r0, : c1 - c0]
            torch.mm(a_r, b[c0:c1].t(), out=s)
            set_diagonal(s, r0, c0, diag)
            new_max = torch.maximum(run_max, s.amax(1))
            scale = (run_max - new_max).exp().to(acc)  # exp(-inf) = 0 on the first tile
            run_max = new_max
            s.sub_(new_max.unsqueeze(1)).clamp_min_(exp_floor).exp_()
            run_sum.mul_(scale).add_(s.sum(1).to(acc))
            if pos_sum is not None:
                t = pbuf[: r1 - r0, : c1 - c0]
                pos.masked_into(t, s, r0, r1, c0, c1)
                pos_sum.mul_(scale).add_(t.sum(1).to(acc))
        lse[r0:r1] = run_max.to(acc) + run_sum.log()
        if pos_sum is not None:
            lse_pos[r0:r1] = run_max.to(acc) + pos_sum.log()
            loss[r0:r1] = run_sum.log() - pos_sum.log()
            # positive sum too small for the shared shift, or a loss too large
            # for the backward's exp(loss): recompute exactly below
            exact = (pos_sum < math.exp(half_log_tiny(dtype))) | \
                (loss[r0:r1] > -half_log_tiny(dtype))
            lse_pos[r0:r1].masked_fill_(exact, math.nan)
    if pos.is_sparse:
        lse_pos = sparse_log_pos(a, b, pos, diag)
        return lse, lse_pos, lse - lse_pos, torch.zeros(0, dtype=torch.long, device=a.device)
    bad = lse_pos.isnan().nonzero().flatten()
    for k0, k1 in blocks(bad.numel(), br):
        rows = bad[k0:k1]
        a_k = a.index_select(0, rows)
        out = torch.full((rows.numel(),), -math.inf, dtype=acc, device=a.device)
        for c0, c1 in blocks(m, bc):
            t = torch.mm(a_k, b[c0:c1].t())
            set_gathered_diagonal(t, rows, c0, c1, diag)
            t = t.to(acc).add_(pos.log_block(rows, c0, c1, acc))
            out = torch.logaddexp(out, torch.logsumexp(t, 1))
        lse_pos[rows] = out
        loss[rows] = lse[rows] - out
    return lse, lse_pos, loss, bad
