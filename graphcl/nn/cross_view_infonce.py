r"""Both directions of a cross-view multi-positive InfoNCE (HeCo's
``lam * L(z1 -> z2) + (1 - lam) * L(z2 -> z1)``) from one pass over the
similarity tiles: the second direction's scores are the first one's
transpose, so each tile is computed once (one GEMM instead of two forward,
three instead of six backward)."""
from __future__ import annotations

from typing import Tuple, Union

import torch
from torch import Tensor

from graphcl.nn.infonce import (DEFAULT_BLOCK_SIZE, BlockSize, _acc_dtype,
                                _add_positive_pair_grads, _blocks, _check_block_size,
                                _check_embeddings, _check_tau, _check_tau_range, _compute_dtype,
                                _infonce_rows, _Positives, _prepare_mask, _scaled_inputs,
                                _sparse_log_pos, multi_positive_infonce)

__all__ = ["cross_view_infonce"]

# With cosine scores |s| <= 1/tau, so exp(s - 1/tau) lies in [exp(-2/tau), 1]:
# one fixed shift serves every row and every column at once. The gradient
# divides by positive sums that can be as small as exp(-2/tau); 2/tau <= 40
# keeps those quotients (<= e^40) far inside float32. Smaller tau takes the
# two-call path, which keeps per-row running maxima.
_MAX_SHIFT_RANGE = 40.0


def _transposed_tile(pos: _Positives, r0: int, r1: int, c0: int, c1: int) -> Tensor:
    """P[c0:c1, r0:r1]^T: the mask entries (i, j) that weight s_ji."""
    return pos.dense[c0:c1, r0:r1].t()


def _forward_sums(a: Tensor, b: Tensor, pos: _Positives, shift: float, br: int, bc: int):
    """Row and column sums of E = exp(a b^T - shift) and, for a dense mask,
    sum_j P_ij E_ij (rows) and sum_j P_ij E_ji (columns), in float64."""
    n, dtype, acc = a.size(0), a.dtype, _acc_dtype(a.dtype)
    sums = torch.zeros(4 if not pos.is_sparse else 2, n, dtype=acc, device=a.device)
    buf = torch.empty(min(br, n), min(bc, n), dtype=dtype, device=a.device)
    pbuf = None if pos.is_sparse else torch.empty_like(buf)
    for r0, r1 in _blocks(n, br):
        for c0, c1 in _blocks(n, bc):
            e = buf[: r1 - r0, : c1 - c0]
            torch.mm(a[r0:r1], b[c0:c1].t(), out=e)
            e.sub_(shift).exp_()
            sums[0, r0:r1] += e.sum(1).to(acc)
            sums[1, c0:c1] += e.sum(0).to(acc)
            if not pos.is_sparse:
                t = pbuf[: r1 - r0, : c1 - c0]
                sums[2, r0:r1] += pos.masked_into(t, e, r0, r1, c0, c1).sum(1).to(acc)
                t.copy_(_transposed_tile(pos, r0, r1, c0, c1)).mul_(e)
                sums[3, c0:c1] += t.sum(0).to(acc)
    return sums


