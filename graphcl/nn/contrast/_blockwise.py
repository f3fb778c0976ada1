"""The blockwise InfoNCE as an autograd function, and the per-anchor losses
from validated inputs (private to :mod:`graphcl.nn.contrast`)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from graphcl.nn.contrast._numerics import compute_dtype, unit_rows
from graphcl.nn.contrast._positives import Positives
from graphcl.nn.contrast._tiles import forward_stats
from graphcl.nn.contrast._tiles_backward import backward_grads, needs_consistent_scores


class BlockwiseInfoNCE(torch.autograd.Function):
    """Per-anchor losses ``lse_all_i - lse_pos_i`` of scores ``s = a @ b.T``
    (``a`` already scaled by 1/tau); keeps only O(N + M) statistics for backward."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, pos_dense: Optional[Tensor], rows: Optional[Tensor],
                cols: Optional[Tensor], vals: Optional[Tensor], br: int, bc: int,
                diag: Optional[float]) -> Tensor:
        pos = Positives(pos_dense, rows, cols, vals)
        lse, lse_pos, loss, exact_rows = forward_stats(a, b, pos, br, bc, diag)
        ctx.save_for_backward(a, b, lse, lse_pos, loss, exact_rows, pos_dense, rows, cols, vals)
        ctx.blocks, ctx.diag = (br, bc), diag
        return loss.to(a.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        a, b, lse, lse_pos, loss, exact_rows, pos_dense, rows, cols, vals = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (need_a or need_b):
            return (None,) * 9
        grad_a, grad_b = backward_grads(a, b, Positives(pos_dense, rows, cols, vals), lse, lse_pos,
                                   loss, grad_out.contiguous(), *ctx.blocks, need_a, need_b,
                                   ctx.diag,
                                   exact_rows, needs_consistent_scores(a, b))
        return grad_a, grad_b, None, None, None, None, None, None, None


def scaled_inputs(anchor: Tensor, sample: Tensor, tau, normalize: bool) -> Tuple[Tensor, Tensor]:
    """(a, b) with scores a @ b.T = sim / tau, in the compute dtype."""
    same = sample is anchor
    dtype = compute_dtype(anchor.dtype)
    if anchor.dtype != dtype:  # half/bfloat16: compute in float32
        anchor = anchor.to(dtype)
        sample = anchor if same else sample.to(dtype)
    if isinstance(tau, Tensor):
        tau = tau.to(device=anchor.device, dtype=dtype).reshape(())
    if normalize:
        b = unit_rows(sample)
        a = b if same else unit_rows(anchor)
    else:
        a, b = anchor, sample
    return (a / tau).contiguous(), b.contiguous()


def infonce_rows(anchor: Tensor, sample: Tensor, pos: Positives, tau, normalize: bool,
                  br: int, bc: int, diag_score: Optional[float],
                  names: Tuple[str, str] = ("anchor", "sample")) -> Tensor:
    """Per-anchor losses ``[N]`` in the compute dtype, from validated inputs."""
    a, b = scaled_inputs(anchor, sample, tau, normalize)
    losses = BlockwiseInfoNCE.apply(a, b, pos.dense, pos.rows, pos.cols, pos.vals, br, bc,
                                     diag_score)
    if not bool(torch.isfinite(losses.detach()).all()):
        # Cosine scores are bounded by 1/tau, which check_tau_range keeps in
        # range; raw dot products are not bounded.
        hint = (f"the dot products <{names[0]}_i, {names[1]}_j> / tau overflow {a.dtype} "
                f"(normalize=False); scale the embeddings down, use normalize=True or float64"
                if not normalize else
                f"the scores overflow {a.dtype}; use float64 embeddings")
        raise ValueError(f"the InfoNCE loss is not finite: {hint}")
    return losses


def reduce_losses(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses
