r"""Gradients through a combinatorial matching solver by perturbation:
the blackbox estimator of Vlastelica et al. (ICLR 2020) used by BB-GM, and,
at Gumbel-perturbed affinities, LVM-Med's IMLE estimator (Alg. 1)."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from graphcl.nn.matching.assignment import linear_assignment
from graphcl.nn.matching.ipfp import check_problem, ipfp_unchecked

Solver = Callable[[Tensor, Optional[Tensor]], Tensor]


def default_solver(unary: Tensor, quadratic: Optional[Tensor]) -> Tensor:
    """IPFP for a QAP, the Hungarian solver when there is no quadratic term."""
    return linear_assignment(unary) if quadratic is None else ipfp_unchecked(unary, quadratic)


class _BlackboxMatching(torch.autograd.Function):
    @staticmethod
    def forward(ctx, unary, quadratic, lam, solver):
        v = solver(unary, quadratic).to(unary.dtype)
        ctx.save_for_backward(unary, quadratic, v)
        ctx.lam, ctx.solver = lam, solver
        return v

    @staticmethod
    def backward(ctx, grad_v):
        unary, quadratic, v = ctx.saved_tensors
        lam = ctx.lam
        # re-solve at the affinities moved against the loss gradient
        v_lam = ctx.solver(unary - lam * grad_v, quadratic).to(unary.dtype)
        grad_unary = (v - v_lam) / lam
        grad_quadratic = None
        if quadratic is not None and ctx.needs_input_grad[1]:
            b = v.size(0)
            x, x_lam = v.reshape(b, -1, 1), v_lam.reshape(b, -1, 1)
            grad_quadratic = (x @ x.transpose(1, 2) - x_lam @ x_lam.transpose(1, 2)) / lam
        return grad_unary, grad_quadratic, None, None


def blackbox_matching(unary: Tensor, quadratic: Optional[Tensor] = None, lam: float = 80.0,
                      solver: Optional[Solver] = None) -> Tensor:
    r"""The matching :math:`\hat v = \mathrm{GM}(c^v, Q)` (a maximiser of
    :math:`\langle c^v, v\rangle + v^\top Q v`), differentiable by the
    blackbox rule: for an upstream gradient :math:`g = \partial L/\partial \hat v`,

    .. math::
        v_\lambda = \mathrm{GM}(c^v - \lambda g,\, Q), \qquad
        \frac{\partial L}{\partial c^v} = \frac{\hat v - v_\lambda}{\lambda}, \qquad
        \frac{\partial L}{\partial Q} = \frac{\hat v \hat v^\top - v_\lambda v_\lambda^\top}{\lambda}

    (the quadratic term's indicator is :math:`\hat v \hat v^\top`; the loss
    does not depend on it, so only :math:`c^v` moves). This is the exact
    gradient of the piecewise-linear interpolation
    :math:`f_\lambda = (\phi(c^v, Q) - \phi(c^v - \lambda g, Q))/\lambda` of a
    loss linear in :math:`v` (:math:`\phi` = the optimal value), when the
    solver is exact. Called on Gumbel-perturbed affinities
    (:func:`gumbel_like`) it is LVM-Med's IMLE estimator (Alg. 1, Eq. 6;
    `arXiv 2306.11925 <https://arxiv.org/abs/2306.11925>`_) with the same
    noise in both solves.

    Args:
        unary (Tensor): ``[B, n, n]`` vertex affinities (perturbed or not).
        quadratic (Tensor, optional): ``[B, n*n, n*n]`` edge affinities; ``None``
            for the first-order (linear assignment) problem.
        lam (float, optional): :math:`\lambda` (default ``80``, the paper's).
        solver (callable, optional): ``(unary, quadratic) -> [B, n, n]``;
            default IPFP, or the Hungarian solver when ``quadratic`` is ``None``.

    Returns:
        ``[B, n, n]`` 0/1 matchings.
    """
    check_problem(unary, quadratic)
    if not isinstance(lam, (int, float)) or isinstance(lam, bool) or not lam > 0:
        raise ValueError(f"lam must be a positive number, got {lam!r}")
    return _BlackboxMatching.apply(unary, quadratic, float(lam), solver or default_solver)


def gumbel_like(x: Tensor, scale: float = 1.0, generator: Optional[torch.Generator] = None) -> Tensor:
    r"""Gumbel(0, ``scale``) noise of the shape of ``x``: :math:`-\beta \log(-\log U)`."""
    u = torch.rand(x.shape, dtype=x.dtype, device=x.device, generator=generator)
    tiny = torch.finfo(x.dtype).tiny
    exponential = (-torch.log(u.clamp_min(tiny))).clamp_min(tiny)   # -log U > 0
    return -scale * torch.log(exponential)


__all__ = ["blackbox_matching", "gumbel_like", "default_solver"]
