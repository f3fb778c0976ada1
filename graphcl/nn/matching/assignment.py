"""Batched linear assignment (maximum-score perfect matching) by scipy's
Hungarian solver, one graph at a time."""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor


def linear_assignment(scores: Tensor) -> Tensor:
    r"""The permutation matrices maximising :math:`\sum_{ia} s_{ia} v_{ia}`, per graph.

    ``scipy.optimize.linear_sum_assignment`` (exact, :math:`O(n^3)`) runs on
    each ``n x n`` problem in a Python loop on the CPU; for LVM-Med's graphs of
    16 nodes one call takes a few microseconds, so the loop and the one
    device-to-host copy of ``scores`` are a small part of a training step
    (see ``benchmarks/lvmmed/speed.py``).

    Args:
        scores (Tensor): ``[B, n, n]`` (or ``[n, n]``) finite float scores.

    Returns:
        0/1 tensor of the same shape, dtype and device: ``[b, i, a] = 1`` when
        node ``i`` is assigned to ``a``.
    """
    if not isinstance(scores, Tensor) or not scores.is_floating_point():
        raise TypeError(f"scores must be a float tensor, got {type(scores).__name__}")
    single = scores.dim() == 2
    batch = scores.unsqueeze(0) if single else scores
    if batch.dim() != 3 or batch.size(1) != batch.size(2):
        raise ValueError(f"scores must be [B, n, n] or [n, n], got {list(scores.shape)}")
    host = batch.detach().to("cpu", torch.float64).numpy()
    if not np.isfinite(host).all():
        raise ValueError("scores contain NaN or Inf")
    b, n, _ = host.shape
    columns = np.empty((b, n), dtype=np.int64)
    for g in range(b):
        _, columns[g] = linear_sum_assignment(host[g], maximize=True)
    out = torch.zeros(b, n, n, dtype=scores.dtype)
    out.scatter_(2, torch.from_numpy(columns).unsqueeze(-1), 1.0)
    out = out.to(scores.device)
    return out[0] if single else out


__all__ = ["linear_assignment"]