class _CrossViewInfoNCE(torch.autograd.Function):
    """Per-anchor losses of both directions, ``[2, N]``, for scores
    ``s = a @ b.T`` (``a`` already scaled by 1/tau, rows of both unit-norm)."""

    @staticmethod
    def forward(ctx, a, b, pos_dense, rows, cols, vals, br: int, bc: int, shift: float):
        pos = _Positives(pos_dense, rows, cols, vals)
        sums = _forward_sums(a, b, pos, shift, br, bc)
        lse = sums[:2].log() + shift  # [direction, anchor]
        if pos.is_sparse:
            lse_pos = torch.stack([_sparse_log_pos(a, b, pos, None),
                                   _sparse_log_pos(b, a, pos, None)])
        else:
            lse_pos = sums[2:].log() + shift
        ctx.save_for_backward(a, b, lse, lse_pos, pos_dense, rows, cols, vals)
        ctx.blocks, ctx.shift = (br, bc), shift
        return (lse - lse_pos).to(a.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        a, b, lse, lse_pos, pos_dense, rows, cols, vals = ctx.saved_tensors
        pos = _Positives(pos_dense, rows, cols, vals)
        (br, bc), shift, dtype, n = ctx.blocks, ctx.shift, a.dtype, a.size(0)
        w = grad_out.to(dtype)
        # dl/ds_ij = w1_i E_ij / rowsum_i + w2_j E_ij / colsum_j
        #            - w1_i P_ij E_ij / possum1_i - w2_j P_ji E_ij / possum2_j
        scale_all = (w.to(lse.dtype) * (shift - lse).exp()).to(dtype)
        scale_pos = (w.to(lse.dtype) * (shift - lse_pos).exp()).to(dtype)
        grad_a, grad_b = torch.zeros_like(a), torch.zeros_like(b)
        buf = torch.empty(min(br, n), min(bc, n), dtype=dtype, device=a.device)
        gbuf, pbuf = torch.empty_like(buf), torch.empty_like(buf)
        for r0, r1 in _blocks(n, br):
            for c0, c1 in _blocks(n, bc):
                e, g = buf[: r1 - r0, : c1 - c0], gbuf[: r1 - r0, : c1 - c0]
                torch.mm(a[r0:r1], b[c0:c1].t(), out=e)
                e.sub_(shift).exp_()
                torch.mul(e, scale_all[0, r0:r1].unsqueeze(1), out=g)
                g.addcmul_(e, scale_all[1, c0:c1].unsqueeze(0))
                if not pos.is_sparse:
                    t = pbuf[: r1 - r0, : c1 - c0]
                    g.addcmul_(pos.masked_into(t, e, r0, r1, c0, c1),
                               scale_pos[0, r0:r1].unsqueeze(1), value=-1.0)
                    t.copy_(_transposed_tile(pos, r0, r1, c0, c1)).mul_(e)
                    g.addcmul_(t, scale_pos[1, c0:c1].unsqueeze(0), value=-1.0)
                grad_a[r0:r1].addmm_(g, b[c0:c1])
                grad_b[c0:c1].addmm_(g.t(), a[r0:r1])
        if pos.is_sparse:
            _add_positive_pair_grads(a, b, pos, lse_pos[0], w[0], grad_a, grad_b)
            _add_positive_pair_grads(b, a, pos, lse_pos[1], w[1], grad_b, grad_a)  # on s_ji
        return grad_a, grad_b, None, None, None, None, None, None, None


def cross_view_infonce(z1: Tensor, z2: Tensor, pos_mask: Tensor, tau: Union[float, Tensor], *,
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
        pos_mask (Tensor): :math:`(N, N)` positive weights :math:`\ge 0`,
            dense or sparse (COO/CSR), every row with a positive.
        tau (float or Tensor): temperature :math:`\tau > 0`.
        block_size (int or (int, int), optional): tile size.

    Returns:
        ``(loss_12, loss_21)``, each :math:`(N,)`, in the dtype of ``z1``.

    Raises ``ValueError``/``TypeError`` naming ``z1``, ``z2``, ``pos_mask``
    or ``tau`` for the same bad inputs as :class:`MultiPositiveInfoNCE`
    (including a ``tau`` too small for the dtype).
    """
    names = ("z1", "z2")
    _check_embeddings(z1, z2, names)
    _check_tau(tau)
    dtype = _compute_dtype(z1.dtype)
    _check_tau_range(tau, dtype)
    br, bc = _check_block_size(block_size)
    if z1.size(0) != z2.size(0):
        raise ValueError(f"z1 and z2 must be two views of the same nodes (same number of rows), "
                         f"got {z1.size(0)} and {z2.size(0)}")
    n = z1.size(0)
    pos = _prepare_mask(pos_mask, n, n, z1.device, dtype, ref="z1")
    tau_value = float(tau.detach()) if isinstance(tau, Tensor) else float(tau)
    if 2.0 / tau_value > _MAX_SHIFT_RANGE:
        return _two_directions(z1, z2, pos, tau, br, bc)
    a, b = _scaled_inputs(z1, z2, tau, normalize=True)
    losses = _CrossViewInfoNCE.apply(a, b, pos.dense, pos.rows, pos.cols, pos.vals, br, bc,
                                     1.0 / tau_value)
    if not bool(torch.isfinite(losses.detach()).all()):
        # a positive sum underflowed under the fixed shift (weights far below 1)
        return _two_directions(z1, z2, pos, tau, br, bc)
    losses = losses.to(z1.dtype)
    return losses[0], losses[1]


def _two_directions(z1, z2, pos: _Positives, tau, br: int, bc: int) -> Tuple[Tensor, Tensor]:
    """Both directions as two blockwise InfoNCE calls (running row maxima
    instead of one fixed shift), on an already validated mask."""
    names = ("z1", "z2")
    l12 = _infonce_rows(z1, z2, pos, tau, True, br, bc, None, names)
    l21 = _infonce_rows(z2, z1, pos, tau, True, br, bc, None, names[::-1])
    return l12.to(z1.dtype), l21.to(z1.dtype)


def _two_calls(z1, z2, pos_mask, tau, block_size=DEFAULT_BLOCK_SIZE):
    """``cross_view_infonce`` without the fused pass: two
    ``multi_positive_infonce`` calls (benchmarks compare the two)."""
    kwargs = dict(block_size=block_size, reduction="none")
    return (multi_positive_infonce(z1, z2, pos_mask, tau, **kwargs),
            multi_positive_infonce(z2, z1, pos_mask, tau, **kwargs))
