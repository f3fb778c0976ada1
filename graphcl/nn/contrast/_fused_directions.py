r"""Both directions of a cross-view InfoNCE from one pass over the similarity
tiles, as an autograd function (private to :mod:`graphcl.nn.contrast`): the
second direction's scores are the first one's transpose, so each tile is
computed once (one GEMM instead of two forward, three instead of six
backward)."""
from __future__ import annotations

import torch
from torch import Tensor

from graphcl.nn.contrast._numerics import acc_dtype, blocks
from graphcl.nn.contrast._pairs import add_positive_pair_grads, sparse_log_pos
from graphcl.nn.contrast._positives import Positives


def transposed_tile(pos: Positives, r0: int, r1: int, c0: int, c1: int) -> Tensor:
    """P[c0:c1, r0:r1]^T: the mask entries (i, j) that weight s_ji."""
    return pos.dense[c0:c1, r0:r1].t()


def forward_sums(a: Tensor, b: Tensor, pos: Positives, shift: float, br: int, bc: int):
    """Row and column sums of E = exp(a b^T - shift) and, for a dense mask,
    sum_j P_ij E_ij (rows) and sum_j P_ij E_ji (columns), in float64."""
    n, dtype, acc = a.size(0), a.dtype, acc_dtype(a.dtype)
    sums = torch.zeros(4 if not pos.is_sparse else 2, n, dtype=acc, device=a.device)
    buf = torch.empty(min(br, n), min(bc, n), dtype=dtype, device=a.device)
    pbuf = None if pos.is_sparse else torch.empty_like(buf)
    for r0, r1 in blocks(n, br):
        for c0, c1 in blocks(n, bc):
            e = buf[: r1 - r0, : c1 - c0]
            torch.mm(a[r0:r1], b[c0:c1].t(), out=e)
            e.sub_(shift).exp_()
            sums[0, r0:r1] += e.sum(1).to(acc)
            sums[1, c0:c1] += e.sum(0).to(acc)
            if not pos.is_sparse:
                t = pbuf[: r1 - r0, : c1 - c0]
                sums[2, r0:r1] += pos.masked_into(t, e, r0, r1, c0, c1).sum(1).to(acc)
                t.copy_(transposed_tile(pos, r0, r1, c0, c1)).mul_(e)
                sums[3, c0:c1] += t.sum(0).to(acc)
    return sums


class CrossViewFunction(torch.autograd.Function):
    """Per-anchor losses of both directions, ``[2, N]``, for scores
    ``s = a @ b.T`` (``a`` already scaled by 1/tau, rows of both unit-norm)."""

    @staticmethod
    def forward(ctx, a, b, pos_dense, rows, cols, vals, br: int, bc: int, shift: float):
        pos = Positives(pos_dense, rows, cols, vals)
        sums = forward_sums(a, b, pos, shift, br, bc)
        lse = sums[:2].log() + shift  # [direction, anchor]
        if pos.is_sparse:
            lse_pos = torch.stack([sparse_log_pos(a, b, pos, None),
                                   sparse_log_pos(b, a, pos, None)])
        else:
            lse_pos = sums[2:].log() + shift
        ctx.save_for_backward(a, b, lse, lse_pos, pos_dense, rows, cols, vals)
        ctx.blocks, ctx.shift = (br, bc), shift
        return (lse - lse_pos).to(a.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        a, b, lse, lse_pos, pos_dense, rows, cols, vals = ctx.saved_tensors
        pos = Positives(pos_dense, rows, cols, vals)
        (br, bc), shift, dtype, n = ctx.blocks, ctx.shift, a.dtype, a.size(0)
        w = grad_out.to(dtype)
        # dl/ds_ij = w1_i E_ij / rowsum_i + w2_j E_ij / colsum_j
        #            - w1_i P_ij E_ij / possum1_i - w2_j P_ji E_ij / possum2_j
        scale_all = (w.to(lse.dtype) * (shift - lse).exp()).to(dtype)
        scale_pos = (w.to(lse.dtype) * (shift - lse_pos).exp()).to(dtype)
        grad_a, grad_b = torch.zeros_like(a), torch.zeros_like(b)
        buf = torch.empty(min(br, n), min(bc, n), dtype=dtype, device=a.device)
        gbuf, pbuf = torch.empty_like(buf), torch.empty_like(buf)
        for r0, r1 in blocks(n, br):
            for c0, c1 in blocks(n, bc):
                e, g = buf[: r1 - r0, : c1 - c0], gbuf[: r1 - r0, : c1 - c0]
                torch.mm(a[r0:r1], b[c0:c1].t(), out=e)
                e.sub_(shift).exp_()
                torch.mul(e, scale_all[0, r0:r1].unsqueeze(1), out=g)
                g.addcmul_(e, scale_all[1, c0:c1].unsqueeze(0))
                if not pos.is_sparse:
                    t = pbuf[: r1 - r0, : c1 - c0]
                    g.addcmul_(pos.masked_into(t, e, r0, r1, c0, c1),
                               scale_pos[0, r0:r1].unsqueeze(1), value=-1.0)
                    t.copy_(transposed_tile(pos, r0, r1, c0, c1)).mul_(e)
                    g.addcmul_(t, scale_pos[1, c0:c1].unsqueeze(0), value=-1.0)
                grad_a[r0:r1].addmm_(g, b[c0:c1])
                grad_b[c0:c1].addmm_(g.t(), a[r0:r1])
        if pos.is_sparse:
            add_positive_pair_grads(a, b, pos, lse_pos[0], w[0], grad_a, grad_b)
            add_positive_pair_grads(b, a, pos, lse_pos[1], w[1], grad_b, grad_a)  # on s_ji
        return grad_a, grad_b, None, None, None, None, None, None, None
