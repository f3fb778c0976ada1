r"""Blockwise multi-positive InfoNCE (HeCo's cross-view loss, SCGC's neighbour
contrast, ...) with O(N·block) memory instead of O(N·M)."""
from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple, Union

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["MultiPositiveInfoNCE", "multi_positive_infonce"]

BlockSize = Union[int, Tuple[int, int]]

DEFAULT_BLOCK_SIZE = 2048  # 2048 x 2048 float32 tiles (16 MiB): GEMM-bound on CPU
_PAIR_CHUNK = 1 << 15  # positive pairs gathered at a time on the sparse path
_CHECK_ELEMENTS = 1 << 24  # dense-mask elements inspected at a time during validation
_REDUCTIONS = ("mean", "sum", "none")
# Above |a_i| |b_j| * eps = 2^-20 (float32: scores beyond ~8; float64: ~4e9) the
# backward repeats the forward's GEMMs exactly instead of fusing the shift.
_CONSISTENT_SCORES_TOLERANCE = 2.0 ** -20


# --------------------------------------------------------------------------- #
# Numerical constants of the compute dtype
# --------------------------------------------------------------------------- #
def _log_tiny(dtype: torch.dtype) -> float:
    """log of the smallest normal number: exp() below it only makes
    denormals (slow on x86, and negligible next to a sum that is >= 1)."""
    return math.log(torch.finfo(dtype).tiny)


def _half_log_tiny(dtype: torch.dtype) -> float:
    """log(sqrt(tiny)): a positive sum below exp() of this (relative to the
    row's running max), i.e. a row loss above -this (~43.7 in float32), is
    recomputed on the exact path; above it the clamping at ``tiny`` costs at
    most M * sqrt(tiny) relative error."""
    return 0.5 * _log_tiny(dtype)


def _acc_dtype(dtype: torch.dtype) -> torch.dtype:
    """Per-row running sums are kept in float64 (they are only O(rows))."""
    return torch.float64 if dtype in (torch.float32, torch.float64) else dtype


# --------------------------------------------------------------------------- #
# Positive-mask representation
# --------------------------------------------------------------------------- #
class _Positives:
    """Either a dense ``[N, M]`` mask (``dense``) or the list of positive
    pairs of a sparse mask (``rows``, ``cols``, ``vals``; only entries > 0)."""

    __slots__ = ("dense", "rows", "cols", "vals")

    def __init__(self, dense=None, rows=None, cols=None, vals=None):
        self.dense, self.rows, self.cols, self.vals = dense, rows, cols, vals

    @property
    def is_sparse(self) -> bool:
        return self.dense is None

    def masked_into(self, out: Tensor, e: Tensor, r0: int, r1: int, c0: int, c1: int) -> Tensor:
        """out = P[r0:r1, c0:c1] * e, for one tile (converting a bool, integer
        or other-precision tile into ``out`` first is faster than a
        mixed-dtype multiplication)."""
        blk = self.dense[r0:r1, c0:c1]
        if blk.dtype == e.dtype:
            return torch.mul(e, blk, out=out)
        return out.copy_(blk).mul_(e)

    def log_block(self, rows: Tensor, c0: int, c1: int, dtype: torch.dtype) -> Tensor:
        """log(P) of the given rows (gathered, ``k x block``): 0 -> -inf.

        A float64 mask is taken to the log before it is cast: a weight such as
        1e-300 underflows float32, its log (-690.8) does not."""
        blk = self.dense[rows, c0:c1]
        if blk.dtype == torch.float64:
            return blk.log().to(dtype)
        return blk.to(dtype).log_()


