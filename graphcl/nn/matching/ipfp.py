r"""Batched IPFP (integer projected fixed point, Leordeanu, Hebert, Sukthankar,
NIPS 2009) for the quadratic assignment problem of every graph pair of a batch
at once, in torch, on the device of the affinities."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphcl.nn.matching.assignment import linear_assignment


def qap_objective(matching: Tensor, unary: Tensor, quadratic: Optional[Tensor] = None) -> Tensor:
    r""":math:`\langle c^v, v\rangle + \mathrm{vec}(v)^\top Q\, \mathrm{vec}(v)` per graph.

    Args:
        matching (Tensor): ``[B, n, n]`` (0/1 or relaxed).
        unary (Tensor): ``[B, n, n]``.
        quadratic (Tensor, optional): ``[B, n*n, n*n]``, row-major pair index.

    Returns:
        ``[B]``.
    """
    b = matching.size(0)
    x = matching.reshape(b, -1)
    score = (unary.reshape(b, -1) * x).sum(-1)
    if quadratic is not None:
        score = score + (x.unsqueeze(1) @ quadratic @ x.unsqueeze(2)).view(b)
    return score


def check_problem(unary: Tensor, quadratic: Optional[Tensor]) -> None:
    """Shapes, dtypes and finiteness of a batch of QAPs (``ValueError``/``TypeError``)."""
    if not isinstance(unary, Tensor) or not unary.is_floating_point() or unary.dim() != 3 \
            or unary.size(1) != unary.size(2):
        raise TypeError(f"unary must be a float [B, n, n] tensor, got "
                        f"{getattr(unary, 'dtype', type(unary).__name__)} "
                        f"{list(getattr(unary, 'shape', []))}")
    b, n, _ = unary.shape
    if quadratic is not None:
        if not isinstance(quadratic, Tensor) or quadratic.shape != (b, n * n, n * n):
            raise ValueError(f"quadratic must have shape {[b, n * n, n * n]}, got "
                             f"{list(getattr(quadratic, 'shape', []))}")
        if quadratic.dtype != unary.dtype or quadratic.device != unary.device:
            raise ValueError(f"quadratic must match unary's dtype and device ({unary.dtype}, "
                             f"{unary.device}), got {quadratic.dtype}, {quadratic.device}")
        if not bool(torch.isfinite(quadratic).all()):
            raise ValueError("quadratic contains NaN or Inf")
    if not bool(torch.isfinite(unary).all()):
        raise ValueError("unary contains NaN or Inf")


def _pair_index(step: Tensor) -> Tensor:
    """``[B, n]`` positions ``i * n + a`` of the ones of permutation matrices ``[B, n, n]``."""
    n = step.size(-1)
    return torch.arange(n, device=step.device) * n + step.argmax(-1)


@torch.no_grad()
def ipfp(unary: Tensor, quadratic: Tensor, max_iter: int = 30, tol: float = 1e-6,
         rtol: float = 0.0) -> Tensor:
    r"""Approximately maximise :math:`\langle c^v, v\rangle + v^\top Q v` over permutation
    matrices with IPFP, for all ``B`` problems at once.

    From the uniform doubly-stochastic start :math:`x_0 = 1/n`, each step
    takes the linear assignment :math:`b = \arg\max_v \langle c^v + 2 \bar Q x, v\rangle`
    (:math:`\bar Q = (Q + Q^\top)/2`, the gradient of the objective), then the
    exact line search on :math:`x + t(b - x)`, :math:`t \in [0, 1]`
    (:math:`t = 1` when the objective is convex along the segment). The best
    discrete :math:`b` seen (and the assignment of the unary term alone) is
    returned, so the answer is never worse than the first-order matching.
    All problems advance together; a problem stops once its :math:`x` moves by
    at most ``tol`` or, as pygmtools' IPFP stops, the objective of its
    assignment is within ``rtol`` (relative) of that of :math:`x`; the loop
    ends when every problem stopped or after ``max_iter`` steps.

    Cost per step: one batched linear assignment and a gather of the ``n``
    rows of :math:`\bar Q` that a permutation selects (``O(B n^3)``); the
    products :math:`\bar Q x` are updated along the line search instead of
    recomputed, so no ``n^2 x n^2`` matrix-vector product is taken after the
    first.

    Args:
        unary (Tensor): ``[B, n, n]`` vertex affinities.
        quadratic (Tensor): ``[B, n*n, n*n]`` edge affinities (row-major pair index,
            see :func:`~graphcl.nn.matching.edge_affinity`).
        max_iter (int, optional): most IPFP steps (default ``30``).
        tol (float, optional): convergence threshold on :math:`\max |t (b - x)|`.
        rtol (float, optional): relative objective gap that stops a problem
            (default ``0``: each problem runs until ``x`` settles; pygmtools uses ``1e-3``).

    Returns:
        ``[B, n, n]`` 0/1 permutation matrices (dtype and device of ``unary``).
    """
    check_problem(unary, quadratic)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int, got {max_iter!r}")
    return ipfp_unchecked(unary, quadratic, max_iter, tol, rtol)


@torch.no_grad()
def ipfp_unchecked(unary: Tensor, quadratic: Tensor, max_iter: int = 30,
                   tol: float = 1e-6, rtol: float = 0.0) -> Tensor:
    """:func:`ipfp` without the argument checks (for callers that made them)."""
    b, n, _ = unary.shape
    sym = 0.5 * (quadratic + quadratic.transpose(1, 2))
    u = unary.reshape(b, -1)
    rows = torch.arange(b, device=u.device).unsqueeze(1)

    def selected(step):
        """(pair index, S b, u.b, b.S.b) of permutation matrices ``step``."""
        idx = _pair_index(step)
        s_b = sym[rows, idx].sum(1)   # S b: S is symmetric, so the n selected rows
        return idx, s_b, torch.gather(u, 1, idx).sum(-1), torch.gather(s_b, 1, idx).sum(-1)

    best = linear_assignment(unary)
    _, _, ub, bsb = selected(best)
    best_score = ub + bsb
    x = torch.full_like(u, 1.0 / n)
    s_x = sym.sum(-1) / n                      # S x
    ux, xsx = u.sum(-1) / n, s_x.sum(-1) / n   # u.x, x.S.x
    step = best
    active = torch.ones(b, dtype=torch.bool, device=u.device)
    for _ in range(max_iter):
        step = step.clone()
        # problems that stopped keep their last assignment and do not move
        step[active] = linear_assignment((u + 2.0 * s_x)[active].view(-1, n, n))
        idx, s_b, ub, bsb = selected(step)
        bsx = torch.gather(s_x, 1, idx).sum(-1)
        slope = (ub - ux) + 2.0 * (bsx - xsx)          # gradient . (b - x)
        curvature = bsb - 2.0 * bsx + xsx              # (b - x).S.(b - x)
        concave = curvature < 0
        safe = torch.where(concave, curvature, -torch.ones_like(curvature))
        t = torch.where(concave, (-slope / (2.0 * safe)).clamp(0.0, 1.0), torch.ones_like(slope))
        t = torch.where(active, t, torch.zeros_like(t))
        score = ub + bsb
        # pygmtools' rule: stop once the assignment's objective is within rtol of x's
        settled = (score - (ux + xsx)).abs() <= rtol * (ux + xsx).abs()
        move = t.unsqueeze(1) * (step.reshape(b, -1) - x)
        x = x + move
        xsx = xsx + 2.0 * t * (bsx - xsx) + t * t * curvature
        s_x = s_x + t.unsqueeze(1) * (s_b - s_x)
        ux = ux + t * (ub - ux)
        better = active & (score > best_score)
        best = torch.where(better.view(b, 1, 1), step, best)
        best_score = torch.where(better, score, best_score)
        active = active & ~settled & (move.abs().amax(1) > tol)
        if not bool(active.any()):
            break
    return best


__all__ = ["ipfp", "ipfp_unchecked", "qap_objective", "check_problem"]