def _row_check_chunks(n_rows: int, n_cols: int):
    step = max(1, _CHECK_ELEMENTS // max(n_cols, 1))
    for r0 in range(0, n_rows, step):
        yield r0, min(r0 + step, n_rows)


def _no_positive_error(has_pos: Tensor, name: str) -> None:
    missing = (~has_pos).nonzero()
    if missing.numel():
        raise ValueError(
            f"{name} has {missing.numel()} row(s) without any positive entry (first: row "
            f"{int(missing[0, 0])}); every anchor needs at least one positive, otherwise its "
            f"loss is infinite")


def _prepare_mask(pos_mask: Tensor, n: int, m: int, device: torch.device,
                  dtype: torch.dtype = torch.float64, name: str = "pos_mask",
                  ref: str = "anchor") -> _Positives:
    """Validates the mask (``name`` in messages; ``ref`` names the embedding
    whose device it must share) and returns its positives. ``dtype`` is the
    compute dtype: a dense mask's tiles are cast to it, so its weights must
    not overflow it."""
    if not isinstance(pos_mask, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (dense, sparse COO or sparse CSR), "
                        f"got {type(pos_mask).__name__}")
    if tuple(pos_mask.shape) != (n, m):
        raise ValueError(f"{name} must have shape [N, M] = [{n}, {m}] (anchor rows x sample "
                         f"rows), got {list(pos_mask.shape)}")
    if pos_mask.device != device:
        raise ValueError(f"{name} is on {pos_mask.device} but {ref} is on {device}")
    if pos_mask.dtype.is_complex:
        raise TypeError(f"{name} must be bool, integer or floating, got {pos_mask.dtype}")

    layout = pos_mask.layout
    if layout == torch.strided:
        _check_dense_mask(pos_mask, n, m, device, dtype, name)
        return _Positives(dense=pos_mask)

    if layout == torch.sparse_coo:
        if pos_mask.sparse_dim() != 2 or pos_mask.dense_dim() != 0:
            raise ValueError(f"a sparse COO {name} must have 2 sparse and 0 dense dimensions, "
                             f"got {pos_mask.sparse_dim()} sparse and {pos_mask.dense_dim()} dense")
        idx = pos_mask._indices()
        if idx.numel() and (int(idx.min()) < 0 or int(idx[0].max()) >= n or int(idx[1].max()) >= m):
            raise ValueError(f"{name} (sparse COO) has indices outside its shape [{n}, {m}]")
        vals = pos_mask._values()
        _check_sparse_values(vals, name)
        coalesced = pos_mask.coalesce()  # duplicate entries are summed
        rows, cols = coalesced.indices()
        vals = coalesced.values()
    elif layout == torch.sparse_csr:
        if pos_mask.dense_dim() != 0:
            raise ValueError(f"a sparse CSR {name} must have no dense dimensions, got "
                             f"{pos_mask.dense_dim()}")
        crow, cols, vals = pos_mask.crow_indices(), pos_mask.col_indices(), pos_mask.values()
        counts = crow.diff()
        if (crow.numel() != n + 1 or int(crow[0]) != 0 or int(crow[-1]) != cols.numel()
                or (counts.numel() and int(counts.min()) < 0)):
            raise ValueError(f"{name} (sparse CSR) has an invalid crow_indices array")
        if cols.numel() and (int(cols.min()) < 0 or int(cols.max()) >= m):
            raise ValueError(f"{name} (sparse CSR) has column indices outside [0, {m})")
        _check_sparse_values(vals, name)
        rows = torch.repeat_interleave(torch.arange(n, device=device), counts)
    else:
        raise TypeError(f"{name} layout {layout} is not supported; use a dense tensor, "
                        f"sparse COO or sparse CSR")

    keep = vals > 0
    if not bool(keep.all()):  # explicit zeros are not positives
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    has_pos = torch.zeros(n, dtype=torch.bool, device=device)
    has_pos[rows] = True
    _no_positive_error(has_pos, name)
    return _Positives(rows=rows.long(), cols=cols.long(), vals=vals)


def _check_dense_mask(pos_mask: Tensor, n: int, m: int, device: torch.device,
                      dtype: torch.dtype, name: str) -> None:
    """One pass over the mask in row chunks (no N x M temporary): finite,
    >= 0, representable in ``dtype``, a positive in every row."""
    # Tiles of a wider mask are cast to the compute dtype: a weight beyond its
    # range would become inf (and inf * 0 = NaN in the gradient).
    wider = pos_mask.dtype == torch.float64 and dtype != torch.float64
    limit = torch.finfo(dtype).max if wider else None
    has_pos = torch.zeros(n, dtype=torch.bool, device=device)
    for r0, r1 in _row_check_chunks(n, m):
        chunk = pos_mask[r0:r1]
        if chunk.dtype == torch.bool:
            has_pos[r0:r1] = chunk.any(1)
            continue
        if chunk.is_floating_point() and not bool(torch.isfinite(chunk).all()):
            raise ValueError(f"{name} contains NaN or Inf entries; weights must be finite")
        if chunk.numel() and float(chunk.amin()) < 0:
            raise ValueError(f"{name} has negative entries; positive weights must be >= 0")
        if limit is not None and chunk.numel() and float(chunk.amax()) > limit:
            raise ValueError(f"{name} has weights up to {float(chunk.amax()):.3g}, beyond the "
                             f"range of {dtype} (the embeddings' compute dtype, max "
                             f"{limit:.3g}); rescale the weights or use a sparse {name}")
        has_pos[r0:r1] = (chunk > 0).any(1)
    _no_positive_error(has_pos, name)


def _check_sparse_values(vals: Tensor, name: str) -> None:
    if vals.numel() == 0:
        return
    if vals.dtype == torch.bool:
        return
    if vals.is_floating_point() and not bool(torch.isfinite(vals).all()):
        raise ValueError(f"{name} contains NaN or Inf entries; weights must be finite")
    if float(vals.min()) < 0:
        raise ValueError(f"{name} has negative entries; positive weights must be >= 0")


# --------------------------------------------------------------------------- #
# Kernels (all under no_grad; called from the autograd Function)
# --------------------------------------------------------------------------- #
def _blocks(total: int, step: int):
    for s in range(0, total, step):
        yield s, min(s + step, total)


def _pair_scores(a: Tensor, b: Tensor, rows: Tensor, cols: Tensor):
    """Yields (slice, s_pair) with s_pair = <a_row, b_col> for chunks of pairs."""
    for p0, p1 in _blocks(rows.numel(), _PAIR_CHUNK):
        r, c = rows[p0:p1], cols[p0:p1]
        yield p0, p1, (a.index_select(0, r) * b.index_select(0, c)).sum(1)


def _set_diagonal(tile: Tensor, r0: int, c0: int, diag: Optional[float]) -> None:
    """Overwrites the entries (i, i) of a tile whose top-left corner is the
    global entry (r0, c0): they lie on the tile's diagonal r0 - c0."""
    if diag is not None:
        tile.diagonal(r0 - c0).fill_(diag)


def _set_gathered_diagonal(tile: Tensor, rows: Tensor, c0: int, c1: int,
                           diag: Optional[float]) -> None:
    """Same for a tile of gathered anchor rows (``rows``) x columns [c0, c1)."""
    if diag is not None:
        inside = ((rows >= c0) & (rows < c1)).nonzero().flatten()
        tile[inside, rows[inside] - c0] = diag


def _sparse_log_pos(a: Tensor, b: Tensor, pos: _Positives, diag: Optional[float]) -> Tensor:
    """log sum_j P_ij exp(s_ij) from the positive pairs only, O(nnz * d)."""
    n = a.size(0)
    acc = _acc_dtype(a.dtype)
    v = torch.empty(pos.rows.numel(), dtype=acc, device=a.device)  # s_ij + log P_ij
    for p0, p1, s in _pair_scores(a, b, pos.rows, pos.cols):
        v[p0:p1] = s
    if diag is not None:
        v.masked_fill_(pos.rows == pos.cols, diag)
    v.add_(pos.vals.to(acc).log())
    row_max = torch.full((n,), -math.inf, dtype=acc, device=a.device)
    row_max.scatter_reduce_(0, pos.rows, v, reduce="amax", include_self=True)
    sums = torch.zeros(n, dtype=acc, device=a.device).index_add_(0, pos.rows,
                                                                  (v - row_max[pos.rows]).exp())
    return row_max + sums.log()


def _add_positive_pair_grads(a: Tensor, b: Tensor, pos: _Positives, lse_pos: Tensor,
                             w: Tensor, grad_a: Optional[Tensor], grad_b: Optional[Tensor],
                             zero_diagonal: bool = False) -> None:
    """The positives' part of the gradient of a sparse mask, from the pairs:
    dl/ds_ij += -w_i P_ij exp(s_ij - lse_pos_i) for s = a b^T, added into
    ``grad_a``/``grad_b`` (either may be None). Swapping (a, grad_a) with
    (b, grad_b) gives the transposed direction, s_ji."""
    acc = lse_pos.dtype
    for p0, p1, s in _pair_scores(a, b, pos.rows, pos.cols):
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


def _forward_stats(a: Tensor, b: Tensor, pos: _Positives, br: int, bc: int,
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
    dtype, acc = a.dtype, _acc_dtype(a.dtype)
    log_tiny = _log_tiny(dtype)
    lse = torch.empty(n, dtype=acc, device=a.device)
    lse_pos = None if pos.is_sparse else torch.empty(n, dtype=acc, device=a.device)
    loss = None if pos.is_sparse else torch.empty(n, dtype=acc, device=a.device)
    buf = torch.empty(min(br, n), min(bc, m), dtype=dtype, device=a.device)
    pbuf = None if pos.is_sparse else torch.empty_like(buf)
    for r0, r1 in _blocks(n, br):
        a_r = a[r0:r1]
        run_max = torch.full((r1 - r0,), -math.inf, dtype=dtype, device=a.device)
        run_sum = torch.zeros(r1 - r0, dtype=acc, device=a.device)
        pos_sum = None if pos.is_sparse else torch.zeros_like(run_sum)
        for c0, c1 in _blocks(m, bc):
            s = buf[: r1 - r0, : c1 - c0]
            torch.mm(a_r, b[c0:c1].t(), out=s)
            _set_diagonal(s, r0, c0, diag)
            new_max = torch.maximum(run_max, s.amax(1))
            scale = (run_max - new_max).exp().to(acc)  # exp(-inf) = 0 on the first tile
            run_max = new_max
            s.sub_(new_max.unsqueeze(1)).clamp_min_(log_tiny).exp_()
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
            exact = (pos_sum < math.exp(_half_log_tiny(dtype))) | \
                (loss[r0:r1] > -_half_log_tiny(dtype))
            lse_pos[r0:r1].masked_fill_(exact, math.nan)
    if pos.is_sparse:
        lse_pos = _sparse_log_pos(a, b, pos, diag)
        return lse, lse_pos, lse - lse_pos, torch.zeros(0, dtype=torch.long, device=a.device)
    bad = lse_pos.isnan().nonzero().flatten()
    for k0, k1 in _blocks(bad.numel(), br):
        rows = bad[k0:k1]
        a_k = a.index_select(0, rows)
        out = torch.full((rows.numel(),), -math.inf, dtype=acc, device=a.device)
        for c0, c1 in _blocks(m, bc):
            t = torch.mm(a_k, b[c0:c1].t())
            _set_gathered_diagonal(t, rows, c0, c1, diag)
            t = t.to(acc).add_(pos.log_block(rows, c0, c1, acc))
            out = torch.logaddexp(out, torch.logsumexp(t, 1))
        lse_pos[rows] = out
        loss[rows] = lse[rows] - out
    return lse, lse_pos, loss, bad


def _shifted_scores(out: Tensor, a_r: Tensor, b_c: Tensor, neg_shift: Tensor,
                    consistent: bool) -> Tensor:
    """out = a_r @ b_c.T + neg_shift (a column). The fused addmm rounds
    differently from the forward's mm (float64 on CPU): harmless for ordinary
    scores, but with huge ones (``consistent``) the forward's exact GEMM is
    repeated and the shift subtracted after it."""
    if not consistent:
        return torch.addmm(neg_shift, a_r, b_c.t(), out=out)
    return torch.mm(a_r, b_c.t(), out=out).add_(neg_shift)


def _needs_consistent_scores(a: Tensor, b: Tensor) -> bool:
    """Whether |s_ij| can be so large that one rounding of the GEMM moves
    exp(s_ij - lse_i) noticeably: |a_i| |b_j| * eps > 2^-20."""
    bound = float(a.norm(dim=1).amax()) * float(b.norm(dim=1).amax())
    return not bound * torch.finfo(a.dtype).eps <= _CONSISTENT_SCORES_TOLERANCE


def _backward(a: Tensor, b: Tensor, pos: _Positives, lse: Tensor, lse_pos: Tensor,
              loss: Tensor, w: Tensor, br: int, bc: int, need_a: bool, need_b: bool,
              diag: Optional[float] = None, exact_rows: Optional[Tensor] = None,
              consistent: bool = False):
    """dL/ds_ij = w_i (exp(s_ij - lse_i) - P_ij exp(s_ij - lse_pos_i)), recomputing
    s tile by tile; grad_a = G b, grad_b = G^T a. ``exact_rows`` are the rows
    the forward pass recomputed exactly (dense mask); they take the same path
    here. Every exp() argument is <= 0 in exact arithmetic and clamped to it."""
    n, m = a.size(0), b.size(0)
    dtype = a.dtype
    log_tiny = _log_tiny(dtype)
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
        ratio = loss.clamp_max(-_half_log_tiny(dtype)).exp().masked_fill_(bad, 0.0)
        neg_ratio = (-ratio).to(dtype)
    buf = torch.empty(min(br, n), min(bc, m), dtype=dtype, device=a.device)
    pbuf = None if pos.is_sparse else torch.empty_like(buf)
    for r0, r1 in _blocks(n, br):
        a_r = a[r0:r1]
        aw_r = a_r * w_c[r0:r1].unsqueeze(1) if need_b else None
        ga_r = torch.zeros_like(a_r) if need_a else None
        bias = neg_lse[r0:r1].unsqueeze(1)
        for c0, c1 in _blocks(m, bc):
            e = _shifted_scores(buf[: r1 - r0, : c1 - c0], a_r, b[c0:c1], bias, consistent)
            e.clamp_(log_tiny, 0.0).exp_()  # softmax over all candidates
            if not pos.is_sparse:
                t = pbuf[: r1 - r0, : c1 - c0]
                pos.masked_into(t, e, r0, r1, c0, c1)
                e.addcmul_(t, neg_ratio[r0:r1].unsqueeze(1))  # - P * positives' softmax
            _set_diagonal(e, r0, c0, None if diag is None else 0.0)  # a constant: no gradient
            if need_a:
                ga_r.addmm_(e, b[c0:c1])
            if need_b:
                grad_b[c0:c1].addmm_(e.t(), aw_r)
        if need_a:
            grad_a[r0:r1] = ga_r.mul_(w_c[r0:r1].unsqueeze(1))

    if pos.is_sparse:
        _add_positive_pair_grads(a, b, pos, lse_pos, w_c, grad_a, grad_b, diag is not None)
        return grad_a, grad_b

    # The forward's rows and chunks, so that a_k and every GEMM below are the
    # forward's own (see _forward_stats).
    for k0, k1 in _blocks(exact_rows.numel(), br):
        rows = exact_rows[k0:k1]
        a_k = a.index_select(0, rows)
        bias = (-lse_pos[rows]).unsqueeze(1)
        wk = w_c[rows].unsqueeze(1)
        ga_k = torch.zeros_like(a_k) if need_a else None
        for c0, c1 in _blocks(m, bc):
            q = torch.mm(a_k, b[c0:c1].t()).to(bias.dtype)  # in the accumulation dtype
            q.add_(pos.log_block(rows, c0, c1, bias.dtype)).add_(bias).clamp_max_(0.0).exp_()
            q = q.to(dtype).mul_(wk).neg_()
            _set_gathered_diagonal(q, rows, c0, c1, None if diag is None else 0.0)
            if need_a:
                ga_k.addmm_(q, b[c0:c1])
            if need_b:
                grad_b[c0:c1].addmm_(q.t(), a_k)
        if need_a:
            grad_a.index_add_(0, rows, ga_k)
    return grad_a, grad_b


class _BlockwiseInfoNCE(torch.autograd.Function):
    """Per-anchor losses ``lse_all_i - lse_pos_i`` of scores ``s = a @ b.T``
    (``a`` already scaled by 1/tau); keeps only O(N + M) statistics for backward."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, pos_dense: Optional[Tensor], rows: Optional[Tensor],
                cols: Optional[Tensor], vals: Optional[Tensor], br: int, bc: int,
                diag: Optional[float]) -> Tensor:
        pos = _Positives(pos_dense, rows, cols, vals)
        lse, lse_pos, loss, exact_rows = _forward_stats(a, b, pos, br, bc, diag)
        ctx.save_for_backward(a, b, lse, lse_pos, loss, exact_rows, pos_dense, rows, cols, vals)
        ctx.blocks, ctx.diag = (br, bc), diag
        return loss.to(a.dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        a, b, lse, lse_pos, loss, exact_rows, pos_dense, rows, cols, vals = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (need_a or need_b):
            return (None,) * 9
        grad_a, grad_b = _backward(a, b, _Positives(pos_dense, rows, cols, vals), lse, lse_pos,
                                   loss, grad_out.contiguous(), *ctx.blocks, need_a, need_b,
                                   ctx.diag,
                                   exact_rows, _needs_consistent_scores(a, b))
        return grad_a, grad_b, None, None, None, None, None, None, None


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #
def _check_block_size(block_size: BlockSize) -> Tuple[int, int]:
    sizes = block_size if isinstance(block_size, (tuple, list)) else (block_size, block_size)
    if len(sizes) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                  for v in sizes):
        raise TypeError(f"block_size must be an int or a pair (rows, cols) of ints, "
                        f"got {block_size!r}")
    if min(sizes) < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size!r}")
    return int(sizes[0]), int(sizes[1])


def _check_tau(tau) -> None:
    if isinstance(tau, Tensor):
        if tau.numel() != 1:
            raise ValueError(f"tau must be a scalar, got a tensor of shape {list(tau.shape)}")
        if tau.dtype == torch.bool or tau.dtype.is_complex:
            raise TypeError(f"tau must be a real number, got a tensor of dtype {tau.dtype}")
        value = float(tau.detach())
    elif isinstance(tau, numbers.Real) and not isinstance(tau, bool):
        value = float(tau)
    else:
        raise TypeError(f"tau must be a positive number, got {type(tau).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"tau must be a finite number > 0, got {value}")


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 and float64 are computed as they are; half/bfloat16 in float32."""
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


def _min_tau(dtype: torch.dtype, requires_grad: bool = False) -> float:
    """Smallest tau whose scores and loss are representable in ``dtype``.

    Cosine scores lie in [-1/tau, 1/tau], so the shifted scores of a row and
    its loss span up to 2/tau: 4/tau (a factor 2 of headroom for rounding)
    must be finite. A tau that requires grad also needs dloss/dtau, up to
    2/tau^2, to be finite."""
    limit = 4.0 / torch.finfo(dtype).max
    return math.sqrt(limit) if requires_grad else limit


def _check_tau_range(tau, dtype: torch.dtype) -> None:
    """Refuses a tau so small that 1/tau overflows the compute dtype (the
    loss itself would be Inf), naming tau and the smallest allowed value."""
    requires_grad = isinstance(tau, Tensor) and tau.requires_grad
    value = float(tau.detach()) if isinstance(tau, Tensor) else float(tau)
    smallest = _min_tau(dtype, requires_grad)
    if value < smallest:
        what = "tau (which requires grad, so dloss/dtau ~ 1/tau^2 must fit too)" \
            if requires_grad else "tau"
        raise ValueError(f"{what} = {value:.3g} is too small for {dtype}: the scores "
                         f"cos / tau reach 1/tau = {1.0 / value:.3g}, and {dtype} needs "
                         f"tau >= {smallest:.3g}; use a larger tau or float64 embeddings")


def _check_embeddings(anchor: Tensor, sample: Tensor,
                      names: Tuple[str, str] = ("anchor", "sample")) -> None:
    """Type, shape, dtype, device and finiteness of the two embeddings,
    named ``names`` in the messages."""
    pair = tuple(zip(names, (anchor, sample)))
    for name, x in pair:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.layout != torch.strided:
            raise TypeError(f"{name} must be a dense tensor, got layout {x.layout}")
        if x.dim() != 2:
            raise ValueError(f"{name} must have shape [num_nodes, channels], got {list(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    both = f"{names[0]} and {names[1]}"
    if anchor.dtype != sample.dtype:
        raise TypeError(f"{both} must have the same dtype, got {anchor.dtype} and "
                        f"{sample.dtype}")
    if anchor.device != sample.device:
        raise ValueError(f"{both} must be on the same device, got {anchor.device} and "
                         f"{sample.device}")
    if anchor.size(1) != sample.size(1):
        raise ValueError(f"{both} must have the same number of channels, got "
                         f"{anchor.size(1)} and {sample.size(1)}")
    if anchor.size(0) == 0 or sample.size(0) == 0:
        raise ValueError(f"{both} need at least one row each, got shapes "
                         f"{list(anchor.shape)} and {list(sample.shape)}")
    if anchor.size(1) == 0:
        raise ValueError(f"{both} need at least one channel, got shapes "
                         f"{list(anchor.shape)} and {list(sample.shape)}")
    for name, x in pair:
        if not bool(torch.isfinite(x.detach()).all()):
            raise ValueError(f"{name} contains NaN or Inf")


def _check_normalize(normalize) -> None:
    # a string such as "no" would otherwise count as True
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_diagonal(diagonal, tau, n: int, m: int, dtype: torch.dtype) -> Optional[float]:
    """The constant score that replaces s_ii, or None."""
    if diagonal is None:
        return None
    if not isinstance(diagonal, numbers.Real) or isinstance(diagonal, bool) \
            or not math.isfinite(float(diagonal)):
        raise TypeError(f"diagonal must be None or a finite number, got {diagonal!r}")
    if n != m:
        raise ValueError(f"diagonal replaces sim(z_i, z_i), so anchor and sample need the same "
                         f"number of rows, got {n} and {m}")
    if isinstance(tau, Tensor):
        if tau.requires_grad and float(diagonal) != 0.0:
            raise ValueError("a non-zero diagonal with a tau that requires grad is not supported "
                             "(the replaced score diagonal / tau would need a gradient for tau)")
        tau = float(tau.detach())
    score = float(diagonal) / float(tau)
    # Like the cosine scores, the constant score must leave room for the row's
    # shifted scores (see _min_tau).
    if not abs(score) <= torch.finfo(dtype).max / 4:
        raise ValueError(f"diagonal / tau = {score:.3g} is beyond the range of {dtype}; use a "
                         f"smaller |diagonal| or a larger tau")
    return score


def _unit_rows(x: Tensor) -> Tensor:
    r"""L2-normalises the rows of ``x`` without overflow or underflow.

    :func:`torch.nn.functional.normalize` squares the entries, so a float32
    row with entries near 1e30 has an Inf norm (and normalises to 0) and one
    near 1e-30 an underflowed norm. Each row is first divided by a power of
    two near its largest :math:`|x_{ij}|`: that division is exact, so ordinary
    rows give bit for bit ``F.normalize(x, dim=1)``, and the scale is a
    constant for autograd (normalisation is scale-invariant, so the gradient
    is unchanged). All-zero rows stay zero, as with ``F.normalize``.

    Shapes: ``x`` :math:`(N, d)` -> :math:`(N, d)`.
    """
    peak = x.detach().abs().amax(1, keepdim=True)
    # frexp: peak = mantissa * 2^e with mantissa in [0.5, 1); 2^(e-1) <= peak
    # is a normal or subnormal number of x's dtype for every finite peak.
    exponent = torch.frexp(peak).exponent - 1
    return F.normalize(x / torch.ldexp(torch.ones_like(peak), exponent), dim=1)


def _scaled_inputs(anchor: Tensor, sample: Tensor, tau, normalize: bool) -> Tuple[Tensor, Tensor]:
    """(a, b) with scores a @ b.T = sim / tau, in the compute dtype."""
    same = sample is anchor
    dtype = _compute_dtype(anchor.dtype)
    if anchor.dtype != dtype:  # half/bfloat16: compute in float32
        anchor = anchor.to(dtype)
        sample = anchor if same else sample.to(dtype)
    if isinstance(tau, Tensor):
        tau = tau.to(device=anchor.device, dtype=dtype).reshape(())
    if normalize:
        b = _unit_rows(sample)
        a = b if same else _unit_rows(anchor)
    else:
        a, b = anchor, sample
    return (a / tau).contiguous(), b.contiguous()


def _infonce_rows(anchor: Tensor, sample: Tensor, pos: _Positives, tau, normalize: bool,
                  br: int, bc: int, diag_score: Optional[float],
                  names: Tuple[str, str] = ("anchor", "sample")) -> Tensor:
    """Per-anchor losses ``[N]`` in the compute dtype, from validated inputs."""
    a, b = _scaled_inputs(anchor, sample, tau, normalize)
    losses = _BlockwiseInfoNCE.apply(a, b, pos.dense, pos.rows, pos.cols, pos.vals, br, bc,
                                     diag_score)
    if not bool(torch.isfinite(losses.detach()).all()):
        # Cosine scores are bounded by 1/tau, which _check_tau_range keeps in
        # range; raw dot products are not bounded.
        hint = (f"the dot products <{names[0]}_i, {names[1]}_j> / tau overflow {a.dtype} "
                f"(normalize=False); scale the embeddings down, use normalize=True or float64"
                if not normalize else
                f"the scores overflow {a.dtype}; use float64 embeddings")
        raise ValueError(f"the InfoNCE loss is not finite: {hint}")
    return losses


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def multi_positive_infonce(anchor: Tensor, sample: Tensor, pos_mask: Tensor,
                           tau: Union[float, Tensor], *, normalize: bool = True,
                           block_size: BlockSize = DEFAULT_BLOCK_SIZE,
                           reduction: str = "mean",
                           diagonal: Optional[float] = None) -> Tensor:
    r"""Multi-positive InfoNCE, computed blockwise; see
    :class:`MultiPositiveInfoNCE` for the formula, arguments and shapes."""
    _check_embeddings(anchor, sample)
    _check_tau(tau)
    dtype = _compute_dtype(anchor.dtype)
    _check_tau_range(tau, dtype)
    br, bc = _check_block_size(block_size)
    _check_reduction(reduction)
    _check_normalize(normalize)
    n, m = anchor.size(0), sample.size(0)
    diag_score = _check_diagonal(diagonal, tau, n, m, dtype)
    pos = _prepare_mask(pos_mask, n, m, anchor.device, dtype)
    losses = _infonce_rows(anchor, sample, pos, tau, normalize, br, bc, diag_score)
    return _reduce(losses, reduction).to(anchor.dtype)


class MultiPositiveInfoNCE(nn.Module):
    r"""Multi-positive InfoNCE loss (HeCo's cross-view contrast, SCGC's
    neighbour contrast), computed in row x column tiles with an online
    log-sum-exp so that memory is :math:`O(N \cdot \text{block})`, never
    :math:`O(N \cdot M)`:

    .. math::
        s_{ij} = \frac{\cos(z^{(1)}_i, z^{(2)}_j)}{\tau}, \qquad
        \ell_i = \log \sum_{j} e^{s_{ij}} - \log \sum_{j} P_{ij}\, e^{s_{ij}},
        \qquad \mathcal{L} = \frac{1}{N} \sum_i \ell_i

    With ``normalize=False``, :math:`s_{ij} = \langle z^{(1)}_i, z^{(2)}_j\rangle / \tau`.
    This is HeCo's loss: HeCo computes :math:`e^{s_{ij}}`, divides every row by
    its sum plus ``1e-8`` and takes :math:`-\log \sum_j (\cdot)_{ij} P_{ij}`;
    the value here is the same without the ``1e-8`` (HeCo's
    ``lam * L(z_mp, z_sc, pos) + (1 - lam) * L(z_sc, z_mp, pos)``).

    Each tile is one GEMM; the all-candidates term keeps a running row
    maximum and rescaled sum, so float32 is stable for small :math:`\tau`
    (e.g. 0.05). For a sparse mask the positives' term is computed from the
    positive pairs only (:math:`O(\text{nnz} \cdot d)`); a dense mask is read
    one tile at a time. The backward pass recomputes the tiles from the
    saved per-row log-sum-exps,
    :math:`\partial \ell_i / \partial s_{ij} = \mathrm{softmax}_j(s_i) -
    P_{ij} e^{s_{ij}} / \sum_k P_{ik} e^{s_{ik}}`, and gradients flow to both
    inputs (which may be the same tensor, for intra-view contrast) and to
    :math:`\tau` when it is a tensor. The mask is a constant (no gradient).

    Args:
        tau (float or Tensor): temperature :math:`\tau > 0`.
        block_size (int or (int, int), optional): tile size, rows x columns
            (an int is used for both). Temporaries are
            ``block_rows x block_cols`` elements (two of them with a dense
            mask). (default: :obj:`2048`)
        normalize (bool, optional): use cosine similarity (L2-normalise both
            inputs) instead of raw dot products. (default: :obj:`True`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``
            (per-anchor losses). (default: :obj:`'mean'`)
        diagonal (float, optional): if given, the similarity of each node
            with itself, :math:`\mathrm{sim}(z^{(1)}_i, z^{(2)}_i)` (anchor and
            sample are the same set of nodes, :math:`N = M`), is replaced by
            this constant before dividing by :math:`\tau`, in the denominator
            and in the positives; no gradient flows through it. Graph-MLP and
            SCGC use ``0``. (default: :obj:`None`)

    Shapes:
        - **input:**
          anchor :math:`(N, d)`, sample :math:`(M, d)` (same dtype and device),
          pos_mask :math:`(N, M)`: dense (bool, integer or floating weights
          :math:`\ge 0`) or ``torch.sparse_coo`` / ``torch.sparse_csr``; every
          row needs at least one positive.
        - **output:** scalar, or :math:`(N,)` with ``reduction='none'``.

    Cosine similarity is computed without overflow for any finite input (rows
    are rescaled by a power of two before they are normalised, so entries of
    1e30 in float32 are fine); an all-zero row has cosine 0 with every row,
    as in :func:`torch.nn.functional.cosine_similarity`. Scores reach
    :math:`1/\tau`, so :math:`\tau` must be at least ``4 / finfo(dtype).max``
    (about 1.2e-38 in float32; ``sqrt`` of that when :math:`\tau` is a tensor
    that requires grad, since :math:`\partial\mathcal{L}/\partial\tau` grows
    as :math:`1/\tau^2`). With ``normalize=False`` the dot products are
    unbounded: if they overflow the dtype a ``ValueError`` says so.

    Raises ``ValueError``/``TypeError`` naming the argument for wrong shapes,
    dtype or device mismatches, ``tau <= 0`` or too small for the dtype,
    negative or non-finite mask entries (or dense float64 weights beyond the
    range of float32 embeddings), NaN/Inf embeddings, rows without a positive,
    zero channels and ``block_size < 1``.
    """

    def __init__(self, tau: Union[float, Tensor], block_size: BlockSize = DEFAULT_BLOCK_SIZE,
                 normalize: bool = True, reduction: str = "mean",
                 diagonal: Optional[float] = None):
        super().__init__()
        _check_tau(tau)
        _check_block_size(block_size)
        _check_reduction(reduction)
        _check_normalize(normalize)
        self.tau, self.block_size = tau, block_size
        self.normalize, self.reduction = normalize, reduction
        self.diagonal = diagonal

    def forward(self, anchor: Tensor, sample: Tensor, pos_mask: Tensor) -> Tensor:
        return multi_positive_infonce(anchor, sample, pos_mask, self.tau, normalize=self.normalize,
                                      block_size=self.block_size, reduction=self.reduction,
                                      diagonal=self.diagonal)

    def extra_repr(self) -> str:
        tau = self.tau
        tau = f"tensor({float(tau):g})" if isinstance(tau, Tensor) else float(tau)
        return (f"tau={tau}, block_size={self.block_size}, normalize={self.normalize}, "
                f"reduction={self.reduction!r}")
